"""Bert4CMR (ACMR) cross-market recommendation as one Task: data, model, BCE and ranking metrics.

Spec: ``specs/bert4cmr.md``. One Task serves every stage and every table row (§5, §8):

- ``config.stage``: ``pretrain`` trains on all loaded markets (the target's training part plus
  every other market's rows [official-code]; with ``data.pretrain_scope='shared'`` every
  market's training part only, one pretraining for all targets [our choice]); ``finetune``
  trains on the target's training part only. Both evaluate the target's validation lists for
  early stopping and its test lists at the end (a shared pretraining evaluates every market).
- ``config.model.kind``: ``bert4cmr`` (variants ``fixed``, ``faithful``, ``cloze``) or the
  matrix-factorisation baselines ``gmf``, ``mlp``, ``nmf`` [related-code: NCF/FOREC].

Training stream (:class:`TrainStream`): every epoch's rows are rebuilt with vectorised numpy from
a generator seeded by ``(seed, epoch)`` (`fixed`: fresh negatives per epoch [our choice];
`faithful`: one draw per stage [official-code], reshuffled per epoch), grouped into a few fixed
history-length buckets (§10 [our choice]: one compiled program per bucket; padding is masked, so
results equal those of full-width rows) and padded to ``batch_size`` rows with weight 0. Its
state ``{"epoch", "position"}`` is JSON, so the trainer checkpoints it and a resumed run sees
exactly the batches of an uninterrupted one.

Evaluation (§7, §10): one eval batch holds ``eval.batch_users`` users, each with its history
[H] and its 100 candidates [C] (positive in column 0); ``predict`` returns scores [U, C]
(Bert4CMR repeats the history per candidate on the device, §10; users are grouped by history
bucket and one program picks the bucket's width with ``lax.switch``) and the evaluator reports
HR@5/HR@10/NDCG@5/NDCG@10 per market (``valid/jp/ndcg@10``) and their unweighted mean over
markets (``valid/ndcg@10``), with exact expected ties (§7.3 [our choice]).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import os
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from affectjax import metrics
from affectjax.data import markets as mk
from affectjax.losses import ranking
from affectjax.models.bert4cmr import cloze_mask, make_model
from affectjax.models.mf import make_mf_model
from affectjax.train.task import DataContext, Task, TrainData

log = logging.getLogger(__name__)

SOURCES = ("synthetic", "xmarket", "wsdm22", "ml100k")
STAGES = ("pretrain", "finetune")
MODEL_KINDS = ("bert4cmr", "gmf", "mlp", "nmf")
VARIANTS = ("fixed", "faithful", "cloze")
KS = (5, 10)
METRIC_NAMES = tuple(f"{m}@{k}" for m in ("hr", "ndcg") for k in KS)
TEST_FILE = "test.json"


# ---------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True, eq=False)
class MarketData:
    """Loaded interactions, their protocol split, and the stage's target (None = all markets)."""

    inter: mk.Interactions
    split: mk.Split
    target: str | None
    source: str

    @property
    def eval_markets(self) -> list[str]:
        """Markets whose lists are evaluated: the target, or every market with lists."""
        if self.target is not None:
            return [self.target]
        lists = self.split.valid if self.split.valid is not None else self.split.test
        ids = np.unique(lists.market) if lists is not None else []
        return [self.inter.markets[m - 1] for m in ids]


def default_cache_dir() -> pathlib.Path:
    return pathlib.Path(os.path.expanduser("~/.cache/affectjax/markets"))


def _cache_dir(d: ml_collections.ConfigDict) -> pathlib.Path:
    return pathlib.Path(d.cache_dir) if d.cache_dir else default_cache_dir()


def synth_config(d: ml_collections.ConfigDict) -> mk.SynthConfig:
    """The generator knobs: the ``data.synth.size`` preset with ``data.synth.*`` overrides."""
    base = dataclasses.asdict(mk.SynthConfig.named(d.synth.size))
    for key, value in d.synth.items():
        if key in ("size", "seed") or value is None:
            continue
        if key not in base:
            raise ValueError(f"data.synth.{key} is not a generator knob; known: {sorted(base)}")
        base[key] = tuple(value) if isinstance(base[key], tuple) else value
    return mk.SynthConfig(**base)


