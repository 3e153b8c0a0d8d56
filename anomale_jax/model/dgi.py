"""Deep Graph Infomax over edge embeddings (ANOMALE.md step 10): corruption, readout, discriminator, loss.

positive z = encoder(graph, e), negative z~ = encoder(graph, e[perm]) (node features unchanged),
summary s = sigmoid(mean of positive z over real edges), logit = z @ (W s) with W: [edge_dim, edge_dim] in
torch's orientation, loss = BCE-with-logits(pos, 1) + BCE-with-logits(neg, 0), each a mean over real edges.

Two forms of the same loss:
- `dgi_loss_direct`: the literal computation, materialising both [E, edge_dim] embedding matrices.
- `dgi_loss_fast`: the edge head is linear, z_e = (h W1)[u] + (h W2)[v] (+ e W3) + b, so
      mean(z) = (c_out @ h) W1 / E + (c_in @ h) W2 / E (+ mean(e) W3) + b    (c_out/c_in: real out/in-degrees)
      z_e . w = (h W1 w)[u] + (h W2 w)[v] (+ e . (W3 w)) + b . w             (w = W s)
  i.e. only node-level products and per-edge scalar gathers; no [E, edge_dim] array is ever formed. This holds
  for every configuration of this model (any depth, with or without edge features in the head), and
  `dgi_loss` picks it whenever `config.fast_path` is set.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from anomale_jax.config import ModelConfig
from anomale_jax.model.egraphsage import (
    XAVIER_GAINS,
    Params,
    as_float,
    _uniform,
    edge_embeddings,
    init_encoder,
    linear_bounds,
    mean_incoming,
    node_embeddings,
)


class Discriminator(nn.Module):
    """Bilinear discriminator logit_e = z_e @ (W @ s), W ~ U(-1/sqrt(edge_dim), 1/sqrt(edge_dim))."""

    edge_dim: int

    @nn.compact
    def __call__(self, z: jax.Array, summary: jax.Array) -> jax.Array:  # [E, D], [D] -> [E]
        weight = self.param("weight", _uniform(1.0 / math.sqrt(self.edge_dim)), (self.edge_dim, self.edge_dim),
                            jnp.float32)
        return z @ (weight @ summary)


def _flax_init(key: jax.Array, config: ModelConfig, node_feature_dim: int, edge_feature_dim: int) -> Params:
    enc_key, disc_key = jax.random.split(key)
    encoder = init_encoder(enc_key, config, node_feature_dim, edge_feature_dim)
    dummy = jnp.zeros((1, config.edge_dim), jnp.float32)
    disc = Discriminator(config.edge_dim).init(disc_key, dummy, dummy[0])["params"]
    return {"encoder": encoder, "discriminator": {"weight": disc["weight"]}}


def param_shapes(config: ModelConfig, node_feature_dim: int, edge_feature_dim: int) -> Params:
    """The parameter tree as `jax.ShapeDtypeStruct`s, read off the Flax modules without running them."""
    return jax.eval_shape(lambda k: _flax_init(k, config, node_feature_dim, edge_feature_dim),
                          jax.random.PRNGKey(0))


def init_bounds(shapes: Params) -> Params:
    """Half-width of each leaf's uniform initialiser (the published ones), as a tree like `shapes`."""
    encoder = {}
    for layer_name, layer in shapes["encoder"].items():
        encoder[layer_name] = {}
        for name, linear in layer.items():
            fan_in, fan_out = linear["kernel"].shape
            kernel_bound, bias_bound = linear_bounds(fan_in, fan_out, XAVIER_GAINS[name])
            encoder[layer_name][name] = {"kernel": kernel_bound, "bias": bias_bound}
    edge_dim = shapes["discriminator"]["weight"].shape[0]
    return {"encoder": encoder, "discriminator": {"weight": 1.0 / math.sqrt(edge_dim)}}


def init_params(key: jax.Array, config: ModelConfig, node_feature_dim: int, edge_feature_dim: int) -> Params:
    """Fresh DGI parameters {"encoder": ..., "discriminator": {"weight": [D, D]}}, all float32.

    Each leaf is uniform on [-b, b] with the published half-width b (`init_bounds`): xavier_uniform with ReLU
    gain for W_apply's weight, torch's default Linear init elsewhere, 1/sqrt(edge_dim) for the discriminator.
    The draws are slices of ONE `jax.random.uniform` call, so a new model size costs one small compilation.
    """
    shapes = param_shapes(config, node_feature_dim, edge_feature_dim)
    leaves, treedef = jax.tree.flatten(shapes)
    bounds = jax.tree.leaves(init_bounds(shapes))
    sizes = [math.prod(leaf.shape) for leaf in leaves]
    draws = np.asarray(jax.random.uniform(key, (sum(sizes),), jnp.float32, -1.0, 1.0))
    offsets = np.cumsum([0] + sizes)
    out = [jnp.asarray(np.float32(b) * draws[o:o + n].reshape(leaf.shape))
           for leaf, b, o, n in zip(leaves, bounds, offsets, sizes)]
    return jax.tree.unflatten(treedef, out)


