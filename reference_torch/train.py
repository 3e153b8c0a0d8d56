"""Full-batch DGI training and edge embedding for the torch reference (ANOMALE.md steps 11-12)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import numpy as np

from reference_torch._dgl_compat import dgl, torch
from reference_torch.model import DGI

PermSource = Union[None, Callable[[int], "torch.Tensor | np.ndarray"], Sequence]


def _perm_at(perms: PermSource, epoch: int, num_edges: int) -> torch.Tensor:
    """The corruption permutation of one epoch: random (None), perms(epoch), or perms[epoch]."""
    if perms is None:
        return torch.randperm(num_edges)
    perm = perms(epoch) if callable(perms) else perms[epoch]
    if not isinstance(perm, torch.Tensor):
        perm = torch.from_numpy(np.array(perm, dtype=np.int64))  # a copy: jax arrays are read-only
    perm = perm.to(torch.long)
    if perm.shape != (num_edges,):
        raise ValueError(f"permutation of epoch {epoch} has shape {tuple(perm.shape)}, expected ({num_edges},)")
    return perm


def train(
    model: DGI,
    g: dgl.DGLGraph,
    nfeats: torch.Tensor,
    efeats: torch.Tensor,
    epochs: int,
    lr: float = 1e-3,
    perms: PermSource = None,
    weight_decay: float = 0.0,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Trains `model` in place with full-batch Adam and keeps the lowest-loss weights in memory.

    Args:
      model: a DGI model (see `make_model`).
      g: the training graph, N nodes and E edges.
      nfeats: [N, Fn] node features; efeats: [E, F] edge features (same dtype as the model).
      epochs: number of full-batch steps.
      lr: Adam learning rate (published 1e-3).
      perms: corruption permutations: None draws `torch.randperm(E)` every epoch (published); a callable
        `epoch -> [E]` or a sequence indexed by epoch injects them (the parity tests share them with JAX).
      weight_decay: Adam's L2 weight decay (published 0).
    Returns:
      (best_state_dict, losses): a detached copy of the weights that produced the lowest loss, and the loss
      of every epoch, each computed with the weights before that epoch's update. (The notebook saved the
      weights after the update that followed its lowest loss; here the state dict and its loss belong together.)
      Nothing is written to disk.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_loss, best_state, losses = float("inf"), None, []
    model.train()
    for epoch in range(epochs):
        perm = _perm_at(perms, epoch, g.num_edges())
        optimizer.zero_grad()
        loss = model(g, nfeats, efeats, perm=perm)
        loss_value = float(loss.detach())
        losses.append(loss_value)
        # Snapshot before the step: these are the weights this loss was computed with.
        if loss_value < best_loss:
            best_loss = loss_value
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        loss.backward()
        optimizer.step()
    if best_state is None:  # epochs == 0 (or a NaN loss throughout): the weights as they are
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return best_state, losses


@torch.no_grad()
def embed(model: DGI, g: dgl.DGLGraph, nfeats: torch.Tensor, efeats: torch.Tensor) -> np.ndarray:
    """Edge embeddings of a graph with the model's encoder.

    Args:
      model: a (trained) DGI model.
      g: graph with N nodes and E edges; nfeats [N, Fn]; efeats [E, F].
    Returns:
      [E, edge_dim] numpy array in the model's dtype, in the graph's edge order.
    """
    model.eval()
    _, z = model.encoder(g, nfeats, efeats)
    return z.detach().cpu().numpy()
