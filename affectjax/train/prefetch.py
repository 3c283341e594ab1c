"""Training batches assembled and placed on the mesh in a background thread, one step ahead."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

_DONE = object()


class _ConsumedState:
    """Checkpoint view of a prefetched iterator: the state after the last *consumed* batch.

    The thread runs ahead of the train loop, so the iterator's own state belongs to a batch no
    step has seen yet; a checkpoint must resume right after the batch the last step trained on.
    """

    def __init__(self, iterator: Any):
        self.iterator = iterator
        self.state = iterator.get_state()

    def get_state(self) -> Any:
        return self.state

    def set_state(self, state: Any) -> None:  # restore happens before the thread starts
        raise RuntimeError("a prefetching iterator cannot be rewound; restore before starting")


class BatchPrefetcher:
    """``next()`` returns the next global batch; the ``depth`` after it are being made meanwhile.

    ``make(iterators)`` draws one batch from every stream and puts it on the devices (host
    gather, padding and ``device_put`` are Python work that would otherwise sit between two
    steps; a step waiting on the device releases the GIL, so the thread overlaps with it).
    ``depth=0`` makes each batch on the caller's thread instead, exactly as without prefetch.
    Batches come out in the iterators' order, so training is identical either way.
    """

    def __init__(self, iterators: Mapping[str, Any], make: Callable[[Mapping[str, Any]], Any],
                 depth: int):
        if depth < 0:
            raise ValueError(f"train.prefetch_batches={depth}: must be ≥ 0")
        self.iterators, self.make, self.depth = dict(iterators), make, depth
        self._states = {name: _ConsumedState(it) for name, it in self.iterators.items()
                        if hasattr(it, "get_state") and hasattr(it, "set_state")}
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._thread = None
        if depth:
            self._thread = threading.Thread(target=self._fill, name="batch-prefetch",
                                            daemon=True)
            self._thread.start()

    def _produce(self) -> tuple[Any, dict[str, Any]]:
        batch = self.make(self.iterators)
        return batch, {name: s.iterator.get_state() for name, s in self._states.items()}

    def _fill(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._produce()
            except BaseException as e:  # re-raised on the train loop's thread by next()
                item = (_DONE, e)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[0] is _DONE:
                return

    def next(self) -> Any:
        if self._thread is None:
            batch, states = self._produce()
        else:
            batch, states = self._queue.get()
            if batch is _DONE:
                raise states
        for name, state in states.items():
            self._states[name].state = state
        return batch

    def checkpoint_iterators(self) -> dict[str, Any]:
        """Stand-ins for the checkpointable iterators that report their consumed position."""
        return dict(self._states)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