def synthetic_root(d: ml_collections.ConfigDict) -> pathlib.Path:
    """Generate (once, cached by its knobs and seed) the synthetic markets; returns the folder."""
    synth = synth_config(d)
    stamp = json.dumps([dataclasses.asdict(synth), d.synth.seed], sort_keys=True)
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    root = pathlib.Path(d.root) if d.root else _cache_dir(d) / f"synthetic-{key}"
    marker = root / "GENERATOR.json"
    if not (marker.exists() and marker.read_text() == stamp):
        mk.write_synthetic(root, synth, d.synth.seed)
        marker.write_text(stamp)
    return root


def _read(d: ml_collections.ConfigDict):
    """(Interactions, given Split or None) of ``data.source``."""
    markets = list(d.markets) or None
    if d.source == "synthetic":
        return mk.read_xmarket(synthetic_root(d), markets), None
    if not d.root and d.source != "ml100k":
        raise ValueError(f"data.source={d.source!r} needs data.root (the folder of its files)")
    if d.source == "xmarket":
        return mk.read_xmarket(d.root, markets), None
    if d.source == "wsdm22":
        w = mk.read_wsdm22(d.root, markets)
        return w.interactions, w.split()
    if d.source == "ml100k":
        inter = mk.read_ml100k(d.root or None)
        if markets:
            inter = mk.assemble([p for p in mk.to_parts(inter) if p.code in markets],
                                time_unit=inter.time_unit)
        return inter, None
    raise ValueError(f"data.source={d.source!r}: expected one of {SOURCES}")


def default_target(inter: mk.Interactions, split: mk.Split) -> str:
    """The market with the fewest users that has evaluation lists [our choice]."""
    lists = split.valid if split.valid is not None else split.test
    ids = np.unique(lists.market)
    users = np.bincount(lists.market, minlength=inter.n_markets + 1)
    # Fewest users; the last code on ties (the synthetic generator's rule).
    best = min(ids.tolist(), key=lambda m: (users[m], -m))
    return inter.markets[best - 1]


_LOADED: dict[str, tuple[mk.Interactions, mk.Split]] = {}


def split_seed(config: ml_collections.ConfigDict) -> int:
    """`paper`: the run seed (a fresh split per run [official-code]); `forec`: data.split_seed."""
    return config.seed if config.data.protocol == "paper" else config.data.split_seed


def load_market_data(config: ml_collections.ConfigDict) -> MarketData:
    """Read ``config.data``, split it by its protocol and resolve the stage's target.

    Results are memoised per process (a launcher builds many runs on the same data); splits are
    also cached on disk under ``data.cache_dir``.
    """
    d = config.data
    protocol = "given" if d.source == "wsdm22" else d.protocol
    if d.source == "wsdm22" and d.protocol not in ("given", ""):
        raise ValueError("data.source='wsdm22' comes with its candidate lists: protocol 'given'")
    if protocol not in mk.PROTOCOLS:
        raise ValueError(f"data.protocol={d.protocol!r}: expected one of {mk.PROTOCOLS}")
    seed = split_seed(config)
    key = json.dumps([d.source, d.root, list(d.markets), protocol, seed, d.cache_dir,
                      d.synth.to_dict() if d.source == "synthetic" else None], sort_keys=True)
    if key not in _LOADED:
        inter, given = _read(d)
        if protocol == "given":
            split = given
        else:
            split = mk.make_split(inter, protocol, seed=seed,
                                  cache_dir=_cache_dir(d) / "splits")
        _LOADED[key] = (inter, split)
    inter, split = _LOADED[key]
    target = d.target or default_target(inter, split)
    inter.market_id(target)  # a clear error for an unknown code
    shared = config.stage == "pretrain" and d.pretrain_scope == "shared"
    if d.pretrain_scope not in ("target", "shared"):
        raise ValueError(f"data.pretrain_scope={d.pretrain_scope!r}: expected target or shared")
    return MarketData(inter=inter, split=split, target=None if shared else target,
                      source=d.source)


