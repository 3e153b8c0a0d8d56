"""Bundle round trip (no pickle) and one-line InputErrors for bad bundles."""

import numpy as np
import pytest

from anomale_jax.detect.bundle import DetectionBundle, load_bundle, make_split, save_bundle
from anomale_jax.detect.synthetic import synthetic_bundle
from anomale_jax.errors import InputError


def test_round_trip_keeps_every_array(tmp_path):
    b = synthetic_bundle((60, 20, 30), dim=4, raw_dim=3)
    path = save_bundle(tmp_path / "b.npz", b)
    with np.load(path, allow_pickle=False) as npz:  # loads without pickle: strings are unicode arrays
        assert npz["train.flow_attacks"].dtype.kind == "U"
    got = load_bundle(path)
    assert got.meta == b.meta
    for name in ("train", "validation", "test"):
        want, have = getattr(b, name), getattr(got, name)
        for field in want._fields:
            np.testing.assert_array_equal(getattr(have, field), getattr(want, field))
    np.testing.assert_array_equal(got.test.edge_labels, b.test.flow_labels[b.test.edge_flow])
    assert list(tmp_path.iterdir()) == [path]  # atomic write leaves no temp file


def test_validation_split_is_optional(tmp_path):
    b = synthetic_bundle((40, 10, 20), dim=4, raw_dim=3, validation=False)
    got = load_bundle(save_bundle(tmp_path / "b.npz", b))
    assert got.validation is None and got.test.num_flows == 20


def _write(path, **overrides):
    b = synthetic_bundle((30, 10, 10), dim=4, raw_dim=3)
    arrays = {"format": np.array("anomale-jax-detection-bundle/1"), "meta": np.array("{}")}
    for split, data in b.splits().items():
        for field in data._fields:
            arrays[f"{split}.{field}"] = getattr(data, field)
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"test.edge_flow": None}, "missing array test.edge_flow"),
        ({"format": np.array("something-else")}, "format tag 'something-else'"),
        ({"train.edge_flow": np.full(60, 99)}, r"train.edge_flow: flow index 99 outside \[0, 30\)"),
        ({"test.flow_labels": np.full(10, 2)}, "test.flow_labels: labels must be 0 or 1, got e.g. 2"),
        ({"train.embeddings": np.full((60, 4), np.nan, np.float32)}, "train.embeddings: non-finite value nan"),
        ({"test.embeddings": np.zeros((20, 5), np.float32)}, "embeddings widths differ"),
        ({"meta": np.array("{not json")}, "meta is not valid JSON"),
    ],
)
def test_bad_bundle_is_one_line_input_error(tmp_path, overrides, message):
    path = _write(tmp_path / "bad.npz", **overrides)
    before = path.read_bytes()
    with pytest.raises(InputError, match=message) as info:
        load_bundle(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == before  # input never modified


def test_unreadable_or_missing_file(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable .npz"):
        load_bundle(junk)
    with pytest.raises(InputError, match="no such bundle file"):
        load_bundle(tmp_path / "absent.npz")
    # An object array would need pickle: refused.
    np.savez(tmp_path / "obj.npz", format=np.array("anomale-jax-detection-bundle/1"), x=np.array([{}], dtype=object))
    with pytest.raises(InputError, match="not a readable .npz"):
        load_bundle(tmp_path / "obj.npz")


def test_make_split_rejects_mismatched_shapes():
    with pytest.raises(InputError, match="edge_flow: expected shape"):
        make_split(np.zeros((4, 2)), np.zeros(3, int), np.zeros((2, 2)), np.zeros(2), np.array(["a", "b"]))
    assert isinstance(DetectionBundle(train=None, test=None).meta, dict)
