"""Checkpoints: plain arrays plus the JSON config/metadata that made them, in one atomically written .npz.

An .npz holds one array per parameter leaf, keyed by its path (`params/encoder/layers_0/W_apply/kernel`), and a
`__meta__` entry: a unicode scalar with JSON (format version, the ModelConfig, and whatever the caller adds).
Everything loads with `allow_pickle=False`.

- model files (`save_params`/`load_params`): parameters + ModelConfig, what `anomale-jax embed` reads;
- training checkpoints (`save_train_state`/`load_train_state`): also the optimiser state and the best
  parameters so far, so `fit(..., resume=True)` continues a killed run exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np

from anomale_jax.config import ModelConfig, from_dict, to_dict
from anomale_jax.errors import InputError
from anomale_jax.io import atomic_path, read_npz

FORMAT = "anomale-jax-checkpoint"
VERSION = 1
META_KEY = "__meta__"


def flatten_params(tree: dict, prefix: str) -> dict[str, np.ndarray]:
    """Nested dict of arrays -> {"prefix/a/b": array}."""
    out: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}"
        if isinstance(value, dict):
            out.update(flatten_params(value, path))
        else:
            out[path] = np.asarray(value)
    return out


def unflatten_params(arrays: dict[str, np.ndarray], prefix: str) -> dict:
    """Inverse of `flatten_params` for the keys under `prefix/`."""
    tree: dict = {}
    for path, value in arrays.items():
        if not path.startswith(prefix + "/"):
            continue
        node = tree
        *parents, leaf = path[len(prefix) + 1:].split("/")
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    return tree


def _write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    arrays = dict(arrays)
    arrays[META_KEY] = np.array(json.dumps({"format": FORMAT, "version": VERSION, **meta}))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _read_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    path = Path(path)
    arrays = read_npz(path, "checkpoint")
    if META_KEY not in arrays:
        raise InputError(f"{path}: .npz has no {META_KEY!r} entry, so it is not an anomale-jax checkpoint")
    meta = json.loads(str(arrays.pop(META_KEY)))
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(f"{path}: unsupported checkpoint format {meta.get('format')!r} v{meta.get('version')}")
    for key, value in arrays.items():
        if value.dtype.kind == "f" and value.dtype != np.float32:
            raise InputError(f"{path}: array {key!r} has dtype {value.dtype}, expected float32")
    return arrays, meta


def save_params(path: str | os.PathLike, params: dict, model_config: ModelConfig, **meta: Any) -> None:
    """Writes a model file: parameters + ModelConfig (+ JSON-ready `meta`), atomically."""
    _write_npz(path, flatten_params(jax.device_get(params), "params"),
               {"kind": "model", "model_config": to_dict(model_config), **meta})


def load_params(path: str | os.PathLike) -> tuple[dict, ModelConfig, dict]:
    """Reads a model file or a training checkpoint: (params, ModelConfig, meta).

    For a training checkpoint the returned params are the best (lowest-loss) ones.
    """
    arrays, meta = _read_npz(path)
    prefix = "best_params" if meta.get("kind") == "train_state" else "params"
    params = unflatten_params(arrays, prefix)
    if not params:
        raise InputError(f"{path}: checkpoint holds no {prefix!r} arrays")
    return params, from_dict(ModelConfig, meta["model_config"]), meta


def save_train_state(path: str | os.PathLike, state, best_params: dict, **meta: Any) -> None:
    """Writes a resumable training checkpoint (current params, optimiser state, best params, meta)."""
    state = jax.device_get(state)
    arrays = flatten_params(state.params, "params")
    arrays.update(flatten_params(best_params, "best_params"))
    for i, leaf in enumerate(jax.tree.leaves(state.opt_state)):
        arrays[f"opt_state/{i:04d}"] = np.asarray(leaf)
    arrays["step"] = np.asarray(state.step)
    _write_npz(path, arrays, {"kind": "train_state", "model_config": to_dict(state.model_config), **meta})


def load_train_state(path: str | os.PathLike, template):
    """Restores (state, best_params, meta) from `path`, shaped like the fresh TrainState `template`."""
    arrays, meta = _read_npz(path)
    if meta.get("kind") != "train_state":
        raise InputError(f"{path}: not a training checkpoint (kind {meta.get('kind')!r})")
    params = unflatten_params(arrays, "params")
    best = unflatten_params(arrays, "best_params")
    leaves, treedef = jax.tree.flatten(template.opt_state)
    opt_leaves = [arrays.get(f"opt_state/{i:04d}") for i in range(len(leaves))]
    shapes_ok = jax.tree.structure(params) == jax.tree.structure(template.params) and all(
        a is not None and a.shape == np.shape(b) for a, b in zip(opt_leaves, leaves))
    if not shapes_ok:
        raise InputError(f"{path}: checkpoint does not match this model/optimiser configuration")
    state = template.replace(
        step=np.asarray(arrays["step"]),
        params=params,
        opt_state=jax.tree.unflatten(treedef, [np.asarray(a, dtype=np.asarray(b).dtype)
                                               for a, b in zip(opt_leaves, leaves)]),
    )
    return jax.device_put(state), best, meta