def corrupt(edge_features: jax.Array, perm: jax.Array) -> jax.Array:  # [E, F], [E] -> [E, F]
    """DGI corruption: edge features shuffled across edges by `perm` (node features stay)."""
    return edge_features[perm]


def permutation_by_sort(key: jax.Array, edge_mask: jax.Array) -> jax.Array:  # [E] bool -> [E] int32
    """A uniformly random permutation of the real edges, in XLA; padding edges stay in place.

    Sorts by (padding flag, 63 random bits, index): ties between real edges have probability ~E^2 / 2^64.
    """
    num_edges = edge_mask.shape[0]
    index = jnp.arange(num_edges, dtype=jnp.int32)
    bits = jax.random.bits(key, (2, num_edges), jnp.uint32)
    # Real edges: 31 + 32 random bits; padding edges: a larger first key, then their index (they stay last).
    hi = jnp.where(edge_mask, bits[0] >> 1, jnp.uint32(1 << 31))
    lo = jnp.where(edge_mask, bits[1], index.astype(jnp.uint32))
    return jax.lax.sort((hi, lo, index), num_keys=2, is_stable=False)[-1]


def _host_shuffle(key_data: np.ndarray, edge_mask: np.ndarray) -> np.ndarray:
    edge_mask = np.asarray(edge_mask)
    num_real = int(edge_mask.sum())
    if not edge_mask[:num_real].all():
        raise ValueError("padding edges must follow the real edges (see anomale_jax.graph.pad_graph)")
    rng = np.random.default_rng([int(w) for w in np.asarray(key_data).ravel()])
    perm = np.arange(edge_mask.shape[0], dtype=np.int32)
    perm[:num_real] = rng.permutation(num_real)
    return perm


def permutation_on_host(key: jax.Array, edge_mask: jax.Array) -> jax.Array:  # [E] bool -> [E] int32
    """A uniformly random permutation of the real edges drawn by numpy (seeded from `key`) inside jit.

    Real edges must come first (the FlowGraph invariant); padding edges stay in place.
    """
    return jax.pure_callback(_host_shuffle, jax.ShapeDtypeStruct(edge_mask.shape, jnp.int32),
                             jax.random.key_data(key), edge_mask, vmap_method="sequential")


def real_edge_permutation(key: jax.Array, edge_mask: jax.Array) -> jax.Array:  # [E] bool -> [E] int32
    """The corruption permutation `train_step` draws from `key`: uniform over the real edges, padding fixed.

    On CPU, XLA's sort of a million keys takes ~0.6 s (measured on 2 cores), more than the whole fast-path
    loss and gradient, while numpy shuffles them in ~0.04 s, so the CPU backend draws on the host
    (`permutation_on_host`) and accelerators sort (`permutation_by_sort`). Both are deterministic in `key`;
    they give different permutations, so runs on CPU and GPU differ from the first step.
    """
    if jax.default_backend() == "cpu":
        return permutation_on_host(key, edge_mask)
    return permutation_by_sort(key, edge_mask)


def _masked_mean(values: jax.Array, weight: jax.Array, count: jax.Array) -> jax.Array:
    return jnp.sum(values * weight) / count


def bce_terms(pos_logits: jax.Array, neg_logits: jax.Array, edge_mask: jax.Array) -> jax.Array:
    """BCE-with-logits(pos, 1) + BCE-with-logits(neg, 0), each a mean over real edges (stable log-sigmoid form)."""
    weight = edge_mask.astype(pos_logits.dtype)
    count = jnp.maximum(weight.sum(), 1.0)
    pos = _masked_mean(-jax.nn.log_sigmoid(pos_logits), weight, count)
    neg = _masked_mean(-jax.nn.log_sigmoid(-neg_logits), weight, count)
    return pos + neg


def readout(z: jax.Array, edge_mask: jax.Array) -> jax.Array:  # [E, D] -> [D]
    """DGI summary: sigmoid of the mean edge embedding over real edges."""
    weight = edge_mask.astype(z.dtype)
    return jax.nn.sigmoid((weight @ z) / jnp.maximum(weight.sum(), 1.0))


