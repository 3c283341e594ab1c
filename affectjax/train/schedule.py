"""Durations: epochs in the config become steps here, once, from the task's steps per epoch."""

from __future__ import annotations

import dataclasses
import math

import ml_collections


def _steps(steps: int | None, epochs: float | None, steps_per_epoch: int | None, what: str
           ) -> int | None:
    if steps is not None and epochs is not None:
        raise ValueError(f"train.{what}_steps and train.{what}_epochs are both set; keep one")
    if epochs is None:
        return steps
    if not steps_per_epoch:
        raise ValueError(f"train.{what}_epochs needs a task whose TrainData has steps_per_epoch; "
                         f"set train.{what}_steps instead")
    if epochs < 0:
        raise ValueError(f"train.{what}_epochs={epochs}: expected >= 0")
    # A positive fraction of an epoch is at least one step; zero epochs are zero steps.
    return max(1, math.ceil(epochs * steps_per_epoch)) if epochs > 0 else 0


@dataclasses.dataclass(frozen=True)
class Schedule:
    """When the loop trains, evaluates and checkpoints, all in steps."""

    total_steps: int
    eval_every: int | None
    checkpoint_every: int | None
    log_every: int

    @classmethod
    def from_config(cls, train: ml_collections.ConfigDict, steps_per_epoch: int | None
                    ) -> Schedule:
        total = _steps(train.total_steps, train.total_epochs, steps_per_epoch, "total")
        if total is None or total < 0:
            raise ValueError("set train.total_steps or train.total_epochs (>= 0)")
        return cls(
            total_steps=total,
            eval_every=_steps(train.eval_every_steps, train.eval_every_epochs, steps_per_epoch,
                              "eval_every"),
            checkpoint_every=_steps(train.checkpoint_every_steps, train.checkpoint_every_epochs,
                                    steps_per_epoch, "checkpoint_every"),
            log_every=max(1, train.log_every_steps),
        )

    @staticmethod
    def due(step: int, every: int | None) -> bool:
        return bool(every) and step % every == 0

    def next_call(self, step: int, steps_per_call: int, end: int | None = None) -> int:
        """How many steps the call after ``step`` runs.

        At most ``steps_per_call``, ending on the next log, eval or checkpoint step, or on
        ``end`` (default: the last step).
        """
        stop = self.total_steps if end is None else end
        for every in (self.log_every, self.eval_every, self.checkpoint_every):
            if every:
                stop = min(stop, (step // every + 1) * every)
        return max(1, min(steps_per_call, stop - step))
