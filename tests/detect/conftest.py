"""Shared small data for the detection tests (a few thousand rows, CBLOF-friendly clusters)."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def clustered():
    """(x_fit [2000, 8], x_test [1100, 8]): three benign clusters of unequal size plus scattered outliers;
    the test rows include 100 exact copies of fit rows (ties at the thresholds)."""
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.normal(6 * k, 1, (s, 8)) for k, s in enumerate((1400, 400, 100))] + [rng.uniform(-5, 20, (100, 8))]
    ).astype(np.float32)
    xt = np.concatenate([rng.normal(0, 1, (700, 8)), rng.normal(3, 2, (300, 8)), x[:100]]).astype(np.float32)
    return x, xt
