"""Multi-kernel MMD between source and target features (spec emo_dna §4.7).

[our choice, after DAN (Long et al. 2015)] corpus-level alignment: Gaussian kernels with
bandwidths q * sigma^2, q in {1/4, 1/2, 1, 2, 4}, sigma^2 the (stop-gradient) mean squared
distance over all pairs a != b of the joint set; the biased (V-statistic) estimator.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

KERNEL_MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)


def pairwise_sq_dists(a: jax.Array, b: jax.Array) -> jax.Array:
    """(Na, Nb) squared Euclidean distances.

    Formed from differences rather than ||a||^2 + ||b||^2 - 2 a.b: the MMD is a small difference
    of kernel means, and the expanded form's float32 cancellation would show in it. At the
    spec's sizes (128 x 128 x C) the (Na, Nb, C) intermediate is small.
    """
    d = a[:, None, :] - b[None, :, :]
    return jnp.sum(d * d, axis=-1)


def mk_mmd(z_s: jax.Array, z_t: jax.Array,
           multipliers: Sequence[float] = KERNEL_MULTIPLIERS) -> jax.Array:
    """Biased MK-MMD^2 between rows of ``z_s`` (B_s, C) and ``z_t`` (B_t, C); a scalar.

    L = mean k(z_s, z_s') + mean k(z_t, z_t') - 2 mean k(z_s, z_t) (all means include i = i'),
    k(a, b) = (1/|Q|) sum_q exp(-||a - b||^2 / (q sigma^2)).
    """
    z = jnp.concatenate([z_s, z_t], axis=0)
    n = z.shape[0]
    d_all = pairwise_sq_dists(z, z)
    # Mean over ordered pairs a != b; the diagonal is zero, so only the count changes.
    sigma2 = jax.lax.stop_gradient(jnp.sum(d_all) / (n * (n - 1)))
    # Guard for a batch of identical rows (sigma^2 = 0), where every kernel is 1 anyway.
    sigma2 = jnp.maximum(sigma2, jnp.finfo(z.dtype).tiny)

    def kernel(d):
        return sum(jnp.exp(-d / (q * sigma2)) for q in multipliers) / len(multipliers)

    bs = z_s.shape[0]
    k = kernel(d_all)
    return (jnp.mean(k[:bs, :bs]) + jnp.mean(k[bs:, bs:]) - 2.0 * jnp.mean(k[:bs, bs:]))
