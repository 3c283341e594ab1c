"""Reader and writer of XMarket processed files ``<root>/<mkt>_5core.txt`` (spec §6.1)."""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
from collections.abc import Sequence

import numpy as np

from affectjax.data.markets._text import read_bytes, split_header, split_table, to_day, to_float
from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import Interactions, MarketPart, assemble

__all__ = [
    "HEADER",
    "discover_markets",
    "read_market_file",
    "read_xmarket",
    "verify_checksums",
    "write_checksums",
    "write_market_file",
    "write_xmarket",
]

HEADER = ("userId", "itemId", "rate", "date")
_CODE = re.compile(r"^[A-Za-z0-9]+$")


def _file(root, code: str, suffix: str) -> pathlib.Path:
    return pathlib.Path(root) / f"{code}_{suffix}.txt"


def discover_markets(root, suffix: str = "5core") -> list[str]:
    """Sorted market codes that have a ``<code>_<suffix>.txt`` file in ``root``."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise MarketDataError("not a directory", root)
    tail = f"_{suffix}.txt"
    return sorted(p.name[: -len(tail)] for p in root.iterdir()
                  if p.name.endswith(tail) and _CODE.match(p.name[: -len(tail)]))


def read_market_file(path, code: str, *, header: bool = True,
                     rating_range: tuple[float, float] | None = (1.0, 5.0)) -> MarketPart:
    """Parse one ``userId itemId rate date`` file (header optional) into a MarketPart."""
    data = read_bytes(path)
    first = 1
    if header:
        head, data = split_header(data)
        got = tuple(head.decode("utf-8", "replace").split())
        if got != HEADER:
            raise MarketDataError(f"expected header {' '.join(HEADER)!r}, got "
                                  f"{' '.join(got)[:200]!r}", path, 1)
        first = 2
    (user, item, rate, date), lines = split_table(
        data, path, ncols=4, first_line=first, columns=HEADER)
    if user.size == 0:
        raise MarketDataError(f"market {code!r} has no interactions", path)
    rating = to_float(rate, lines, path, "rate")
    if rating_range is not None:
        bad = np.flatnonzero((rating < rating_range[0]) | (rating > rating_range[1]))
        if bad.size:
            k = int(bad[0])
            raise MarketDataError(f"rate {str(rate[k])!r} outside {rating_range}", path,
                                  int(lines[k]))
    return MarketPart(code=code, user=user, item=item, rating=rating,
                      time=to_day(date, lines, path), line=lines, source=os.fspath(path))


def verify_checksums(root, paths: Sequence[pathlib.Path], *, required: bool) -> None:
    """Check ``paths`` against ``<root>/SHA256SUMS``.

    With ``required`` the sums file must exist and list every path; otherwise files it does not
    list are not checked. Any mismatch raises MarketDataError naming the data file and the
    SHA256SUMS line.
    """
    sums_path = pathlib.Path(root) / "SHA256SUMS"
    if not sums_path.exists():
        if required:
            raise MarketDataError("checksum file not found (verify=True)", sums_path)
        return
    expected: dict[str, tuple[str, int]] = {}
    for n, raw in enumerate(sums_path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        m = re.match(r"^([0-9a-fA-F]{64}) [ *](.+)$", raw.strip())
        if not m:
            raise MarketDataError(f"malformed checksum line: {raw[:200]!r}", sums_path, n)
        expected[m.group(2).strip()] = (m.group(1).lower(), n)
    for p in paths:
        if p.name not in expected:
            if required:
                raise MarketDataError(f"{p.name} is not listed", sums_path)
            continue
        digest, n = expected[p.name]
        got = hashlib.sha256(p.read_bytes()).hexdigest()
        if got != digest:
            raise MarketDataError(
                f"SHA-256 mismatch: {got} != {digest} (listed at {sums_path}:{n})", p)


def read_xmarket(root, markets: Sequence[str] | None = None, *, verify: bool | None = None,
                 suffix: str = "5core") -> Interactions:
    """Read XMarket processed files ``<root>/<mkt>_<suffix>.txt`` into one Interactions.

    ``markets=None`` loads every market found. ``verify``: None checks the files listed in
    ``SHA256SUMS`` when it exists, True requires the check, False skips it. Dates become days
    since 1970-01-01. Duplicate rows are kept; protocols decide about them.
    """
    available = discover_markets(root, suffix)
    if markets is None:
        markets = available
        if not markets:
            raise MarketDataError(f"no *_{suffix}.txt files", root)
    markets = list(markets)
    for code in markets:
        if code not in available:
            raise MarketDataError(
                f"unknown market {code!r}: no {_file(root, code, suffix).name}; available: "
                f"{' '.join(available) or '(none)'}", root)
    paths = [_file(root, c, suffix) for c in markets]
    if verify is not False:
        verify_checksums(root, paths, required=bool(verify))
    parts = [read_market_file(p, c) for p, c in zip(paths, markets)]
    return assemble(parts, time_unit="day")


def write_market_file(path, user: np.ndarray, item: np.ndarray, rating: np.ndarray,
                      day: np.ndarray) -> None:
    """Write rows in the §6.1 format: header, then ``user item rate YYYY-MM-DD`` lines."""
    dates = np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype(str)
    rates = np.char.mod("%.1f", np.asarray(rating, dtype=np.float64))
    body = "\n".join(" ".join(r) for r in zip(user.tolist(), item.tolist(), rates.tolist(),
                                                dates.tolist()))
    tmp = pathlib.Path(f"{path}.tmp")
    tmp.write_text(" ".join(HEADER) + "\n" + body + ("\n" if body else ""))
    os.replace(tmp, path)


def write_xmarket(inter: Interactions, root, markets: Sequence[str] | None = None, *,
                  suffix: str = "5core", checksums: bool = True) -> list[pathlib.Path]:
    """Write each market of ``inter`` (time unit 'day') as ``<root>/<mkt>_<suffix>.txt``."""
    if inter.time_unit != "day":
        raise MarketDataError(f"time unit {inter.time_unit!r} cannot be written as dates")
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for code in (markets if markets is not None else inter.markets):
        sel = inter.market_mask(code)
        path = _file(root, code, suffix)
        write_market_file(path, inter.user_ids[inter.user[sel]],
                          inter.item_ids[inter.item[sel] - 1], inter.rating[sel],
                          inter.time[sel])
        out.append(path)
    if checksums:
        write_checksums(root, out)
    return out


def write_checksums(root, paths: Sequence[pathlib.Path]) -> pathlib.Path:
    """Write ``<root>/SHA256SUMS`` (sha256sum format) for ``paths``."""
    sums = pathlib.Path(root) / "SHA256SUMS"
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(paths)]
    sums.write_text("\n".join(lines) + "\n")
    return sums
