"""EMO-DNA end to end: train each table row, then write results.md, predictions and plots.

    python -m experiments.emo_dna --config=experiments/configs/emo_dna.py --workdir=runs/emo_dna

trains the config's method next to source-only (``--rows`` picks others: ``all`` = every
method and ablation of spec §8) for each of ``--seeds``, in ``<workdir>/<row>/seed_<s>``.
Everything is evaluated on the whole target corpus at the last step (transductive UDA); no
target label is used for training or for any choice.
"""

from __future__ import annotations

import logging
import os

import jax
import numpy as np
from absl import app

from affectjax import metrics, tasks
from affectjax.tasks import uda_ser
from affectjax.train import sharding
from affectjax.train.evaluation import collect_predictions
from experiments import common, plots, results

# --rows: method or method-ablation (e.g. emo_dna-no_dec); 'all' = every §8 row; default: the
# config's method and source_only. --seeds: default 0.

ALL_ROWS = (["source_only", "dann", "dan", "emo_dna"]
            + [f"emo_dna-{a}" for a in uda_ser.ABLATIONS if a != "none"]
            + ["oracle", "oracle-target_only"])
LABELS = {"source_only": "source-only", "dann": "DANN", "dan": "DAN (MK-MMD)",
          "emo_dna": "EMO-DNA",
          "oracle": "oracle (source + target labels, target speaker CV)",
          "oracle-target_only": "oracle, target labels only (target speaker CV)"}
ABLATION_LABELS = {"no_dec": "− decoupling", "no_cor": "− corpus CE",
                   "single_encoder": "single encoder", "fixed_thr": "fixed threshold 0.95",
                   "no_pl": "− pseudo-label CE", "no_cla": "− centroid alignment",
                   "no_glob": "− corpus-level alignment", "glob_dann": "DANN instead of MMD",
                   "no_div": "− diversity term",
                   "spec_loss": "§4 loss as specified (w_pl 1, no L_div)"}


def row_label(row: str) -> str:
    """The table label of a row such as ``emo_dna-no_dec``."""
    if row in LABELS:
        return LABELS[row]
    method, _, ablate = row.partition("-")
    return LABELS.get(method, method) + f" {ABLATION_LABELS.get(ablate, ablate)}"


def row_args(row: str) -> dict:
    method, _, ablate = row.partition("-")
    return {"method": method, "ablate": ablate or "none"}


def is_oracle(row: str) -> bool:
    return row_args(row)["method"] == "oracle"


def rows_to_run(config) -> list[str]:
    chosen = common.table_rows()
    if chosen == ["all"]:
        return ALL_ROWS
    if chosen:
        return chosen
    main = config.method + ("" if config.ablate == "none" else f"-{config.ablate}")
    return ["source_only"] + ([main] if main != "source_only" else [])


def target_predictions(task, config, state) -> dict[str, np.ndarray]:
    """Per-utterance source and target predictions and embeddings of a trained state."""
    mesh = sharding.make_mesh(config)
    sets = uda_ser.analysis_sets(config)
    out = {}
    for side, data in sets.items():
        pred, batch = collect_predictions(jax.jit(task.predict), state.params, state.variables,
                                          data, side, mesh)
        out[side] = {"y_true": batch["label"], "y_pred": pred["logits"].argmax(-1),
                     "z_e": pred["z_e"], "z_c": pred["z_c"], "speaker": batch["speaker"]}
    return out


def row_config(row: str, seed: int, **args):
    """The row's config: the command line's config and overrides, then the row's own settings.

    The row is applied last so that an override such as ``--config.loss.w_pl=0.1`` tunes the
    EMO-DNA rows without switching the same term on in a baseline.
    """
    config = common.config_variant(**row_args(row), seed=seed, **args)
    with config.unlocked():
        uda_ser.apply_method(config, **row_args(row))
    return config


