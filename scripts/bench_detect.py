"""Benchmark of the detection stage: the published detector grids on synthetic embeddings of 10%-CSE size.

The published notebook fitted every (structural value, contamination) pair separately on ~2.64M training
and ~1.13M test edge embeddings of width 256 and took about 12 h on CPU (CBLOF ~5.5 h per 36-point grid,
Isolation Forest ~3.5 h per 24-point grid). Here each structural value is fitted once and every
contamination's threshold is derived from its decision scores, and distinct rows are scored once.

Usage:
    python scripts/bench_detect.py                    # full size: 2.64M train x 256, 1.13M test x 256
    python scripts/bench_detect.py --scale 0.1        # 10% of that
    python scripts/bench_detect.py --single-fit --value-index 2   # one fit + score per detector

Prints wall time per detector and in total, and optionally writes them as JSON (--json PATH).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time

import numpy as np

from anomale_jax.detect.bundle import DetectionBundle
from anomale_jax.detect.config import DETECTORS, get_preset
from anomale_jax.detect.evaluate import run_detection
from anomale_jax.detect.synthetic import make_centers, synthetic_split
from anomale_jax.io import write_json_atomic

FULL_TRAIN_EDGES = 2_641_554  # the notebook's training embedding rows (10% CSE-CIC-IDS2018-v2)
FULL_TEST_EDGES = 1_132_131


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the 10%%-CSE edge counts (default 1)")
    ap.add_argument("--dim", type=int, default=256, help="embedding width (default 256)")
    ap.add_argument("--detectors", nargs="+", choices=DETECTORS, default=list(DETECTORS))
    ap.add_argument("--fit-on", nargs="+", choices=("benign", "all"), default=["benign", "all"])
    ap.add_argument("--grid", default="paper", choices=("paper", "quick", "tiny"))
    ap.add_argument("--single-fit", action="store_true", help="only one structural value per detector")
    ap.add_argument("--value-index", type=int, default=0,
                    help="with --single-fit: which grid value (default 0, the first; CBLOF's first, 2 clusters, "
                    "often cannot split the data)")
    ap.add_argument("--attack-frac", type=float, default=0.12, help="attack share (10%%-CSE: ~12%%)")
    ap.add_argument("--dup-frac", type=float, default=0.3, help="share of flows repeating an earlier embedding")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the timings here")
    args = ap.parse_args(argv)

    # Synthetic embeddings: benign mixture + attack clusters, two directed edges per flow.
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    centers = make_centers(rng, args.dim, 2)
    kw = dict(dim=args.dim, raw_dim=2, attack_frac=args.attack_frac, dup_frac=args.dup_frac, centers=centers)
    train = synthetic_split(rng, max(2, int(round(args.scale * FULL_TRAIN_EDGES / 2))), **kw)
    test = synthetic_split(rng, max(2, int(round(args.scale * FULL_TEST_EDGES / 2))), **kw)
    bundle = DetectionBundle(train=train, test=test)
    gen_seconds = time.perf_counter() - t0
    print(f"[bench] data: train {train.embeddings.shape}, test {test.embeddings.shape} "
          f"({gen_seconds:.1f}s to generate)", flush=True)

    config = get_preset(args.grid, features=("embedding",), fit_on=tuple(args.fit_on), seed=args.seed)
    if args.single_fit:
        config = dataclasses.replace(config, **{
            f: getattr(config, f)[args.value_index:][:1] or getattr(config, f)[-1:] for f in ("pca_n_components", "iforest_n_estimators", "cblof_n_clusters",
                                                "hbos_n_bins")})
    timings = {}
    total0 = time.perf_counter()
    for det in args.detectors:
        t = time.perf_counter()
        out = run_detection(bundle, dataclasses.replace(config, detectors=(det,)), "paper",
                            log=lambda line: print(line, flush=True))
        seconds = time.perf_counter() - t
        points = len(config.grid(det)) * len(config.contaminations) * len(config.fit_on)
        best = {f"{r['fit_on']}/{r['level']}": r["f1_macro"] for r in out.results}
        timings[det] = {"seconds": seconds, "grid_points": points, "fits": len(config.grid(det)) * len(config.fit_on),
                        "fit_seconds": sum(r["fit_seconds"] for r in out.results if r["level"] == "edge"),
                        "score_seconds": sum(r["score_seconds"] for r in out.results if r["level"] == "edge"),
                        "best_test_f1": best,
                        "n_distinct_test_rows": out.results[0]["n_distinct_test_rows"]}
        print(f"[bench] {det}: {seconds:.1f}s for {points} grid points ({timings[det]['fits']} fits)", flush=True)
    total = time.perf_counter() - total0

    report = {
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, {platform.platform()}",
        "command": "python scripts/bench_detect.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "train_rows": int(train.num_edges), "test_rows": int(test.num_edges), "dim": args.dim,
        "grid": args.grid, "single_fit": args.single_fit, "fit_on": args.fit_on,
        "generate_seconds": gen_seconds, "detectors": timings, "total_seconds": total,
    }
    print(f"[bench] total {total:.1f}s")
    for det, t in timings.items():
        print(f"  {det:8s} {t['seconds']:9.1f}s  ({t['grid_points']} points, fit {t['fit_seconds']:.1f}s, "
              f"score {t['score_seconds']:.1f}s)")
    if args.json:
        write_json_atomic(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
