"""NetFlow loading: real samples, variants, formats and every bad-input case (input bytes never change)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from anomale_jax.data.netflow import NF_V1_FEATURES, NF_V3_IAT, load_netflow
from anomale_jax.data.schema import NF_V2_COLUMNS, NF_V2_FEATURES, V3_TIMESTAMPS
from anomale_jax.errors import InputError

UNSW = "nf-unsw-nb15-v2-sample72.csv"
BOT = "nf-bot-iot-v2-sample250k.csv.gz"
CSE = "nf-cse-cic-ids2018-v2-noip-sample10k.csv"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(n: int = 4, seed: int = 0) -> pl.DataFrame:
    """A small valid NF-v2 frame: two hosts talking, one attack row."""
    rng = np.random.default_rng(seed)
    data: dict[str, list] = {}
    for col in NF_V2_COLUMNS:
        if col in ("IPV4_SRC_ADDR", "IPV4_DST_ADDR"):
            data[col] = ["10.0.0.1" if col == "IPV4_SRC_ADDR" else "10.0.0.2"] * n
        elif col == "Label":
            data[col] = [0] * (n - 1) + [1]
        elif col == "Attack":
            data[col] = ["Benign"] * (n - 1) + ["DoS"]
        else:
            data[col] = rng.integers(0, 1000, n).tolist()
    return pl.DataFrame(data)


def _write_csv(path: Path, frame: pl.DataFrame) -> Path:
    frame.write_csv(path)
    return path


def _load_checked(path: Path):
    """Loads and asserts the file bytes did not change."""
    before = _digest(path)
    try:
        return load_netflow(path)
    finally:
        assert _digest(path) == before, "the loader modified its input"


def _error(path: Path) -> str:
    before = _digest(path)
    with pytest.raises(InputError) as info:
        load_netflow(path)
    assert _digest(path) == before, "the loader modified its input"
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


# ---- real samples -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, rows, has_ips", [(UNSW, 72, True), (BOT, 250_000, True), (CSE, 10_000, False)])
def test_real_samples_load(shared_data, name, rows, has_ips):
    table = _load_checked(shared_data / name)
    assert table.num_rows == rows
    assert table.has_ips is has_ips
    assert table.variant == ("NF-v2" if has_ips else "NF-v2 (no IPs)")
    assert table.feature_columns == NF_V2_FEATURES
    # Memory-conscious dtypes: 32-bit features, 8-bit labels.
    schema = table.frame.schema
    assert all(schema[c] == pl.Float32 for c in table.feature_columns)
    assert schema["Label"] == pl.Int8 and schema["Attack"] == pl.String
    assert set(table.frame["Label"].unique().to_list()) <= {0, 1}
    benign = table.frame.filter(pl.col("Attack") == "Benign")["Label"]
    assert benign.len() > 0 and int(benign.max()) == 0


def test_real_sample_values_match_pandas(shared_data):
    """Every value survives: float32 features equal pandas' float64 reading to float32 precision."""
    import pandas as pd

    table = load_netflow(shared_data / UNSW)
    ref = pd.read_csv(shared_data / UNSW)
    got = table.frame.select(table.feature_columns).to_numpy().astype(np.float64)
    want = ref[list(NF_V2_FEATURES)].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=6e-8)
    assert table.frame["IPV4_SRC_ADDR"].to_list() == ref["IPV4_SRC_ADDR"].tolist()
    assert table.frame["Attack"].to_list() == ref["Attack"].tolist()


def test_no_ip_sample_keeps_ports_and_says_so(shared_data):
    table = load_netflow(shared_data / CSE)
    assert "L4_SRC_PORT" in table.frame.columns and table.frame.schema["L4_SRC_PORT"] == pl.Int32
    assert "IPV4_SRC_ADDR" not in table.frame.columns
    assert any("no IPV4_SRC_ADDR/IPV4_DST_ADDR" in note for note in table.notes)


# ---- formats and tolerated quirks ---------------------------------------------------------------------


