"""Item co-occurrence baselines (spec §6.6's transfer proxies) scored on candidate lists.

A candidate's score is how often it was rated by the same user as each item of the list
user's training history: s(u, c) = Σ_{h ∈ H_u} C[h, c], with C[i, j] the number of users who
rated both i and j (each user counted once per pair, C[i, i] = 0) [our choice: the spec names
the proxy, not its formula]. Counted on the target's training part only (``target``) or on
that plus every kept row of the other markets (``global``: the rows a per-target pretraining
sees, spec §5), the pair of numbers measures what the other markets add without any model.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from affectjax.data.markets.interactions import Interactions
from affectjax.data.markets.popularity import evaluate_scorer
from affectjax.data.markets.rows import train_row_mask
from affectjax.data.markets.split import EvalLists, Split

__all__ = ["KINDS", "cooccurrence_matrix", "cooccurrence_scores", "evaluate_cooccurrence"]

KINDS = ("target", "global")
_CHUNK_USERS = 512  # dense [chunk, N+1] score block per step: ~34 MB at XMarket's 8,304 items


def _user_items(inter: Interactions, mask: np.ndarray) -> sparse.csr_matrix:
    """Binary [users, N+1] matrix of the masked rows (a repeated rating counts once)."""
    rows = np.flatnonzero(mask)
    x = sparse.csr_matrix((np.ones(rows.size, np.float64), (inter.user[rows], inter.item[rows])),
                          shape=(inter.n_users, inter.n_items + 1))
    x.data[:] = 1.0  # the constructor summed duplicates
    return x


def cooccurrence_matrix(inter: Interactions, split: Split, target: str,
                        kind: str = "target") -> sparse.csr_matrix:
    """C [N+1, N+1]: users who rated both items, from the rows ``kind`` names (see module)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    mask = (train_row_mask(inter, split, target=target) if kind == "global"
            else train_row_mask(inter, split, markets=[target]))
    x = _user_items(inter, mask)
    c = (x.T @ x).tocsr()
    c.setdiag(0.0)
    c.eliminate_zeros()
    return c


def cooccurrence_scores(inter: Interactions, split: Split, lists: EvalLists, target: str,
                        kind: str = "target") -> np.ndarray:
    """[U, C] scores of ``lists`` (users of ``target``) from each user's training items."""
    c = cooccurrence_matrix(inter, split, target, kind)
    history = _user_items(inter, train_row_mask(inter, split, markets=[target]))[lists.user]
    out = np.empty(lists.cands.shape, np.float64)
    for lo in range(0, len(lists), _CHUNK_USERS):
        block = (history[lo:lo + _CHUNK_USERS] @ c).toarray()
        out[lo:lo + _CHUNK_USERS] = np.take_along_axis(block, lists.cands[lo:lo + _CHUNK_USERS],
                                                       axis=1)
    return out


def evaluate_cooccurrence(inter: Interactions, split: Split, *, which: str = "test",
                          kinds=KINDS, markets=None, ties: str = "expected",
                          ) -> dict[str, dict[str, dict[str, float]]]:
    """Target and global co-occurrence, shaped as ``evaluate_popularity``'s result."""
    return evaluate_scorer(
        inter, split, lambda kind, code, sub: cooccurrence_scores(inter, split, sub, code, kind),
        which=which, kinds=kinds, markets=markets, ties=ties)
