"""`fit(config, graph, run_dir)`: the Python training loop around the jitted `train_step`.

Files under `run_dir` (all written atomically):
  config.json      the RunConfig of the run
  checkpoint.npz   resumable state (params, Adam state, best params, loss history), every `checkpoint_every`
                   epochs and at the end
  model.npz        the lowest-loss parameters + ModelConfig (what `anomale-jax embed` reads)
  history.json     {"loss": [per epoch], "seconds": [...], "best_epoch", "best_loss", ...} for the report

Epoch t's corruption permutation comes from `fold_in(perm_key, t)`, so a resumed run repeats exactly the
permutations (and hence the parameters) of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from pathlib import Path
from typing import Callable

import jax
import numpy as np
from tqdm.auto import tqdm

from anomale_jax.config import RunConfig, from_dict, to_dict
from anomale_jax.errors import InputError
from anomale_jax.graph import FlowGraph
from anomale_jax.io import write_json_atomic
from anomale_jax.train.checkpoint import load_train_state, save_params, save_train_state
from anomale_jax.train.step import TrainState, init_train_state, train_step

CHECKPOINT, MODEL, HISTORY, CONFIG = "checkpoint.npz", "model.npz", "history.json", "config.json"


@dataclasses.dataclass
class FitResult:
    """What `fit` returns."""

    params: dict
    """The lowest-loss parameters (the ones saved to model.npz)."""
    best_loss: float
    best_epoch: int
    losses: np.ndarray
    """[epochs run] float64 loss per epoch (of the parameters before that epoch's update)."""
    state: TrainState
    """The final training state (parameters after the last update)."""
    stopped_early: bool
    """True when `patience` epochs passed without a new lowest loss."""


def graph_fingerprint(graph: FlowGraph) -> dict:
    """Sizes plus a digest of the structure and features, to refuse resuming on a different graph."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (graph.senders, graph.receivers, graph.edge_mask, graph.edge_features, graph.node_features):
        digest.update(np.ascontiguousarray(np.asarray(array)).tobytes())
    return {"num_nodes": graph.num_nodes, "num_edges": graph.num_edges, "num_real_edges": graph.num_real_edges,
            "edge_feature_dim": int(graph.edge_features.shape[1]), "digest": digest.hexdigest()}


def _check_resumable(meta: dict, config: RunConfig, fingerprint: dict, path: Path) -> None:
    saved = from_dict(RunConfig, meta["run_config"])
    same = ("model", "seed", "learning_rate", "weight_decay")
    mine = (config.model, config.train.seed, config.train.learning_rate, config.train.weight_decay)
    theirs = (saved.model, saved.train.seed, saved.train.learning_rate, saved.train.weight_decay)
    for name, a, b in zip(same, mine, theirs):
        if a != b:
            raise InputError(f"{path}: cannot resume, the checkpoint's {name} is {b!r} but this run asks for {a!r}")
    if meta["graph"] != fingerprint:
        raise InputError(f"{path}: cannot resume, the checkpoint was trained on a different graph "
                         f"({meta['graph']['num_edges']} edges, digest {meta['graph']['digest']})")


def fit(
    config: RunConfig,
    graph: FlowGraph,
    run_dir: str | os.PathLike,
    *,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Trains E-GraphSAGE + DGI full-batch on `graph`, keeping the lowest-loss parameters.

    Args:
      config: the run configuration (`config.model`, `config.train` are used; all of it goes to config.json).
      graph: the training FlowGraph (numpy arrays; padding edges are allowed and ignored).
      run_dir: output folder (see the module docstring).
      resume: continue from run_dir/checkpoint.npz when it exists (same model, seed, optimiser and graph).
      progress: show a tqdm bar with epoch, loss and edges/s.
      callback: called as callback(epoch, loss) after every epoch.

    Returns:
      A FitResult.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tc = config.train
    if tc.checkpoint_every <= 0 or tc.epochs < 0 or (tc.patience is not None and tc.patience <= 0):
        raise InputError(f"train config: epochs >= 0, checkpoint_every > 0 and patience > 0 required; got {tc}")
    if graph.num_real_edges == 0:
        raise InputError("training graph has no edges")
    init_key, perm_key = jax.random.split(jax.random.PRNGKey(tc.seed))
    state = init_train_state(init_key, config.model, tc, int(graph.node_features.shape[1]),
                             int(graph.edge_features.shape[1]))
    fingerprint = graph_fingerprint(graph)

    # Fresh start or the last checkpoint.
    best_params, best_loss, best_epoch, wait, start = state.params, math.inf, -1, 0, 0
    losses: list[float] = []
    seconds: list[float] = []
    stopped = False
    ckpt_path = run_dir / CHECKPOINT
    if resume and ckpt_path.exists():
        state, best_params, meta = load_train_state(ckpt_path, state)
        _check_resumable(meta, config, fingerprint, ckpt_path)
        losses, seconds = list(meta["losses"]), list(meta["seconds"])
        best_loss, best_epoch, wait, stopped = meta["best_loss"], meta["best_epoch"], meta["wait"], meta["stopped"]
        start = len(losses)
    write_json_atomic(run_dir / CONFIG, to_dict(config))

    def save() -> None:
        meta = dict(run_config=to_dict(config), graph=fingerprint, losses=losses, seconds=seconds,
                    best_loss=best_loss, best_epoch=best_epoch, wait=wait, stopped=stopped)
        save_train_state(ckpt_path, state, best_params, **meta)
        save_params(run_dir / MODEL, best_params, config.model, best_loss=best_loss, best_epoch=best_epoch,
                    epochs=len(losses))
        write_json_atomic(run_dir / HISTORY, {"loss": losses, "seconds": seconds, "best_epoch": best_epoch,
                                              "best_loss": best_loss, "num_real_edges": graph.num_real_edges,
                                              "stopped_early": stopped})

    device_graph = jax.device_put(graph)
    num_edges = graph.num_real_edges
    bar = tqdm(total=tc.epochs, initial=min(start, tc.epochs), disable=not progress, desc="train", unit="epoch",
               dynamic_ncols=True)
    try:
        epoch = start
        while epoch < tc.epochs and not stopped:
            tic = time.perf_counter()
            new_state, metrics = train_step(state, device_graph, jax.random.fold_in(perm_key, epoch))
            loss = float(metrics["loss"])  # waits for the step
            dt = time.perf_counter() - tic
            if not math.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch}: the DGI loss is {loss}")
            # The loss is that of the parameters before the update: those are the ones to keep.
            if loss < best_loss:
                best_params, best_loss, best_epoch, wait = state.params, loss, epoch, 0
            else:
                wait += 1
            state = new_state
            losses.append(loss)
            seconds.append(dt)
            stopped = tc.patience is not None and wait >= tc.patience
            bar.update(1)
            bar.set_postfix({"loss": f"{loss:.4f}", "best": f"{best_loss:.4f}", "edges/s": f"{num_edges / dt:,.0f}"},
                            refresh=False)
            epoch += 1
            if epoch % tc.checkpoint_every == 0:
                save()
            if callback is not None:
                callback(epoch - 1, loss)
    except KeyboardInterrupt:
        save()  # a Ctrl-C keeps the finished epochs; --resume continues from here
        raise
    finally:
        bar.close()
    save()
    return FitResult(params=jax.device_get(best_params), best_loss=best_loss, best_epoch=best_epoch,
                     losses=np.asarray(losses, dtype=np.float64), state=state, stopped_early=stopped)
