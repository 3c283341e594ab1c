"""Bert4CMR evaluation: candidate-list batches by history bucket and the ranking reduction.

Spec bert4cmr.md §7, §10: each user's history and 100 candidates (positive in column 0);
HR@5/HR@10/NDCG@5/NDCG@10 per market with exact expected ties, and their unweighted mean over
markets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import ml_collections
import numpy as np

from affectjax import metrics
from affectjax.data import markets as mk
from affectjax.data.markets.loading import MarketData

KS = (5, 10)
METRIC_NAMES = tuple(f"{m}@{k}" for m in ("hr", "ndcg") for k in KS)


def eval_batches(config: ml_collections.ConfigDict, data: MarketData, name: str,
                 widths: Sequence[int], seed: int) -> list[dict[str, np.ndarray]]:
    """The ``name`` lists of the evaluated markets as batches of ``eval.batch_users`` users.

    Keys: ``hist``/``hist_mask`` [U, H], ``cands``/``cand_mask`` [U, C], ``market`` [U],
    ``user`` [U], ``has_positive`` [U]. Users are grouped by history bucket, so ``predict``
    runs each batch at its bucket's width; the evaluator groups by market, so the order does
    not matter.
    """
    d = config.data
    lists = data.split.lists(name)
    keep = np.isin(lists.market, [data.inter.market_id(c) for c in data.eval_markets])
    if name == "valid" and config.eval.max_valid_users:
        keep &= _subsample(lists, config.eval.max_valid_users)
    lists = dataclasses.replace(lists, user=lists.user[keep], market=lists.market[keep],
                                cands=lists.cands[keep])
    if not len(lists):
        return []
    random_hist = (config.model.variant == "faithful" and config.model.kind == "bert4cmr"
                   ) or data.split.protocol == "paper"
    # `paper`/`faithful`: a random subset of H training items, drawn once per run and split
    # [our choice: the official loader redraws it per evaluation; few users exceed H].
    rng = np.random.default_rng([seed, 0 if name == "valid" else 1, 2]) if random_hist else None
    inputs = mk.eval_inputs(
        data.inter, data.split, lists, max_history=d.max_history, rng=rng,
        include_valid=name == "test" and config.eval.test_history_includes_valid)
    which = np.searchsorted(widths, inputs.hist_len)
    bu = config.eval.batch_users
    out = []
    for b in range(len(widths)):
        idx = np.flatnonzero(which == b)
        for i in range(0, idx.size, bu):
            j = idx[i:i + bu]
            hist = inputs.hist[j]
            cands = inputs.cands[j]
            out.append({"hist": hist, "hist_mask": hist > 0, "cands": cands,
                        "cand_mask": cands > 0, "market": inputs.market[j],
                        "user": inputs.user[j],
                        "has_positive": np.full(j.size, lists.has_positive)})
    # The trainer pads every eval batch to the first one's size, so the largest goes first.
    out.sort(key=lambda batch: -batch["cands"].shape[0])
    return out


def _subsample(lists: mk.EvalLists, per_market: int) -> np.ndarray:
    """A fixed random subset of at most ``per_market`` users of each market [our choice]."""
    keep = np.zeros(len(lists), bool)
    for m in np.unique(lists.market):
        idx = np.flatnonzero(lists.market == m)
        pick = np.random.default_rng([int(m), 3]).permutation(idx.size)[:per_market]
        keep[idx[pick]] = True
    return keep


def ranking_evaluator(markets: Sequence[str], ties: str = "expected", ks: Sequence[int] = KS
                      ) -> Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]],
                                    dict[str, float]]:
    """Host reduction: scores [U, C] (positive in column 0) → per-market and averaged metrics.

    ``markets[m - 1]`` names market id m. Padded candidates (``cand_mask`` False) score -inf so
    they never outrank anything. Lists without a known positive (a WSDM test run) give no
    metrics. The average is the unweighted mean of the market means (§7.3).
    """

    def evaluate(predictions: Mapping[str, np.ndarray], batch: Mapping[str, np.ndarray]
                 ) -> dict[str, float]:
        scores = np.asarray(predictions["scores"], np.float64)
        if "cand_mask" in batch:
            scores = np.where(np.asarray(batch["cand_mask"], bool), scores, -np.inf)
        has = np.asarray(batch.get("has_positive", np.ones(scores.shape[0], bool)), bool)
        market = np.asarray(batch["market"])
        out: dict[str, float] = {}
        per_market = []
        for m in np.unique(market[has]).tolist():
            s = scores[has & (market == m)]
            res = {}
            for k in ks:
                res[f"hr@{k}"] = metrics.hr_at_k(s, k, pos_index=0, ties=ties)
                res[f"ndcg@{k}"] = metrics.ndcg_at_k(s, k, pos_index=0, ties=ties)
            code = markets[m - 1]
            out.update({f"{code}/{name}": value for name, value in res.items()})
            out[f"{code}/users"] = float(s.shape[0])
            per_market.append(res)
        if per_market:
            for name in per_market[0]:
                out[name] = float(np.mean([r[name] for r in per_market]))
        return out

    return evaluate


