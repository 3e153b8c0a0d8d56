"""Synthetic detection bundles: Gaussian-mixture "embeddings" with labelled attack classes.

For tests and `scripts/bench_detect.py` only (the project's NetFlow generator lives in `anomale_jax.data`).
Benign rows come from a few clusters of unequal size (so CBLOF finds a large/small cluster split); each
attack class is its own shifted cluster, plus a few scattered outliers. Like the published model, rows
repeat: a share of flows copies the embedding of an earlier flow (parallel flows between one host pair),
and each flow has two directed edges with the same embedding.
"""

from __future__ import annotations

import numpy as np

from anomale_jax.detect.bundle import DetectionBundle, SplitData, make_split

ATTACKS = ("DoS", "Scan", "BruteForce")


def _mixture(rng, n: int, dim: int, centers: np.ndarray, weights: np.ndarray, spread: float) -> np.ndarray:
    which = rng.choice(len(centers), size=n, p=weights / weights.sum())
    return centers[which] + spread * rng.standard_normal((n, dim), dtype=np.float32)


def synthetic_split(
    rng: np.random.Generator,
    num_flows: int,
    *,
    dim: int = 16,
    raw_dim: int = 8,
    attack_frac: float = 0.1,
    dup_frac: float = 0.3,
    two_edges: bool = True,
    centers: dict | None = None,
) -> SplitData:
    """One split of `num_flows` flows (two edges each when `two_edges`).

    Args:
      rng: numpy Generator (explicit randomness).
      num_flows: n.
      dim, raw_dim: embedding width D and raw feature width F.
      attack_frac: share of attack flows, spread evenly over ATTACKS.
      dup_frac: share of flows whose embedding copies an earlier flow of the same class.
      two_edges: two directed edges per flow (the published 'paper' edge mode), else one.
      centers: cluster centres from `make_centers` (share them across splits).
    Returns:
      SplitData with embeddings [E, dim], raw_features [n, raw_dim].
    """
    c = centers or make_centers(np.random.default_rng(0), dim, raw_dim)
    labels = (rng.random(num_flows) < attack_frac).astype(np.int8)
    kinds = rng.integers(0, len(ATTACKS), size=num_flows)
    attacks = np.where(labels == 1, np.array(ATTACKS)[kinds], "Benign").astype(str)
    emb = np.empty((num_flows, dim), np.float32)
    raw = np.empty((num_flows, raw_dim), np.float32)
    benign = labels == 0
    emb[benign] = _mixture(rng, int(benign.sum()), dim, c["benign"], np.array([0.75, 0.2, 0.05]), 0.5)
    raw[benign] = _mixture(rng, int(benign.sum()), raw_dim, c["raw_benign"], np.array([0.75, 0.2, 0.05]), 1.0)
    for k in range(len(ATTACKS)):
        rows = (labels == 1) & (kinds == k)
        emb[rows] = c["attack"][k] + 0.5 * rng.standard_normal((int(rows.sum()), dim), dtype=np.float32)
        raw[rows] = c["raw_attack"][k] + 1.0 * rng.standard_normal((int(rows.sum()), raw_dim), dtype=np.float32)
    # Repeated embeddings: copy an earlier flow of the same class.
    for cls in np.unique(attacks):
        idx = np.flatnonzero(attacks == cls)
        if idx.size < 2:
            continue
        pos = np.flatnonzero(rng.random(idx.size - 1) < dup_frac) + 1  # positions within idx, >= 1
        emb[idx[pos]] = emb[idx[(rng.random(pos.size) * pos).astype(np.int64)]]
    edge_flow = np.repeat(np.arange(num_flows), 2) if two_edges else np.arange(num_flows)
    return make_split(emb[edge_flow], edge_flow, raw, labels, attacks, where="synthetic")


def make_centers(rng: np.random.Generator, dim: int, raw_dim: int) -> dict:
    """Cluster centres: three benign, one per attack class; raw-feature attacks lie closer to benign."""
    return {
        "benign": rng.normal(0.0, 3.0, (3, dim)).astype(np.float32),
        "attack": rng.normal(0.0, 3.0, (len(ATTACKS), dim)).astype(np.float32),
        "raw_benign": rng.normal(0.0, 2.0, (3, raw_dim)).astype(np.float32),
        "raw_attack": rng.normal(0.0, 2.0, (len(ATTACKS), raw_dim)).astype(np.float32),
    }


def synthetic_bundle(
    num_flows: tuple[int, int, int] = (2000, 600, 600),
    *,
    seed: int = 0,
    dim: int = 16,
    raw_dim: int = 8,
    attack_frac: float = 0.1,
    dup_frac: float = 0.3,
    validation: bool = True,
) -> DetectionBundle:
    """A train/validation/test bundle of synthetic flows (validation omitted when `validation` is False)."""
    rng = np.random.default_rng(seed)
    centers = make_centers(rng, dim, raw_dim)
    kw = dict(dim=dim, raw_dim=raw_dim, attack_frac=attack_frac, dup_frac=dup_frac, centers=centers)
    train = synthetic_split(rng, num_flows[0], **kw)
    val = synthetic_split(rng, num_flows[1], **kw) if validation else None
    test = synthetic_split(rng, num_flows[2], **kw)
    return DetectionBundle(train=train, test=test, validation=val, meta={"dataset": "synthetic-detect", "seed": seed})
