"""Early stopping on one evaluation metric, with reset or cumulative patience."""

from __future__ import annotations

import dataclasses
import math

import ml_collections


@dataclasses.dataclass
class EarlyStopping:
    """Tracks the best value of ``metric``; ``should_stop`` after ``patience`` non-improvements.

    Improvement is strict. ``count='reset'`` restarts the patience counter on improvement;
    ``'cumulative'`` never does (the Bert4CMR official code's rule). ``min_evals``: no stop
    before that many evaluations (a model that sits on a plateau for its first epochs, e.g. a
    recommender at chance level, gets a fair number of them); the best is tracked from the
    first evaluation all the same.
    """

    metric: str | None
    mode: str = "max"
    patience: int = 3
    count: str = "reset"
    min_evals: int = 0
    best_value: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    evals: int = 0

    @classmethod
    def from_config(cls, c: ml_collections.ConfigDict) -> EarlyStopping:
        if c.mode not in ("max", "min"):
            raise ValueError(f"early_stop.mode={c.mode!r}: expected max or min")
        if c.count not in ("reset", "cumulative"):
            raise ValueError(f"early_stop.count={c.count!r}: expected reset or cumulative")
        if c.min_evals < 0:
            raise ValueError(f"early_stop.min_evals={c.min_evals}: expected >= 0")
        return cls(metric=c.metric, mode=c.mode, patience=c.patience, count=c.count,
                   min_evals=c.min_evals)

    @property
    def enabled(self) -> bool:
        return self.metric is not None

    def update(self, step: int, metrics: dict[str, float]) -> bool:
        """Record an evaluation; True when it is the new best."""
        if self.metric not in metrics:
            raise KeyError(f"early_stop.metric={self.metric!r} is not among the evaluation "
                           f"metrics {sorted(metrics)}")
        value = float(metrics[self.metric])
        self.evals += 1
        better = math.isfinite(value) and (
            self.best_value is None
            or (value > self.best_value if self.mode == "max" else value < self.best_value))
        if better:
            self.best_value, self.best_step = value, step
            if self.count == "reset":
                self.bad_evals = 0
        else:
            self.bad_evals += 1
        return better

    @property
    def should_stop(self) -> bool:
        return (self.enabled and self.bad_evals >= self.patience
                and self.evals >= self.min_evals)

    def state_dict(self) -> dict:
        return {"best_value": self.best_value, "best_step": self.best_step,
                "bad_evals": self.bad_evals, "evals": self.evals}

    def load_state_dict(self, state: dict) -> None:
        self.best_value = state.get("best_value")
        self.best_step = state.get("best_step")
        self.bad_evals = state.get("bad_evals", 0)
        self.evals = state.get("evals", 0)
