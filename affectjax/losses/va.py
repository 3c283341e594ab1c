"""Valence/arousal regression losses: masked MSE, 1 − CCC on the batch, and MSE + κ(1 − CCC).

Pure jnp functions (spec two_att_two_mt.md §4). Every function takes ``pred`` and ``target`` of
shape [n] or [n, d] (d = 2 for V/A) and an optional ``mask`` of shape [n] or [n, d] (1 = annotated,
0 = unannotated or padding row; fractional weights are allowed), and returns one value per
dimension ([] or [d]): V and A are never pooled into one vector (§7.2), and the caller weights them
(λ_V, λ_A). A dimension whose mask is all zero gets loss 0, not NaN, so an all-padding batch is
harmless.
"""

from __future__ import annotations

import jax.numpy as jnp

REG_LOSSES = ("mse", "ccc", "mse+ccc")
# κ in L = MSE + κ(1 − CCC): 1/3 is CAGE's CCC + 3·MSE up to an overall scale
# [related-code: CAGE].
DEFAULT_KAPPA = 1.0 / 3.0


def _weights(pred, mask):
    if mask is None:
        return jnp.ones_like(pred)
    mask = jnp.asarray(mask, pred.dtype)
    if mask.ndim == pred.ndim - 1:  # a per-row mask applies to every dimension
        mask = mask[..., None]
    return jnp.broadcast_to(mask, pred.shape)


def _safe_div(num, den):
    # Dividing by a guarded denominator (not jnp.where on the quotient) keeps gradients finite.
    ok = den > 0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), 0.0)


def mse(pred, target, mask=None):
    """L_d = Σ_i m_i (ŷ_{i,d} − y_{i,d})² / Σ_i m_i, per dimension."""
    pred, target = jnp.asarray(pred, jnp.float32), jnp.asarray(target, jnp.float32)
    w = _weights(pred, mask)
    return _safe_div(jnp.sum(w * (pred - target) ** 2, axis=0), jnp.sum(w, axis=0))


def ccc(pred, target, mask=None, eps: float = 1e-8):
    """Batch CCC per dimension with masked population (1/n) moments (Lin 1989; §7.2).

    CCC = 2 s_{yŷ} / (σ_y² + σ_ŷ² + (μ_y − μ_ŷ)²). ``eps`` in the denominator keeps the loss and
    its gradient finite for a constant batch (the metric in ``affectjax.metrics`` raises there
    instead; a training loss must not).
    """
    pred, target = jnp.asarray(pred, jnp.float32), jnp.asarray(target, jnp.float32)
    w = _weights(pred, mask)
    n = jnp.sum(w, axis=0)
    mu_p = _safe_div(jnp.sum(w * pred, axis=0), n)
    mu_t = _safe_div(jnp.sum(w * target, axis=0), n)
    dp, dt = pred - mu_p, target - mu_t
    var_p = _safe_div(jnp.sum(w * dp * dp, axis=0), n)
    var_t = _safe_div(jnp.sum(w * dt * dt, axis=0), n)
    cov = _safe_div(jnp.sum(w * dp * dt, axis=0), n)
    return 2.0 * cov / (var_p + var_t + (mu_p - mu_t) ** 2 + eps)


def ccc_loss(pred, target, mask=None, eps: float = 1e-8):
    """L_d = 1 − CCC_batch(y_d, ŷ_d), per dimension; 0 where the mask is empty.

    Biased for small batches (CCC is not a mean over rows), so the spec requires batch ≥ 64 when
    it is used (§4); this function does not enforce it.
    """
    w = _weights(jnp.asarray(pred, jnp.float32), mask)
    has_rows = jnp.sum(w, axis=0) > 0
    return jnp.where(has_rows, 1.0 - ccc(pred, target, mask, eps), 0.0)


def mse_ccc(pred, target, mask=None, kappa: float = DEFAULT_KAPPA, eps: float = 1e-8):
    """L_d = MSE_d + κ·(1 − CCC_d), per dimension (``loss.reg='mse+ccc'``)."""
    return mse(pred, target, mask) + kappa * ccc_loss(pred, target, mask, eps)


def regression_loss(pred, target, mask=None, kind: str = "mse",
                    kappa: float = DEFAULT_KAPPA):
    """Dispatch on ``loss.reg``: 'mse' | 'ccc' | 'mse+ccc'; returns the per-dimension loss."""
    if kind == "mse":
        return mse(pred, target, mask)
    if kind == "ccc":
        return ccc_loss(pred, target, mask)
    if kind == "mse+ccc":
        return mse_ccc(pred, target, mask, kappa)
    raise ValueError(f"loss.reg must be one of {REG_LOSSES}, got {kind!r}")
