"""Bert4CMR Task: resumable stream, leakage, evaluator, stage carry, end to end (§5, §11)."""

import json
import os
import pathlib

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from jax.experimental.compilation_cache import compilation_cache

from affectjax import metrics, tasks
from affectjax.data.markets import loading as market_loading
from affectjax.data.markets import stream as market_stream
from affectjax.tasks import bert4cmr as task_lib
from affectjax.train import load_results, run
from affectjax.train.checkpoint import load_model
from affectjax.train.task import DataContext
from experiments import bert4cmr as launcher
from experiments.configs import bert4cmr as config_file
from tests.trainer_utils import assert_trees_equal, metrics_without_timing

TARGET = "m3"  # the tiny generator's smallest market


@pytest.fixture(scope="module", autouse=True)
def compile_cache(tmp_path_factory):
    """A persistent compilation cache for this module: every run here compiles the same programs.

    Each ``run`` jits fresh closures, so without it every stage would recompile (the launcher
    enables the same cache). The previous setting is restored afterwards.
    """
    before = jax.config.jax_compilation_cache_dir
    compilation_cache.set_cache_dir(str(tmp_path_factory.mktemp("jax_cache")))
    compilation_cache.reset_cache()
    yield
    jax.config.update("jax_compilation_cache_dir", before)
    compilation_cache.reset_cache()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("markets")


def make_config(cache_dir, **args):
    """The tiny config on an even smaller generator; no dropout (its RNG dominates compile time)."""
    arg = ",".join(f"{k}={v}" for k, v in {"size": "tiny", **args}.items())
    c = config_file.get_config(arg)
    with c.unlocked():
        c.data.cache_dir = str(cache_dir)
        c.data.synth.n_users = (40, 30, 30)
        c.model.dropout_rate = c.model.attention_dropout_rate = 0.0
        c.train.progress = False
        c.train.total_epochs = 2.0
    return c


def configure_for(cache_dir):
    """What ``common.config_variant`` does for the launcher, without command-line flags."""
    return lambda **args: make_config(cache_dir, **args)


# --- training stream ---------------------------------------------------------------------------


def _stream(config, data, *, local=None, batch_size=32):
    build, h = market_stream.make_train_builder(config, data, seed=config.seed)
    return market_stream.TrainStream(build, batch_size=batch_size, seed=config.seed, local=local,
                                widths=market_stream.bucket_widths(config.data.buckets, h),
                                prefetch=False)


def _same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


def test_train_stream_resumes_exactly_and_buckets(cache_dir):
    config = make_config(cache_dir, stage="pretrain")
    with config.unlocked():
        config.data.buckets = (6, 8)
    data = market_loading.load_market_data(config)
    ref = _stream(config, data)
    n = ref.batches_in_epoch(0)
    assert ref.batches_in_epoch(1) == n, "steps per epoch must not change between epochs"
    batches = [next(ref) for _ in range(n + 6)]  # crosses an epoch boundary
    assert {b["hist"].shape[1] for b in batches} == {6, 8, 10}
    for b in batches:
        assert b["hist"].shape[0] == 32 and b["weight"].dtype == np.float32
        # Left-aligned histories fit their bucket; padding rows carry weight 0.
        assert (b["hist_mask"].sum(1) <= b["hist"].shape[1]).all()
        np.testing.assert_array_equal(b["hist_mask"], b["hist"] > 0)
    epoch0 = batches[:n]
    assert sum(b["weight"].sum() for b in epoch0) == len(
        market_stream.make_train_builder(config, data, 0)[0](0).length)
    # Fresh negatives each epoch, same positives: label counts agree, candidates differ.
    e1 = market_stream.make_train_builder(config, data, 0)[0]
    assert not np.array_equal(e1(0).gather(np.arange(50), 10)["cand"],
                              e1(1).gather(np.arange(50), 10)["cand"])

    for k in (3, n, n + 2):  # mid-epoch, exactly at the boundary, in the next epoch
        s = _stream(config, data)
        for _ in range(k):
            next(s)
        state = json.loads(json.dumps(s.get_state()))  # what the checkpoint stores
        resumed = _stream(config, data)
        resumed.set_state(state)
        _same_batches([next(resumed) for _ in range(n + 6 - k)], batches[k:])

    # Two processes' slices concatenate to the global batch.
    halves = [_stream(config, data, local=(lo, lo + 16)) for lo in (0, 16)]
    for b in batches[:5]:
        parts = [next(h) for h in halves]
        for key in b:
            np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), b[key])


# --- leakage -----------------------------------------------------------------------------------


def _positive_in_history(batches) -> np.ndarray:
    out = []
    for b in batches:
        pos = (b["label"] > 0.5) & (b["weight"] > 0)
        out.append((b["hist"] == b["cand"][:, None]).any(1)[pos])
    return np.concatenate(out)


