"""Model inputs built with numpy: padded histories, training rows with negatives, eval rows."""

from __future__ import annotations

import dataclasses

import numpy as np

from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import Interactions
from affectjax.data.markets.split import TRAIN, VALID, EvalLists, Split, group_starts

__all__ = [
    "MAX_HISTORY",
    "TrainRows",
    "EvalInputs",
    "train_row_mask",
    "histories",
    "fixed_train_rows",
    "faithful_train_rows",
    "eval_inputs",
]

MAX_HISTORY = 50  # H; the candidate is token H+1 = 51 [official-code]


@dataclasses.dataclass(frozen=True, eq=False)
class TrainRows:
    """Training examples that share history rows: example b uses ``hist[row_hist[b]]``.

    Sharing keeps an epoch small (each positive's negatives reuse its history) and lets the
    trainer keep ``hist`` on device and gather per batch. ``hist`` is left-aligned, 0-padded,
    oldest first for the `fixed` variant.
    """

    hist: np.ndarray  # int32 [P, H]
    hist_len: np.ndarray  # int32 [P]
    row_hist: np.ndarray  # int32 [B]
    cand: np.ndarray  # int32 [B]
    market: np.ndarray  # int32 [B]
    user: np.ndarray  # int32 [B]
    label: np.ndarray  # float32 [B], 1 positive / 0 negative

    def __len__(self) -> int:
        return int(self.cand.shape[0])

    def dense(self) -> dict[str, np.ndarray]:
        """Per-example arrays (``hist`` [B, H] materialised) in the model's input names."""
        hist = self.hist[self.row_hist]
        return {"hist": hist, "hist_mask": hist > 0, "cand": self.cand,
                "market": self.market, "label": self.label}


@dataclasses.dataclass(frozen=True, eq=False)
class EvalInputs:
    """Evaluation inputs: user u's history [H] is scored against each of its C candidates."""

    hist: np.ndarray  # int32 [U, H]
    hist_len: np.ndarray  # int32 [U]
    cands: np.ndarray  # int32 [U, C], positive in column 0 when known
    market: np.ndarray  # int32 [U]
    user: np.ndarray  # int32 [U]


def train_row_mask(inter: Interactions, split: Split, *, target: str | None = None,
                   markets=None) -> np.ndarray:
    """Rows a stage trains on (spec §5).

    The target's training part plus every kept row of the other markets [official-code: the
    non-target markets go wholly into training]; with ``target=None`` every market contributes
    its training part only (one shared pretraining for all targets, no market's held-out rows
    seen). ``markets`` restricts to those codes (e.g. ``[target]`` when fine-tuning).
    """
    mask = split.role == TRAIN
    if target is not None:
        t = inter.market_id(target)
        mask = np.where(inter.market == t, mask, split.role >= TRAIN)
    if markets is not None:
        ids = [inter.market_id(c) for c in markets]
        mask &= np.isin(inter.market, ids)
    return mask


def _sequences(inter: Interactions, split: Split, mask: np.ndarray,
               rng: np.random.Generator | None = None):
    """Per-user CSR of masked rows in protocol order (or random order with ``rng``)."""
    rows = split.order[mask[split.order]]
    if rng is not None:
        # Random preference order within each user: sort by (user, random key).
        rows = rows[np.lexsort((rng.random(rows.size), inter.user[rows]))]
    users = inter.user[rows]
    counts = np.bincount(users, minlength=inter.n_users)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return rows, start, counts


