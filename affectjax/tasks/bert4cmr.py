"""Bert4CMR (ACMR) cross-market recommendation as one Task: stages, rows, BCE, ranking metrics.

Spec: ``specs/bert4cmr.md``. One Task serves every stage and every table row (§5, §8):

- ``config.stage``: ``pretrain`` trains on all loaded markets (the target's training part plus
  every other market's rows [official-code]; with ``data.pretrain_scope='shared'`` every
  market's training part only, one pretraining for all targets [our choice]); ``finetune``
  trains on the target's training part only. Both evaluate the target's validation lists for
  early stopping and its test lists at the end (a shared pretraining evaluates every market).
- ``config.model.kind``: ``bert4cmr`` (variants ``fixed``, ``faithful``, ``cloze``) or the
  matrix-factorisation baselines ``gmf``, ``mlp``, ``nmf`` [related-code: NCF/FOREC].

Data come from ``affectjax.data.markets.loading`` (read, protocol split, target), training
batches from ``affectjax.data.markets.stream`` (resumable epochs of history-bucketed rows); the
candidate-list batches and ranking metrics (HR/NDCG@5/10 per market and their unweighted
mean, exact expected ties, §7) are built here. ``predict`` returns scores [U, C]
(Bert4CMR repeats the history per candidate on the device, §10; users are grouped by history
bucket and one program picks the bucket's width with ``lax.switch``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from affectjax import metrics
from affectjax.data import markets as mk
from affectjax.data.markets.loading import MarketData, load_market_data
from affectjax.data.markets.stream import TrainStream, bucket_widths, make_train_builder
from affectjax.losses import ranking
from affectjax.models.bert4cmr import cloze_mask, make_model
from affectjax.models.mf import make_mf_model
from affectjax.train.task import DataContext, Task, TrainData

STAGES = ("pretrain", "finetune")
MODEL_KINDS = ("bert4cmr", "gmf", "mlp", "nmf")
VARIANTS = ("fixed", "faithful", "cloze")
KS = (5, 10)
METRIC_NAMES = tuple(f"{m}@{k}" for m in ("hr", "ndcg") for k in KS)
TEST_FILE = "test.json"


# ---------------------------------------------------------------------------------------------
# Evaluation


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


# ---------------------------------------------------------------------------------------------
# The Task


def check_config(config: ml_collections.ConfigDict) -> None:
    """Errors for combinations the spec rules out."""
    m, d = config.model, config.data
    if config.stage not in STAGES:
        raise ValueError(f"stage={config.stage!r}: a run is one of {STAGES} (the launcher "
                         "experiments/bert4cmr.py runs whole tables)")
    if m.kind not in MODEL_KINDS:
        raise ValueError(f"model.kind={m.kind!r}: expected one of {MODEL_KINDS}")
    if m.variant not in VARIANTS:
        raise ValueError(f"model.variant={m.variant!r}: expected one of {VARIANTS}")
    if d.leak_target_in_history and not (m.kind == "bert4cmr" and m.variant == "faithful"):
        raise ValueError("data.leak_target_in_history=True reproduces the official leak and is "
                         "allowed only with model.variant='faithful' (spec §3.4)")
    if d.history_scope not in ("all", "prefix"):
        raise ValueError(f"data.history_scope={d.history_scope!r}: expected all or prefix")
    if d.history_scope == "prefix" and not (m.kind == "bert4cmr" and m.variant == "fixed"):
        raise ValueError("data.history_scope='prefix' is an ablation of the fixed variant")


def build(config: ml_collections.ConfigDict) -> Task:
    """The Bert4CMR (or MF baseline) Task of ``config`` (see experiments/configs/bert4cmr.py)."""
    t_start = time.time()
    check_config(config)
    data = load_market_data(config)
    inter = data.inter
    m, d = config.model, config.data
    cloze = m.kind == "bert4cmr" and m.variant == "cloze"
    if m.kind == "bert4cmr":
        model = make_model(m, num_items=inter.n_items, num_markets=inter.n_markets,
                           max_history=d.max_history)
    else:
        model = make_mf_model(m.kind, num_users=inter.n_users, num_items=inter.n_items,
                              dim=m.mf_dim, layers=tuple(m.mf_layers),
                              init_std=m.mf_init_std)
    build_examples, max_width = make_train_builder(config, data, config.seed)
    # MF rows have no history: one bucket. Cloze sequences are one longer than histories.
    if m.kind != "bert4cmr":
        train_widths = (0,)
    elif cloze:
        train_widths = bucket_widths([w + 1 for w in d.buckets], max_width)
    else:
        train_widths = bucket_widths(d.buckets, max_width)
    eval_widths = bucket_widths(d.buckets, d.max_history)

    def _apply(params, batch, *, train, rng=None):
        rngs = {"dropout": rng} if rng is not None else None
        if m.kind == "bert4cmr":
            logit, _ = model.apply({"params": params}, batch["hist"], batch["hist_mask"],
                                   batch["cand"], batch["market"], train=train, rngs=rngs)
        else:
            logit, _ = model.apply({"params": params}, batch["user"], batch["cand"], train=train)
        return logit

    def init(rng, batch):
        b = batch["train"]
        if cloze:
            positions = jnp.zeros((b["seq"].shape[0], 1), jnp.int32)
            return model.init(rng, b["seq"], b["seq_mask"], b["market"], positions, train=False)
        if m.kind == "bert4cmr":
            return model.init(rng, b["hist"], b["hist_mask"], b["cand"], b["market"],
                              train=False)
        return model.init(rng, b["user"], b["cand"], train=False)

    def cloze_loss(params, b, rng):
        mask_rng, drop_rng, neg_rng = jax.random.split(rng, 3)
        c = cloze_mask(mask_rng, b["seq"], b["seq_mask"], mask_id=inter.n_items + 1,
                       mask_ratio=m.mask_ratio, last_item_mask_prob=m.last_item_mask_prob)
        weights = c["weights"] * b["weight"][:, None]
        variables = {"params": params}
        if m.cloze_loss == "softmax":
            logits, _ = model.apply(variables, c["inputs"], b["seq_mask"], b["market"],
                                    c["positions"], train=True, rngs={"dropout": drop_rng})
            return ranking.cloze_softmax_loss(logits, c["targets"], weights,
                                              num_items=inter.n_items)
        # bce_sampled: uniform negatives over 1..N [our choice: not excluding the user's items].
        negs = jax.random.randint(neg_rng, c["targets"].shape + (d.num_train_negatives,), 1,
                                  inter.n_items + 1)
        items = jnp.concatenate([c["targets"][..., None], negs], axis=-1)
        s, _ = model.apply(variables, c["inputs"], b["seq_mask"], b["market"], c["positions"],
                           items, train=True, rngs={"dropout": drop_rng})
        return ranking.cloze_sampled_bce_loss(s[..., 0], s[..., 1:], weights)

    def loss(params, variables, batch, rng, step):
        del variables, step
        b = batch["train"]
        if cloze:
            value = cloze_loss(params, b, rng)
            return value, {"rows": jnp.sum(b["weight"])}
        logit = _apply(params, b, train=True, rng=rng)
        value = ranking.bce_with_logits(logit, b["label"], b["weight"])
        w = b["weight"]
        correct = ((logit > 0) == (b["label"] > 0.5)).astype(jnp.float32)
        acc = jnp.sum(w * correct) / jnp.maximum(jnp.sum(w), 1.0)
        return value, {"accuracy": acc, "rows": jnp.sum(w)}

    def predict(params, variables, batch):
        del variables
        cands = batch["cands"]
        if m.kind != "bert4cmr":
            user = jnp.broadcast_to(batch["user"][:, None], cands.shape)
            scores, _ = model.apply({"params": params}, user, cands, train=False)
            return {"scores": scores.astype(jnp.float32)}

        def scorer(width):
            def score(hist, hist_mask):
                s, _ = model.apply({"params": params}, hist[:, :width], hist_mask[:, :width],
                                   cands, batch["market"], train=False,
                                   method=type(model).score_candidates)
                return s.astype(jnp.float32)
            return score

        hist, hist_mask = batch["hist"], batch["hist_mask"]
        if len(eval_widths) == 1:
            return {"scores": scorer(eval_widths[0])(hist, hist_mask)}
        # Eval batches keep the full width H (the trainer concatenates them for the
        # evaluator), so the bucket is chosen inside one program: the narrowest width holding
        # the batch's longest history; only that branch runs.
        longest = jnp.max(jnp.sum(hist_mask, axis=1))
        branch = jnp.minimum(jnp.searchsorted(jnp.asarray(eval_widths), longest),
                             len(eval_widths) - 1)
        scores = jax.lax.switch(branch, [scorer(w) for w in eval_widths], hist, hist_mask)
        return {"scores": scores}

    def train_data(ctx: DataContext) -> TrainData:
        local = ctx.local_batch_size(config.batch_size)
        lo = ctx.process_index * local
        stream = TrainStream(build_examples, batch_size=config.batch_size,
                             widths=train_widths, seed=ctx.seed, local=(lo, lo + local))
        return TrainData({"train": stream}, steps_per_epoch=stream.batches_in_epoch(0))

    def eval_data(ctx: DataContext):
        sets = {}
        for name in ("valid", "test"):
            if getattr(data.split, name) is None:
                continue
            batches = eval_batches(config, data, name, eval_widths, ctx.seed)
            if batches:
                sets[name] = batches
        return sets

    def finalize(workdir: str, results: Mapping[str, Any]) -> None:
        final = results.get("final", {})
        split_metrics = {name: {k.removeprefix(f"{name}/"): v for k, v in final.items()
                                if k.startswith(f"{name}/")} for name in ("test", "valid")}
        payload = {
            "stage": config.stage, "target": data.target, "eval_markets": data.eval_markets,
            "model": m.kind, "variant": m.variant if m.kind == "bert4cmr" else None,
            "protocol": data.split.protocol, "seed": config.seed,
            # The restored best checkpoint's metrics; "valid" is what early stopping watched.
            **split_metrics, "step": results.get("step"),
            "early_stop": results.get("early_stop"),
            # This invocation's, plus the trainer's record of the invocations it resumed
            # (wall_complete False: one resumed from a checkpoint that predates the record).
            "wall_s": time.time() - t_start + results.get("earlier_elapsed_s", 0.0),
            "wall_complete": results.get("elapsed_complete", True),
        }
        with open(os.path.join(workdir, TEST_FILE), "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True)

    metadata = {
        "markets": list(inter.markets), "items": inter.item_ids.tolist(),
        "protocol": data.split.protocol, "split_seed": int(data.split.seed),
        "model_kind": m.kind,
        # Stage-specific facts under a stage-named key, so pretrain and finetune never compare.
        f"{config.stage}_stage": {"target": data.target, "eval_markets": data.eval_markets},
    }
    return Task(
        name="bert4cmr", init=init, loss=loss, predict=predict, train_data=train_data,
        eval_data=eval_data,
        evaluators={"ranking": ranking_evaluator(inter.markets, ties=config.eval.ties)},
        metadata=metadata, finalize=finalize)


def load_test_results(workdir: str) -> dict[str, Any]:
    """A stage's ``test.json`` (written at its end)."""
    with open(os.path.join(workdir, TEST_FILE)) as f:
        return json.load(f)
