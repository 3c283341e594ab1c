"""Contrastive emotion decoupling loss L_dec = L_dec^u + L_dec^v (spec emo_dna §4.5).

[paper] a contrastive decoupling loss separates emotion-relevant from corpus-specific features.
[our choice] its form: supervised-contrastive InfoNCE (SupCon, Khosla et al. 2020) on the shared
projection, with the corpus-specific vectors as extra negatives, plus a symmetric corpus-side term.

Static shapes throughout: set membership is a 0/1 mask and the denominators are masked
log-sum-exps, so the loss jits once for a given batch shape whatever the masks are.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_HIGHEST = jax.lax.Precision.HIGHEST


def masked_logsumexp(x: jax.Array, mask: jax.Array, axis: int = -1) -> jax.Array:
    """log sum_{mask} exp(x) along ``axis``; 0 (not -inf) where the mask is empty; NaN-free."""
    mask = mask.astype(bool)
    m = jnp.max(jnp.where(mask, x, -jnp.inf), axis=axis, keepdims=True)
    m = jax.lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0.0))
    s = jnp.sum(jnp.where(mask, jnp.exp(jnp.where(mask, x - m, 0.0)), 0.0), axis=axis,
                keepdims=True)
    # Double where: an empty row must give neither log(0) nor its infinite gradient.
    out = jnp.where(s > 0, jnp.log(jnp.where(s > 0, s, 1.0)) + m, 0.0)
    return jnp.squeeze(out, axis=axis)


def _supcon(q: jax.Array, q_valid: jax.Array, q_labels: jax.Array, x: jax.Array,
            x_valid: jax.Array, tau: float) -> jax.Array:
    """SupCon over anchors q, averaged over valid anchors with a positive (0 if there are none).

    Positives and in-set negatives are the other valid rows of q; the valid rows of x are extra
    negatives.
    """
    n = q.shape[0]
    q_valid = q_valid.astype(bool)
    x_valid = x_valid.astype(bool)
    # Full float32 products: TPU (bf16 passes) and GPU (TF32) default matmuls would put ~1e-3
    # errors into logits scaled by 1/tau; the matrices are batch x batch, so the cost is nil.
    s_qq = jnp.matmul(q, q.T, precision=_HIGHEST) / tau
    s_qx = jnp.matmul(q, x.T, precision=_HIGHEST) / tau
    others = q_valid[:, None] & q_valid[None, :] & ~jnp.eye(n, dtype=bool)
    log_den = masked_logsumexp(
        jnp.concatenate([s_qq, s_qx], axis=1),
        jnp.concatenate([others, jnp.broadcast_to(x_valid[None, :], s_qx.shape)], axis=1))
    pos = others & (q_labels[:, None] == q_labels[None, :])
    n_pos = jnp.sum(pos, axis=1)
    term = jnp.sum(jnp.where(pos, s_qq - log_den[:, None], 0.0), axis=1)
    per_anchor = -term / jnp.maximum(n_pos, 1)
    has_pos = q_valid & (n_pos > 0)
    return jnp.sum(jnp.where(has_pos, per_anchor, 0.0)) / jnp.maximum(jnp.sum(has_pos), 1)


def dec_u_loss(u: jax.Array, v: jax.Array, labels: jax.Array, anchor_mask: jax.Array,
               tau: float = 0.1) -> jax.Array:
    """L_dec^u: emotion-side SupCon.

    ``u``, ``v``: (N, P) unit vectors of all N = B_s + B_t samples; ``labels`` (N,) true source
    labels and target pseudo-labels; ``anchor_mask`` (N,) 1 for the anchor set A (every source
    sample, the masked-in target samples). For a in A with positives P(a) = {p in A \\ {a} :
    l_p = l_a}: den(a) = sum_{b in A \\ {a}} exp(u_a.u_b/tau) + sum_{b=1..N} exp(u_a.v_b/tau),
    loss = mean over A' = {a : |P(a)| >= 1} of -(1/|P(a)|) sum_p [u_a.u_p/tau - log den(a)];
    0 if A' is empty.
    """
    return _supcon(u, anchor_mask, labels, v, jnp.ones(v.shape[0], bool), tau)


def dec_v_loss(u: jax.Array, v: jax.Array, corpus_ids: jax.Array, anchor_mask: jax.Array,
               tau: float = 0.1) -> jax.Array:
    """L_dec^v: corpus-side SupCon, the mirror of :func:`dec_u_loss`.

    Anchors are all N vectors v_b; positives the other v of the same corpus; the denominator runs
    over all other v plus the u of the anchor set A (``anchor_mask``).
    """
    return _supcon(v, jnp.ones(v.shape[0], bool), corpus_ids, u, anchor_mask, tau)


def decoupling_loss(u: jax.Array, v: jax.Array, labels: jax.Array, anchor_mask: jax.Array,
                    corpus_ids: jax.Array, tau: float = 0.1, symmetric: bool = True
                    ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """L_dec = L_dec^u (+ L_dec^v if ``symmetric``); returns (loss, {"dec_u", "dec_v"})."""
    lu = dec_u_loss(u, v, labels, anchor_mask, tau)
    lv = dec_v_loss(u, v, corpus_ids, anchor_mask, tau) if symmetric else jnp.zeros_like(lu)
    return lu + lv, {"dec_u": lu, "dec_v": lv}
