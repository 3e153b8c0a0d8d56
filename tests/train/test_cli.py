"""`anomale-jax train` and `anomale-jax embed`, run in-process through the CLI entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anomale_jax.cli import main


@pytest.fixture(scope="module")
def trained(synthetic_csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    rc = main(["train", "--data", str(synthetic_csv), "--epochs", "3", "--seed", "2", "--out", str(run_dir),
               "--no-progress"])
    assert rc == 0
    return run_dir


def test_train_writes_a_run_and_resumes(trained, synthetic_csv, capsys):
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "preprocessor.json", "model.npz", "checkpoint.npz", "history.json"} <= names
    config = json.loads((trained / "config.json").read_text())
    assert config["train"]["epochs"] == 3 and config["train"]["seed"] == 2 and config["data"]["protocol"] == "clean"
    first = json.loads((trained / "history.json").read_text())["loss"]
    assert main(["train", "--data", str(synthetic_csv), "--epochs", "5", "--seed", "2", "--out", str(trained),
                 "--resume", "--no-progress"]) == 0
    resumed = json.loads((trained / "history.json").read_text())["loss"]
    assert len(resumed) == 5 and resumed[:3] == first
    assert "best loss" in capsys.readouterr().out


def test_embed_with_a_run_directory(trained, synthetic_csv, tmp_path, capsys):
    out = tmp_path / "all.npy"
    assert main(["embed", "--checkpoint", str(trained), "--data", str(synthetic_csv), "--out", str(out)]) == 0
    z = np.load(out)
    # Every flow of the file: two directed edges each (the generator makes no self-loop flows).
    assert z.shape == (2 * 1500, 256) and z.dtype == np.float32 and np.isfinite(z).all()
    test_out = tmp_path / "test.npy"
    assert main(["embed", "--checkpoint", str(trained / "model.npz"), "--data", str(synthetic_csv), "--out",
                 str(test_out), "--split", "test"]) == 0
    assert 0 < np.load(test_out).shape[0] < z.shape[0]
    assert "edge embeddings" in capsys.readouterr().out


def test_embed_with_the_upstream_checkpoint(shared_data, tmp_path):
    pytest.importorskip("torch", reason="reading the upstream .pt needs torch")
    out = tmp_path / "unsw.parquet"
    rc = main(["embed", "--checkpoint", str(shared_data / "pretrained" / "anomale-e-cse-v2.state_dict.pt"),
               "--data", str(shared_data / "nf-unsw-nb15-v2-sample72.csv"), "--out", str(out),
               "--sample-frac", "1.0"])
    assert rc == 0
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.num_columns == 257 and table.num_rows > 20  # the paper protocol's 30% test split, both directions


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "{tmp}/missing.csv", "--out", "{tmp}/r"], "missing.csv"),
    (["train", "--data", "{csv}", "--out", "{tmp}/r", "--epochs", "0"], "--epochs"),
    (["embed", "--checkpoint", "{tmp}/nothing.npz", "--data", "{csv}", "--out", "{tmp}/z.npy"], "nothing.npz"),
    (["embed", "--checkpoint", "{run}", "--data", "{csv}", "--out", "{tmp}/z.txt"], "z.txt"),
    (["embed", "--checkpoint", "{run}", "--data", "{csv}", "--out", "{tmp}/z.npy", "--protocol", "paper"],
     "protocol"),
])
def test_user_errors_are_one_line_with_status_2(argv, message, trained, synthetic_csv, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, csv=synthetic_csv, run=trained) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "z.npy").exists() and not (tmp_path / "z.txt").exists()


def test_embed_from_a_run_without_saved_preprocessing(trained, synthetic_csv, tmp_path, capsys):
    # A run folder written by another tool: model + config.json, no preprocessor.json.
    import shutil

    folder = tmp_path / "other"
    folder.mkdir()
    for name in ("model.npz", "config.json"):
        shutil.copy(trained / name, folder / name)
    # The run's clean protocol is used (it has a validation split; the paper protocol has none).
    assert main(["embed", "--checkpoint", str(folder / "model.npz"), "--data", str(synthetic_csv), "--out",
                 str(tmp_path / "val.npy"), "--split", "val"]) == 0
    assert np.load(tmp_path / "val.npy").shape[1] == 256
    capsys.readouterr()
    assert main(["embed", "--checkpoint", str(folder), "--data", str(synthetic_csv), "--out",
                 str(tmp_path / "all.npy"), "--split", "all"]) == 2
    assert "preprocessor.json" in capsys.readouterr().err
