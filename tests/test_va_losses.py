"""V/A regression losses (spec two_att_two_mt.md §4) against float64 numpy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affectjax import metrics
from affectjax.losses import va


def _np_ccc(pred, target, w):
    """Lin's CCC with weighted population moments, float64, one dimension."""
    pred, target, w = (np.asarray(a, np.float64) for a in (pred, target, w))
    n = w.sum()
    mp, mt = (w * pred).sum() / n, (w * target).sum() / n
    vp, vt = (w * (pred - mp) ** 2).sum() / n, (w * (target - mt) ** 2).sum() / n
    cov = (w * (pred - mp) * (target - mt)).sum() / n
    return 2 * cov / (vp + vt + (mp - mt) ** 2)


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    target = np.clip(rng.normal([0.2, 0.1], [0.5, 0.4], size=(n, 2)), -1, 1)
    pred = 0.7 * target + rng.normal(0.05, 0.25, size=(n, 2))
    return pred.astype(np.float32), target.astype(np.float32)


def test_ccc_loss_matches_numpy_per_dimension():
    pred, target = _data()
    loss = np.asarray(va.ccc_loss(pred, target))
    assert loss.shape == (2,)
    for d in range(2):
        ref = 1.0 - _np_ccc(pred[:, d], target[:, d], np.ones(len(pred)))
        np.testing.assert_allclose(loss[d], ref, rtol=1e-5, atol=1e-6)
        # ...and the host metric used for evaluation (§7.2) agrees.
        np.testing.assert_allclose(loss[d], 1.0 - metrics.ccc(target[:, d], pred[:, d]),
                                   rtol=1e-5, atol=1e-6)
    # V and A are not pooled: the per-dimension values differ from one pooled CCC.
    pooled = 1.0 - _np_ccc(pred.ravel(), target.ravel(), np.ones(pred.size))
    assert not np.allclose(loss.mean(), pooled, atol=1e-4)


def test_masked_rows_are_ignored():
    pred, target = _data(seed=1)
    mask = np.random.default_rng(2).random(len(pred)) < 0.7
    garbage = np.where(mask[:, None], pred, 50.0).astype(np.float32)  # padding rows: junk values
    t_junk = np.where(mask[:, None], target, -2.0).astype(np.float32)  # AffectNet's "missing"
    for d in range(2):
        ref = 1.0 - _np_ccc(pred[mask, d], target[mask, d], np.ones(mask.sum()))
        np.testing.assert_allclose(va.ccc_loss(garbage, t_junk, mask)[d], ref, rtol=1e-5)
        ref_mse = np.mean((pred[mask, d].astype(np.float64) - target[mask, d]) ** 2)
        np.testing.assert_allclose(va.mse(garbage, t_junk, mask)[d], ref_mse, rtol=1e-5)
    # A per-dimension mask [n, 2] equals the per-row mask broadcast.
    np.testing.assert_allclose(va.mse(garbage, t_junk, np.stack([mask, mask], 1)),
                               va.mse(garbage, t_junk, mask), rtol=1e-6)


def test_fractional_weights_match_weighted_reference():
    pred, target = _data(seed=3)
    w = np.random.default_rng(4).random(len(pred)).astype(np.float32)
    np.testing.assert_allclose(va.ccc_loss(pred[:, 0], target[:, 0], w),
                               1.0 - _np_ccc(pred[:, 0], target[:, 0], w), rtol=1e-5)


def test_perfect_prediction_gives_zero_and_constant_gives_one():
    _, target = _data()
    np.testing.assert_allclose(va.ccc_loss(target, target), 0.0, atol=1e-6)
    np.testing.assert_allclose(va.mse(target, target), 0.0, atol=0)
    np.testing.assert_allclose(va.mse_ccc(target, target), 0.0, atol=1e-6)
    const = np.full_like(target, 0.3)
    np.testing.assert_allclose(va.ccc_loss(const, target), 1.0, atol=1e-6)


def test_ccc_loss_grows_with_bias_and_scale():
    _, target = _data()
    base = va.ccc_loss(target, target)
    biased = va.ccc_loss(target + 0.3, target)
    scaled = va.ccc_loss(2.0 * target, target)
    assert np.all(biased > base + 0.1) and np.all(scaled > base + 0.05)


def test_mse_ccc_combination():
    pred, target = _data(seed=5)
    for kappa in (va.DEFAULT_KAPPA, 0.5):
        expected = va.mse(pred, target) + kappa * va.ccc_loss(pred, target)
        np.testing.assert_allclose(va.mse_ccc(pred, target, kappa=kappa), expected, rtol=1e-6)
    np.testing.assert_allclose(va.DEFAULT_KAPPA, 1 / 3)
    np.testing.assert_allclose(va.regression_loss(pred, target, kind="mse+ccc"),
                               va.mse_ccc(pred, target), rtol=1e-6)
    np.testing.assert_allclose(va.regression_loss(pred, target, kind="ccc"),
                               va.ccc_loss(pred, target), rtol=1e-6)
    np.testing.assert_allclose(va.regression_loss(pred, target), va.mse(pred, target), rtol=1e-6)
    with pytest.raises(ValueError, match="loss.reg"):
        va.regression_loss(pred, target, kind="huber")


@pytest.mark.parametrize("kind", va.REG_LOSSES)
def test_empty_mask_and_constant_batch_are_finite_under_jit_and_grad(kind):
    pred, target = _data(n=8)

    @jax.jit
    def total(p, t, m):
        return va.regression_loss(p, t, m, kind=kind).sum()

    zeros = np.zeros(len(pred), np.float32)
    assert float(total(pred, target, zeros)) == 0.0
    g = jax.grad(total)(jnp.asarray(pred), target, zeros)
    assert np.all(np.asarray(g) == 0.0)
    const = np.zeros_like(pred)
    g = jax.grad(total)(jnp.asarray(const), const, np.ones(len(pred), np.float32))
    assert np.all(np.isfinite(np.asarray(g)))


def test_one_dimensional_inputs_give_scalars():
    pred, target = _data()
    assert va.ccc_loss(pred[:, 0], target[:, 0]).shape == ()
    assert va.mse(pred[:, 1], target[:, 1]).shape == ()