def stage_rows_kwargs(config: ml_collections.ConfigDict, data: MarketData) -> dict:
    """``target``/``markets`` arguments of the row builders for this stage (§5 table)."""
    if config.stage == "pretrain":
        return {"target": data.target, "markets": None}
    return {"target": data.target, "markets": [data.target]}


# ---------------------------------------------------------------------------------------------
# Training stream


@dataclasses.dataclass(frozen=True, eq=False)
class Examples:
    """One epoch's examples: their bucketing lengths and a batch gatherer.

    ``gather(idx, width)`` builds the batch of examples ``idx`` with histories cut to ``width``;
    shared tables (a positive and its negatives use one history row) are gathered per batch
    rather than copied per example.
    """

    n: int
    length: np.ndarray  # int [n]: history length that decides the bucket
    gather: Callable[[np.ndarray, int], dict[str, np.ndarray]]  # (example idx, width) -> batch


def bucket_widths(buckets: Sequence[int], max_width: int) -> tuple[int, ...]:
    """Sorted unique bucket widths capped at, and always including, ``max_width``."""
    widths = sorted({min(int(w), max_width) for w in buckets if int(w) > 0} | {max_width})
    return tuple(widths)


class TrainStream:
    """Endless, resumable epochs of bucketed batches; state ``{"epoch", "position"}``.

    ``build(epoch) -> Examples`` must be a pure function of ``epoch`` (it seeds its own
    generator), so any state can be rebuilt exactly. Each epoch: examples are shuffled with
    ``default_rng([seed, epoch, 1])``, split by bucket (shuffled order kept), cut into global
    batches of ``batch_size`` (the last of each bucket padded with weight-0 rows), and the batch
    order is shuffled. A process yields its ``[lo, hi)`` slice of every global batch, so the
    processes' batches concatenate to the global one. The next epoch is built in a background
    thread while this one is consumed.
    """

    def __init__(self, build: Callable[[int], Examples], *, batch_size: int, widths: Sequence[int],
                 seed: int, local: tuple[int, int] | None = None, prefetch: bool = True):
        self.build, self.batch_size, self.seed = build, int(batch_size), int(seed)
        self.widths = tuple(widths)
        self.lo, self.hi = local if local is not None else (0, self.batch_size)
        self.epoch, self.position = 0, 0
        self._built: dict[int, tuple[Examples, list]] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(1) if prefetch else None
        self._pending: dict[int, concurrent.futures.Future] = {}
        self._batches: int | None = None

    # -- state ---------------------------------------------------------------------------------
    def get_state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])

    # -- epochs --------------------------------------------------------------------------------
    def _plan(self, epoch: int) -> tuple[Examples, list]:
        ex = self.build(epoch)
        rng = np.random.default_rng([self.seed, epoch, 1])
        order = rng.permutation(ex.n)
        which = np.searchsorted(self.widths, ex.length[order])
        if (which >= len(self.widths)).any():
            raise ValueError(f"an example has history length {int(ex.length.max())} > the "
                             f"largest bucket {self.widths[-1]}")
        batches = []
        for b, width in enumerate(self.widths):
            idx = order[which == b]
            batches += [(width, idx[i:i + self.batch_size])
                        for i in range(0, idx.size, self.batch_size)]
        return ex, [batches[i] for i in rng.permutation(len(batches))]

    def _epoch_plan(self, epoch: int) -> tuple[Examples, list]:
        if epoch not in self._built:
            future = self._pending.pop(epoch, None)
            self._built = {epoch: future.result() if future else self._plan(epoch)}
            if self._pool is not None and epoch + 1 not in self._pending:
                self._pending = {epoch + 1: self._pool.submit(self._plan, epoch + 1)}
            n = len(self._built[epoch][1])
            if self._batches is None:
                self._batches = n
            elif n != self._batches:
                # Bucket sizes are fixed by the positives' history lengths, which do not change
                # between epochs; if they ever do, epoch-based evaluation drifts off epochs.
                log.warning("epoch %d has %d batches, an earlier one had %d", epoch, n,
                            self._batches)
        return self._built[epoch]

    def batches_in_epoch(self, epoch: int = 0) -> int:
        return len(self._epoch_plan(epoch)[1])

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        ex, plan = self._epoch_plan(self.epoch)
        while self.position >= len(plan):
            self.epoch, self.position = self.epoch + 1, 0
            ex, plan = self._epoch_plan(self.epoch)
        width, idx = plan[self.position]
        self.position += 1
        full = np.full(self.batch_size, -1, np.int64)
        full[:idx.size] = idx
        mine = full[self.lo:self.hi]
        valid = mine >= 0
        batch = ex.gather(np.where(valid, mine, 0), width)
        # Padding rows reuse example 0's inputs (always valid model inputs) with weight 0.
        batch["weight"] = valid.astype(np.float32)
        return batch


