"""Preprocessing: the paper protocol against a direct pandas/sklearn/category_encoders pipeline, the clean
protocol's label-free, train-only fitting and its splits, serialisation and purity."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from anomale_jax.config import DataConfig
from anomale_jax.data.netflow import load_netflow
from anomale_jax.data.preprocess import (
    CLEAN_NOMINAL,
    Preprocessor,
    TargetEncoderParams,
    apply,
    clean_split,
    fit,
    per_class_sample,
    prepare,
)
from anomale_jax.data.schema import NF_V2_FEATURES, PAPER_TARGET_ENCODED, V3_TIMESTAMPS
from anomale_jax.errors import InputError

BOT = "nf-bot-iot-v2-sample250k.csv.gz"
UNSW = "nf-unsw-nb15-v2-sample72.csv"
CSE = "nf-cse-cic-ids2018-v2-noip-sample10k.csv"
PAPER = DataConfig(protocol="paper")
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting")
CLEAN = DataConfig(protocol="clean")


@pytest.fixture(scope="module")
def bot(shared_data):
    return load_netflow(shared_data / BOT)


@pytest.fixture(scope="module")
def notebook(shared_data):
    """The notebook's cells 2-7 run directly on the BoT sample (pandas, sklearn, category_encoders)."""
    import category_encoders as ce
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import Normalizer

    data = pd.read_csv(shared_data / BOT)
    data = data.rename(columns=lambda c: c.strip()).drop(columns=["L4_SRC_PORT", "L4_DST_PORT"])
    data = data.groupby(by="Attack").sample(frac=0.1, random_state=13)
    x, y = data.drop(columns=["Attack", "Label"]), data[["Attack", "Label"]]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=13, stratify=y)
    encoder = ce.TargetEncoder(cols=list(PAPER_TARGET_ENCODED)).fit(x_train, y_train.Label)
    enc_train, enc_test = encoder.transform(x_train), encoder.transform(x_test)
    out = {"train_rows": x_train.index.to_numpy(), "test_rows": x_test.index.to_numpy(),
           "x_train": x_train, "x_test": x_test, "y_train": y_train, "enc_test": enc_test.copy()}
    for name, frame in (("train", enc_train), ("test", enc_test)):
        frame = frame.replace([np.inf, -np.inf], np.nan).fillna(0)
        out[name] = frame
    cols = list(out["train"].columns[2:])
    scaler = Normalizer().fit(out["train"][cols])
    out["h_train"] = scaler.transform(out["train"][cols])
    out["h_test"] = scaler.transform(out["test"][cols])
    out["cols"] = tuple(cols)
    return out


@pytest.fixture(scope="module")
def bot_paper(bot):
    return prepare(bot, PAPER)


# ---- paper protocol -----------------------------------------------------------------------------------


def test_paper_rows_match_notebook(bot_paper, notebook):
    np.testing.assert_array_equal(bot_paper.train.row, notebook["train_rows"])
    np.testing.assert_array_equal(bot_paper.test.row, notebook["test_rows"])
    assert bot_paper.val is None
    assert bot_paper.feature_names == notebook["cols"] == NF_V2_FEATURES


