"""Bert4CMR's training stream: endless, resumable epochs of history-bucketed batches.

Spec bert4cmr.md §3.4, §10. Every epoch's rows are rebuilt with vectorised numpy from a generator
seeded by ``(seed, epoch)`` (``fixed``: fresh negatives per epoch [our choice]; ``faithful``:
one draw per stage [official-code], reshuffled per epoch), grouped into a few fixed history-length
buckets (one compiled program per bucket; padding is masked) and padded to ``batch_size`` rows
with weight 0. The state ``{"epoch", "position"}`` is JSON, so the trainer checkpoints it and a
resumed run sees exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ml_collections
import numpy as np

from affectjax.data import markets as mk
from affectjax.data.markets.loading import MarketData, stage_rows_kwargs

log = logging.getLogger(__name__)


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


