"""Reading and validating NetFlow files (NF-v1, NF-v2, NF-v3; CSV, CSV.gz, Parquet).

`load_netflow(path)` returns a `NetFlowTable`: a polars frame holding only the columns the project uses,
with explicit dtypes, plus the detected variant and notes about anything the loader adjusted or ignored.

Variant detection (from the header, names stripped of whitespace):
  * NF-v3: any of the inter-arrival-time columns (`SRC_TO_DST_IAT_MIN`, ...) is present; needs the 39 NF-v2
    features plus the 8 IAT features. `FLOW_START_MILLISECONDS` / `FLOW_END_MILLISECONDS` are kept (Int64)
    for ordering, never as features.
  * NF-v2: any NF-v2 feature beyond the NF-v1 set is present; needs all 39 NF-v2 features.
  * NF-v1: otherwise; needs its 8 features.
  A variant without both `IPV4_SRC_ADDR` and `IPV4_DST_ADDR` is reported as e.g. 'NF-v2 (no IPs)'; it still
  feeds raw-feature baselines, but no host graph can be built from it. `Label` (0/1) is always required;
  `Attack` is derived from `Label` ('Benign' / 'Attack') with a note when absent. Ports are loaded (Int32)
  when present but are never features. Any other column (e.g. NF-UQ's `Dataset`) is not read, with a note.

Memory: only the needed columns are read, numeric features straight into Float32 (exact for the integer
counters up to 2**24 and within 6e-8 relative error above), so 19M rows x 45 columns need about 3 GB for
features plus the IP and Attack strings. Uncompressed CSV and Parquet are memory-mapped; `.csv.gz` is
decompressed in memory first, so prefer uncompressed files for the full datasets.

Every user mistake raises `InputError` with one line naming the file, the column and an example bad value.
The input file is only ever opened for reading.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from anomale_jax.data.schema import (
    ATTACK,
    BENIGN,
    DST_IP,
    DST_PORT,
    LABEL,
    NF_V2_FEATURES,
    SRC_IP,
    SRC_PORT,
    V3_TIMESTAMPS,
)
from anomale_jax.errors import InputError

# NF-v1 (e.g. NF-UNSW-NB15): 8 features besides IPs, ports, Label and Attack.
NF_V1_FEATURES: tuple[str, ...] = (
    "PROTOCOL", "L7_PROTO", "IN_BYTES", "OUT_BYTES", "IN_PKTS", "OUT_PKTS", "TCP_FLAGS",
    "FLOW_DURATION_MILLISECONDS",
)
# NF-v3 adds inter-arrival-time statistics (features) and the two timestamps (never features).
NF_V3_IAT: tuple[str, ...] = (
    "SRC_TO_DST_IAT_MIN", "SRC_TO_DST_IAT_MAX", "SRC_TO_DST_IAT_AVG", "SRC_TO_DST_IAT_STDDEV",
    "DST_TO_SRC_IAT_MIN", "DST_TO_SRC_IAT_MAX", "DST_TO_SRC_IAT_AVG", "DST_TO_SRC_IAT_STDDEV",
)
NF_V3_FEATURES: tuple[str, ...] = NF_V2_FEATURES + NF_V3_IAT
VARIANT_FEATURES: dict[str, tuple[str, ...]] = {
    "NF-v1": NF_V1_FEATURES,
    "NF-v2": NF_V2_FEATURES,
    "NF-v3": NF_V3_FEATURES,
}
SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class NetFlowTable:
    """A loaded NetFlow file: only the columns the project uses, validated, rows in file order."""

    path: str
    """The file it was read from."""
    variant: str
    """'NF-v1', 'NF-v2' or 'NF-v3', with ' (no IPs)' appended when the IPV4_*_ADDR columns are absent."""
    frame: pl.DataFrame
    """IPs (String, if present), ports (Int32, if present), features (Float32), timestamps (Int64, v3),
    Label (Int8, 0/1) and Attack (String)."""
    feature_columns: tuple[str, ...]
    """Numeric flow features, in canonical NetFlow order: no IPs, ports, timestamps, Label or Attack."""
    has_ips: bool
    """True when both IPV4_SRC_ADDR and IPV4_DST_ADDR are present (a host graph can be built)."""
    notes: tuple[str, ...]
    """What the loader detected, adjusted or ignored, one sentence each."""

    @property
    def num_rows(self) -> int:
        return self.frame.height


def load_netflow(path: str | Path) -> NetFlowTable:
    """Reads and validates a NetFlow file (.csv, .csv.gz or .parquet).

    Args:
      path: the file; it is never written to.
    Returns:
      A `NetFlowTable` with `frame` of shape [rows, used columns].
    Raises:
      InputError: the file is missing, empty, header-only, lacks a required column, or holds a
        non-numeric feature, a Label other than 0/1 or an unparsable IP.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: file not found")
    kind = _file_kind(path)
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the file is empty (no header, no rows)")

    # Header: strip stray whitespace, keep the original spelling for selecting columns.
    raw_names = _read_header(path, kind)
    stripped: dict[str, str] = {}
    for raw in raw_names:
        clean = raw.strip()
        if clean in stripped:
            raise InputError(f"{name}: column {clean!r} appears twice in the header")
        stripped[clean] = raw
    notes: list[str] = []
    if any(raw != raw.strip() for raw in raw_names):
        notes.append("stripped whitespace from column names")

    # Variant and required columns.
    variant, features = _detect_variant(name, stripped)
    has_src, has_dst = SRC_IP in stripped, DST_IP in stripped
    if has_src != has_dst:
        missing_ip = DST_IP if has_src else SRC_IP
        raise InputError(f"{name}: column {missing_ip} is missing (an IP graph needs both endpoints)")
    has_ips = has_src and has_dst
    if LABEL not in stripped:
        raise InputError(f"{name}: required column {LABEL} (0 benign / 1 attack) is missing")
    label_text = f"{variant}" + ("" if has_ips else " (no IPs)")
    notes.append(f"detected {label_text}: {len(features)} features" + ("" if has_ips else
                 "; no IPV4_SRC_ADDR/IPV4_DST_ADDR columns, so only raw-feature baselines are possible"))

    # Columns to read, each with its dtype.
    schema: dict[str, pl.DataType] = {}
    if has_ips:
        schema[SRC_IP] = pl.String
        schema[DST_IP] = pl.String
    for port in (SRC_PORT, DST_PORT):
        if port in stripped:
            schema[port] = pl.Float64
    for col in features:
        schema[col] = pl.Float32
    for col in V3_TIMESTAMPS:
        if col in stripped:
            schema[col] = pl.Float64
    schema[LABEL] = pl.Float64
    has_attack = ATTACK in stripped
    if has_attack:
        schema[ATTACK] = pl.String
    ignored = [c for c in stripped if c not in schema]
    if ignored:
        shown = ", ".join(ignored[:5]) + (f" and {len(ignored) - 5} more" if len(ignored) > 5 else "")
        notes.append(f"ignored extra column(s) {shown}")

    frame = _read_columns(path, kind, stripped, schema)
    if frame.height == 0:
        raise InputError(f"{name}: the file has a header but no rows")

    # Validate and cast to the final dtypes.
    frame = _check_label(name, frame)
    if has_ips:
        frame = frame.with_columns(pl.col(SRC_IP, DST_IP).str.strip_chars())
        for col in (SRC_IP, DST_IP):
            _check_ips(name, frame, col)
    casts = [pl.col(p).cast(pl.Int32) for p in (SRC_PORT, DST_PORT) if p in frame.columns]
    casts += [pl.col(t).cast(pl.Int64) for t in V3_TIMESTAMPS if t in frame.columns]
    for col in [p for p in (SRC_PORT, DST_PORT) if p in frame.columns]:
        _check_no_nulls(name, frame, col)
    if casts:
        frame = frame.with_columns(casts)
    if has_attack:
        _check_no_nulls(name, frame, ATTACK)
    else:
        frame = frame.with_columns(
            pl.when(pl.col(LABEL) == 0).then(pl.lit(BENIGN)).otherwise(pl.lit("Attack")).alias(ATTACK)
        )
        notes.append(f"no {ATTACK} column: derived it from {LABEL} ('{BENIGN}' / 'Attack')")
    nulls = int(frame.select(pl.sum_horizontal(pl.col(list(features)).null_count())).item())
    if nulls:
        frame = frame.with_columns(pl.col(list(features)).fill_null(float("nan")))
        notes.append(f"{nulls} empty feature value(s) read as NaN (preprocessing turns them into 0)")

    # Fixed column order: IPs, ports, features, timestamps, Label, Attack.
    order = [c for c in (SRC_IP, DST_IP, SRC_PORT, DST_PORT) if c in frame.columns]
    order += list(features) + [t for t in V3_TIMESTAMPS if t in frame.columns] + [LABEL, ATTACK]
    return NetFlowTable(
        path=name,
        variant=label_text,
        frame=frame.select(order),
        feature_columns=tuple(features),
        has_ips=has_ips,
        notes=tuple(notes),
    )


