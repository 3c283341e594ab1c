"""The Task contract: what a system provides to plug into the one trainer."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import numpy as np

PyTree = Any
Batch = Mapping[str, Any]
# A non-trained collection dict such as {"batch_stats": ..., "pseudo": ...}.
Variables = Mapping[str, PyTree]

InitFn = Callable[[jax.Array, Batch], dict]
LossFn = Callable[[PyTree, Variables, Batch, jax.Array, jax.Array], tuple[jax.Array, dict]]
PredictFn = Callable[[PyTree, Variables, Batch], PyTree]
# Host-side reduction of one eval set: (predictions, batch) as numpy, padding rows removed.
Evaluator = Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], Mapping[str, float]]


@dataclasses.dataclass(frozen=True)
class DataContext:
    """What a data builder needs to know about where it runs.

    Train streams are sharded by process: a builder returns, for a stream whose global batch is
    G, per-process batches of ``local_batch_size(G)`` rows such that concatenating the processes'
    batches in process order gives the global batch. Eval sets are not sharded: every process
    iterates the same global batches and the trainer takes each process's slice.
    """

    seed: int
    process_index: int
    process_count: int
    num_devices: int

    def local_batch_size(self, global_batch_size: int) -> int:
        if global_batch_size % self.process_count:
            raise ValueError(
                f"global batch size {global_batch_size} is not divisible by the "
                f"{self.process_count} processes of this run")
        return global_batch_size // self.process_count


@dataclasses.dataclass(frozen=True)
class TrainData:
    """Named, infinite training streams; one step consumes one batch from each.

    Each stream yields dicts of numpy arrays (per-process batches). Iterators that expose
    ``get_state``/``set_state`` are checkpointed (grain's, or any whose state is JSON-able), so a
    resumed run sees the same data order as an uninterrupted one. Batches may change shape
    (e.g. length buckets); each distinct shape compiles once.
    """

    streams: Mapping[str, Iterable[Batch]]
    # Needed only when the config gives durations in epochs.
    steps_per_epoch: int | None = None


@dataclasses.dataclass(frozen=True)
class Task:
    """A system's plug-in for the trainer: pure functions plus data builders.

    - ``init(rng, batch) -> variables``: ``{"params": ..., <other collections>}``; ``batch`` is
      the first training batch, a mapping from stream name to that stream's batch.
    - ``loss(params, variables, batch, rng, step) -> (loss, aux)``: pure. ``aux`` maps metric
      names to scalars; its optional key ``"variables"`` holds the updated non-trained collections
      (batch-norm statistics, EMA thresholds), which the trainer stores in the train state.
    - ``predict(params, variables, batch) -> outputs``: a pytree of arrays with a leading batch
      axis, reduced on the host by ``evaluators``.
    - ``train_data(ctx) -> TrainData`` and ``eval_data(ctx) -> {name: iterable of batches}``.
    - ``evaluators``: named host-side reductions applied to every eval set; their metric ``m`` on
      eval set ``s`` is logged as ``"s/m"``.
    - ``metadata``: JSON-able facts saved with every checkpoint (class lists, id maps); on
      ``init_from`` the trainer checks that keys present in both runs are equal.
    - ``finalize(workdir, results)``: optional; writes tables and plots after training.
    """

    name: str
    init: InitFn
    loss: LossFn
    predict: PredictFn
    train_data: Callable[[DataContext], TrainData]
    eval_data: Callable[[DataContext], Mapping[str, Iterable[Batch]]] = lambda ctx: {}
    evaluators: Mapping[str, Evaluator] = dataclasses.field(default_factory=dict)
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    finalize: Callable[[str, Mapping[str, Any]], None] | None = None
