"""Flow features for the model: row selection, splits and `fit -> Preprocessor` / `apply`.

Two protocols, chosen by `DataConfig.protocol`:

`paper` -- steps 2-7 of ANOMALE.md, reproducing the published notebook's rows and values:
  * per-class sample: pandas `groupby('Attack').sample(frac=sample_frac, random_state=sample_seed)` on a
    frame with the default RangeIndex (the groups are the Attack names in sorted order, as pandas does);
  * split: sklearn `train_test_split(test_size, random_state=split_seed, stratify=[Attack, Label])`; sklearn
    stratifies a two-column target on the strings "<Attack> <Label>", which is what we hand it;
  * TargetEncoder on the ten columns of `schema.PAPER_TARGET_ENCODED`, fitted on the training Label. The
    fitted tables (category -> smoothed mean, unseen -> prior, NaN as its own category when seen) are stored
    in the Preprocessor and applied here, matching category_encoders' transform. The smoothing follows the
    installed category_encoders 2.11 defaults (min_samples_leaf=20, smoothing=10); the 2022 notebook ran
    category_encoders <= 2.5, whose defaults were (1, 1.0) with single-observation categories set to the
    prior: pass `TargetEncoderParams.legacy()` to `fit` for that behaviour. Both encodings lie in [0, 1], so
    after the L2 normalisation they differ by at most 1/||row||: below 1e-3 for any flow of over 1000 bytes;
  * inf -> NaN -> 0, then sklearn `Normalizer()`: each row divided by its L2 norm (zero rows stay zero).

`clean` -- no label is ever used, every statistic comes from the training rows only:
  * optional per-class sample (`clean_sample_frac`, same pandas call as above), then a train/validation/test
    split stratified by Attack (`clean_fractions`, default 60/20/20): each class is shuffled with
    `numpy.random.default_rng(split_seed)` and cut by rounded fractions, so tiny classes (a 3-row attack in a
    72-row file) still split without error (classes of 1-2 rows go to training). Rows keep file order.
  * features: the loader's `feature_columns` (ports and v3 timestamps are never features) minus
    `DNS_QUERY_ID`, a random 16-bit transaction id with no meaning as a number or a category.
  * nominal codes (PROTOCOL, L7_PROTO, the three TCP flag bitmasks, ICMP types, DNS_QUERY_TYPE,
    FTP_COMMAND_RET_CODE) have no magnitude; they become frequency codes log1p(count in train) /
    log1p(train rows), in [0, 1], unseen values 0. One column each keeps the width close to the paper's,
    needs no labels, and rare values (odd flag combinations, unusual protocols) come out small, which is the
    signal an anomaly detector wants.
  * every other feature is a non-negative count, duration, size, rate or TTL spanning many orders of
    magnitude: log1p(max(x, 0)), then min-max scaled with the training minimum/maximum and clipped to [0, 1]
    (+inf -> 1, NaN -> 0). log1p tames the heavy tails; min-max stays well defined on the many mostly-zero columns,
    where a robust (median/IQR) scaler would divide by a zero IQR; clipping bounds the values unseen ranges in
    validation/test can take. No row normalisation, so magnitudes survive.
  * the UNSW-NB15 TTL artefact (ANOMALE.md) is a property of that dataset; MIN_TTL/MAX_TTL are kept here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from anomale_jax.config import DataConfig
from anomale_jax.data.netflow import NetFlowTable
from anomale_jax.data.schema import ATTACK, DST_IP, LABEL, PAPER_TARGET_ENCODED, SRC_IP
from anomale_jax.errors import InputError

PROTOCOLS = ("paper", "clean")
# Clean protocol: identifier columns dropped, nominal codes frequency-encoded.
CLEAN_DROPPED: tuple[str, ...] = ("DNS_QUERY_ID",)
CLEAN_NOMINAL: tuple[str, ...] = (
    "PROTOCOL", "L7_PROTO", "TCP_FLAGS", "CLIENT_TCP_FLAGS", "SERVER_TCP_FLAGS", "ICMP_TYPE",
    "ICMP_IPV4_TYPE", "DNS_QUERY_TYPE", "FTP_COMMAND_RET_CODE",
)
_CHUNK_ROWS = 1 << 20  # apply() works in chunks so float64 temporaries stay small


@dataclass(frozen=True)
class Split:
    """One set of flows, in the order its graph edges will refer to."""

    features: np.ndarray  # [n, F] float32, preprocessed
    label: np.ndarray  # [n] int8, 0 benign / 1 attack
    attack: np.ndarray  # [n] object (str), attack class name
    src: np.ndarray | None  # [n] object (str) source IP, None when the file has no IPs
    dst: np.ndarray | None  # [n] object (str) destination IP
    row: np.ndarray  # [n] int64, row of the loaded table
    source: str = ""
    """The file the rows came from (for error messages)."""

    @property
    def num_flows(self) -> int:
        return int(self.row.shape[0])


@dataclass(frozen=True)
class TargetEncoderParams:
    """Smoothing of the paper protocol's target encoder (category_encoders semantics)."""

    min_samples_leaf: float = 20.0
    """Category count at which the category mean and the prior weigh equally."""
    smoothing: float = 10.0
    """Width of the sigmoid between prior and category mean."""
    single_count_prior: bool = False
    """category_encoders <= 2.5: categories seen exactly once get the prior."""

    @staticmethod
    def legacy() -> "TargetEncoderParams":
        """The defaults of category_encoders <= 2.5, which the 2022 notebook ran with."""
        return TargetEncoderParams(min_samples_leaf=1.0, smoothing=1.0, single_count_prior=True)


