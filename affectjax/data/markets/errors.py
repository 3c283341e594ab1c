"""The one exception class of the market data layer: bad input, named by file and line."""

from __future__ import annotations

import os

__all__ = ["MarketDataError"]


class MarketDataError(ValueError):
    """Bad or inconsistent market data; ``path`` and ``line`` (1-based) locate it when known.

    A ValueError subclass so that callers catching ValueError keep working; the message always
    starts with ``<path>:<line>:`` (or ``<path>:`` without a line) so it can be pasted into an
    editor.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 line: int | None = None):
        self.path = None if path is None else os.fspath(path)
        self.line = None if line is None else int(line)
        self.reason = message
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        super().__init__(where + message)
