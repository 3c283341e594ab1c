r"""Bert4CMR end to end: one stage, or every §8 row for every target and seed, then results.md.

One stage (``:stage=pretrain`` or ``:stage=finetune``) trains exactly that run in ``--workdir``::

    CFG=experiments/configs/bert4cmr.py
    python -m experiments.bert4cmr --config=$CFG:stage=pretrain,size=tiny --workdir=$W1
    python -m experiments.bert4cmr --config=$CFG:stage=finetune,size=tiny \
        --config.init_from.path=$W1 --workdir=$W2

A table (``:stage=all``, the default) runs, for every target (``target=all``: every market with
evaluation lists) and every seed, the rows of spec §8 in ``<workdir>/<target>/seed_<s>/<row>/
<stage>``: pretraining, then fine-tuning from its best checkpoint (``init_from``); with
``:shared=True`` one pretraining per seed and row on every market's training part, in
``<workdir>/shared/seed_<s>/<row>/pretrain``, serves every target. The counting baselines
(target and global popularity, item co-occurrence on the target and on all markets) are scored
on the same lists. It writes ``summary.json`` (every number of the table) and
``results.md``; ``python -m experiments.report bert4cmr --runs=<workdir>`` re-renders the latter.

A stage whose ``results.json`` exists is complete and is not run again; an interrupted one
resumes from its last checkpoint (the trainer's rule), so rerunning a command resumes it.
``--rows`` picks rows (default: the config's model/variant row plus every §8 baseline; with
``:leak=True`` only the leaky faithful reproduction).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from absl import app

from affectjax import tasks
from affectjax.data import markets as mk
from affectjax.data.markets import loading as market_loading
from affectjax.tasks import bert4cmr as task_lib
from affectjax.train.loop import RESULTS_FILE
from experiments import bert4cmr_checks, bert4cmr_combine, common, results

# --rows: table rows (see ROWS; 'popularity' = the counting baselines only); default: the
# config's row and every §8 baseline. --seeds: default config.seed … + experiment.seeds - 1.

SUMMARY_FILE = "summary.json"
RESULTS_MD = "results.md"
METRICS = task_lib.METRIC_NAMES  # hr@5, hr@10, ndcg@5, ndcg@10
METRIC_LABELS = {"hr@5": "HR@5", "hr@10": "HR@10", "ndcg@5": "NDCG@5", "ndcg@10": "NDCG@10"}


@dataclasses.dataclass(frozen=True)
class Row:
    """A table row: config-argument changes and the stages it trains.

    ``stages``: ``both`` (pretrain → finetune with init_from), ``finetune`` (target only, from
    scratch), ``pretrain`` (all markets, tested on the target) or ``derived`` (read from another
    row's pretraining, ``source``).
    """

    label: str
    args: Mapping[str, object]
    stages: str
    source: str = ""
    leaky: bool = False


ROWS = {
    "full": Row("Bert4CMR (fixed)", {"variant": "fixed"}, "both"),
    "pretrain_only": Row("Bert4CMR pretrain-only (fixed)", {}, "derived", source="full"),
    "no_market_emb": Row("Bert4CMR w/o market embedding", {"variant": "fixed",
                                                           "market_emb": False}, "both"),
    "target_only": Row("Bert4CMR target-only", {"variant": "fixed"}, "finetune"),
    "faithful": Row("Bert4CMR (faithful, leak off)", {"variant": "faithful"}, "both"),
    "faithful_pretrain_only": Row("Bert4CMR pretrain-only (faithful)", {}, "derived",
                                  source="faithful"),
    "faithful_leak": Row("Bert4CMR (faithful, LEAKY: candidate in history)",
                         {"variant": "faithful", "leak": True}, "both", leaky=True),
    "faithful_leak_pretrain_only": Row("Bert4CMR pretrain-only (faithful, LEAKY)", {},
                                       "derived", source="faithful_leak", leaky=True),
    "cloze": Row("Bert4CMR (cloze)", {"variant": "cloze"}, "both"),
    "gmf": Row("GMF (target only)", {"model": "gmf"}, "finetune"),
    "gmf_global": Row("GMF++ (all markets)", {"model": "gmf"}, "pretrain"),
    "nmf": Row("NMF (target only)", {"model": "nmf"}, "finetune"),
    "nmf_global": Row("NMF++ (all markets)", {"model": "nmf"}, "pretrain"),
    "mlp": Row("MLP (target only)", {"model": "mlp"}, "finetune"),
    "mlp_global": Row("MLP++ (all markets)", {"model": "mlp"}, "pretrain"),
}
# Deterministic rows, computed from counts on the lists of every table (no training).
COUNTING = {"target_popularity": "Target popularity", "global_popularity": "Global popularity",
            "target_cooccurrence": "Item co-occurrence (target)",
            "global_cooccurrence": "Item co-occurrence (all markets)"}


def default_rows(config) -> list[str]:
    """The config's own row first, then the §8 baselines (none for the leaky reproduction)."""
    if config.model.kind != "bert4cmr":
        return [config.model.kind, f"{config.model.kind}_global"]
    if config.data.leak_target_in_history:
        return ["faithful_leak", "faithful_leak_pretrain_only"]  # §9.1 reports both
    main = {"fixed": "full", "faithful": "faithful", "cloze": "cloze"}[config.model.variant]
    rows = [main, "full", "pretrain_only", "no_market_emb", "target_only", "faithful",
            "faithful_pretrain_only", "gmf", "gmf_global", "nmf", "nmf_global"]
    return list(dict.fromkeys(rows))


def row_config(base, row: str, *, stage: str, seed: int, target: str, init_from: str | None,
               configure: Callable = common.config_variant):
    """The config of one stage of one row, as the user would have written it.

    ``configure(**args)`` re-reads the config file with changed ``:key=value`` args and the
    command line's overrides (``common.config_variant``); tests pass their own.
    """
    spec = ROWS[row]
    args = {"variant": base.model.variant, "model": "bert4cmr", "market_emb": True,
            "leak": False, **spec.args}
    config = configure(stage=stage, seed=seed, target=target, protocol=base.data.protocol,
                       **args)
    with config.unlocked():
        config.init_from.path = init_from
    return config


def run_stage(config, workdir: str) -> dict:
    """Train one stage unless its results.json exists; returns its test.json payload."""
    if os.path.exists(os.path.join(workdir, RESULTS_FILE)):
        logging.info("%s: complete (results.json exists), not run again", workdir)
    else:
        t0 = time.time()
        common.run_recorded(tasks.build(config), config, workdir)
        logging.info("%s: done in %.1f s", workdir, time.time() - t0)
    if config.data.source == "wsdm22" and not os.path.exists(
            os.path.join(workdir, "test_scores.tsv")):
        write_scores(config, workdir)
    return task_lib.load_test_results(workdir)


def write_scores(config, workdir: str) -> None:
    """``valid_scores.tsv``/``test_scores.tsv`` (``userId itemId score``) of the best model.

    The WSDM Cup 2022 submission format (spec §6.3): every candidate of every list.
    """
    import jax

    from affectjax.train import sharding
    from affectjax.train.checkpoint import load_model
    from affectjax.train.evaluation import collect_predictions
    from affectjax.train.task import DataContext

    task = tasks.build(config)
    data = market_loading.load_market_data(config)
    mesh = sharding.make_mesh(config)
    model, _ = load_model(workdir, "best")
    params = jax.device_put(model["params"], sharding.replicated(mesh))
    ctx = DataContext(seed=config.seed, process_index=0, process_count=1, num_devices=mesh.size)
    predict = jax.jit(task.predict)
    for name, batches in task.eval_data(ctx).items():
        pred, batch = collect_predictions(predict, params, {}, batches, name, mesh)
        keep = batch["cand_mask"]
        users = np.repeat(data.inter.user_ids[batch["user"]][:, None], keep.shape[1], 1)[keep]
        items = data.inter.item_ids[batch["cands"][keep] - 1]
        scores = pred["scores"][keep]
        with open(os.path.join(workdir, f"{name}_scores.tsv"), "w") as f:
            f.write("userId\titemId\tscore\n")
            f.writelines(f"{u}\t{i}\t{v:.6g}\n" for u, i, v in zip(
                users.tolist(), items.tolist(), scores.tolist()))
        logging.info("wrote %s_scores.tsv (%d users)", name, len(batch["user"]))


def _pick(test: Mapping[str, float], target: str) -> dict[str, float]:
    return {m: test[f"{target}/{m}"] for m in METRICS if f"{target}/{m}" in test}


def resolve_targets(config) -> list[str]:
    """``target=all``: every market with evaluation lists; ``a+b``: those; '': the default."""
    data = market_loading.load_market_data(config)
    spec = config.experiment.targets
    if spec == "all":
        c = dataclasses.replace(data, target=None)
        return c.eval_markets
    if spec:
        return spec.split("+")
    return [data.target]


def counting_records(config, target: str, seed: int, which: str) -> list[dict]:
    """The COUNTING rows on ``target``'s lists."""
    data = market_loading.load_market_data(config)
    out = []
    for name, evaluate in (("popularity", mk.evaluate_popularity),
                           ("cooccurrence", mk.evaluate_cooccurrence)):
        scores = evaluate(data.inter, data.split, which=which, markets=[target],
                          ties=config.eval.ties)
        out += [{"row": f"{kind}_{name}", "target": target, "seed": seed,
                 "metrics": {m: scores[kind][target][m] for m in METRICS},
                 "users": scores[kind][target]["users"]} for kind in ("target", "global")]
    return out


def oracle_record(config, target: str, seed: int, which: str) -> dict:
    """The synthetic generator's own logits on the lists (an upper reference, spec §6.6).

    Its sequential term uses each user's chronologically last training item (any protocol).
    """
    data = market_loading.load_market_data(config)
    inter = data.inter
    lists = data.split.lists(which).for_market(inter.market_id(target))
    truth = mk.load_ground_truth(market_loading.synthetic_root(config.data))
    rows = np.flatnonzero(data.split.role == mk.TRAIN)
    rows = rows[np.lexsort((inter.line[rows], inter.time[rows], inter.user[rows]))]
    users = inter.user[rows]
    ends = np.flatnonzero(np.r_[users[1:] != users[:-1], True])  # each user's latest row
    last = np.zeros(inter.n_users, np.int64)
    last[users[ends]] = inter.item[rows[ends]]
    scores = mk.oracle_scores(truth, inter, lists, last[lists.user])
    return {"row": "oracle", "target": target, "seed": seed,
            "metrics": mk.ranking_metrics(scores, ties=config.eval.ties),
            "users": float(len(lists))}


def run_table(base, workdir: str, rows: Sequence[str],
              configure: Callable = common.config_variant) -> dict:
    """Every row × target × seed; returns the summary (also written to summary.json)."""
    rows = [r for r in rows if r != "popularity"]  # 'popularity': the baselines only
    os.makedirs(workdir, exist_ok=True)
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; known: {sorted(ROWS)}")
    seeds = common.table_seeds([base.seed + i for i in range(base.experiment.seeds)])
    targets = resolve_targets(base)
    shared = base.data.pretrain_scope == "shared"
    which = "test"
    lists = market_loading.load_market_data(base).split
    if lists.test is None or not lists.test.has_positive:
        which = "valid"  # WSDM: the test lists carry no positive
    records: list[dict] = []
    trained = [r for r in rows if ROWS[r].stages != "derived"]
    for r in rows:  # a derived row needs its source's pretraining
        if ROWS[r].stages == "derived" and ROWS[r].source not in trained:
            trained.append(ROWS[r].source)
    for seed in seeds:

        def cfg(row, stage, target, init_from=None, seed=seed):
            return row_config(base, row, stage=stage, seed=seed, target=target,
                              init_from=init_from, configure=configure)

        shared_dirs = {}
        if shared:
            for r in trained:
                if ROWS[r].stages in ("both", "pretrain"):
                    d = os.path.join(workdir, "shared", f"seed_{seed}", r, "pretrain")
                    shared_dirs[r] = (d, run_stage(cfg(r, "pretrain", ""), d))
        for target in targets:
            records += counting_records(cfg("full", "finetune", target), target, seed, which)
            if base.data.source == "synthetic":
                records.append(oracle_record(cfg("full", "finetune", target), target, seed,
                                             which))
            stage_out: dict[str, dict[str, dict]] = {}
            for r in trained:
                spec = ROWS[r]
                rundir = os.path.join(workdir, target, f"seed_{seed}", r)
                out: dict[str, dict] = {}
                pre_dir = None
                if spec.stages in ("both", "pretrain"):
                    if shared:
                        pre_dir, out["pretrain"] = shared_dirs[r]
                    else:
                        pre_dir = os.path.join(rundir, "pretrain")
                        out["pretrain"] = run_stage(cfg(r, "pretrain", target), pre_dir)
                if spec.stages in ("both", "finetune"):
                    init = pre_dir if spec.stages == "both" else None
                    out["finetune"] = run_stage(cfg(r, "finetune", target, init),
                                                os.path.join(rundir, "finetune"))
                stage_out[r] = out
            for r in rows:
                spec = ROWS[r]
                if spec.stages == "derived":
                    used = {"pretrain": stage_out[spec.source]["pretrain"]}
                else:
                    used = stage_out[r]
                final = used.get("finetune") or used["pretrain"]
                records.append({
                    "row": r, "target": target, "seed": seed,
                    "metrics": _pick(final[which], target),
                    "users": final[which].get(f"{target}/users"),
                    "wall_s": {s: out["wall_s"] for s, out in used.items()},
                    "wall_partial": [s for s, out in used.items()
                                     if out.get("wall_complete") is False],
                    "best_step": {s: (out.get("early_stop") or {}).get("best_step")
                                  for s, out in used.items()},
                })
    summary = {
        "provenance": results.provenance(workdir), "data": base.data.source,
        "protocol": base.data.protocol, "size_args": base.experiment.args,
        "eval_split": which, "targets": targets, "seeds": seeds,
        "rows": [*COUNTING, *rows, *(["oracle"] if base.data.source == "synthetic" else [])],
        "labels": {**{r: ROWS[r].label for r in rows}, **COUNTING,
                   "oracle": "Generator oracle (true logits; reference, not a model)"},
        "leaky": [r for r in rows if ROWS[r].leaky],
        "shared_pretraining": shared, "records": records,
    }
    results.write_json(os.path.join(workdir, SUMMARY_FILE), summary)
    with open(os.path.join(workdir, RESULTS_MD), "w") as f:
        f.write(render(summary))
    return summary


# ---------------------------------------------------------------------------------------------
# Tables


def _cell(values: Sequence[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1 or np.ptp(values) == 0:
        return f"{values[0]:.3f}"
    mean, std = results.mean_std(values)
    return f"{mean:.3f} ± {std:.3f}"


def render(summary: Mapping) -> str:
    """results.md of one table: per metric, rows × (targets, average), mean ± std over seeds."""
    targets, seeds = summary["targets"], summary["seeds"]
    by = {}
    for rec in summary["records"]:
        by.setdefault(rec["row"], {}).setdefault(rec["target"], {})[rec["seed"]] = rec["metrics"]
    parts = summary.get("parts")
    # A combined table may hold rows run at different numbers of seeds: each row names its own.
    row_seeds = {r: sorted({s for per_seed in cells.values() for s in per_seed})
                 for r, cells in by.items() if r in ROWS}
    uneven = len({len(s) for s in row_seeds.values()}) > 1
    over = ("the seeds each row's label gives" if uneven else f"{len(seeds)} seed(s)")
    title = f"# Bert4CMR — {summary['data']}, `{summary['protocol']}` protocol"
    lines = [title + (": every row, from " + ", ".join(f"`{p['table']}`" for p in parts)
                      if parts else ""),
             "",
             f"HR@K and NDCG@K on the **{summary['eval_split']}** lists: 1 "
             "positive + 99 sampled negatives per user (sampled-candidate metrics; not comparable"
             " with full ranking), exact expected ties (spec §7.3). Model rows: mean ± std over "
             f"{over}; a single value means every seed gave the same number "
             "(deterministic rows). `avg` is the unweighted mean over the target markets, "
             "per seed, then mean ± std." +
             (" Pretraining was shared by all targets (every market's training part)."
              if summary.get("shared_pretraining") else ""), ""]
    if parts:
        lines += ["One table joined from the launcher tables listed under Sources, each run "
                  "with its own command (their sections in this file give each one's wall "
                  "time); their counting rows agree, so all were scored on the same lists.", ""]
    if summary["eval_split"] == "valid":
        lines += ["These data give no test positives (WSDM Cup 2022: hidden test labels), so "
                  "the table reports the validation lists that early stopping also used; the "
                  "models' test scores are in each run's `test_scores.tsv`.", ""]
    if summary.get("leaky"):
        lines += ["Rows marked LEAKY put the training candidate into its own history "
                  "(the official code's defect, spec §1.2); they are a reproduction, not a "
                  "result.", ""]
    for metric in METRICS:
        lines += [f"## {METRIC_LABELS[metric]}", ""]
        table = []
        for row in summary["rows"]:
            cells = by.get(row, {})
            if not cells:
                continue
            line = [summary["labels"][row] + (
                f" ({len(row_seeds[row])} seed{'s' * (len(row_seeds[row]) > 1)})"
                if uneven and row in row_seeds else "")]
            for t in targets:
                line.append(_cell([cells[t][s][metric] for s in seeds
                                   if s in cells.get(t, {}) and metric in cells[t][s]]))
            per_seed = [float(np.mean([cells[t][s][metric] for t in targets]))
                        for s in seeds
                        if all(s in cells.get(t, {}) and metric in cells[t][s] for t in targets)]
            line.append(_cell(per_seed))
            table.append(line)
        lines += [results.markdown_table(["model", *targets, "avg"], table), ""]
    checks = bert4cmr_checks.generator_checks(summary)
    if checks:
        lines += ["## Checks (spec §11.3)", "",
                  "Gaps in NDCG@10 averaged over the targets, paired by seed.", "", *checks, ""]
    checks = bert4cmr_checks.xmarket_checks(
        summary, [r for r in summary["rows"] if r in ROWS and ROWS[r].stages == "both"])
    if checks:
        lines += ["## Checks (spec §11.4)", "",
                  "NDCG@10, each market's mean over seeds; the average as in the table. "
                  "The published numbers are other implementations' (spec §9.3), not run here.",
                  "", *checks, ""]
    runs = {} if parts else stage_runs(summary)
    if runs:
        lines += ["## Wall time per stage (s, this machine)", "",
                  "Each run counted once: a shared pretraining serves every target, and "
                  "pretrain-only rows reuse their source row's pretraining.", ""]
        per_stage = {}
        for (_, row, stage, _), sec in runs.items():
            per_stage.setdefault((row, stage), []).append(sec)
        lines += [results.markdown_table(
            ["row", "stage", "mean s", "runs"],
            [[summary["labels"][r], s, f"{np.mean(v):.1f}", str(len(v))]
             for (r, s), v in per_stage.items()]), ""]
        lines += ["Whole table, training wall time per seed: " + ", ".join(
                      f"seed {seed} {sec / 60:.1f} min" for seed, sec in seed_totals(runs).items())
                  + ".", ""]
        partial = sorted({(rec["seed"], summary["labels"][rec["row"]], stage)
                          for rec in summary["records"] for stage in rec.get("wall_partial", ())})
        if partial:
            lines += ["Lower bounds: these runs resumed from checkpoints written before "
                      "checkpoints carried the time, so their time lacks the earlier "
                      "invocations' share: " + "; ".join(
                          f"seed {seed} {label} {stage}" for seed, label, stage in partial)
                      + ".", ""]
    if parts:
        lines += ["## Sources", ""]
        for part in parts:
            rows = ", ".join(summary["labels"][r] for r in part["rows"]) or "counting rows only"
            lines += [f"`{part['table']}` ({rows}):", "",
                      results.provenance_block(part["provenance"], part["seeds"])]
    else:
        lines += ["## Provenance", "", results.provenance_block(summary["provenance"], seeds)]
    return "\n".join(lines)


def stage_runs(summary: dict) -> dict[tuple, float]:
    """Seconds of each training run of the table, keyed (seed, row, stage, target or None).

    Derived rows reuse another row's pretraining, and a shared pretraining serves every target,
    so the records repeat those times; the keys count each run once (target None: shared).
    """
    runs = {}
    for rec in summary["records"]:
        row = ROWS.get(rec["row"])
        if not rec.get("wall_s") or row is None or row.stages == "derived":
            continue
        for stage, sec in rec["wall_s"].items():
            shared = stage == "pretrain" and summary.get("shared_pretraining")
            runs[(rec["seed"], rec["row"], stage, None if shared else rec["target"])] = sec
    return runs


def seed_totals(runs: Mapping[tuple, float]) -> dict[int, float]:
    """Seconds of training per seed, summed over ``stage_runs``' runs."""
    totals: dict[int, float] = {}
    for (seed, *_), sec in runs.items():
        totals[seed] = totals.get(seed, 0.0) + sec
    return dict(sorted(totals.items()))


def report(runs_dir: str) -> str:
    """Every table under ``runs_dir`` for ``experiments.report``.

    First each launcher table (its summary.json), then each combined table (``combine.json``,
    see ``experiments.bert4cmr_combine``).
    """
    text = results.sectioned_report(runs_dir, render, "bert4cmr")
    try:
        combined = bert4cmr_combine.load_combined(runs_dir, [*COUNTING, *ROWS, "oracle"],
                                                  trained=list(ROWS))
    except ValueError as err:
        raise SystemExit(str(err)) from None
    return "\n\n".join([text, *(f"<!-- {key} -->\n" + render(s) for key, s in combined)])


def main(argv) -> None:
    del argv
    config, workdir = common.launcher_setup("bert4cmr", " [--rows=...] [--seeds=...]")
    if config.stage in task_lib.STAGES:
        if config.stage == "finetune" and not config.init_from.path:
            logging.info("finetune without init_from.path: the target-only baseline")
        test = run_stage(config, workdir)
        logging.info("test: %s", ", ".join(f"{k}={v:.4f}" for k, v in sorted(
            test["test"].items()) if "/" not in k))
        return
    rows = common.table_rows() or default_rows(config)
    run_table(config, workdir, rows)
    logging.info("wrote %s", os.path.join(workdir, RESULTS_MD))


if __name__ == "__main__":
    app.run(main)
