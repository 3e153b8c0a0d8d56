"""Frozen configurations with named presets.

Every field is used by the code; override with `dataclasses.replace(preset, field=value)`. Presets:
`paper` (the published notebook), `clean` (the leakage-free protocol), `tiny` (small and fast, for tests).
Detector grids live in `anomale_jax.detect.config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """E-GraphSAGE encoder + DGI discriminator sizes."""

    node_dims: tuple[int, ...] = (128,)
    """Output width of each E-GraphSAGE layer; its length is the number of layers. Published: (128,)."""
    edge_dim: int = 256
    """Width of the edge embedding z_uv (and of the bilinear discriminator). Published: 256."""
    activation: str = "relu"
    """Nonlinearity after W_apply in every layer: 'relu' (published), 'elu', 'gelu', 'tanh' or 'identity'."""
    edge_head_uses_edge_features: bool = False
    """If True the edge head sees [h_u || h_v || e_uv]; the published head sees [h_u || h_v]."""
    fast_path: bool = True
    """Use the factorised DGI loss, which never builds the [E, edge_dim] embedding matrices; exact for every
    configuration since the edge head is linear. False computes the loss literally (the direct form)."""

    @property
    def num_layers(self) -> int:
        return len(self.node_dims)


@dataclass(frozen=True)
class TrainConfig:
    """Full-batch DGI training."""

    epochs: int = 300
    """Training steps (one full-batch step per epoch). The published run used 4000 (preset `paper`)."""
    learning_rate: float = 1e-3
    """Adam learning rate (published 1e-3)."""
    weight_decay: float = 0.0
    """Decoupled weight decay (AdamW) when > 0; published 0."""
    patience: int | None = None
    """Stop after this many epochs without a new lowest loss; None trains all epochs (published)."""
    checkpoint_every: int = 50
    """Write an atomic checkpoint every this many epochs (and at the end)."""
    seed: int = 0
    """Seed for parameter init and the corruption permutations."""


@dataclass(frozen=True)
class DataConfig:
    """How flows become train/validation/test graphs."""

    protocol: str = "clean"
    """'paper' (published pipeline, test-set selection) or 'clean' (no label-using transforms, validation split)."""
    sample_frac: float = 0.1
    """Paper protocol: fraction sampled within each Attack class (published 0.1). Clean protocol: ignored
    unless `clean_sample_frac` is set."""
    sample_seed: int = 13
    """Seed of the per-class sample (published 13)."""
    split_seed: int = 13
    """Seed of the train/test (and validation) split (published 13)."""
    test_size: float = 0.3
    """Paper protocol: test share (published 0.3)."""
    clean_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    """Clean protocol: train/validation/test shares, stratified by Attack."""
    clean_sample_frac: float | None = None
    """Clean protocol: optional per-class sample fraction before splitting (None: use every row)."""
    edge_mode: str = "paper"
    """'paper': two directed edges per flow (u->v, v->u), a self-loop once, as networkx to_directed();
    'directed': one edge src->dst per flow."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; serialised to config.json."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()


PRESETS: dict[str, RunConfig] = {
    "paper": RunConfig(
        data=DataConfig(protocol="paper"),
        model=ModelConfig(),
        train=TrainConfig(epochs=4000),
    ),
    "clean": RunConfig(data=DataConfig(protocol="clean"), model=ModelConfig(), train=TrainConfig()),
    "tiny": RunConfig(
        data=DataConfig(protocol="clean"),
        model=ModelConfig(node_dims=(16,), edge_dim=32),
        train=TrainConfig(epochs=20, checkpoint_every=10),
    ),
}


def config_for_protocol(protocol: str) -> RunConfig:
    """The CLI's default RunConfig for a data protocol: that preset's data settings with the default (fast)
    model and training settings; the full published run is `PRESETS["paper"]`."""
    if protocol not in ("paper", "clean"):
        raise ValueError(f"protocol must be 'paper' or 'clean', got {protocol!r}")
    return dataclasses.replace(PRESETS["clean"], data=PRESETS[protocol].data)


def to_dict(config: Any) -> dict:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def _build(cls, values: dict):
    kwargs = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in values.items():
        if name not in fields:
            raise ValueError(f"unknown field {name!r} for {cls.__name__}")
        if dataclasses.is_dataclass(fields[name].default):
            value = _build(type(fields[name].default), value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def from_dict(cls, values: dict):
    """Inverse of `to_dict` for `cls` (RunConfig, ModelConfig, ...); lists become tuples."""
    return _build(cls, values)
