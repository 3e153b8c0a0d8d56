"""DGL graphs and torch inputs built from the very same `FlowGraph` arrays the JAX side uses."""

from __future__ import annotations

import numpy as np

from anomale_jax.graph import FlowGraph
from reference_torch._dgl_compat import dgl, torch


def _real_counts(flow_graph: FlowGraph) -> tuple[int, int]:
    """(real nodes, real edges); padding always follows the real rows (see anomale_jax.graph)."""
    num_nodes, num_edges = flow_graph.num_real_nodes, flow_graph.num_real_edges
    edge_mask = np.asarray(flow_graph.edge_mask)
    node_mask = np.asarray(flow_graph.node_mask)
    if not (edge_mask[:num_edges].all() and node_mask[:num_nodes].all()):
        raise ValueError("padding must follow the real nodes and edges (see anomale_jax.graph.pad_graph)")
    return num_nodes, num_edges


def build_dgl_graph(flow_graph: FlowGraph) -> dgl.DGLGraph:
    """The DGL graph of the real (unpadded) nodes and edges, in the FlowGraph's edge order.

    Args:
      flow_graph: a FlowGraph, padded or not (numpy or jax arrays).
    Returns:
      `dgl.graph((senders, receivers), num_nodes=N_real)` with int64 ids; edge i of the result is real edge i.
    """
    num_nodes, num_edges = _real_counts(flow_graph)
    src = torch.as_tensor(np.asarray(flow_graph.senders)[:num_edges].astype(np.int64))  # [E]
    dst = torch.as_tensor(np.asarray(flow_graph.receivers)[:num_edges].astype(np.int64))  # [E]
    if num_edges and int(max(src.max(), dst.max())) >= num_nodes:
        raise ValueError("a real edge touches a padding node")
    return dgl.graph((src, dst), num_nodes=num_nodes)


def torch_inputs(flow_graph: FlowGraph, dtype: torch.dtype = torch.float32):
    """The graph and its features as the reference model takes them.

    Args:
      flow_graph: a FlowGraph, padded or not.
      dtype: torch.float32 or torch.float64 for the features.
    Returns:
      (g, nfeats [N_real, Fn], efeats [E_real, F]); no [N, 1, F] dummy axis (see reference_torch.model).
    """
    num_nodes, num_edges = _real_counts(flow_graph)
    g = build_dgl_graph(flow_graph)
    nfeats = torch.as_tensor(np.asarray(flow_graph.node_features)[:num_nodes]).to(dtype)  # [N, Fn]
    efeats = torch.as_tensor(np.asarray(flow_graph.edge_features)[:num_edges]).to(dtype)  # [E, F]
    return g, nfeats, efeats
