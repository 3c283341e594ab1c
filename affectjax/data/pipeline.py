"""grain pipelines shared by every task: sharded endless train streams, re-iterable eval sets."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import grain
import numpy as np

from affectjax.train.task import DataContext


class ProcessShard(grain.MapDataset):
    """This process's rows of every global batch, so that processes' batches concatenate to it.

    Local index j maps to global index (j // L) * G + p * L + j % L for local batch L, global
    batch G and process p: a 2-process run sees exactly the global batches of a 1-process run.
    """

    def __init__(self, parent: grain.MapDataset, global_batch: int, ctx: DataContext):
        super().__init__(parent)
        self._global = global_batch
        self._local = ctx.local_batch_size(global_batch)
        self._offset = ctx.process_index * self._local

    def __len__(self) -> int:
        return len(self._parent) // self._global * self._local

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.slice(index)
        block, row = divmod(index, self._local)
        return self._parent[block * self._global + self._offset + row]

    def __str__(self) -> str:
        return f"ProcessShard(global={self._global}, local={self._local}, offset={self._offset})"


class EpochShuffled(grain.MapDataset):
    """The parent repeated forever, each epoch in its own order: a permutation of (seed, epoch).

    Same contract as ``shuffle(seed).repeat()`` (every record once per epoch, a new order each
    epoch, any position recomputable) at a fraction of the cost: grain's per-index shuffle costs
    ~90 µs a record, here one permutation per epoch is drawn and cached.
    """

    def __init__(self, parent: grain.MapDataset, seed: int):
        super().__init__(parent)
        self._seed, self._n = seed, len(parent)
        self._cached = (-1, np.empty(0, np.int64))  # (epoch, order): one atomic reference

    def __len__(self) -> int:
        return sys.maxsize

    def _permutation(self, epoch: int) -> np.ndarray:
        # Reader threads may ask for two epochs around a boundary: read and replace the cache as
        # one tuple so a thread never pairs one epoch with another's order.
        cached_epoch, order = self._cached
        if cached_epoch != epoch:
            order = np.random.default_rng([self._seed, epoch]).permutation(self._n)
            self._cached = (epoch, order)
        return order

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.slice(index)
        epoch, position = divmod(index, self._n)
        return self._parent[int(self._permutation(epoch)[position])]

    def __str__(self) -> str:
        return f"EpochShuffled(n={self._n}, seed={self._seed})"


class ClassBalanced(grain.MapDataset):
    """Endless sampling with replacement, each class equally likely (weight 1/n_c per record).

    Draw i picks a class, then a record of it, from a generator seeded by (seed, i): any
    position can be recomputed, so the stream is reproducible, shardable and resumable.
    """

    def __init__(self, parent: grain.MapDataset, labels: np.ndarray, seed: int):
        super().__init__(parent)
        labels = np.asarray(labels)
        if len(labels) != len(parent):
            raise ValueError(f"class balancing: {len(labels)} labels for {len(parent)} records")
        self._classes = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        self._seed = seed

    def __len__(self) -> int:
        return sys.maxsize

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.slice(index)
        rng = np.random.default_rng([self._seed, index])
        members = self._classes[rng.integers(len(self._classes))]
        return self._parent[int(members[rng.integers(len(members))])]

    def __str__(self) -> str:
        return f"ClassBalanced(classes={len(self._classes)}, seed={self._seed})"


def padded_batch(pad_keys: Sequence[str], buckets: Sequence[int] | None = None,
                 mask_key: str = "mask") -> Callable[[Sequence[dict]], dict]:
    """A grain ``batch_fn`` that pads the leading axis of ``pad_keys`` arrays to a bucket.

    The padded length is the smallest bucket >= the batch's longest item (or that length when
    ``buckets`` is None), so a run compiles one program per bucket instead of one per length.
    ``mask_key`` holds True on real frames. Items longer than the largest bucket are an error:
    cropping them here would silently drop data; crop in a transform instead.
    """
    buckets = sorted(buckets) if buckets else None

    def batch_fn(items: Sequence[dict]) -> dict:
        longest = max(len(item[pad_keys[0]]) for item in items)
        if buckets is None:
            length = longest
        else:
            fitting = [b for b in buckets if b >= longest]
            if not fitting:
                raise ValueError(f"an item of length {longest} exceeds the largest bucket "
                                 f"{buckets[-1]}; crop it in a transform first")
            length = fitting[0]
        out = {}
        for key in items[0]:
            if key in pad_keys:
                arrays = [np.asarray(item[key]) for item in items]
                padded = np.zeros((len(items), length, *arrays[0].shape[1:]), arrays[0].dtype)
                for row, a in enumerate(arrays):
                    padded[row, : len(a)] = a
                out[key] = padded
            else:
                out[key] = np.stack([np.asarray(item[key]) for item in items])
        mask = np.zeros((len(items), length), bool)
        for row, item in enumerate(items):
            mask[row, : len(item[pad_keys[0]])] = True
        out[mask_key] = mask
        return out

    return batch_fn


def steps_per_epoch(num_examples: int, global_batch_size: int) -> int:
    return max(1, math.ceil(num_examples / global_batch_size))


def train_stream(
    source: Sequence[Any] | grain.MapDataset,
    *,
    global_batch_size: int,
    ctx: DataContext,
    seed: int,
    transform: Callable[[Any, np.random.Generator], Any] | None = None,
    balance_labels: np.ndarray | None = None,
    batch_fn: Callable[[Sequence[Any]], Any] | None = None,
    num_threads: int = 0,
    num_workers: int = 0,
) -> grain.IterDataset:
    """Shuffled (a new order each epoch), repeated forever, sharded by process, batched.

    ``balance_labels`` (one label per record) switches to class-balanced sampling with
    replacement; ``batch_fn`` replaces stacking (e.g. ``padded_batch`` for variable lengths).

    ``transform(record, rng)`` runs per record with a generator seeded by (seed, position), so
    augmentation is reproducible and resumes exactly. ``num_workers > 0`` decodes in worker
    processes (grain needs absl flags parsed first and a ``__main__`` guard in the script).
    """
    if len(source) == 0:
        raise ValueError("train_stream: the source has no records")
    ds = source if isinstance(source, grain.MapDataset) else grain.MapDataset.source(source)
    if balance_labels is not None:
        ds = ClassBalanced(ds, balance_labels, seed)
    else:
        ds = EpochShuffled(ds, seed)
    if transform is not None:
        ds = ds.random_map(_RandomTransform(transform), seed=seed)
    ds = ProcessShard(ds, global_batch_size, ctx)
    ds = ds.batch(ctx.local_batch_size(global_batch_size), drop_remainder=True,
                  batch_fn=batch_fn)
    it = ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=
                                              max(2 * num_threads, 1) if num_threads else 0))
    if num_workers:
        it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
    return it


class _RandomTransform(grain.transforms.RandomMap):
    """Adapter from a plain ``fn(record, rng)`` to grain's RandomMap."""

    def __init__(self, fn: Callable[[Any, np.random.Generator], Any]):
        self._fn = fn

    def random_map(self, element, rng: np.random.Generator):
        return self._fn(element, rng)


def eval_batches(source: Sequence[Any] | grain.MapDataset, batch_size: int,
                 batch_fn: Callable[[Sequence[Any]], Any] | None = None) -> grain.MapDataset:
    """Every record once, in order, in batches (the last may be short; the trainer pads it)."""
    if len(source) == 0:
        raise ValueError("eval_batches: the source has no records")
    ds = source if isinstance(source, grain.MapDataset) else grain.MapDataset.source(source)
    return ds.batch(batch_size, drop_remainder=False, batch_fn=batch_fn)