@pytest.mark.parametrize("variant,leak", [("fixed", False), ("faithful", False),
                                          ("faithful", True)])
def test_candidate_in_history_only_with_the_leak_flag(cache_dir, variant, leak):
    config = make_config(cache_dir, stage="pretrain", variant=variant, leak=leak,
                         protocol="forec")
    data = market_loading.load_market_data(config)
    s = _stream(config, data, batch_size=128)
    leaked = _positive_in_history([next(s) for _ in range(s.batches_in_epoch(0))])
    if leak:
        assert leaked.mean() > 0.5, "the official leak puts most positives into their history"
    else:
        assert not leaked.any()
    widths = market_stream.bucket_widths(config.data.buckets, config.data.max_history)
    for name in ("valid", "test"):
        for b in task_lib.eval_batches(config, data, name, widths, seed=0):
            assert not (b["hist"] == b["cands"][:, :1]).any(), name
            assert b["cands"].shape[1] == 100


def test_leak_flag_is_rejected_outside_faithful(cache_dir):
    with pytest.raises(ValueError, match="leak_target_in_history"):
        tasks.build(make_config(cache_dir, stage="pretrain", leak=True))


# --- evaluator ---------------------------------------------------------------------------------


def test_evaluator_matches_affectjax_metrics():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(7, 12)).astype(np.float32)  # many ties
    scores[0, 0] = 3.0  # positive tied at the top
    market = np.array([1, 1, 1, 2, 2, 2, 2])
    cand_mask = np.ones((7, 12), bool)
    cand_mask[1, 10:] = False  # a short list: its padded candidates must never count
    scores[1, 10:] = 99.0
    has_positive = np.ones(7, bool)
    evaluate = task_lib.ranking_evaluator(("aa", "bb"))
    got = evaluate({"scores": scores}, {"market": market, "cand_mask": cand_mask,
                                        "has_positive": has_positive})

    def expected(rows, metric, k):
        fn = metrics.hr_at_k if metric == "hr" else metrics.ndcg_at_k
        return np.mean([fn(scores[r:r + 1, cand_mask[r]], k, pos_index=0, ties="expected")
                        for r in rows])

    for metric in ("hr", "ndcg"):
        for k in (5, 10):
            a = expected([0, 1, 2], metric, k)
            b = expected([3, 4, 5, 6], metric, k)
            assert got[f"aa/{metric}@{k}"] == pytest.approx(a)
            assert got[f"bb/{metric}@{k}"] == pytest.approx(b)
            assert got[f"{metric}@{k}"] == pytest.approx((a + b) / 2)  # unweighted over markets
    assert got["aa/users"] == 3 and got["bb/users"] == 4
    # Lists without a known positive (a WSDM test run) give no metrics.
    assert evaluate({"scores": scores}, {"market": market, "cand_mask": cand_mask,
                                         "has_positive": ~has_positive}) == {}


# --- MF baselines' recipe (§8) -----------------------------------------------------------------


def test_pretrain_epochs_caps_only_the_pretraining_stage():
    """``:pretrain_epochs`` is a CPU budget for pretraining; fine-tuning keeps §5's 50."""
    arg = "size=default,pretrain_epochs=10"
    assert config_file.get_config(arg + ",stage=pretrain").train.total_epochs == 10.0
    assert config_file.get_config(arg + ",stage=finetune").train.total_epochs == 50.0
    assert config_file.get_config("size=default,stage=pretrain").train.total_epochs == 50.0


def test_embedding_init_is_small_except_for_the_faithful_variant(cache_dir):
    """N(0, 0.02²) tables for fixed and cloze, the official N(0, 1) for faithful (config docs).

    From N(0, 1) the fixed model's 10-epoch pretraining left the generator's 200-user target at
    chance (pretrain-only test NDCG@10 0.061); from 0.02 it reached 0.258.
    """
    for variant, std in (("fixed", 0.02), ("cloze", 0.02), ("faithful", 1.0)):
        c = config_file.get_config(f"size=default,variant={variant},stage=pretrain")
        assert c.model.embedding_stddev == std, variant
    config = make_config(cache_dir, stage="pretrain")
    task = tasks.build(config)
    ctx = DataContext(seed=0, process_index=0, process_count=1, num_devices=1)
    batch = next(iter(task.train_data(ctx).streams["train"]))
    params = task.init(jax.random.PRNGKey(0), {"train": batch})["params"]
    assert 0.015 < float(np.std(params["embed"]["item"]["embedding"][1:])) < 0.025


