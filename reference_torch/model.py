"""The published Anomal-E model (E-GraphSAGE encoder + Deep Graph Infomax) in PyTorch + DGL.

Structure and parameter names follow the authors' notebook, so their state dicts load with
`load_state_dict` unchanged:

    encoder.layers.{i}.W_apply.{weight,bias}    Linear(node_in_i + edge_feature_dim -> node_dims[i])
    encoder.layers.{L-1}.W_edge.{weight,bias}   Linear(2 * node_dims[-1] -> edge_dim), last layer only
    discriminator.weight                        [edge_dim, edge_dim]

Differences from the notebook, none of which changes the math of the published configuration:
- sizes come from a `ModelConfig` (the notebook hard-codes Linear(128 * 2, 256));
- the corruption permutation can be passed in (`perm`); by default it is still `torch.randperm`;
- the notebook's dummy middle axis ([N, 1, F] features, summed away at the end) is left out: every
  operation acts on the last axis, so dropping a size-1 axis changes no value;
- with more than one layer, every layer aggregates the ORIGINAL edge features (as E-GraphSAGE does) and
  only the last layer has the edge head W_edge.
"""

from __future__ import annotations

import math

import numpy as np

from anomale_jax.config import ModelConfig
from reference_torch._dgl_compat import dgl, fn, torch

nn = torch.nn
F = torch.nn.functional

_ACTIVATIONS = {
    "relu": F.relu,
    "elu": F.elu,
    "gelu": F.gelu,  # exact (erf) form, torch's default
    "tanh": torch.tanh,
    "identity": lambda x: x,
}