def _row_examples(rows: mk.TrainRows, *, with_hist: bool) -> Examples:
    """Examples of (history, candidate, market[, user], label) rows sharing history rows."""

    def gather(idx: np.ndarray, width: int) -> dict[str, np.ndarray]:
        out = {"cand": rows.cand[idx], "market": rows.market[idx],
               "label": rows.label[idx].astype(np.float32)}
        if with_hist:
            hist = rows.hist[rows.row_hist[idx], :width]
            out.update(hist=hist, hist_mask=hist > 0)
        else:
            out["user"] = rows.user[idx]
        return out

    length = rows.hist_len[rows.row_hist] if with_hist else np.zeros(len(rows), np.int32)
    return Examples(n=len(rows), length=length, gather=gather)


def _sequence_examples(seq: np.ndarray, seq_len: np.ndarray, market: np.ndarray) -> Examples:
    """Cloze examples: chronological training sequences (bucketed by length)."""

    def gather(idx: np.ndarray, width: int) -> dict[str, np.ndarray]:
        s = seq[idx, :width]
        return {"seq": s, "seq_mask": s > 0, "market": market[idx]}

    return Examples(n=int(seq.shape[0]), length=seq_len, gather=gather)


def make_train_builder(config: ml_collections.ConfigDict, data: MarketData, seed: int
                       ) -> tuple[Callable[[int], Examples], int]:
    """(epoch -> Examples, max history width) for the configured model and variant."""
    d, m = config.data, config.model
    inter, split = data.inter, data.split
    where = stage_rows_kwargs(config, data)
    h = d.max_history
    if m.kind == "bert4cmr" and m.variant == "cloze":
        # Chronological training sequence, most recent H+1 items [related-code: BERT4Rec].
        mask = mk.train_row_mask(inter, split, **where)
        users = np.unique(inter.user[mask]).astype(np.int32)
        seq, n = mk.histories(inter, split, mask, users, max_history=h + 1)
        examples = _sequence_examples(seq, n, inter.user_market[users].astype(np.int32))
        return (lambda epoch: examples), h + 1
    with_hist = m.kind == "bert4cmr"
    if m.kind == "bert4cmr" and m.variant == "faithful":
        # One draw of rows and negatives per stage, reshuffled each epoch [official-code].
        rows = mk.faithful_train_rows(
            inter, split, np.random.default_rng([seed, 0, 0]), max_history=h,
            num_negatives=d.num_train_negatives,
            leak_target_in_history=d.leak_target_in_history, **where)
        examples = _row_examples(rows, with_hist=with_hist)
        return (lambda epoch: examples), h

    def build(epoch: int) -> Examples:
        # Fresh negatives every epoch from a generator of (seed, epoch) [our choice, §3.4].
        rows = mk.fixed_train_rows(
            inter, split, np.random.default_rng([seed, epoch, 0]), max_history=h,
            num_negatives=d.num_train_negatives, scope=d.history_scope, **where)
        return _row_examples(rows, with_hist=with_hist)

    return build, h


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
            # This invocation only (a resumed run reports the time since it resumed).
            "wall_s": time.time() - t_start,
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
