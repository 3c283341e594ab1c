"""Face augmentation invariants and the grain wrappers (augmentation off at evaluation)."""

import dataclasses

import numpy as np
import pytest

from affectjax.data import faces as F
from affectjax.data.faces import augment as A
from affectjax.data.faces.pipeline import IMAGENET_MEAN, IMAGENET_STD


def _img(h=40, w=52, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("shape", [(40, 52), (64, 64), (17, 9)])
def test_augment_keeps_shape_and_dtype(shape):
    x = _img(*shape)
    for seed in range(20):
        y = F.augment_image(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.uint8
    assert x.flags.writeable and (x == _img(*shape)).all()  # input untouched


def test_augment_is_deterministic_per_generator_state():
    x = _img()
    a = F.augment_image(x, np.random.default_rng(7))
    b = F.augment_image(x, np.random.default_rng(7))
    c = F.augment_image(x, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_flip_twice_is_identity():
    x = _img()
    np.testing.assert_array_equal(F.hflip(F.hflip(x)), x)
    np.testing.assert_array_equal(F.hflip(x)[:, 0], x[:, -1])


def test_identity_affine_is_exact():
    x = _img()
    np.testing.assert_array_equal(A.affine(x, 0.0, 1.0, (0.0, 0.0)), x)


def test_affine_shift_moves_content():
    x = np.zeros((20, 20, 3), np.uint8)
    x[5, 5] = 255
    y = A.affine(x, 0.0, 1.0, (3.0, 2.0))
    assert y[7, 8].tolist() == [255, 255, 255] and y.sum() == 3 * 255


def test_zero_strength_config_is_identity():
    off = A.AugmentConfig(
        hflip_p=0.0,
        rotate_deg=0.0,
        scale=(1.0, 1.0),
        translate=0.0,
        brightness=0.0,
        contrast=0.0,
        saturation=0.0,
        hue=0.0,
        grayscale_p=0.0,
        erase_p=0.0,
    )
    x = _img()
    for seed in range(5):
        np.testing.assert_array_equal(F.augment_image(x, np.random.default_rng(seed), off), x)


def test_grayscale_and_erasing():
    x = _img()
    g = A.to_grayscale(x)
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all()
    cfg = A.AugmentConfig()
    for seed in range(20):
        y = A.random_erasing(x, np.random.default_rng(seed), cfg)
        changed = (y != x).any(axis=2)
        area = changed.sum() / changed.size
        assert area <= cfg.erase_area[1] + 0.02
        assert (y[changed] == cfg.erase_value).all()


def test_colour_jitter_bounds():
    x = _img()
    cfg = A.AugmentConfig(brightness=0.2, contrast=0.0, saturation=0.0, hue=0.0)
    y = A.color_jitter(x, np.random.default_rng(0), cfg)
    ratio = y.astype(float).sum() / x.astype(float).sum()
    assert 0.75 < ratio < 1.21


def test_augment_rejects_non_rgb():
    with pytest.raises(ValueError, match="uint8"):
        F.augment_image(np.zeros((8, 8), np.uint8), np.random.default_rng(0))


class _Src:
    def __init__(self, n=6):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"image": _img(32, 32, seed=i), "label": np.int32(i % 3)}


def test_grain_transform_off_at_eval():
    el = _Src()[0]
    out = F.AugmentFaces(train=False).random_map(el, np.random.default_rng(0))
    assert out is el
    ds = F.face_dataset(_Src(), train=False, seed=0, normalize=False)
    np.testing.assert_array_equal(ds[2]["image"], _Src()[2]["image"])


def test_grain_dataset_reproducible_and_normalised():
    a = F.face_dataset(_Src(), train=True, seed=3)
    b = F.face_dataset(_Src(), train=True, seed=3)
    raw = F.face_dataset(_Src(), train=True, seed=3, normalize=False)
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i]["image"], b[i]["image"])
        assert a[i]["image"].dtype == np.float32 and a[i]["image"].shape == (32, 32, 3)
        expect = (raw[i]["image"] / np.float32(255.0) - IMAGENET_MEAN) / IMAGENET_STD
        np.testing.assert_allclose(a[i]["image"], expect, rtol=1e-5, atol=1e-5)
    assert any(not np.array_equal(raw[i]["image"], _Src()[i]["image"]) for i in range(6))


def test_config_is_the_spec():
    c = dataclasses.asdict(A.AugmentConfig())
    assert c["hflip_p"] == 0.5 and c["rotate_deg"] == 10 and c["scale"] == (0.9, 1.1)
    assert (
        c["translate"] == 0.05 and (c["brightness"], c["contrast"], c["saturation"]) == (0.2,) * 3
    )
    assert c["hue"] == 0.1 and c["grayscale_p"] == 0.01 and c["erase_p"] == 0.5
    assert c["erase_area"] == (0.02, 0.2) and c["erase_aspect"] == (0.3, 3.3)
