"""E-GraphSAGE encoder (ANOMALE.md step 9): Flax modules hold the parameters, pure functions do the graph work.

One layer computes, for every node v,
    h_neigh[v] = mean of the ORIGINAL edge features over real edges arriving at v (zeros without in-edges)
    h_v        = act(W_apply [x_v || h_neigh[v]])
and node embeddings flow from layer to layer. Only the last layer has the edge head
    z_uv = W_edge [h_u || h_v]            (or [h_u || h_v || e_uv] with `edge_head_uses_edge_features`).

Because every layer aggregates the same edge features, the neighbourhood mean is computed once per encoder
call (`mean_incoming`) and shared by all layers. Parameter tree (the contract with the torch port):

    {"layers_0": {"W_apply": {"kernel": [in_0, node_dims[0]], "bias": [node_dims[0]]}}, ...,
     "layers_{L-1}": {"W_apply": {...}, "W_edge": {"kernel": [2*node_dims[-1] (+F), edge_dim], "bias": [...]}}}

Kernels are [in, out], i.e. torch's Linear weight transposed.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from anomale_jax.config import ModelConfig

Params = dict[str, Any]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    # torch's F.gelu default is the exact erf form; jax's default is the tanh approximation.
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "tanh": jnp.tanh,
    "identity": lambda x: x,
}


def activation_fn(name: str) -> Callable[[jax.Array], jax.Array]:
    """The nonlinearity called `name` (one of ACTIVATIONS)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}") from None


def _uniform(bound: float):
    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def linear_bounds(fan_in: int, fan_out: int, xavier_gain: float | None = None) -> tuple[float, float]:
    """(kernel, bias) half-widths of the uniform initialisers of a torch.nn.Linear(fan_in, fan_out).

    torch's default (kaiming_uniform with a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight and
    the bias alike; `xavier_gain` switches the weight to xavier_uniform with that gain.
    """
    default = 1.0 / math.sqrt(fan_in)
    if xavier_gain is None:
        return default, default
    return xavier_gain * math.sqrt(6.0 / (fan_in + fan_out)), default


class TorchLinear(nn.Module):
    """`y = x @ kernel + bias` (kernel [in, out]) with torch.nn.Linear's initialisers (see `linear_bounds`)."""

    features: int
    xavier_gain: float | None = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:  # [..., in] -> [..., features]
        fan_in = x.shape[-1]
        kernel_bound, bias_bound = linear_bounds(fan_in, self.features, self.xavier_gain)
        kernel = self.param("kernel", _uniform(kernel_bound), (fan_in, self.features), jnp.float32)
        bias = self.param("bias", _uniform(bias_bound), (self.features,), jnp.float32)
        return x @ kernel + bias


# W_apply's weight is xavier_uniform with ReLU gain in the published model; every other Linear uses torch's default.
XAVIER_GAINS: dict[str, float | None] = {"W_apply": math.sqrt(2.0), "W_edge": None}


def mean_incoming(
    edge_features: jax.Array,  # [E, F]
    receivers: jax.Array,  # [E] int32
    edge_mask: jax.Array,  # [E] bool
    num_nodes: int,
) -> jax.Array:  # [N, F]
    """Mean of the features of real edges arriving at each node; zeros for nodes without real in-edges."""
    weight = edge_mask.astype(edge_features.dtype)
    total = jax.ops.segment_sum(edge_features * weight[:, None], receivers, num_segments=num_nodes)
    count = jax.ops.segment_sum(weight, receivers, num_segments=num_nodes)
    return total / jnp.maximum(count, 1.0)[:, None]


class EGraphSAGELayer(nn.Module):
    """One E-GraphSAGE layer; `edge_dim` > 0 gives it the edge head (only the last layer has one)."""

    node_dim: int
    edge_dim: int = 0
    activation: str = "relu"

    def setup(self):
        self.W_apply = TorchLinear(self.node_dim, xavier_gain=XAVIER_GAINS["W_apply"])
        if self.edge_dim:
            self.W_edge = TorchLinear(self.edge_dim, xavier_gain=XAVIER_GAINS["W_edge"])

    def nodes(self, node_h: jax.Array, neigh: jax.Array) -> jax.Array:  # [N, Fh], [N, F] -> [N, node_dim]
        """act(W_apply [h_v || h_neigh[v]])."""
        return activation_fn(self.activation)(self.W_apply(jnp.concatenate([node_h, neigh], axis=-1)))

    def edges(self, head_in: jax.Array) -> jax.Array:  # [E, 2H (+F)] -> [E, edge_dim]
        """W_edge applied to the concatenated endpoint embeddings (and edge features)."""
        return self.W_edge(head_in)

    def __call__(self, node_h: jax.Array, neigh: jax.Array, head_in: jax.Array | None = None):
        # Only used by `init`, to touch every parameter once.
        h = self.nodes(node_h, neigh)
        return h if head_in is None else (h, self.edges(head_in))


