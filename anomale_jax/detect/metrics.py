"""Binary detection metrics, attack = positive class (label 1).

Threshold metrics are computed from the four confusion counts in numpy (the grid evaluates hundreds of
threshold choices on millions of rows); they reproduce scikit-learn's definitions, including macro F1 over the
labels present in `y_true` or `y_pred` and 0 for an undefined precision or recall (`zero_division=0`).
ROC-AUC and PR-AUC (average precision) use scikit-learn on the continuous scores and are None when the labels
hold a single class.
"""

from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int, int]:
    """[n] labels, [n] predictions (0/1) -> (tn, fp, fn, tp)."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = int(np.count_nonzero(y_true & y_pred))
    fp = int(np.count_nonzero(~y_true & y_pred))
    fn = int(np.count_nonzero(y_true & ~y_pred))
    tn = int(y_true.size - tp - fp - fn)
    return tn, fp, fn, tp


def _ratio(num: int, den: int) -> float:
    return float(num) / den if den else 0.0


def threshold_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Macro F1, accuracy, attack precision, attack recall, false-positive rate and confusion matrix.

    Args:
      y_true: [n] 0 benign / 1 attack.
      y_pred: [n] 0/1 predictions.
    Returns:
      dict with f1_macro, accuracy, precision, attack_recall, false_positive_rate, and
      confusion_matrix [[tn, fp], [fn, tp]] (rows = true class, as sklearn).
    """
    tn, fp, fn, tp = confusion(y_true, y_pred)
    n = tn + fp + fn + tp
    f1s = []
    if tp + fn + fp > 0:  # label 1 present in y_true or y_pred
        f1s.append(_ratio(2 * tp, 2 * tp + fp + fn))
    if tn + fp + fn > 0:  # label 0 present
        f1s.append(_ratio(2 * tn, 2 * tn + fn + fp))
    return {
        "f1_macro": float(np.mean(f1s)) if f1s else 0.0,
        "accuracy": _ratio(tp + tn, n),
        "precision": _ratio(tp, tp + fp),
        "attack_recall": _ratio(tp, tp + fn),
        "false_positive_rate": _ratio(fp, fp + tn),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def per_attack_recall(y_true: np.ndarray, y_pred: np.ndarray, attacks: np.ndarray) -> dict[str, float]:
    """Share of each attack class's rows predicted as attack (rows with label 1 only), by attack name."""
    y_true = np.asarray(y_true).astype(bool)
    names, inverse = np.unique(np.asarray(attacks)[y_true].astype(str), return_inverse=True)
    hits = np.bincount(inverse, weights=np.asarray(y_pred)[y_true].astype(np.float64), minlength=names.size)
    counts = np.bincount(inverse, minlength=names.size)
    return {str(name): float(h / c) for name, h, c in zip(names, hits, counts)}


def ranking_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """ROC-AUC and PR-AUC (average precision, attack positive) of continuous scores; None if one class."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_true = np.asarray(y_true).astype(np.int8)
    if y_true.size == 0 or y_true.min() == y_true.max():
        return {"roc_auc": None, "pr_auc": None}
    scores = np.asarray(scores, dtype=np.float64)
    return {
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "pr_auc": float(average_precision_score(y_true, scores)),
    }


def all_metrics(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray, attacks: np.ndarray) -> dict:
    """threshold_metrics + ranking_metrics + per_attack_recall + row counts, for one labelled row set."""
    y_true = np.asarray(y_true)
    out = threshold_metrics(y_true, y_pred)
    out.update(ranking_metrics(y_true, scores))
    out["per_attack_recall"] = per_attack_recall(y_true, y_pred, attacks)
    out["n_rows"] = int(y_true.size)
    out["n_attack_rows"] = int(np.count_nonzero(y_true))
    return out
