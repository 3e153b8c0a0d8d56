"""The end-to-end run: data -> preprocess -> graphs -> train -> embed -> detect -> report.

`run_pipeline` is what `anomale-jax run` calls. Each stage prints one progress line with its timing; the
training stage shows a progress bar. Everything the run produces lands in `out_dir`:

    config.json      the RunConfig (data/model/train), plus "detect" (DetectConfig) and "input" (data source)
    preprocessor.json  the fitted preprocessing (lets `anomale-jax embed` treat new traffic the same way)
    model.npz        lowest-loss parameters (+ checkpoint.npz, history.json from training)
    embeddings.npz   the detection bundle (per split: edge embeddings, edge_flow, raw features, labels)
    metrics.json     protocol, dataset summary and detection results (schema: anomale_jax.detect.evaluate)
    report.md, *.png the report (anomale_jax.report)
    data/synthetic.parquet   the generated traffic, when no --data was given

Rerunning with `--config out_dir/config.json` repeats the run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from anomale_jax.config import RunConfig, from_dict, to_dict
from anomale_jax.detect.config import DetectConfig
from anomale_jax.errors import InputError
from anomale_jax.io import write_json_atomic

STAGES = ("data", "preprocess", "graph", "train", "embed", "detect", "report")
SYNTHETIC_FILE = "data/synthetic.parquet"


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """Where a run's flows come from."""

    data: str | None = None
    """A NetFlow file; None generates the synthetic default."""
    synthetic_flows: int = 50_000
    """Flows to generate when `data` is None."""
    synthetic_seed: int = 0
    """Generator seed when `data` is None."""


def write_run_config(path: str | os.PathLike, config: RunConfig, detect: DetectConfig, inputs: InputSpec) -> None:
    """config.json: the RunConfig's fields at top level (as `fit` writes them) plus detect and input."""
    doc = to_dict(config)
    doc["detect"] = dataclasses.asdict(detect)
    doc["input"] = dataclasses.asdict(inputs)
    write_json_atomic(path, doc)


def read_run_config(path: str | os.PathLike) -> tuple[RunConfig, DetectConfig | None, InputSpec | None]:
    """Inverse of `write_run_config`; also reads a plain RunConfig written by `fit`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such config file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON config ({exc})") from None
    try:
        detect = doc.pop("detect", None)
        inputs = doc.pop("input", None)
        config = from_dict(RunConfig, doc)
        detect = None if detect is None else from_dict(DetectConfig, detect)
        inputs = None if inputs is None else from_dict(InputSpec, inputs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: invalid config ({exc})") from None
    return config, detect, inputs


class _Stages:
    """Prints '[k/7] stage: message (s)' lines."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.start = time.perf_counter()

    def begin(self, name: str) -> None:
        self.t0 = time.perf_counter()
        self.name = name
        self.log(f"[{STAGES.index(name) + 1}/{len(STAGES)}] {name} ...")

    def done(self, message: str) -> None:
        self.log(f"[{STAGES.index(self.name) + 1}/{len(STAGES)}] {self.name}: {message} "
                 f"({time.perf_counter() - self.t0:.1f} s)")


def _graph_summary(graph) -> str:
    return f"{graph.num_real_nodes} hosts, {graph.num_real_edges} edges"


