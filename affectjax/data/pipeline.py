"""grain pipelines shared by every task: sharded endless train streams, re-iterable eval sets."""

from __future__ import annotations

import math
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


def steps_per_epoch(num_examples: int, global_batch_size: int) -> int:
    return max(1, math.ceil(num_examples / global_batch_size))


def train_stream(
    source: Sequence[Any] | grain.MapDataset,
    *,
    global_batch_size: int,
    ctx: DataContext,
    seed: int,
    transform: Callable[[Any, np.random.Generator], Any] | None = None,
    num_threads: int = 0,
    num_workers: int = 0,
) -> grain.IterDataset:
    """Shuffled (a new order each epoch), repeated forever, sharded by process, batched.

    ``transform(record, rng)`` runs per record with a generator seeded by (seed, position), so
    augmentation is reproducible and resumes exactly. ``num_workers > 0`` decodes in worker
    processes (grain needs absl flags parsed first and a ``__main__`` guard in the script).
    """
    if len(source) == 0:
        raise ValueError("train_stream: the source has no records")
    ds = source if isinstance(source, grain.MapDataset) else grain.MapDataset.source(source)
    ds = ds.shuffle(seed=seed).repeat()
    if transform is not None:
        ds = ds.random_map(_RandomTransform(transform), seed=seed)
    ds = ProcessShard(ds, global_batch_size, ctx)
    ds = ds.batch(ctx.local_batch_size(global_batch_size), drop_remainder=True)
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


def eval_batches(source: Sequence[Any] | grain.MapDataset, batch_size: int) -> grain.MapDataset:
    """Every record once, in order, in batches (the last may be short; the trainer pads it)."""
    if len(source) == 0:
        raise ValueError("eval_batches: the source has no records")
    ds = source if isinstance(source, grain.MapDataset) else grain.MapDataset.source(source)
    return ds.batch(batch_size, drop_remainder=False)
