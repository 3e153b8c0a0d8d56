"""Outlier detectors (PyOD / scikit-learn), fitted once per structural value; thresholds from contamination.

A fitted detector is reduced to its decision scores (higher = more anomalous): the scores of the rows it was
fitted on and the scores of any rows it is asked to score. Contamination never refits anything; the
prediction for contamination `c` is derived from those scores exactly as the library would do it:

- PyOD (`BaseDetector._process_decision_scores` and `predict`): ``threshold_ = numpy.percentile(
  decision_scores_, 100 * (1 - c))`` over the training scores, and a row is an outlier iff
  ``score > threshold_`` (strict).
- scikit-learn `IsolationForest` (what the published notebook called): ``offset_ = numpy.percentile(
  score_samples(X_train), 100 * c)`` and a row is an outlier iff ``score_samples(x) - offset_ < 0``.
- PyOD `IForest` wraps the same forest, but its decision scores are ``-(score_samples - offset_)``, so the
  offset (hence the scores) depends on `c`; the same formulas are replayed per `c`.

tests/detect/test_detectors.py checks bit-for-bit equality with `fit(contamination=c).predict(X)`.

Isolation Forest is built on scikit-learn's `IsolationForest` with PyOD `IForest`'s defaults
(max_samples='auto', max_features=1.0, bootstrap=False) and contamination='auto', so that the training rows
are scored once (PyOD scores them twice) and, with deduplication, only once per distinct row.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from anomale_jax.detect.config import STRUCTURAL_PARAM


class DetectorError(ValueError):
    """A grid point that cannot be fitted (e.g. CBLOF without cluster structure); recorded, not raised."""


# ---------------------------------------------------------------------------------------------------------
# Distinct rows


def _row_hash(words: np.ndarray) -> np.ndarray:
    """[n, k] uint64 words -> [n] uint64 hash (random odd multipliers, xor and rotate; wraps mod 2**64)."""
    mult = np.random.default_rng(0x5EED).integers(1, 2**63, size=words.shape[1], dtype=np.uint64) | np.uint64(1)
    h = np.zeros(words.shape[0], np.uint64)
    for j in range(words.shape[1]):
        h ^= words[:, j] * mult[j]
        h = (h << np.uint64(13)) | (h >> np.uint64(51))
    return h


def unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of `x` by their bytes, and the map back.

    Rows are hashed to 64 bits (a random linear hash of their 8-byte words), grouped with `np.unique`, and
    the grouping is verified byte for byte; on a hash collision it falls back to `np.unique` over a void
    view. (+0.0 and -0.0 count as different rows; that only costs one extra score.)

    Args:
      x: [n, d] array.
    Returns:
      first: [u] int64 index of the first occurrence of each distinct row, in order of first occurrence.
      inverse: [n] int64 with x[first[inverse]] == x.
    """
    x = np.ascontiguousarray(x)
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    raw = x.reshape(n, -1).view(np.uint8).reshape(n, -1)  # [n, bytes]
    pad = (-raw.shape[1]) % 8
    if pad:
        raw = np.concatenate([raw, np.zeros((n, pad), np.uint8)], axis=1)
    _, first, inverse = np.unique(_row_hash(raw.view(np.uint64)), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    chunk = max(1, (64 << 20) // raw.shape[1])  # verify in ~64 MB blocks
    collision = any(
        not np.array_equal(raw[first[inverse[i : i + chunk]]], raw[i : i + chunk]) for i in range(0, n, chunk)
    )
    if collision:
        void = raw.view(np.dtype((np.void, raw.shape[1]))).ravel()
        _, first, inverse = np.unique(void, return_index=True, return_inverse=True)
    # Renumber groups by first occurrence, so the order does not depend on hash values.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order].astype(np.int64), rank[inverse.ravel()].astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# Fitting and scoring


@dataclass(frozen=True)
class Scored:
    """Decision scores of one fitted detector; every contamination's prediction derives from them.

    Attributes:
      train_scores: [n_fit] anomaly scores of the rows the detector was fitted on (higher = more anomalous).
      rule: 'pyod', 'sklearn_iforest' or 'pyod_iforest': how a contamination becomes a prediction.
      fit_seconds, score_seconds: wall times of the fit and of scoring the extra rows.
    """

    train_scores: np.ndarray
    rule: str
    fit_seconds: float = 0.0
    score_seconds: float = 0.0

    def predict(self, scores: np.ndarray, contamination: float) -> np.ndarray:
        """[n] scores of this detector -> [n] int8 predictions (1 = attack) for `contamination`."""
        return predict(self.train_scores, scores, contamination, self.rule)

    def threshold(self, contamination: float) -> float:
        """The score above which (strictly) a row is flagged; exact for the 'pyod' rule, equivalent otherwise."""
        c = float(contamination)
        if self.rule == "pyod":
            return float(np.percentile(self.train_scores, 100 * (1 - c)))
        raw = -self.train_scores
        offset = np.percentile(raw, 100.0 * c)
        if self.rule == "sklearn_iforest":
            return float(-offset)
        dec = -(raw - offset)
        return float(np.percentile(dec, 100 * (1 - c)) - offset)


def predict(train_scores: np.ndarray, scores: np.ndarray, contamination: float, rule: str = "pyod") -> np.ndarray:
    """Predictions for one contamination from precomputed decision scores, as the library computes them.

    Args:
      train_scores: [n_fit] anomaly scores of the fit rows (PyOD's `decision_scores_`; for Isolation Forest
        the negated `score_samples` of the fit rows).
      scores: [n] anomaly scores of the rows to label (same convention).
      contamination: in (0, 0.5].
      rule: 'pyod' (PyOD BaseDetector), 'sklearn_iforest' (sklearn IsolationForest.predict) or
        'pyod_iforest' (PyOD IForest.predict).
    Returns:
      [n] int8, 1 = outlier/attack.
    """
    c = float(contamination)
    scores = np.asarray(scores)
    if rule == "pyod":
        threshold = np.percentile(train_scores, 100 * (1 - c))
        return (scores > threshold).astype(np.int8)
    # Isolation Forest: undo the negation to get sklearn's score_samples (negation is exact).
    raw_train, raw = -np.asarray(train_scores), -scores
    offset = np.percentile(raw_train, 100.0 * c)
    if rule == "sklearn_iforest":
        return ((raw - offset) < 0).astype(np.int8)
    if rule == "pyod_iforest":
        threshold = np.percentile(-(raw_train - offset), 100 * (1 - c))
        return ((-(raw - offset)) > threshold).astype(np.int8)
    raise ValueError(f"unknown threshold rule {rule!r}")


def _check_shape(detector: str, value: int, x_fit: np.ndarray) -> None:
    """Turns impossible grid points into a clear DetectorError before the library raises something obscure."""
    n, d = x_fit.shape
    if n < 2:
        raise DetectorError(f"{detector}: needs at least 2 fit rows, got {n}")
    if detector == "pca" and value > min(n - 1, d):
        raise DetectorError(
            f"pca: n_components={value} needs n_components <= features ({d}) and < fit rows ({n})"
        )
    if detector == "cblof" and value >= n:
        raise DetectorError(f"cblof: n_clusters={value} needs more fit rows than clusters, got {n}")


def _make_pyod(detector: str, value: int, seed: int):
    if detector == "pca":
        from pyod.models.pca import PCA

        return PCA(n_components=value, random_state=seed)
    if detector == "cblof":
        from pyod.models.cblof import CBLOF

        return CBLOF(n_clusters=value, random_state=seed)
    if detector == "hbos":
        from pyod.models.hbos import HBOS

        return HBOS(n_bins=value)
    raise ValueError(f"not a PyOD-backed detector: {detector!r}")


class DistinctRows(NamedTuple):
    """A row set stored as its distinct rows plus the map back; scores are computed on `rows` only."""

    rows: np.ndarray  # [u, d] distinct rows
    inverse: np.ndarray  # [n] int64, full row i is rows[inverse[i]]

    @classmethod
    def of(cls, x: np.ndarray, dedup: bool = True) -> "DistinctRows":
        """[n, d] -> DistinctRows (identity map when `dedup` is False)."""
        x = np.asarray(x)
        if not dedup:
            return cls(x, np.arange(x.shape[0], dtype=np.int64))
        first, inverse = unique_rows(x)
        return cls(x[first], inverse)

    @property
    def num_distinct(self) -> int:
        return int(self.rows.shape[0])

    def broadcast(self, distinct_scores: np.ndarray) -> np.ndarray:
        """[u] scores of the distinct rows -> [n] scores of every row."""
        return np.asarray(distinct_scores, dtype=np.float64)[self.inverse]


def _score(score_fn, rows: DistinctRows) -> np.ndarray:
    if rows.num_distinct == 0:
        return np.zeros(rows.inverse.shape[0])
    return rows.broadcast(score_fn(rows.rows))


def fit_and_score(
    detector: str,
    value: int,
    x_fit: np.ndarray,
    to_score: dict[str, np.ndarray | DistinctRows],
    *,
    seed: int = 0,
    iforest_rule: str = "sklearn",
    dedup: bool = True,
    fit_distinct: DistinctRows | None = None,
) -> tuple[Scored, dict[str, np.ndarray]]:
    """Fits one detector at one structural value on all fit rows; scores other row sets, each distinct row once.

    Args:
      detector: 'pca' | 'iforest' | 'cblof' | 'hbos'.
      value: the structural parameter (n_components, n_estimators, n_clusters or n_bins).
      x_fit: [n_fit, d] rows to fit on (duplicates included: they weigh in the fit).
      to_score: name -> [n, d] rows, or their precomputed DistinctRows, to score (e.g. 'test').
      seed: random_state for Isolation Forest, CBLOF's KMeans and PCA.
      iforest_rule: 'sklearn' or 'pyod' threshold rule for Isolation Forest.
      dedup: score distinct rows once and broadcast (arrays in `to_score` are deduplicated here).
      fit_distinct: DistinctRows of `x_fit`, if already computed (Isolation Forest scores its fit rows).
    Returns:
      (Scored holding the fit rows' scores, name -> [n] float64 scores).
    Raises:
      DetectorError: the grid point cannot be fitted (shape limits, CBLOF cluster separation failure).
    """
    x_fit = np.asarray(x_fit)
    _check_shape(detector, int(value), x_fit)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CBLOF cluster-count and KMeans convergence chatter
            if detector == "iforest":
                from sklearn.ensemble import IsolationForest

                model = IsolationForest(
                    n_estimators=int(value),
                    max_samples="auto",
                    contamination="auto",
                    max_features=1.0,
                    bootstrap=False,
                    n_jobs=1,
                    random_state=seed,
                ).fit(x_fit)

                def score_fn(x):
                    return -model.score_samples(x)

                fit_rows = fit_distinct if fit_distinct is not None else DistinctRows.of(x_fit, dedup)
                train_scores = _score(score_fn, fit_rows)
                rule = "sklearn_iforest" if iforest_rule == "sklearn" else "pyod_iforest"
            else:
                model = _make_pyod(detector, int(value), seed).fit(x_fit)
                score_fn = model.decision_function
                train_scores = np.asarray(model.decision_scores_, dtype=np.float64)
                rule = "pyod"
    except ValueError as exc:  # e.g. CBLOF "Could not form valid cluster separation"
        raise DetectorError(f"{detector} {STRUCTURAL_PARAM[detector]}={value}: {exc}".splitlines()[0]) from exc
    fit_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    scores = {}
    for name, x in to_score.items():
        rows = x if isinstance(x, DistinctRows) else DistinctRows.of(x, dedup)
        scores[name] = _score(score_fn, rows)
    score_seconds = time.perf_counter() - t0
    return Scored(train_scores, rule, fit_seconds, score_seconds), scores
