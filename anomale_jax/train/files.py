"""File-to-file training and embedding, as the `train` and `embed` subcommands run them.

`train_file` reads a NetFlow file, prepares it with the protocol of `config.data`, trains on the training
split's graph and saves the fitted preprocessing to RUN_DIR/preprocessor.json beside the model, so that
`embed_file` can later embed new traffic exactly as the model was trained. `embed_file` also accepts the
upstream PyTorch state dict; without a saved preprocessor it re-prepares the file with a protocol and embeds
one split.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anomale_jax.config import DataConfig, RunConfig, from_dict
from anomale_jax.errors import InputError
from anomale_jax.io import write_json_atomic

PREPROCESSOR = "preprocessor.json"
SPLITS = ("all", "train", "val", "test")


def train_file(data: str | os.PathLike, config: RunConfig, run_dir: str | os.PathLike, *, resume: bool = False,
               progress: bool = True):
    """Trains on the training split of a NetFlow file; returns (FitResult, FlowGraph of the training split)."""
    from anomale_jax.data.graph_build import build_graph
    from anomale_jax.data.netflow import load_netflow
    from anomale_jax.data.preprocess import prepare
    from anomale_jax.train.loop import fit

    prepared = prepare(load_netflow(data), config.data)
    graph = build_graph(prepared.train, config.data.edge_mode)
    run_dir = Path(run_dir)
    write_json_atomic(run_dir / PREPROCESSOR, prepared.preprocessor.to_dict())
    return fit(config, graph, run_dir, resume=resume, progress=progress), graph


@dataclass(frozen=True)
class EmbedSummary:
    path: Path
    num_edges: int
    edge_dim: int
    num_flows: int
    how: str
    """How the features were prepared, one sentence."""


def _folder_of(checkpoint: Path) -> Path:
    return checkpoint if checkpoint.is_dir() else checkpoint.parent


def _data_config_of(folder: Path) -> DataConfig | None:
    """The DataConfig in a run folder's config.json (ours or the pipeline's), if there is one."""
    if not (folder / "config.json").is_file():
        return None
    values = json.loads((folder / "config.json").read_text())
    return from_dict(DataConfig, values["data"]) if "data" in values else None


def embed_file(checkpoint: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike, *,
               split: str | None = None, protocol: str | None = None, sample_frac: float | None = None,
               chunk_edges: int | None = None) -> EmbedSummary:
    """Embeds the flows of `data` with a model and writes [E, edge_dim] float32 to `out` (.npy or .parquet).

    Args:
      checkpoint: a run folder, a .npz of ours, or an upstream torch state dict (.pt/.pth/.pkl).
      data: a NetFlow file.
      out: output file; .npy holds the matrix, .parquet also an `edge_flow` column (row of the split).
      split: 'all' applies the run's saved preprocessor to every row (default when the checkpoint sits in a
        run folder with preprocessor.json); 'train'/'val'/'test' re-prepare the file with the run's data
        config (or `protocol`) and embed that split's graph (default 'test' otherwise).
      protocol: 'paper' or 'clean' when no run config is available (default 'paper', the upstream pipeline).
      sample_frac: overrides the paper protocol's per-class sample fraction (e.g. 1.0 for small files).
      chunk_edges: edges per chunk of the edge head.
    """
    import dataclasses

    from anomale_jax.api import load_model
    from anomale_jax.data.graph_build import build_graph
    from anomale_jax.data.netflow import load_netflow
    from anomale_jax.data.preprocess import Preprocessor, Split, apply, prepare
    from anomale_jax.data.schema import ATTACK, DST_IP, LABEL, SRC_IP
    from anomale_jax.model.torch_io import feature_dims_of
    from anomale_jax.train.embedding import DEFAULT_CHUNK_EDGES, write_edge_embeddings

    checkpoint = Path(checkpoint)
    if split is not None and split not in SPLITS:
        raise InputError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    params, model_config = load_model(checkpoint)
    folder = _folder_of(checkpoint)
    prep_path = folder / PREPROCESSOR
    data_config = _data_config_of(folder)
    if data_config is None:
        data_config = DataConfig(protocol=protocol or "paper")
    elif protocol is not None and protocol != data_config.protocol:
        raise InputError(f"{folder / 'config.json'}: the model was trained with protocol "
                         f"{data_config.protocol!r}, not {protocol!r}")
    if sample_frac is not None:
        data_config = dataclasses.replace(data_config, sample_frac=sample_frac)
    split = split or ("all" if prep_path.is_file() else "test")
    table = load_netflow(data)

    if split == "all":
        if not prep_path.is_file():
            raise InputError(f"{prep_path}: not found; --split all needs the run's {PREPROCESSOR} next to the "
                             f"model (use --split train|val|test otherwise)")
        prep = Preprocessor.from_dict(json.loads(prep_path.read_text()))
        frame = table.frame
        missing = [c for c in prep.feature_names if c not in frame.columns]
        if missing:
            raise InputError(f"{data}: column {missing[0]!r} used by the model's preprocessing is missing")
        has_ips = SRC_IP in frame.columns and DST_IP in frame.columns
        flows = Split(features=apply(prep, frame), label=frame[LABEL].to_numpy(),
                      attack=frame[ATTACK].to_numpy(), src=frame[SRC_IP].to_numpy() if has_ips else None,
                      dst=frame[DST_IP].to_numpy() if has_ips else None,
                      row=np.arange(frame.height, dtype=np.int64), source=str(data))
        how = f"all {frame.height} rows through {prep_path}"
    else:
        prepared = prepare(table, data_config)
        flows = getattr(prepared, split)
        if flows is None:
            raise InputError(f"protocol {data_config.protocol!r} has no {split!r} split")
        how = f"{split} split of the {data_config.protocol} protocol ({flows.num_flows} flows)"

    in0, f = feature_dims_of(params)
    width = flows.features.shape[1]
    if (f is not None and f != width) or in0 - width <= 0:
        raise InputError(f"{data}: prepared to {width} features, but the model at {checkpoint} takes "
                         f"{f if f is not None else in0 // 2} edge features")
    graph = build_graph(flows, data_config.edge_mode, node_feature_dim=in0 - width)
    path = write_edge_embeddings(out, params, graph, model_config, chunk_edges or DEFAULT_CHUNK_EDGES)
    return EmbedSummary(path=path, num_edges=graph.num_real_edges, edge_dim=model_config.edge_dim,
                        num_flows=flows.num_flows, how=how)