def histories(inter: Interactions, split: Split, mask: np.ndarray, query_user: np.ndarray,
              *, exclude_item: np.ndarray | None = None, max_history: int = MAX_HISTORY,
              newest: bool = True, rng: np.random.Generator | None = None,
              before_pos: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """([Q, H] items, [Q] lengths): each query user's masked rows minus ``exclude_item``.

    Selection: the most recent H in protocol order (``newest``), or a random subset of H
    (``rng``: random preference order per user, as the official loader's random subset).
    ``before_pos`` (protocol positions) keeps only earlier rows (prefix scope). Every copy of an
    excluded item is dropped. Output is left-aligned in protocol order (oldest first; random
    order with ``rng``), 0-padded.
    """
    rows, start, counts = _sequences(inter, split, mask, rng)
    seq_items = inter.item[rows]
    q = np.asarray(query_user, dtype=np.int64)
    n_q = q.size
    if rows.size == 0:
        return np.zeros((n_q, max_history), np.int32), np.zeros(n_q, np.int32)
    excl = (np.zeros(n_q, np.int64) if exclude_item is None
            else np.asarray(exclude_item, dtype=np.int64))
    copies = 1
    if exclude_item is not None and rows.size:
        _, c = np.unique(inter.user[rows].astype(np.int64) * (inter.n_items + 1) + seq_items,
                         return_counts=True)
        copies = int(c.max())
    width = max_history + (copies if exclude_item is not None else 0)
    length = counts[q]
    offs = np.arange(width)[None, :]
    if before_pos is not None:
        # Prefix scope: positions before_pos-1, before_pos-2, ... (most recent first).
        pos = np.asarray(before_pos, dtype=np.int64)[:, None] - 1 - offs
    elif rng is not None or not newest:
        pos = np.broadcast_to(offs, (n_q, width))
    else:
        pos = length[:, None] - 1 - offs  # most recent first
    valid = (pos >= 0) & (pos < length[:, None])
    flat = start[q][:, None] + np.maximum(pos, 0)
    items = np.where(valid, seq_items[np.minimum(flat, max(seq_items.size - 1, 0))], 0)
    valid &= items != excl[:, None]
    valid &= np.cumsum(valid, axis=1, dtype=np.int32) <= max_history
    n = valid.sum(axis=1)
    # Compact the kept entries to the left, keeping their preference order.
    take = np.argsort(~valid, axis=1, kind="stable")[:, :max_history]
    picked = np.take_along_axis(items, take, axis=1)
    picked = np.where(np.arange(max_history)[None, :] < n[:, None], picked, 0)
    if rng is None and (newest or before_pos is not None):
        # Most-recent-first → oldest first, still left-aligned.
        idx = n[:, None] - 1 - np.arange(max_history)[None, :]
        picked = np.where(idx >= 0, np.take_along_axis(picked, np.clip(idx, 0, None), axis=1), 0)
    return picked.astype(np.int32), n.astype(np.int32)


def _pools(inter: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated sorted item pools per market id: (flat items, start[M+1], size[M+1])."""
    key = np.unique(inter.market.astype(np.int64) * (inter.n_items + 1) + inter.item)
    mk, it = key // (inter.n_items + 1), key % (inter.n_items + 1)
    size = np.bincount(mk, minlength=inter.n_markets + 1)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    return it.astype(np.int32), start, size


def _is_member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[pos] == keys


def _market_negatives(inter: Interactions, user: np.ndarray, market: np.ndarray,
                      excl_keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One item per (user, market) entry, uniform over the market's items minus the user's."""
    flat, start, size = _pools(inter)
    n1 = inter.n_items + 1
    user = user.astype(np.int64)
    rated = np.bincount(excl_keys // n1, minlength=inter.n_users)
    full = np.flatnonzero(rated[user] >= size[market])
    if full.size:
        u = int(user[full[0]])
        raise MarketDataError(f"user {str(inter.user_ids[u])!r} rated every item of market "
                              f"{inter.markets[market[full[0]] - 1]!r}: no negatives")
    out = np.zeros(user.size, np.int32)
    todo = np.arange(user.size)
    # Rejection sampling converges fast: a user's items are a small share of any market pool.
    for _ in range(1000):
        m = market[todo]
        item = flat[start[m] + (rng.random(todo.size) * size[m]).astype(np.int64)]
        bad = _is_member(excl_keys, user[todo] * n1 + item)
        out[todo[~bad]] = item[~bad]
        todo = todo[bad]
        if not todo.size:
            return out
    raise MarketDataError("negative sampling did not converge")  # pragma: no cover


def fixed_train_rows(inter: Interactions, split: Split, rng: np.random.Generator, *,
                     target: str | None = None, markets=None, max_history: int = MAX_HISTORY,
                     num_negatives: int = 4, scope: str = "all") -> TrainRows:
    """One epoch of `fixed`-variant rows [our choice, spec §3.4]; call once per epoch.

    Each training positive i gets the user's other training items as history (most recent H;
    ``scope='prefix'``: only items before i) and ``num_negatives`` negatives drawn with ``rng``
    uniformly from the items of i's market minus the user's training items; negatives share
    i's history. Histories under the `paper` split are a random subset (drawn with ``rng``).
    """
    if scope not in ("all", "prefix"):
        raise ValueError(f"scope must be 'all' or 'prefix', got {scope!r}")
    mask = train_row_mask(inter, split, target=target, markets=markets)
    rows = split.order[mask[split.order]]
    if not rows.size:
        raise MarketDataError("no training rows")
    user = inter.user[rows]
    _, pos = group_starts(user)
    if scope == "prefix":
        hist, n = histories(inter, split, mask, user, exclude_item=inter.item[rows],
                            max_history=max_history, before_pos=pos)
    else:
        random = split.protocol == "paper"
        hist, n = histories(inter, split, mask, user, exclude_item=inter.item[rows],
                            max_history=max_history, newest=not random,
                            rng=rng if random else None)
    excl_keys = np.unique(inter.user[mask].astype(np.int64) * (inter.n_items + 1)
                          + inter.item[mask])
    p = rows.size
    k = num_negatives
    rep = np.repeat(np.arange(p), k)
    negs = _market_negatives(inter, user[rep], inter.market[rows][rep], excl_keys, rng)
    # Example order: each positive followed by its negatives; the trainer shuffles.
    row_hist = np.concatenate([np.arange(p)[:, None], rep.reshape(p, k)], axis=1).ravel()
    cand = np.concatenate([inter.item[rows][:, None], negs.reshape(p, k)], axis=1).ravel()
    label = np.zeros((p, k + 1), np.float32)
    label[:, 0] = 1.0
    return TrainRows(hist=hist, hist_len=n, row_hist=row_hist.astype(np.int32),
                     cand=cand.astype(np.int32), market=inter.market[rows][row_hist],
                     user=user[row_hist].astype(np.int32), label=label.ravel())


def _distinct_global_negatives(inter: Interactions, users: np.ndarray, want: np.ndarray,
                               excl_keys: np.ndarray, rng: np.random.Generator):
    """For each user, ``want[u]`` distinct items of 1..N minus its excluded items."""
    n1 = inter.n_items + 1
    got = np.zeros(0, np.int64)
    need = want.astype(np.int64).copy()
    for _ in range(1000):
        act = np.flatnonzero(need > 0)
        if not act.size:
            break
        draws = 2 * need[act] + 8
        uu = np.repeat(users[act].astype(np.int64), draws)
        keys = uu * n1 + rng.integers(1, n1, size=uu.size)
        keys = np.sort(keys[~_is_member(excl_keys, keys) & ~_is_member(got, keys)])
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        # Keep a random `need` of the fresh keys per user (unique() sorted them by item).
        pri = rng.random(keys.size)
        o = np.lexsort((pri, keys // n1))
        keys = keys[o]
        _, rank = group_starts(keys // n1)
        idx_of_user = np.searchsorted(users, keys // n1)
        keys = keys[rank < need[idx_of_user]]
        got = np.sort(np.concatenate([got, keys]))
        need = want - np.bincount(np.searchsorted(users, got // n1), minlength=users.size)
    return (got // n1).astype(np.int32), (got % n1).astype(np.int32)


def faithful_train_rows(inter: Interactions, split: Split, rng: np.random.Generator, *,
                        target: str | None = None, markets=None,
                        max_history: int = MAX_HISTORY, num_negatives: int = 4,
                        leak_target_in_history: bool = False) -> TrainRows:
    """A stage's `faithful`-variant rows [official-code, spec §1.2/§3.4]; call once per stage.

    Every training row (duplicates kept) is a positive; history = a random subset of H of the
    user's training rows minus every copy of the row's item (``leak_target_in_history=True``
    keeps it, reproducing the official leak). Negatives: per user min(pool, 4 × #unique
    training items) distinct items of the global pool minus the user's training items, drawn
    once, sharing the user's (random-subset) history.
    """
    mask = train_row_mask(inter, split, target=target, markets=markets)
    rows = split.order[mask[split.order]]
    if not rows.size:
        raise MarketDataError("no training rows")
    user = inter.user[rows]
    # One random order of each user's rows per stage, shared by its positives' histories and
    # its own (negatives') history, as the official loader's single random subset.
    order_seed = int(rng.integers(2**63))
    pos_hist, pos_n = histories(
        inter, split, mask, user, max_history=max_history,
        rng=np.random.default_rng(order_seed),
        exclude_item=None if leak_target_in_history else inter.item[rows])
    users = np.unique(user)
    user_hist, user_n = histories(inter, split, mask, users, max_history=max_history,
                                  rng=np.random.default_rng(order_seed))
    n1 = inter.n_items + 1
    excl_keys = np.unique(user.astype(np.int64) * n1 + inter.item[rows])
    n_unique = np.bincount(excl_keys // n1, minlength=inter.n_users)[users]
    want = np.minimum(inter.n_items - n_unique, num_negatives * n_unique)
    neg_user, neg_item = _distinct_global_negatives(inter, users, want, excl_keys, rng)
    p = rows.size
    neg_row = p + np.searchsorted(users, neg_user)
    return TrainRows(
        hist=np.concatenate([pos_hist, user_hist]), hist_len=np.concatenate([pos_n, user_n]),
        row_hist=np.concatenate([np.arange(p), neg_row]).astype(np.int32),
        cand=np.concatenate([inter.item[rows], neg_item]).astype(np.int32),
        market=np.concatenate([inter.market[rows], inter.user_market[neg_user]]).astype(np.int32),
        user=np.concatenate([user, neg_user]).astype(np.int32),
        label=np.concatenate([np.ones(p, np.float32), np.zeros(neg_item.size, np.float32)]))


def eval_inputs(inter: Interactions, split: Split, lists: EvalLists, *,
                max_history: int = MAX_HISTORY, include_valid: bool = False,
                rng: np.random.Generator | None = None) -> EvalInputs:
    """Histories for scoring ``lists``: the user's training items (spec §7.2).

    Most recent H in protocol order, or a random subset with ``rng`` (`paper`/`faithful`,
    redrawn per evaluation [official-code]). ``include_valid`` adds the validation item to the
    test history (`eval.test_history_includes_valid`, default off [our choice]).
    """
    mask = split.role == TRAIN
    if include_valid:
        if lists.name != "test":
            raise ValueError("include_valid applies to test lists only")
        mask = mask | (split.role == VALID)
    hist, n = histories(inter, split, mask, lists.user, max_history=max_history, rng=rng)
    return EvalInputs(hist=hist, hist_len=n, cands=lists.cands, market=lists.market,
                      user=lists.user)
