"""Vectorised splitting of delimited text tables with per-line error locations."""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence

import numpy as np

from affectjax.data.markets.errors import MarketDataError

__all__ = ["read_bytes", "split_header", "split_table", "to_float", "to_day", "to_int"]

# Whitespace bytes as str.split() sees them in ASCII text (tab, LF, VT, FF, CR, space).
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32]] = True


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz; a clear error when unreadable."""
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise MarketDataError("file not found", path) from None
    except (OSError, EOFError) as e:  # gzip raises BadGzipFile (OSError) or EOFError
        raise MarketDataError(f"cannot read file ({e})", path) from None


def split_header(data: bytes) -> tuple[bytes, bytes]:
    """(first line without its newline, the rest)."""
    head, _, rest = data.partition(b"\n")
    return head.rstrip(b"\r"), rest


def _decode(data: bytes, path, first_line: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + data[: e.start].count(b"\n")
        raise MarketDataError(f"not UTF-8 text ({e.reason})", path, line) from None


def split_table(
    data: bytes,
    path,
    *,
    ncols: int,
    sep: str | None = None,
    first_line: int = 1,
    columns: Sequence[str] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Split ``data`` into ``ncols`` string columns plus the 1-based file line of every row.

    ``sep=None`` splits on runs of whitespace; a one-character ``sep`` splits on exactly that
    character (so empty fields are visible and rejected). Blank lines carry no data and are
    skipped; any other line with the wrong number of fields raises MarketDataError naming
    ``path`` and the line (``first_line`` is the number of the first line of ``data``).
    """
    # Field counts per line come from one numpy pass over the bytes instead of a Python loop
    # over lines; the tokens themselves come from str.split, which runs in C.
    b = np.frombuffer(data, dtype=np.uint8)
    if b.size == 0:
        return [np.array([], dtype=str) for _ in range(ncols)], np.zeros(0, np.int64)
    nl = b == 10
    n_lines = int(nl.sum()) + (0 if b[-1] == 10 else 1)
    line_of = np.cumsum(nl) - nl
    content = ~_WS[b]
    if sep is None:
        start = content.copy()
        start[1:] &= ~content[:-1]
        counts = np.bincount(line_of[start], minlength=n_lines)
    else:
        if len(sep) != 1:
            raise ValueError(f"sep must be one character, got {sep!r}")
        counts = np.bincount(line_of[b == ord(sep)], minlength=n_lines) + 1
        counts[np.bincount(line_of[content], minlength=n_lines) == 0] = 0
    bad = np.flatnonzero((counts != 0) & (counts != ncols))
    if bad.size:
        i = int(bad[0])
        text = data.split(b"\n", i + 1)[i].rstrip(b"\r").decode("utf-8", "replace")
        names = f" ({' '.join(columns)})" if columns else ""
        raise MarketDataError(
            f"expected {ncols} fields{names}, got {int(counts[i])}: {text[:200]!r}",
            path, first_line + i)
    rows_at = np.flatnonzero(counts == ncols)
    lines = rows_at.astype(np.int64) + first_line
    text = _decode(data, path, first_line)
    if sep is None:
        tokens = text.split()
    else:
        text = text.replace("\r\n", "\n")
        if rows_at.size != n_lines:  # rare: blank lines; drop them so the flat split lines up
            text = "\n".join(ln for ln in text.split("\n") if ln.strip())
        tokens = text.rstrip("\n").replace("\n", sep).split(sep)
    if len(tokens) != ncols * rows_at.size:
        # Only non-ASCII whitespace (which str.split honours but the byte count does not) or
        # a separator inside a field can get here; locate the line the slow way.
        for i, ln in enumerate(text.split("\n")):
            got = len(ln.split() if sep is None else ln.rstrip("\r").split(sep))
            if ln.strip() and got != ncols:
                raise MarketDataError(f"expected {ncols} fields, got {got}: {ln[:200]!r}",
                                      path, first_line + i)
        raise MarketDataError("inconsistent field count", path)
    cols = [np.array(tokens[j::ncols], dtype=str) for j in range(ncols)]
    for j, col in enumerate(cols):
        empty = np.flatnonzero(np.strings.str_len(col) == 0)
        if empty.size:
            name = columns[j] if columns else f"field {j + 1}"
            raise MarketDataError(f"empty {name}", path, int(lines[empty[0]]))
    return cols, lines


def _first_bad(col: np.ndarray, lines: np.ndarray, convert) -> int:
    # Error path only: find the first value numpy refused, to name its line.
    for k, v in enumerate(col):
        try:
            convert(v)
        except (ValueError, TypeError):
            return k
    return 0


def to_float(col: np.ndarray, lines: np.ndarray, path, name: str) -> np.ndarray:
    """Parse a string column as finite float64, or raise naming the first bad line."""
    try:
        out = col.astype(np.float64)
    except ValueError:
        k = _first_bad(col, lines, float)
        raise MarketDataError(f"{name} is not a number: {str(col[k])!r}", path,
                              int(lines[k])) from None
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        k = int(bad[0])
        raise MarketDataError(f"{name} is not finite: {str(col[k])!r}", path, int(lines[k]))
    return out


def to_int(col: np.ndarray, lines: np.ndarray, path, name: str) -> np.ndarray:
    """Parse a string column of integers (``"12"`` or ``"12.0"``) as int64."""
    f = to_float(col, lines, path, name)
    bad = np.flatnonzero(f != np.round(f))
    if bad.size:
        k = int(bad[0])
        raise MarketDataError(f"{name} is not an integer: {str(col[k])!r}", path, int(lines[k]))
    return f.astype(np.int64)


def to_day(col: np.ndarray, lines: np.ndarray, path, name: str = "date") -> np.ndarray:
    """Parse ISO ``YYYY-MM-DD`` dates as int64 days since 1970-01-01."""
    # numpy would also accept '2015' or '2015-03' and widen them silently; the length check
    # keeps the format strict.
    bad = np.flatnonzero(np.strings.str_len(col) != 10)
    if not bad.size:
        try:
            days = col.astype("datetime64[D]")
        except ValueError:
            bad = np.array([_first_bad(col, lines, lambda v: np.datetime64(v, "D"))])
        else:
            bad = np.flatnonzero(np.isnat(days))
    if bad.size:
        k = int(bad[0])
        raise MarketDataError(f"{name} is not a YYYY-MM-DD date: {str(col[k])!r}", path,
                              int(lines[k]))
    return days.astype(np.int64)
