"""2Att-2Mt Task: two stages through the trainer (freeze, init_from best + BN), baselines, data."""

import json
import os

import jax
import numpy as np
import pytest

from affectjax.data.faces import sources as face_sources
from affectjax.data.faces import write_affectnet_fixture, write_fer2013_fixture
from affectjax.tasks import two_att_two_mt as task_lib
from affectjax.train import load_results, run, sharding
from affectjax.train.checkpoint import load_model
from affectjax.train.evaluation import device_part
from affectjax.train.loop import peek
from affectjax.train.task import DataContext
from experiments import two_att_two_mt as launcher
from experiments.configs import two_att_two_mt as config_lib


def _config(arg: str, **overrides):
    """The tiny config shrunk further: compile time dominates on CPU, so few shapes and steps."""
    c = config_lib.get_config(arg)
    small = {"data.image_size": 32, "data.batch_size": 8, "eval.batch_size": 16,
             "data.synth.num_train": 64, "data.synth.num_dev": 16, "data.synth.num_test": 16,
             "data.synth.num_shifted": 8, "train.total_steps": 4, "train.log_every_steps": 2,
             "train.eval_every_steps": 2, "train.checkpoint_every_steps": 2,
             "train.progress": False, "optim.warmup_epochs": None}
    with c.unlocked():
        for key, value in {**small, **overrides}.items():
            node = c
            *parents, leaf = key.split(".")
            for p in parents:
                node = node[p]
            node[leaf] = value
    return c


def _flat(tree, prefix=""):
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}/"))
        else:
            out[prefix + k] = np.asarray(v)
    return out


def _init_variables(task, config):
    """What the trainer's init produced: same function, rng, batch shapes and mesh.

    ``task.init`` is memoised per architecture, so this jit reuses the trainer's compiled
    program instead of compiling the ResNet initialisers again.
    """
    mesh = sharding.make_mesh(config)
    ctx = DataContext(seed=config.seed, process_index=0, process_count=1, num_devices=mesh.size)
    iterators = {k: iter(v) for k, v in task.train_data(ctx).streams.items()}
    first = peek(iterators)
    example = sharding.put_local_batch({k: device_part(b) for k, b in first.items()}, mesh)
    init_rng, _ = jax.random.split(jax.random.PRNGKey(config.seed))
    return jax.device_get(jax.jit(task.init)(init_rng, example))


@pytest.fixture(scope="module")
def two_stages(tmp_path_factory):
    """Stage 1 (4 steps), stage 2 at step 0 (what init_from loads), then stage 2 resumed."""
    root = tmp_path_factory.mktemp("two_att_two_mt")
    w1, w2 = str(root / "categorical"), str(root / "dimensional")
    # A metric that never changes makes the first evaluation (step 2) the best for good, so
    # best (step 2) and last (step 4) differ and stage 2 must pick best.
    c1 = _config("stage=categorical,size=tiny",
                 **{"early_stop.metric": "dev/const_v_rmse", "early_stop.mode": "min"})
    task1 = task_lib.build(c1)
    r1 = run(task1, c1, w1)
    init = _init_variables(task1, c1)
    c2 = _config("stage=dimensional,size=tiny",
                 **{"init_from.path": w1, "train.total_steps": 0})
    run(task_lib.build(c2), c2, w2)
    loaded, loaded_step = load_model(w2, "last")
    c2_more = _config("stage=dimensional,size=tiny", **{"init_from.path": w1})
    r2 = run(task_lib.build(c2_more), c2_more, w2)  # resumes its own step-0 checkpoint
    return dict(w1=w1, w2=w2, r1=r1, r2=r2, init=init, loaded=loaded, loaded_step=loaded_step,
                c1=c1, c2=c2_more)


def test_stage1_freeze_leaves_va_head_bit_identical(two_stages):
    init = _flat(two_stages["init"]["params"])
    for which in ("best", "last"):
        model, _ = load_model(two_stages["w1"], which)
        trained = _flat(model["params"])
        va = [k for k in trained if k.startswith("va_head/")]
        assert len(va) == 4
        for k in va:
            np.testing.assert_array_equal(trained[k], init[k], err_msg=k)
    # Not vacuous: the rest of the model did train.
    assert not np.array_equal(trained["cls_head/out/kernel"], init["cls_head/out/kernel"])
    assert not np.array_equal(trained["backbone/stem/conv/kernel"],
                              init["backbone/stem/conv/kernel"])


