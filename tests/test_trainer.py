"""The shared trainer on the toy Task: sharding, init_from/freeze, guards, early stopping."""

from __future__ import annotations

import dataclasses
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affectjax import tasks
from affectjax.train import NonFiniteError, load_results, run
from affectjax.train.checkpoint import load_model
from affectjax.train.run_clock import RunClock
from tests.trainer_utils import (
    assert_trees_close,
    assert_trees_equal,
    metric_series,
    toy_config_tiny,
)


def train(config, workdir, task=None):
    return run(task or tasks.build(config), config, str(workdir))


def test_one_device_and_four_devices_agree(tmp_path):
    assert jax.device_count() == 4, "conftest should give four fake CPU devices"
    one = train(toy_config_tiny(**{"mesh.num_devices": 1}), tmp_path / "one")
    four = train(toy_config_tiny(), tmp_path / "four")
    losses_one = metric_series(tmp_path / "one", "train/loss")
    losses_four = metric_series(tmp_path / "four", "train/loss")
    assert len(losses_one) == 4
    np.testing.assert_allclose(losses_one, losses_four, rtol=1e-5)
    assert_trees_close(one.state.params, four.state.params)
    assert_trees_close(one.state.variables, four.state.variables)
    # The batch really was split: a parameter-sized array is replicated, the step's data is not.
    assert four.state.params["head"]["kernel"].sharding.mesh.size == 4


def test_batch_must_divide_by_devices(tmp_path):
    with pytest.raises(ValueError, match="global batch size 6 is not divisible by the 4 devices"):
        train(toy_config_tiny(**{"data.batch_size": 6}), tmp_path)


def test_epochs_become_steps(tmp_path):
    config = toy_config_tiny(**{"train.total_steps": None, "train.total_epochs": 1.0,
                                "train.eval_every_steps": None, "train.eval_every_epochs": 0.5})
    result = train(config, tmp_path)
    assert result.step == 256 // 16
    assert [r for r in metric_series(tmp_path, "valid/accuracy")], "eval every half epoch"
    assert len(metric_series(tmp_path, "valid/accuracy")) == 2


def test_outputs_written(tmp_path):
    train(toy_config_tiny(), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["task"] == "toy"
    results = load_results(tmp_path)
    assert results["step"] == 20 and 0 <= results["final"]["valid/accuracy"] <= 1
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    assert {"train/loss", "train/grad_norm", "train/accuracy", "time/steps_per_sec",
            "time/data_wait_frac"} <= set(records[1])
    assert "valid/uar" in records[1]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["10", "20"]


def test_init_from_dont_load_and_freeze(tmp_path):
    source = train(toy_config_tiny(), tmp_path / "source")
    # Zero steps: what init_from loads, before any update.
    loaded = train(toy_config_tiny(**{"train.total_steps": 0,
                                      "init_from.path": str(tmp_path / "source"),
                                      "init_from.checkpoint": "last",
                                      "init_from.dont_load": ["head/.*"]}), tmp_path / "loaded")
    assert_trees_equal(loaded.state.params["dense_1"], source.state.params["dense_1"])
    assert_trees_equal(loaded.state.variables["batch_stats"], source.state.variables["batch_stats"])
    assert not np.array_equal(loaded.state.params["head"]["kernel"],
                              source.state.params["head"]["kernel"])

    tuned = train(toy_config_tiny(**{"init_from.path": str(tmp_path / "source"),
                                     "init_from.checkpoint": "last",
                                     "freeze": ["dense_0/.*"], "optim.weight_decay": 0.1}),
                  tmp_path / "tuned")
    assert_trees_equal(tuned.state.params["dense_0"], source.state.params["dense_0"])
    assert not np.array_equal(tuned.state.params["dense_1"]["kernel"],
                              source.state.params["dense_1"]["kernel"])


def test_init_from_shape_mismatch_is_an_error(tmp_path):
    train(toy_config_tiny(**{"train.total_steps": 2}), tmp_path / "source")
    wider = {"model.hidden": 32, "init_from.path": str(tmp_path / "source"),
             "train.total_steps": 2}
    with pytest.raises(ValueError, match=r"dense_0/kernel: checkpoint has \(16, 16\)"):
        train(toy_config_tiny(**wider), tmp_path / "wider")
    # Listing every mismatching variable in dont_load makes the same load legal.
    ok = train(toy_config_tiny(**wider, **{"init_from.dont_load": [".*"]}), tmp_path / "ok")
    assert ok.step == 2


def test_metadata_mismatch_is_an_error(tmp_path):
    train(toy_config_tiny(**{"train.total_steps": 2}), tmp_path / "source")
    config = toy_config_tiny(**{"init_from.path": str(tmp_path / "source")})
    task = dataclasses.replace(tasks.build(config), metadata={"num_classes": 5, "dim": 16})
    with pytest.raises(ValueError, match="metadata 'num_classes' differs"):
        train(config, tmp_path / "target", task)


def test_freeze_regex_that_matches_nothing_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="freeze: regex 'encoder/.*' matches no parameter"):
        train(toy_config_tiny(**{"freeze": ["encoder/.*"]}), tmp_path)


