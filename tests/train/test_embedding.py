"""Embedding whole graphs: chunks == one pass, .npy/.parquet files, the public embed_edges, the upstream model."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import anomale_jax
from anomale_jax.config import DataConfig, ModelConfig, TrainConfig
from anomale_jax.errors import InputError
from anomale_jax.train.embedding import embed_graph, write_edge_embeddings
from anomale_jax.train.step import init_train_state

CONFIG = ModelConfig(node_dims=(16, 8), edge_dim=32, edge_head_uses_edge_features=True)


@pytest.fixture(scope="module")
def params(synthetic_graph):
    widths = synthetic_graph.node_features.shape[1], synthetic_graph.edge_features.shape[1]
    return jax.device_get(init_train_state(jax.random.PRNGKey(0), CONFIG, TrainConfig(), *widths).params)


def test_chunked_embedding_equals_one_pass(params, synthetic_graph):
    whole = embed_graph(params, synthetic_graph, CONFIG)
    chunked = embed_graph(params, synthetic_graph, CONFIG, chunk_edges=700)  # several chunks, a ragged last one
    assert whole.shape == (synthetic_graph.num_real_edges, 32) and whole.dtype == np.float32
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)


def test_writes_npy_and_parquet(params, synthetic_graph, tmp_path):
    expected = embed_graph(params, synthetic_graph, CONFIG, chunk_edges=700)
    npy = write_edge_embeddings(tmp_path / "z.npy", params, synthetic_graph, CONFIG, chunk_edges=700)
    np.testing.assert_array_equal(np.load(npy), expected)
    import pyarrow.parquet as pq

    table = pq.read_table(write_edge_embeddings(tmp_path / "z.parquet", params, synthetic_graph, CONFIG,
                                                chunk_edges=700))
    assert table.num_rows == len(expected) and table.column_names[:2] == ["edge_flow", "emb_000"]
    np.testing.assert_array_equal(table.column("edge_flow").to_numpy(), synthetic_graph.edge_flow)
    np.testing.assert_array_equal(np.stack([table.column(f"emb_{j:03d}").to_numpy() for j in range(32)], 1),
                                  expected)
    with pytest.raises(InputError, match="z.csv"):
        write_edge_embeddings(tmp_path / "z.csv", params, synthetic_graph, CONFIG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.npy", "z.parquet"]  # nothing half-written


def test_embed_edges_public_api(params, synthetic_graph):
    g = synthetic_graph
    z = anomale_jax.embed_edges(params, g.senders, g.receivers, g.edge_features, g.num_nodes, config=CONFIG)
    np.testing.assert_allclose(z, embed_graph(params, g, CONFIG), rtol=1e-6, atol=1e-6)
    # Weights alone give the config (ReLU assumed; this model is ReLU too).
    np.testing.assert_allclose(anomale_jax.embed_edges(params, g.senders, g.receivers, g.edge_features,
                                                       g.num_nodes), z, rtol=1e-6, atol=1e-6)
    with pytest.raises(InputError, match="columns"):
        anomale_jax.embed_edges(params, g.senders, g.receivers, g.edge_features[:, :5], g.num_nodes)
    with pytest.raises(InputError, match="node ids"):
        anomale_jax.embed_edges(params, g.senders, g.receivers, g.edge_features, 3, config=CONFIG)


@pytest.fixture(scope="module")
def unsw_paper(shared_data):
    """The 72-row UNSW-NB15-v2 sample under the paper protocol (every row kept: sample_frac 1.0)."""
    from anomale_jax.data.netflow import load_netflow
    from anomale_jax.data.preprocess import prepare

    return prepare(load_netflow(shared_data / "nf-unsw-nb15-v2-sample72.csv"),
                   DataConfig(protocol="paper", sample_frac=1.0))


def test_published_checkpoint_embeds_the_unsw_sample(shared_data, unsw_paper):
    pytest.importorskip("torch", reason="reading the upstream .pt needs torch")
    from anomale_jax.data.graph_build import build_graph

    params = anomale_jax.load_torch_state_dict(shared_data / "pretrained" / "anomale-e-cse-v2.state_dict.pt")
    for split in (unsw_paper.train, unsw_paper.test):
        graph = build_graph(split, "paper")
        assert graph.edge_features.shape[1] == 39
        z = anomale_jax.embed_edges(params, graph.senders, graph.receivers, graph.edge_features, graph.num_nodes)
        assert z.shape == (graph.num_real_edges, 256) and z.dtype == np.float32 and np.isfinite(z).all()
        # Different flows between different hosts get different embeddings.
        assert len(np.unique(z.round(5), axis=0)) > graph.num_real_edges // 4
        # The model is the published one: z = W_edge [h_u || h_v], h = ReLU(W_apply [1 || mean in-edge h]).
        layer = params["encoder"]["layers_0"]
        neigh = np.zeros((graph.num_nodes, 39))
        np.add.at(neigh, graph.receivers, graph.edge_features)
        neigh /= np.maximum(np.bincount(graph.receivers, minlength=graph.num_nodes), 1)[:, None]
        h = np.maximum(np.concatenate([np.ones((graph.num_nodes, 39)), neigh], 1) @ layer["W_apply"]["kernel"]
                       + layer["W_apply"]["bias"], 0)
        ref = np.concatenate([h[graph.senders], h[graph.receivers]], 1) @ layer["W_edge"]["kernel"] + \
            layer["W_edge"]["bias"]
        np.testing.assert_allclose(z, ref, rtol=1e-4, atol=1e-5)