def _file_kind(path: Path) -> str:
    lower = path.name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    raise InputError(f"{path}: unsupported file type; expected one of {', '.join(SUFFIXES)}")


def _read_header(path: Path, kind: str) -> list[str]:
    try:
        if kind == ".parquet":
            return list(pl.read_parquet_schema(path).keys())
        return pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except pl.exceptions.NoDataError:
        raise InputError(f"{path}: the file is empty (no header, no rows)") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: cannot read it as {kind}: {_first_line(exc)}") from None


def _detect_variant(name: str, present: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """The newest variant whose distinctive columns appear; all of its features must then be present."""
    if any(c in present for c in NF_V3_IAT):
        variant = "NF-v3"
    elif any(c in present for c in NF_V2_FEATURES if c not in NF_V1_FEATURES):
        variant = "NF-v2"
    elif any(c in present for c in NF_V1_FEATURES):
        variant = "NF-v1"
    else:
        raise InputError(
            f"{name}: no NetFlow feature columns found (expected e.g. {', '.join(NF_V1_FEATURES[:3])}); "
            f"header starts {', '.join(list(present)[:4])}"
        )
    features = VARIANT_FEATURES[variant]
    missing = [c for c in features if c not in present]
    if missing:
        more = f" (and {len(missing) - 1} more: {', '.join(missing[1:4])}...)" if len(missing) > 1 else ""
        raise InputError(f"{name}: required column {missing[0]} is missing{more}; the header looks like {variant}")
    return variant, features


def _read_columns(path: Path, kind: str, stripped: dict[str, str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Reads only `schema`'s columns with their dtypes; a parse failure names its column and value."""
    raw = {stripped[c]: c for c in schema}
    try:
        if kind == ".parquet":
            frame = pl.read_parquet(path, columns=list(raw)).rename(raw)
            return _cast_parquet(path, frame, schema)
        frame = pl.read_csv(
            path,
            columns=list(raw),
            schema_overrides={stripped[c]: t for c, t in schema.items()},
            infer_schema=False,
        )
        return frame.rename(raw)
    except pl.exceptions.ComputeError as exc:
        # Find the offending column and its first bad value (read as text).
        message = str(exc)
        match = re.search(r"at column '([^']*)'", message)
        columns = [match.group(1).strip()] if match and match.group(1).strip() in schema else list(schema)
        for col in columns:
            if schema[col] == pl.String:
                continue
            text = pl.read_csv(path, columns=[stripped[col]], infer_schema=False).to_series()
            _raise_on_non_numeric(str(path), col, text)
        raise InputError(f"{path}: cannot parse the file: {_first_line(exc)}") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: cannot read it as {kind}: {_first_line(exc)}") from None


def _cast_parquet(path: Path, frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Casts Parquet columns to `schema`; text that is not a number is reported like in a CSV."""
    casts = []
    for col, dtype in schema.items():
        source = frame.schema[col]
        if dtype != pl.String and source == pl.String:
            _raise_on_non_numeric(str(path), col, frame[col])
        casts.append(pl.col(col).cast(dtype, strict=False))
    return frame.with_columns(casts)


def _raise_on_non_numeric(name: str, col: str, text: pl.Series) -> None:
    numbers = text.str.strip_chars().cast(pl.Float64, strict=False)
    bad = (numbers.is_null() & text.is_not_null() & (text.str.strip_chars() != "")).arg_true()
    if bad.len():
        row = int(bad[0])
        raise InputError(
            f"{name}: column {col} has a non-numeric value {text[row]!r} (data row {row + 1}); "
            f"{bad.len()} such value(s) in all"
        )


def _check_label(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    _check_no_nulls(name, frame, LABEL)
    label = frame[LABEL]
    bad = (~label.is_in([0.0, 1.0])).arg_true()
    if bad.len():
        row = int(bad[0])
        value = label[row]
        shown = int(value) if float(value).is_integer() else value
        raise InputError(
            f"{name}: column {LABEL} must be 0 (benign) or 1 (attack); found {shown!r} (data row {row + 1})"
        )
    return frame.with_columns(pl.col(LABEL).cast(pl.Int8))


def _check_ips(name: str, frame: pl.DataFrame, col: str) -> None:
    """Parses each distinct address once (few distinct values even in large files)."""
    _check_no_nulls(name, frame, col)
    for value in frame[col].unique().to_list():
        try:
            ipaddress.ip_address(value)
        except ValueError:
            row = int((frame[col] == value).arg_true()[0])
            raise InputError(
                f"{name}: column {col} has an unparsable IP address {value!r} (data row {row + 1})"
            ) from None


def _check_no_nulls(name: str, frame: pl.DataFrame, col: str) -> None:
    nulls = frame[col].is_null().arg_true()
    if nulls.len():
        raise InputError(f"{name}: column {col} has an empty value (data row {int(nulls[0]) + 1})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
