"""`anomale-jax run`: the whole pipeline (data -> preprocess -> graph -> train -> embed -> detect -> report)."""

from __future__ import annotations

import argparse
import dataclasses

from anomale_jax.config import config_for_protocol
from anomale_jax.errors import InputError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the whole pipeline and write a report",
        description="Trains E-GraphSAGE + DGI on a NetFlow file (or the built-in synthetic traffic when --data "
        "is omitted), scores the edge embeddings and the raw features with PCA, Isolation Forest, CBLOF and "
        "HBOS, and writes config.json, model.npz, embeddings.npz, metrics.json, report.md and plots to --out.",
    )
    p.add_argument("--data", help="NetFlow file (.csv, .csv.gz, .parquet); default: generate synthetic traffic")
    p.add_argument("--protocol", choices=("paper", "clean"), default=None,
                   help="paper: the published pipeline, selection on TEST; clean (default): no label leakage, "
                   "selection on a validation split")
    p.add_argument("--epochs", type=int, help="training epochs (default 300; the published run used 4000)")
    p.add_argument("--seed", type=int, help="seed of model init, corruption permutations, detectors and the generated traffic")
    p.add_argument("--out", default="runs/latest", help="run directory (default runs/latest)")
    p.add_argument("--grid", choices=("quick", "paper"), default=None,
                   help="detector grids: quick (default; one value each) or paper (the published grids)")
    p.add_argument("--flows", type=int, default=None,
                   help="synthetic flows to generate without --data (default 50000)")
    p.add_argument("--edge-mode", choices=("paper", "directed"), default=None,
                   help="paper: two directed edges per flow (published); directed: one edge src->dst")
    p.add_argument("--config", help="rerun from a run's config.json (other flags override it)")
    p.add_argument("--resume", action="store_true", help="continue training from --out/checkpoint.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def build_configs(args: argparse.Namespace):
    """(RunConfig, DetectConfig, InputSpec) from the flags, the preset of --protocol, and --config."""
    from anomale_jax.detect.config import get_preset
    from anomale_jax.pipeline import InputSpec, read_run_config

    if args.config:
        config, detect, inputs = read_run_config(args.config)
        detect = detect or get_preset("quick")
        inputs = inputs or InputSpec()
        if args.protocol and args.protocol != config.data.protocol:
            config = dataclasses.replace(config, data=dataclasses.replace(config.data, protocol=args.protocol))
    else:
        config = config_for_protocol(args.protocol or "clean")
        detect = get_preset("quick")
        inputs = InputSpec()
    if args.grid:
        detect = get_preset(args.grid, seed=detect.seed)
    train = config.train
    if args.epochs is not None:
        if args.epochs < 1:
            raise InputError(f"--epochs must be at least 1, got {args.epochs}")
        train = dataclasses.replace(train, epochs=args.epochs)
    if args.seed is not None:
        train = dataclasses.replace(train, seed=args.seed)
        detect = dataclasses.replace(detect, seed=args.seed)
        inputs = dataclasses.replace(inputs, synthetic_seed=args.seed)
    data = config.data
    if args.edge_mode:
        data = dataclasses.replace(data, edge_mode=args.edge_mode)
    config = dataclasses.replace(config, train=train, data=data)
    if args.data:
        inputs = dataclasses.replace(inputs, data=args.data)
    if args.flows is not None:
        if args.data:
            raise InputError("--flows sets the size of generated traffic; it cannot be used with --data")
        if args.flows < 100:
            raise InputError(f"--flows must be at least 100, got {args.flows}")
        inputs = dataclasses.replace(inputs, synthetic_flows=args.flows)
    return config, detect, inputs


def run(args: argparse.Namespace) -> int:
    from anomale_jax.pipeline import run_pipeline

    config, detect, inputs = build_configs(args)
    run_pipeline(config, detect, args.out, inputs, resume=args.resume, progress=not args.no_progress)
    print(f"\nrun directory: {args.out} (report.md, metrics.json, plots)")
    return 0
