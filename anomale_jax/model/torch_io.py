"""Moving parameters between our tree and the upstream PyTorch state-dict layout (torch not required).

Upstream keys: `encoder.layers.{i}.W_apply.weight` [out, in] and `.bias`, `encoder.layers.{L-1}.W_edge.weight`
[edge_dim, 2H (+F)] and `.bias`, `discriminator.weight` [edge_dim, edge_dim]. Our kernels are the transposed
weights; the discriminator weight keeps torch's orientation (logit = z @ (W @ s)). The upstream notebook also
creates a W_edge in intermediate layers whose output is discarded; such dead weights are ignored on import.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np

from anomale_jax.config import ModelConfig
from anomale_jax.errors import InputError

Params = dict[str, Any]

_KEY = re.compile(r"^encoder\.layers\.(\d+)\.(W_apply|W_edge)\.(weight|bias)$")


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, possibly on a GPU
        value = value.detach().cpu().numpy()
    # A copy: np.asarray would alias the tensor's storage, so training the torch model afterwards would
    # silently change these parameters.
    return np.array(value, dtype=np.float32, copy=True)


def _layer_entries(state_dict: Mapping[str, Any], source: str) -> dict[int, dict[str, np.ndarray]]:
    layers: dict[int, dict[str, np.ndarray]] = {}
    for key, value in state_dict.items():
        if key == "discriminator.weight":
            continue
        match = _KEY.match(key)
        if match is None:
            raise InputError(f"{source}: unexpected state-dict key {key!r} (expected encoder.layers.<i>.W_apply/"
                             f"W_edge.weight/bias and discriminator.weight)")
        i, name, kind = int(match[1]), match[2], match[3]
        layers.setdefault(i, {})[f"{name}.{kind}"] = _to_numpy(value)
    if "discriminator.weight" not in state_dict:
        raise InputError(f"{source}: state dict has no 'discriminator.weight' key")
    if sorted(layers) != list(range(len(layers))) or not layers:
        raise InputError(f"{source}: encoder layers must be numbered 0..L-1; found {sorted(layers)}")
    last = len(layers) - 1
    for i, entries in layers.items():
        needed = ["W_apply.weight", "W_apply.bias"] + (["W_edge.weight", "W_edge.bias"] if i == last else [])
        missing = [k for k in needed if k not in entries]
        if missing:
            raise InputError(f"{source}: missing key 'encoder.layers.{i}.{missing[0]}'")
    return layers


def model_config_from_state_dict(state_dict: Mapping[str, Any], source: str = "state dict",
                                 activation: str = "relu") -> ModelConfig:
    """Infers node_dims, edge_dim and whether the edge head sees edge features (activation cannot be inferred).

    The last layer's W_edge input width is 2*H, or 2*H + F when the head also takes the edge features; F is
    known from a second layer's W_apply input (H_prev + F) or, for one layer, from the upstream convention that
    node and edge features have the same width (W_apply input 2F).
    """
    layers = _layer_entries(state_dict, source)
    node_dims = tuple(int(layers[i]["W_apply.weight"].shape[0]) for i in range(len(layers)))
    last = layers[len(layers) - 1]
    edge_dim, head_in = (int(d) for d in last["W_edge.weight"].shape)
    extra = head_in - 2 * node_dims[-1]
    if extra < 0:
        raise InputError(f"{source}: W_edge.weight has input width {head_in}, less than 2 * {node_dims[-1]}")
    if extra:
        edge_feature_dim = edge_feature_dim_of(layers)
        if edge_feature_dim is not None and extra != edge_feature_dim:
            raise InputError(f"{source}: W_edge input width {head_in} is neither 2*{node_dims[-1]} nor "
                             f"2*{node_dims[-1]} + {edge_feature_dim} edge features")
    return ModelConfig(node_dims=node_dims, edge_dim=edge_dim, activation=activation,
                       edge_head_uses_edge_features=bool(extra))


def edge_feature_dim_of(layers: Mapping[int, Mapping[str, np.ndarray]]) -> int | None:
    """F from a second layer (W_apply input = H_0 + F); None for one layer."""
    if len(layers) < 2:
        return None
    return int(layers[1]["W_apply.weight"].shape[1]) - int(layers[0]["W_apply.weight"].shape[0])


def params_from_state_dict(state_dict: Mapping[str, Any], source: str = "state dict") -> Params:
    """Our float32 parameter tree from an upstream-layout state dict (tensors or arrays)."""
    layers = _layer_entries(state_dict, source)
    last = len(layers) - 1
    encoder: Params = {}
    for i in range(len(layers)):
        entries = layers[i]
        layer = {"W_apply": {"kernel": entries["W_apply.weight"].T.copy(), "bias": entries["W_apply.bias"]}}
        if i == last:
            layer["W_edge"] = {"kernel": entries["W_edge.weight"].T.copy(), "bias": entries["W_edge.bias"]}
        encoder[f"layers_{i}"] = layer
    weight = _to_numpy(state_dict["discriminator.weight"])
    edge_dim = layers[last]["W_edge.weight"].shape[0]
    if weight.shape != (edge_dim, edge_dim):
        raise InputError(f"{source}: discriminator.weight has shape {list(weight.shape)}, expected "
                         f"[{edge_dim}, {edge_dim}]")
    return {"encoder": encoder, "discriminator": {"weight": weight}}


def params_to_state_dict(params: Params) -> dict[str, np.ndarray]:
    """The upstream-layout state dict (float32 numpy arrays, torch orientation) of our parameter tree."""
    encoder = params["encoder"]
    out: dict[str, np.ndarray] = {}
    for i in range(len(encoder)):
        layer = encoder[f"layers_{i}"]
        for name in ("W_apply", "W_edge"):
            if name in layer:
                out[f"encoder.layers.{i}.{name}.weight"] = np.ascontiguousarray(np.asarray(layer[name]["kernel"],
                                                                                           np.float32).T)
                out[f"encoder.layers.{i}.{name}.bias"] = np.asarray(layer[name]["bias"], np.float32)
    out["discriminator.weight"] = np.asarray(params["discriminator"]["weight"], np.float32)
    return out


def model_config_from_params(params: Params, activation: str = "relu") -> ModelConfig:
    """ModelConfig implied by a parameter tree (activation and fast_path cannot be read from weights)."""
    return model_config_from_state_dict(params_to_state_dict(params), "parameters", activation=activation)


def feature_dims_of(params: Params) -> tuple[int, int | None]:
    """(input width of the first layer = Fn + F, F when the weights determine it, else None)."""
    sd = params_to_state_dict(params)
    layers = _layer_entries(sd, "parameters")
    in0 = int(layers[0]["W_apply.weight"].shape[1])
    f = edge_feature_dim_of(layers)
    last = layers[len(layers) - 1]
    extra = int(last["W_edge.weight"].shape[1]) - 2 * int(last["W_apply.weight"].shape[0])
    if f is None and extra > 0:
        f = extra
    return in0, f
