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


def _pair(actual, expected, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float64 arrays of one shape."""
    a, e = to_numpy(actual).astype(np.float64), to_numpy(expected).astype(np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != expected {e.shape}"
    return a, e


def _worst(err: np.ndarray, a: np.ndarray, e: np.ndarray, name: str) -> tuple[int, ...]:
    """Index of the largest error; a non-finite error fails at once, naming its location."""
    if not np.isfinite(err).all():
        bad = np.unravel_index(int(np.argmax(~np.isfinite(err))), err.shape)
        raise AssertionError(f"{name}: non-finite at {_where(bad)}: {a[bad]!r} vs expected {e[bad]!r}")
    return np.unravel_index(int(np.argmax(err)), err.shape)


def assert_max_abs(actual, expected, atol: float, name: str = "value") -> float:
    """Asserts max |actual - expected| <= atol; the failure names the worst element and its location.

    Returns:
      the max abs difference (so tests can report it).
    """
    a, e = _pair(actual, expected, name)
    if a.size == 0:
        return 0.0
    diff = np.abs(a - e)
    worst = _worst(diff, a, e, name)
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
    a, e = _pair(actual, expected, name)
    if a.size == 0:
        return 0.0
    scale = float(np.max(np.abs(e)))
    diff = np.abs(a - e)
    worst = _worst(diff, a, e, name)
    rel = float(diff[worst]) / scale if scale > 0 else float(diff[worst])
    assert rel <= rtol, (
        f"{name}: relative diff {rel:.3e} > {rtol:.1e} (abs {diff[worst]:.3e}, scale {scale:.3e}) at "
        f"{_where(worst)}: {a[worst]!r} vs expected {e[worst]!r}"
    )
    return rel


def assert_rel_elementwise(actual, expected, rtol: float, name: str = "value") -> float:
    """Asserts max_i |actual_i - expected_i| / |expected_i| <= rtol (for loss curves: no entry near zero)."""
    a, e = _pair(actual, expected, name)
    rel = np.abs(a - e) / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    worst = _worst(rel, a, e, name)
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


# ----------------------------------------------------------------------------- moving weights and graphs
def torch_state(model) -> dict:
    """A detached copy of a torch model's state dict (later training cannot alias it)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def jax_params_from_torch(model, dtype=np.float32):
    """The JAX parameter tree of a torch model, through `anomale_jax.model.torch_io.params_from_state_dict`.

    That function reads float32; for dtype float64 the torch weights must therefore be float32-exact
    (see `make_torch_model`), which is checked, so the transfer stays lossless.
    """
    import jax.numpy as jnp

    from anomale_jax.model.torch_io import params_from_state_dict

    state = torch_state(model)
    for name, value in state.items():
        exact = value.double().float().double()
        if not bool((exact == value.double()).all()):
            raise ValueError(f"{name} is not float32-exact; the float32 transfer would round it")
    tree = params_from_state_dict(state)
    return _map_tree(lambda a: jnp.asarray(np.array(a, dtype=dtype)), tree)


def load_jax_params_into_torch(params, model) -> None:
    """Loads a JAX parameter tree into a torch model via `params_to_state_dict` (strict: every key matches)."""
    import torch

    from anomale_jax.model.torch_io import params_to_state_dict

    state = {k: torch.as_tensor(np.array(v)) for k, v in params_to_state_dict(params).items()}
    model.load_state_dict(state, strict=True)


def make_torch_model(rt, config, node_dim: int, edge_dim: int, seed: int, dtype=None):
    """A freshly initialised reference model; float64 models get float32-exact weights (see above)."""
    import torch

    torch.manual_seed(seed)
    model = rt.make_model(config, node_dim, edge_dim)
    return model if dtype in (None, torch.float32) else model.to(dtype)


def _map_tree(fn, tree):
    if isinstance(tree, dict):
        return {k: _map_tree(fn, v) for k, v in tree.items()}
    return fn(tree)


def flat_state(params) -> dict:
    """JAX tree -> {upstream key: numpy array} (torch orientation) for side-by-side comparison."""
    from anomale_jax.model.torch_io import params_to_state_dict

    encoder = params["encoder"]
    out = {}
    for i in range(len(encoder)):
        for name, sub in encoder[f"layers_{i}"].items():
            out[f"encoder.layers.{i}.{name}.weight"] = np.asarray(sub["kernel"]).T
            out[f"encoder.layers.{i}.{name}.bias"] = np.asarray(sub["bias"])
    out["discriminator.weight"] = np.asarray(params["discriminator"]["weight"])
    assert set(out) == set(params_to_state_dict(params)), "flat_state and params_to_state_dict disagree on keys"
    return out


def with_dtype(fg, dtype):
    """The FlowGraph with its float arrays cast to `dtype` (index arrays unchanged)."""
    return fg._replace(
        node_features=np.asarray(fg.node_features, dtype=dtype),
        edge_features=np.asarray(fg.edge_features, dtype=dtype),
    )


def padded_perm(perm: np.ndarray, num_padded_edges: int) -> np.ndarray:
    """A permutation of the real edges extended to a padded graph (padding edges stay in place)."""
    perm = np.asarray(perm)
    return np.concatenate([perm, np.arange(perm.shape[0], num_padded_edges)]).astype(np.int32)
