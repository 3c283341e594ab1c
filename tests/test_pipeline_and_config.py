"""Process sharding of train streams, eval batching, and config-file arguments."""

from __future__ import annotations

import numpy as np
import pytest

from affectjax.data import pipeline
from affectjax.train.task import DataContext
from experiments.configs import args as config_args

RECORDS = [{"i": np.int32(i)} for i in range(50)]


def ctx(p, n):
    return DataContext(seed=0, process_index=p, process_count=n, num_devices=4)


def test_process_shards_concatenate_to_the_single_process_batches():
    single = iter(pipeline.train_stream(RECORDS, global_batch_size=8, ctx=ctx(0, 1), seed=3))
    parts = [iter(pipeline.train_stream(RECORDS, global_batch_size=8, ctx=ctx(p, 2), seed=3))
             for p in range(2)]
    seen = []
    for _ in range(15):  # more than two epochs: the order must change between epochs
        whole = next(single)["i"]
        np.testing.assert_array_equal(whole, np.concatenate([next(it)["i"] for it in parts]))
        seen.append(whole)
    first_epoch = np.concatenate(seen[:6])
    assert len(set(first_epoch.tolist())) == 48, "no repeats within an epoch"


@pytest.mark.parametrize("threads", [0, 2])
def test_train_stream_state_round_trip(threads):
    # With reader threads, batches are prefetched ahead of the consumer; the state must still
    # name the next batch the consumer sees, not the next one the threads read.
    make = lambda: iter(pipeline.train_stream(RECORDS, global_batch_size=4, ctx=ctx(0, 1),
                                              seed=0, num_threads=threads))
    it = make()
    for _ in range(5):
        next(it)
    state = it.get_state()
    a = [next(it)["i"] for _ in range(20)]
    resumed = make()
    resumed.set_state(state)
    np.testing.assert_array_equal(a, [next(resumed)["i"] for _ in range(20)])
    fresh = make()
    np.testing.assert_array_equal(a, [next(fresh)["i"] for _ in range(25)][5:])


def test_eval_batches_cover_every_record_once():
    batches = list(pipeline.eval_batches(RECORDS, 16))
    assert [len(b["i"]) for b in batches] == [16, 16, 16, 2]
    assert np.concatenate([b["i"] for b in batches]).tolist() == list(range(50))
    with pytest.raises(ValueError, match="no records"):
        pipeline.eval_batches([], 4)


def test_config_args():
    a = config_args.parse("size=tiny,steps=5,on=true", size="default", steps=1, on=False)
    assert (a.size, a.steps, a.on) == ("tiny", 5, True)
    with pytest.raises(ValueError, match="unknown"):
        config_args.parse("sise=tiny", size="default")
    with pytest.raises(ValueError, match="not key=value"):
        config_args.parse("tiny", size="default")


def test_class_balanced_sampling_is_balanced_and_resumable():
    labels = np.array([0] * 45 + [1] * 5)
    records = [{"i": np.int32(i), "label": np.int32(c)} for i, c in enumerate(labels)]
    it = iter(pipeline.train_stream(records, global_batch_size=50, ctx=ctx(0, 1), seed=1,
                                    balance_labels=labels))
    drawn = np.concatenate([next(it)["label"] for _ in range(20)])
    assert abs(drawn.mean() - 0.5) < 0.05, "the rare class is drawn as often as the common one"
    state = it.get_state()
    a = next(it)["i"]
    it.set_state(state)
    np.testing.assert_array_equal(a, next(it)["i"])


def test_padded_batch_uses_buckets_and_masks():
    items = [{"x": np.ones((n, 2), np.float32), "y": np.int32(n)} for n in (3, 5)]
    batch = pipeline.padded_batch(["x"], buckets=[4, 8])(items)
    assert batch["x"].shape == (2, 8, 2) and batch["mask"].sum(1).tolist() == [3, 5]
    assert batch["x"][0, 3:].sum() == 0 and batch["y"].tolist() == [3, 5]
    with pytest.raises(ValueError, match="exceeds the largest bucket 4"):
        pipeline.padded_batch(["x"], buckets=[4])(items)
