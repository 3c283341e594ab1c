"""Per-user leave-one-out splits of the `forec` and `paper` protocols (spec §7.1, §7.2)."""

from __future__ import annotations

import dataclasses
import hashlib
import zlib

import numpy as np

from affectjax.data.markets.interactions import Interactions

__all__ = [
    "DROPPED",
    "TRAIN",
    "VALID",
    "TEST",
    "EvalLists",
    "Split",
    "crc32",
    "pair_hash",
    "split_forec",
    "split_paper",
    "group_starts",
]

# Row roles. DROPPED marks rows a protocol removes (later duplicates, users too short).
DROPPED, TRAIN, VALID, TEST = -1, 0, 1, 2


@dataclasses.dataclass(frozen=True, eq=False)
class EvalLists:
    """Candidate lists of one evaluation split: one row per user, positive in column 0.

    ``has_positive=False`` (a WSDM test run) keeps the given order and an unknown positive.
    """

    name: str  # 'valid' or 'test'
    user: np.ndarray  # int32 [U], sorted ascending
    market: np.ndarray  # int32 [U]
    cands: np.ndarray  # int32 [U, C]
    has_positive: bool = True

    @property
    def positive(self) -> np.ndarray:
        if not self.has_positive:
            raise ValueError(f"{self.name} lists carry no known positive")
        return self.cands[:, 0]

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def for_market(self, market_id: int) -> EvalLists:
        sel = self.market == market_id
        return dataclasses.replace(self, user=self.user[sel], market=self.market[sel],
                                   cands=self.cands[sel])


@dataclasses.dataclass(frozen=True, eq=False)
class Split:
    """A protocol's assignment of rows to roles, plus its candidate lists.

    ``order`` lists the kept rows grouped by ascending user, each user's rows in protocol order
    (chronological for `forec`, the seeded permutation for `paper`), so "the last H training
    items" is a slice of it.
    """

    protocol: str
    seed: int
    role: np.ndarray  # int8 [R]: DROPPED, TRAIN, VALID or TEST per Interactions row
    order: np.ndarray  # int64 [K]
    valid: EvalLists | None = None
    test: EvalLists | None = None

    def rows(self, role: int) -> np.ndarray:
        """Row indices with ``role``, in ``order``."""
        return self.order[self.role[self.order] == role]

    def lists(self, name: str) -> EvalLists:
        out = {"valid": self.valid, "test": self.test}[name]
        if out is None:
            raise ValueError(f"split has no {name} lists")
        return out


def crc32(s: str) -> int:
    """CRC-32 of the UTF-8 text, the per-market/per-user seed component of spec §7."""
    return zlib.crc32(s.encode("utf-8"))


def pair_hash(users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """h(user, item): BLAKE2b with an 8-byte digest of ``"<user>|<item>"``, little-endian.

    [our choice, spec §7.2] The spec says "first 8 bytes of BLAKE2b"; its §9.2 numbers are
    reproduced by BLAKE2b-64 (``digest_size=8``), which differs from truncating the default
    64-byte digest, so that is what this computes.
    """
    # hashlib has no vectorised form; callers pass unique pairs only.
    digests = b"".join(hashlib.blake2b(f"{u}|{i}".encode(), digest_size=8).digest()
                       for u, i in zip(users.tolist(), items.tolist()))
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def group_starts(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted key array: (index of each element's group start, position in its group)."""
    n = sorted_keys.shape[0]
    new = np.ones(n, dtype=bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return start, np.arange(n) - start


def _roles_by_position(inter: Interactions, order: np.ndarray) -> np.ndarray:
    u = inter.user[order]
    start, pos = group_starts(u)
    length = np.bincount(u, minlength=inter.n_users)[u]
    role = np.full(inter.n_rows, DROPPED, dtype=np.int8)
    role[order] = np.where(pos == length - 1, TEST, np.where(pos == length - 2, VALID, TRAIN))
    return role


def split_forec(inter: Interactions, *, min_items: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(role, order) of the `forec` protocol (spec §7.2) [related-code: FOREC].

    Each user's rows sorted by (date, h(user, item), file line); later duplicates of an item
    dropped; users with fewer than ``min_items`` unique items dropped; last → test,
    second-to-last → valid, rest → train. Same-day ties go by the hash, never by item id (ASIN
    order tracks item age and would bias popularity, spec §7.2).
    """
    n1 = inter.n_items + 1
    key = inter.user.astype(np.int64) * n1 + inter.item
    uniq, inv = np.unique(key, return_inverse=True)
    u_uniq = (uniq // n1).astype(np.int64)
    i_uniq = (uniq % n1).astype(np.int64)
    h = pair_hash(inter.user_ids[u_uniq], inter.item_ids[i_uniq - 1])[inv]
    order = np.lexsort((inter.line, h, inter.time, inter.user))
    # np.unique's return_index is the first occurrence (stable sort) = the earliest copy.
    _, first = np.unique(key[order], return_index=True)
    keep = np.zeros(order.size, dtype=bool)
    keep[first] = True
    order = order[keep]
    enough = np.bincount(inter.user[order], minlength=inter.n_users) >= min_items
    order = order[enough[inter.user[order]]]
    return _roles_by_position(inter, order), order.astype(np.int64)


def split_paper(inter: Interactions, seed: int, *,
                min_items: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(role, order) of the `paper` protocol (spec §7.1) [official-code: random leave-one-out].

    Each user's raw items (duplicates kept) sorted, then permuted with
    ``np.random.default_rng([seed, crc32(market), crc32(user)])``; last → test,
    second-to-last → valid, rest → train. Users with fewer than ``min_items`` rows are dropped
    [our choice: nothing would be left to train on]; XMarket has none.
    """
    # Copies of one item are ordered by (date, rating, line) so the result does not depend
    # on the row order of the input files.
    order = np.lexsort((inter.line, inter.rating, inter.time, inter.item, inter.user))
    u = inter.user[order]
    counts = np.bincount(u, minlength=inter.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)])
    mcrc = [crc32(c) for c in inter.markets]
    out = np.empty_like(order)
    keep = np.zeros(order.size, dtype=bool)
    # One seeded generator per user is the protocol's definition (results must not depend on
    # which users are loaded), so this loop runs per user, not per row.
    for user in np.flatnonzero(counts >= min_items).tolist():
        a, b = starts[user], starts[user + 1]
        rng = np.random.default_rng(
            [seed, mcrc[inter.user_market[user] - 1], crc32(str(inter.user_ids[user]))])
        out[a:b] = order[a:b][rng.permutation(b - a)]
        keep[a:b] = True
    order = out[keep]
    return _roles_by_position(inter, order), order.astype(np.int64)
