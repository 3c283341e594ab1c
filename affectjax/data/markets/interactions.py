"""The columnar interaction table shared by every market reader, with deterministic id maps."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from affectjax.data.markets.errors import MarketDataError

__all__ = ["Interactions", "MarketPart", "assemble", "check_id_maps", "to_parts"]


@dataclasses.dataclass(frozen=True)
class MarketPart:
    """One market's parsed rows with raw string ids, before global ids exist."""

    code: str
    user: np.ndarray  # str [R]
    item: np.ndarray  # str [R]
    rating: np.ndarray  # float [R]
    time: np.ndarray  # int64 [R]: days since 1970 or seconds, see Interactions.time_unit
    line: np.ndarray  # int64 [R]: 1-based line in `source`
    source: str


@dataclasses.dataclass(frozen=True, eq=False)
class Interactions:
    """All loaded rows as numpy columns (one entry per file row, duplicates included).

    Ids [our choice, spec §6.4]: market ids are ``sorted(codes)`` → 1..M, item ids are the
    sorted raw ids over all loaded markets → 1..N (0 is padding), so both maps depend only on
    the set of files loaded, never on row order. Users are keyed by (market, raw id) [paper:
    users are market-specific] and numbered by (market id, raw id) → 0..U-1.
    """

    market: np.ndarray  # int32 [R], 1..M
    user: np.ndarray  # int32 [R], 0..U-1
    item: np.ndarray  # int32 [R], 1..N
    rating: np.ndarray  # float32 [R]
    time: np.ndarray  # int64 [R]
    line: np.ndarray  # int64 [R], 1-based line of the row in its market's source file
    markets: tuple[str, ...]  # market id m is markets[m - 1]
    item_ids: np.ndarray  # str [N], item id i is item_ids[i - 1]
    user_ids: np.ndarray  # str [U], raw user id of user u
    user_market: np.ndarray  # int32 [U], market id of user u
    time_unit: str = "day"  # 'day' (days since 1970-01-01), 's' (Unix seconds) or 'none'
    sources: tuple[str, ...] = ()  # per market, the file(s) its rows came from

    @property
    def n_rows(self) -> int:
        return int(self.item.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.user_ids.shape[0])

    @property
    def n_markets(self) -> int:
        return len(self.markets)

    def market_id(self, code: str) -> int:
        """1-based id of market ``code``; MarketDataError for a code that was not loaded."""
        try:
            return self.markets.index(code) + 1
        except ValueError:
            raise MarketDataError(
                f"unknown market {code!r}; loaded markets: {' '.join(self.markets)}") from None

    def market_mask(self, code: str) -> np.ndarray:
        """Boolean row mask of market ``code``."""
        return self.market == self.market_id(code)

    def market_items(self, code: str) -> np.ndarray:
        """Sorted unique item ids rated in market ``code`` (all rows)."""
        return np.unique(self.item[self.market_mask(code)]).astype(np.int32)

    def item_index(self, raw: np.ndarray) -> np.ndarray:
        """Item ids of raw ids (vectorised); -1 where a raw id is unknown."""
        raw = np.asarray(raw, dtype=str)
        pos = np.searchsorted(self.item_ids, raw)
        pos = np.minimum(pos, max(self.n_items - 1, 0))
        ok = (self.n_items > 0) & (self.item_ids[pos] == raw)
        return np.where(ok, pos + 1, -1).astype(np.int64)

    def user_index(self, market: int, raw: np.ndarray) -> np.ndarray:
        """User indices of raw ids within market id ``market``; -1 where unknown."""
        raw = np.asarray(raw, dtype=str)
        lo, hi = np.searchsorted(self.user_market, [market, market + 1])
        ids = self.user_ids[lo:hi]
        if ids.size == 0:
            return np.full(raw.shape, -1, np.int64)
        pos = np.minimum(np.searchsorted(ids, raw), ids.size - 1)
        return np.where(ids[pos] == raw, pos + lo, -1).astype(np.int64)

    def id_maps(self) -> dict:
        """JSON-able id maps for checkpoint metadata (spec §5: carried and checked)."""
        return {"markets": list(self.markets), "items": self.item_ids.tolist()}

    def subset(self, mask: np.ndarray) -> Interactions:
        """The rows under ``mask`` with the same id maps (ids stay comparable)."""
        mask = np.asarray(mask)
        return dataclasses.replace(
            self, market=self.market[mask], user=self.user[mask], item=self.item[mask],
            rating=self.rating[mask], time=self.time[mask], line=self.line[mask])

    def fingerprint(self) -> str:
        """SHA-256 of the rows (in order) and id maps; keys caches of derived data."""
        h = hashlib.sha256()
        for a in (self.market, self.user, self.item, self.time, self.line):
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.rating, dtype=np.float32).tobytes())
        h.update("\x1f".join(self.markets).encode())
        h.update("\x1f".join(self.item_ids.tolist()).encode())
        h.update("\x1f".join(self.user_ids.tolist()).encode())
        h.update(np.ascontiguousarray(self.user_market, dtype=np.int64).tobytes())
        h.update(self.time_unit.encode())
        return h.hexdigest()

    def summary(self) -> dict[str, dict[str, int]]:
        """Per market: users, items, ratings (rows), as in the spec §6.1 table."""
        out = {}
        for m, code in enumerate(self.markets, start=1):
            sel = self.market == m
            out[code] = {"users": int(np.unique(self.user[sel]).size),
                         "items": int(np.unique(self.item[sel]).size),
                         "ratings": int(sel.sum())}
        return out