def test_stage2_starts_from_stage1_best_params_and_bn_statistics(two_stages):
    best, best_step = load_model(two_stages["w1"], "best")
    last, last_step = load_model(two_stages["w1"], "last")
    assert (best_step, last_step) == (2, 4)
    loaded = two_stages["loaded"]
    assert two_stages["loaded_step"] == 0
    assert set(loaded) == {"params", "batch_stats"}
    got, want, other = _flat(loaded), _flat(best), _flat(last)
    assert got.keys() == want.keys()
    for k in got:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    # Best is not last, and the BN statistics are stage 1's, not a fresh init (mean 0, var 1).
    assert any(not np.array_equal(want[k], other[k]) for k in want)
    init = _flat({"batch_stats": two_stages["init"]["batch_stats"]})
    bn = [k for k in got if k.startswith("batch_stats/")]
    assert any(not np.array_equal(got[k], init[k]) for k in bn)


def test_end_to_end_outputs_and_metrics(two_stages):
    w1, w2 = two_stages["w1"], two_stages["w2"]
    for w in (w1, w2):
        for name in ("config.json", "metrics.jsonl", "results.json", "test.json"):
            assert os.path.exists(os.path.join(w, name)), (w, name)
        assert os.listdir(os.path.join(w, "checkpoints"))
    assert two_stages["r2"].step == 4
    f1, f2 = two_stages["r1"].metrics, two_stages["r2"].metrics
    for key in ("test/accuracy", "test/macro_f1", "shifted/accuracy", "test/classmean_mean_ccc",
                "test/const_v_rmse", "test/oracle_a_ccc", "test/majority_accuracy"):
        assert np.isfinite(f1[key]), key
    for key in ("v_ccc", "v_pcc", "v_rmse", "v_sagr", "a_ccc", "a_pcc", "a_rmse", "a_sagr",
                "mean_ccc"):
        assert f"test/{key}" in f2 and f"shifted/{key}" in f2
    assert "test/classmean_mean_ccc" not in f2  # the class-mean baseline is stage 1's
    assert "test/v_ccc" not in f1  # stage 1's V/A head is frozen at init: not evaluated
    assert f2["test/const_v_ccc"] == 0.0
    # Stage 2 trained the V/A head (stage 1 had frozen it).
    stage2, _ = load_model(w2, "last")
    stage1, _ = load_model(w1, "best")
    assert not np.array_equal(stage2["params"]["va_head"]["out"]["kernel"],
                              stage1["params"]["va_head"]["out"]["kernel"])
    lines = [json.loads(x) for x in open(os.path.join(w2, "metrics.jsonl"))]
    assert [r["step"] for r in lines if "dev/mean_ccc" in r] == [2, 4]
    assert "train/loss_v" in lines[0] and "train/loss_ce" in lines[0]
    test_json = json.load(open(os.path.join(w2, "test.json")))
    assert test_json["stage"] == "dimensional" and "mean_ccc" in test_json["metrics"]["test"]


def test_launcher_table_from_the_runs(two_stages, tmp_path):
    """The results table renders the runs' numbers, baselines first, and report() finds it."""
    r1, r2 = load_results(two_stages["w1"])["final"], load_results(two_stages["w2"])["final"]
    summary = {"data": "synthetic_faces", "protocol": "p", "classes": ["a"], "seeds": [0],
               "command": "cmd", "commit": "c", "hardware": "h",
               "rows": {"full": {"description": "2Att-2Mt", "two_stage": True,
                                 "final_stage": "dimensional", "dims": ["v", "a"],
                                 "categorical": True, "final": [r2], "stage1": [r1],
                                 "rundirs": ["x"]}}}
    text = launcher.render(summary)
    assert "## test" in text and "## shifted" in text
    assert f"{r2['test/mean_ccc']:.3f} (1 seed)" in text
    assert f"{r1['test/classmean_mean_ccc']:.3f} (1 seed)" in text
    assert text.index("constant: training mean") < text.index("2Att-2Mt (both stages)")
    (tmp_path / "synthetic").mkdir()
    (tmp_path / "synthetic" / "summary.json").write_text(json.dumps(summary))
    rendered = launcher.report(str(tmp_path))
    # The section marker is relative to the runs root, as experiments.report --merge keys it.
    assert "## test" in rendered and rendered.startswith("<!-- synthetic/summary.json -->\n")


