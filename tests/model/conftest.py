"""Small random flow graphs for the model tests."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from anomale_jax.graph import make_graph


def _random_graph(num_nodes: int, num_edges: int, feature_dim: int, seed: int = 0, node_feature_dim=None):
    rng = np.random.default_rng(seed)
    node_features = None
    if node_feature_dim is not None:
        node_features = rng.normal(size=(num_nodes, node_feature_dim)).astype(np.float32)
    return make_graph(
        senders=rng.integers(0, num_nodes, num_edges),
        receivers=rng.integers(0, num_nodes, num_edges),
        edge_features=rng.random((num_edges, feature_dim), dtype=np.float32),
        num_nodes=num_nodes,
        node_features=node_features,
    )


@pytest.fixture
def random_graph():
    """random_graph(num_nodes, num_edges, feature_dim, seed=0, node_feature_dim=None) -> FlowGraph."""
    return _random_graph


ACT_NP = {"relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "identity": lambda x: x,
          "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))}


def _numpy_encode(params, graph, config):
    """The encoder written out with explicit loops over edges, in float64."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["encoder"])
    e = graph.edge_features.astype(np.float64)
    n = graph.num_nodes
    neigh, count = np.zeros((n, e.shape[1])), np.zeros(n)
    for j in range(graph.num_edges):
        if graph.edge_mask[j]:
            neigh[graph.receivers[j]] += e[j]
            count[graph.receivers[j]] += 1
    neigh /= np.maximum(count, 1)[:, None]
    h = graph.node_features.astype(np.float64)
    for i in range(config.num_layers):
        w = p[f"layers_{i}"]["W_apply"]
        h = ACT_NP[config.activation](np.concatenate([h, neigh], 1) @ w["kernel"] + w["bias"])
    head = p[f"layers_{config.num_layers - 1}"]["W_edge"]
    parts = [h[graph.senders], h[graph.receivers]] + ([e] if config.edge_head_uses_edge_features else [])
    return h, np.concatenate(parts, 1) @ head["kernel"] + head["bias"]


@pytest.fixture
def numpy_encode():
    """numpy_encode(params, graph, config) -> (h [N, H], z [E, D]) in float64, by explicit loops."""
    return _numpy_encode
