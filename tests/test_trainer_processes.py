"""The trainer across processes: kill -9 and resume; 2 processes x 2 devices (jax.distributed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from affectjax.train.checkpoint import load_model
from tests.conftest import REPO
from tests.trainer_utils import (
    assert_trees_close,
    assert_trees_equal,
    metric_series,
    metrics_without_timing,
)

TOY = "experiments/configs/toy.py:size=tiny"


def toy_command(workdir, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "experiments.toy", f"--config={TOY}", f"--workdir={workdir}",
            "--config.train.progress=False", *overrides]


def environment(devices: int) -> dict[str, str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    return env


def run_to_end(command, devices: int = 1, timeout: float = 240) -> None:
    done = subprocess.run(command, cwd=REPO, env=environment(devices), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path):
    # A slow reader (4 ms per record, 64 ms per step) leaves time to kill between checkpoints.
    overrides = ["--config.train.total_steps=40", "--config.train.checkpoint_every_steps=10",
                 "--config.data.read_delay_s=0.004"]
    run_to_end(toy_command(tmp_path / "straight", *overrides))

    workdir = tmp_path / "killed"
    process = subprocess.Popen(toy_command(workdir, *overrides), cwd=REPO,
                               env=environment(1), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not (workdir / "checkpoints" / "20").is_dir():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, "no checkpoint 20 within 180 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (workdir / "checkpoints" / "40").exists(), "killed too late to test resuming"
    run_to_end(toy_command(workdir, *overrides))

    straight, step_a = load_model(tmp_path / "straight")
    resumed, step_b = load_model(workdir)
    assert step_a == step_b == 40
    assert_trees_equal(straight, resumed)
    assert metrics_without_timing(workdir) == metrics_without_timing(tmp_path / "straight")


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
    run_to_end(toy_command(tmp_path / "single"), devices=4)
    port = free_port()
    workers = [
        subprocess.Popen(
            toy_command(tmp_path / "multi", "--config.distributed.enabled=True",
                        f"--config.distributed.coordinator_address=localhost:{port}",
                        "--config.distributed.num_processes=2",
                        f"--config.distributed.process_id={i}"),
            cwd=REPO, env=environment(2), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        for i in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
    np.testing.assert_allclose(metric_series(tmp_path / "multi", "train/loss"),
                               metric_series(tmp_path / "single", "train/loss"), rtol=1e-5)
    single, _ = load_model(tmp_path / "single")
    multi, _ = load_model(tmp_path / "multi")
    assert_trees_close(single, multi)
