"""2Att-2Mt end to end: train a stage or every §8 row × seed, write results.md, plots, report().

One stage (spec §11.1)::

    python -m experiments.two_att_two_mt \\
        --config=experiments/configs/two_att_two_mt.py:stage=categorical,size=tiny --workdir=$W1
    python -m experiments.two_att_two_mt \\
        --config=experiments/configs/two_att_two_mt.py:stage=dimensional,size=tiny \\
        --config.init_from.path=$W1 --workdir=$W2

trains the config's stage into the workdir (resuming from it when it holds checkpoints) and
writes ``results.md`` (the model next to the baselines), ``va_scatter.png``, ``confusion.png``,
``attention.png`` and ``curves.png`` there.

The table (spec §8, §11.3)::

    python -m experiments.two_att_two_mt \\
        --config=experiments/configs/two_att_two_mt.py:size=default \\
        --workdir=runs/two_att_two_mt/synthetic --rows=all --seeds=0,1,2

runs each row's stages under ``<workdir>/<row>/seed_<s>/{categorical,dimensional}`` (stage 2
starts from that seed's stage-1 best checkpoint; one-stage rows have only ``dimensional``;
sources without V/A, FER2013, stop after stage 1), skips runs that already finished, and writes
``summary.json``, ``results.md`` and plots in the workdir. ``python -m experiments.report
two_att_two_mt --runs=<dir>`` re-renders every ``summary.json`` below ``<dir>``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app  # noqa: E402
from PIL import Image  # noqa: E402

from affectjax import metrics, tasks  # noqa: E402
from affectjax.data.faces import sources as face_sources  # noqa: E402
from affectjax.tasks import two_att_two_mt as task_lib  # noqa: E402
from affectjax.train import load_results, sharding  # noqa: E402
from affectjax.train.checkpoint import load_model  # noqa: E402
from affectjax.train.evaluation import collect_predictions  # noqa: E402
from affectjax.train.task import DataContext  # noqa: E402
from experiments import common, plots, results  # noqa: E402
from experiments import two_att_two_mt_checks as checks_lib  # noqa: E402

# Table mode: --rows (§8 rows, 'all' = every row) and --seeds (default 0); without --rows the
# config's stage is trained into --workdir.

ALL_ROWS = list(task_lib.ROWS)
SUMMARY = "summary.json"
DIMS = ("v", "a")


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def _model_of(rundir: str) -> tuple[dict, dict]:
    """(params, collections) of a finished run: its best checkpoint, else its last."""
    model, _ = load_model(rundir, "best")
    return model.pop("params"), model


def _predictions(config, task, params, variables, set_name: str):
    mesh = sharding.make_mesh(config)
    placed = jax.device_put({"params": params, "variables": variables},
                            sharding.replicated(mesh))
    ctx = DataContext(seed=config.seed, process_index=0, process_count=1, num_devices=mesh.size)
    data = task.eval_data(ctx)[set_name]
    return collect_predictions(jax.jit(task.predict), placed["params"], placed["variables"],
                               data, set_name, mesh)


def train_stage(config, rundir: str, *, skip_done: bool) -> dict[str, float]:
    """Train one stage into ``rundir`` (or reuse its results) and return its final metrics."""
    if skip_done and os.path.exists(os.path.join(rundir, "results.json")):
        logging.info("%s finished earlier; reusing its results", rundir)
        return dict(load_results(rundir)["final"])
    result = common.run_recorded(tasks.build(config), config, rundir)
    return dict(result.metrics)


def _row_stages(row: str, has_va: bool) -> list[str]:
    if task_lib.ROWS[row].two_stage:
        return ["categorical", "dimensional"] if has_va else ["categorical"]
    return ["dimensional"] if has_va else []


def run_table(base_config, workdir: str, rows: Sequence[str], seeds: Sequence[int]) -> dict:
    """Every row × seed, both stages where the row and the data have them; the summary."""
    has_va = face_sources.face_data(base_config).has_va
    summary_rows: dict[str, dict] = {}
    for row in rows:
        stages = _row_stages(row, has_va)
        if not stages:
            logging.warning("row %s needs V/A labels, which %s lacks: skipped", row,
                            base_config.data.source)
            continue
        spec = task_lib.ROWS[row]
        entry = {"description": spec.description, "two_stage": spec.two_stage,
                 "final_stage": stages[-1],
                 "dims": list(spec.dims), "categorical": spec.categorical, "final": [],
                 "stage1": [], "rundirs": []}
        for seed in seeds:
            stage1_dir, final = None, {}
            for stage in stages:
                config = common.config_variant(stage=stage, ablation=row, seed=seed)
                rundir = os.path.join(workdir, row, f"seed_{seed}", stage)
                if stage == "dimensional" and spec.two_stage:
                    config.init_from.path = stage1_dir
                logging.info("row %s, seed %d, stage %s -> %s", row, seed, stage, rundir)
                final = train_stage(config, rundir, skip_done=True)
                if stage == "categorical":
                    stage1_dir = rundir
                    entry["stage1"].append(final)
            entry["final"].append(final)
            entry["rundirs"].append(os.path.relpath(rundir, workdir))
        summary_rows[row] = entry
    return summary_rows


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


_values = results.seed_values  # a metric key's values over seeds


def _cell(values: Sequence[float]) -> str:
    if not values:
        return "–"
    if not all(np.isfinite(values)):
        return "nan"
    return results.format_mean_std(values, digits=3)


def _gap(a: Sequence[Mapping], b: Sequence[Mapping], key: str) -> str:
    """Paired per-seed difference a − b, mean ± std (seeds matched by position)."""
    diffs = [float(x[key]) - float(y[key]) for x, y in zip(a, b) if key in x and key in y]
    if not diffs:
        return "–"
    m, s = results.mean_std(diffs)
    return f"{m:+.3f} ± {s:.3f}"


def _va_sets(summary: Mapping) -> list[str]:
    keys = {k for r in summary["rows"].values() for m in r["final"] for k in m}
    keys |= {k for r in summary["rows"].values() for m in r["stage1"] or [] if m for k in m}
    names = []
    for name in ("test", "shifted", "fer2013", "dev"):
        if f"{name}/accuracy" in keys:
            names.append(name)
    return names


def _reference_row(summary: Mapping) -> str | None:
    rows = summary["rows"]
    if "full" in rows:
        return "full"
    two = [r for r, e in rows.items() if e["stage1"]]
    return two[0] if two else None


VA_COLS = [("V CCC", "v_ccc"), ("V PCC", "v_pcc"), ("V RMSE", "v_rmse"), ("V SAGR", "v_sagr"),
           ("A CCC", "a_ccc"), ("A PCC", "a_pcc"), ("A RMSE", "a_rmse"), ("A SAGR", "a_sagr"),
           ("mean CCC", "mean_ccc")]


def _label(entry: Mapping) -> str:
    """A row's name with how it was trained: both stages, stage 1 only, or its one stage."""
    if entry["final_stage"] == "categorical":
        return entry["description"] + " (stage 1 only)"
    if entry.get("two_stage", True):
        return entry["description"] + " (both stages)"
    return entry["description"]


