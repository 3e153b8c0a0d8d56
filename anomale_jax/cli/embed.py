"""`anomale-jax embed`: edge embeddings of a NetFlow file with a trained (or upstream) model."""

from __future__ import annotations

import argparse

from anomale_jax.errors import InputError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "embed",
        help="write the edge embeddings of a NetFlow file",
        description="Embeds the flows of --data with --checkpoint (a run directory, a model.npz/checkpoint.npz "
        "of ours, or an upstream PyTorch state dict) and writes a [E, edge_dim] float32 .npy, or a .parquet "
        "with an edge_flow column, to --out.",
    )
    p.add_argument("--checkpoint", required=True, help="run directory, .npz, or upstream .pt/.pth/.pkl state dict")
    p.add_argument("--data", required=True, help="NetFlow file (.csv, .csv.gz, .parquet)")
    p.add_argument("--out", required=True, help="output .npy or .parquet")
    p.add_argument("--split", choices=("all", "train", "val", "test"),
                   help="all: every row through the run's saved preprocessing (default for run directories); "
                   "train/val/test: that split after preparing the file with the protocol (default test)")
    p.add_argument("--protocol", choices=("paper", "clean"),
                   help="preparation for checkpoints without a run config (default paper)")
    p.add_argument("--sample-frac", type=float,
                   help="paper protocol: per-class sample fraction (published 0.1; 1.0 keeps every row)")
    p.add_argument("--chunk-edges", type=int, help="edges per chunk of the edge head (bounds memory)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anomale_jax.train.files import embed_file

    if args.sample_frac is not None and not 0 < args.sample_frac <= 1:
        raise InputError(f"--sample-frac must be in (0, 1], got {args.sample_frac}")
    if args.chunk_edges is not None and args.chunk_edges < 1:
        raise InputError(f"--chunk-edges must be at least 1, got {args.chunk_edges}")
    summary = embed_file(args.checkpoint, args.data, args.out, split=args.split, protocol=args.protocol,
                         sample_frac=args.sample_frac, chunk_edges=args.chunk_edges)
    print(f"wrote {summary.num_edges} x {summary.edge_dim} edge embeddings ({summary.num_flows} flows, "
          f"{summary.how}) to {summary.path}")
    return 0
