"""Popularity baselines (spec §8.1–8.2) scored on a protocol's candidate lists."""

from __future__ import annotations

import numpy as np

from affectjax import metrics
from affectjax.data.markets.interactions import Interactions
from affectjax.data.markets.split import TRAIN, EvalLists, Split

__all__ = ["KS", "popularity_counts", "score_lists", "ranking_metrics", "evaluate_scorer",
           "evaluate_popularity"]

KS = (5, 10)


def popularity_counts(inter: Interactions, split: Split, target: str,
                      kind: str = "target") -> np.ndarray:
    """Item scores [N+1] for evaluating market ``target`` (index 0 = padding, score 0).

    - ``target``: rows of the target's training part (the protocol's TRAIN rows).
    - ``global``: that plus every row of every other market, duplicates included — the
      definition that reproduces spec §9.2 (.233 avg NDCG@10 under `forec`).
    """
    m = inter.market_id(target)
    sel = (inter.market == m) & (split.role == TRAIN)
    if kind == "global":
        sel |= inter.market != m
    elif kind != "target":
        raise ValueError(f"kind must be 'target' or 'global', got {kind!r}")
    return np.bincount(inter.item[sel], minlength=inter.n_items + 1).astype(np.float64)


def score_lists(item_scores: np.ndarray, lists: EvalLists) -> np.ndarray:
    """[U, C] scores of every candidate, looked up from per-item scores."""
    return np.asarray(item_scores)[lists.cands]


def ranking_metrics(scores: np.ndarray, *, ks=KS, ties: str = "expected") -> dict[str, float]:
    """HR@k and NDCG@k (positive in column 0) with spec §7.3 exact expected ties."""
    out = {}
    for k in ks:
        out[f"hr@{k}"] = metrics.hr_at_k(scores, k, pos_index=0, ties=ties)
        out[f"ndcg@{k}"] = metrics.ndcg_at_k(scores, k, pos_index=0, ties=ties)
    return out


def evaluate_scorer(inter: Interactions, split: Split, scorer, *, which: str = "test",
                    kinds=("target", "global"), markets=None, ties: str = "expected",
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """``{kind: {market: metrics, ..., 'avg': unweighted mean over markets}}``.

    ``scorer(kind, code, lists)`` gives the [U, C] scores of market ``code``'s own lists; each
    market is the target in turn.
    """
    lists = split.lists(which)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for kind in kinds:
        res: dict[str, dict[str, float]] = {}
        for code in (markets or inter.markets):
            sub = lists.for_market(inter.market_id(code))
            if not len(sub):
                continue
            res[code] = ranking_metrics(scorer(kind, code, sub), ties=ties)
            res[code]["users"] = float(len(sub))
        names = [n for n in next(iter(res.values())) if n != "users"] if res else []
        res["avg"] = {n: float(np.mean([res[c][n] for c in res])) for n in names}
        out[kind] = res
    return out


def evaluate_popularity(inter: Interactions, split: Split, *, which: str = "test",
                        kinds=("target", "global"), markets=None, ties: str = "expected",
                        ) -> dict[str, dict[str, dict[str, float]]]:
    """Target and global popularity (``evaluate_scorer``'s result)."""
    return evaluate_scorer(
        inter, split,
        lambda kind, code, sub: score_lists(popularity_counts(inter, split, code, kind), sub),
        which=which, kinds=kinds, markets=markets, ties=ties)
