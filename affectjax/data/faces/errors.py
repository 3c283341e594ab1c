"""The face-data error type and the skip report: a bad item is raised or reported, never dropped."""

from __future__ import annotations

import dataclasses
import logging

logger = logging.getLogger("affectjax.data.faces")


class FaceDataError(ValueError):
    """A face file, CSV row or array that cannot be used; `where` names the file (and row)."""

    def __init__(self, where: str, problem: str):
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")


@dataclasses.dataclass(frozen=True)
class SkippedItem:
    """One item a reader skipped under `skip_bad=True`, with where it was and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class BadItems:
    """Collects bad items for one read: raises on the first unless `skip_bad`, else records all.

    Every skipped item is also logged at WARNING so that skipping is visible even when the
    caller never looks at the returned report.
    """

    def __init__(self, skip_bad: bool):
        self.skip_bad = skip_bad
        self.items: list[SkippedItem] = []

    def bad(self, where: str, problem: str) -> None:
        """Raise `FaceDataError(where, problem)`, or record and log it when skipping."""
        if not self.skip_bad:
            raise FaceDataError(where, problem)
        item = SkippedItem(str(where), problem)
        self.items.append(item)
        logger.warning("skipped %s", item)

    def from_error(self, err: FaceDataError) -> None:
        """Route an already-built error through the same raise-or-record policy."""
        if not self.skip_bad:
            raise err
        self.bad(err.where, err.problem)
