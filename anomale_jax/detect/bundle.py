"""The detection input bundle: everything the detection stage needs, as plain arrays in one .npz (no pickle).

Layout of the .npz (every array is a plain numpy array; strings are unicode arrays, loaded with
allow_pickle=False):

- `format`: 0-d unicode, "anomale-jax-detection-bundle/1".
- `meta`: 0-d unicode JSON object (free-form, e.g. dataset name, protocol, edge_mode).
- for each split in ("train", "validation", "test"), "validation" optional, with `S` the split name:
  - `S.embeddings`   [E, D] float32  edge embeddings
  - `S.edge_flow`    [E]    int64    flow row (index into the split's flow arrays) of each edge
  - `S.raw_features` [n, F] float32  preprocessed flow features (the raw-feature baseline)
  - `S.flow_labels`  [n]    int8     0 benign / 1 attack, per flow
  - `S.flow_attacks` [n]    unicode  attack class name per flow ("Benign" for benign)

Edge labels and attack names are not stored: they are `flow_labels[edge_flow]` and
`flow_attacks[edge_flow]`, so they cannot disagree with the flows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from anomale_jax.errors import InputError
from anomale_jax.io import atomic_path, read_npz

FORMAT = "anomale-jax-detection-bundle/1"
SPLITS = ("train", "validation", "test")
FIELDS = ("embeddings", "edge_flow", "raw_features", "flow_labels", "flow_attacks")


class SplitData(NamedTuple):
    """One split's detection inputs."""

    embeddings: np.ndarray  # [E, D] float32 edge embeddings
    edge_flow: np.ndarray  # [E] int64 flow row of each edge
    raw_features: np.ndarray  # [n, F] float32 preprocessed flow features
    flow_labels: np.ndarray  # [n] int8 0 benign / 1 attack
    flow_attacks: np.ndarray  # [n] str attack class names

    @property
    def num_flows(self) -> int:
        return int(self.flow_labels.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_flow.shape[0])

    @property
    def edge_labels(self) -> np.ndarray:
        """[E] int8 label of each edge (its flow's label)."""
        return self.flow_labels[self.edge_flow]

    @property
    def edge_attacks(self) -> np.ndarray:
        """[E] str attack name of each edge (its flow's)."""
        return self.flow_attacks[self.edge_flow]


class DetectionBundle(NamedTuple):
    """Per-split detection inputs; `validation` is None for the paper protocol's train/test split."""

    train: SplitData
    test: SplitData
    validation: SplitData | None = None
    meta: dict = {}

    def splits(self) -> dict[str, SplitData]:
        out = {"train": self.train, "validation": self.validation, "test": self.test}
        return {k: v for k, v in out.items() if v is not None}