def test_parquet_and_csv_gz_load_identically(tmp_path):
    frame = _rows(6)
    csv = _write_csv(tmp_path / "f.csv", frame)
    frame.write_parquet(tmp_path / "f.parquet")
    with gzip.open(tmp_path / "f.csv.gz", "wb") as fh:
        fh.write(csv.read_bytes())
    tables = [_load_checked(tmp_path / n) for n in ("f.csv", "f.parquet", "f.csv.gz")]
    for table in tables[1:]:
        assert table.frame.equals(tables[0].frame)
        assert table.variant == "NF-v2"


def test_parquet_with_text_columns_is_validated(tmp_path):
    frame = _rows(3).with_columns(pl.col("IN_BYTES").cast(pl.String))
    frame.with_columns(pl.Series("IN_BYTES", ["1", "2", "x"])).write_parquet(tmp_path / "bad.parquet")
    assert "column IN_BYTES has a non-numeric value 'x' (data row 3)" in _error(tmp_path / "bad.parquet")
    frame.write_parquet(tmp_path / "ok.parquet")
    table = _load_checked(tmp_path / "ok.parquet")
    assert table.frame.schema["IN_BYTES"] == pl.Float32


def test_ints_written_as_floats_and_float_label(tmp_path):
    frame = _rows(4).with_columns(pl.col("L7_PROTO", "PROTOCOL", "Label").cast(pl.Float64))
    path = _write_csv(tmp_path / "floats.csv", frame)
    assert "7.0" in path.read_text() or ".0," in path.read_text()
    table = _load_checked(path)
    assert table.frame["Label"].dtype == pl.Int8
    assert table.frame["Label"].to_list() == [0, 0, 0, 1]
    np.testing.assert_array_equal(table.frame["PROTOCOL"].to_numpy(), frame["PROTOCOL"].to_numpy())


def test_whitespace_in_names(tmp_path):
    frame = _rows(3)
    frame = frame.rename({c: f" {c} " if i % 2 else f"{c} " for i, c in enumerate(frame.columns)})
    table = _load_checked(_write_csv(tmp_path / "spaces.csv", frame))
    assert table.variant == "NF-v2"
    assert "IN_BYTES" in table.frame.columns
    assert any("stripped whitespace" in note for note in table.notes)


def test_extra_dataset_column_is_ignored_with_a_note(tmp_path):
    frame = _rows(3).with_columns(pl.lit("NF-UNSW-NB15-v2").alias("Dataset"))
    table = _load_checked(_write_csv(tmp_path / "uq.csv", frame))
    assert "Dataset" not in table.frame.columns
    assert any("Dataset" in note and "ignored" in note for note in table.notes)


def test_missing_attack_is_derived_from_label(tmp_path):
    table = _load_checked(_write_csv(tmp_path / "noattack.csv", _rows(4).drop("Attack")))
    assert table.frame["Attack"].to_list() == ["Benign", "Benign", "Benign", "Attack"]
    assert any("derived" in note for note in table.notes)


def test_v1_like_header(tmp_path):
    keep = ["IPV4_SRC_ADDR", "L4_SRC_PORT", "IPV4_DST_ADDR", "L4_DST_PORT", *NF_V1_FEATURES, "Label", "Attack"]
    table = _load_checked(_write_csv(tmp_path / "v1.csv", _rows(3).select(keep)))
    assert table.variant == "NF-v1"
    assert table.feature_columns == NF_V1_FEATURES


def test_v3_like_header_never_uses_timestamps(tmp_path):
    frame = _rows(3).with_columns(
        pl.lit(1_424_242_190_000).alias("FLOW_START_MILLISECONDS"),
        pl.lit(1_424_242_190_500).alias("FLOW_END_MILLISECONDS"),
        *[pl.lit(float(i)).alias(c) for i, c in enumerate(NF_V3_IAT)],
    )
    table = _load_checked(_write_csv(tmp_path / "v3.csv", frame))
    assert table.variant == "NF-v3"
    assert set(NF_V3_IAT) <= set(table.feature_columns)
    assert not set(V3_TIMESTAMPS) & set(table.feature_columns)
    # Timestamps are kept exactly (Int64), for ordering.
    assert table.frame["FLOW_START_MILLISECONDS"].dtype == pl.Int64
    assert table.frame["FLOW_START_MILLISECONDS"][0] == 1_424_242_190_000