def _poisoned(task, from_step: int):
    """The toy task whose loss turns NaN at ``from_step``."""

    def loss(params, variables, batch, rng, step):
        value, aux = task.loss(params, variables, batch, rng, step)
        return jnp.where(step >= from_step, jnp.nan, value), aux

    return dataclasses.replace(task, loss=loss)


def test_nonfinite_loss_stops_with_last_good_checkpoint(tmp_path):
    config = toy_config_tiny()
    task = tasks.build(config)
    with pytest.raises(NonFiniteError, match=r"at step 12;.*checkpoints/10") as err:
        train(config, tmp_path, _poisoned(task, 12))
    assert err.value.step == 12 and err.value.checkpoint.endswith("checkpoints/10")
    model, step = load_model(tmp_path)
    assert step == 10
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(model))
    # The same workdir resumes from that checkpoint with a healthy task and finishes.
    resumed = train(config, tmp_path, task)
    assert resumed.step == 20
    assert [r for r in metric_series(tmp_path, "train/loss")] == metric_series(
        tmp_path, "train/loss")[:4]


def scripted_eval_task(config):
    """The toy Task with an extra metric ``scripted`` = 0, 1, 2, ... per evaluation.

    Under mode 'min' the first evaluation is the best and every later one a non-improvement,
    whatever the data order.
    """
    base = tasks.build(config)
    (name, evaluator), = base.evaluators.items()
    calls = []

    def scripted(predictions, batch):
        calls.append(None)
        return {**evaluator(predictions, batch), "scripted": float(len(calls) - 1)}

    return dataclasses.replace(base, evaluators={name: scripted})


EARLY = {"train.eval_every_steps": 2, "train.total_steps": 40,
         "early_stop.metric": "valid/scripted", "early_stop.mode": "min",
         "early_stop.patience": 3}


def test_early_stopping_restores_best(tmp_path):
    config = toy_config_tiny(**EARLY)
    result = train(config, tmp_path, scripted_eval_task(config))
    results = load_results(tmp_path)
    assert results["early_stop"]["best_step"] == 2
    assert result.step == 8, "stops after three evaluations without improvement"
    first_eval = metric_series(tmp_path, "valid/accuracy")[0]
    assert result.metrics["valid/accuracy"] == pytest.approx(first_eval), "best restored"


def test_early_stopping_waits_for_min_evals(tmp_path):
    # Without min_evals this run stops at step 8 (see above); with it, not before the 6th eval.
    config = toy_config_tiny(**EARLY, **{"early_stop.min_evals": 6})
    result = train(config, tmp_path, scripted_eval_task(config))
    assert result.step == 12, "no stop before six evaluations"
    early = load_results(tmp_path)["early_stop"]
    assert early["best_step"] == 2 and early["evals"] == 6, early
    first_eval = metric_series(tmp_path, "valid/accuracy")[0]
    assert result.metrics["valid/accuracy"] == pytest.approx(first_eval), "best restored"