def activation_fn(name: str):
    """The torch function for a `ModelConfig.activation` name."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


class SAGELayer(nn.Module):
    """One E-GraphSAGE layer: mean of incoming edge features, then W_apply; the last layer adds W_edge."""

    def __init__(
        self,
        ndim_in: int,
        edims: int,
        ndim_out: int,
        activation: str = "relu",
        edge_out: int | None = None,
        edge_head_uses_edge_features: bool = False,
    ):
        """
        Args:
          ndim_in: width of the node input x_v.
          edims: width of the edge features h_uv that are averaged.
          ndim_out: width of the node output.
          activation: name of the nonlinearity after W_apply.
          edge_out: width of the edge embedding; None for a layer without an edge head.
          edge_head_uses_edge_features: the edge head also sees the edge's own features.
        """
        super().__init__()
        self.W_apply = nn.Linear(ndim_in + edims, ndim_out)
        self.activation = activation_fn(activation)
        self.edge_head_uses_edge_features = edge_head_uses_edge_features
        if edge_out is not None:
            head_in = 2 * ndim_out + (edims if edge_head_uses_edge_features else 0)
            self.W_edge = nn.Linear(head_in, edge_out)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # As published: xavier_uniform with the ReLU gain on W_apply's weight; torch defaults elsewhere.
        nn.init.xavier_uniform_(self.W_apply.weight, gain=nn.init.calculate_gain("relu"))

    @property
    def has_edge_head(self) -> bool:
        return hasattr(self, "W_edge")

    def forward(self, g: dgl.DGLGraph, nfeats: torch.Tensor, efeats: torch.Tensor):
        """
        Args:
          g: graph with N nodes and E edges.
          nfeats: [N, ndim_in] node inputs.
          efeats: [E, edims] edge features.
        Returns:
          (h [N, ndim_out], z [E, edge_out] or None).
        """
        with g.local_scope():
            # h_neigh[v] = mean of h_uv over the edges arriving at v (zeros without in-edges).
            g.edata["h"] = efeats
            g.update_all(fn.copy_e("h", "m"), fn.mean("m", "h_neigh"))
            h = self.activation(self.W_apply(torch.cat([nfeats, g.ndata["h_neigh"]], dim=-1)))  # [N, out]
        if not self.has_edge_head:
            return h, None
        # z_uv = W_edge [h_u || h_v (|| h_uv)], in the graph's edge order.
        u, v = g.edges()
        parts = [h[u], h[v]] + ([efeats] if self.edge_head_uses_edge_features else [])
        return h, self.W_edge(torch.cat(parts, dim=-1))  # [E, edge_out]


class SAGE(nn.Module):
    """The E-GraphSAGE encoder: a stack of SAGELayers, each averaging the original edge features."""

    def __init__(self, config: ModelConfig, node_feature_dim: int, edge_feature_dim: int):
        super().__init__()
        self.layers = nn.ModuleList()
        widths = (node_feature_dim,) + tuple(config.node_dims)
        for i in range(config.num_layers):
            last = i == config.num_layers - 1
            self.layers.append(
                SAGELayer(
                    widths[i],
                    edge_feature_dim,
                    widths[i + 1],
                    config.activation,
                    edge_out=config.edge_dim if last else None,
                    edge_head_uses_edge_features=config.edge_head_uses_edge_features,
                )
            )

    def forward(self, g: dgl.DGLGraph, nfeats: torch.Tensor, efeats: torch.Tensor):
        """
        Args:
          g: graph with N nodes and E edges.
          nfeats: [N, Fn] node features (all ones in the published model).
          efeats: [E, F] edge features.
        Returns:
          (node embeddings [N, node_dims[-1]], edge embeddings [E, edge_dim]).
        """
        h, z = nfeats, None
        for layer in self.layers:
            h, z = layer(g, h, efeats)
        return h, z


class Discriminator(nn.Module):
    """Bilinear DGI discriminator: logit_e = z_e^T W s."""

    def __init__(self, n_hidden: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_hidden, n_hidden))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.size(0))
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, features: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        """features [E, D], summary [D] -> logits [E]."""
        return torch.matmul(features, torch.matmul(self.weight, summary))


class DGI(nn.Module):
    """Deep Graph Infomax over edge embeddings; `forward` returns the loss."""

    def __init__(self, config: ModelConfig, node_feature_dim: int, edge_feature_dim: int):
        super().__init__()
        self.config = config
        self.encoder = SAGE(config, node_feature_dim, edge_feature_dim)
        self.discriminator = Discriminator(config.edge_dim)
        self.loss = nn.BCEWithLogitsLoss()  # mean over edges, as published

    def forward(
        self,
        g: dgl.DGLGraph,
        n_features: torch.Tensor,
        e_features: torch.Tensor,
        perm: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """
        Args:
          g: graph with N nodes and E edges.
          n_features: [N, Fn] node features.
          e_features: [E, F] edge features.
          perm: [E] permutation of the edges for the corrupted graph (tensor or array of ints);
            default `torch.randperm(E)`.
        Returns:
          the scalar DGI loss BCE(pos, 1) + BCE(neg, 0).
        """
        if perm is None:
            perm = torch.randperm(g.num_edges())
        if not isinstance(perm, torch.Tensor):
            perm = torch.from_numpy(np.array(perm, dtype=np.int64))  # a copy: jax arrays are read-only
        perm = perm.to(torch.long)
        _, positive = self.encoder(g, n_features, e_features)  # [E, D]
        # Corruption: edge features shuffled over the edges, node features unchanged.
        _, negative = self.encoder(g, n_features, e_features[perm])  # [E, D]
        summary = torch.sigmoid(positive.mean(dim=0))  # [D]
        pos_logits = self.discriminator(positive, summary)  # [E]
        neg_logits = self.discriminator(negative, summary)  # [E]
        return self.loss(pos_logits, torch.ones_like(pos_logits)) + self.loss(
            neg_logits, torch.zeros_like(neg_logits)
        )


def make_model(
    config: ModelConfig, node_feature_dim: int, edge_feature_dim: int, dtype: torch.dtype = torch.float32
) -> DGI:
    """A freshly initialised DGI model with the published structure and names, sized by `config`.

    Args:
      config: layer widths, edge width, activation, edge-head inputs. `config.fast_path` is a JAX-side
        option and does not change this model.
      node_feature_dim: width of the node features (39 in the published model: all ones).
      edge_feature_dim: width of the edge features (39 in the published model).
      dtype: parameter dtype (torch.float32 or torch.float64).
    """
    if config.num_layers < 1:
        raise ValueError("ModelConfig.node_dims needs at least one layer")
    return DGI(config, node_feature_dim, edge_feature_dim).to(dtype)
