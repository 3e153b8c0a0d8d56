"""Training trajectories: 100 Adam steps in each framework from the same weights with the same permutations.

Adam divides by sqrt(v): for weights whose gradient is near zero, float32 rounding of the gradient changes the
step, so float32 trajectories drift apart slowly. The float64 run shows that this drift is rounding: it shrinks
by orders of magnitude when both sides compute in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from anomale_jax.config import ModelConfig, TrainConfig
from anomale_jax.graph import pad_graph
from parity_tests.helpers import (
    assert_max_abs,
    assert_rel_elementwise,
    flat_state,
    jax_params_from_torch,
    make_torch_model,
    padded_perm,
    random_graph,
    reference_torch_or_skip,
    with_dtype,
)

rt = reference_torch_or_skip()
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402

from anomale_jax.train import step  # noqa: E402

STEPS = 100
LR = 1e-3


@pytest.fixture(scope="module")
def problem():
    """A 2,000-edge graph, its padded twin, and 100 permutations of the real edges."""
    fg = random_graph(200, 2000, seed=41)
    rng = np.random.default_rng(42)
    perms = [rng.permutation(fg.num_edges) for _ in range(STEPS)]
    return fg, pad_graph(fg), perms


def _torch_run(config, fg, perms, dtype):
    model = make_torch_model(rt, config, 39, 39, seed=43, dtype=dtype)
    init = jax_params_from_torch(model, np.float64 if dtype == torch.float64 else np.float32)
    g, nfeats, efeats = rt.torch_inputs(fg, dtype=dtype)
    _, losses = rt.train(model, g, nfeats, efeats, epochs=len(perms), lr=LR, perms=perms)
    final = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    return init, np.asarray(losses), final


def _jax_run(state, graph, perms, num_padded_edges):
    losses = []
    for perm in perms:
        state, metrics = step.train_step_with_perm(state, graph, jnp.asarray(padded_perm(perm, num_padded_edges)))
        losses.append(float(metrics["loss"]))
    return np.asarray(losses), flat_state(state.params)


@pytest.fixture(scope="module")
def torch_float32_run(problem):
    """The reference's float32 run of the published model (shared by the direct- and fast-path checks)."""
    fg, _, perms = problem
    return _torch_run(ModelConfig(), fg, perms, torch.float32)


@pytest.mark.parametrize("fast_path", [False, True], ids=["direct", "fast"])
def test_adam_trajectory_float32(problem, torch_float32_run, fast_path):
    fg, padded, perms = problem
    config = ModelConfig(fast_path=fast_path)
    init, torch_losses, torch_final = torch_float32_run
    state = step.create_train_state(init, config, TrainConfig(learning_rate=LR))
    jax_losses, jax_final = _jax_run(state, padded, perms, padded.num_edges)
    assert torch_losses[-1] < torch_losses[0] - 1e-3, "the run must actually train for the check to mean much"
    assert_rel_elementwise(jax_losses, torch_losses, 1e-4, "loss curve")
    for name, want in torch_final.items():
        assert_max_abs(jax_final[name], want, 1e-4, f"final {name}")


def test_adam_trajectory_float64(problem, x64):
    """float64 on both sides (JAX: a TrainState of float64 weights, optax Adam; torch: the reference in float64).

    The float32 run above drifts ~1e-5; agreement here is orders of magnitude tighter, so that drift is
    rounding, not a difference in the math.
    """
    fg, padded, perms = problem
    config = ModelConfig(fast_path=True)
    init, torch_losses, torch_final = _torch_run(config, fg, perms, torch.float64)
    tx = optax.adam(LR)
    state = step.TrainState(step=jnp.zeros((), jnp.int32), params=init, opt_state=tx.init(init),
                            model_config=config, tx=tx)
    jax_losses, jax_final = _jax_run(state, with_dtype(padded, np.float64), perms, padded.num_edges)
    assert all(np.asarray(v).dtype == np.float64 for v in jax_final.values())
    assert_rel_elementwise(jax_losses, torch_losses, 1e-10, "loss curve (float64)")
    for name, want in torch_final.items():
        assert_max_abs(jax_final[name], want, 1e-10, f"final {name} (float64)")


def test_two_layer_trajectory_float32(problem):
    """A non-default configuration (two layers, other widths, tanh, edge features in the head), 50 steps."""
    fg, padded, perms = problem
    config = ModelConfig(node_dims=(32, 24), edge_dim=48, activation="tanh", edge_head_uses_edge_features=True)
    init, torch_losses, torch_final = _torch_run(config, fg, perms[:50], torch.float32)
    state = step.create_train_state(init, config, TrainConfig(learning_rate=LR))
    jax_losses, jax_final = _jax_run(state, padded, perms[:50], padded.num_edges)
    assert_rel_elementwise(jax_losses, torch_losses, 1e-4, "loss curve (two layers)")
    for name, want in torch_final.items():
        assert_max_abs(jax_final[name], want, 1e-4, f"final {name} (two layers)")


def test_fit_loop_keeps_the_same_weights_as_the_reference(problem, tmp_path):
    """`anomale_jax.train.loop.fit` against `reference_torch.train`: same losses, same lowest-loss weights.

    fit draws its own initial weights and permutations from TrainConfig.seed; they are re-derived here the
    way fit derives them (split the seed's key into init/permutation keys; permutation of epoch t from
    fold_in(perm_key, t)) and handed to the reference.
    """
    from anomale_jax.config import RunConfig
    from anomale_jax.model.dgi import init_params, real_edge_permutation
    from anomale_jax.train.loop import fit
    from parity_tests.helpers import load_jax_params_into_torch

    fg, padded, _ = problem
    epochs, seed = 60, 7
    config = RunConfig(model=ModelConfig(), train=TrainConfig(epochs=epochs, seed=seed, checkpoint_every=epochs))
    result = fit(config, padded, tmp_path / "run", progress=False)

    init_key, perm_key = jax.random.split(jax.random.PRNGKey(seed))
    model = rt.make_model(ModelConfig(), 39, 39)
    load_jax_params_into_torch(init_params(init_key, ModelConfig(), 39, 39), model)
    perms = []
    for epoch in range(epochs):
        perm = np.asarray(real_edge_permutation(jax.random.fold_in(perm_key, epoch), jnp.asarray(padded.edge_mask)))
        np.testing.assert_array_equal(np.sort(perm[: fg.num_edges]), np.arange(fg.num_edges))  # real edges first
        perms.append(perm[: fg.num_edges])
    g, nfeats, efeats = rt.torch_inputs(fg)
    best_state, losses = rt.train(model, g, nfeats, efeats, epochs=epochs, lr=config.train.learning_rate, perms=perms)

    assert_rel_elementwise(result.losses, losses, 1e-4, "fit loss curve vs reference")
    assert result.best_epoch == int(np.argmin(losses)), (result.best_epoch, int(np.argmin(losses)))
    got = flat_state(result.params)
    for name, want in best_state.items():
        assert_max_abs(got[name], want.numpy(), 1e-4, f"lowest-loss {name}")
