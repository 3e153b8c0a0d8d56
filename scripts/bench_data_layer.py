"""Benchmark of the data layer: load -> prepare -> build_graph on a large NF-v2 CSV.

Makes the CSV (if absent) by repeating the rows of a real sample, then times each stage; run each stage in a
fresh process under `/usr/bin/time -v` to read its peak memory. Usage:
  python scripts/bench_data_layer.py --rows 4000000 --csv /tmp/nf-big.csv --stage make
  /usr/bin/time -v python scripts/bench_data_layer.py --csv /tmp/nf-big.csv --stage load|paper|clean
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from anomale_jax.config import PRESETS
from anomale_jax.data.graph_build import build_graph
from anomale_jax.data.netflow import load_netflow
from anomale_jax.data.preprocess import prepare

SAMPLE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "nf-bot-iot-v2-sample250k.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--csv", type=Path, default=Path("/tmp/nf-big.csv"))
    parser.add_argument("--stage", choices=("make", "load", "paper", "clean"), required=True)
    args = parser.parse_args()
    if args.stage == "make":
        sample = pl.read_csv(SAMPLE, infer_schema_length=None)
        reps = -(-args.rows // sample.height)
        pl.concat([sample] * reps).head(args.rows).write_csv(args.csv)
        print(f"wrote {args.rows} rows to {args.csv} ({args.csv.stat().st_size / 1e9:.2f} GB)")
        return
    t0 = time.perf_counter()
    table = load_netflow(args.csv)
    t1 = time.perf_counter()
    print(f"load: {table.num_rows} rows, {table.frame.estimated_size() / 1e9:.2f} GB frame, {t1 - t0:.1f} s")
    if args.stage == "load":
        return
    config = PRESETS[args.stage].data
    prepared = prepare(table, config)
    t2 = time.perf_counter()
    print(f"prepare ({args.stage}): train {prepared.train.num_flows} / test {prepared.test.num_flows}, {t2 - t1:.1f} s")
    graph = build_graph(prepared.train, config.edge_mode)
    t3 = time.perf_counter()
    print(f"build_graph (train): {graph.num_nodes} nodes, {graph.num_edges} edges, {t3 - t2:.1f} s")


if __name__ == "__main__":
    main()
