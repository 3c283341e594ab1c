"""Recommendation losses (spec bert4cmr.md §4): weighted BCE on logits and the cloze losses.

Pure jnp functions with static shapes. Padding rows carry weight 0; a batch whose weights are all
zero gives loss 0, not NaN. The sigmoid never leaves the loss: every function takes logits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["bce_per_row", "bce_with_logits", "cloze_sampled_bce_loss", "cloze_softmax_loss"]


def _weighted_mean(values: jax.Array, weights: jax.Array | None) -> jax.Array:
    if weights is None:
        return jnp.mean(values)
    w = jnp.asarray(weights, values.dtype)
    den = jnp.sum(w)
    ok = den > 0
    # Guarding the denominator (not the quotient) keeps gradients finite for all-zero weights.
    return jnp.where(ok, jnp.sum(w * values) / jnp.where(ok, den, 1.0), 0.0)


def bce_per_row(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """ℓ(s, y) = −[y·log σ(s) + (1 − y)·log(1 − σ(s))] = softplus(s) − y·s, elementwise.

    Computed as (1 − y)·softplus(s) + y·softplus(−s), the same value for any y (softplus(s) −
    softplus(−s) = s) without the cancellation of softplus(s) − s at large positive s.
    """
    s = jnp.asarray(logits, jnp.float32)
    y = jnp.asarray(labels, jnp.float32)
    return (1.0 - y) * jax.nn.softplus(s) + y * jax.nn.softplus(-s)


def bce_with_logits(logits: jax.Array, labels: jax.Array,
                    weights: jax.Array | None = None) -> jax.Array:
    """Batch loss Σ_r w_r·ℓ_r / Σ_r w_r (§4); ``weights`` None = plain mean. Labels ∈ [0, 1]."""
    return _weighted_mean(bce_per_row(logits, labels), weights)


def cloze_softmax_loss(logits: jax.Array, targets: jax.Array, weights: jax.Array, *,
                       num_items: int) -> jax.Array:
    """Full softmax CE over items 1..N at masked positions (§4, cloze ``softmax``).

    ``logits`` [..., V] with V ≥ N+1 (the cloze model gives V = N+2: pad 0 and [MASK] N+1 are
    excluded from the logsumexp); ``targets`` [...] ids in 1..N; ``weights`` [...] 1 at masked
    positions, 0 elsewhere. ℓ_p = −s_{p,y_p} + logsumexp_{j∈1..N} s_{p,j}, averaged with weights.
    """
    s = jnp.asarray(logits, jnp.float32)
    ids = jnp.arange(s.shape[-1])
    valid = (ids >= 1) & (ids <= num_items)
    lse = jax.nn.logsumexp(jnp.where(valid, s, -jnp.inf), axis=-1)
    # Unused slots (weight 0) may hold target 0; clip so that the gather stays in range.
    tgt = jnp.take_along_axis(s, jnp.clip(targets, 0, s.shape[-1] - 1)[..., None], axis=-1)
    return _weighted_mean(lse - tgt[..., 0], weights)


def cloze_sampled_bce_loss(pos_logits: jax.Array, neg_logits: jax.Array,
                           weights: jax.Array) -> jax.Array:
    """ℓ_p = softplus(−s_{p,y_p}) + Σ_{j∈neg(p)} softplus(s_{p,j}) (§4, cloze ``bce_sampled``).

    ``pos_logits`` [...], ``neg_logits`` [..., K], ``weights`` [...]; weighted mean over positions.
    """
    pos = jnp.asarray(pos_logits, jnp.float32)
    neg = jnp.asarray(neg_logits, jnp.float32)
    per = jax.nn.softplus(-pos) + jax.nn.softplus(neg).sum(-1)
    return _weighted_mean(per, weights)
