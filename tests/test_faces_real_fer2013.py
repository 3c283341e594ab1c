"""The real FER2013 PublicTest copy in ../shared/data: counts, decoding, fixed hold-out."""

import collections
import hashlib
import os
import pathlib

import numpy as np
import pytest

from affectjax.data import faces as F

REPO = pathlib.Path(__file__).resolve().parents[1]


def _fer_dir() -> pathlib.Path | None:
    env = os.environ.get("AFFECTJAX_SHARED_DATA")
    for root in ([pathlib.Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        d = root / "fer2013" / "validation"
        if d.is_dir():
            return d
    return None


@pytest.fixture(scope="module")
def fer():
    d = _fer_dir()
    if d is None:
        pytest.skip(
            "real FER2013 copy not found: set AFFECTJAX_SHARED_DATA to a folder holding "
            "fer2013/validation, or place shared/data beside the repository"
        )
    return F.read_fer2013_folder(d, expected_counts=F.FER2013_PUBLICTEST_COUNTS)


def test_counts_match_readme(fer):
    # The README's table (angry 467 ... surprise 415, total 3,589); the reader asserted it too.
    assert len(fer) == 3589
    assert fer.class_counts() == {
        "neutral": 607,
        "happy": 895,
        "sad": 653,
        "surprise": 415,
        "fear": 496,
        "disgust": 56,
        "anger": 467,
    }
    assert not fer.skipped and not fer.filtered
    assert len({r.key for r in fer}) == 3589
    assert all(r.key.split("/")[1].startswith("PublicTest_") for r in fer)
    majority = max(fer.class_counts().values()) / len(fer)
    assert majority == pytest.approx(0.249, abs=5e-4)


def test_decodes_as_grey_faces(fer):
    src = F.FaceSource(fer, 64)
    for i in (0, 1234, 3588):
        img = src[i]["image"]
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    raw = F.load_image(fer[0].path)
    assert raw.shape == (48, 48, 3)


def test_stratified_holdout_fixed(fer):
    tr, ho = F.stratified_holdout(fer, 0.2)
    assert len(ho) == 717 and len(tr) == 2872
    per_class = collections.Counter(fer[i].label_name for i in ho)
    assert per_class == {
        "happy": 179,
        "sad": 131,
        "neutral": 121,
        "fear": 99,
        "anger": 93,
        "surprise": 83,
        "disgust": 11,
    }
    # Pinned: the hold-out is the same on every machine and run (keys are relative paths).
    digest = hashlib.sha256("\n".join(fer[i].key for i in ho).encode()).hexdigest()
    assert digest.startswith("7fcac5e91f921db0")
    _, again = F.stratified_holdout(fer, 0.2)
    np.testing.assert_array_equal(ho, again)
