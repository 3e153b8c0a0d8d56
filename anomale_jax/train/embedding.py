"""Edge embeddings of whole graphs: bucket padding (few compilations), edge chunks (bounded memory), files.

Small graphs go through the jitted `embed` once, padded to bucket sizes. Graphs with more edges than
`chunk_edges` get their node embeddings once, then the edge head runs on fixed-size chunks of edges, so a 38M-edge
graph never needs a 38M x 256 array in device memory; `write_edge_embeddings` streams the chunks to .npy
(a memory-mapped file) or Parquet.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from anomale_jax.config import ModelConfig
from anomale_jax.errors import InputError
from anomale_jax.graph import FlowGraph, pad_graph
from anomale_jax.io import atomic_path
from anomale_jax.model.egraphsage import edge_embeddings, mean_incoming, node_embeddings
from anomale_jax.train.step import TRACE_COUNTS, embed

DEFAULT_CHUNK_EDGES = 1 << 18


@functools.partial(jax.jit, static_argnums=2)
def node_embeddings_of(params, graph: FlowGraph, config: ModelConfig) -> jax.Array:  # -> [N, node_dims[-1]]
    """Node embeddings of the last layer (jitted; pad the graph to reuse compilations)."""
    TRACE_COUNTS["node_embeddings_of"] += 1
    enc = params.get("encoder", params)
    neigh = mean_incoming(jnp.asarray(graph.edge_features, jnp.float32), graph.receivers, graph.edge_mask,
                          graph.node_features.shape[0])
    return node_embeddings(enc, jnp.asarray(graph.node_features, jnp.float32), neigh, config)


@functools.partial(jax.jit, static_argnums=5)
def edge_head_of(params, node_h, senders, receivers, edge_features, config: ModelConfig) -> jax.Array:
    """Edge head on one chunk: [N, H], [C], [C], [C, F] -> [C, edge_dim]."""
    TRACE_COUNTS["edge_head_of"] += 1
    return edge_embeddings(params.get("encoder", params), node_h, senders, receivers, edge_features, config)


def iter_edge_embeddings(params, graph: FlowGraph, config: ModelConfig,
                         chunk_edges: int = DEFAULT_CHUNK_EDGES) -> Iterator[np.ndarray]:
    """Yields float32 [<= chunk_edges, edge_dim] embeddings of the real edges of `graph`, in edge order."""
    real_e = graph.num_real_edges
    if real_e <= chunk_edges:
        padded = pad_graph(graph)
        yield np.asarray(embed(params, padded, config))[:real_e]
        return
    padded = pad_graph(graph)
    node_h = node_embeddings_of(params, padded, config)
    for start in range(0, real_e, chunk_edges):
        stop = min(start + chunk_edges, real_e)
        extra = chunk_edges - (stop - start)
        # The last chunk is padded with edges between node 0 and itself; their rows are dropped.
        senders = np.pad(np.asarray(graph.senders[start:stop], np.int32), (0, extra))
        receivers = np.pad(np.asarray(graph.receivers[start:stop], np.int32), (0, extra))
        features = np.pad(np.asarray(graph.edge_features[start:stop], np.float32), ((0, extra), (0, 0)))
        yield np.asarray(edge_head_of(params, node_h, senders, receivers, features, config))[: stop - start]


def embed_graph(params, graph: FlowGraph, config: ModelConfig,
                chunk_edges: int = DEFAULT_CHUNK_EDGES) -> np.ndarray:  # -> [E_real, edge_dim]
    """All real-edge embeddings of `graph` as one float32 numpy array."""
    out = np.empty((graph.num_real_edges, config.edge_dim), np.float32)
    start = 0
    for chunk in iter_edge_embeddings(params, graph, config, chunk_edges):
        out[start:start + len(chunk)] = chunk
        start += len(chunk)
    return out


def write_edge_embeddings(path: str | os.PathLike, params, graph: FlowGraph, config: ModelConfig,
                          chunk_edges: int = DEFAULT_CHUNK_EDGES) -> Path:
    """Streams the real-edge embeddings to `path` (.npy: [E, edge_dim] float32; .parquet: columns
    `edge_flow` and emb_000..), atomically, without holding them all in memory. Returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".parquet"):
        raise InputError(f"{path}: output must end in .npy or .parquet")
    num_edges = graph.num_real_edges
    with atomic_path(path) as tmp:
        if suffix == ".npy":
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(num_edges, config.edge_dim))
            start = 0
            for chunk in iter_edge_embeddings(params, graph, config, chunk_edges):
                out[start:start + len(chunk)] = chunk
                start += len(chunk)
            out.flush()
            del out
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            names = [f"emb_{j:03d}" for j in range(config.edge_dim)]
            schema = pa.schema([("edge_flow", pa.int32())] + [(n, pa.float32()) for n in names])
            flows = np.asarray(graph.edge_flow[:num_edges], np.int32)
            start = 0
            with pq.ParquetWriter(tmp, schema) as writer:
                for chunk in iter_edge_embeddings(params, graph, config, chunk_edges):
                    columns = [pa.array(flows[start:start + len(chunk)])] + [pa.array(chunk[:, j])
                                                                           for j in range(chunk.shape[1])]
                    writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                    start += len(chunk)
    return path

