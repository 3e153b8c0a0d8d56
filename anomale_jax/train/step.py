"""The two jitted functions of the hot path: `train_step` (one full-batch DGI step) and `embed`.

The graph is always a jit argument (never a closure constant) and every size comes from array shapes, so a
training run compiles `train_step` once. `TRACE_COUNTS` counts how often each function has been traced; tests
use it to prove there is no recompilation across epochs.
"""

from __future__ import annotations

import collections
import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from anomale_jax.config import ModelConfig, TrainConfig
from anomale_jax.model.dgi import dgi_loss, init_params, real_edge_permutation
from anomale_jax.model.egraphsage import Params, encode

TRACE_COUNTS: collections.Counter = collections.Counter()


class TrainState(struct.PyTreeNode):
    """Parameters and optimiser state; the model config and optimiser are static (not traced)."""

    step: jax.Array  # [] int32, steps taken
    params: Params
    opt_state: Any
    model_config: ModelConfig = struct.field(pytree_node=False)
    tx: optax.GradientTransformation = struct.field(pytree_node=False)


def make_optimizer(train_config: TrainConfig) -> optax.GradientTransformation:
    """Adam (published: lr 1e-3, no weight decay); AdamW's decoupled decay when weight_decay > 0.

    The same settings return the same object: the optimiser is a static part of TrainState, so this keeps
    `train_step` from recompiling for every new run in one process.
    """
    return _optimizer(float(train_config.learning_rate), float(train_config.weight_decay))


@functools.lru_cache(maxsize=None)
def _optimizer(learning_rate: float, weight_decay: float) -> optax.GradientTransformation:
    if weight_decay > 0:
        return optax.adamw(learning_rate, weight_decay=weight_decay)
    return optax.adam(learning_rate)


def create_train_state(params: Params, model_config: ModelConfig, train_config: TrainConfig) -> TrainState:
    """A fresh TrainState around `params` (the optimiser is built from `train_config`)."""
    tx = make_optimizer(train_config)
    params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                      model_config=model_config, tx=tx)


def init_train_state(key: jax.Array, model_config: ModelConfig, train_config: TrainConfig,
                     node_feature_dim: int, edge_feature_dim: int) -> TrainState:
    """Fresh parameters from `key` (published initialisers) wrapped in a TrainState."""
    params = init_params(key, model_config, node_feature_dim, edge_feature_dim)
    return create_train_state(params, model_config, train_config)


def _step_with_perm(state: TrainState, graph, perm: jax.Array):
    loss, grads = jax.value_and_grad(dgi_loss)(state.params, graph, perm, state.model_config)
    updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state)
    # `loss` belongs to the parameters before this update (as in the notebook's best-loss bookkeeping).
    return new_state, {"loss": loss}


@jax.jit
def train_step(state: TrainState, graph, key: jax.Array):
    """One Adam step on the DGI loss, with the corruption permutation drawn from `key`.

    Args:
      state: the TrainState.
      graph: a FlowGraph (jax arrays; padding edges are masked and never permuted).
      key: a PRNG key for this step's permutation of the real edges.

    Returns:
      (new_state, {"loss": [] float32}), the loss being that of `state.params`.
    """
    TRACE_COUNTS["train_step"] += 1
    perm = real_edge_permutation(key, graph.edge_mask)
    return _step_with_perm(state, graph, perm)


@jax.jit
def train_step_with_perm(state: TrainState, graph, perm: jax.Array):
    """`train_step` with an explicit corruption permutation [E] (for side-by-side runs with the torch port)."""
    TRACE_COUNTS["train_step_with_perm"] += 1
    return _step_with_perm(state, graph, perm)


@functools.partial(jax.jit, static_argnums=3)
def loss_and_grads(params: Params, graph, perm: jax.Array, model_config: ModelConfig):
    """(loss, grads) of the DGI loss for permutation `perm` [E]; `model_config` is static."""
    return jax.value_and_grad(dgi_loss)(params, graph, perm, model_config)


@functools.partial(jax.jit, static_argnums=2)
def embed(params: Params, graph, config: ModelConfig) -> jax.Array:  # -> [E, edge_dim]
    """Edge embeddings of a FlowGraph (rows of padding edges are meaningless).

    Args:
      params: the model tree (or its "encoder" subtree).
      graph: a FlowGraph; pad it to bucket sizes (`anomale_jax.graph.pad_graph`) to reuse compilations.
      config: the ModelConfig (static).
    """
    TRACE_COUNTS["embed"] += 1
    return encode(params, graph, config)[1]
