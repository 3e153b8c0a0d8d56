"""`anomale-jax train`: E-GraphSAGE + DGI on the training split of a NetFlow file."""

from __future__ import annotations

import argparse
import dataclasses

from anomale_jax.config import config_for_protocol
from anomale_jax.errors import InputError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train E-GraphSAGE + DGI on a NetFlow file",
        description="Prepares --data with the chosen protocol, trains full-batch DGI on the training split's "
        "host graph and writes config.json, preprocessor.json, model.npz (lowest-loss weights), "
        "checkpoint.npz and history.json to --out.",
    )
    p.add_argument("--data", required=True, help="NetFlow file (.csv, .csv.gz, .parquet)")
    p.add_argument("--protocol", choices=("paper", "clean"), default="clean",
                   help="data preparation: paper (published pipeline) or clean (default, no label leakage)")
    p.add_argument("--epochs", type=int, help="training epochs (default 300; the published run used 4000)")
    p.add_argument("--seed", type=int, help="seed of the initial weights and corruption permutations (default 0)")
    p.add_argument("--patience", type=int, help="stop after this many epochs without a lower loss")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anomale_jax.train.files import train_file

    config = config_for_protocol(args.protocol)
    overrides = {}
    for flag, name, low in (("epochs", "epochs", 1), ("seed", "seed", 0), ("patience", "patience", 1)):
        value = getattr(args, flag)
        if value is not None:
            if value < low:
                raise InputError(f"--{flag} must be at least {low}, got {value}")
            overrides[name] = value
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, **overrides))
    result, graph = train_file(args.data, config, args.out, resume=args.resume, progress=not args.no_progress)
    print(f"trained on {graph.num_real_edges} edges / {graph.num_real_nodes} hosts: best loss "
          f"{result.best_loss:.4f} at epoch {result.best_epoch}"
          f"{' (stopped early)' if result.stopped_early else ''}; model: {args.out}/model.npz")
    return 0
