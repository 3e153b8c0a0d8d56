"""Run reports: report.md with result tables and plain statements, PNG plots, and a terminal table.

`write_report(run_dir, metrics, ...)` takes the metrics document (`anomale_jax.detect.metrics_document`) and,
optionally, the training loss history, the selected points' test scores and labels (keyed by
`anomale_jax.detect.result_key`) and test embeddings with their attack names, and writes into `run_dir`:

- report.md       protocol statement (which split chose the hyperparameters), dataset, tables;
- loss.png        training loss per epoch (when a loss history is given);
- roc.png, pr.png ROC and precision-recall curves, one panel per detector, embeddings vs raw features;
- scores.png      score histograms, benign vs attack, with the selected threshold;
- projection.png  2-D PCA projection of (a subsample of) the test embeddings, coloured by attack class.

Every file is written atomically; matplotlib runs on the Agg backend.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from anomale_jax.io import atomic_path, write_text_atomic

DETECTOR_NAMES = {"pca": "PCA", "iforest": "IForest", "cblof": "CBLOF", "hbos": "HBOS"}
MAX_CURVE_POINTS = 2000


def _key(r: dict) -> str:
    return f"{r['features']}/{r['fit_on']}/{r['detector']}/{r['level']}"


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _params(r: dict) -> str:
    if not r.get("params"):
        return "failed"
    return ", ".join(f"{k}={v}" for k, v in r["params"].items())


def protocol_statement(protocol: str) -> str:
    """One plain sentence saying on which split the hyperparameters and thresholds were chosen."""
    if protocol == "paper":
        return ("Hyperparameters and contamination (threshold) selected on TEST (paper protocol, as published): "
                "the test figures are optimistic by construction.")
    return ("Hyperparameters and contamination (threshold) selected on VALIDATION (clean protocol); "
            "the test labels were read once, for the chosen point.")


def format_results_table(results: Sequence[dict]) -> str:
    """A fixed-width text table of results for the terminal (one line per result)."""
    header = ("features", "fit_on", "detector", "level", "sel", "F1-macro", "acc", "prec", "recall",
              "ROC-AUC", "PR-AUC", "params")
    rows = [header]
    for r in results:
        rows.append((
            r["features"], r["fit_on"], r["detector"], r["level"], {"validation": "val"}.get(r.get("selected_on"), r.get("selected_on", "?")),
            _fmt(r.get("f1_macro")), _fmt(r.get("accuracy")), _fmt(r.get("precision")),
            _fmt(r.get("attack_recall")), _fmt(r.get("roc_auc")), _fmt(r.get("pr_auc")),
            _params(r) if r.get("params") else f"failed: {(r.get('error') or '')[:60]}",
        ))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for j, row in enumerate(rows):
        cells = [str(c).ljust(w) if i < 5 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells + [str(row[-1])]))
        if j == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def compare_embeddings_vs_raw(results: Sequence[dict]) -> list[dict]:
    """Macro F1 per detector and fit_on, embeddings vs raw features, both at the flow level.

    Returns:
      [{"detector", "fit_on", "raw", "embedding", "embedding_wins"}] for pairs where both results exist.
    """
    by = {(r["features"], r["fit_on"], r["detector"], r["level"]): r for r in results}
    out = []
    for det in DETECTOR_NAMES:
        for fit_on in ("benign", "all"):
            raw = by.get(("raw", fit_on, det, "flow"))
            emb = by.get(("embedding", fit_on, det, "flow"))
            if raw is None or emb is None:
                continue
            a, b = raw.get("f1_macro"), emb.get("f1_macro")
            out.append({"detector": det, "fit_on": fit_on, "raw": a, "embedding": b,
                        "embedding_wins": None if a is None or b is None else bool(b > a)})
    return out


def _bullets(d: dict, indent: int = 0) -> list[str]:
    """Nested dict -> markdown bullet lines; long lists are summarised by their length."""
    out = []
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"{pad}- {k}:")
            out += _bullets(v, indent + 1)
        elif isinstance(v, (list, tuple)) and len(v) > 8:
            out.append(f"{pad}- {k}: {len(v)} items ({', '.join(map(str, v[:4]))}, ...)")
        else:
            out.append(f"{pad}- {k}: {v}")
    return out


CHANCE_LOSS = 2 * math.log(2)  # DGI loss of a discriminator that cannot tell real from corrupted edges


def caveats(metrics: dict, loss_history: Sequence[float] | None = None) -> list[str]:
    """Plain warnings about what limits this run's figures (class balance, sample sizes, training, ties)."""
    out: list[str] = []
    splits = (metrics.get("dataset") or {}).get("splits") or {}
    train, test = splits.get("train"), splits.get("test")
    contaminations = (metrics.get("detect_config") or {}).get("contaminations") or []
    def sized(split) -> bool:
        return isinstance(split, dict) and bool(split.get("flows")) and "attack_flows" in split

    if sized(train):
        share = train["attack_flows"] / train["flows"]
        benign = train["flows"] - train["attack_flows"]
        if share > 0.5:
            cap = max(contaminations) if contaminations else None
            bound = (f" Their threshold flags about a share c of training-like rows, so their attack recall "
                     f"stays near the contamination (at most {cap:g} here) unless test traffic scores differently."
                     if cap else "")
            out.append(
                f"Attacks are the majority of training flows ({share:.1%}). The detectors assume attacks are rare: "
                f"fitted on all rows they learn attack traffic as normal.{bound} Benign-only fitting sees only "
                f"{benign} benign training flows."
            )
        elif benign < 200:
            out.append(f"Only {benign} benign training flows: benign-only detectors are fitted on very few rows.")
    if sized(test):
        benign_test = test["flows"] - test["attack_flows"]
        if benign_test < 100 or test["attack_flows"] < 100:
            out.append(
                f"The test split has {benign_test} benign and {test['attack_flows']} attack flows; macro F1 "
                f"averages both classes, so the smaller one makes it unstable (one flow moves it noticeably)."
            )
    if loss_history is not None and len(loss_history):
        best = float(np.min(loss_history))
        if best > CHANCE_LOSS * 0.99:
            hosts = f"; the training graph has {train['hosts']} hosts" if isinstance(train, dict) and "hosts" in train else ""
            out.append(
                f"The DGI loss never fell below chance (best {best:.4f}, 2 ln 2 = {CHANCE_LOSS:.4f}{hosts}): the "
                f"discriminator could not tell real from corrupted edges, so the embeddings carry little learned "
                f"structure."
            )
    emb = [r for r in metrics.get("results", []) if r.get("features") == "embedding" and r.get("n_rows")]
    if emb:
        r = emb[0]
        distinct, rows = r.get("n_distinct_test_rows"), r["n_rows"]
        if distinct is not None and r.get("level") == "edge" and distinct < 0.1 * rows:
            out.append(
                f"Only {distinct} distinct test embeddings for {rows} test edges: with all-ones node inputs, "
                f"parallel flows between the same host pair get identical embeddings, so the detectors can only "
                f"rank host pairs, not flows."
            )
    return out


