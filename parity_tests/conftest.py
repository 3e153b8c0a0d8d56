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