@dataclass(frozen=True)
class CategoryTable:
    """A value -> number lookup for one column (target or frequency encoding)."""

    column: str
    categories: tuple[float, ...]
    """Distinct training values, sorted, NaN excluded."""
    values: tuple[float, ...]
    """Encoded value of each category."""
    missing: float
    """Encoded value of NaN."""
    unknown: float
    """Encoded value of a category not seen in training."""

    def lookup(self, x: np.ndarray) -> np.ndarray:
        """[n] raw values -> [n] float64 encoded values."""
        cats = np.asarray(self.categories, dtype=np.float64)
        vals = np.asarray(self.values, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        pos = np.clip(np.searchsorted(cats, x), 0, max(len(cats) - 1, 0))
        found = cats[pos] == x if len(cats) else np.zeros(x.shape, dtype=bool)
        out = np.where(found, vals[pos] if len(cats) else 0.0, self.unknown)
        return np.where(np.isnan(x), self.missing, out)


@dataclass(frozen=True)
class ColumnScale:
    """Clean protocol: log1p(max(x, 0)) min-max scaled to [0, 1] with training bounds."""

    column: str
    low: float
    high: float


@dataclass(frozen=True)
class Preprocessor:
    """Everything `apply` needs, fitted on training rows; JSON-serialisable with `to_dict`."""

    protocol: str
    """'paper' or 'clean'."""
    feature_names: tuple[str, ...]
    """Input columns read by `apply`, which are also the output columns, in order."""
    tables: tuple[CategoryTable, ...] = ()
    """Per-column category encodings (paper: target encoding; clean: frequency encoding)."""
    scales: tuple[ColumnScale, ...] = ()
    """Clean protocol: log1p + min-max scaling of the other columns."""
    row_normalise: bool = False
    """Paper protocol: inf/NaN -> 0 and unit L2 norm per row."""
    fitted_rows: int = 0
    """Number of training rows it was fitted on."""

    def to_dict(self) -> dict:
        """JSON-ready: floats as repr strings for categories (exact, and inf-safe)."""
        d = asdict(self)
        for table in d["tables"]:
            table["categories"] = [repr(float(c)) for c in table["categories"]]
        d["feature_names"] = list(self.feature_names)
        return d

    @staticmethod
    def from_dict(d: dict) -> "Preprocessor":
        tables = tuple(
            CategoryTable(
                column=t["column"],
                categories=tuple(float(c) for c in t["categories"]),
                values=tuple(float(v) for v in t["values"]),
                missing=float(t["missing"]),
                unknown=float(t["unknown"]),
            )
            for t in d.get("tables", ())
        )
        scales = tuple(ColumnScale(s["column"], float(s["low"]), float(s["high"])) for s in d.get("scales", ()))
        return Preprocessor(
            protocol=d["protocol"],
            feature_names=tuple(d["feature_names"]),
            tables=tables,
            scales=scales,
            row_normalise=bool(d.get("row_normalise", False)),
            fitted_rows=int(d.get("fitted_rows", 0)),
        )


@dataclass(frozen=True)
class PreparedData:
    """Preprocessed splits of one file, ready for graph building and detectors."""

    train: Split
    val: Split | None
    """None under 'paper' (no validation split)."""
    test: Split
    feature_names: tuple[str, ...]
    preprocessor: Preprocessor
    protocol: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def fit(
    frame: pl.DataFrame | pd.DataFrame,
    config: DataConfig,
    labels: np.ndarray | None = None,
    feature_names: tuple[str, ...] | None = None,
    target_encoder: TargetEncoderParams = TargetEncoderParams(),
) -> Preprocessor:
    """Fits the preprocessing of `config.protocol` on training rows.

    Args:
      frame: training rows [n, columns], holding at least `feature_names`.
      config: `protocol` selects 'paper' or 'clean'.
      labels: [n] 0/1 training labels; required by 'paper' (target encoding), ignored by 'clean'.
      feature_names: input feature columns; default: every known NetFlow feature in `frame`
        (minus `CLEAN_DROPPED` under 'clean').
      target_encoder: smoothing of the paper protocol's target encoder.
    Returns:
      A fitted `Preprocessor`; `frame` is not modified.
    """
    protocol = _check_protocol(config.protocol)
    if feature_names is None:
        feature_names = default_feature_names(list(frame.columns), protocol)
    feature_names = tuple(feature_names)
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        raise InputError(f"feature column {missing[0]} is missing from the rows to preprocess")
    n = frame.shape[0]
    if n == 0:
        raise InputError("cannot fit preprocessing on zero training rows")
    if protocol == "paper":
        if labels is None:
            raise ValueError("the paper protocol's target encoder needs the training labels")
        y = np.asarray(labels, dtype=np.float64)
        if y.shape != (n,):
            raise ValueError(f"labels must be [{n}], got {y.shape}")
        tables = tuple(
            _fit_target_encoding(col, _column(frame, col), y, target_encoder)
            for col in feature_names
            if col in PAPER_TARGET_ENCODED
        )
        return Preprocessor("paper", feature_names, tables=tables, row_normalise=True, fitted_rows=n)

    # clean: frequency codes for nominal columns, log1p + min-max for the rest (one column at a time).
    tables, scales = [], []
    for col in feature_names:
        if col in CLEAN_NOMINAL:
            tables.append(_fit_frequency_encoding(col, _column(frame, col)))
        else:
            logged = _log1p_nonneg(_column(frame, col))
            finite = logged[np.isfinite(logged)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
            scales.append(ColumnScale(col, low, high))
    return Preprocessor("clean", feature_names, tables=tuple(tables), scales=tuple(scales), fitted_rows=n)


def apply(
    prep: Preprocessor, frame: pl.DataFrame | pd.DataFrame | np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Transforms rows with a fitted Preprocessor (pure: `frame` is not modified).

    Args:
      prep: from `fit`.
      frame: rows holding `prep.feature_names` (a DataFrame), or a [n, F] array in that column order.
      rows: optional [m] row indices into `frame` to transform (gathered chunk by chunk); default all.
    Returns:
      [n or m, F] float32.
    """
    total = frame.shape[0] if rows is None else len(rows)
    out = np.empty((total, len(prep.feature_names)), dtype=np.float32)
    index = {c: j for j, c in enumerate(prep.feature_names)}
    for start in range(0, total, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, total)
        chunk = slice(start, stop) if rows is None else np.asarray(rows[start:stop])
        x = _matrix(_rows(frame, chunk), prep.feature_names)  # [chunk, F] float64, a copy
        for table in prep.tables:
            x[:, index[table.column]] = table.lookup(x[:, index[table.column]])
        for scale in prep.scales:
            j = index[scale.column]
            width = scale.high - scale.low if scale.high > scale.low else 1.0
            scaled = (_log1p_nonneg(x[:, j]) - scale.low) / width
            x[:, j] = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        if prep.row_normalise:
            # inf -> NaN -> 0, then unit L2 norm per row (sklearn Normalizer; zero rows stay zero).
            x[~np.isfinite(x)] = 0.0
            norms = np.sqrt(np.einsum("ij,ij->i", x, x))
            norms[norms == 0.0] = 1.0
            x /= norms[:, None]
        out[start:stop] = x
    return out


def prepare(table: NetFlowTable, config: DataConfig) -> PreparedData:
    """Selects rows, splits, fits on the training split and transforms every split.

    Args:
      table: a loaded file.
      config: protocol, sample fraction, seeds and split shares.
    Returns:
      `PreparedData`: train/val/test `Split`s (val None under 'paper') and the fitted Preprocessor.
    """
    protocol = _check_protocol(config.protocol)
    frame = table.frame
    notes: list[str] = []
    if protocol == "paper":
        if not table.variant.startswith("NF-v2"):
            notes.append(f"the paper protocol was defined on NF-v2; applying it to {table.variant} features")
        rows = per_class_sample(frame[ATTACK], config.sample_frac, config.sample_seed)
        train_rows, test_rows = paper_split(frame, rows, config.test_size, config.split_seed, table.path)
        val_rows = None
        features = table.feature_columns
        notes.append(
            f"paper protocol: {config.sample_frac:g} per-class sample -> {len(rows)} rows, "
            f"split {len(train_rows)} train / {len(test_rows)} test"
        )
    else:
        rows = np.arange(frame.height, dtype=np.int64)
        if config.clean_sample_frac is not None:
            rows = np.sort(per_class_sample(frame[ATTACK], config.clean_sample_frac, config.sample_seed))
        train_rows, val_rows, test_rows = clean_split(frame[ATTACK], rows, config.clean_fractions, config.split_seed)
        features = tuple(c for c in table.feature_columns if c not in CLEAN_DROPPED)
        notes.append(
            f"clean protocol: {len(rows)} rows, split {len(train_rows)} train / {len(val_rows)} validation / "
            f"{len(test_rows)} test; dropped {', '.join(c for c in CLEAN_DROPPED if c in table.feature_columns)}"
        )
    if len(train_rows) == 0 or len(test_rows) == 0:
        raise InputError(
            f"{table.path}: too few rows ({len(rows)} after sampling) for a train/test split; raise the sample fraction"
        )

    # Gather only what each split needs: numeric feature rows, and strings shared across rows.
    feature_frame = frame.select(features)
    train_features = feature_frame[pl.Series(train_rows)]
    label_all = frame[LABEL].to_numpy()
    labels = label_all[train_rows] if protocol == "paper" else None
    prep = fit(train_features, config, labels=labels, feature_names=features)
    # Strings of the used rows only (a paper run uses 10% of the file), shared across rows.
    parts = [train_rows] + ([] if val_rows is None else [val_rows]) + [test_rows]
    used = frame.select([c for c in (ATTACK, SRC_IP, DST_IP) if c in frame.columns])[pl.Series(np.concatenate(parts))]
    attack_used = _shared_strings(used[ATTACK])
    src_used = _shared_strings(used[SRC_IP]) if table.has_ips else None
    dst_used = _shared_strings(used[DST_IP]) if table.has_ips else None
    offsets = np.cumsum([0] + [len(p) for p in parts])

    def make_split(k: int, train: bool = False) -> Split:
        split_rows, at = parts[k], slice(offsets[k], offsets[k + 1])
        return Split(
            features=apply(prep, train_features) if train else apply(prep, feature_frame, rows=split_rows),
            label=label_all[split_rows].astype(np.int8),
            attack=attack_used[at],
            src=None if src_used is None else src_used[at],
            dst=None if dst_used is None else dst_used[at],
            row=np.asarray(split_rows, dtype=np.int64),
            source=table.path,
        )

    return PreparedData(
        train=make_split(0, train=True),
        val=None if val_rows is None else make_split(1),
        test=make_split(len(parts) - 1),
        feature_names=prep.feature_names,
        preprocessor=prep,
        protocol=protocol,
        notes=tuple(notes),
    )


def default_feature_names(columns: list[str], protocol: str) -> tuple[str, ...]:
    """Known NetFlow features present in `columns`, in canonical order (clean drops identifiers)."""
    from anomale_jax.data.netflow import NF_V1_FEATURES, NF_V3_FEATURES

    known = NF_V3_FEATURES + tuple(c for c in NF_V1_FEATURES if c not in NF_V3_FEATURES)
    names = tuple(c for c in known if c in columns)
    if protocol == "clean":
        names = tuple(c for c in names if c not in CLEAN_DROPPED)
    return names


def per_class_sample(attack: pl.Series, frac: float, seed: int) -> np.ndarray:
    """Rows of pandas `groupby('Attack').sample(frac, random_state=seed)`, in the order pandas returns them.

    Groups on integer codes of the sorted Attack names (the order pandas iterates string groups in), which
    selects the same rows as grouping the strings, without materialising them in pandas.

    Args:
      attack: [n] Attack names of the whole table.
    Returns:
      [m] int64 row indices, m = sum over classes of round(frac * class size).
    """
    if not 0.0 < frac <= 1.0:
        raise InputError(f"sample fraction must lie in (0, 1], got {frac}")
    names = attack.unique().sort()
    codes = attack.replace_strict(names, pl.arange(0, names.len(), eager=True), return_dtype=pl.Int32)
    groups = pd.DataFrame({"g": codes.to_numpy()})
    return groups.groupby("g").sample(frac=frac, random_state=seed).index.to_numpy().astype(np.int64)


def paper_split(
    frame: pl.DataFrame, rows: np.ndarray, test_size: float, seed: int, source: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's `train_test_split(test_size, random_state=seed, stratify=y[['Attack', 'Label']])`.

    Args:
      frame: the table; `rows` [m] the sampled rows in sample order.
    Returns:
      (train rows [m_train], test rows [m_test]) as table row indices, in sklearn's output order.
    """
    from sklearn.model_selection import train_test_split

    sub = frame.select(ATTACK, LABEL)[pl.Series(rows)]
    strata = sub.select(pl.concat_str([pl.col(ATTACK), pl.col(LABEL).cast(pl.String)], separator=" ")).to_series()
    strata = strata.to_numpy().astype(str)
    _, counts = np.unique(strata, return_counts=True)
    if len(strata) and counts.min() < 2:
        rare = np.unique(strata)[np.argmin(counts)].rsplit(" ", 1)[0]
        raise InputError(
            f"{source}: Attack class {rare!r} has 1 row after sampling; the stratified split needs at least 2 "
            f"(raise the sample fraction)"
        )
    try:
        train_pos, test_pos = train_test_split(
            np.arange(len(rows)), test_size=test_size, random_state=seed, stratify=strata
        )
    except ValueError as exc:
        raise InputError(f"{source}: cannot split {len(rows)} sampled rows: {exc}") from None
    return rows[train_pos], rows[test_pos]


def clean_split(
    attack: pl.Series, rows: np.ndarray, fractions: tuple[float, float, float], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/validation/test rows stratified by Attack; each part sorted (file order).

    Per class of size c: test = round(c * f_test), validation = round(c * f_val), train = the rest.

    Args:
      attack: [n] Attack names of the whole table; `rows` [m] the candidate rows.
    Returns:
      Three int64 arrays of table row indices.
    """
    f_train, f_val, f_test = (float(f) for f in fractions)
    if min(fractions) < 0 or not math.isclose(f_train + f_val + f_test, 1.0, abs_tol=1e-6) or f_train <= 0:
        raise InputError(f"clean_fractions must be three non-negative shares summing to 1 with train > 0, got {fractions}")
    rng = np.random.default_rng(seed)
    inverse = _sorted_codes(attack.gather(rows))  # class of each row, classes in sorted-name order
    parts: list[list[np.ndarray]] = [[], [], []]
    for k in range(int(inverse.max()) + 1 if len(rows) else 0):
        members = rows[inverse == k]
        members = members[rng.permutation(len(members))]
        n_test = int(round(len(members) * f_test))
        n_val = int(round(len(members) * f_val))
        if n_test + n_val >= len(members):  # keep at least one training row per class
            n_test, n_val = (len(members) - 1) // 2, (len(members) - 1) - (len(members) - 1) // 2
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test:n_test + n_val])
        parts[0].append(members[n_test + n_val:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)  # type: ignore[return-value]


def _fit_target_encoding(col: str, x: np.ndarray, y: np.ndarray, params: TargetEncoderParams) -> CategoryTable:
    """category_encoders TargetEncoder statistics for one column (NaN is a category of its own)."""
    prior = float(y.mean())
    nan = np.isnan(x)
    cats, inverse = np.unique(x[~nan], return_inverse=True)
    counts = np.bincount(inverse, minlength=len(cats)).astype(np.float64)
    sums = np.bincount(inverse, weights=y[~nan], minlength=len(cats))

    def smooth(count: np.ndarray, total: np.ndarray) -> np.ndarray:
        weight = 1.0 / (1.0 + np.exp(-(count - params.min_samples_leaf) / params.smoothing))
        value = prior * (1.0 - weight) + (total / np.maximum(count, 1.0)) * weight
        if params.single_count_prior:
            value = np.where(count == 1, prior, value)
        return value

    values = smooth(counts, sums)
    missing = float(smooth(np.array([nan.sum()], float), np.array([y[nan].sum()]))[0]) if nan.any() else prior
    return CategoryTable(col, tuple(cats.tolist()), tuple(values.tolist()), missing=missing, unknown=prior)


def _fit_frequency_encoding(col: str, x: np.ndarray) -> CategoryTable:
    """log1p(count) / log1p(n) of each training value; unseen values 0."""
    n = x.shape[0]
    nan = np.isnan(x)
    cats, counts = np.unique(x[~nan], return_counts=True)
    denom = math.log1p(n)
    values = np.log1p(counts) / denom
    missing = math.log1p(int(nan.sum())) / denom
    return CategoryTable(col, tuple(cats.tolist()), tuple(values.tolist()), missing=missing, unknown=0.0)


def _sorted_codes(names: pl.Series) -> np.ndarray:
    """[n] int64 index of each string among the sorted distinct strings (as numpy.unique's inverse)."""
    return names.rank("dense").to_numpy().astype(np.int64) - 1


def _shared_strings(names: pl.Series) -> np.ndarray:
    """[n] object array whose equal strings share one Python object (8 bytes a row, not ~60)."""
    codes, distinct = pd.factorize(names.to_numpy())
    shared = np.empty(len(distinct), dtype=object)
    shared[:] = list(distinct)
    return shared[codes]


def _log1p_nonneg(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.log1p(np.maximum(x, 0.0))


def _rows(frame, chunk: slice | np.ndarray):
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[chunk]
    if isinstance(frame, pl.DataFrame) and isinstance(chunk, np.ndarray):
        return frame[pl.Series(chunk)]
    return frame[chunk]


def _column(frame, name: str) -> np.ndarray:
    """[n] float64 copy of one column."""
    if isinstance(frame, pd.DataFrame):
        return frame[name].to_numpy(dtype=np.float64, copy=True)
    return frame[name].to_numpy().astype(np.float64)


def _matrix(frame, names: tuple[str, ...]) -> np.ndarray:
    """[n, F] float64 copy of the named columns (or of an already ordered array)."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 2 or frame.shape[1] != len(names):
            raise ValueError(f"expected an [n, {len(names)}] array, got {frame.shape}")
        return np.array(frame, dtype=np.float64)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InputError(f"feature column {missing[0]} is missing from the rows to preprocess")
    if isinstance(frame, pd.DataFrame):
        return frame[list(names)].to_numpy(dtype=np.float64, copy=True)
    return frame.select(names).to_numpy().astype(np.float64)


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    return protocol
