"""Protocols: paper selects by test and says so; clean selects on validation only; flow-level merging."""

import dataclasses

import numpy as np
import pytest

from anomale_jax.detect.bundle import DetectionBundle, make_split
from anomale_jax.detect.config import get_preset
from anomale_jax.detect.evaluate import metrics_document, result_key, run_detection
from anomale_jax.detect.metrics import threshold_metrics
from anomale_jax.detect.synthetic import synthetic_bundle
from anomale_jax.errors import InputError
from anomale_jax.graph import flow_scores

REQUIRED = {
    "features", "fit_on", "detector", "params", "selected_on", "f1_macro", "accuracy", "precision",
    "attack_recall", "roc_auc", "pr_auc", "confusion_matrix", "per_attack_recall", "level",
    "n_distinct_test_rows", "grid",
}


@pytest.fixture(scope="module")
def bundle():
    return synthetic_bundle((1000, 400, 400), dim=8, raw_dim=5, seed=1)


@pytest.fixture(scope="module")
def config():
    return get_preset("tiny", detectors=("pca", "hbos", "cblof"), cblof_n_clusters=(2, 5))


def test_paper_protocol_selects_best_test_point_and_labels_it(bundle, config):
    out = run_detection(bundle, config, "paper")
    assert len(out.results) == 2 * 2 * 3 + 2 * 3  # embeddings at edge+flow, raw at flow
    for r in out.results:
        assert REQUIRED <= set(r)
        assert r["selected_on"] == "test"
        ok = [g for g in r["grid"] if "error" not in g]
        if not ok:  # every grid point failed (CBLOF): reported, not selected
            assert r["params"] is None and r["error"]
            continue
        assert r["selection"]["split"] == "test"
        assert all(g["split"] == "test" and g["level"] == r["level"] for g in ok)
        best = max(ok, key=lambda g: g["f1_macro"])  # max() keeps the first maximum, as the notebook
        assert r["params"] == best["params"] and r["f1_macro"] == pytest.approx(best["f1_macro"])
    assert metrics_document("paper", out.results)["selected_on"] == "test"


def test_clean_protocol_never_reads_test_labels_for_selection(bundle, config):
    out = run_detection(bundle, config, "clean")
    rng = np.random.default_rng(5)
    t = bundle.test
    scrambled = t._replace(flow_labels=rng.permutation(t.flow_labels), flow_attacks=rng.permutation(t.flow_attacks))
    out2 = run_detection(bundle._replace(test=scrambled), config, "clean")
    changed = 0
    for a, b in zip(out.results, out2.results):
        assert a["selected_on"] == "validation" and all(g["split"] == "validation" for g in a["grid"] if "split" in g)
        assert a["params"] == b["params"] and a["grid"] == b["grid"]
        changed += a["f1_macro"] != b["f1_macro"] if a["f1_macro"] is not None else 0
    assert changed > 0  # the test metrics did see the new labels; only the choice ignored them


def test_clean_selection_follows_validation_labels(bundle, config):
    # Flipping validation labels must be able to change the chosen point (the selection really uses them).
    out = run_detection(bundle, config, "clean")
    v = bundle.validation
    flipped = v._replace(flow_labels=(1 - v.flow_labels).astype(np.int8))
    out2 = run_detection(bundle._replace(validation=flipped), config, "clean")
    assert any(a["params"] != b["params"] for a, b in zip(out.results, out2.results))


def test_clean_requires_validation_and_known_protocol(bundle, config):
    with pytest.raises(InputError, match="no validation split"):
        run_detection(bundle._replace(validation=None), config, "clean")
    with pytest.raises(InputError, match="unknown protocol"):
        run_detection(bundle, config, "best")


def test_flow_level_merges_both_edges_by_max(bundle, config):
    cfg = dataclasses.replace(config, detectors=("pca",), features=("embedding",), fit_on=("all",))
    out = run_detection(bundle, cfg, "paper")
    edge = next(r for r in out.results if r["level"] == "edge")
    flow = next(r for r in out.results if r["level"] == "flow")
    assert edge["n_rows"] == bundle.test.num_edges == 2 * flow["n_rows"] == 2 * bundle.test.num_flows
    # Flow scores are the max of each flow's two edge scores; a flow is flagged iff either edge is.
    fs = out.test_scores[result_key(flow)]
    es = out.test_scores[result_key(edge)]
    np.testing.assert_array_equal(fs, flow_scores(es, bundle.test.edge_flow, bundle.test.num_flows, "max"))
    thr = flow["threshold"]
    any_edge = np.zeros(bundle.test.num_flows, bool)
    np.logical_or.at(any_edge, bundle.test.edge_flow, es > thr)
    np.testing.assert_array_equal(fs > thr, any_edge)
    m = threshold_metrics(bundle.test.flow_labels, fs > thr)
    if flow["params"]["contamination"] == edge["params"]["contamination"]:
        assert m["confusion_matrix"] == flow["confusion_matrix"]
    np.testing.assert_array_equal(out.test_labels[result_key(flow)], bundle.test.flow_labels)


def test_flow_level_on_a_hand_made_case():
    # 3 flows of two edges; attack flow 1 has one far-out edge (9.0) and one normal edge (0.0).
    emb = np.array([[0.0], [0.0], [9.0], [0.0], [0.0], [0.01]], np.float32)
    test = make_split(emb, np.array([0, 0, 1, 1, 2, 2]), np.zeros((3, 1)), np.array([0, 1, 0]),
                      np.array(["Benign", "DoS", "Benign"]))
    x = np.random.default_rng(0).normal(0, 0.1, (200, 1))
    train = make_split(x, np.arange(200), x, np.zeros(200, int), np.array(["Benign"] * 200))
    cfg = get_preset("tiny", detectors=("iforest",), features=("embedding",), fit_on=("all",),
                     iforest_n_estimators=(50,), contaminations=(0.05,))
    out = run_detection(DetectionBundle(train=train, test=test), cfg, "paper")
    edge, flow = (next(r for r in out.results if r["level"] == lvl) for lvl in ("edge", "flow"))
    assert edge["confusion_matrix"] == [[4, 0], [1, 1]] and edge["attack_recall"] == 0.5
    assert flow["confusion_matrix"] == [[2, 0], [0, 1]] and flow["attack_recall"] == 1.0
    assert flow["per_attack_recall"] == {"DoS": 1.0} and edge["per_attack_recall"] == {"DoS": 0.5}
    assert flow["n_distinct_test_rows"] == 3  # 0.0, 9.0 and 0.01


def test_cblof_failure_recorded_per_grid_point():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (300, 3)), rng.normal(10, 0.1, (300, 3))]).astype(np.float32)
    split = make_split(x, np.arange(600), x, np.zeros(600, int), np.array(["Benign"] * 600))
    cfg = get_preset("tiny", detectors=("cblof",), cblof_n_clusters=(2,), fit_on=("all",))
    out = run_detection(DetectionBundle(train=split, test=split, validation=split), cfg, "clean")
    for r in out.results:
        assert r["params"] is None and "Could not form valid cluster separation" in r["error"]
        assert len(r["grid"]) == len(cfg.contaminations) and all("error" in g for g in r["grid"])


def test_log_reports_progress(bundle, config):
    lines = []
    run_detection(bundle, dataclasses.replace(config, detectors=("hbos",), features=("raw",)), "paper", log=lines.append)
    assert any("raw/benign hbos" in ln for ln in lines) and any("n_bins=10" in ln for ln in lines)
