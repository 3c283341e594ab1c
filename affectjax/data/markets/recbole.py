"""RecBole atomic ``.inter``/``.user`` files and ml-100k zip-code pseudo-markets (spec §6.5)."""

from __future__ import annotations

import importlib.util
import pathlib
from collections.abc import Callable

import numpy as np

from affectjax.data.markets._text import read_bytes, split_header, split_table, to_float
from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import Interactions, MarketPart, assemble

__all__ = ["find_recbole_example", "read_atomic", "read_recbole_inter", "read_ml100k",
           "zip_market"]

_TYPES = ("token", "token_seq", "float", "float_seq")


def find_recbole_example(name: str = "ml-100k") -> pathlib.Path | None:
    """``recbole/dataset_example/<name>`` of an installed recbole, found WITHOUT importing it.

    Importing recbole pulls in torch; ``find_spec`` of a top-level package only locates it.
    """
    try:
        spec = importlib.util.find_spec("recbole")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = pathlib.Path(loc) / "dataset_example" / name
        if path.is_dir():
            return path
    return None


def read_atomic(path) -> tuple[dict[str, tuple[str, np.ndarray]], np.ndarray]:
    """Columns ``{name: (type, str values)}`` and file lines of a RecBole atomic file.

    The header is tab-separated ``name:type`` with type in token, token_seq, float, float_seq.
    """
    data = read_bytes(path)
    head, body = split_header(data)
    fields = head.decode("utf-8", "replace").split("\t")
    names, types = [], []
    for f in fields:
        name, _, typ = f.strip().partition(":")
        if not name or typ not in _TYPES:
            raise MarketDataError(f"header field {f!r} is not name:type with type in "
                                  f"{', '.join(_TYPES)}", path, 1)
        names.append(name)
        types.append(typ)
    if len(set(names)) != len(names):
        raise MarketDataError(f"repeated column in header {head.decode()[:200]!r}", path, 1)
    cols, lines = split_table(body, path, ncols=len(names), sep="\t", first_line=2,
                              columns=names)
    return {n: (t, c) for n, t, c in zip(names, types, cols)}, lines


def read_recbole_inter(path, *, market_of_user: Callable[[np.ndarray], np.ndarray] | None = None,
                       market: str = "all") -> Interactions:
    """Read a RecBole ``.inter`` file (needs ``user_id`` and ``item_id``).

    ``rating`` defaults to 1 when absent; ``timestamp`` (seconds) sets time unit 's', else
    'none'. Markets: ``market_of_user(raw user ids) -> codes`` splits users into markets;
    otherwise every row is in market ``market``.
    """
    cols, lines = read_atomic(path)
    for need in ("user_id", "item_id"):
        if need not in cols:
            raise MarketDataError(f"missing column {need!r} (have {', '.join(cols)})", path, 1)
    user, item = cols["user_id"][1], cols["item_id"][1]
    rating = (to_float(cols["rating"][1], lines, path, "rating") if "rating" in cols
              else np.ones(user.size))
    if "timestamp" in cols:
        time, unit = to_float(cols["timestamp"][1], lines, path, "timestamp"), "s"
    else:
        time, unit = np.zeros(user.size), "none"
    time = time.astype(np.int64)
    codes = (np.asarray(market_of_user(user), dtype=str) if market_of_user is not None
             else np.full(user.size, market))
    missing = np.flatnonzero(np.strings.str_len(codes) == 0)
    if missing.size:
        k = int(missing[0])
        raise MarketDataError(f"user {str(user[k])!r} has no market", path, int(lines[k]))
    parts = []
    for code in np.unique(codes).tolist():
        sel = codes == code
        parts.append(MarketPart(code=code, user=user[sel], item=item[sel], rating=rating[sel],
                                time=time[sel], line=lines[sel], source=str(path)))
    if not parts:
        raise MarketDataError("no interactions", path)
    return assemble(parts, time_unit=unit)


def zip_market(zip_codes: np.ndarray) -> np.ndarray:
    """Pseudo-market of a zip code: its first character if a digit, else ``'x'`` [our choice]."""
    first = np.array([z[:1] for z in np.asarray(zip_codes, dtype=str).tolist()], dtype=str)
    return np.where(np.isin(first, list("0123456789")), first, "x")


def read_ml100k(root=None) -> Interactions:
    """MovieLens-100k ``ml-100k.inter`` split into 11 zip-code pseudo-markets (spec §6.5).

    ``root`` is the folder holding ``ml-100k.inter`` and ``ml-100k.user``; None looks in the
    installed recbole package. Results on it are "derived" markets, label them so.
    """
    root = pathlib.Path(root) if root is not None else find_recbole_example("ml-100k")
    if root is None:
        raise MarketDataError("recbole's ml-100k example not found: pip install --no-deps "
                              "recbole==1.2.1, or pass the folder")
    ucols, _ = read_atomic(root / "ml-100k.user")
    for need in ("user_id", "zip_code"):
        if need not in ucols:
            raise MarketDataError(f"missing column {need!r}", root / "ml-100k.user", 1)
    uid, zips = ucols["user_id"][1], ucols["zip_code"][1]
    order = np.argsort(uid)
    uid, mk = uid[order], zip_market(zips)[order]

    def market_of_user(users: np.ndarray) -> np.ndarray:
        # '' marks a user missing from ml-100k.user; the reader reports it with its line.
        pos = np.minimum(np.searchsorted(uid, users), uid.size - 1)
        return np.where(uid[pos] == users, mk[pos], "")

    return read_recbole_inter(root / "ml-100k.inter", market_of_user=market_of_user)