def train_row(row: str, seed: int, workdir: str) -> dict:
    """Train one row and seed (all folds for the oracle); return its target metrics."""
    base = row_config(row, seed)
    folds = range(base.oracle.folds) if base.method == "oracle" else [None]
    y_true, y_pred, speakers, analysis = [], [], [], None
    for fold in folds:
        config = base if fold is None else row_config(row, seed, fold=fold)
        rundir = os.path.join(workdir, row, f"seed_{seed}" + ("" if fold is None else
                                                              f"_fold_{fold}"))
        task = tasks.build(config)
        result = common.run_recorded(task, config, rundir)
        analysis = target_predictions(task, config, result.state)
        y_true.append(analysis["target"]["y_true"])
        y_pred.append(analysis["target"]["y_pred"])
        speakers.append(analysis["target"]["speaker"])
    y_true, y_pred, speakers = map(np.concatenate, (y_true, y_pred, speakers))
    if base.method == "oracle":
        # Back to target order (the folds' test sets concatenated are a permutation of it), so
        # the bootstrap against other rows resamples the same utterances for both.
        target = uda_ser.load_task(base.data).target
        order = np.concatenate([np.flatnonzero(uda_ser.oracle_test_mask(
            target.speakers, base.oracle.folds, fold)) for fold in folds])
        back = np.argsort(order)
        y_true, y_pred, speakers = y_true[back], y_pred[back], speakers[back]
        if not np.array_equal(y_true, target.labels):
            raise RuntimeError(f"{row}: the folds' test sets do not cover the target once each")
    np.savez(os.path.join(workdir, row, f"seed_{seed}_target_predictions.npz"),
             y_true=y_true, y_pred=y_pred, speaker=speakers)
    return {"uar": metrics.uar(y_true, y_pred), "war": metrics.war(y_true, y_pred),
            "y_true": y_true, "y_pred": y_pred, "speaker": speakers, "analysis": analysis,
            "classes": list(task.metadata["classes"])}


def bootstrap_uar_gain(a: list[dict], b: list[dict], rounds: int = 1000, seed: int = 0):
    """95 % interval of the seed-mean UAR(a) − UAR(b) over resampled target utterances (§7)."""
    n = len(a[0]["y_true"])
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(rounds):
        idx = rng.integers(0, n, n)
        gains.append(np.mean([metrics.uar(r["y_true"][idx], r["y_pred"][idx]) for r in a])
                     - np.mean([metrics.uar(r["y_true"][idx], r["y_pred"][idx]) for r in b]))
    return np.percentile(gains, [2.5, 97.5])


def per_speaker_uar(rows: list[str], runs: dict) -> dict:
    """Target UAR of each row on each target speaker, mean over seeds.

    A pooled UAR can hide that a few speakers are at chance for every method (or only for
    one); this shows which (e.g. why an oracle trained on fewer speakers scores lower).
    Returns ``{"speakers": [...], "uar": {row: [one value per speaker]}}``.
    """
    speakers = sorted(set(np.concatenate([r["speaker"] for row in rows for r in runs[row]])))
    return {"speakers": [str(s) for s in speakers],
            "uar": {row: [float(np.mean([metrics.uar(r["y_true"][r["speaker"] == spk],
                                                     r["y_pred"][r["speaker"] == spk])
                                         for r in runs[row]])) for spk in speakers]
                    for row in rows}}


def speaker_table(by_speaker: dict) -> str:
    """The markdown table of :func:`per_speaker_uar` (UAR in %)."""
    return results.markdown_table(
        ["method", *by_speaker["speakers"]],
        [[row_label(row), *(f"{100 * u:.1f}" for u in uars)]
         for row, uars in by_speaker["uar"].items()])


