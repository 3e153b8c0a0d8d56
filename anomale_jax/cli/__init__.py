"""`anomale-jax` command line: argument parsing only; every subcommand calls library functions.

Each subcommand lives in its own module exposing `add_parser(subparsers)`, which registers the parser and
sets `func(args) -> int`. User mistakes raise `InputError` and are printed as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from anomale_jax.errors import InputError

# Subcommand modules, in the order `--help` lists them.
SUBCOMMANDS = ("generate", "train", "embed", "detect", "run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anomale-jax",
        description="Anomal-E: self-supervised NetFlow intrusion detection with E-GraphSAGE + DGI, in JAX.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"anomale_jax.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"anomale_jax.cli.{name}":
                continue  # not built yet
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"anomale-jax {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"anomale-jax {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