def _va_table(summary: Mapping, set_name: str) -> str:
    rows = summary["rows"]
    ref = _reference_row(summary)
    any_row = next(iter(rows.values()))
    header = ["predictor"] + [c for c, _ in VA_COLS] + ["Δ vs full", "accuracy", "macro-F1"]
    out = []

    def line(label, per_seed, prefix="", dims=DIMS, cls=None, gap="–"):
        cells = []
        for _, key in VA_COLS:
            dim_ok = key == "mean_ccc" and len(dims) == 2 or key[0] in dims
            cells.append(_cell(_values(per_seed, f"{set_name}/{prefix}{key}")) if dim_ok
                         else "–")
        acc = _cell(_values(cls, f"{set_name}/accuracy")) if cls else "–"
        f1 = _cell(_values(cls, f"{set_name}/macro_f1")) if cls else "–"
        out.append([label, *cells, gap, acc, f1])

    # Baselines (§8.1–2): model-independent ones are the same in every run; read them there.
    line("constant: training mean V/A", any_row["final"], "const_")
    if ref is not None and rows[ref]["stage1"]:
        line(f"class mean of the stage-1 prediction ({ref})", rows[ref]["stage1"],
             "classmean_", cls=rows[ref]["stage1"])
    line("oracle: class mean of the true class (reference)", any_row["final"], "oracle_")
    out.append(["majority training class", *["–"] * len(VA_COLS), "–",
                _cell(_values(any_row["final"], f"{set_name}/majority_accuracy")),
                _cell(_values(any_row["final"], f"{set_name}/majority_macro_f1"))])
    for row, entry in rows.items():
        if entry["final_stage"] != "dimensional":
            # A stage-1 run: its V/A head is untrained (frozen), so only its classes count.
            line(_label(entry), [], cls=entry["final"])
            continue
        dims = tuple(entry["dims"])
        key = "mean_ccc" if len(dims) == 2 else f"{dims[0]}_ccc"
        gap = "–"
        if ref is not None and row != ref and rows[ref]["final_stage"] == "dimensional":
            gap = _gap(entry["final"], rows[ref]["final"], f"{set_name}/{key}")
        line(_label(entry), entry["final"], dims=dims,
             cls=entry["final"] if entry["categorical"] else None, gap=gap)
    return results.markdown_table(header, out)


