"""report.py writes every file (non-empty PNGs, report.md naming the selection split) and a terminal table."""

import numpy as np
import pytest

from anomale_jax.detect import get_preset, metrics_document, run_detection
from anomale_jax.detect.synthetic import synthetic_bundle
from anomale_jax.report import compare_embeddings_vs_raw, format_results_table, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def detection():
    bundle = synthetic_bundle((600, 200, 200), dim=6, raw_dim=4, seed=2)
    config = get_preset("tiny", detectors=("pca", "iforest"))
    return bundle, config


@pytest.mark.parametrize("protocol,statement", [("paper", "selected on TEST (paper protocol"),
                                                ("clean", "selected on VALIDATION (clean protocol)")])
def test_write_report_writes_all_files(tmp_path, detection, protocol, statement):
    bundle, config = detection
    out = run_detection(bundle, config, protocol)
    doc = metrics_document(protocol, out.results, dataset={"name": "synthetic"}, config=config)
    loss = np.linspace(1.4, 0.2, 30) + 0.01 * np.sin(np.arange(30))
    written = write_report(tmp_path, doc, loss_history=loss, test_scores=out.test_scores,
                           test_labels=out.test_labels, embeddings=bundle.test.embeddings,
                           embedding_attacks=bundle.test.edge_attacks, max_projection_points=300)
    names = sorted(p.name for p in written)
    assert names == ["loss.png", "pr.png", "projection.png", "report.md", "roc.png", "scores.png"]
    for p in written:
        assert p.parent == tmp_path and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC and p.stat().st_size > 5000
    text = (tmp_path / "report.md").read_text()
    assert statement in text
    assert "| embedding | benign | PCA | edge |" in text and "![roc](roc.png)" in text
    assert ("do not read it as a held-out estimate" in text) == (protocol == "paper")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_shorthand_arguments_and_nested_dataset(tmp_path, detection):
    bundle, config = detection
    out = run_detection(bundle, config, "paper")
    dataset = {"source": "synthetic", "feature_names": [f"f{i}" for i in range(39)],
               "splits": {"test": {"flows": 200, "edges": 400}}}
    written = write_report(tmp_path, metrics_document("paper", out.results, dataset=dataset),
                           detection=out, bundle=bundle)
    assert {p.name for p in written} == {"report.md", "roc.png", "pr.png", "scores.png", "projection.png"}
    text = (tmp_path / "report.md").read_text()
    assert "- feature_names: 39 items (f0, f1, f2, f3, ...)" in text and "  - test:" in text


def test_report_without_optional_inputs_and_with_failures(tmp_path):
    results = [{"features": "raw", "fit_on": "all", "detector": "cblof", "level": "flow", "params": None,
                "selected_on": "validation", "error": "cblof n_clusters=2: Could not form valid cluster separation",
                "grid": [{"params": {"n_clusters": 2, "contamination": 0.1}, "error": "cblof n_clusters=2: boom"}]}]
    written = write_report(tmp_path, {"protocol": "clean", "results": results})
    assert [p.name for p in written] == ["report.md"]
    text = (tmp_path / "report.md").read_text()
    assert "Grid points that could not be fitted" in text and "cblof n_clusters=2: boom" in text
    table = format_results_table(results)
    assert "failed: cblof n_clusters=2" in table


def test_format_table_and_comparison(detection):
    bundle, config = detection
    out = run_detection(bundle, config, "paper")
    table = format_results_table(out.results)
    lines = table.splitlines()
    assert len(lines) == 2 + len(out.results) and lines[0].split()[:4] == ["features", "fit_on", "detector", "level"]
    assert all(" test " in ln for ln in lines[2:])
    comp = compare_embeddings_vs_raw(out.results)
    assert {(c["detector"], c["fit_on"]) for c in comp} == {(d, f) for d in ("pca", "iforest") for f in ("benign", "all")}
    for c in comp:
        assert c["embedding_wins"] == (c["embedding"] > c["raw"])


def test_caveats_flag_what_limits_the_figures():
    from anomale_jax.report import CHANCE_LOSS, caveats

    def doc(train_flows, train_attacks, test_flows, test_attacks, distinct, rows):
        return {
            "dataset": {"splits": {
                "train": {"flows": train_flows, "attack_flows": train_attacks, "hosts": 12},
                "test": {"flows": test_flows, "attack_flows": test_attacks},
            }},
            "detect_config": {"contaminations": [0.01, 0.2]},
            "results": [{"features": "embedding", "level": "edge", "n_rows": rows, "n_distinct_test_rows": distinct}],
        }

    # BoT-IoT-like: 99.6% attacks, few benign flows, chance-level loss, few distinct embeddings.
    notes = caveats(doc(17500, 17430, 7500, 7473, 40, 15000), loss_history=[CHANCE_LOSS + 0.01, CHANCE_LOSS])
    text = " ".join(notes)
    assert len(notes) == 4
    assert "majority of training flows (99.6%)" in text and "70 benign training flows" in text
    assert "recall stays near the contamination (at most 0.2 here)" in text
    assert "27 benign and 7473 attack flows" in text
    assert "never fell below chance" in text and "12 hosts" in text
    assert "Only 40 distinct test embeddings for 15000 test edges" in text
    # A balanced, learned, well-sized run has nothing to warn about.
    assert caveats(doc(30000, 1500, 10000, 500, 9000, 20000), loss_history=[1.4, 0.3]) == []
