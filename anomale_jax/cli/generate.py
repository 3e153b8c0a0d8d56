"""`anomale-jax generate`: write labelled synthetic NF-v2 traffic to a file."""

from __future__ import annotations

import argparse

from anomale_jax.errors import InputError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "generate",
        help="write synthetic labelled NetFlow traffic (NF-v2)",
        description="Generates an enterprise-like network's NetFlow records with labelled attack scenarios "
        "(port and host scans, DoS, DDoS, SSH and FTP brute force, botnet beaconing, exfiltration) and writes all "
        "45 NF-v2 columns as .csv, .csv.gz or .parquet (chosen by the suffix of --out).",
    )
    p.add_argument("--flows", type=int, default=50_000, help="number of flows (default 50000)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same file (default 0)")
    p.add_argument("--out", required=True, metavar="PATH", help="output file: .csv, .csv.gz or .parquet")
    p.add_argument("--attack-share", type=float, default=None, metavar="F",
                   help="fraction of attack flows in [0, 1) (default 0.05)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from anomale_jax.data.synthetic import (
        SyntheticConfig, describe_flows, generate_flows, output_format, write_flows,
    )

    if args.flows < 1:
        raise InputError(f"--flows {args.flows}: must be a positive number of flows")
    if args.attack_share is not None and not 0.0 <= args.attack_share < 1.0:
        raise InputError(f"--attack-share {args.attack_share}: must be in [0, 1)")
    output_format(args.out)  # refuse a bad --out before generating anything
    overrides = {} if args.attack_share is None else {"attack_share": args.attack_share}
    config = SyntheticConfig(num_flows=args.flows, seed=args.seed, **overrides)
    frame = generate_flows(config)
    path = write_flows(frame, args.out)
    print(f"{describe_flows(frame)} -> {path}")
    return 0
