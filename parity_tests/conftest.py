"""Fixtures of the parity suite. Each test module imports the reference through
`parity_tests.helpers.reference_torch_or_skip`, so without torch/DGL the modules skip with the install hint."""

from __future__ import annotations

import pytest


@pytest.fixture
def x64():
    """Enables JAX float64 for one test only (`jax.enable_x64` is a context; nothing leaks to other tests)."""
    import jax

    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread for torch while the parity tests run.

    JAX's thread pool lives in the same process; with torch's two OpenMP threads on top, a 2-core machine is
    oversubscribed and the reference's training loop ran 7x slower (47 s vs 6.4 s for 100 steps).
    """
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
