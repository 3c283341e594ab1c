"""A training run's wall time, summed over the invocations that resumed it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass
class RunClock:
    """A run's wall time summed over its invocations (the trainer JSON of each checkpoint).

    ``complete`` is False once the run resumed from a checkpoint written before checkpoints
    carried the time: its total then lacks the earlier invocations' share.
    """

    t_begin: float  # time.monotonic() when this invocation started
    earlier_s: float = 0.0
    complete: bool = True

    def resume_from(self, saved_meta: Mapping[str, Any]) -> None:
        self.earlier_s = float(saved_meta.get("elapsed_s", 0.0))
        self.complete = "elapsed_s" in saved_meta and bool(saved_meta.get("elapsed_complete",
                                                                           True))

    def elapsed_s(self) -> float:
        return self.earlier_s + time.monotonic() - self.t_begin

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed_s": self.elapsed_s(), "elapsed_complete": self.complete}

    def result(self) -> dict[str, Any]:
        """results.json's fields: the total, the earlier invocations' part and completeness."""
        return {**self.state_dict(), "earlier_elapsed_s": self.earlier_s}
