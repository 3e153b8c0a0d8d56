"""Metrics match scikit-learn on hand-made cases, including degenerate ones."""

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from anomale_jax.detect.metrics import all_metrics, per_attack_recall, ranking_metrics, threshold_metrics

Y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
P = np.array([0, 0, 0, 1, 0, 1, 1, 1, 0, 1])
S = np.array([0.1, 0.2, 0.15, 0.7, 0.3, 0.6, 0.9, 0.8, 0.25, 0.65])
A = np.array(["Benign"] * 6 + ["DoS", "DoS", "Scan", "Scan"])


def test_threshold_metrics_match_sklearn():
    m = threshold_metrics(Y, P)
    assert m["f1_macro"] == pytest.approx(f1_score(Y, P, average="macro"))
    assert m["accuracy"] == pytest.approx(accuracy_score(Y, P))
    assert m["precision"] == pytest.approx(precision_score(Y, P))
    assert m["attack_recall"] == pytest.approx(recall_score(Y, P))
    assert m["confusion_matrix"] == confusion_matrix(Y, P).tolist() == [[4, 2], [1, 3]]
    assert m["false_positive_rate"] == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    "y,p",
    [
        (np.zeros(5, int), np.zeros(5, int)),  # one label everywhere: sklearn averages over label 0 only
        (np.zeros(5, int), np.array([0, 1, 0, 0, 0])),  # predicted attacks that do not exist
        (np.ones(4, int), np.zeros(4, int)),  # nothing detected: precision 0 by zero_division
    ],
)
def test_degenerate_cases_match_sklearn_zero_division(y, p):
    m = threshold_metrics(y, p)
    assert m["f1_macro"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert m["precision"] == pytest.approx(precision_score(y, p, zero_division=0))
    assert m["attack_recall"] == pytest.approx(recall_score(y, p, zero_division=0))


def test_ranking_metrics_match_sklearn_and_none_for_one_class():
    m = ranking_metrics(Y, S)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(Y, S))
    assert m["pr_auc"] == pytest.approx(average_precision_score(Y, S))
    assert ranking_metrics(np.zeros(3), np.arange(3)) == {"roc_auc": None, "pr_auc": None}


def test_per_attack_recall_counts_only_attack_rows():
    assert per_attack_recall(Y, P, A) == {"DoS": 1.0, "Scan": 0.5}
    m = all_metrics(Y, P, S, A)
    assert m["n_rows"] == 10 and m["n_attack_rows"] == 4
    assert set(m) >= {"f1_macro", "roc_auc", "pr_auc", "per_attack_recall", "confusion_matrix"}
