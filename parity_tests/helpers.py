"""Shared helpers of the parity suite: guarded imports, data paths, and assertions that name the worst element."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
UNSW_SAMPLE = SHARED_DATA / "nf-unsw-nb15-v2-sample72.csv"
PRETRAINED = SHARED_DATA / "pretrained" / "anomale-e-cse-v2.state_dict.pt"


def reference_torch_or_skip():
    """Imports `reference_torch`; skips the calling test module with the install hint when torch/DGL are missing.

    Under CI (CI=true) the extra is installed by `make test`, so a failed import is an error there, never a skip.
    """
    try:
        import reference_torch
    except ImportError as err:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise
        pytest.skip(str(err), allow_module_level=True)
    return reference_torch


def require_file(path: Path) -> Path:
    """Skips the test (with the reason) when a shared data file is absent, e.g. on a user's machine."""
    if not path.exists():
        pytest.skip(f"{path} is absent (the ../shared/data samples are not part of the package)")
    return path


def to_numpy(x) -> np.ndarray:
    """torch tensor, jax array or numpy array -> float64/int numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _where(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]" if index else "[]"


def assert_max_abs(actual, expected, atol: float, name: str = "value") -> float:
    """Asserts max |actual - expected| <= atol; the failure names the worst element and its location.

    Returns:
      the max abs difference (so tests can report it).
    """
    a, e = to_numpy(actual).astype(np.float64), to_numpy(expected).astype(np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != expected {e.shape}"
    if a.size == 0:
        return 0.0
    diff = np.abs(a - e)
    if not np.isfinite(diff).all():
        bad = np.unravel_index(int(np.argmax(~np.isfinite(diff))), diff.shape)
        raise AssertionError(f"{name}: non-finite at {_where(bad)}: {a[bad]!r} vs expected {e[bad]!r}")
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    assert diff[worst] <= atol, (
        f"{name}: max abs diff {diff[worst]:.3e} > {atol:.1e} at {_where(worst)}: "
        f"{a[worst]!r} vs expected {e[worst]!r}"
    )
    return float(diff[worst])


def assert_rel(actual, expected, rtol: float, name: str = "value") -> float:
    """Asserts max |actual - expected| / max |expected| <= rtol (relative to the tensor's scale).

    Scale-relative rather than element-wise so that entries that are ~0 in both (e.g. gradient entries of
    unused inputs) cannot turn rounding noise into a huge ratio. The failure names the worst element.

    Returns:
      the relative difference.
    """
    a, e = to_numpy(actual).astype(np.float64), to_numpy(expected).astype(np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != expected {e.shape}"
    if a.size == 0:
        return 0.0
    scale = float(np.max(np.abs(e)))
    diff = np.abs(a - e)
    if not np.isfinite(diff).all():
        bad = np.unravel_index(int(np.argmax(~np.isfinite(diff))), diff.shape)
        raise AssertionError(f"{name}: non-finite at {_where(bad)}: {a[bad]!r} vs expected {e[bad]!r}")
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    rel = float(diff[worst]) / scale if scale > 0 else float(diff[worst])
    assert rel <= rtol, (
        f"{name}: relative diff {rel:.3e} > {rtol:.1e} (abs {diff[worst]:.3e}, scale {scale:.3e}) at "
        f"{_where(worst)}: {a[worst]!r} vs expected {e[worst]!r}"
    )
    return rel


def assert_rel_elementwise(actual, expected, rtol: float, name: str = "value") -> float:
    """Asserts max_i |actual_i - expected_i| / |expected_i| <= rtol (for loss curves: no entry near zero)."""
    a, e = to_numpy(actual).astype(np.float64), to_numpy(expected).astype(np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != expected {e.shape}"
    rel = np.abs(a - e) / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    if not np.isfinite(rel).all():
        bad = np.unravel_index(int(np.argmax(~np.isfinite(rel))), rel.shape)
        raise AssertionError(f"{name}: non-finite at {_where(bad)}: {a[bad]!r} vs expected {e[bad]!r}")
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape)
    assert rel[worst] <= rtol, (
        f"{name}: relative diff {rel[worst]:.3e} > {rtol:.1e} at {_where(worst)}: "
        f"{a[worst]!r} vs expected {e[worst]!r}"
    )
    return float(rel[worst])


def tricky_graph(num_features: int = 39, seed: int = 0):
    """A small FlowGraph with isolated nodes, self-loops, parallel edges and a node with only out-edges.

    Nodes 0..9; nodes 7, 8 and 9 have no edge at all (9 is the last node, so padding cannot hide it).
    Features are row-normalised like the paper protocol's.
    """
    from anomale_jax.graph import make_graph

    edges = [
        (0, 1), (0, 1), (0, 1),  # three parallel flows
        (1, 0),
        (2, 2), (2, 2),  # two parallel self-loops
        (3, 4), (4, 3), (3, 5), (5, 3),
        (6, 0),  # node 6 only sends
        (4, 4),
        (1, 2), (2, 1), (5, 4),
    ]
    senders, receivers = (np.array(x, dtype=np.int32) for x in zip(*edges))
    rng = np.random.default_rng(seed)
    feats = rng.random((len(edges), num_features))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return make_graph(senders, receivers, feats.astype(np.float32), num_nodes=10)


def random_graph(num_nodes: int, num_edges: int, num_features: int = 39, seed: int = 0):
    """A random FlowGraph (row-normalised features, a few isolated nodes, parallel edges likely)."""
    from anomale_jax.graph import make_graph

    rng = np.random.default_rng(seed)
    active = max(num_nodes - 3, 1)  # the last 3 nodes stay isolated
    senders = rng.integers(0, active, num_edges)
    receivers = rng.integers(0, active, num_edges)
    feats = rng.random((num_edges, num_features)) ** 3  # skewed, like flow statistics
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return make_graph(senders, receivers, feats.astype(np.float32), num_nodes=num_nodes)
