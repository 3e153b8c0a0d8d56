"""Reading upstream-layout state dicts and building the matching reference model."""

from __future__ import annotations

import os

from anomale_jax.config import ModelConfig
from reference_torch._dgl_compat import torch
from reference_torch.model import DGI, make_model


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Reads an upstream (or our) torch state dict safely: weights only, CPU tensors."""
    return torch.load(path, weights_only=True, map_location="cpu")


def model_from_state_dict(
    state_dict: dict[str, torch.Tensor],
    node_feature_dim: int | None = None,
    activation: str = "relu",
    dtype: torch.dtype = torch.float32,
) -> DGI:
    """A DGI model whose sizes are read from a state dict in the upstream layout, with those weights loaded.

    Args:
      state_dict: `encoder.layers.{i}.W_apply.*`, `encoder.layers.{L-1}.W_edge.*`, `discriminator.weight`.
      node_feature_dim: width of the node features. With one layer the state dict only fixes
        node_feature_dim + edge_feature_dim; None assumes the published choice (node width = edge width).
      activation: not stored in a state dict; published 'relu'.
      dtype: parameter dtype.
    """
    num_layers = 1 + max(int(k.split(".")[2]) for k in state_dict if k.startswith("encoder.layers."))
    apply_w = [state_dict[f"encoder.layers.{i}.W_apply.weight"] for i in range(num_layers)]  # [out, in]
    node_dims = tuple(int(w.shape[0]) for w in apply_w)
    first_in = int(apply_w[0].shape[1])
    if num_layers > 1:
        edge_feature_dim = int(apply_w[1].shape[1]) - node_dims[0]
        node_feature_dim = first_in - edge_feature_dim
    else:
        if node_feature_dim is None:
            if first_in % 2:
                raise ValueError(f"W_apply takes {first_in} inputs; pass node_feature_dim")
            node_feature_dim = first_in // 2
        edge_feature_dim = first_in - node_feature_dim
    edge_w = state_dict[f"encoder.layers.{num_layers - 1}.W_edge.weight"]  # [edge_dim, head_in]
    head_extra = int(edge_w.shape[1]) - 2 * node_dims[-1]
    if head_extra not in (0, edge_feature_dim):
        raise ValueError(f"W_edge takes {int(edge_w.shape[1])} inputs, which fits no edge head")
    config = ModelConfig(
        node_dims=node_dims,
        edge_dim=int(edge_w.shape[0]),
        activation=activation,
        edge_head_uses_edge_features=head_extra > 0,
    )
    model = make_model(config, node_feature_dim, edge_feature_dim, dtype=dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in state_dict.items()})
    return model
