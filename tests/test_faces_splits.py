"""Deterministic face splits: stratified FER2013 hold-out and the AffectNet dev split."""

import numpy as np
import pytest

from affectjax.data import faces as F


def _set(counts, prefix="c"):
    recs = []
    for label, n in enumerate(counts):
        recs += [
            F.FaceRecord(key=f"{prefix}{label}/{k}.jpg", source="t", label=label) for k in range(n)
        ]
    return F.FaceSet(recs, F.AFFECTNET7, "t")


def test_stable_hash_is_fixed():
    # BLAKE2b-64 of the UTF-8 key: the same on every machine and run (unlike hash()).
    assert F.stable_hash("angry/PublicTest_1.jpg") == F.stable_hash("angry/PublicTest_1.jpg")
    assert F.stable_hash("a") == 0x40F89E395B66422F
    assert F.stable_hash("a", salt="x") != F.stable_hash("a")


def test_stratified_holdout_shares_and_determinism():
    fs = _set([50, 7, 33, 100])
    tr, ho = F.stratified_holdout(fs, 0.2)
    tr2, ho2 = F.stratified_holdout(fs, 0.2)
    np.testing.assert_array_equal(ho, ho2)
    np.testing.assert_array_equal(tr, tr2)
    assert np.intersect1d(tr, ho).size == 0 and len(tr) + len(ho) == len(fs)
    got = np.bincount(fs.labels[ho], minlength=4).tolist()
    assert got == [10, 1, 7, 20]  # round(0.2 * n_c) per class
    # Order of records does not matter: the split follows keys, not positions.
    rev = F.FaceSet(fs.records[::-1], fs.classes, "t")
    _, ho_rev = F.stratified_holdout(rev, 0.2)
    assert {rev[i].key for i in ho_rev} == {fs[i].key for i in ho}
    _, ho_salt = F.stratified_holdout(fs, 0.2, salt="seed1")
    assert {fs[i].key for i in ho_salt} != {fs[i].key for i in ho}
    with pytest.raises(ValueError):
        F.stratified_holdout(fs, 1.0)


def test_affectnet_dev_split_balanced():
    fs = _set([3000, 1500, 800, 400, 300, 200, 250], prefix="an")
    tr, dev = F.affectnet_dev_split(fs)
    assert np.intersect1d(tr, dev).size == 0
    counts = np.bincount(fs.labels[dev], minlength=7)
    assert len(set(counts.tolist())) == 1 and counts[0] > 0  # class-balanced
    share = 1 - len(tr) / len(fs)
    assert 0.035 < share < 0.065  # ~5 % pool leaves train
    tr2, dev2 = F.affectnet_dev_split(fs)
    np.testing.assert_array_equal(dev, dev2)
