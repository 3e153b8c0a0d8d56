"""Detection stage: PyOD/scikit-learn detectors on edge embeddings or raw flow features, the paper and clean
selection protocols, metrics, and the detection input bundle.

Typical use (what `anomale-jax run` and `anomale-jax detect` do):

    bundle = load_bundle("detect_inputs.npz")            # or DetectionBundle(train=make_split(...), ...)
    out = run_detection(bundle, get_preset("quick"), protocol="clean", log=print)
    doc = metrics_document("clean", out.results, dataset={...}, config=get_preset("quick"))
"""

from anomale_jax.detect.bundle import DetectionBundle, SplitData, load_bundle, make_split, save_bundle
from anomale_jax.detect.config import PRESETS, DetectConfig, get_preset
from anomale_jax.detect.evaluate import DetectionOutput, metrics_document, result_key, run_detection

__all__ = [
    "DetectionBundle",
    "SplitData",
    "load_bundle",
    "make_split",
    "save_bundle",
    "PRESETS",
    "DetectConfig",
    "get_preset",
    "DetectionOutput",
    "metrics_document",
    "result_key",
    "run_detection",
]
