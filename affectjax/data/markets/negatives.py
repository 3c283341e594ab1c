"""Seeded per-user candidate negatives drawn from a sorted pool minus excluded items."""

from __future__ import annotations

import numpy as np

from affectjax.data.markets.errors import MarketDataError

__all__ = ["draw_excluding"]


def draw_excluding(
    pool: np.ndarray,
    excl_indptr: np.ndarray,
    excl_items: np.ndarray,
    seeds: list[list[int]],
    k: int,
    *,
    what: list[str] | None = None,
) -> np.ndarray:
    """[U, k] items: row r holds k distinct items of sorted ``pool`` minus its exclusions.

    Row r excludes ``excl_items[excl_indptr[r]:excl_indptr[r+1]]`` (items outside the pool are
    ignored) and draws ``np.random.default_rng(seeds[r]).choice(n_avail, k, replace=False)``
    positions in its reduced pool. That is the same draw as ``rng.choice(reduced_pool, k,
    replace=False)`` on the explicit reduced pool (spec §7), without building the pool per row:
    the j-th kept position is j + #{excluded positions e_m with e_m - m <= j}.
    """
    pool = np.asarray(pool)
    n_rows = len(seeds)
    row_of = np.repeat(np.arange(n_rows), np.diff(excl_indptr))
    pos = np.searchsorted(pool, excl_items)
    inside = (pos < pool.size) & (pool[np.minimum(pos, pool.size - 1)] == excl_items)
    # Unique sorted positions per row, grouped by row.
    key = np.unique(row_of[inside].astype(np.int64) * (pool.size + 1) + pos[inside])
    row_e = key // (pool.size + 1)
    pos_e = key % (pool.size + 1)
    n_excl = np.bincount(row_e, minlength=n_rows)
    indptr = np.concatenate([[0], np.cumsum(n_excl)])
    rank = np.arange(key.size) - indptr[row_e]
    n_avail = pool.size - n_excl
    short = np.flatnonzero(n_avail < k)
    if short.size:
        r = int(short[0])
        name = what[r] if what else f"row {r}"
        raise MarketDataError(
            f"{name}: only {int(n_avail[r])} candidate items left in a pool of {pool.size}, "
            f"need {k}")
    idx = np.empty((n_rows, k), dtype=np.int64)
    # Per-user seeded generators are the protocol's definition; the loop holds only the draw.
    for r in range(n_rows):
        idx[r] = np.random.default_rng(seeds[r]).choice(int(n_avail[r]), k, replace=False)
    big = pool.size + 1
    shifted = (pos_e - rank) + row_e * big  # sorted: rows ascending, (e_m - m) non-decreasing
    rows = np.arange(n_rows)[:, None]
    skip = np.searchsorted(shifted, idx + rows * big, side="right") - indptr[:-1, None]
    return pool[idx + skip]
