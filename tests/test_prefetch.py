"""Background batch prefetch: same batches in the same order, checkpoints at the consumed batch."""

from __future__ import annotations

import time

import pytest

from affectjax.train.prefetch import BatchPrefetcher


class Counter:
    """A checkpointable stream 0, 1, 2, ... (state = the next value)."""

    def __init__(self, stop: int | None = None):
        self.value, self.stop = 0, stop

    def __iter__(self):
        return self

    def __next__(self):
        if self.stop is not None and self.value >= self.stop:
            raise StopIteration
        self.value += 1
        return self.value - 1

    def get_state(self):
        return {"value": self.value}

    def set_state(self, state):
        self.value = state["value"]


def draw(iterators):
    return {name: next(it) for name, it in iterators.items()}


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_same_batches_and_checkpoint_state_of_the_consumed_batch(depth):
    feeder = BatchPrefetcher({"a": Counter(), "b": iter([10, 11, 12, 13, 14])}, draw, depth)
    try:
        assert [feeder.next() for _ in range(3)] == [{"a": i, "b": 10 + i} for i in range(3)]
        time.sleep(0.05)  # let the thread run ahead of the loop
        saved = feeder.checkpoint_iterators()
        # Only the checkpointable stream is saved, at the batch after the third consumed one.
        assert list(saved) == ["a"] and saved["a"].get_state() == {"value": 3}
        resumed = Counter()
        resumed.set_state(saved["a"].get_state())
        assert next(resumed) == feeder.next()["a"] == 3
    finally:
        feeder.close()


def test_a_failing_stream_raises_on_the_loop_thread():
    def make(iterators):
        batch = draw(iterators)
        if batch["a"] == 2:
            raise RuntimeError("stream 'a' is broken")
        return batch

    feeder = BatchPrefetcher({"a": Counter()}, make, depth=2)
    try:
        assert feeder.next() == {"a": 0} and feeder.next() == {"a": 1}
        with pytest.raises(RuntimeError, match="stream 'a' is broken"):
            feeder.next()
    finally:
        feeder.close()


def test_close_stops_a_thread_blocked_on_a_full_queue():
    feeder = BatchPrefetcher({"a": Counter()}, draw, depth=1)
    feeder.next()
    time.sleep(0.05)
    feeder.close()
    assert not feeder._thread.is_alive()


def test_negative_depth_is_rejected():
    with pytest.raises(ValueError, match="prefetch_batches=-1"):
        BatchPrefetcher({}, draw, -1)
