"""Losses for affectjax (EMO-DNA UDA terms and shared classification losses); pure jnp functions.

Every function here is jit-able with static shapes: set membership is a 0/1 mask, never boolean
indexing. Submodules: ``contrastive`` (L_dec), ``mmd`` (MK-MMD), ``pseudo`` (adaptive-threshold
pseudo-labels, L_pl), ``alignment`` (L_cla), ``schedule`` (DANN ramp).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from affectjax.losses import alignment, contrastive, mmd, pseudo, schedule
from affectjax.losses.alignment import centroid_alignment
from affectjax.losses.contrastive import dec_u_loss, dec_v_loss, decoupling_loss
from affectjax.losses.mmd import mk_mmd
from affectjax.losses.pseudo import pseudo_label_ce
from affectjax.losses.schedule import dann_ramp

__all__ = [
    "alignment", "centroid_alignment", "contrastive", "cross_entropy", "dann_ramp",
    "dec_u_loss", "dec_v_loss", "decoupling_loss", "label_smoothed_ce", "mk_mmd", "mmd",
    "pseudo", "pseudo_label_ce", "schedule",
]


def label_smoothed_ce(logits: jax.Array, labels: jax.Array, smoothing: float = 0.1,
                      weights: jax.Array | None = None) -> jax.Array:
    """Mean label-smoothed CE: -sum_k q_k log softmax(logits)_k, q = (1 - eps) onehot + eps/K.

    [related-code: TIM-Net_SER uses eps = 0.1] for the source classification L_cls. With
    ``weights`` (B,) the mean is sum_i w_i CE_i / max(sum_i w_i, 1), for padded batches.
    """
    k = logits.shape[-1]
    q = optax.smooth_labels(jax.nn.one_hot(labels, k, dtype=logits.dtype), smoothing)
    ce = optax.softmax_cross_entropy(logits, q)
    if weights is None:
        return jnp.mean(ce)
    w = weights.astype(ce.dtype)
    return jnp.sum(w * ce) / jnp.maximum(jnp.sum(w), 1.0)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean integer-label CE (the corpus-ID loss L_cor and the DANN critic's L_adv)."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