def _markdown(metrics: dict, images: list[str], loss_history: Sequence[float] | None = None) -> str:
    protocol = metrics.get("protocol", "?")
    results = metrics.get("results", [])
    lines = ["# Anomal-E detection report", "", f"**Protocol: {protocol}.** {protocol_statement(protocol)}", ""]
    notes = caveats(metrics, loss_history)
    if notes:
        lines += ["## Caveats", ""] + [f"- {note}" for note in notes] + [""]
    dataset = metrics.get("dataset") or {}
    if dataset:
        lines += ["## Dataset", ""] + _bullets(dataset) + [""]

    lines += ["## Results (test split)", "",
              "Embedding results per edge count each flow's two directed edges separately (as published); "
              "per flow, a flow's score is the max over its edges. Raw-feature results are per flow.", "",
              "| features | fit on | detector | level | selected on | params | F1 macro | accuracy | precision "
              "| attack recall | ROC-AUC | PR-AUC | distinct test rows |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['features']} | {r['fit_on']} | {DETECTOR_NAMES.get(r['detector'], r['detector'])} | {r['level']} "
            f"| {r.get('selected_on', '?').upper()} | {_params(r)} | {_fmt(r.get('f1_macro'))} "
            f"| {_fmt(r.get('accuracy'))} | {_fmt(r.get('precision'))} | {_fmt(r.get('attack_recall'))} "
            f"| {_fmt(r.get('roc_auc'))} | {_fmt(r.get('pr_auc'))} | {r.get('n_distinct_test_rows', '-')} |"
        )
    lines.append("")

    comparison = compare_embeddings_vs_raw(results)
    if comparison:
        lines += ["## Embeddings vs raw features (macro F1, per flow)", "",
                  "| detector | fit on | raw | embeddings | embeddings better |", "|---|---|---|---|---|"]
        for c in comparison:
            win = "-" if c["embedding_wins"] is None else ("yes" if c["embedding_wins"] else "no")
            lines.append(f"| {DETECTOR_NAMES[c['detector']]} | {c['fit_on']} | {_fmt(c['raw'])} "
                         f"| {_fmt(c['embedding'])} | {win} |")
        for fit_on in ("benign", "all"):
            rows = [c for c in comparison if c["fit_on"] == fit_on and c["embedding_wins"] is not None]
            if rows:
                wins = sum(c["embedding_wins"] for c in rows)
                lines.append(f"\nFitted on {fit_on} training rows: embeddings beat raw features for "
                             f"{wins} of {len(rows)} detectors.")
        lines.append("")

    attack_rows = [r for r in results if r.get("per_attack_recall")]
    if attack_rows:
        names = sorted({a for r in attack_rows for a in r["per_attack_recall"]})
        lines += ["## Recall per attack class (test)", "",
                  "| result | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in attack_rows:
            cells = [_fmt(r["per_attack_recall"].get(a), 3) for a in names]
            lines.append(f"| {_key(r)} | " + " | ".join(cells) + " |")
        lines.append("")

    failed = [(r, g) for r in results for g in r.get("grid", []) if "error" in g]
    if failed:
        lines += ["## Grid points that could not be fitted", ""]
        seen = set()
        for r, g in failed:
            msg = f"- {r['features']}/{r['fit_on']}: {g['error']}"
            if msg not in seen:
                seen.add(msg)
                lines.append(msg)
        lines.append("")

    for r in results:
        if r.get("selected_on") == "test":
            lines += ["Every result above was selected on the test split; do not read it as a held-out estimate.", ""]
            break
    if images:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in images] + [""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Plots


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= MAX_CURVE_POINTS:
        return x, y
    idx = np.unique(np.linspace(0, x.size - 1, MAX_CURVE_POINTS).astype(np.int64))
    return x[idx], y[idx]


def _curve_keys(results, test_scores, detector):
    return [r for r in results if r["detector"] == detector and _key(r) in test_scores]


def _plot_curves(results, test_scores, test_labels, kind: str, path: Path) -> Path | None:
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    detectors = [d for d in DETECTOR_NAMES if _curve_keys(results, test_scores, d)]
    if not detectors:
        return None
    fig, axes = plt.subplots(1, len(detectors), figsize=(4.2 * len(detectors), 4), squeeze=False)
    for ax, det in zip(axes[0], detectors):
        for r in _curve_keys(results, test_scores, det):
            y, s = np.asarray(test_labels[_key(r)]), np.asarray(test_scores[_key(r)])
            if y.min() == y.max():
                continue
            style = ":" if r["features"] == "raw" else ("--" if r["level"] == "edge" else "-")
            label = f"{r['features']}/{r['fit_on']}/{r['level']}"
            if kind == "roc":
                fpr, tpr, _ = roc_curve(y, s)
                ax.plot(*_thin(fpr, tpr), style, label=f"{label} ({_fmt(r.get('roc_auc'), 3)})")
            else:
                prec, rec, _ = precision_recall_curve(y, s)
                ax.plot(*_thin(rec, prec), style, label=f"{label} ({_fmt(r.get('pr_auc'), 3)})")
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
            ax.set(xlabel="false positive rate", ylabel="attack recall (TPR)")
        else:
            ax.set(xlabel="attack recall", ylabel="attack precision", ylim=(0, 1.02))
        ax.set_title(f"{DETECTOR_NAMES[det]} ({'ROC-AUC' if kind == 'roc' else 'PR-AUC'})")
        ax.legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
        ax.grid(alpha=0.3)
    fig.suptitle(("ROC" if kind == "roc" else "Precision-recall") + " curves on test: embeddings per flow (solid) / per edge (dashed) vs raw (dotted)")
    return _save(fig, path)


def _plot_histograms(results, test_scores, test_labels, path: Path) -> Path | None:
    import matplotlib.pyplot as plt

    rows = [r for r in results if _key(r) in test_scores and r["level"] == "flow"]
    if not rows:
        rows = [r for r in results if _key(r) in test_scores]
    if not rows:
        return None
    detectors = [d for d in DETECTOR_NAMES if any(r["detector"] == d for r in rows)]
    columns = sorted({(r["features"], r["fit_on"]) for r in rows}, key=lambda c: (c[0] != "embedding", c[1]))
    fig, axes = plt.subplots(len(detectors), len(columns), figsize=(3.6 * len(columns), 2.6 * len(detectors)),
                             squeeze=False)
    fig.subplots_adjust(hspace=0.45, wspace=0.25)
    for i, det in enumerate(detectors):
        for j, col in enumerate(columns):
            ax = axes[i][j]
            match = [r for r in rows if r["detector"] == det and (r["features"], r["fit_on"]) == col]
            if not match:
                ax.axis("off")
                continue
            r = match[0]
            y, s = np.asarray(test_labels[_key(r)]), np.asarray(test_scores[_key(r)])
            bins = np.histogram_bin_edges(s, bins=50)
            for cls, name, colour in ((0, "benign", "tab:blue"), (1, "attack", "tab:red")):
                counts, _ = np.histogram(s[y == cls], bins=bins)
                ax.stairs(counts, bins, fill=True, alpha=0.55, color=colour, label=name)
            if r.get("threshold") is not None:
                ax.axvline(r["threshold"], color="black", lw=1, ls="--", label="threshold")
            ax.set_yscale("log")
            ax.set_title(f"{DETECTOR_NAMES[det]} {col[0]}/{col[1]}", fontsize=9)
            ax.tick_params(labelsize=7)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    fig.suptitle("Test score histograms (count, log scale)")
    return _save(fig, path)


def _plot_loss(loss_history, path: Path) -> Path:
    import matplotlib.pyplot as plt

    loss = np.asarray(loss_history, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(1, loss.size + 1), loss, lw=1)
    best = int(np.nanargmin(loss))
    ax.plot(best + 1, loss[best], "o", color="tab:red", label=f"lowest {loss[best]:.4f} (epoch {best + 1})")
    ax.set(xlabel="epoch", ylabel="DGI loss", title="Training loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _plot_projection(embeddings, attacks, path: Path, max_points: int, seed: int) -> Path:
    import matplotlib.pyplot as plt

    x = np.asarray(embeddings)  # [E, D]; converted to float64 only after subsampling
    attacks = np.asarray(attacks).astype(str)
    # Subsample per class (at most max_points // classes rows each), so rare attack classes stay visible.
    rng = np.random.default_rng(seed)
    classes = np.unique(attacks)
    cap = max(1, max_points // max(1, classes.size))
    idx = np.concatenate([
        rng.permutation(np.flatnonzero(attacks == c))[:cap] for c in classes
    ]) if attacks.size else np.zeros(0, np.int64)
    x, attacks = x[idx].astype(np.float64), attacks[idx]
    # PCA: top-2 eigenvectors of the [D, D] covariance of the centred subsample.
    centred = x - x.mean(axis=0) if x.size else x
    if x.shape[0] >= 2 and x.shape[1] >= 1:
        evals, evecs = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
        top = evecs[:, ::-1][:, :2]
        xy = centred @ top
        if xy.shape[1] == 1:
            xy = np.concatenate([xy, np.zeros_like(xy)], axis=1)
        var = np.clip(evals[::-1][:2], 0, None) / max(float(np.clip(evals, 0, None).sum()), 1e-300)
    else:
        xy, var = np.zeros((x.shape[0], 2)), np.zeros(2)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    names = sorted(set(attacks), key=lambda a: (a != "Benign", a))
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(names):
        sel = attacks == name
        benign = name == "Benign"  # drawn first and lighter, so attacks stay on top
        ax.scatter(xy[sel, 0], xy[sel, 1], s=3 if benign else 9, alpha=0.3 if benign else 0.8,
                   color=cmap(k % 10), label=f"{name} ({int(sel.sum())})")
    ax.set(xlabel=f"PC1 ({100 * var[0]:.1f}% var)", ylabel=f"PC2 ({100 * (var[1] if var.size > 1 else 0):.1f}% var)",
           title=f"Test embeddings, 2-D PCA ({x.shape[0]} rows, at most {cap} per class)")
    ax.legend(fontsize=7, markerscale=3, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # 'best' is slow
    return _save(fig, path)


def write_report(
    run_dir: str | os.PathLike,
    metrics: dict,
    *,
    loss_history: Sequence[float] | None = None,
    test_scores: dict[str, np.ndarray] | None = None,
    test_labels: dict[str, np.ndarray] | None = None,
    embeddings: np.ndarray | None = None,
    embedding_attacks: np.ndarray | None = None,
    detection=None,
    bundle=None,
    max_projection_points: int = 5000,
    seed: int = 0,
) -> list[Path]:
    """Writes report.md and the PNG plots into `run_dir`; returns the paths written.

    Args:
      run_dir: output folder (created if needed).
      metrics: the metrics document {"protocol", "dataset", "results", ...}.
      loss_history: [epochs] training loss per epoch, for loss.png.
      test_scores, test_labels: result_key -> [n] test scores / 0-1 labels of the selected points
        (`DetectionOutput.test_scores` / `.test_labels`), for roc.png, pr.png and scores.png.
      embeddings: [E, D] test embeddings and embedding_attacks: [E] their attack names, for projection.png.
      detection: a `DetectionOutput`; shorthand for its test_scores and test_labels.
      bundle: a `DetectionBundle`; shorthand for embeddings=bundle.test.embeddings and
        embedding_attacks=bundle.test.edge_attacks.
      max_projection_points: subsample size of the projection; seed: its sampling seed.
    """
    if detection is not None:
        test_scores = detection.test_scores if test_scores is None else test_scores
        test_labels = detection.test_labels if test_labels is None else test_labels
    if bundle is not None and embeddings is None:
        embeddings, embedding_attacks = bundle.test.embeddings, bundle.test.edge_attacks
    import matplotlib

    matplotlib.use("Agg", force=True)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    results = metrics.get("results", [])
    written: list[Path] = []
    if loss_history is not None and len(loss_history):
        written.append(_plot_loss(loss_history, run_dir / "loss.png"))
    if test_scores and test_labels:
        for kind in ("roc", "pr"):
            p = _plot_curves(results, test_scores, test_labels, kind, run_dir / f"{kind}.png")
            if p is not None:
                written.append(p)
        p = _plot_histograms(results, test_scores, test_labels, run_dir / "scores.png")
        if p is not None:
            written.append(p)
    if embeddings is not None and embedding_attacks is not None:
        written.append(_plot_projection(embeddings, embedding_attacks, run_dir / "projection.png",
                                        max_projection_points, seed))
    report = run_dir / "report.md"
    write_text_atomic(report, _markdown(metrics, [p.name for p in written], loss_history))
    return [report] + written