def run_pipeline(
    config: RunConfig,
    detect: DetectConfig,
    out_dir: str | os.PathLike,
    inputs: InputSpec = InputSpec(),
    *,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Runs every stage and writes the run directory (see the module docstring).

    Args:
      config: data protocol, model and training settings.
      detect: detector grids (`anomale_jax.detect.config.PRESETS`).
      out_dir: the run directory (created).
      inputs: the data source.
      resume: continue training from out_dir/checkpoint.npz.
      progress: show the training progress bar.
      log: where progress lines go.
    Returns:
      The metrics document written to metrics.json.
    """
    # Heavy imports here, so `anomale-jax --help` stays fast.
    from anomale_jax.data.graph_build import build_graph, require_endpoints
    from anomale_jax.data.netflow import load_netflow
    from anomale_jax.data.preprocess import prepare
    from anomale_jax.detect.bundle import DetectionBundle, make_split, save_bundle
    from anomale_jax.detect.evaluate import metrics_document, run_detection
    from anomale_jax.report import format_results_table, write_report
    from anomale_jax.train.embedding import embed_graph
    from anomale_jax.train.files import PREPROCESSOR
    from anomale_jax.train.loop import fit

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    detect = detect.validate()
    stages = _Stages(log)
    write_run_config(out / "config.json", config, detect, inputs)

    stages.begin("data")
    if inputs.data is None:
        from anomale_jax.data.synthetic import SyntheticConfig, describe_flows, generate_flows, write_flows

        data_path = out / SYNTHETIC_FILE
        frame = generate_flows(SyntheticConfig(num_flows=inputs.synthetic_flows, seed=inputs.synthetic_seed))
        write_flows(frame, data_path)
        log(f"    generated {describe_flows(frame)} -> {data_path}")
        del frame
    else:
        data_path = Path(inputs.data)
    table = load_netflow(data_path)
    for note in table.notes:
        log(f"    note: {note}")
    stages.done(f"{table.num_rows} flows from {data_path} ({table.variant})")
    require_endpoints(table.has_ips, table.path)  # before the costly stages

    stages.begin("preprocess")
    prepared = prepare(table, config.data)
    for note in prepared.notes:
        log(f"    {note}")
    # Saved beside the model so `anomale-jax embed --checkpoint out_dir --split all` preprocesses new traffic
    # exactly as this run did.
    write_json_atomic(out / PREPROCESSOR, prepared.preprocessor.to_dict())
    splits = {"train": prepared.train, "validation": prepared.val, "test": prepared.test}
    splits = {name: split for name, split in splits.items() if split is not None}
    stages.done(f"{prepared.protocol} protocol, {len(prepared.feature_names)} features, "
                + ", ".join(f"{name} {split.num_flows}" for name, split in splits.items()))
    del table

    stages.begin("graph")
    graphs = {name: build_graph(split, config.data.edge_mode) for name, split in splits.items()}
    stages.done("; ".join(f"{name}: {_graph_summary(g)}" for name, g in graphs.items()))

    stages.begin("train")
    result = fit(config, graphs["train"], out, resume=resume, progress=progress)
    write_run_config(out / "config.json", config, detect, inputs)  # fit wrote the bare RunConfig
    stages.done(f"{len(result.losses)} epochs, best loss {result.best_loss:.4f} at epoch {result.best_epoch}")

    stages.begin("embed")
    bundle_splits = {}
    for name, graph in graphs.items():
        split = splits[name]
        embeddings = embed_graph(result.params, graph, config.model)
        bundle_splits[name] = make_split(
            embeddings, graph.edge_flow[: graph.num_real_edges], split.features, split.label,
            split.attack.astype(str), where=f"{name} split",
        )
    dataset = {
        "source": "synthetic" if inputs.data is None else str(data_path),
        "path": str(data_path),
        "protocol": prepared.protocol,
        "edge_mode": config.data.edge_mode,
        "feature_names": list(prepared.feature_names),
        "splits": {
            name: {
                "flows": splits[name].num_flows,
                "attack_flows": int(splits[name].label.sum()),
                "hosts": graphs[name].num_real_nodes,
                "edges": graphs[name].num_real_edges,
                "attack_classes": {str(k): int(v) for k, v in zip(*np.unique(splits[name].attack.astype(str),
                                                                            return_counts=True))},
            }
            for name in splits
        },
    }
    bundle = DetectionBundle(train=bundle_splits["train"], test=bundle_splits["test"],
                             validation=bundle_splits.get("validation"), meta=dataset)
    save_bundle(out / "embeddings.npz", bundle)
    stages.done(f"{config.model.edge_dim}-d embeddings of "
                + ", ".join(f"{name} {s.num_edges}" for name, s in bundle_splits.items()) + " edges")

    stages.begin("detect")
    detection = run_detection(bundle, detect, prepared.protocol, log=lambda line: log(f"    {line}"))
    doc = metrics_document(prepared.protocol, detection.results, dataset=dataset, config=detect)
    write_json_atomic(out / "metrics.json", doc)
    stages.done(f"{len(detection.results)} results -> {out / 'metrics.json'}")

    stages.begin("report")
    write_report(out, doc, loss_history=result.losses, detection=detection, bundle=bundle)
    stages.done(f"{out / 'report.md'}")
    log("")
    log(format_results_table(doc["results"]))
    return doc
