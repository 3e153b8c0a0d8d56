"""fit(): best-loss bookkeeping, patience, files, resume after a kill or Ctrl-C, checkpoint round trips."""

from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import pytest

from anomale_jax.config import PRESETS, ModelConfig, RunConfig, TrainConfig
from anomale_jax.errors import InputError
from anomale_jax.model.dgi import real_edge_permutation
from anomale_jax.train.checkpoint import load_params, load_train_state, save_params
from anomale_jax.train.loop import fit
from anomale_jax.train.step import TRACE_COUNTS, init_train_state, loss_and_grads

TINY = RunConfig(model=ModelConfig(node_dims=(16,), edge_dim=32),
                 train=TrainConfig(epochs=8, checkpoint_every=3, seed=5))


def _leaves_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


class Killed(Exception):
    """Stands in for the process dying: fit does not catch it, so only periodic checkpoints survive."""


def _kill_at(epoch: int, exc=Killed):
    def callback(e, loss):
        if e == epoch:
            raise exc()

    return callback


@pytest.fixture(scope="module")
def full_run(synthetic_graph, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("full")
    return fit(TINY, synthetic_graph, run_dir, progress=False), run_dir


def test_fit_keeps_the_lowest_loss_parameters_and_writes_its_files(full_run, synthetic_graph):
    result, run_dir = full_run
    assert len(result.losses) == 8 and not result.stopped_early
    assert result.best_loss == result.losses.min() and result.best_epoch == int(result.losses.argmin())
    # The kept parameters are those BEFORE the best epoch's update: their loss under that epoch's
    # permutation is the recorded best loss.
    perm_key = jax.random.split(jax.random.PRNGKey(TINY.train.seed))[1]
    perm = real_edge_permutation(jax.random.fold_in(perm_key, result.best_epoch), synthetic_graph.edge_mask)
    loss, _ = loss_and_grads(result.params, jax.device_put(synthetic_graph), perm, TINY.model)
    np.testing.assert_allclose(float(loss), result.best_loss, rtol=1e-6)
    # Files: model.npz holds exactly the best params; history.json the per-epoch losses; config.json the run.
    params, config, meta = load_params(run_dir / "model.npz")
    assert config == TINY.model and _leaves_equal(params, result.params) and meta["best_epoch"] == result.best_epoch
    history = json.loads((run_dir / "history.json").read_text())
    np.testing.assert_allclose(history["loss"], result.losses)
    assert history["best_epoch"] == result.best_epoch and len(history["seconds"]) == 8
    assert json.loads((run_dir / "config.json").read_text())["train"]["epochs"] == 8
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temporary files left behind


def test_resume_after_a_kill_equals_the_uninterrupted_run(full_run, synthetic_graph, tmp_path):
    result, _ = full_run
    with pytest.raises(Killed):
        fit(TINY, synthetic_graph, tmp_path, progress=False, callback=_kill_at(6))  # 7 epochs done, saved at 6
    _, _, meta = load_params(tmp_path / "checkpoint.npz")
    assert len(meta["losses"]) == 6
    resumed = fit(TINY, synthetic_graph, tmp_path, resume=True, progress=False)
    np.testing.assert_array_equal(resumed.losses, result.losses)
    assert _leaves_equal(resumed.params, result.params) and _leaves_equal(resumed.state.params, result.state.params)
    assert resumed.best_epoch == result.best_epoch


def test_ctrl_c_saves_and_resume_continues(full_run, synthetic_graph, tmp_path):
    result, _ = full_run
    traces = TRACE_COUNTS["train_step"]
    with pytest.raises(KeyboardInterrupt):
        fit(TINY, synthetic_graph, tmp_path, progress=False, callback=_kill_at(4, KeyboardInterrupt))
    _, _, meta = load_params(tmp_path / "checkpoint.npz")
    assert len(meta["losses"]) == 5  # every finished epoch was kept
    resumed = fit(TINY, synthetic_graph, tmp_path, resume=True, progress=False)
    np.testing.assert_array_equal(resumed.losses, result.losses)
    assert _leaves_equal(resumed.state.params, result.state.params)
    assert TRACE_COUNTS["train_step"] == traces  # same graph and settings: no new compilation
    # Resuming a finished run trains no further; more epochs continue it.
    again = fit(TINY, synthetic_graph, tmp_path, resume=True, progress=False)
    assert len(again.losses) == 8
    longer = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, epochs=10))
    assert len(fit(longer, synthetic_graph, tmp_path, resume=True, progress=False).losses) == 10


def test_resume_refuses_other_settings_or_graphs(full_run, synthetic_graph):
    _, run_dir = full_run
    other_seed = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, seed=6))
    with pytest.raises(InputError, match="seed"):
        fit(other_seed, synthetic_graph, run_dir, resume=True, progress=False)
    shifted = synthetic_graph._replace(edge_features=synthetic_graph.edge_features + np.float32(0.5))
    with pytest.raises(InputError, match="different graph"):
        fit(TINY, shifted, run_dir, resume=True, progress=False)


def test_patience_stops_early(synthetic_graph, tmp_path):
    config = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, epochs=60, patience=2))
    result = fit(config, synthetic_graph, tmp_path, progress=False)
    assert result.stopped_early and len(result.losses) < 60
    # Stopped exactly when two epochs in a row failed to beat the best.
    assert result.best_epoch == len(result.losses) - 3
    assert (result.losses[-2:] >= result.best_loss).all()
    assert json.loads((tmp_path / "history.json").read_text())["stopped_early"] is True


def test_checkpoint_round_trips_and_rejects_bad_files(tmp_path):
    config = ModelConfig(node_dims=(4, 3), edge_dim=5, activation="gelu", edge_head_uses_edge_features=True)
    state = init_train_state(jax.random.PRNGKey(0), config, TrainConfig(), 2, 3)
    save_params(tmp_path / "m.npz", state.params, config, note="hello")
    params, loaded_config, meta = load_params(tmp_path / "m.npz")
    assert loaded_config == config and meta["note"] == "hello" and _leaves_equal(params, state.params)
    assert jax.tree.structure(params) == jax.tree.structure(jax.device_get(state.params))
    # A train-state checkpoint restores optimiser state and step; loading as a model gives the best params.
    from anomale_jax.train.checkpoint import save_train_state

    save_train_state(tmp_path / "c.npz", state.replace(step=np.int32(7)), state.params, losses=[1.0])
    restored, best, meta = load_train_state(tmp_path / "c.npz", state)
    assert int(restored.step) == 7 and meta["losses"] == [1.0]
    assert _leaves_equal(restored.opt_state, state.opt_state) and _leaves_equal(best, state.params)
    with pytest.raises(InputError, match="does not match"):
        load_train_state(tmp_path / "c.npz", init_train_state(jax.random.PRNGKey(0), PRESETS["tiny"].model,
                                                              TrainConfig(), 2, 3))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(InputError, match="junk.npz"):
        load_params(tmp_path / "junk.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(InputError, match="not an anomale-jax checkpoint"):
        load_params(tmp_path / "plain.npz")
    with pytest.raises(InputError, match="no such checkpoint file"):
        load_params(tmp_path / "missing.npz")
