"""Class-level EMA centroid alignment L_cla (spec emo_dna §4.6).

[our choice, after MSTN (Xie et al., ICML 2018)] per-class centroids of the normalised emotion
features, kept per domain as an EMA memory; the loss pulls each class's source and target
centroids together. The memory ``{"mu": (2, K, C), "seen": (2, K)}`` (domain 0 = source,
1 = target) is a non-trained collection in the train state.

Following the spec literally, mu starts at 0 and is always updated by the EMA (no special first
update); the seen flags only decide which classes enter the loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def init_state(num_classes: int, dim: int) -> dict[str, jax.Array]:
    """Zero centroids and no class seen, for both domains."""
    return {"mu": jnp.zeros((2, num_classes, dim), jnp.float32),
            "seen": jnp.zeros((2, num_classes), jnp.float32)}


def _batch_centroids(z_hat: jax.Array, labels: jax.Array, weights: jax.Array, k: int):
    """Masked per-class means: (K, C) centroids and (K,) presence (0/1)."""
    w = jax.nn.one_hot(labels, k, dtype=z_hat.dtype) * weights[:, None].astype(z_hat.dtype)
    count = jnp.sum(w, axis=0)
    present = count > 0
    # Full float32 product (TPU/GPU defaults round to bf16/TF32); the matrix is tiny.
    sums = jnp.matmul(w.T, z_hat, precision=jax.lax.Precision.HIGHEST)
    return sums / jnp.where(present, count, 1.0)[:, None], present


def centroid_alignment(state: dict[str, jax.Array], z_s: jax.Array, y_s: jax.Array,
                       z_t: jax.Array, y_t: jax.Array, mask_t: jax.Array, *,
                       momentum: float = 0.7) -> tuple[jax.Array, dict[str, jax.Array]]:
    """L_cla and the updated memory.

    z_hat = z / ||z||; m_k^s = mean{z_hat_i^s : y_i = k}; m_k^t = mean{z_hat_j^t : M_j = 1,
    y_hat_j = k}. A class present in domain d's batch gets mu_k^d <- beta sg(mu_k^d) +
    (1 - beta) m_k^d (the gradient flows through m); absent classes keep their memory.
    L_cla = (1/|K'|) sum_{k in K'} ||mu_k^s - mu_k^t||^2 over K' = classes seen in both domains
    (ever, including this batch); 0 if K' is empty. Returns ``(loss, new_state)``, the new state
    with stopped gradients.
    """
    k = state["mu"].shape[1]
    normalize = lambda z: z * jax.lax.rsqrt(jnp.maximum(jnp.sum(z * z, -1, keepdims=True), 1e-24))
    m_s, pres_s = _batch_centroids(normalize(z_s), y_s, jnp.ones(z_s.shape[0]), k)
    m_t, pres_t = _batch_centroids(normalize(z_t), y_t, mask_t, k)
    m = jnp.stack([m_s, m_t])
    present = jnp.stack([pres_s, pres_t])
    mu_old = jax.lax.stop_gradient(state["mu"])
    mu = jnp.where(present[..., None], momentum * mu_old + (1.0 - momentum) * m, mu_old)
    seen = jnp.maximum(state["seen"], present.astype(state["seen"].dtype))
    both = seen[0] * seen[1]
    dist = jnp.sum(jnp.square(mu[0] - mu[1]), axis=-1)
    loss = jnp.sum(both * dist) / jnp.maximum(jnp.sum(both), 1.0)
    return loss, {"mu": jax.lax.stop_gradient(mu), "seen": seen}