def dgi_logits_direct(params: Params, graph, perm: jax.Array, config: ModelConfig):
    """(summary [D], positive logits [E], negative logits [E]) computed literally: both [E, D] embeddings are formed."""
    enc = params["encoder"]
    x = as_float(graph.node_features)
    n = x.shape[0]
    e = as_float(graph.edge_features)
    e_neg = corrupt(e, perm)
    z_pos = edge_embeddings(enc, node_embeddings(enc, x, mean_incoming(e, graph.receivers, graph.edge_mask, n),
                                                 config), graph.senders, graph.receivers, e, config)
    z_neg = edge_embeddings(enc, node_embeddings(enc, x, mean_incoming(e_neg, graph.receivers, graph.edge_mask, n),
                                                 config), graph.senders, graph.receivers, e_neg, config)
    summary = readout(z_pos, graph.edge_mask)
    disc = Discriminator(config.edge_dim)
    variables = {"params": params["discriminator"]}
    return summary, disc.apply(variables, z_pos, summary), disc.apply(variables, z_neg, summary)


def dgi_logits_fast(params: Params, graph, perm: jax.Array, config: ModelConfig):
    """The same (summary, positive logits, negative logits) as `dgi_logits_direct` from node-level products."""
    enc = params["encoder"]
    head = enc[f"layers_{config.num_layers - 1}"]["W_edge"]
    width = config.node_dims[-1]
    w1, w2, w3 = head["kernel"][:width], head["kernel"][width:2 * width], head["kernel"][2 * width:]
    bias = head["bias"]
    x = as_float(graph.node_features)
    n = x.shape[0]
    e = as_float(graph.edge_features)
    senders, receivers, mask = graph.senders, graph.receivers, graph.edge_mask
    weight = mask.astype(e.dtype)
    count = jnp.maximum(weight.sum(), 1.0)

    # Neighbourhood means. The corrupted sum over slots i of e[perm[i]] by receivers[i] equals the sum over
    # edges j of e[j] by receivers[perm^-1[j]]: scatter e once with permuted ids instead of gathering rows.
    inv_perm = jnp.zeros_like(perm).at[perm].set(jnp.arange(perm.shape[0], dtype=perm.dtype))
    neigh_pos = mean_incoming(e, receivers, mask, n)
    neigh_neg = mean_incoming(e, receivers[inv_perm], mask, n)
    h_pos = node_embeddings(enc, x, neigh_pos, config)  # [N, H]
    h_neg = node_embeddings(enc, x, neigh_neg, config)  # [N, H]

    # Summary from degree-weighted node sums: mean_e z_e without forming z.
    out_deg = jax.ops.segment_sum(weight, senders, num_segments=n)
    in_deg = jax.ops.segment_sum(weight, receivers, num_segments=n)
    mean_z = ((out_deg @ h_pos) @ w1 + (in_deg @ h_pos) @ w2) / count + bias  # [D]
    if config.edge_head_uses_edge_features:
        mean_z = mean_z + ((weight @ e) / count) @ w3
    summary = jax.nn.sigmoid(mean_z)

    # Logits z_e . w with w = W s, as per-node scalars gathered per edge.
    w = params["discriminator"]["weight"] @ summary  # [D]
    p, q, c = w1 @ w, w2 @ w, bias @ w  # [H], [H], []
    pos = (h_pos @ p)[senders] + (h_pos @ q)[receivers] + c
    neg = (h_neg @ p)[senders] + (h_neg @ q)[receivers] + c
    if config.edge_head_uses_edge_features:
        edge_term = e @ (w3 @ w)  # [E]
        pos = pos + edge_term
        neg = neg + edge_term[perm]
    return summary, pos, neg


def dgi_loss_direct(params: Params, graph, perm: jax.Array, config: ModelConfig) -> jax.Array:
    """The DGI loss computed literally (both [E, edge_dim] embedding matrices are formed)."""
    _, pos, neg = dgi_logits_direct(params, graph, perm, config)
    return bce_terms(pos, neg, graph.edge_mask)


def dgi_loss_fast(params: Params, graph, perm: jax.Array, config: ModelConfig) -> jax.Array:
    """The same loss as `dgi_loss_direct` from node-level products (no [E, edge_dim] array is formed)."""
    _, pos, neg = dgi_logits_fast(params, graph, perm, config)
    return bce_terms(pos, neg, graph.edge_mask)


def dgi_loss(params: Params, graph, perm: jax.Array, config: ModelConfig) -> jax.Array:
    """The DGI loss for corruption permutation `perm` [E]; the fast form when `config.fast_path` is set.

    Args:
      params: {"encoder": ..., "discriminator": ...}.
      graph: a FlowGraph; padding edges (edge_mask False) contribute to no mean.
      perm: [E] int permutation of the edges that keeps padding edges in place.
      config: the model configuration.

    Returns:
      The scalar float32 loss.
    """
    return (dgi_loss_fast if config.fast_path else dgi_loss_direct)(params, graph, perm, config)