def test_paper_features_match_notebook(bot_paper, notebook):
    assert bot_paper.train.features.dtype == np.float32
    np.testing.assert_allclose(bot_paper.train.features, notebook["h_train"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(bot_paper.test.features, notebook["h_test"], atol=1e-6, rtol=0)
    norms = np.linalg.norm(bot_paper.test.features.astype(np.float64), axis=1)
    assert np.all(np.abs(norms - 1) < 1e-5)


def test_paper_labels_and_ips_follow_rows(bot, bot_paper, notebook):
    frame = bot.frame
    np.testing.assert_array_equal(bot_paper.test.label, frame["Label"].to_numpy()[bot_paper.test.row])
    np.testing.assert_array_equal(bot_paper.train.src, notebook["x_train"]["IPV4_SRC_ADDR"].to_numpy())
    np.testing.assert_array_equal(bot_paper.test.attack, frame["Attack"].to_numpy()[bot_paper.test.row])


def test_target_encoding_matches_category_encoders_before_normalising(bot_paper, notebook):
    """The stored tables reproduce category_encoders' transform itself (tiny after L2 normalising, so checked raw),
    including test categories never seen in training (-> prior)."""
    x_test, enc = notebook["x_test"], notebook["enc_test"]
    tables = {t.column: t for t in bot_paper.preprocessor.tables}
    assert set(tables) == set(PAPER_TARGET_ENCODED)
    unseen = 0
    for col in PAPER_TARGET_ENCODED:
        raw = x_test[col].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(tables[col].lookup(raw), enc[col].to_numpy(dtype=np.float64), atol=1e-9, rtol=0)
        unseen += int((~np.isin(raw, tables[col].categories)).sum())
    assert unseen > 0, "the sample should exercise unseen categories"
    prior = float(notebook["y_train"].Label.mean())
    assert tables["DNS_QUERY_ID"].unknown == pytest.approx(prior)


def test_legacy_target_encoder_semantics(notebook):
    """category_encoders <= 2.5 (the notebook's): (1, 1.0) smoothing, single-count categories -> prior."""
    import category_encoders as ce

    x_train, y = notebook["x_train"], notebook["y_train"].Label.to_numpy()
    col = "DNS_QUERY_ID"
    prep = fit(x_train, PAPER, labels=y, feature_names=NF_V2_FEATURES, target_encoder=TargetEncoderParams.legacy())
    table = next(t for t in prep.tables if t.column == col)
    ref = ce.TargetEncoder(cols=[col], min_samples_leaf=1, smoothing=1.0).fit(x_train[[col]], y).transform(x_train[[col]])
    raw = x_train[col].to_numpy(dtype=np.float64)
    counts = pd.Series(raw).map(pd.Series(raw).value_counts()).to_numpy()
    assert (counts == 1).any() and (counts > 1).any()
    got = table.lookup(raw)
    np.testing.assert_allclose(got[counts > 1], ref[col].to_numpy()[counts > 1], atol=1e-12)
    np.testing.assert_allclose(got[counts == 1], y.mean(), atol=1e-12)


def test_paper_split_refuses_single_row_class(shared_data):
    table = load_netflow(shared_data / UNSW)  # DoS has 2 rows: a 0.5 sample keeps 1
    with pytest.raises(InputError, match="'DoS' has 1 row after sampling"):
        prepare(table, dataclasses.replace(PAPER, sample_frac=0.5))


def test_per_class_sample_matches_pandas_on_strings(bot):
    attack = bot.frame["Attack"]
    want = pd.DataFrame({"Attack": attack.to_list()}).groupby("Attack").sample(frac=0.3, random_state=5).index
    np.testing.assert_array_equal(per_class_sample(attack, 0.3, 5), want.to_numpy())


# ---- clean protocol -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cse(shared_data):
    return load_netflow(shared_data / CSE)


@pytest.fixture(scope="module")
def cse_clean(cse):
    return prepare(cse, CLEAN)


def test_clean_split_is_a_stratified_partition(cse, cse_clean):
    parts = [cse_clean.train.row, cse_clean.val.row, cse_clean.test.row]
    joined = np.concatenate(parts)
    assert len(joined) == cse.num_rows and len(np.unique(joined)) == cse.num_rows
    assert all(np.all(np.diff(p) > 0) for p in parts)  # file order kept
    attack = cse.frame["Attack"].to_numpy()
    for name in ("Benign", "DDOS attack-HOIC", "Bot"):
        sizes = np.array([(attack[p] == name).sum() for p in parts], dtype=float)
        np.testing.assert_allclose(sizes / sizes.sum(), (0.6, 0.2, 0.2), atol=0.02)


def test_clean_split_handles_tiny_classes_and_is_deterministic(shared_data):
    table = load_netflow(shared_data / UNSW)  # classes of 67, 3 and 2 rows
    a, b = prepare(table, CLEAN), prepare(table, CLEAN)
    for s, t in ((a.train, b.train), (a.val, b.val), (a.test, b.test)):
        np.testing.assert_array_equal(s.row, t.row)
        np.testing.assert_array_equal(s.features, t.features)
    attack = table.frame["Attack"].to_numpy()
    assert sorted(attack[a.train.row].tolist()).count("DoS") == 2  # a 2-row class stays in training
    assert {attack[r] for r in a.test.row} >= {"Benign", "Exploits"}
    other = prepare(table, dataclasses.replace(CLEAN, split_seed=14))
    assert not np.array_equal(other.test.row, a.test.row)


def test_clean_features_exclude_identifiers_ports_and_timestamps(cse_clean):
    names = cse_clean.feature_names
    assert "DNS_QUERY_ID" not in names
    assert not {"L4_SRC_PORT", "L4_DST_PORT", *V3_TIMESTAMPS} & set(names)
    assert len(names) == len(NF_V2_FEATURES) - 1


def test_clean_is_label_free(cse):
    """Flipping every Label changes nothing: no transform of the clean protocol sees labels."""
    flipped = dataclasses.replace(cse, frame=cse.frame.with_columns((1 - pl.col("Label")).cast(pl.Int8)))
    a, b = prepare(cse, CLEAN), prepare(flipped, CLEAN)
    np.testing.assert_array_equal(a.train.features, b.train.features)
    np.testing.assert_array_equal(a.test.features, b.test.features)
    assert a.preprocessor == b.preprocessor


def test_clean_scaling_is_fitted_on_training_rows_only(cse, cse_clean):
    train = cse_clean.train.features
    assert train.min() >= 0 and train.max() <= 1
    # Continuous columns span [0, 1] on training rows exactly (min-max fitted there).
    cont = [j for j, n in enumerate(cse_clean.feature_names) if n not in CLEAN_NOMINAL]
    spread = train[:, cont].max(axis=0) - train[:, cont].min(axis=0)
    assert np.all((np.abs(spread - 1) < 1e-6) | (spread == 0))
    # A huge value in a test row changes neither the fit nor the training features; it clips to 1.
    row = int(cse_clean.test.row[0])
    frame = cse.frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(1e30, pl.Float32)).otherwise(pl.col("IN_BYTES")).alias("IN_BYTES")
    )
    changed = prepare(dataclasses.replace(cse, frame=frame), CLEAN)
    assert changed.preprocessor == cse_clean.preprocessor
    np.testing.assert_array_equal(changed.train.features, train)
    j = cse_clean.feature_names.index("IN_BYTES")
    assert changed.test.features[0, j] == 1.0
    for split in (cse_clean.val, cse_clean.test):
        assert split.features.min() >= 0 and split.features.max() <= 1