def assemble(
    parts: Sequence[MarketPart],
    *,
    time_unit: str = "day",
    extra_items: Iterable[str] = (),
) -> Interactions:
    """Give global ids to parsed market parts; ``extra_items`` widen the item vocabulary.

    Raises MarketDataError for an empty market or a market code given twice.
    """
    if not parts:
        raise MarketDataError("no markets to load")
    parts = sorted(parts, key=lambda p: p.code)
    codes = [p.code for p in parts]
    for a, b in zip(codes, codes[1:]):
        if a == b:
            raise MarketDataError(f"market {a!r} given twice")
    for p in parts:
        if p.item.size == 0:
            raise MarketDataError(f"market {p.code!r} has no interactions", p.source)
    extra = np.asarray(list(extra_items), dtype=str)
    all_items = np.concatenate([p.item for p in parts] + [extra])
    item_ids, inverse = np.unique(all_items, return_inverse=True)
    n_rows = sum(p.item.size for p in parts)
    item = (inverse[:n_rows] + 1).astype(np.int32)
    users, user_market, user_col = [], [], []
    offset = 0
    for m, p in enumerate(parts, start=1):
        u, inv = np.unique(p.user, return_inverse=True)
        users.append(u)
        user_market.append(np.full(u.size, m, np.int32))
        user_col.append((inv + offset).astype(np.int32))
        offset += u.size
    return Interactions(
        market=np.concatenate([np.full(p.item.size, m, np.int32)
                               for m, p in enumerate(parts, start=1)]),
        user=np.concatenate(user_col),
        item=item,
        rating=np.concatenate([np.asarray(p.rating, np.float32) for p in parts]),
        time=np.concatenate([np.asarray(p.time, np.int64) for p in parts]),
        line=np.concatenate([np.asarray(p.line, np.int64) for p in parts]),
        markets=tuple(codes),
        item_ids=item_ids.astype(str),
        user_ids=np.concatenate(users).astype(str),
        user_market=np.concatenate(user_market),
        time_unit=time_unit,
        sources=tuple(p.source for p in parts),
    )


def check_id_maps(saved: Mapping, inter: Interactions) -> None:
    """Raise MarketDataError unless ``saved`` (from :meth:`Interactions.id_maps`) matches."""
    now = inter.id_maps()
    for key in ("markets", "items"):
        a, b = list(saved.get(key, [])), now[key]
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            raise MarketDataError(
                f"{key} id map differs from the checkpoint's: {len(a)} saved vs {len(b)} loaded,"
                f" first difference at id {first + 1}")


def to_parts(inter: Interactions) -> list[MarketPart]:
    """Back to per-market raw parts, e.g. to re-assemble ids after filtering rows."""
    parts = []
    for m, code in enumerate(inter.markets, start=1):
        sel = inter.market == m
        parts.append(MarketPart(
            code=code, user=inter.user_ids[inter.user[sel]],
            item=inter.item_ids[inter.item[sel] - 1], rating=inter.rating[sel],
            time=inter.time[sel], line=inter.line[sel],
            source=inter.sources[m - 1] if inter.sources else ""))
    return parts
