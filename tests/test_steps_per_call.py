"""train.steps_per_call: several steps per device call train exactly as one step per call."""

from __future__ import annotations

import numpy as np
import pytest

from affectjax import tasks
from affectjax.train import run
from affectjax.train.loop import call_sizes
from affectjax.train.schedule import Schedule
from tests.trainer_utils import assert_trees_close, metric_series, toy_config_tiny


def test_calls_end_on_every_log_eval_and_checkpoint_step():
    schedule = Schedule(total_steps=10, eval_every=6, checkpoint_every=None, log_every=4)
    assert list(call_sizes(schedule, 0, 10, 5)) == [4, 2, 2, 2]  # ends 4, 6, 8, 10
    assert list(call_sizes(schedule, 0, 10, 1)) == [1] * 10
    assert list(call_sizes(schedule, 6, 10, 8)) == [2, 2]  # resumed at a checkpoint step
    quiet = Schedule(total_steps=10, eval_every=None, checkpoint_every=None, log_every=50)
    assert list(call_sizes(quiet, 0, 10, 4)) == [4, 4, 2]
    assert list(call_sizes(quiet, 0, 0, 4)) == []


@pytest.mark.parametrize("per_call,prefetch", [(4, 0), (3, 2)])
def test_same_training_as_one_step_per_call(tmp_path, per_call, prefetch):
    # Toy tiny: 20 steps on four fake devices, log every 5, eval and checkpoint every 10.
    one = run(tasks.build(toy_config_tiny()), toy_config_tiny(), str(tmp_path / "one"))
    config = toy_config_tiny(**{"train.steps_per_call": per_call,
                                "train.prefetch_batches": prefetch})
    many = run(tasks.build(config), config, str(tmp_path / "many"))
    assert many.step == one.step == 20
    for key in ("train/loss", "train/accuracy", "valid/accuracy"):
        np.testing.assert_allclose(metric_series(tmp_path / "many", key),
                                   metric_series(tmp_path / "one", key), rtol=1e-5)
    assert_trees_close(many.state.params, one.state.params)
    assert_trees_close(many.state.variables, one.state.variables)
    assert sorted(p.name for p in (tmp_path / "many" / "checkpoints").iterdir()) == ["10", "20"]


def test_a_resumed_multi_step_run_continues_where_it_stopped(tmp_path):
    straight = toy_config_tiny(**{"train.steps_per_call": 4})
    whole = run(tasks.build(straight), straight, str(tmp_path / "whole"))
    half = toy_config_tiny(**{"train.steps_per_call": 4, "train.total_steps": 10})
    run(tasks.build(half), half, str(tmp_path / "resumed"))
    resumed = run(tasks.build(straight), straight, str(tmp_path / "resumed"))
    assert resumed.step == 20
    assert_trees_close(resumed.state.params, whole.state.params)


def test_zero_steps_per_call_is_rejected(tmp_path):
    config = toy_config_tiny(**{"train.steps_per_call": 0})
    with pytest.raises(ValueError, match="steps_per_call=0"):
        run(tasks.build(config), config, str(tmp_path))
