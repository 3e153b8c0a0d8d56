"""Benchmark one full-batch DGI training step (forward, backward, Adam) on a random graph.

Reports the median seconds per step and edges/s of the JAX fast path (node-level factorised loss), the JAX
direct path (both [E, 256] embedding matrices formed) and, with --framework torch|both, the PyTorch + DGL
reference port, all in one process so the ratios are comparable on a shared machine. The published model is
used (one layer, 128 node dims, 256 edge dims, 39 features, all-ones node inputs); each JAX step includes
drawing its corruption permutation, each torch step its `torch.randperm`.

    python scripts/bench_train.py --nodes 10000 --edges 1000000 --framework both
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# Run from a checkout: the repository root holds reference_torch/ next to anomale_jax/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def random_graph(num_nodes: int, num_edges: int, features: int, seed: int):
    """Uniform random endpoints, unit-L2 non-negative features (like the paper's row-normalised flows)."""
    from anomale_jax.graph import make_graph

    rng = np.random.default_rng(seed)
    x = rng.random((num_edges, features), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return make_graph(rng.integers(0, num_nodes, num_edges), rng.integers(0, num_nodes, num_edges), x, num_nodes)


def bench_jax(graph, fast_path: bool, steps: int, seed: int) -> dict:
    import jax

    from anomale_jax.config import ModelConfig, TrainConfig
    from anomale_jax.train.step import init_train_state, train_step

    config = ModelConfig(fast_path=fast_path)
    state = init_train_state(jax.random.PRNGKey(seed), config, TrainConfig(), graph.node_features.shape[1],
                             graph.edge_features.shape[1])
    device_graph = jax.device_put(graph)
    key = jax.random.PRNGKey(seed + 1)
    tic = time.perf_counter()
    state, metrics = train_step(state, device_graph, jax.random.fold_in(key, 0))
    float(metrics["loss"])
    first = time.perf_counter() - tic  # compilation + one step
    times = []
    for t in range(1, steps + 1):
        tic = time.perf_counter()
        state, metrics = train_step(state, device_graph, jax.random.fold_in(key, t))
        float(metrics["loss"])  # waits for the step
        times.append(time.perf_counter() - tic)
    return {"first_step_s": first, "times_s": times, "final_loss": float(metrics["loss"])}


def bench_torch(graph, steps: int, seed: int, threads: int | None) -> dict:
    import torch

    import reference_torch
    from anomale_jax.config import ModelConfig

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    g, nfeats, efeats = reference_torch.torch_inputs(graph)
    model = reference_torch.make_model(ModelConfig(), nfeats.shape[1], efeats.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> float:
        perm = torch.randperm(g.num_edges())
        loss = model(g, nfeats, efeats, perm)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    tic = time.perf_counter()
    step()
    first = time.perf_counter() - tic
    times = []
    for _ in range(steps):
        tic = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - tic)
    return {"first_step_s": first, "times_s": times, "final_loss": loss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=39)
    parser.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up step (default 5)")
    parser.add_argument("--framework", choices=("jax", "torch", "both"), default="jax")
    parser.add_argument("--paths", default="fast,direct", help="JAX paths to time: fast, direct or both (default)")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not set(paths) <= {"fast", "direct"} or args.steps < 1:
        parser.error("--paths takes fast and/or direct; --steps must be >= 1")

    import jax

    graph = random_graph(args.nodes, args.edges, args.features, args.seed)
    runs: dict[str, dict] = {}
    if args.framework in ("jax", "both"):
        for path in paths:
            runs[f"jax-{path}"] = bench_jax(graph, path == "fast", args.steps, args.seed)
    if args.framework in ("torch", "both"):
        runs["torch-dgl"] = bench_torch(graph, args.steps, args.seed, args.torch_threads)

    machine = f"{platform.machine()} {os.cpu_count()} cores, jax {jax.__version__} on {jax.default_backend()}"
    print(f"DGI train step, published model, {args.nodes:,} nodes / {args.edges:,} edges / {args.features} "
          f"features; median of {args.steps} steps; {machine}")
    print(f"{'implementation':<14} {'s/step':>10} {'edges/s':>14} {'first step s':>13} {'vs jax-fast':>12}")
    base = statistics.median(runs["jax-fast"]["times_s"]) if "jax-fast" in runs else None
    for name, run in runs.items():
        median = statistics.median(run["times_s"])
        run["median_s"], run["edges_per_s"] = median, args.edges / median
        ratio = f"{median / base:.1f}x" if base else "-"
        print(f"{name:<14} {median:>10.4f} {args.edges / median:>14,.0f} {run['first_step_s']:>13.2f} {ratio:>12}")
    if args.json:
        from anomale_jax.io import write_json_atomic

        write_json_atomic(args.json, {"args": vars(args), "machine": machine, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