def make_split(
    embeddings: np.ndarray,
    edge_flow: np.ndarray,
    raw_features: np.ndarray,
    flow_labels: np.ndarray,
    flow_attacks: np.ndarray,
    *,
    where: str = "split",
) -> SplitData:
    """Builds a SplitData with canonical dtypes, checking shapes and index ranges.

    Args:
      embeddings: [E, D]; edge_flow: [E] ints in [0, n); raw_features: [n, F]; flow_labels: [n] 0/1;
      flow_attacks: [n] strings.
      where: names the source in error messages (e.g. "bundle.npz: train").
    Raises:
      InputError: on a shape, dtype or value problem, naming `where`, the field and an example bad value.
    """
    emb = np.asarray(embeddings)
    flow = np.asarray(edge_flow)
    raw = np.asarray(raw_features)
    labels = np.asarray(flow_labels)
    attacks = np.asarray(flow_attacks)
    if emb.ndim != 2:
        raise InputError(f"{where}.embeddings: expected a 2-D [E, D] array, got shape {emb.shape}")
    if flow.shape != (emb.shape[0],):
        raise InputError(f"{where}.edge_flow: expected shape ({emb.shape[0]},) to match embeddings, got {flow.shape}")
    if raw.ndim != 2:
        raise InputError(f"{where}.raw_features: expected a 2-D [n, F] array, got shape {raw.shape}")
    n = raw.shape[0]
    if labels.shape != (n,) or attacks.shape != (n,):
        raise InputError(
            f"{where}.flow_labels/flow_attacks: expected shape ({n},) to match raw_features, "
            f"got {labels.shape} and {attacks.shape}"
        )
    for name, arr in (("embeddings", emb), ("raw_features", raw)):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise InputError(f"{where}.{name}: expected real numbers, got dtype {arr.dtype}")
        if np.isfinite(arr.sum(dtype=np.float64)):
            continue  # a finite sum means every value is finite (cheap check first)
        finite = np.isfinite(arr)
        if not finite.all():
            row = int(np.argwhere(~finite)[0][0])
            raise InputError(f"{where}.{name}: non-finite value {arr[~finite][0].item()!r} (row {row})")
    if not np.issubdtype(flow.dtype, np.integer):
        raise InputError(f"{where}.edge_flow: expected integers, got dtype {flow.dtype}")
    if flow.size and (flow.min() < 0 or flow.max() >= n):
        bad = flow[(flow < 0) | (flow >= n)][0]
        raise InputError(f"{where}.edge_flow: flow index {int(bad)} outside [0, {n})")
    if not np.isin(labels, (0, 1)).all():
        raise InputError(f"{where}.flow_labels: labels must be 0 or 1, got e.g. {labels[~np.isin(labels, (0, 1))][0].item()!r}")
    if attacks.dtype.kind != "U":
        raise InputError(f"{where}.flow_attacks: expected unicode strings, got dtype {attacks.dtype}")
    return SplitData(
        embeddings=emb.astype(np.float32, copy=False),
        edge_flow=flow.astype(np.int64, copy=False),
        raw_features=raw.astype(np.float32, copy=False),
        flow_labels=labels.astype(np.int8, copy=False),
        flow_attacks=attacks,
    )


def save_bundle(path: str | os.PathLike, bundle: DetectionBundle) -> Path:
    """Writes `bundle` atomically as an uncompressed .npz (see the module docstring for the layout)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "meta": np.array(json.dumps(bundle.meta or {})),
    }
    for split, data in bundle.splits().items():
        for field in FIELDS:
            arrays[f"{split}.{field}"] = np.asarray(getattr(data, field))
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return path


def load_bundle(path: str | os.PathLike) -> DetectionBundle:
    """Reads and validates a bundle written by `save_bundle`.

    Raises:
      InputError: missing or unreadable file, wrong format tag, missing or malformed arrays (one line naming
        the file, the array and an example bad value).
    """
    path = Path(path)
    arrays = read_npz(path, "bundle")
    fmt = str(arrays.get("format", ""))
    if fmt != FORMAT:
        raise InputError(f"{path}: format tag {fmt!r} is not {FORMAT!r}")
    try:
        meta = json.loads(str(arrays.get("meta", "{}")))
    except json.JSONDecodeError:
        raise InputError(f"{path}: meta is not valid JSON") from None
    splits = {}
    for split in SPLITS:
        present = [f for f in FIELDS if f"{split}.{f}" in arrays]
        if not present and split == "validation":
            continue
        missing = [f"{split}.{f}" for f in FIELDS if f not in present]
        if missing:
            raise InputError(f"{path}: missing array {missing[0]}")
        splits[split] = make_split(*(arrays[f"{split}.{f}"] for f in FIELDS), where=f"{path}: {split}")
    widths = {s: d.embeddings.shape[1] for s, d in splits.items()}
    raw_widths = {s: d.raw_features.shape[1] for s, d in splits.items()}
    for name, w in (("embeddings", widths), ("raw_features", raw_widths)):
        if len(set(w.values())) > 1:
            raise InputError(f"{path}: {name} widths differ between splits: {w}")
    return DetectionBundle(
        train=splits["train"], test=splits["test"], validation=splits.get("validation"), meta=meta
    )
