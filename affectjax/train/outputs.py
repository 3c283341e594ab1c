"""Run outputs: metrics.jsonl, config.json, a progress bar with rate and ETA, and step timing."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import ml_collections
from tqdm.auto import tqdm

METRICS_FILE = "metrics.jsonl"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them visible rather than drop them
    return value


class MetricsWriter:
    """Appends one JSON object per logged step to ``workdir/metrics.jsonl`` (process 0 only)."""

    def __init__(self, workdir: str, enabled: bool):
        self.path = os.path.join(workdir, METRICS_FILE)
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` so a resumed run's file reads like an uninterrupted one."""
        if not (self.enabled and os.path.exists(self.path)):
            return
        with open(self.path) as f:
            kept = [line for line in f if line.strip() and json.loads(line)["step"] <= step]
        with open(self.path, "w") as f:
            f.writelines(kept)

    def write(self, step: int, metrics: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, **{k: _jsonable(v) for k, v in metrics.items()}}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))


class StepTimer:
    """Wall time of the loop split into time blocked on the input pipeline and the rest."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.start = time.perf_counter()
        self.data_s = 0.0
        self.steps = 0

    def data(self):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                timer.data_s += time.perf_counter() - self.t0

        return _Ctx()

    def summary(self, examples_per_step: int) -> dict[str, float]:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        steps = max(self.steps, 1)
        return {
            "time/steps_per_sec": self.steps / elapsed,
            "time/examples_per_sec": self.steps * examples_per_step / elapsed,
            "time/data_wait_frac": self.data_s / elapsed,
            "time/step_ms": 1000 * elapsed / steps,
        }


def progress_bar(total: int, initial: int, enabled: bool):
    return tqdm(total=total, initial=initial, disable=not enabled, unit="step",
                dynamic_ncols=True, smoothing=0.1)
