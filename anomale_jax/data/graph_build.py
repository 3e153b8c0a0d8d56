"""Flows -> host graph: IPs become node ids, each flow becomes one or two directed edges (numpy only).

Node ids follow first appearance in the sequence src_0, dst_0, src_1, dst_1, ... -- the order in which
networkx `from_pandas_edgelist` adds nodes. (`dgl.from_networkx` in the notebook relabels nodes and orders
edges its own way; the math does not depend on either, and the parity tests compare edges as multisets.) The id
assignment uses `pandas.factorize` (a hash table, O(flows), and it keeps first-appearance order).

Edge modes:
  * 'paper': networkx `MultiGraph.to_directed()` -- every flow gives u->v and v->u with the same features; a
    self-loop flow (u == v) gives one edge. Edges [0, n) are the flows' u->v in flow order; then v->u for
    every non-self-loop flow, in flow order.
  * 'directed': one edge src->dst per flow, in flow order.
`edge_flow[e]` is the flow (row of the split) edge e came from; no other ordering is relied on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomale_jax.data.preprocess import Split
from anomale_jax.data.schema import DST_IP, SRC_IP
from anomale_jax.errors import InputError
from anomale_jax.graph import FlowGraph, make_graph

EDGE_MODES = ("paper", "directed")


def host_ids(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps endpoint names to node ids in first-appearance order (src_0, dst_0, src_1, ...).

    Args:
      src, dst: [n] endpoint names (IP strings) or integer codes.
    Returns:
      (src ids [n] int32, dst ids [n] int32, hosts [N] names, hosts[i] being node i).
    """
    src, dst = np.asarray(src), np.asarray(dst)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError(f"src and dst must both be [n]; got {src.shape} and {dst.shape}")
    interleaved = np.empty(2 * src.shape[0], dtype=np.result_type(src.dtype, dst.dtype))
    interleaved[0::2], interleaved[1::2] = src, dst
    codes, hosts = pd.factorize(interleaved, sort=False, use_na_sentinel=False)
    codes = codes.astype(np.int32)
    return codes[0::2], codes[1::2], np.asarray(hosts)


def edge_index(
    src_ids: np.ndarray, dst_ids: np.ndarray, edge_mode: str = "paper"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges of flows between node ids.

    Args:
      src_ids, dst_ids: [n] int node ids per flow.
    Returns:
      (senders [E] int32, receivers [E] int32, edge_flow [E] int32); E = 2n - self-loops ('paper') or n.
    """
    if edge_mode not in EDGE_MODES:
        raise InputError(f"edge_mode must be one of {', '.join(EDGE_MODES)}; got {edge_mode!r}")
    src_ids = np.asarray(src_ids, dtype=np.int32)
    dst_ids = np.asarray(dst_ids, dtype=np.int32)
    flows = np.arange(src_ids.shape[0], dtype=np.int32)
    if edge_mode == "directed":
        return src_ids, dst_ids, flows
    back = flows[src_ids != dst_ids]  # a self-loop flow is one edge, as in networkx to_directed()
    senders = np.concatenate([src_ids, dst_ids[back]])
    receivers = np.concatenate([dst_ids, src_ids[back]])
    return senders, receivers, np.concatenate([flows, back])


def build_graph_arrays(
    src: np.ndarray,
    dst: np.ndarray,
    edge_features: np.ndarray,
    edge_mode: str = "paper",
    node_feature_dim: int | None = None,
) -> FlowGraph:
    """Builds the host graph of n flows.

    Args:
      src, dst: [n] endpoint names per flow.
      edge_features: [n, F] per-flow features; each edge carries its flow's row.
      edge_mode: 'paper' (both directions, self-loops once) or 'directed'.
      node_feature_dim: width of the all-ones node features; default F (the published choice).
    Returns:
      An unpadded FlowGraph with N = distinct endpoints and `edge_flow` indexing the n flows.
    """
    edge_features = np.asarray(edge_features, dtype=np.float32)
    if edge_features.ndim != 2 or edge_features.shape[0] != np.shape(src)[0]:
        raise ValueError(f"edge_features must be [n={np.shape(src)[0]}, F]; got {edge_features.shape}")
    src_ids, dst_ids, hosts = host_ids(src, dst)
    senders, receivers, edge_flow = edge_index(src_ids, dst_ids, edge_mode)
    width = edge_features.shape[1] if node_feature_dim is None else int(node_feature_dim)
    num_nodes = int(hosts.shape[0])
    return make_graph(
        senders=senders,
        receivers=receivers,
        edge_features=edge_features[edge_flow],  # [E, F]
        num_nodes=num_nodes,
        edge_flow=edge_flow,
        node_features=np.ones((num_nodes, width), dtype=np.float32),  # [N, width]
    )


def require_endpoints(has_ips: bool, source: str = "") -> None:
    """Raises the documented InputError when a file has no IP columns (call it early to fail fast)."""
    if not has_ips:
        prefix = f"{source}: " if source else ""
        raise InputError(
            f"{prefix}the file has no {SRC_IP}/{DST_IP} columns, so no host graph can be built "
            f"(raw-feature baselines still work)"
        )


def build_graph(split: Split, edge_mode: str = "paper", node_feature_dim: int | None = None) -> FlowGraph:
    """Builds the host graph of a split; `edge_flow` indexes the split's rows.

    Raises:
      InputError: the split came from a file without IP columns.
    """
    require_endpoints(split.src is not None and split.dst is not None, split.source)
    return build_graph_arrays(split.src, split.dst, split.features, edge_mode, node_feature_dim)
