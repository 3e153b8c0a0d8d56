"""E-GraphSAGE encoder: shapes, dtypes, corner-case graphs, padding, initialisers, and the math in numpy."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from anomale_jax.config import ModelConfig
from anomale_jax.graph import make_graph, pad_graph
from anomale_jax.model.dgi import init_params
from anomale_jax.model.egraphsage import ACTIVATIONS, encode, mean_incoming

# Most tests run the jitted encoder (one compilation per shape instead of one per op).
jit_encode = jax.jit(encode, static_argnums=2)

TINY = ModelConfig(node_dims=(8,), edge_dim=12)
CONFIGS = {
    "published-shape": TINY,
    "two-layers": ModelConfig(node_dims=(8, 6), edge_dim=10),
    "edge-features-in-head": ModelConfig(node_dims=(8,), edge_dim=12, edge_head_uses_edge_features=True),
    "tanh-3-layers": ModelConfig(node_dims=(5, 7, 4), edge_dim=9, activation="tanh",
                                 edge_head_uses_edge_features=True),
}
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_encode_matches_numpy_and_has_shapes(name, random_graph, numpy_encode):
    config = CONFIGS[name]
    graph = random_graph(9, 31, 5, node_feature_dim=3)
    params = init_params(jax.random.PRNGKey(1), config, 3, 5)
    h, z = jit_encode(params, graph, config)
    h_ref, z_ref = numpy_encode(params, graph, config)
    assert h.shape == (9, config.node_dims[-1]) and z.shape == (31, config.edge_dim)
    assert h.dtype == jnp.float32 and z.dtype == jnp.float32
    np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(z, z_ref, rtol=1e-5, atol=1e-5)


def test_jit_and_eager_agree(random_graph):
    graph = random_graph(7, 20, 4)
    params = init_params(jax.random.PRNGKey(0), TINY, 4, 4)
    eager = encode(params, graph, TINY)
    jitted = jax.jit(encode, static_argnums=2)(params, jax.device_put(graph), TINY)
    for a, b in zip(eager, jitted):
        assert np.isfinite(np.asarray(b)).all()
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_corner_cases_isolated_nodes_self_loops_multi_edges():
    # Node 3 is isolated, node 4 only sends, edge 2 is a self-loop, edges 0/1 are parallel.
    e = np.array([[1, 0], [3, 0], [0, 5], [2, 2]], np.float32)
    graph = make_graph(senders=[0, 0, 2, 4], receivers=[1, 1, 2, 1], edge_features=e, num_nodes=5)
    neigh = np.asarray(mean_incoming(jnp.asarray(e), graph.receivers, graph.edge_mask, 5))
    np.testing.assert_allclose(neigh, [[0, 0], [2, 2 / 3], [0, 5], [0, 0], [0, 0]], rtol=1e-6)
    params = init_params(jax.random.PRNGKey(0), TINY, 2, 2)
    h, z = encode(params, graph, TINY)
    assert np.isfinite(np.asarray(z)).all()
    # Parallel edges with all-ones node inputs get identical embeddings (a documented property of the model).
    np.testing.assert_array_equal(z[0], z[1])
    # Nodes without in-edges see zeros: the isolated node and the pure sender have the same embedding.
    np.testing.assert_array_equal(h[3], h[4])


def test_one_edge_and_zero_edge_graphs():
    params = init_params(jax.random.PRNGKey(0), TINY, 3, 3)
    one = make_graph([0], [1], np.ones((1, 3), np.float32), num_nodes=2)
    h, z = jit_encode(params, one, TINY)
    assert z.shape == (1, 12) and np.isfinite(np.asarray(z)).all()
    empty = make_graph(np.zeros(0, int), np.zeros(0, int), np.zeros((0, 3), np.float32), num_nodes=2)
    h, z = jit_encode(params, empty, TINY)
    assert z.shape == (0, 12) and np.isfinite(np.asarray(h)).all()


@pytest.mark.parametrize("name", ["published-shape", "tanh-3-layers"])
def test_padding_does_not_change_real_rows(name, random_graph):
    config = CONFIGS[name]
    graph = random_graph(10, 37, 4)
    padded = pad_graph(graph, num_nodes=16, num_edges=64)
    params = init_params(jax.random.PRNGKey(2), config, 4, 4)
    h, z = jit_encode(params, graph, config)
    hp, zp = jit_encode(params, padded, config)
    np.testing.assert_allclose(hp[:10], h, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(zp[:37], z, rtol=1e-6, atol=1e-6)


def test_padded_edges_do_not_reach_real_nodes(random_graph):
    # Padding edges aimed at a REAL node with large features must still be masked out of its mean.
    graph = random_graph(6, 15, 3)
    padded = pad_graph(graph, num_nodes=7, num_edges=20)
    hostile = padded._replace(receivers=padded.receivers.copy(), edge_features=padded.edge_features.copy())
    hostile.receivers[15:] = 0
    hostile.edge_features[15:] = 1e3
    base = mean_incoming(jnp.asarray(graph.edge_features), graph.receivers, graph.edge_mask, 6)
    masked = mean_incoming(jnp.asarray(hostile.edge_features), hostile.receivers, hostile.edge_mask, 7)
    np.testing.assert_allclose(masked[:6], base, rtol=1e-6)


def test_initialisers_follow_the_published_ones():
    config = ModelConfig()  # published sizes: 39 + 39 -> 128, 256 -> 256, discriminator 256 x 256
    params = init_params(jax.random.PRNGKey(0), config, 39, 39)
    layer = params["encoder"]["layers_0"]
    assert layer["W_apply"]["kernel"].shape == (78, 128) and layer["W_edge"]["kernel"].shape == (256, 256)
    bounds = {
        ("W_apply", "kernel"): math.sqrt(2.0) * math.sqrt(6.0 / (78 + 128)),  # xavier_uniform, ReLU gain
        ("W_apply", "bias"): 1 / math.sqrt(78),
        ("W_edge", "kernel"): 1 / math.sqrt(256),
        ("W_edge", "bias"): 1 / math.sqrt(256),
    }
    for (module, name), bound in bounds.items():
        values = np.asarray(layer[module][name])
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound
        # Uniform on [-b, b]: the extremes come close to b and the standard deviation is b / sqrt(3).
        assert np.abs(values).max() > 0.9 * bound
        if values.size > 1000:
            assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound
    disc = np.asarray(params["discriminator"]["weight"])
    assert disc.shape == (256, 256) and np.abs(disc).max() <= 1 / 16 and abs(disc.std() - 1 / 16 / math.sqrt(3)) < 1e-3


def test_init_params_tree_follows_the_contract():
    config = CONFIGS["tanh-3-layers"]
    fast = init_params(jax.random.PRNGKey(0), config, 3, 5)
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(fast))
    # Contract with the torch port: intermediate layers have no edge head.
    assert set(fast["encoder"]) == {"layers_0", "layers_1", "layers_2"}
    assert "W_edge" not in fast["encoder"]["layers_0"] and "W_edge" not in fast["encoder"]["layers_1"]
    assert fast["encoder"]["layers_1"]["W_apply"]["kernel"].shape == (5 + 5, 7)
    assert fast["encoder"]["layers_2"]["W_edge"]["kernel"].shape == (2 * 4 + 5, 9)


def test_init_is_deterministic_and_key_dependent():
    a = init_params(jax.random.PRNGKey(3), TINY, 4, 4)
    b = init_params(jax.random.PRNGKey(3), TINY, 4, 4)
    c = init_params(jax.random.PRNGKey(4), TINY, 4, 4)
    for x, y, w in zip(jax.tree.leaves(a), jax.tree.leaves(b), jax.tree.leaves(c)):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, w)


def test_every_activation_is_used(random_graph):
    graph = random_graph(6, 14, 3)
    params = init_params(jax.random.PRNGKey(0), TINY, 3, 3)
    outputs = {}
    for name in ACTIVATIONS:
        config = ModelConfig(node_dims=(8,), edge_dim=12, activation=name)
        outputs[name] = np.asarray(jit_encode(params, graph, config)[0])
        assert np.isfinite(outputs[name]).all()
    names = sorted(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not np.allclose(outputs[a], outputs[b]), (a, b)
    # gelu is the exact erf form (torch's default), not the tanh approximation.
    x = jnp.linspace(-3, 3, 7)
    np.testing.assert_allclose(ACTIVATIONS["gelu"](x), jax.nn.gelu(x, approximate=False), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown activation"):
        init_params(jax.random.PRNGKey(0), ModelConfig(activation="swish"), 3, 3)
