"""DGI objective: the loss against numpy, fast path == direct path (loss and gradients), permutations, padding."""

from __future__ import annotations

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from anomale_jax.config import ModelConfig
from anomale_jax.graph import pad_graph
from anomale_jax.model.dgi import (
    corrupt,
    dgi_loss,
    dgi_loss_direct,
    dgi_logits_direct,
    dgi_logits_fast,
    dgi_loss_fast,
    init_params,
    permutation_by_sort,
    permutation_on_host,
    readout,
    real_edge_permutation,
)
from anomale_jax.model.egraphsage import encode
from anomale_jax.train.step import loss_and_grads

# Every test uses the same two graph shapes (12 nodes / 48 edges, and that padded to 16 / 64) and the same
# configs, so the jitted functions compile once per (shape, config) for the whole module.
jit_loss = jax.jit(dgi_loss, static_argnums=3)
N, E, F = 12, 48, 4

CONFIGS = {
    "published-shape": ModelConfig(node_dims=(8,), edge_dim=12),
    # Every non-default option at once: depth, widths, activation, edge features in the head.
    "two-layers-elu-edge-features": ModelConfig(node_dims=(8, 6), edge_dim=10, activation="elu",
                                                edge_head_uses_edge_features=True),
}


def numpy_dgi_loss(params, graph, perm, config, numpy_encode):
    """ANOMALE.md step 10 in float64 numpy, from the loop-based encoder."""
    _, z_pos = numpy_encode(params, graph, config)
    _, z_neg = numpy_encode(params, graph._replace(edge_features=graph.edge_features[perm]), config)
    summary = 1 / (1 + np.exp(-z_pos.mean(0)))
    w = np.asarray(params["discriminator"]["weight"], np.float64)
    pos, neg = z_pos @ (w @ summary), z_neg @ (w @ summary)
    return np.mean(np.log1p(np.exp(-pos))) + np.mean(np.log1p(np.exp(neg)))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_loss_matches_numpy_in_both_forms(name, random_graph, numpy_encode):
    config = CONFIGS[name]
    graph = random_graph(N, E, F)
    params = init_params(jax.random.PRNGKey(0), config, F, F)
    perm = np.random.default_rng(1).permutation(E).astype(np.int32)
    expected = numpy_dgi_loss(params, graph, perm, config, numpy_encode)
    for fast in (False, True):
        loss = jit_loss(params, graph, perm, dataclasses.replace(config, fast_path=fast))
        assert loss.dtype == jnp.float32
        np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def _fast_vs_direct_case(name, random_graph):
    """(config, padded graph, params, perm) shared by the fast-vs-direct comparisons.

    Padded, with self-loops and parallel edges likely among 60 edges over 9 nodes.
    """
    config = CONFIGS[name]
    graph = pad_graph(random_graph(N, E, F, seed=3), num_nodes=16, num_edges=64)
    params = init_params(jax.random.PRNGKey(5), config, F, F)
    perm = real_edge_permutation(jax.random.PRNGKey(6), jnp.asarray(graph.edge_mask))
    return config, graph, params, perm


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fast_path_equals_direct_path_loss_and_grads(name, random_graph):
    config, graph, params, perm = _fast_vs_direct_case(name, random_graph)
    loss_d, grads_d = loss_and_grads(params, graph, perm, dataclasses.replace(config, fast_path=False))
    loss_f, grads_f = loss_and_grads(params, graph, perm, dataclasses.replace(config, fast_path=True))
    np.testing.assert_allclose(loss_f, loss_d, rtol=1e-6)
    for (path, gd), gf in zip(jax.tree_util.tree_flatten_with_path(grads_d)[0], jax.tree.leaves(grads_f)):
        assert np.abs(np.asarray(gd)).max() > 0, path  # every parameter gets a gradient
        np.testing.assert_allclose(gf, gd, rtol=1e-4, atol=1e-6, err_msg=str(path))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fast_path_equals_direct_path_per_edge(name, random_graph):
    # Not only the loss: the summary and every edge's positive and negative logit agree.
    config, graph, params, perm = _fast_vs_direct_case(name, random_graph)
    fast = jax.jit(dgi_logits_fast, static_argnums=3)(params, graph, perm, config)
    direct = jax.jit(dgi_logits_direct, static_argnums=3)(params, graph, perm, config)
    np.testing.assert_allclose(fast[0], direct[0], rtol=1e-6, err_msg="summary")
    for a, b, what in zip(fast[1:], direct[1:], ("positive logits", "negative logits")):
        assert a.shape == b.shape == (64,)
        np.testing.assert_allclose(np.asarray(a)[:E], np.asarray(b)[:E], rtol=1e-5, atol=1e-6, err_msg=what)


