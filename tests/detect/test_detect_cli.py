"""`anomale-jax detect` end to end on a tiny bundle, and its one-line error for a bad bundle."""

import json

import numpy as np

from anomale_jax.cli import main
from anomale_jax.detect import save_bundle
from anomale_jax.detect.synthetic import synthetic_bundle


def test_detect_cli_end_to_end(tmp_path, capsys):
    bundle_path = save_bundle(tmp_path / "in.npz", synthetic_bundle((400, 150, 150), dim=6, raw_dim=4))
    before = bundle_path.read_bytes()
    out_dir = tmp_path / "run"
    rc = main(["detect", "--embeddings", str(bundle_path), "--grid", "tiny", "--detectors", "pca", "hbos",
               "--out", str(out_dir)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "features" in captured.out and "hbos" in captured.out  # the results table
    assert "n_bins=10" in captured.err  # progress lines
    doc = json.loads((out_dir / "metrics.json").read_text())
    assert doc["protocol"] == "clean" and doc["selected_on"] == "validation"  # the bundle has a validation split
    assert {r["detector"] for r in doc["results"]} == {"pca", "hbos"}
    assert all(r["selected_on"] == "validation" for r in doc["results"])
    assert doc["dataset"]["test_flows"] == 150 and doc["dataset"]["test_edges"] == 300
    for name in ("report.md", "roc.png", "pr.png", "scores.png", "projection.png"):
        assert (out_dir / name).stat().st_size > 0
    assert bundle_path.read_bytes() == before

    rc = main(["detect", "--embeddings", str(bundle_path), "--grid", "tiny", "--detectors", "pca",
               "--protocol", "paper", "--out", str(out_dir), "--quiet"])
    assert rc == 0
    doc = json.loads((out_dir / "metrics.json").read_text())
    assert doc["protocol"] == "paper" and all(r["selected_on"] == "test" for r in doc["results"])
    assert "selected on TEST" in (out_dir / "report.md").read_text()


def test_detect_cli_bad_bundle_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, format=np.array("anomale-jax-detection-bundle/1"), meta=np.array("{}"))
    rc = main(["detect", "--embeddings", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("anomale-jax detect: error:") and "missing array train.embeddings" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
