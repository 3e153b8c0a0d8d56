"""Upstream PyTorch state dicts: round trips, config inference, the published checkpoint, bad files."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import anomale_jax
from anomale_jax.api import load_model, save_torch_state_dict
from anomale_jax.config import ModelConfig
from anomale_jax.errors import InputError
from anomale_jax.model.dgi import init_params
from anomale_jax.model.torch_io import (
    feature_dims_of,
    model_config_from_state_dict,
    params_from_state_dict,
    params_to_state_dict,
)

DEEP = ModelConfig(node_dims=(6, 5), edge_dim=7, edge_head_uses_edge_features=True)


def _leaves_equal(a, b) -> bool:
    return jax.tree.structure(a) == jax.tree.structure(b) and all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("config", [ModelConfig(node_dims=(8,), edge_dim=12), DEEP], ids=["one-layer", "deep"])
def test_round_trip_and_config_inference(config):
    params = jax.device_get(init_params(jax.random.PRNGKey(0), config, 3, 4))
    state_dict = params_to_state_dict(params)
    prefix = f"encoder.layers.{config.num_layers - 1}"
    # torch orientation: weight [out, in] is our kernel transposed.
    np.testing.assert_array_equal(state_dict["encoder.layers.0.W_apply.weight"],
                                  params["encoder"]["layers_0"]["W_apply"]["kernel"].T)
    assert state_dict[f"{prefix}.W_edge.weight"].shape == (config.edge_dim, params["encoder"][
        f"layers_{config.num_layers - 1}"]["W_edge"]["kernel"].shape[0])
    assert all(v.dtype == np.float32 for v in state_dict.values())
    assert _leaves_equal(params_from_state_dict(state_dict), params)
    assert model_config_from_state_dict(state_dict) == config
    assert feature_dims_of(params) == (7, 4 if config is DEEP else None)


def test_dead_intermediate_edge_heads_are_ignored():
    # The notebook's SAGELayer always builds a W_edge; in a deep model only the last one is used.
    state_dict = params_to_state_dict(jax.device_get(init_params(jax.random.PRNGKey(0), DEEP, 3, 4)))
    state_dict["encoder.layers.0.W_edge.weight"] = np.zeros((7, 12), np.float32)
    state_dict["encoder.layers.0.W_edge.bias"] = np.zeros(7, np.float32)
    params = params_from_state_dict(state_dict)
    assert "W_edge" not in params["encoder"]["layers_0"]


@pytest.mark.parametrize("mutate, message", [
    (lambda sd: sd.pop("discriminator.weight"), "discriminator.weight"),
    (lambda sd: sd.pop("encoder.layers.0.W_edge.bias"), "encoder.layers.0.W_edge.bias"),
    (lambda sd: sd.__setitem__("encoder.foo", np.zeros(1)), "encoder.foo"),
    (lambda sd: sd.__setitem__("discriminator.weight", np.zeros((3, 3), np.float32)), "discriminator.weight"),
])
def test_malformed_state_dicts_raise_input_error(mutate, message):
    state_dict = params_to_state_dict(jax.device_get(init_params(jax.random.PRNGKey(0), ModelConfig(
        node_dims=(4,), edge_dim=6), 2, 2)))
    mutate(state_dict)
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        params_from_state_dict(state_dict, "x.pt")


def test_torch_file_round_trip(tmp_path):
    pytest.importorskip("torch", reason="torch is optional; the .pt round trip needs it")
    params = jax.device_get(init_params(jax.random.PRNGKey(0), DEEP, 3, 4))
    path = tmp_path / "model.pt"
    save_torch_state_dict(params, path)
    assert _leaves_equal(anomale_jax.load_torch_state_dict(path), params)
    loaded, config = load_model(path)
    assert config == DEEP and _leaves_equal(loaded, params)


def test_unreadable_torch_files_raise_input_error(tmp_path):
    pytest.importorskip("torch", reason="torch is optional")
    import torch

    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="garbage.pt"):
        anomale_jax.load_torch_state_dict(bad)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(InputError, match="not a state dict"):
        anomale_jax.load_torch_state_dict(tensor)
    with pytest.raises(InputError, match="not found"):
        anomale_jax.load_torch_state_dict(tmp_path / "missing.pt")


def test_published_checkpoint_loads(shared_data):
    pytest.importorskip("torch", reason="reading the upstream .pt needs torch")
    path = shared_data / "pretrained" / "anomale-e-cse-v2.state_dict.pt"
    params, config = load_model(path)
    assert config == ModelConfig()  # the published sizes: one layer, 128 node dims, 256 edge dims
    layer = params["encoder"]["layers_0"]
    assert layer["W_apply"]["kernel"].shape == (78, 128) and layer["W_edge"]["kernel"].shape == (256, 256)
    assert params["discriminator"]["weight"].shape == (256, 256)
    assert all(a.dtype == np.float32 and np.isfinite(a).all() for a in jax.tree.leaves(params))
    # Exporting gives the upstream file's own arrays back.
    import torch

    original = torch.load(path, weights_only=True, map_location="cpu")
    exported = params_to_state_dict(params)
    assert set(exported) == set(original)
    for key, value in original.items():
        np.testing.assert_array_equal(exported[key], value.numpy())