def uar_by_step(workdir: str, rows: list[str], seeds: list[int]) -> dict:
    """Target UAR at each eval step, mean over seeds, of every non-oracle row (from metrics.jsonl).

    The tables report the last step (no model selection on target labels); this shows whether
    a row had plateaued there, was still rising (under-trained) or had peaked earlier.
    Returns ``{row: {"steps": [...], "uar": [...]}}`` over the steps every seed logged.
    """
    out = {}
    for row in rows:
        if is_oracle(row):  # one run per fold, each on part of the target: no single curve
            continue
        per_seed = []
        for seed in seeds:
            logged = plots.read_metrics(os.path.join(workdir, row, f"seed_{seed}"))
            # A resumed run logs the steps after its checkpoint again; the later entry wins.
            per_seed.append({r["step"]: r["target/uar"] for r in logged if "target/uar" in r})
        steps = sorted(set.intersection(*(set(p) for p in per_seed)))
        out[row] = {"steps": steps,
                    "uar": [float(np.mean([p[step] for p in per_seed])) for step in steps]}
    return out


def by_step_table(by_step: dict) -> str:
    """The markdown table of :func:`uar_by_step` (UAR in %; '–' where a row has no such step)."""
    steps = sorted({step for r in by_step.values() for step in r["steps"]})
    # summary.json stores rows in key order; list them in the main table's order.
    order = sorted(by_step, key=lambda row: ALL_ROWS.index(row) if row in ALL_ROWS
                   else len(ALL_ROWS))
    lines = []
    for row in order:
        r = by_step[row]
        at = dict(zip(r["steps"], r["uar"]))
        lines.append([row_label(row), *(f"{100 * at[s]:.1f}" if s in at else "–" for s in steps)])
    return results.markdown_table(["method", *(f"step {s}" for s in steps)], lines)


def write_report(workdir: str, config, rows: list[str], seeds: list[int], runs: dict) -> None:
    classes = runs[rows[0]][0]["classes"]
    k = len(classes)
    table = [["chance", f"{100 / k:.1f}", "–", "–"]]
    summary = {"task": config.data.task, "classes": classes, "seeds": seeds, "rows": {}}
    for row in rows:
        uars = [r["uar"] for r in runs[row]]
        wars = [r["war"] for r in runs[row]]
        gain = "–"
        if row != "source_only" and "source_only" in runs:
            lo, hi = bootstrap_uar_gain(runs[row], runs["source_only"])
            gain = f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
        table.append([row_label(row), results.format_mean_std(uars, 100),
                      results.format_mean_std(wars, 100), gain])
        summary["rows"][row] = {"uar": uars, "war": wars}
    n_target = len(runs[rows[0]][0]["y_true"])
    summary["by_speaker"] = per_speaker_uar(rows, runs)
    summary["by_step"] = uar_by_step(workdir, rows, seeds)
    prov = results.provenance(workdir)
    text = (
        f"# EMO-DNA: {config.data.task}\n\n"
        f"Cross-corpus SER, transductive UDA: trained on the labelled source and the unlabelled "
        f"target, evaluated on the whole target ({n_target} utterances, {k} classes: "
        f"{', '.join(classes)}) at the last step. UAR and WAR in %, mean ± std over seeds. "
        f"'UAR gain vs source-only' is the 95 % bootstrap interval of the seed-mean difference "
        f"(1,000 resamples of target utterances); it excludes 0 when the difference is "
        f"significant. No hyper-parameter was chosen on target labels.\n\n"
        + results.markdown_table(["method", "UAR", "WAR", "UAR gain vs source-only"], table)
        + "\n\n## Per target speaker\n\nUAR in % on each target speaker's utterances, mean "
          "over seeds (for the oracle, each speaker is scored by the fold that held it out).\n\n"
        + speaker_table(summary["by_speaker"])
        + "\n\n## Target UAR during training\n\nAt each eval step, in %, mean over seeds "
          "(the tables above are the last step).\n\n"
        + by_step_table(summary["by_step"])
        + "\n\n## Provenance\n\n" + results.provenance_block(prov, seeds)
        + "- plots: `curves.png` (target UAR and loss by step), `confusion_<row>.png`, "
          "`features.png` (PCA of emotion and corpus features)\n")
    with open(os.path.join(workdir, "results.md"), "w") as f:
        f.write(text)
    results.write_json(os.path.join(workdir, "summary.json"), {**summary, **prov})
    print(text)


