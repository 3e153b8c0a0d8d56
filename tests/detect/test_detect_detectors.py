"""Detectors: contamination-derived predictions equal the libraries' own predict; dedup; failures."""

import numpy as np
import pytest
from pyod.models.cblof import CBLOF
from pyod.models.hbos import HBOS
from pyod.models.iforest import IForest
from pyod.models.pca import PCA
from sklearn.ensemble import IsolationForest

from anomale_jax.detect.detectors import DetectorError, DistinctRows, fit_and_score, predict, unique_rows

CONTAMINATIONS = (0.001, 0.01, 0.04, 0.05, 0.1, 0.2, 0.5)

PYOD = {
    "pca": (3, lambda c: PCA(n_components=3, contamination=c, random_state=0)),
    "cblof": (3, lambda c: CBLOF(n_clusters=3, contamination=c, random_state=0)),
    "hbos": (10, lambda c: HBOS(n_bins=10, contamination=c)),
    "iforest": (20, lambda c: IForest(n_estimators=20, contamination=c, random_state=0)),
}


@pytest.mark.parametrize("detector", sorted(PYOD))
def test_contamination_thresholds_equal_pyod_predict(clustered, detector):
    x, xt = clustered
    value, make = PYOD[detector]
    scored, scores = fit_and_score(detector, value, x, {"test": xt}, seed=0, iforest_rule="pyod")
    for c in CONTAMINATIONS:
        reference = make(c).fit(x)
        np.testing.assert_array_equal(scored.predict(scores["test"], c), reference.predict(xt), err_msg=f"c={c}")
        # Training labels too: PyOD's labels_ come from the same threshold on decision_scores_.
        np.testing.assert_array_equal(scored.predict(scored.train_scores, c), reference.labels_, err_msg=f"c={c}")


def test_contamination_thresholds_equal_sklearn_isolation_forest(clustered):
    x, xt = clustered
    scored, scores = fit_and_score("iforest", 20, x, {"test": xt}, seed=3, iforest_rule="sklearn")
    for c in CONTAMINATIONS:
        ref = IsolationForest(n_estimators=20, contamination=c, random_state=3).fit(x).predict(xt)
        np.testing.assert_array_equal(scored.predict(scores["test"], c), (ref == -1).astype(int), err_msg=f"c={c}")


def test_threshold_matches_pyod_threshold_attribute(clustered):
    x, xt = clustered
    scored, _ = fit_and_score("hbos", 10, x, {}, seed=0)
    for c in (0.01, 0.2):
        assert scored.threshold(c) == HBOS(n_bins=10, contamination=c).fit(x).threshold_


def test_predict_rule_is_strict_and_monotone():
    train = np.arange(11, dtype=np.float64)  # 90th percentile of 0..10 is exactly 9.0
    pred = predict(train, np.array([8.9, 9.0, 9.1]), 0.1, "pyod")
    np.testing.assert_array_equal(pred, [0, 0, 1])
    with pytest.raises(ValueError, match="rule"):
        predict(train, train, 0.1, "nope")


@pytest.mark.parametrize("detector,value", [("pca", 3), ("cblof", 3), ("hbos", 10), ("iforest", 15)])
def test_dedup_broadcast_equals_scoring_every_row(clustered, detector, value):
    x, xt = clustered
    xt_rep = np.concatenate([xt, xt[::-1], xt[:37]])  # many repeats
    rows = DistinctRows.of(xt_rep)
    assert rows.num_distinct == xt.shape[0]
    s_dedup, got = fit_and_score(detector, value, x, {"t": xt_rep}, dedup=True)
    s_full, want = fit_and_score(detector, value, x, {"t": xt_rep}, dedup=False)
    np.testing.assert_allclose(got["t"], want["t"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s_dedup.train_scores, s_full.train_scores, rtol=1e-12, atol=1e-12)


def test_unique_rows_groups_exactly_and_in_first_occurrence_order():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(50, 5)).astype(np.float32)
    idx = rng.integers(0, 50, size=400)
    x = base[idx]
    first, inverse = unique_rows(x)
    np.testing.assert_array_equal(x[first][inverse], x)
    assert first.size == np.unique(idx).size
    assert np.all(np.diff(first) > 0)
    # Odd row widths (not a multiple of 8 bytes) and an empty input.
    y = rng.integers(0, 3, size=(100, 3)).astype(np.int16)
    f, inv = unique_rows(y)
    np.testing.assert_array_equal(y[f][inv], y)
    assert f.size == np.unique(y, axis=0).shape[0]
    assert unique_rows(np.zeros((0, 4)))[0].size == 0


def test_unique_rows_survives_hash_collisions(monkeypatch):
    import anomale_jax.detect.detectors as detectors

    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 4)).astype(np.float32)[rng.integers(0, 30, size=200)]
    want_first, want_inverse = unique_rows(x)
    monkeypatch.setattr(detectors, "_row_hash", lambda words: np.zeros(words.shape[0], np.uint64))
    first, inverse = unique_rows(x)  # every row collides: the byte check must fall back to exact grouping
    np.testing.assert_array_equal(first, want_first)
    np.testing.assert_array_equal(inverse, want_inverse)


def test_cblof_failure_is_a_detector_error_not_a_crash():
    rng = np.random.default_rng(0)
    # Two equal clusters with n_clusters=2: neither the alpha (90%) nor the beta (5x) rule can split them.
    x = np.concatenate([rng.normal(0, 0.1, (500, 4)), rng.normal(10, 0.1, (500, 4))]).astype(np.float32)
    with pytest.raises(DetectorError, match="cblof n_clusters=2: Could not form valid cluster separation"):
        fit_and_score("cblof", 2, x, {"t": x})


def test_impossible_pca_grid_points_are_clear_errors():
    x = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    with pytest.raises(DetectorError, match=r"n_components=10 needs n_components <= features \(6\)"):
        fit_and_score("pca", 10, x, {})
    with pytest.raises(DetectorError, match=r"< fit rows \(5\)"):
        fit_and_score("pca", 5, x[:5], {})


def test_seeds_make_stochastic_detectors_reproducible(clustered):
    x, xt = clustered
    for det, v in (("iforest", 10), ("cblof", 5)):
        a = fit_and_score(det, v, x, {"t": xt}, seed=7)[1]["t"]
        b = fit_and_score(det, v, x, {"t": xt}, seed=7)[1]["t"]
        np.testing.assert_array_equal(a, b)
    forest_7 = fit_and_score("iforest", 10, x, {"t": xt}, seed=7)[1]["t"]
    forest_8 = fit_and_score("iforest", 10, x, {"t": xt}, seed=8)[1]["t"]
    assert not np.array_equal(forest_7, forest_8)