def test_mf_rows_have_their_own_recipe(cache_dir):
    """NCF's small init and batch, and no early stop before FOREC's 25 epochs (config docstring).

    From FOREC's N(0, 1) init, GMF stayed at chance on XMarket (valid NDCG@10 ≈ 0.05) until
    early stopping ended it; Bert4CMR rows keep the §5 recipe.
    """
    for stage, batch in (("finetune", 256), ("pretrain", 1024)):
        for model in ("gmf", "nmf", "mlp"):
            c = config_file.get_config(f"size=default,model={model},stage={stage}")
            assert (c.batch_size, c.early_stop.min_evals, c.model.mf_init_std) == (
                batch, 25, 0.01), (model, stage)
            assert c.optim.lr == 1e-3 and c.early_stop.patience == 3
    bert = config_file.get_config("size=default,stage=finetune")
    assert (bert.batch_size, bert.early_stop.min_evals) == (1024, 0)
    assert config_file.get_config("size=tiny,model=gmf,stage=finetune").batch_size == 128

    # The knob reaches the model's embedding tables.
    config = make_config(cache_dir, model="gmf", stage="finetune", target=TARGET)
    task = tasks.build(config)
    ctx = DataContext(seed=0, process_index=0, process_count=1, num_devices=1)
    batch = next(iter(task.train_data(ctx).streams["train"]))
    params = task.init(jax.random.PRNGKey(0), {"train": batch})["params"]
    assert 0.008 < float(np.std(params["item"]["embedding"])) < 0.012


# --- through the trainer -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def table(tmp_path_factory, cache_dir):
    """The launcher's tiny table: full (pretrain → finetune), pretrain-only, baselines, 1 seed."""
    workdir = tmp_path_factory.mktemp("table")
    base = make_config(cache_dir)
    summary = launcher.run_table(base, str(workdir),
                                 ["full", "pretrain_only"],
                                 configure=configure_for(cache_dir))
    return workdir, summary


def test_end_to_end_tables_outputs_and_resume(table, cache_dir):
    workdir, summary = table
    stages = {s: workdir / TARGET / "seed_0" / "full" / s for s in ("pretrain", "finetune")}
    for d in stages.values():
        names = set(os.listdir(d))
        assert {"config.json", "metrics.jsonl", "results.json", "test.json", "checkpoints",
                "best"} <= names, d
        test = json.loads((d / "test.json").read_text())
        assert set(task_lib.METRIC_NAMES) <= set(test["test"]) and test["wall_s"] > 0
        assert test["test"][f"{TARGET}/users"] == 30
    pre = json.loads((stages["pretrain"] / "config.json").read_text())
    fine = json.loads((stages["finetune"] / "config.json").read_text())
    assert pre["init_from"]["path"] is None
    assert fine["init_from"]["path"] == str(stages["pretrain"])
    assert fine["init_from"]["opt_state"] == "best"
    epochs = [json.loads(line) for line in (stages["finetune"] / "metrics.jsonl").open()]
    assert sum("valid/ndcg@10" in r for r in epochs) == 2  # one evaluation per epoch

    rows = {(r["row"], r["target"]) for r in summary["records"]}
    assert rows == {(r, TARGET) for r in ("full", "pretrain_only", "target_popularity",
                                          "global_popularity", "target_cooccurrence",
                                          "global_cooccurrence", "oracle")}
    md = (workdir / "results.md").read_text()
    for label in ("Bert4CMR (fixed)", "pretrain-only", "Target popularity", "oracle",
                  "Global popularity", "Item co-occurrence (all markets)", "NDCG@10", "HR@5",
                  "commit",
                  "Whole table, training wall time per seed"):
        assert label in md
    assert launcher.report(str(workdir)).count("## NDCG@10") == 1

    # A second invocation finds every stage complete and runs nothing.
    stamps = {k: (d / "results.json").stat().st_mtime_ns for k, d in stages.items()}
    again = launcher.run_table(make_config(cache_dir), str(workdir),
                               ["full", "pretrain_only"],
                               configure=configure_for(cache_dir))
    assert stamps == {k: (d / "results.json").stat().st_mtime_ns for k, d in stages.items()}
    assert again["records"] == summary["records"]


def _adam_counts(opt_state) -> set[int]:
    leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
    return {int(v) for path, v in leaves if "count" in jax.tree_util.keystr(path)}


def _saved_opt_state(workdir: pathlib.Path, which: str, like):
    manager = ocp.CheckpointManager(workdir / ("best" if which == "best" else "checkpoints"))
    step = manager.latest_step()
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
    restored = manager.restore(step, args=ocp.args.Composite(
        opt_state=ocp.args.StandardRestore(abstract)))
    manager.close()
    return restored["opt_state"], step