def _intermediate_shapes(jaxpr) -> set[tuple[int, ...]]:
    """Shapes of every value a jaxpr (and its sub-jaxprs) computes."""
    shapes = set()
    for eqn in jaxpr.eqns:
        shapes.update(tuple(v.aval.shape) for v in eqn.outvars)
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    shapes |= _intermediate_shapes(inner)
    return shapes


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fast_path_never_forms_the_edge_embedding_matrix(name, random_graph):
    # The training step (loss and gradients) of the fast form holds no [E, edge_dim] array; the direct one does.
    config = CONFIGS[name]
    graph = random_graph(N, E, F)
    params = init_params(jax.random.PRNGKey(0), config, F, F)
    perm = jnp.arange(E, dtype=jnp.int32)
    step = jax.value_and_grad(dgi_loss)
    fast = _intermediate_shapes(jax.make_jaxpr(step, static_argnums=3)(params, graph, perm, config).jaxpr)
    direct_config = dataclasses.replace(config, fast_path=False)
    direct = _intermediate_shapes(jax.make_jaxpr(step, static_argnums=3)(params, graph, perm, direct_config).jaxpr)
    assert (E, config.edge_dim) in direct
    assert (E, config.edge_dim) not in fast and (E, 2 * config.node_dims[-1]) not in fast
    # dgi_loss dispatches to the two forms.
    assert jax.make_jaxpr(dgi_loss_fast, static_argnums=3)(params, graph, perm, config).eqns.__len__() == \
        jax.make_jaxpr(dgi_loss, static_argnums=3)(params, graph, perm, config).eqns.__len__()
    assert len(jax.make_jaxpr(dgi_loss_direct, static_argnums=3)(params, graph, perm, direct_config).eqns) == \
        len(jax.make_jaxpr(dgi_loss, static_argnums=3)(params, graph, perm, direct_config).eqns)


def test_padding_leaves_the_loss_unchanged(random_graph):
    config = CONFIGS["two-layers-elu-edge-features"]
    graph = random_graph(N, E, F, seed=7)
    padded = pad_graph(graph, num_nodes=16, num_edges=64)
    params = init_params(jax.random.PRNGKey(2), config, F, F)
    perm = np.random.default_rng(0).permutation(E).astype(np.int32)
    perm_padded = np.concatenate([perm, np.arange(E, 64, dtype=np.int32)])
    for fast in (False, True):
        cfg = dataclasses.replace(config, fast_path=fast)
        np.testing.assert_allclose(jit_loss(params, padded, perm_padded, cfg), jit_loss(params, graph, perm, cfg),
                                   rtol=1e-6)


def test_identity_permutation_gives_the_symmetric_loss(random_graph):
    # With no corruption, positives and negatives coincide: loss = mean(softplus(-l) + softplus(l)) >= 2 ln 2.
    config = CONFIGS["published-shape"]
    graph = random_graph(N, E, F)
    params = init_params(jax.random.PRNGKey(0), config, F, F)
    loss = jit_loss(params, graph, jnp.arange(E, dtype=jnp.int32), config)
    z = jax.jit(encode, static_argnums=2)(params, graph, config)[1]
    logits = np.asarray(z @ (params["discriminator"]["weight"] @ readout(z, jnp.ones(E, bool))), np.float64)
    np.testing.assert_allclose(float(loss), np.mean(np.logaddexp(0, -logits) + np.logaddexp(0, logits)), rtol=1e-5)
    assert float(loss) > 2 * np.log(2)


def test_readout_and_corrupt():
    z = jnp.array([[0.0, 2.0], [2.0, -2.0], [100.0, 100.0]])
    np.testing.assert_allclose(readout(z, jnp.array([True, True, False])), jax.nn.sigmoid(jnp.array([1.0, 0.0])))
    e = jnp.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(corrupt(e, jnp.array([2, 0, 1])), [[4, 5], [0, 1], [2, 3]])


@pytest.mark.parametrize("draw", [permutation_by_sort, permutation_on_host], ids=["sort", "host"])
def test_permutations_keep_padding_and_are_uniform(draw):
    mask = jnp.array([True] * 4 + [False] * 3)
    perm = np.asarray(jax.jit(draw)(jax.random.PRNGKey(0), mask))
    assert sorted(perm[:4]) == [0, 1, 2, 3] and list(perm[4:]) == [4, 5, 6]
    assert perm.dtype == np.int32
    # 4! orders of the real edges, 2400 draws: each close to 100.
    keys = jax.random.split(jax.random.PRNGKey(1), 2400)
    perms = np.asarray(jax.jit(jax.vmap(draw, in_axes=(0, None)))(keys, mask))
    assert (perms[:, 4:] == [4, 5, 6]).all()
    counts = {p: 0 for p in itertools.permutations(range(4))}
    for row in perms[:, :4]:
        counts[tuple(row)] += 1
    assert len(counts) == 24 and min(counts.values()) > 55 and max(counts.values()) < 145
    # Deterministic in the key; different keys, different permutations of a larger graph.
    big = jnp.ones(1000, bool)
    a, b, a2 = (np.asarray(draw(jax.random.PRNGKey(k), big)) for k in (2, 3, 2))
    assert sorted(a) == list(range(1000)) and (a != b).mean() > 0.9 and np.array_equal(a, a2)


def test_train_step_permutation_is_chosen_by_backend():
    mask = jnp.array([True] * 50 + [False] * 14)
    key = jax.random.PRNGKey(7)
    expected = permutation_on_host if jax.default_backend() == "cpu" else permutation_by_sort
    np.testing.assert_array_equal(real_edge_permutation(key, mask), expected(key, mask))


def test_one_edge_graph_trains_to_a_finite_loss():
    from anomale_jax.graph import make_graph

    config = CONFIGS["published-shape"]
    graph = make_graph([0], [1], np.full((1, F), 0.5, np.float32), num_nodes=2)
    params = init_params(jax.random.PRNGKey(0), config, F, F)
    loss, grads = loss_and_grads(params, graph, jnp.zeros(1, jnp.int32), config)
    assert np.isfinite(float(loss)) and all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads))
