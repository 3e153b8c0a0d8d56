"""Config presets/serialisation and atomic writes."""

import dataclasses
import json

import pytest

from anomale_jax.config import PRESETS, ModelConfig, RunConfig, from_dict, to_dict
from anomale_jax.io import atomic_path, write_json_atomic


def test_presets_round_trip_through_json():
    for name, cfg in PRESETS.items():
        back = from_dict(RunConfig, json.loads(json.dumps(to_dict(cfg))))
        assert back == cfg, name


def test_paper_preset_is_published_configuration():
    paper = PRESETS["paper"]
    assert paper.model.node_dims == (128,) and paper.model.edge_dim == 256
    assert paper.train.epochs == 4000 and paper.train.learning_rate == 1e-3 and paper.train.weight_decay == 0
    assert paper.data.protocol == "paper" and paper.data.sample_frac == 0.1 and paper.data.sample_seed == 13


def test_configs_are_frozen_and_reject_unknown_fields():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["paper"].model.edge_dim = 3
    with pytest.raises(ValueError, match="unknown field 'edge_dims'"):
        from_dict(ModelConfig, {"edge_dims": 3})


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_uses_umask_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "x.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644