def write_plots(workdir: str, rows: list[str], seed: int, runs: dict) -> None:
    curves = {row: os.path.join(workdir, row, f"seed_{seed}") for row in rows
              if not is_oracle(row)}
    plots.learning_curves(curves, ["target/uar", "train/loss"],
                          os.path.join(workdir, "curves.png"))
    classes = runs[rows[0]][0]["classes"]
    for row in rows:
        r = runs[row][0]
        matrix = metrics.confusion_matrix(r["y_true"], r["y_pred"], len(classes))
        plots.confusion(matrix, classes, f"{row}: target, UAR {100 * r['uar']:.1f} %",
                        os.path.join(workdir, f"confusion_{row}.png"))
    main = next((row for row in reversed(rows) if not is_oracle(row)), rows[0])
    a = runs[main][0]["analysis"]
    emotion = np.concatenate([a["source"]["y_true"], a["target"]["y_true"]])
    corpus = np.concatenate([np.zeros(len(a["source"]["y_true"]), int),
                             np.ones(len(a["target"]["y_true"]), int)])
    plots.feature_maps(
        {f"{main} z_e (emotion)": np.concatenate([a["source"]["z_e"], a["target"]["z_e"]]),
         f"{main} z_c (corpus)": np.concatenate([a["source"]["z_c"], a["target"]["z_c"]])},
        {"emotion": emotion, "corpus": corpus},
        {"emotion": classes, "corpus": ["source", "target"]},
        os.path.join(workdir, "features.png"))


def _uar_war_cell(r: dict) -> str:
    """'UAR (WAR)' in %, mean ± std over seeds; a single seed is said once, not per figure."""
    if len(r["uar"]) == 1:
        return f"{100 * r['uar'][0]:.1f} ({100 * r['war'][0]:.1f}; 1 seed)"
    return (f"{results.format_mean_std(r['uar'], 100)} "
            f"({results.format_mean_std(r['war'], 100)})")


SHIFT_TASKS = {f"synth_s{level}": level / 100 for level in (0, 25, 50, 75, 100)}


