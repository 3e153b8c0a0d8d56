"""Grid search over detectors, the two selection protocols, and the results schema.

Protocols:
- `paper`: exactly as published. Each grid point is scored on the TEST split and the point with the highest
  test macro F1 is reported (first maximum in grid order, as the notebook's `if f1 > score`). Every result
  says `"selected_on": "test"`: the figures are optimistic by construction.
- `clean`: every choice (structural value and contamination, i.e. the threshold) is made by validation macro
  F1 at `DetectConfig.selection_level` (default 'flow'); the test labels are read once, for the chosen point.

Levels: embedding detectors score edges. In the published 'paper' edge mode each flow yields two directed
edges (one for a self-loop), so per-edge metrics count most flows twice. The 'flow' level merges the scores
of a flow's edges with `anomale_jax.graph.flow_scores` (by `DetectConfig.flow_merge`, default max: a flow is
flagged if either direction is) and applies the same threshold; raw-feature detectors score flows directly
and only have the 'flow' level. Thresholds always come from the training rows' decision scores (PyOD's rule,
see `anomale_jax.detect.detectors`), per edge for embeddings, per flow for raw features.

Results schema (one dict per features x fit_on x detector x level; `metrics_document` wraps them into the
document the pipeline writes to metrics.json):

    {"features": "embedding" | "raw",          # edge embeddings, or the preprocessed flow features
     "fit_on": "benign" | "all",               # benign-only training rows, or all ("contaminated")
     "detector": "pca" | "iforest" | "cblof" | "hbos",
     "level": "edge" | "flow",                 # what one test row is (see above)
     "params": {"<structural>": int, "contamination": float},   # the selected grid point (None if all failed)
     "selected_on": "test" | "validation",
     "selection": {"split", "level", "metric": "f1_macro", "value"},  # what picked `params`
     "threshold": float,                       # decision-score threshold of the selected point
     "f1_macro", "accuracy", "precision", "attack_recall", "false_positive_rate": float,  # on TEST
     "roc_auc", "pr_auc": float | None,        # of the continuous test scores (None with one class)
     "confusion_matrix": [[tn, fp], [fn, tp]],
     "per_attack_recall": {"<attack name>": float},
     "n_rows", "n_attack_rows": int,           # test rows at this level
     "n_distinct_test_rows": int,              # distinct test feature rows actually scored
     "n_fit_rows", "n_distinct_fit_rows": int,
     "fit_seconds", "score_seconds": float,    # summed over the structural grid
     "error": str | None,                      # set when no grid point could be fitted
     "grid": [{"params": {...}, "split": "test"|"validation", "level": ..., "f1_macro", "accuracy",
               "precision", "attack_recall"}  or  {"params": {...}, "error": "<one line>"}, ...]}

Threshold metrics (F1, accuracy, precision, recall, confusion matrix, per-attack recall) treat attack (label
1) as positive; PR-AUC is average precision with attack positive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from anomale_jax.detect.bundle import DetectionBundle, SplitData
from anomale_jax.detect.config import STRUCTURAL_PARAM, DetectConfig
from anomale_jax.detect.detectors import DetectorError, DistinctRows, Scored, fit_and_score, unique_rows
from anomale_jax.detect.metrics import all_metrics, threshold_metrics
from anomale_jax.errors import InputError
from anomale_jax.graph import flow_scores

PROTOCOLS = ("paper", "clean")
GRID_METRICS = ("f1_macro", "accuracy", "precision", "attack_recall")


@dataclass
class DetectionOutput:
    """What `run_detection` returns.

    Attributes:
      results: the result dicts (schema in the module docstring).
      test_scores: result_key -> [n] test scores of the selected point (for ROC/PR curves and histograms).
      test_labels: result_key -> [n] 0/1 test labels at that result's level.
    """

    results: list[dict]
    test_scores: dict[str, np.ndarray]
    test_labels: dict[str, np.ndarray]


def result_key(result: dict) -> str:
    """'features/fit_on/detector/level', the key of a result in DetectionOutput's score dicts."""
    return f"{result['features']}/{result['fit_on']}/{result['detector']}/{result['level']}"