def test_baselines_match_hand_computation():
    # Training labels: class 0 at (0.6, 0.0), (0.2, 0.2) -> mean (0.4, 0.1); class 1 at
    # (-0.4, 0.6), (-0.4, 0.2) -> (-0.4, 0.4); an unannotated class-0 row (NaN) is ignored.
    # Overall mean (0.0, 0.25); majority class 0 (3 rows vs 2).
    labels = np.array([0, 0, 1, 1, 0])
    va = np.array([[0.6, 0.0], [0.2, 0.2], [-0.4, 0.6], [-0.4, 0.2], [np.nan, np.nan]])
    base = task_lib.Baselines.from_training(labels, va, num_classes=3)
    np.testing.assert_allclose(base.mean_va, [0.0, 0.25])
    # Class 2 has no training rows: it falls back to the overall mean.
    np.testing.assert_allclose(base.class_va, [[0.4, 0.1], [-0.4, 0.4], [0.0, 0.25]])
    assert base.majority == 0
    ev = task_lib.make_evaluators(3, base, stage="categorical")
    # Eval set: true classes [0, 1] at (0.5, 0.0), (-0.3, 0.5); the classifier says [1, 1].
    batch = {"label": np.array([0, 1]), "va": np.array([[0.5, 0.0], [-0.3, 0.5]], np.float32),
             "va_mask": np.ones(2, np.float32)}
    pred = {"logits": np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 1.0]]),
            "va": np.array([[0.5, 0.0], [-0.3, 0.5]])}
    out = ev["baselines"](pred, batch)
    hand = {
        # Constant (0, 0.25): V errors -0.5, 0.3; A errors 0.25, -0.25.
        "const_v_rmse": np.sqrt((0.25 + 0.09) / 2), "const_v_ccc": 0.0, "const_v_sagr": 0.0,
        "const_a_rmse": 0.25, "const_a_ccc": 0.0, "const_a_sagr": 0.5,
        # Oracle (0.4, 0.1), (-0.4, 0.4): V var 0.16 each, cov 0.16, mean gap 0.1 ->
        # 0.32 / 0.33; A vars 0.0625, 0.0225, cov 0.0375 -> 0.075 / 0.085.
        "oracle_v_rmse": 0.1, "oracle_a_rmse": 0.1, "oracle_v_ccc": 0.32 / 0.33,
        "oracle_a_ccc": 0.075 / 0.085, "oracle_v_pcc": 1.0, "oracle_a_pcc": 1.0,
        "oracle_mean_ccc": 0.5 * (0.32 / 0.33 + 0.075 / 0.085),
        # Predicted class 1 for both -> constant (-0.4, 0.4): V errors -0.9, -0.1.
        "classmean_v_rmse": np.sqrt((0.81 + 0.01) / 2), "classmean_v_ccc": 0.0,
        "classmean_a_rmse": np.sqrt((0.16 + 0.01) / 2), "classmean_mean_ccc": 0.0,
        # Majority class 0: right once; F1 over 3 classes = (2/3 + 0 + 0) / 3.
        "majority_accuracy": 0.5, "majority_macro_f1": 2 / 9,
    }
    for key, value in hand.items():
        assert out[key] == pytest.approx(value, abs=1e-6), key
    assert "classmean_v_ccc" not in task_lib.make_evaluators(
        3, base, stage="dimensional")["baselines"](pred, batch)
    assert "va" not in ev  # stage 1's V/A head is frozen at init: no V/A metrics
    # A perfect V/A prediction.
    va_out = task_lib.make_evaluators(3, base, stage="dimensional")["va"](pred, batch)
    assert va_out["v_ccc"] == pytest.approx(1.0) and va_out["a_rmse"] == 0.0
    assert ev["classification"](pred, batch) == {"accuracy": 0.5,
                                                  "macro_f1": pytest.approx(2 / 9)}


