"""Public API: upstream weights in and out, model files, and edge embeddings from plain arrays.

    params = anomale_jax.load_torch_state_dict("best_dgi.pkl")       # upstream PyTorch state dict
    z = anomale_jax.embed_edges(params, senders, receivers, edge_features, num_nodes)   # [E, 256] float32

torch is imported only by the two functions that read or write torch files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from anomale_jax.config import ModelConfig
from anomale_jax.errors import InputError
from anomale_jax.graph import make_graph
from anomale_jax.io import atomic_path
from anomale_jax.model.torch_io import (
    feature_dims_of,
    model_config_from_params,
    model_config_from_state_dict,
    params_from_state_dict,
    params_to_state_dict,
)

TORCH_SUFFIXES = (".pt", ".pth", ".pkl", ".bin")


def _torch():
    try:
        import torch
    except ImportError:
        raise InputError("reading or writing PyTorch files needs torch; install it (see README)") from None
    return torch


def _read_state_dict(path: str | os.PathLike):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    torch = _torch()
    try:
        state_dict = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many types for unreadable or unsafe files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a loadable PyTorch state dict ({first})") from None
    if not hasattr(state_dict, "items"):
        raise InputError(f"{path}: holds a {type(state_dict).__name__}, not a state dict (name -> tensor)")
    return state_dict


def load_torch_state_dict(path: str | os.PathLike) -> dict:
    """Reads an upstream-layout PyTorch state dict (`torch.load(weights_only=True, map_location="cpu")`).

    Returns:
      Our float32 parameter tree {"encoder": {"layers_0": {"W_apply": ..., "W_edge": ...}}, "discriminator": ...}.
    """
    return params_from_state_dict(_read_state_dict(path), str(path))


def save_torch_state_dict(params: dict, path: str | os.PathLike) -> None:
    """Writes `params` as an upstream-layout PyTorch state dict (`torch.save`), atomically."""
    torch = _torch()
    state_dict = {k: torch.from_numpy(np.array(v)) for k, v in params_to_state_dict(params).items()}
    with atomic_path(path) as tmp:
        torch.save(state_dict, tmp)


def load_model(path: str | os.PathLike) -> tuple[dict, ModelConfig]:
    """Parameters and ModelConfig from a run folder, one of our .npz files, or an upstream torch state dict.

    A run folder or a training checkpoint gives its best (lowest-loss) parameters. Upstream files carry no
    activation, so the published ReLU is assumed.
    """
    from anomale_jax.train.checkpoint import load_params
    from anomale_jax.train.loop import MODEL

    path = Path(path)
    if path.is_dir():
        path = path / MODEL
    if path.suffix.lower() in TORCH_SUFFIXES:
        state_dict = _read_state_dict(path)
        return params_from_state_dict(state_dict, str(path)), model_config_from_state_dict(state_dict, str(path))
    params, config, _ = load_params(path)
    return params, config


def embed_edges(
    params: dict,
    senders: np.ndarray,  # [E] int
    receivers: np.ndarray,  # [E] int
    edge_features: np.ndarray,  # [E, F]
    num_nodes: int,
    node_features: np.ndarray | None = None,  # [N, Fn]
    *,
    config: ModelConfig | None = None,
    chunk_edges: int | None = None,
) -> np.ndarray:  # [E, edge_dim] float32
    """Edge embeddings of a graph given as plain arrays.

    Args:
      params: a parameter tree (e.g. from `load_torch_state_dict` or `load_model`).
      senders, receivers: [E] node ids in [0, num_nodes).
      edge_features: [E, F] preprocessed flow features (F must match the model).
      num_nodes: N.
      node_features: [N, Fn]; all ones of the width the model expects when omitted (the published choice).
      config: the ModelConfig; inferred from the weights when omitted (ReLU assumed).
      chunk_edges: edges per chunk of the edge head (default: anomale_jax.train.embedding.DEFAULT_CHUNK_EDGES).

    Returns:
      [E, edge_dim] float32 numpy array, in the order of the given edges.
    """
    from anomale_jax.train.embedding import DEFAULT_CHUNK_EDGES, embed_graph

    config = model_config_from_params(params) if config is None else config
    edge_features = np.asarray(edge_features, dtype=np.float32)
    if edge_features.ndim != 2:
        raise InputError(f"edge_features must be [E, F]; got shape {list(edge_features.shape)}")
    in0, f = feature_dims_of(params)
    width = edge_features.shape[1]
    if f is not None and f != width:
        raise InputError(f"edge_features has {width} columns but the model was trained on {f}")
    if node_features is None:
        if in0 - width <= 0:
            raise InputError(f"edge_features has {width} columns; the model's first layer takes {in0} inputs "
                             f"(node + edge features)")
        node_features = np.ones((int(num_nodes), in0 - width), np.float32)
    elif np.shape(node_features)[-1] + width != in0:
        raise InputError(f"node_features ({np.shape(node_features)[-1]}) + edge_features ({width}) columns must "
                         f"add up to the model's {in0} inputs")
    try:
        graph = make_graph(senders, receivers, edge_features, int(num_nodes), node_features=node_features)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return embed_graph(params, graph, config, chunk_edges or DEFAULT_CHUNK_EDGES)
