"""Detector grids and detection-stage options, as a frozen config with named presets.

Presets: `paper` (the published grids, ANOMALE.md step 13), `quick` (one structural value per detector, for
the demo), `tiny` (for tests). Contamination never refits a detector: it only sets the threshold on the
decision scores of the training rows (see `anomale_jax.detect.detectors.predict`), so the full contamination
list is cheap in every preset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from anomale_jax.errors import InputError

DETECTORS = ("pca", "iforest", "cblof", "hbos")
"""Every detector name, in the order results are reported."""

STRUCTURAL_PARAM = {"pca": "n_components", "iforest": "n_estimators", "cblof": "n_clusters", "hbos": "n_bins"}
"""The one structural hyperparameter each detector's grid runs over."""

PAPER_CONTAMINATIONS = (0.001, 0.01, 0.04, 0.05, 0.1, 0.2)


@dataclass(frozen=True)
class DetectConfig:
    """What the detection stage fits, scores and selects."""

    detectors: tuple[str, ...] = DETECTORS
    """Detectors to run, a subset of ('pca', 'iforest', 'cblof', 'hbos')."""
    features: tuple[str, ...] = ("embedding", "raw")
    """Feature sets: 'embedding' (edge embeddings) and/or 'raw' (preprocessed flow features, the baseline)."""
    fit_on: tuple[str, ...] = ("benign", "all")
    """Training rows each detector is fitted on: 'benign' (Label 0 only) and/or 'all' ("contaminated")."""
    pca_n_components: tuple[int, ...] = (5, 10, 15, 20, 25, 30)
    """PyOD PCA `n_components` grid (published 5..30 step 5)."""
    iforest_n_estimators: tuple[int, ...] = (20, 50, 100, 150)
    """Isolation Forest `n_estimators` grid (published {20, 50, 100, 150})."""
    cblof_n_clusters: tuple[int, ...] = (2, 3, 5, 7, 9, 10)
    """PyOD CBLOF `n_clusters` grid (published {2, 3, 5, 7, 9, 10})."""
    hbos_n_bins: tuple[int, ...] = (5, 10, 15, 20, 25, 30)
    """PyOD HBOS `n_bins` grid (published 5..30 step 5)."""
    contaminations: tuple[float, ...] = PAPER_CONTAMINATIONS
    """Contamination values; each only sets a threshold on the training decision scores. PyOD needs (0, 0.5]."""
    iforest_rule: str = "sklearn"
    """Isolation Forest threshold rule: 'sklearn' (`IsolationForest.predict`, what the notebook called) or
    'pyod' (`pyod.models.iforest.IForest.predict`). Same trees for the same seed; only the rule differs."""
    seed: int = 0
    """random_state of every stochastic detector (Isolation Forest, CBLOF's KMeans, PCA's randomized SVD)."""
    flow_merge: str = "max"
    """How the two directed edges of a flow are merged into one flow score: 'max' (a flow is an attack if
    either direction is flagged) or 'mean'."""
    selection_level: str = "flow"
    """Clean protocol: the level ('flow' or 'edge') whose validation macro F1 picks the grid point."""
    dedup: bool = True
    """Score each distinct feature row once and broadcast (parallel flows often share one embedding)."""

    def grid(self, detector: str) -> tuple[int, ...]:
        """The structural values of `detector`'s grid."""
        return {
            "pca": self.pca_n_components,
            "iforest": self.iforest_n_estimators,
            "cblof": self.cblof_n_clusters,
            "hbos": self.hbos_n_bins,
        }[detector]

    def validate(self) -> "DetectConfig":
        """Raises InputError on an unknown name or an out-of-range value; returns self."""
        for name, allowed, values in (
            ("detectors", DETECTORS, self.detectors),
            ("features", ("embedding", "raw"), self.features),
            ("fit_on", ("benign", "all"), self.fit_on),
        ):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                raise InputError(f"detect config: {name} must be a non-empty subset of {allowed}; got {values!r}")
        bad_c = [c for c in self.contaminations if not 0.0 < float(c) <= 0.5]
        if bad_c or not self.contaminations:
            raise InputError(f"detect config: contaminations must lie in (0, 0.5]; got e.g. {bad_c[:1] or '()'}")
        for det in self.detectors:
            values = self.grid(det)
            if not values or any(int(v) < 1 for v in values):
                raise InputError(f"detect config: {det} {STRUCTURAL_PARAM[det]} grid must be positive ints; got {values!r}")
        if self.iforest_rule not in ("sklearn", "pyod"):
            raise InputError(f"detect config: iforest_rule must be 'sklearn' or 'pyod'; got {self.iforest_rule!r}")
        if self.flow_merge not in ("max", "mean"):
            raise InputError(f"detect config: flow_merge must be 'max' or 'mean'; got {self.flow_merge!r}")
        if self.selection_level not in ("flow", "edge"):
            raise InputError(f"detect config: selection_level must be 'flow' or 'edge'; got {self.selection_level!r}")
        return self


PRESETS: dict[str, DetectConfig] = {
    "paper": DetectConfig(),
    "quick": DetectConfig(
        pca_n_components=(10,),
        iforest_n_estimators=(50,),
        cblof_n_clusters=(5,),
        hbos_n_bins=(10,),
    ),
    "tiny": DetectConfig(
        pca_n_components=(2, 4),
        iforest_n_estimators=(10,),
        cblof_n_clusters=(3,),
        hbos_n_bins=(5, 10),
        contaminations=(0.01, 0.1, 0.2),
    ),
}


def get_preset(name: str, **overrides) -> DetectConfig:
    """A named preset, optionally with fields replaced (`dataclasses.replace`), validated."""
    if name not in PRESETS:
        raise InputError(f"unknown detection grid {name!r}; choose one of {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides).validate()