def test_ips_are_stripped_and_checked(tmp_path):
    frame = _rows(3).with_columns(pl.lit(" 10.0.0.9 ").alias("IPV4_DST_ADDR"))
    table = _load_checked(_write_csv(tmp_path / "ipspace.csv", frame))
    assert table.frame["IPV4_DST_ADDR"].to_list() == ["10.0.0.9"] * 3


# ---- bad input: one line naming file, column and an example value --------------------------------------


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert "empty" in _error(tmp_path / "empty.csv")


def test_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(NF_V2_COLUMNS) + "\n")
    assert "header but no rows" in _error(path)


def test_missing_required_column(tmp_path):
    path = _write_csv(tmp_path / "nottl.csv", _rows(3).drop("MIN_TTL"))
    message = _error(path)
    assert "MIN_TTL" in message and "NF-v2" in message


def test_missing_label(tmp_path):
    assert "Label" in _error(_write_csv(tmp_path / "nolabel.csv", _rows(3).drop("Label")))


def test_one_ip_column_only(tmp_path):
    assert "IPV4_DST_ADDR" in _error(_write_csv(tmp_path / "oneip.csv", _rows(3).drop("IPV4_DST_ADDR")))


def test_non_numeric_feature_value(tmp_path):
    frame = _rows(4).with_columns(pl.col("OUT_BYTES").cast(pl.String))
    frame = frame.with_columns(pl.Series("OUT_BYTES", ["1", "2", "12kB", "4"]))
    message = _error(_write_csv(tmp_path / "text.csv", frame))
    assert "column OUT_BYTES" in message and "'12kB'" in message and "data row 3" in message


def test_label_two(tmp_path):
    frame = _rows(4).with_columns(pl.Series("Label", [0, 2, 0, 1]))
    message = _error(_write_csv(tmp_path / "label2.csv", frame))
    assert "column Label" in message and "found 2" in message and "data row 2" in message


def test_label_text(tmp_path):
    frame = _rows(3).with_columns(pl.Series("Label", ["0", "attack", "1"]))
    message = _error(_write_csv(tmp_path / "labeltext.csv", frame))
    assert "column Label" in message and "'attack'" in message


def test_bad_ip(tmp_path):
    frame = _rows(3).with_columns(pl.Series("IPV4_SRC_ADDR", ["10.0.0.1", "10.0.0.300", "10.0.0.1"]))
    message = _error(_write_csv(tmp_path / "badip.csv", frame))
    assert "column IPV4_SRC_ADDR" in message and "'10.0.0.300'" in message and "data row 2" in message


def test_not_netflow_and_unsupported_suffix(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    assert "no NetFlow feature columns" in _error(path)
    (tmp_path / "flows.xlsx").write_text("x")
    assert "unsupported file type" in _error(tmp_path / "flows.xlsx")
    with pytest.raises(InputError, match="not found"):
        load_netflow(tmp_path / "absent.csv")


def test_empty_feature_cell_is_nan_with_a_note(tmp_path):
    path = tmp_path / "hole.csv"
    _write_csv(path, _rows(3))
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("IN_PKTS")] = ""
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    table = _load_checked(path)
    assert np.isnan(table.frame["IN_PKTS"][1])
    assert any("empty feature value" in note for note in table.notes)


def test_empty_attack_cell(tmp_path):
    frame = _rows(3).with_columns(pl.Series("Attack", ["Benign", None, "DoS"]))
    message = _error(_write_csv(tmp_path / "noname.csv", frame))
    assert "column Attack has an empty value (data row 2)" in message
