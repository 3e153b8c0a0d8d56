"""The jitted train_step: learning, determinism, no recompilation, explicit permutations, Adam settings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from anomale_jax.config import ModelConfig, TrainConfig
from anomale_jax.graph import pad_graph
from anomale_jax.model.dgi import real_edge_permutation
from anomale_jax.train.embedding import embed_graph
from anomale_jax.train.step import TRACE_COUNTS, init_train_state, train_step, train_step_with_perm

PUBLISHED = ModelConfig()  # one layer, 128 node dims, 256 edge dims, ReLU, fast path


def _run(graph, config, train_config=TrainConfig(), seed=0, steps=5):
    """(final state, losses) of `steps` train_steps with epoch keys fold_in(PRNGKey(seed + 1), t)."""
    widths = graph.node_features.shape[1], graph.edge_features.shape[1]
    state = init_train_state(jax.random.PRNGKey(seed), config, train_config, *widths)
    device_graph = jax.device_put(graph)
    losses = []
    for t in range(steps):
        state, metrics = train_step(state, device_graph, jax.random.fold_in(jax.random.PRNGKey(seed + 1), t))
        losses.append(float(metrics["loss"]))
    return state, np.array(losses)


def test_loss_decreases_on_the_synthetic_default(synthetic_graph):
    state, losses = _run(synthetic_graph, PUBLISHED, steps=40)
    assert np.isfinite(losses).all() and int(state.step) == 40
    assert losses[-5:].mean() < 0.8 * losses[0], losses
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(state.params))


def test_same_seed_gives_identical_parameters(synthetic_graph):
    a, losses_a = _run(synthetic_graph, PUBLISHED, seed=3)
    b, losses_b = _run(synthetic_graph, PUBLISHED, seed=3)
    c, _ = _run(synthetic_graph, PUBLISHED, seed=4)
    np.testing.assert_array_equal(losses_a, losses_b)
    for x, y, z in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), jax.tree.leaves(c.params)):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


def test_no_recompilation_across_epochs_or_runs(synthetic_graph):
    config = ModelConfig(node_dims=(11,), edge_dim=13)  # a size no other test compiles
    before = TRACE_COUNTS["train_step"]
    _run(synthetic_graph, config, steps=6)
    assert TRACE_COUNTS["train_step"] == before + 1
    _run(synthetic_graph, config, seed=1, steps=3)  # a new run with the same settings reuses the compilation
    assert TRACE_COUNTS["train_step"] == before + 1


def test_explicit_permutation_variant_and_adam_step(synthetic_graph):
    widths = synthetic_graph.node_features.shape[1], synthetic_graph.edge_features.shape[1]
    state = init_train_state(jax.random.PRNGKey(0), PUBLISHED, TrainConfig(), *widths)
    graph = jax.device_put(synthetic_graph)
    key = jax.random.PRNGKey(9)
    by_key, m_key = train_step(state, graph, key)
    by_perm, m_perm = train_step_with_perm(state, graph, real_edge_permutation(key, graph.edge_mask))
    assert float(m_key["loss"]) == float(m_perm["loss"])
    for x, y in zip(jax.tree.leaves(by_key.params), jax.tree.leaves(by_perm.params)):
        np.testing.assert_array_equal(x, y)
    # Adam's first step moves every parameter by lr * |g| / (|g| + eps) <= lr = 1e-3: about lr where |g| >> eps.
    delta = np.abs(np.concatenate([np.ravel(np.asarray(x) - np.asarray(y))
                                   for x, y in zip(jax.tree.leaves(by_perm.params), jax.tree.leaves(state.params))]))
    assert delta.max() <= 1e-3 * 1.001
    assert (np.abs(delta - 1e-3) < 5e-5).mean() > 0.8


def test_weight_decay_is_decoupled(synthetic_graph):
    widths = synthetic_graph.node_features.shape[1], synthetic_graph.edge_features.shape[1]
    graph = jax.device_put(synthetic_graph)
    perm = jnp.arange(synthetic_graph.num_edges, dtype=jnp.int32)[::-1]
    plain = init_train_state(jax.random.PRNGKey(0), PUBLISHED, TrainConfig(), *widths)
    decayed = init_train_state(jax.random.PRNGKey(0), PUBLISHED, TrainConfig(weight_decay=0.5), *widths)
    after_plain, _ = train_step_with_perm(plain, graph, perm)
    after_decayed, _ = train_step_with_perm(decayed, graph, perm)
    # AdamW: the decayed update = the Adam update - lr * wd * theta.
    for p0, a, b in zip(jax.tree.leaves(plain.params), jax.tree.leaves(after_plain.params),
                        jax.tree.leaves(after_decayed.params)):
        np.testing.assert_allclose(np.asarray(b) - np.asarray(a), -1e-3 * 0.5 * np.asarray(p0), atol=1e-7)


def test_embedding_new_graph_sizes_reuses_bucket_compilations(synthetic_graph):
    config = ModelConfig(node_dims=(9,), edge_dim=10)  # a size no other test compiles
    widths = synthetic_graph.node_features.shape[1], synthetic_graph.edge_features.shape[1]
    params = init_train_state(jax.random.PRNGKey(0), config, TrainConfig(), *widths).params
    full = embed_graph(params, synthetic_graph, config)
    before = TRACE_COUNTS["embed"]
    # Two sub-graphs of different sizes that pad to the same buckets: one compilation between them.
    sizes = []
    for keep in (1100, 1150):
        sub = synthetic_graph._replace(
            edge_features=synthetic_graph.edge_features[:keep], senders=synthetic_graph.senders[:keep],
            receivers=synthetic_graph.receivers[:keep], edge_flow=synthetic_graph.edge_flow[:keep],
            edge_mask=synthetic_graph.edge_mask[:keep])
        sizes.append((pad_graph(sub).num_nodes, pad_graph(sub).num_edges))
        z = embed_graph(params, sub, config)
        assert z.shape == (keep, 10) and z.dtype == np.float32 and np.isfinite(z).all()
    assert sizes[0] == sizes[1]
    assert TRACE_COUNTS["embed"] == before + 1
    assert full.shape == (synthetic_graph.num_real_edges, 10)