def test_clean_frequency_codes(cse, cse_clean):
    """Nominal codes become log1p(training count) / log1p(training rows); unseen values 0."""
    table = next(t for t in cse_clean.preprocessor.tables if t.column == "PROTOCOL")
    n = cse_clean.preprocessor.fitted_rows
    assert n == cse_clean.train.num_flows
    raw = cse.frame["PROTOCOL"].to_numpy()[cse_clean.train.row]
    for value in (6.0, 17.0):
        assert table.lookup(np.array([value]))[0] == pytest.approx(np.log1p((raw == value).sum()) / np.log1p(n))
    assert table.lookup(np.array([250.0]))[0] == 0.0
    j = cse_clean.feature_names.index("PROTOCOL")
    np.testing.assert_allclose(cse_clean.train.features[:, j], table.lookup(raw), rtol=1e-6)


def test_clean_sample_frac(cse):
    small = prepare(cse, dataclasses.replace(CLEAN, clean_sample_frac=0.2))
    total = small.train.num_flows + small.val.num_flows + small.test.num_flows
    assert total == pytest.approx(0.2 * cse.num_rows, abs=12)


# ---- Preprocessor: serialisation and purity -----------------------------------------------------------


@pytest.mark.parametrize("config", [PAPER, CLEAN], ids=["paper", "clean"])
def test_preprocessor_round_trips_through_json(bot, bot_paper, config):
    prepared = bot_paper if config.protocol == "paper" else prepare(bot, dataclasses.replace(config, clean_sample_frac=0.05))
    prep = prepared.preprocessor
    restored = Preprocessor.from_dict(json.loads(json.dumps(prep.to_dict(), allow_nan=False)))
    assert restored == prep
    rows = bot.frame[prepared.test.row]
    np.testing.assert_array_equal(apply(restored, rows), prepared.test.features)


def test_apply_is_pure_and_accepts_pandas_and_arrays(bot, bot_paper):
    rows = bot.frame[bot_paper.test.row[:500]]
    before = rows.clone()
    prep = bot_paper.preprocessor
    out = apply(prep, rows)
    assert rows.equals(before)
    as_pandas = rows.to_pandas()
    snapshot = as_pandas.copy()
    np.testing.assert_array_equal(apply(prep, as_pandas), out)
    pd.testing.assert_frame_equal(as_pandas, snapshot)
    array = rows.select(prep.feature_names).to_numpy()
    kept = array.copy()
    np.testing.assert_array_equal(apply(prep, array), out)
    np.testing.assert_array_equal(array, kept)


def test_fit_needs_labels_for_paper_and_names_a_missing_column(bot):
    rows = bot.frame[:100]
    with pytest.raises(ValueError, match="labels"):
        fit(rows, PAPER)
    with pytest.raises(InputError, match="IN_BYTES"):
        fit(rows.drop("IN_BYTES"), CLEAN, feature_names=NF_V2_FEATURES)
    with pytest.raises(InputError, match="protocol"):
        fit(rows, dataclasses.replace(CLEAN, protocol="fast"))


def test_clean_split_rejects_bad_fractions(bot):
    with pytest.raises(InputError, match="clean_fractions"):
        clean_split(bot.frame["Attack"], np.arange(10), (0.5, 0.2, 0.2), 0)
