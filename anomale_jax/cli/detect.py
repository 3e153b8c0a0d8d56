"""`anomale-jax detect`: the detection stage alone, on a saved detection bundle (.npz)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "detect",
        help="run the detectors on saved embeddings and write metrics.json + report",
        description="Fits PCA / Isolation Forest / CBLOF / HBOS on the training embeddings and raw features of a "
        "detection bundle, selects one grid point per result by the protocol, and writes metrics.json, "
        "report.md and plots.",
    )
    p.add_argument("--embeddings", required=True, metavar="BUNDLE.npz",
                   help="detection bundle written by `anomale-jax run` (anomale_jax.detect.save_bundle)")
    p.add_argument("--protocol", choices=("paper", "clean"), default=None,
                   help="paper: select on TEST as published; clean: select on validation "
                   "(default: clean when the bundle has a validation split, else paper)")
    p.add_argument("--grid", choices=("paper", "quick", "tiny"), default="quick",
                   help="detector grid preset (paper = the published grids; default quick)")
    p.add_argument("--detectors", nargs="+", choices=("pca", "iforest", "cblof", "hbos"), default=None,
                   help="subset of detectors (default: all four)")
    p.add_argument("--seed", type=int, default=0, help="random_state of the stochastic detectors")
    p.add_argument("--out", default="runs/detect", metavar="DIR", help="output folder (default runs/detect)")
    p.add_argument("--quiet", action="store_true", help="no per-grid-point progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anomale_jax.detect import get_preset, load_bundle, metrics_document, run_detection
    from anomale_jax.io import write_json_atomic
    from anomale_jax.report import format_results_table, protocol_statement, write_report

    bundle = load_bundle(args.embeddings)
    protocol = args.protocol or ("clean" if bundle.validation is not None else "paper")
    overrides = {"seed": args.seed}
    if args.detectors:
        overrides["detectors"] = tuple(args.detectors)
    config = get_preset(args.grid, **overrides)
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    print(f"[detect] {args.embeddings}: protocol {protocol}, grid {args.grid}; {protocol_statement(protocol)}",
          file=sys.stderr)
    t0 = time.perf_counter()
    out = run_detection(bundle, config, protocol, log=log)
    dataset = dict(bundle.meta)
    dataset.update({
        f"{name}_{kind}": count
        for name, split in bundle.splits().items()
        for kind, count in (("flows", split.num_flows), ("edges", split.num_edges))
    })
    doc = metrics_document(protocol, out.results, dataset=dataset, config=config)
    doc["detect_seconds"] = time.perf_counter() - t0
    out_dir = Path(args.out)
    write_json_atomic(out_dir / "metrics.json", doc)
    write_report(out_dir, doc, test_scores=out.test_scores, test_labels=out.test_labels,
                 embeddings=bundle.test.embeddings, embedding_attacks=bundle.test.edge_attacks, seed=args.seed)
    print(format_results_table(out.results))
    print(f"[detect] wrote {out_dir / 'metrics.json'} and {out_dir / 'report.md'} "
          f"({doc['detect_seconds']:.1f}s)", file=sys.stderr)
    return 0