def _layers(config: ModelConfig) -> list[EGraphSAGELayer]:
    last = config.num_layers - 1
    return [
        EGraphSAGELayer(node_dim=d, edge_dim=config.edge_dim if i == last else 0, activation=config.activation)
        for i, d in enumerate(config.node_dims)
    ]


def _plain(tree):
    """Nested mappings (Flax may return FrozenDicts) as plain dicts."""
    if hasattr(tree, "items"):
        return {k: _plain(v) for k, v in tree.items()}
    return tree


def _check_config(config: ModelConfig) -> None:
    if not config.node_dims or any(int(d) <= 0 for d in config.node_dims) or config.edge_dim <= 0:
        raise ValueError(f"node_dims must be non-empty positive widths and edge_dim > 0; got {config}")
    activation_fn(config.activation)


def init_encoder(key: jax.Array, config: ModelConfig, node_feature_dim: int, edge_feature_dim: int) -> Params:
    """Encoder parameters through Flax's `init` (one random draw per leaf).

    `anomale_jax.model.dgi.init_params` draws the same distributions in a single call, which compiles far
    less on CPU; this function defines the parameter tree (it is evaluated abstractly there).
    """
    _check_config(config)
    params: Params = {}
    keys = jax.random.split(key, config.num_layers)
    in_dim = node_feature_dim
    for i, layer in enumerate(_layers(config)):
        node_h = jnp.zeros((1, in_dim), jnp.float32)
        neigh = jnp.zeros((1, edge_feature_dim), jnp.float32)
        head_in = None
        if layer.edge_dim:
            head_width = 2 * layer.node_dim + (edge_feature_dim if config.edge_head_uses_edge_features else 0)
            head_in = jnp.zeros((1, head_width), jnp.float32)
        params[f"layers_{i}"] = _plain(layer.init(keys[i], node_h, neigh, head_in)["params"])
        in_dim = layer.node_dim
    return params


def node_embeddings(
    encoder_params: Params,
    node_features: jax.Array,  # [N, Fn]
    neigh: jax.Array,  # [N, F], the output of `mean_incoming`
    config: ModelConfig,
) -> jax.Array:  # [N, node_dims[-1]]
    """Runs the node updates of every layer, each on the same neighbourhood mean of edge features."""
    h = node_features
    for i, layer in enumerate(_layers(config)):
        h = layer.apply({"params": encoder_params[f"layers_{i}"]}, h, neigh, method=EGraphSAGELayer.nodes)
    return h


def edge_head_input(
    node_h: jax.Array,  # [N, H]
    senders: jax.Array,  # [E]
    receivers: jax.Array,  # [E]
    edge_features: jax.Array,  # [E, F]
    config: ModelConfig,
) -> jax.Array:  # [E, 2H (+F)]
    """[h_u || h_v] per edge, with the edge's own features appended when the config asks for them."""
    parts = [node_h[senders], node_h[receivers]]
    if config.edge_head_uses_edge_features:
        parts.append(edge_features)
    return jnp.concatenate(parts, axis=-1)


def edge_embeddings(
    encoder_params: Params,
    node_h: jax.Array,  # [N, H]
    senders: jax.Array,  # [E]
    receivers: jax.Array,  # [E]
    edge_features: jax.Array,  # [E, F]
    config: ModelConfig,
) -> jax.Array:  # [E, edge_dim]
    """The last layer's edge head z_uv = W_edge [h_u || h_v (|| e_uv)]."""
    last = _layers(config)[-1]
    head_in = edge_head_input(node_h, senders, receivers, edge_features, config)
    return last.apply({"params": encoder_params[f"layers_{config.num_layers - 1}"]}, head_in,
                      method=EGraphSAGELayer.edges)


def as_float(x) -> jax.Array:
    """Features as a jax array: floating dtypes kept (float32 in training, float64 in parity checks), others
    cast to float32."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def encode(params: Params, graph, config: ModelConfig, edge_features: jax.Array | None = None):
    """The full encoder on a FlowGraph.

    Args:
      params: the model tree ({"encoder": ..., "discriminator": ...}) or just its "encoder" subtree.
      graph: a FlowGraph (numpy or jax arrays; padded edges are masked out of every mean).
      config: the model configuration.
      edge_features: [E, F] features to use instead of graph.edge_features (e.g. DGI's corrupted ones); they
        feed both the neighbourhood means and, if configured, the edge head.

    Returns:
      (node_emb [N, node_dims[-1]], edge_emb [E, edge_dim]); rows of padding nodes/edges are meaningless.
    """
    encoder_params = params.get("encoder", params)
    e = graph.edge_features if edge_features is None else edge_features
    e = as_float(e)
    neigh = mean_incoming(e, graph.receivers, graph.edge_mask, graph.node_features.shape[0])
    h = node_embeddings(encoder_params, as_float(graph.node_features), neigh, config)
    z = edge_embeddings(encoder_params, h, graph.senders, graph.receivers, e, config)
    return h, z