def test_min_evals_counts_evaluations_before_a_resume(tmp_path):
    # Interrupted after 5 evaluations (checkpoint at step 10): the resumed run stops at its
    # first evaluation, as the uninterrupted one does, instead of counting six afresh.
    config = toy_config_tiny(**{**EARLY, "train.total_steps": 10, "early_stop.min_evals": 6})
    assert train(config, tmp_path, scripted_eval_task(config)).step == 10
    config = toy_config_tiny(**EARLY, **{"early_stop.min_evals": 6})
    assert train(config, tmp_path, scripted_eval_task(config)).step == 12
    assert load_results(tmp_path)["early_stop"]["evals"] == 6


def test_data_wait_fraction_reflects_a_slow_pipeline(tmp_path):
    train(toy_config_tiny(**{"data.read_delay_s": 0.004, "train.total_steps": 10}), tmp_path)
    wait = metric_series(tmp_path, "time/data_wait_frac")
    assert wait[-1] > 0.8, wait


def test_resuming_an_early_stopped_run_trains_no_further(tmp_path):
    # A run that stopped early but died before results.json: rerunning only finishes it.
    config = toy_config_tiny(**EARLY)
    first = train(config, tmp_path, scripted_eval_task(config))
    assert first.step == 8, "the run stopped early"
    records = (tmp_path / "metrics.jsonl").read_text()
    (tmp_path / "results.json").unlink()
    again = train(config, tmp_path, scripted_eval_task(config))
    assert again.step == first.step
    assert (tmp_path / "metrics.jsonl").read_text() == records, "no extra train record"
    assert_trees_equal(again.state.params, first.state.params)


def test_zero_epochs_train_zero_steps(tmp_path):
    config = toy_config_tiny(**{"train.total_steps": None, "train.total_epochs": 0.0})
    result = train(config, tmp_path)
    assert result.step == 0
    assert "valid/accuracy" in load_results(tmp_path)["final"], "the initial model is evaluated"


def test_eval_batches_with_different_widths_are_a_clear_error(tmp_path):
    base = tasks.build(toy_config_tiny())

    def ragged_eval_data(ctx):
        (batch,) = list(base.eval_data(ctx)["valid"])[:1]
        narrow = {k: (v[:, :-1] if np.ndim(v) == 2 else v) for k, v in batch.items()}
        return {"valid": [batch, narrow]}

    def predict(params, variables, batch):
        return {"width": jnp.zeros(batch["x"].shape)}

    task = dataclasses.replace(base, eval_data=ragged_eval_data, predict=predict,
                               evaluators={})
    with pytest.raises(ValueError, match="eval batches must agree on every dimension"):
        train(toy_config_tiny(**{"train.total_steps": 2}), tmp_path, task)


def test_a_resumed_run_reports_the_time_of_every_invocation(tmp_path):
    train(toy_config_tiny(**{"train.total_steps": 10, "data.read_delay_s": 0.01}), tmp_path)
    before = load_results(tmp_path)
    assert before["earlier_elapsed_s"] == 0 and before["elapsed_complete"]
    assert before["elapsed_s"] >= 10 * 0.01  # at least the pipeline's delays
    train(toy_config_tiny(**{"train.total_steps": 20}), tmp_path)  # resumes at step 10
    after = load_results(tmp_path)
    # The earlier part is the first invocation's time up to its last checkpoint (its end).
    assert 10 * 0.01 <= after["earlier_elapsed_s"] <= before["elapsed_s"]
    assert after["elapsed_s"] > after["earlier_elapsed_s"] and after["elapsed_complete"]


def test_a_resume_from_a_checkpoint_without_a_time_record_is_marked_incomplete():
    clock = RunClock(time.monotonic())
    clock.resume_from({"early_stop": {}})  # written before checkpoints carried the time
    assert clock.earlier_s == 0 and clock.state_dict()["elapsed_complete"] is False
    clock.resume_from({"elapsed_s": 5.0, "elapsed_complete": False})  # and resumed again
    assert clock.result()["earlier_elapsed_s"] == 5.0 and not clock.complete
    clock.resume_from({"elapsed_s": 5.0, "elapsed_complete": True})
    assert clock.complete and clock.elapsed_s() >= 5.0