@dataclass
class _View:
    """One feature set on one split: the rows a detector sees, and how to get per-level labels."""

    rows: np.ndarray  # [n_rows, d]
    distinct: DistinctRows | None  # None where nothing is scored from this view (training rows)
    labels: np.ndarray  # [n_rows] 0/1
    attacks: np.ndarray  # [n_rows] str
    edge_flow: np.ndarray | None  # [n_rows] flow of each row (embeddings); None for flow rows
    split: SplitData

    def levels(self) -> tuple[str, ...]:
        return ("edge", "flow") if self.edge_flow is not None else ("flow",)

    def level_scores(self, scores: np.ndarray, level: str, how: str) -> np.ndarray:
        """[n_rows] row scores -> scores at `level` ([E] for edge, [n_flows] for flow)."""
        if level == "edge" or self.edge_flow is None:
            return scores
        return flow_scores(scores, self.edge_flow, self.split.num_flows, how=how)

    def level_labels(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        if level == "edge" or self.edge_flow is None:
            return self.labels, self.attacks
        return self.split.flow_labels, self.split.flow_attacks


def _view(split: SplitData, features: str, dedup: bool, scored: bool = True) -> _View:
    rows = split.embeddings if features == "embedding" else split.raw_features
    distinct = DistinctRows.of(rows, dedup) if scored else None
    if features == "embedding":
        return _View(rows, distinct, split.edge_labels, split.edge_attacks, split.edge_flow, split)
    return _View(rows, distinct, split.flow_labels, split.flow_attacks, None, split)


def _grid_entry(params: dict, split: str, level: str, metrics: dict) -> dict:
    return {"params": params, "split": split, "level": level, **{k: metrics[k] for k in GRID_METRICS}}


def _better(candidate: float, best: float | None) -> bool:
    return best is None or candidate > best


def run_detection(
    bundle: DetectionBundle,
    config: DetectConfig,
    protocol: str = "clean",
    *,
    log: Callable[[str], None] | None = None,
) -> DetectionOutput:
    """Runs every detector grid on the bundle and selects one point per result under `protocol`.

    Args:
      bundle: per-split embeddings, raw features, labels (see `anomale_jax.detect.bundle`).
      config: detector grids and options (`anomale_jax.detect.config.PRESETS`).
      protocol: 'paper' (select by test macro F1, as published) or 'clean' (select on validation).
      log: called with one short line per fitted grid value (e.g. `print`); None for silence.
    Returns:
      DetectionOutput with results (module docstring schema) and the selected points' test scores.
    Raises:
      InputError: unknown protocol, or 'clean' without a validation split.
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    if protocol == "clean" and bundle.validation is None:
        raise InputError("the clean protocol selects on validation, but the bundle has no validation split")
    config = config.validate()
    say = log or (lambda line: None)
    select_split = "test" if protocol == "paper" else "validation"
    out = DetectionOutput([], {}, {})

    for features in config.features:
        train = _view(bundle.train, features, config.dedup, scored=False)
        evals = {"test": _view(bundle.test, features, config.dedup)}
        if protocol == "clean":
            evals["validation"] = _view(bundle.validation, features, config.dedup)
        for fit_on in config.fit_on:
            mask = train.labels == 0 if fit_on == "benign" else np.ones(train.labels.shape, bool)
            x_fit = train.rows[mask]
            # Only Isolation Forest scores its fit rows itself (PyOD detectors return decision_scores_).
            if config.dedup:
                first, inverse = unique_rows(x_fit)
            else:
                first, inverse = np.arange(x_fit.shape[0]), np.arange(x_fit.shape[0])
            fit_distinct = DistinctRows(x_fit[first], inverse) if "iforest" in config.detectors else None
            n_distinct_fit = int(first.size)
            for detector in config.detectors:
                say(f"[detect] {features}/{fit_on} {detector}: {x_fit.shape[0]} fit rows "
                    f"({n_distinct_fit} distinct), grid {config.grid(detector)}")
                out_results = _run_one(
                    features=features, fit_on=fit_on, detector=detector, x_fit=x_fit, fit_distinct=fit_distinct,
                    n_distinct_fit=n_distinct_fit, evals=evals, config=config, protocol=protocol,
                    select_split=select_split, say=say,
                )
                for result, scores, labels in out_results:
                    out.results.append(result)
                    if scores is not None:
                        out.test_scores[result_key(result)] = scores
                        out.test_labels[result_key(result)] = labels
    return out


def _run_one(
    *, features, fit_on, detector, x_fit, fit_distinct, n_distinct_fit, evals, config, protocol, select_split, say
) -> list[tuple[dict, np.ndarray | None, np.ndarray | None]]:
    """One features x fit_on x detector: fit each structural value, evaluate the grid, select, report.

    Returns one (result, test scores at its level, test labels at its level) per level; scores and labels
    are None when no grid point could be fitted.
    """
    param = STRUCTURAL_PARAM[detector]
    levels = evals["test"].levels()
    sel_view = evals[select_split]
    # Paper: every level selects on its own test metric. Clean: one choice, made at the selection level.
    sel_levels = levels if protocol == "paper" else (
        (config.selection_level,) if config.selection_level in levels else ("flow",)
    )
    grid: dict[str, list] = {lvl: [] for lvl in sel_levels}
    best: dict[str, tuple] = {}  # selection level -> (f1, value, contamination)
    fitted: dict[int, tuple[Scored, dict[str, np.ndarray]]] = {}
    errors: list[str] = []
    fit_seconds = score_seconds = 0.0

    for value in config.grid(detector):
        value = int(value)
        t0 = time.perf_counter()
        try:
            scored, scores = fit_and_score(
                detector, value, x_fit, {k: v.distinct for k, v in evals.items()},
                seed=config.seed, iforest_rule=config.iforest_rule, dedup=config.dedup, fit_distinct=fit_distinct,
            )
        except DetectorError as exc:
            errors.append(str(exc))
            for lvl in sel_levels:
                grid[lvl].extend({"params": {param: value, "contamination": float(c)}, "error": str(exc)}
                                 for c in config.contaminations)
            say(f"[detect]   {param}={value}: FAILED ({exc})")
            continue
        fitted[value] = (scored, scores)
        fit_seconds += scored.fit_seconds
        score_seconds += scored.score_seconds
        # Grid metrics on the selection split only (the test split, under the paper protocol).
        for lvl in sel_levels:
            s = sel_view.level_scores(scores[select_split], lvl, config.flow_merge)
            y, _ = sel_view.level_labels(lvl)
            for c in config.contaminations:
                m = threshold_metrics(y, scored.predict(s, c))
                grid[lvl].append(_grid_entry({param: value, "contamination": float(c)}, select_split, lvl, m))
                if _better(m["f1_macro"], best.get(lvl, (None,))[0]):
                    best[lvl] = (m["f1_macro"], value, float(c))
        top = max((best[lvl][0] for lvl in sel_levels if lvl in best), default=float("nan"))
        say(f"[detect]   {param}={value}: fit {scored.fit_seconds:.1f}s, score {scored.score_seconds:.1f}s, "
            f"best {select_split} F1 so far {top:.4f} ({time.perf_counter() - t0:.1f}s)")

    base = {
        "features": features, "fit_on": fit_on, "detector": detector,
        "selected_on": select_split,
        "n_fit_rows": int(x_fit.shape[0]), "n_distinct_fit_rows": n_distinct_fit,
        "n_distinct_test_rows": evals["test"].distinct.num_distinct,
        "fit_seconds": fit_seconds, "score_seconds": score_seconds,
    }
    results = []
    for lvl in levels:
        chooser = lvl if protocol == "paper" else sel_levels[0]
        entry = dict(base, level=lvl, grid=grid[chooser])
        if chooser not in best:
            entry.update(params=None, selection=None, threshold=None, error="; ".join(errors) or "no grid point")
            entry.update({k: None for k in (*GRID_METRICS, "false_positive_rate", "roc_auc", "pr_auc",
                                            "confusion_matrix", "per_attack_recall", "n_rows", "n_attack_rows")})
            results.append((entry, None, None))
            continue
        f1, value, c = best[chooser]
        scored, scores = fitted[value]
        test = evals["test"]
        s = test.level_scores(scores["test"], lvl, config.flow_merge)
        y, attacks = test.level_labels(lvl)
        metrics = all_metrics(y, scored.predict(s, c), s, attacks)  # the one read of test labels (clean)
        entry.update(
            params={param: value, "contamination": c},
            selection={"split": select_split, "level": chooser, "metric": "f1_macro", "value": f1},
            threshold=scored.threshold(c),
            error=None,
            **metrics,
        )
        results.append((entry, s, np.asarray(y)))
    return results


def metrics_document(
    protocol: str, results: list[dict], *, dataset: dict | None = None, config: DetectConfig | None = None
) -> dict:
    """The metrics.json document: {"protocol", "selected_on", "dataset", "detect_config", "results"}."""
    import dataclasses

    return {
        "protocol": protocol,
        "selected_on": "test" if protocol == "paper" else "validation",
        "dataset": dataset or {},
        "detect_config": dataclasses.asdict(config) if config is not None else None,
        "results": results,
    }
