"""Detector grid presets: the published grids, and clear errors for bad values."""

import dataclasses

import pytest

from anomale_jax.detect.config import PRESETS, get_preset
from anomale_jax.errors import InputError


def test_paper_preset_is_the_published_grid():
    p = PRESETS["paper"]
    assert p.pca_n_components == (5, 10, 15, 20, 25, 30) and p.hbos_n_bins == (5, 10, 15, 20, 25, 30)
    assert p.iforest_n_estimators == (20, 50, 100, 150) and p.cblof_n_clusters == (2, 3, 5, 7, 9, 10)
    assert p.contaminations == (0.001, 0.01, 0.04, 0.05, 0.1, 0.2)
    assert p.iforest_rule == "sklearn"  # the notebook called sklearn.ensemble.IsolationForest
    # 36 + 24 + 36 + 36 grid points per fit_on x features, as published; quick fits each detector once.
    assert [len(p.grid(d)) * len(p.contaminations) for d in p.detectors] == [36, 24, 36, 36]
    assert all(len(PRESETS["quick"].grid(d)) == 1 for d in p.detectors)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"contaminations": (0.0,)}, r"contaminations must lie in \(0, 0.5\]"),
        ({"contaminations": (0.7,)}, r"contaminations must lie in \(0, 0.5\]"),
        ({"detectors": ("lof",)}, "detectors must be a non-empty subset"),
        ({"fit_on": ()}, "fit_on must be a non-empty subset"),
        ({"hbos_n_bins": (0,)}, "hbos n_bins grid must be positive"),
        ({"iforest_rule": "mine"}, "iforest_rule must be"),
        ({"flow_merge": "min"}, "flow_merge must be"),
    ],
)
def test_bad_values_raise_input_error(overrides, message):
    with pytest.raises(InputError, match=message):
        get_preset("quick", **overrides)
    with pytest.raises(InputError, match=message):
        dataclasses.replace(PRESETS["quick"], **overrides).validate()


def test_unknown_preset():
    with pytest.raises(InputError, match="unknown detection grid 'huge'"):
        get_preset("huge")