def test_config_rules():
    with pytest.raises(ValueError, match="one-stage row"):
        config_lib.get_config("stage=categorical,ablation=joint_va")
    single = config_lib.get_config("ablation=single_task_v")
    assert single.stage == "dimensional" and single.one_stage
    assert (single.loss.ce_weight, single.loss.v_weight, single.loss.a_weight) == (0, 1, 0)
    assert single.early_stop.metric == "dev/v_ccc" and single.train.total_steps == 300
    c1 = config_lib.get_config("stage=categorical,size=default")
    assert c1.freeze == ("va_head/.*",) and c1.early_stop.metric == "dev/macro_f1"
    assert (c1.optim.lr, c1.data.augment, c1.train.total_epochs) == (1e-3, True, 12.0)
    c2 = config_lib.get_config("stage=dimensional,ablation=gap,size=default")
    assert c2.model.position_attention == "gap" and c2.optim.lr_mults == (("backbone/.*", 0.1),)
    assert c2.init_from.checkpoint == "best" and c2.early_stop.metric == "dev/mean_ccc"
    assert (c2.loss.ce_weight, c2.loss.v_weight, c2.loss.a_weight, c2.optim.lr) == (
        0.5, 1.0, 1.0, 3e-4)
    # The tiny CPU recipe departs from §5 on purpose (see the config's _tiny_recipe).
    tiny = config_lib.get_config("stage=dimensional,size=tiny")
    assert (tiny.optim.lr, tiny.optim.lr_mults, tiny.data.augment) == (3e-3, (), False)
    assert tiny.train.total_steps == 150 and tiny.data.synth.expression_strength == 3.0
    # tiny_steps sets the per-stage budget; one-stage rows get both stages' steps.
    assert config_lib.get_config("size=tiny,tiny_steps=250").train.total_steps == 250
    assert config_lib.get_config("size=tiny,tiny_steps=250,ablation=no_stage1"
                                 ).train.total_steps == 500
    with pytest.raises(ValueError, match="tiny_steps=5 applies to size=tiny"):
        config_lib.get_config("size=default,tiny_steps=5")
    with pytest.raises(ValueError, match="init_from.path"):
        task_lib.build(_config("stage=dimensional,size=tiny"))


def test_fer2013_and_affectnet_layouts(tmp_path):
    fer = write_fer2013_fixture(tmp_path / "fer", n=80, seed=0)
    c = _config("stage=categorical,size=tiny,data=fer2013,root=" + fer["root"],
                **{"data.fer2013.split": "train"})
    data = face_sources.face_data(c)
    assert data.classes[-1] == "anger" and len(data.classes) == 7 and not data.has_va
    n = sum(fer["counts"]["Training"].values())
    assert len(data.train) + sum(len(s) for s in data.eval_sets.values()) == n
    assert data.train[0]["image"].shape == (32, 32, 3)
    with pytest.raises(ValueError, match="no valence/arousal"):
        task_lib.build(_config("stage=dimensional,size=tiny,data=fer2013,root=" + fer["root"],
                               **{"data.fer2013.split": "train", "init_from.path": "x"}))

    paths = write_affectnet_fixture(tmp_path / "affectnet", n=40, seed=0)
    c = _config("stage=categorical,size=tiny,data=affectnet,root=" + paths["root"],
                **{"data.affectnet.dev_per_mille": 300})
    data = face_sources.face_data(c)
    # Every 7th row is expression 8-10 with V/A = -2: filtered, never a V/A label.
    kept = 40 - len(range(3, 40, 7))
    assert len(data.train) + len(data.eval_sets["dev"]) <= kept
    assert len(data.eval_sets["test"]) == 10 - len(range(3, 10, 7))
    assert data.has_va and np.isfinite(data.train_va).all()
    item = data.eval_sets["test"][0]
    assert item["image"].shape == (32, 32, 3) and item["va_mask"] == 1.0