def _class_table(summary: Mapping, set_name: str) -> str:
    rows = summary["rows"]
    any_row = next(iter(rows.values()))
    ref = _reference_row(summary)
    out = [["majority training class",
            _cell(_values(any_row["final"], f"{set_name}/majority_accuracy")),
            _cell(_values(any_row["final"], f"{set_name}/majority_macro_f1")), "–"]]
    for row, entry in rows.items():
        if not entry["categorical"]:
            continue
        gap = "–"
        if ref is not None and row != ref:
            gap = _gap(entry["final"], rows[ref]["final"], f"{set_name}/accuracy")
        out.append([_label(entry), _cell(_values(entry["final"], f"{set_name}/accuracy")),
                    _cell(_values(entry["final"], f"{set_name}/macro_f1")), gap])
    return results.markdown_table(["predictor", "accuracy", "macro-F1", "Δ accuracy vs full"],
                                  out)


SET_TITLES = {"test": "test", "shifted": "shifted (pose, light and occlusion shift; never "
              "trained on)", "fer2013": "real FER2013 faces (synthetic → real; report only)",
              "dev": "dev (selection set)"}


def render(summary: Mapping) -> str:
    """The markdown of one summary.json: a table per eval set, then provenance and plots."""
    seeds = summary["seeds"]
    parts = [f"# 2Att-2Mt on {summary['data']}\n",
             f"Protocol: {summary['protocol']}. Classes: {', '.join(summary['classes'])}. "
             f"Metrics of spec §7.2 over each whole set (float64, V/A clipped to [−1, 1]; SAGR "
             f"with sign(0) = 0), mean ± std over {len(seeds)} seed(s); 'Δ vs full' is the "
             f"paired per-seed difference of the row's mean CCC (single-task rows: its own "
             f"CCC; classification tables: accuracy) minus the full model's. Baselines use "
             f"training labels only; the oracle row sees the true class and is no competitor. "
             f"Each run's checkpoint is early stopping's best on dev (its last when it evaluated "
             f"no dev); test sets were evaluated once, at the end.\n"]
    for name in _va_sets(summary):
        if name == "dev":
            continue
        # Sets with V/A labels get the V/A table (with its baselines) even after stage 1.
        va_here = any(f"{name}/const_v_rmse" in m
                      for e in summary["rows"].values() for m in e["final"])
        parts.append(f"## {SET_TITLES.get(name, name)}\n")
        parts.append((_va_table(summary, name) if va_here else _class_table(summary, name))
                     + "\n")
    intro, checks = checks_lib.checks(summary, _reference_row(summary))
    if checks:
        parts.append("## Checks (spec §11)\n")
        parts.append(intro + "\n\n" + "\n".join(checks) + "\n")
    parts.append("## Provenance\n")
    parts.append(results.provenance_block(summary, seeds))
    if summary.get("plots"):
        parts.append("- plots: " + ", ".join(f"`{p}`" for p in summary["plots"]) + "\n")
    return "\n".join(parts)