@pytest.mark.parametrize("opt_state", ["best", "last"])
def test_finetune_starts_from_pretrain_best_params_and_chosen_adam_state(
        table, cache_dir, tmp_path, opt_state):
    pre = table[0] / TARGET / "seed_0" / "full" / "pretrain"
    config = make_config(cache_dir, stage="finetune", target=TARGET)
    with config.unlocked():
        config.init_from.path = str(pre)
        config.init_from.opt_state = opt_state
        config.train.total_epochs = None
        config.train.total_steps = 0  # the state finetuning starts from
    result = run(tasks.build(config), config, str(tmp_path))
    best_model, best_step = load_model(str(pre), "best")
    assert_trees_equal(jax.device_get(result.state.params), best_model["params"])
    saved, step = _saved_opt_state(pre, opt_state, result.state.opt_state)
    assert_trees_equal(jax.device_get(result.state.opt_state), jax.device_get(saved))
    # Adam's step count is that of the chosen checkpoint; the trainer's own step restarts.
    assert _adam_counts(result.state.opt_state) == {step}
    assert step == (best_step if opt_state == "best" else
                    json.loads((pre / "results.json").read_text())["step"])
    assert int(result.state.step) == 0


def test_pretrain_resumes_exactly_through_the_trainer(table, cache_dir, tmp_path):
    """One epoch, then a second invocation to two epochs = the uninterrupted two-epoch run."""
    reference = table[0] / TARGET / "seed_0" / "full" / "pretrain"
    for epochs in (1.0, 2.0):
        config = make_config(cache_dir, stage="pretrain", target=TARGET)
        with config.unlocked():
            config.train.total_epochs = epochs
        run(tasks.build(config), config, str(tmp_path))
    ours, step = load_model(str(tmp_path), "last")
    theirs, ref_step = load_model(str(reference), "last")
    assert step == ref_step
    assert_trees_equal(ours, theirs)

    def evaluations(workdir):  # a stopped run also logs its last train step, so compare evals
        return [{k: v for k, v in r.items() if k.startswith(("step", "valid/", "early_stop/"))}
                for r in metrics_without_timing(workdir) if "valid/ndcg@10" in r]

    assert len(evaluations(tmp_path)) == 2
    assert evaluations(tmp_path) == evaluations(reference)
    # The resumed stage's wall time includes the first invocation's.
    earlier = load_results(str(tmp_path))["earlier_elapsed_s"]
    test = json.loads((tmp_path / "test.json").read_text())
    assert 0 < earlier < test["wall_s"] and test["wall_complete"] is True


def test_target_list_resolves_to_each_market(tmp_path):
    """``target=a+b`` runs those markets (it was read as one unknown market code)."""
    config = make_config(tmp_path, target=f"m2+{TARGET}")
    assert config.data.target == ""
    assert launcher.resolve_targets(config) == ["m2", TARGET]
    assert launcher.resolve_targets(make_config(tmp_path, target=TARGET)) == [TARGET]


@pytest.mark.parametrize("shared", [True, False])
def test_stage_runs_count_each_training_run_once(shared):
    def rec(row, seed, target, **wall):
        return {"row": row, "seed": seed, "target": target, "wall_s": wall}

    records = [rec("full", 0, "a", pretrain=100.0, finetune=10.0),
               rec("full", 0, "b", pretrain=100.0 if shared else 50.0, finetune=20.0),
               rec("pretrain_only", 0, "a", pretrain=100.0),  # derived: full's pretraining
               rec("gmf", 0, "a", finetune=5.0),
               rec("full", 1, "a", pretrain=200.0, finetune=1.0),
               {"row": "target_popularity", "seed": 0, "target": "a"}]
    runs = launcher.stage_runs({"records": records, "shared_pretraining": shared})
    assert launcher.seed_totals(runs) == ({0: 135.0, 1: 201.0} if shared else {0: 185.0, 1: 201.0})
    # The per-stage table's run counts: seed 0's shared pretraining is one run, not two.
    full_pretrains = [k for k in runs if k[1] == "full" and k[2] == "pretrain"]
    assert len(full_pretrains) == (2 if shared else 3)
    assert not any(k[1] in ("pretrain_only", "target_popularity") for k in runs)


def test_wall_time_of_runs_resumed_without_a_time_record_is_called_a_lower_bound():
    record = {"row": "full", "seed": 0, "target": "a", "metrics": {"ndcg@10": 0.3},
              "wall_s": {"pretrain": 100.0, "finetune": 10.0}, "wall_partial": []}
    summary = {"data": "xmarket", "protocol": "forec", "eval_split": "test", "targets": ["a"],
               "seeds": [0], "rows": ["full"], "labels": {"full": "Bert4CMR (fixed)"},
               "records": [record], "provenance": {"command": "c", "commit": "x",
                                                   "hardware": "h"}}
    assert "Lower bounds" not in launcher.render(summary)
    record["wall_partial"] = ["pretrain"]
    assert "invocations' share: seed 0 Bert4CMR (fixed) pretrain." in launcher.render(summary)
