"""End-to-end `anomale-jax run` on small synthetic traffic, and its user-facing errors."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from anomale_jax.cli import main
from anomale_jax.config import PRESETS
from anomale_jax.detect.config import get_preset
from anomale_jax.pipeline import InputSpec, read_run_config, run_pipeline

TINY = dataclasses.replace(PRESETS["tiny"], train=dataclasses.replace(PRESETS["tiny"].train, epochs=5))
GRID = get_preset("tiny", detectors=("pca", "hbos"))


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    lines: list[str] = []
    doc = run_pipeline(TINY, GRID, out, InputSpec(synthetic_flows=3000, synthetic_seed=1), progress=False,
                       log=lines.append)
    return out, doc, lines


def test_run_writes_every_artifact(clean_run):
    out, doc, lines = clean_run
    for name in ("config.json", "preprocessor.json", "model.npz", "checkpoint.npz", "history.json", "embeddings.npz", "metrics.json",
                 "report.md", "loss.png", "roc.png", "pr.png", "scores.png", "projection.png",
                 "data/synthetic.parquet"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    # Every stage reported its end, in order.
    ends = [line.split("]")[1].split(":")[0].strip() for line in lines if line.startswith("[") and ": " in line]
    assert ends == ["data", "preprocess", "graph", "train", "embed", "detect", "report"]
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(doc))


def test_metrics_follow_the_documented_schema(clean_run):
    _, doc, _ = clean_run
    assert doc["protocol"] == "clean" and doc["selected_on"] == "validation"
    keys = {(r["features"], r["fit_on"], r["detector"], r["level"]) for r in doc["results"]}
    for fit_on in ("benign", "all"):
        for det in ("pca", "hbos"):
            assert ("embedding", fit_on, det, "edge") in keys and ("embedding", fit_on, det, "flow") in keys
            assert ("raw", fit_on, det, "flow") in keys
    for r in doc["results"]:
        assert r["selected_on"] == "validation"
        if r["error"] is None:
            assert 0.0 <= r["f1_macro"] <= 1.0 and 0.0 <= r["attack_recall"] <= 1.0
            assert r["params"]["contamination"] in GRID.contaminations
    splits = doc["dataset"]["splits"]
    # Paper edge mode: two directed edges per flow (the generator makes no self-loops).
    assert all(s["edges"] == 2 * s["flows"] for s in splits.values())
    assert sum(s["flows"] for s in splits.values()) == 3000


def test_config_json_reruns_the_same_run(clean_run):
    out, _, _ = clean_run
    config, detect, inputs = read_run_config(out / "config.json")
    assert config == TINY and detect == GRID and inputs == InputSpec(synthetic_flows=3000, synthetic_seed=1)


def test_embed_command_reproduces_the_run_embeddings(clean_run, tmp_path):
    out, doc, _ = clean_run
    from anomale_jax.detect.bundle import load_bundle

    # --split test re-prepares the file with the run's data config and embeds the test split.
    target = tmp_path / "test.npy"
    assert main(["embed", "--checkpoint", str(out), "--data", str(out / "data/synthetic.parquet"),
                 "--split", "test", "--out", str(target)]) == 0
    np.testing.assert_allclose(np.load(target), load_bundle(out / "embeddings.npz").test.embeddings, atol=1e-6)
    # --split all uses the run's saved preprocessor.json on every row.
    assert main(["embed", "--checkpoint", str(out), "--data", str(out / "data/synthetic.parquet"),
                 "--split", "all", "--out", str(tmp_path / "all.npy")]) == 0
    assert np.load(tmp_path / "all.npy").shape == (2 * 3000, TINY.model.edge_dim)


def test_bundle_matches_dataset_summary(clean_run):
    out, doc, _ = clean_run
    from anomale_jax.detect.bundle import load_bundle

    bundle = load_bundle(out / "embeddings.npz")
    assert bundle.train.embeddings.shape == (doc["dataset"]["splits"]["train"]["edges"], TINY.model.edge_dim)
    assert np.isfinite(bundle.test.embeddings).all()
    assert int(bundle.test.flow_labels.sum()) == doc["dataset"]["splits"]["test"]["attack_flows"]


def test_paper_protocol_selects_on_test(tmp_path):
    config = dataclasses.replace(TINY, data=PRESETS["paper"].data)
    grid = get_preset("tiny", detectors=("pca",), fit_on=("benign",))
    doc = run_pipeline(config, grid, tmp_path, InputSpec(synthetic_flows=20000), progress=False,
                       log=lambda line: None)
    assert doc["protocol"] == "paper" and all(r["selected_on"] == "test" for r in doc["results"])
    assert "TEST" in (tmp_path / "report.md").read_text()


def test_run_refuses_a_file_without_ips(shared_data, tmp_path, capsys):
    src = shared_data / "nf-cse-cic-ids2018-v2-noip-sample10k.csv"
    before = src.read_bytes()
    code = main(["run", "--data", str(src), "--out", str(tmp_path / "r"), "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "no IPV4_SRC_ADDR/IPV4_DST_ADDR columns" in err and src.name in err
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--flows", "5"], "--flows must be at least 100"),
        (["--data", "missing.csv"], "missing.csv"),
        (["--config", "nope.json"], "nope.json: no such config file"),
    ],
)
def test_bad_arguments_give_one_line_errors(tmp_path, argv, message):
    proc = subprocess.run([sys.executable, "-m", "anomale_jax.cli", "run", "--out", str(tmp_path / "r"), *argv],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
