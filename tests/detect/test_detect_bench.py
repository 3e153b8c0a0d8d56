"""scripts/bench_detect.py runs end to end at a tiny scale and reports a time per detector."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_detect.py"


def test_bench_detect_tiny(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_detect", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--scale", "0.0005", "--dim", "16", "--grid", "tiny", "--detectors", "pca", "iforest",
                       "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["train_rows"] == 2 * round(0.0005 * bench.FULL_TRAIN_EDGES / 2)
    assert set(report["detectors"]) == {"pca", "iforest"}
    assert report["detectors"]["pca"]["grid_points"] == 2 * 3 * 2  # 2 values x 3 contaminations x 2 fit_on
    assert all(t["seconds"] > 0 for t in report["detectors"].values())
    assert "[bench] total" in capsys.readouterr().out
