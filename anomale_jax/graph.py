"""The flow graph: one NamedTuple of arrays, padding to static bucket sizes, and jraph conversion.

Hosts (IPv4 addresses) are nodes and flows are directed edges. Every edge remembers the flow (row of its
split) it came from in `edge_flow`, so per-edge scores can always be mapped back to flows and labels without
relying on any library's edge order. Structure is built in numpy by `anomale_jax.data.graph_build`; the JAX
model and the torch reference both consume the same arrays.

Padding: to keep jit shapes static across graphs of different sizes, graphs are padded to bucket sizes.
Padded edges point at the last node, carry zero features and `edge_flow == -1`, and are excluded through
`edge_mask`; padded nodes have `node_mask == False`. Real nodes and edges always come first.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class FlowGraph(NamedTuple):
    """A directed multigraph of hosts and flows (numpy or jax arrays; a PyTree)."""

    node_features: np.ndarray  # [N, Fn] float32, all ones in the published model
    edge_features: np.ndarray  # [E, F] float32, preprocessed flow features
    senders: np.ndarray  # [E] int32, source node of each edge
    receivers: np.ndarray  # [E] int32, destination node of each edge
    edge_flow: np.ndarray  # [E] int32, row of the flow table each edge came from; -1 for padding
    node_mask: np.ndarray  # [N] bool, False for padding nodes
    edge_mask: np.ndarray  # [E] bool, False for padding edges

    @property
    def num_nodes(self) -> int:
        return int(self.node_features.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.senders.shape[0])

    @property
    def num_real_nodes(self) -> int:
        return int(np.asarray(self.node_mask).sum())

    @property
    def num_real_edges(self) -> int:
        return int(np.asarray(self.edge_mask).sum())


def make_graph(
    senders: np.ndarray,
    receivers: np.ndarray,
    edge_features: np.ndarray,
    num_nodes: int,
    edge_flow: np.ndarray | None = None,
    node_features: np.ndarray | None = None,
) -> FlowGraph:
    """Builds an unpadded FlowGraph, checking shapes and index ranges.

    Args:
      senders, receivers: [E] integer node ids in [0, num_nodes).
      edge_features: [E, F].
      num_nodes: N.
      edge_flow: [E] flow index per edge; defaults to arange(E).
      node_features: [N, Fn]; defaults to ones of width F (the published choice).
    """
    senders = np.asarray(senders, dtype=np.int32)
    receivers = np.asarray(receivers, dtype=np.int32)
    edge_features = np.asarray(edge_features, dtype=np.float32)
    num_edges = senders.shape[0]
    if senders.shape != (num_edges,) or receivers.shape != (num_edges,):
        raise ValueError(f"senders/receivers must both be [E]; got {senders.shape} and {receivers.shape}")
    if edge_features.ndim != 2 or edge_features.shape[0] != num_edges:
        raise ValueError(f"edge_features must be [E={num_edges}, F]; got {edge_features.shape}")
    if num_edges and (min(senders.min(), receivers.min()) < 0 or max(senders.max(), receivers.max()) >= num_nodes):
        raise ValueError(f"node ids must lie in [0, {num_nodes})")
    if edge_flow is None:
        edge_flow = np.arange(num_edges, dtype=np.int32)
    edge_flow = np.asarray(edge_flow, dtype=np.int32)
    if node_features is None:
        node_features = np.ones((num_nodes, edge_features.shape[1]), dtype=np.float32)
    node_features = np.asarray(node_features, dtype=np.float32)
    if node_features.shape[0] != num_nodes:
        raise ValueError(f"node_features must have {num_nodes} rows; got {node_features.shape}")
    return FlowGraph(
        node_features=node_features,
        edge_features=edge_features,
        senders=senders,
        receivers=receivers,
        edge_flow=edge_flow,
        node_mask=np.ones(num_nodes, dtype=bool),
        edge_mask=np.ones(num_edges, dtype=bool),
    )


def bucket_size(n: int, minimum: int = 8) -> int:
    """Smallest size >= n of the form m * 2**k with m in {4, 5, 6, 7}: at most 25% padding, few buckets."""
    n = max(int(n), minimum)
    k = max(int(np.floor(np.log2(n))) - 2, 0)
    while True:
        for m in (4, 5, 6, 7):
            if m * 2**k >= n:
                return m * 2**k
        k += 1


def pad_graph(graph: FlowGraph, num_nodes: int | None = None, num_edges: int | None = None) -> FlowGraph:
    """Pads a (numpy) graph to `num_nodes` / `num_edges` (default: their bucket sizes).

    At least one padding node is kept when edges are padded, so padded edges never touch a real node.
    """
    real_n, real_e = graph.num_nodes, graph.num_edges
    if num_edges is None:
        num_edges = bucket_size(real_e)
    if num_nodes is None:
        num_nodes = bucket_size(real_n + (1 if num_edges > real_e else 0))
    if num_nodes < real_n or num_edges < real_e:
        raise ValueError(f"cannot pad a graph of {real_n} nodes / {real_e} edges to {num_nodes} / {num_edges}")
    if num_edges > real_e and num_nodes == real_n:
        raise ValueError("padding edges needs at least one padding node")
    extra_n, extra_e = num_nodes - real_n, num_edges - real_e
    pad_node = num_nodes - 1

    def pad_rows(a: np.ndarray, extra: int, value) -> np.ndarray:
        a = np.asarray(a)
        pad = np.full((extra,) + a.shape[1:], value, dtype=a.dtype)
        return np.concatenate([a, pad], axis=0)

    return FlowGraph(
        node_features=pad_rows(graph.node_features, extra_n, 0),
        edge_features=pad_rows(graph.edge_features, extra_e, 0),
        senders=pad_rows(graph.senders, extra_e, pad_node),
        receivers=pad_rows(graph.receivers, extra_e, pad_node),
        edge_flow=pad_rows(graph.edge_flow, extra_e, -1),
        node_mask=pad_rows(graph.node_mask, extra_n, False),
        edge_mask=pad_rows(graph.edge_mask, extra_e, False),
    )


def unpad_edges(graph: FlowGraph, edge_values: np.ndarray) -> np.ndarray:
    """[E_pad, ...] -> [E_real, ...]: drops the rows of padding edges (real edges come first)."""
    return np.asarray(edge_values)[: graph.num_real_edges]


def flow_scores(edge_scores: np.ndarray, edge_flow: np.ndarray, num_flows: int, how: str = "max") -> np.ndarray:
    """Merges per-edge scores into one score per flow (the two directions of a flow), by `max` or `mean`.

    Args:
      edge_scores: [E] scores of real edges.
      edge_flow: [E] flow index of each edge.
      num_flows: number of flows; every flow must have at least one edge.
    Returns:
      [num_flows] float64.
    """
    edge_scores = np.asarray(edge_scores, dtype=np.float64)
    edge_flow = np.asarray(edge_flow)
    if how == "max":
        out = np.full(num_flows, -np.inf)
        np.maximum.at(out, edge_flow, edge_scores)
    elif how == "mean":
        out = np.bincount(edge_flow, weights=edge_scores, minlength=num_flows)
        out /= np.maximum(np.bincount(edge_flow, minlength=num_flows), 1)
    else:
        raise ValueError(f"how must be 'max' or 'mean', got {how!r}")
    counts = np.bincount(edge_flow, minlength=num_flows)
    if (counts == 0).any():
        raise ValueError(f"flow {int(np.argmin(counts))} has no edge")
    return out


def to_jraph(graph: FlowGraph):
    """Converts to a single-graph `jraph.GraphsTuple` (nodes, edges, senders, receivers, n_node, n_edge)."""
    import jraph

    return jraph.GraphsTuple(
        nodes=graph.node_features,
        edges=graph.edge_features,
        senders=graph.senders,
        receivers=graph.receivers,
        n_node=np.array([graph.num_nodes], dtype=np.int32),
        n_edge=np.array([graph.num_edges], dtype=np.int32),
        globals=None,
    )


def from_jraph(gt, edge_flow: np.ndarray | None = None) -> FlowGraph:
    """Converts a single-graph `jraph.GraphsTuple` back to an unpadded FlowGraph."""
    return make_graph(
        senders=np.asarray(gt.senders),
        receivers=np.asarray(gt.receivers),
        edge_features=np.asarray(gt.edges),
        num_nodes=int(np.asarray(gt.nodes).shape[0]),
        edge_flow=edge_flow,
        node_features=np.asarray(gt.nodes),
    )
