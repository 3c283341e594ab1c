"""experiments.benchmark: one row per device count with train and eval throughput."""

import math

from experiments import benchmark
from experiments.configs import toy


def test_rows_report_train_and_eval_throughput_on_1_and_2_devices():
    config = toy.get_config()
    rows = [benchmark.time_config(config, n, steps=3, warmup=1, data_batches=2, eval_batches=2)
            for n in (1, 2)]
    assert [r["devices"] for r in rows] == [1, 2]
    for r in rows:
        for key in ("compile_s", "steps_per_s", "examples_per_s", "data_batches_per_s",
                    "eval_compile_s", "eval_rows_per_s", "peak_memory_mb"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r)
        assert r["global_batch"] == config.data.batch_size
        assert r["eval_set"] and r["eval_batch"] > 0


def test_eval_timing_can_be_switched_off():
    row = benchmark.time_config(toy.get_config(), 1, steps=1, warmup=0, data_batches=1,
                                eval_batches=0)
    assert "eval_rows_per_s" not in row and row["steps_per_s"] > 0


def test_training_loop_reports_its_data_wait_with_and_without_prefetch(tmp_path):
    rows = [benchmark.time_loop(toy.get_config(), 1, steps=6, prefetch=p,
                                workdir=str(tmp_path / str(p))) for p in (0, 2)]
    assert [r["prefetch"] for r in rows] == [0, 2]
    for r in rows:
        assert r["steps"] == 6 and r["loop_steps_per_s"] > 0 and 0 <= r["data_wait_frac"] < 1


def test_training_loop_with_several_steps_per_call(tmp_path):
    row = benchmark.time_loop(toy.get_config(), 1, steps=8, prefetch=0, workdir=str(tmp_path),
                              steps_per_call=4)
    assert row["steps_per_call"] == 4 and row["steps"] == 8 and row["loop_steps_per_s"] > 0