def report(runs_dir: str) -> str:
    """Every results table below ``runs_dir`` (each launcher's summary.json), re-rendered."""
    return results.sectioned_report(runs_dir, render, "two_att_two_mt")


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def va_scatter(y: np.ndarray, yhat: np.ndarray, title: str, path: str) -> None:
    """Predicted vs true valence and arousal, with the identity line and each CCC."""
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.2))
    for d, (ax, name) in enumerate(zip(axes, ("valence", "arousal"))):
        p = np.clip(yhat[:, d], -1, 1)
        ax.scatter(y[:, d], p, s=5, alpha=0.4)
        ax.plot([-1, 1], [-1, 1], color="k", lw=0.8)
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(f"{name}: CCC {metrics.ccc(y[:, d], p):.3f}", fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _overlay(ax, image: np.ndarray, alpha: np.ndarray) -> None:
    size = image.shape[:2][::-1]
    heat = np.asarray(Image.fromarray(alpha.astype(np.float32)).resize(size,
                                                                       Image.Resampling.BILINEAR))
    ax.imshow(image)
    ax.imshow(heat, cmap="jet", alpha=0.45)
    ax.set_xticks([])
    ax.set_yticks([])


def attention_figure(images: np.ndarray, maps: Mapping[str, np.ndarray], classes, labels,
                     path: str) -> None:
    """Faces (columns) with the position weights α of each tap overlaid (rows), β in titles."""
    taps = sorted(k for k in maps if k.startswith("alpha/"))
    n = len(images)
    fig, axes = plt.subplots(1 + len(taps), n, figsize=(1.9 * n, 2.0 * (1 + len(taps))),
                             squeeze=False)
    for i in range(n):
        ax = axes[0][i]
        ax.imshow(images[i])
        ax.set_xticks([])
        ax.set_yticks([])
        pred = classes[int(maps["logits"][i].argmax())]
        v, a = np.clip(maps["va"][i], -1, 1)
        title = f"{classes[int(labels[i])]} → {pred}\nV {v:+.2f} A {a:+.2f}"
        if "beta" in maps:
            title += "\nβ " + " ".join(f"{b:.2f}" for b in maps["beta"][i])
        ax.set_title(title, fontsize=7)
        for r, tap in enumerate(taps, start=1):
            _overlay(axes[r][i], images[i], maps[tap][i])
            if i == 0:
                axes[r][i].set_ylabel(f"α {tap.split('/')[1]}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_plots(config, rundir: str, outdir: str, prefix: str = "") -> list[str]:
    """Scatter (V/A runs), confusion matrix and attention maps on the test set of one run."""
    task = tasks.build(config)
    classes = list(task.metadata["classes"])
    params, variables = _model_of(rundir)
    pred, batch = _predictions(config, task, params, variables, "test")
    written = []
    m = batch["va_mask"] > 0
    if config.stage == "dimensional" and m.any():
        name = f"{prefix}va_scatter.png"
        va_scatter(batch["va"][m], pred["va"][m], f"{config.row}: test, V/A",
                   os.path.join(outdir, name))
        written.append(name)
    y_pred = pred["logits"].argmax(-1)
    matrix = metrics.confusion_matrix(batch["label"], y_pred, len(classes))
    name = f"{prefix}confusion.png"
    plots.confusion(matrix, classes, f"{config.row} ({config.stage}): test, accuracy "
                    f"{metrics.accuracy(batch['label'], y_pred):.3f}", os.path.join(outdir, name))
    written.append(name)
    # One face per class (the first of each in the test set), up to eight.
    labels = batch["label"]
    picks = [int(np.flatnonzero(labels == k)[0]) for k in range(len(classes))
             if (labels == k).any()][:8]
    source = face_sources.face_data(config).eval_sets["test"]
    images = np.stack([source[i]["image"] for i in picks])
    maps = task_lib.attention_maps(config, params, variables, images)
    if any(k.startswith("alpha/") for k in maps):
        name = f"{prefix}attention.png"
        attention_figure(images, maps, classes, labels[picks], os.path.join(outdir, name))
        written.append(name)
    return written


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _summary(config, rows: dict, seeds: Sequence[int], workdir: str) -> dict:
    data = face_sources.face_data(config)
    return {"system": "two_att_two_mt", "data": data.source, "protocol": data.protocol,
            "classes": list(data.classes), "seeds": list(seeds), "rows": rows,
            "model": checks_lib.model_record(config),
            **results.provenance(workdir)}


def single(config, workdir: str) -> str:
    """Train the config's stage into ``workdir``; write its results.md and plots."""
    task = tasks.build(config)
    result = common.run_recorded(task, config, workdir)
    row = task_lib.ROWS[config.row]
    stage1 = None
    if config.stage == "categorical":
        stage1 = [result.metrics]
    elif config.init_from.path and os.path.exists(
            os.path.join(config.init_from.path, "results.json")):
        stage1 = [dict(load_results(config.init_from.path)["final"])]
    entry = {"description": row.description, "two_stage": row.two_stage,
             "final_stage": config.stage, "dims": list(row.dims),
             "categorical": row.categorical, "final": [result.metrics],
             "stage1": stage1 or [], "rundirs": ["."]}
    summary = _summary(config, {config.row: entry}, [config.seed], workdir)
    names = write_plots(config, workdir, workdir)
    plots.learning_curves({config.row: workdir}, [config.early_stop.metric, "train/loss"],
                          os.path.join(workdir, "curves.png"))
    summary["plots"] = names + ["curves.png"]
    text = render(summary)
    results.write_json(os.path.join(workdir, SUMMARY), summary)
    with open(os.path.join(workdir, "results.md"), "w") as f:
        f.write(text)
    return text


def table(config, workdir: str, rows: Sequence[str], seeds: Sequence[int]) -> str:
    """Every row × seed under ``workdir``; summary.json, results.md and plots there."""
    unknown = [r for r in rows if r not in task_lib.ROWS]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; known: {ALL_ROWS}")
    os.makedirs(workdir, exist_ok=True)
    summary_rows = run_table(config, workdir, rows, seeds)
    summary = _summary(config, summary_rows, seeds, workdir)
    names = []
    seed = seeds[0]
    for row, entry in summary_rows.items():
        rundir = os.path.join(workdir, entry["rundirs"][0])
        variant = common.config_variant(stage=entry["final_stage"], ablation=row, seed=seed)
        if entry["final_stage"] == "dimensional" and task_lib.ROWS[row].two_stage:
            variant.init_from.path = os.path.join(os.path.dirname(rundir), "categorical")
        if row == "full" or len(summary_rows) == 1:
            names += write_plots(variant, rundir, workdir, prefix=f"{row}_")
    curves = {row: os.path.join(workdir, e["rundirs"][0]) for row, e in summary_rows.items()}
    key = "dev/mean_ccc" if any(e["final_stage"] == "dimensional"
                                for e in summary_rows.values()) else "dev/macro_f1"
    plots.learning_curves(curves, [key, "train/loss"], os.path.join(workdir, "curves.png"))
    summary["plots"] = names + ["curves.png"]
    results.write_json(os.path.join(workdir, SUMMARY), summary)
    text = render(summary)
    with open(os.path.join(workdir, "results.md"), "w") as f:
        f.write(text)
    return text


def main(argv) -> None:
    del argv
    config, workdir = common.launcher_setup("two_att_two_mt",
                                            " [--rows=all|row,... --seeds=0,1,2]")
    chosen = common.table_rows()
    if chosen:
        rows = ALL_ROWS if chosen == ["all"] else chosen
        text = table(config, workdir, rows, common.table_seeds([0]))
    else:
        text = single(config, workdir)
    print(text)


if __name__ == "__main__":
    app.run(main)