def report(runs_dir: str) -> str:
    """One table of every task under ``runs_dir`` (its summary.json files), for experiments.report.

    Rows are methods, columns tasks (or run directories, where one task was run several times);
    cells are target UAR (WAR) mean ± std over the seeds the launcher ran. Below it, the spec's
    §11 checks that the present tasks allow, as measured.
    """
    loaded = [summary | {"dir": os.path.dirname(rel) or "."}
              for rel, summary in results.load_summaries(runs_dir, "emo_dna")]
    # One column per run directory: named by its task where the directory is named so, else
    # "task [dir]" (a task run with overrides, e.g. a sweep on a dev task; its command says which).
    summaries = {(s["task"] if s["dir"] == s["task"] else f"{s['task']} [{s['dir']}]"): s
                 for s in loaded}
    order = [t for t in SHIFT_TASKS if t in summaries] + sorted(
        t for t in summaries if t not in SHIFT_TASKS)
    rows = [r for r in ALL_ROWS if any(r in summaries[t]["rows"] for t in order)]
    lines = [["chance"] + [f"{100 / len(summaries[t]['classes']):.1f}" for t in order]]
    for row in rows:
        cells = [row_label(row)]
        for t in order:
            r = summaries[t]["rows"].get(row)
            cells.append("–" if r is None else _uar_war_cell(r))
        lines.append(cells)
    text = [
        "# EMO-DNA results", "",
        "Target UAR (WAR) in %, mean ± std over seeds, transductive UDA on the whole target, "
        "last step; no hyper-parameter chosen on target labels. Each task's own `results.md` "
        "(in its run directory) has the bootstrap intervals of the gain over source-only.", "",
        results.markdown_table(["method"] + order, lines), "", "## Checks (spec §11.3)", ""]
    text += _shift_checks(summaries) or ["- synthetic shift levels: not all five were run"]
    for t in order:
        r = summaries[t]["rows"]
        for oracle in ("oracle", "oracle-target_only"):
            if oracle in r and "source_only" in r:
                ok = np.mean(r[oracle]["uar"]) >= np.mean(r["source_only"]["uar"])
                text.append(f"- {t}: {row_label(oracle)} ≥ source-only: "
                            f"{'yes' if ok else 'NO'}")
        if "emo_dna" in r:
            beats = [b for b in ("source_only", "dann", "dan") if b in r
                     and np.mean(r["emo_dna"]["uar"]) > np.mean(r[b]["uar"])]
            misses = [b for b in ("source_only", "dann", "dan") if b in r and b not in beats]
            text.append(f"- {t}: EMO-DNA mean UAR beats {', '.join(beats) or 'none'}"
                        + (f"; does not beat {', '.join(misses)}" if misses else ""))
    with_speakers = [t for t in order if "by_speaker" in summaries[t]]
    if with_speakers:
        text += ["", "## UAR per target speaker", "",
                 "In %, mean over seeds; for the oracles, each speaker is scored by the fold that "
                 "held it out."]
        for t in with_speakers:
            text += ["", f"### {t}", "", speaker_table(summaries[t]["by_speaker"])]
    with_steps = [t for t in order if summaries[t].get("by_step")]
    if with_steps:
        text += ["", "## Target UAR during training", "",
                 "In % at each eval step, mean over seeds; the tables above are the last step. "
                 "A row still rising at the end was under-trained; one that peaked earlier "
                 "drifted (no row is stopped early: that would need target labels)."]
        for t in with_steps:
            text += ["", f"### {t}", "", by_step_table(summaries[t]["by_step"])]
    text += ["", "## Provenance", ""]
    for t in order:
        s = summaries[t]
        trained = f" (runs trained at {s['trained_at']})" if s.get("trained_at") else ""
        text.append(f"- {t} (`{s['dir']}`): command `{s['command']}`, commit `{s['commit']}`"
                    f"{trained}, {s['hardware']}, seeds {', '.join(map(str, s['seeds']))}")
    return "\n".join(text) + "\n"


def _shift_checks(summaries: dict) -> list[str]:
    """Source-only UAR drop from s0 to s100 and Spearman ρ(shift, UAR), when all five ran."""
    from scipy import stats

    levels = [t for t in SHIFT_TASKS if t in summaries
              and "source_only" in summaries[t]["rows"]]
    if len(levels) < len(SHIFT_TASKS):
        return []
    uar = [100 * np.mean(summaries[t]["rows"]["source_only"]["uar"]) for t in levels]
    rho = stats.spearmanr([SHIFT_TASKS[t] for t in levels], uar).statistic
    return [f"- source-only UAR s0 − s100: {uar[0] - uar[-1]:.1f} points (required ≥ 10)",
            f"- Spearman ρ(shift, source-only UAR): {rho:.2f} (required ≤ −0.9)"]


def main(argv) -> None:
    del argv
    config, workdir = common.launcher_setup("emo_dna", " [--rows=...] [--seeds=0,1,2]")
    seeds = common.table_seeds([0])
    rows = rows_to_run(config)
    runs = {}
    for row in rows:
        runs[row] = []
        for seed in seeds:
            logging.info("row %s, seed %d", row, seed)
            runs[row].append(train_row(row, seed, workdir))
    write_plots(workdir, rows, seeds[0], runs)
    write_report(workdir, config, rows, seeds, runs)


if __name__ == "__main__":
    app.run(main)
