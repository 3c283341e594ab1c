"""EMO-DNA model (spec emo_dna §3.3): emotion and corpus encoders, heads, projection, DANN critic.

[paper] The model produces emotion-relevant features z_e and corpus-specific features z_c.
[our choice] (spec §2 items 3-5, 8):
- E_e and E_c are two TIM encoders with separate weights; ``share_trunk=True`` runs one encoder
  and derives z_e and z_c with two MLP heads (Dense C -> ReLU -> Dense C each), the
  "single encoder" ablation.
- C_e: Dense C -> K on z_e; C_c: Dense C -> M on z_c (corpus ID, which makes z_c corpus-specific).
- g: Dense C -> P -> ReLU -> Dense P -> P, shared by both feature kinds; u = g(z_e)/||.||,
  v = g(z_c)/||.|| feed the contrastive decoupling loss.
- D: GRL(coeff) -> Dense C -> H -> ReLU -> Dropout 0.1 -> Dense H -> M on z_e, used by the DANN
  baseline and the ``glob_kind='dann'`` ablation; ``grl_coeff`` is given at call time so the
  DANN ramp can change it per step.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from affectjax.models.layers import grad_reverse
from affectjax.models.ser.timnet import make_encoder


def l2_normalize(x: jax.Array, eps: float = 1e-12) -> jax.Array:
    """Rows of ``x`` scaled to unit L2 norm (rows of zeros stay finite)."""
    sq = jnp.sum(jnp.square(x), axis=-1, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(sq, eps * eps))


class EmoDNA(nn.Module):
    """EMO-DNA: x (B, T, F) -> (emotion logits (B, K), aux).

    ``aux = {"z_e": (B, C), "z_c": (B, C), "u": (B, P), "v": (B, P),
    "corpus_logits": (B, M), "disc_logits": (B, M)}``.
    """

    num_classes: int
    num_corpora: int = 2
    encoder_kind: str = "tim"
    channels: int = 39
    levels: int = 8
    kernel_size: int = 2
    dropout: float = 0.1
    share_trunk: bool = False
    proj_dim: int = 64
    disc_hidden: int = 64
    disc_dropout: float = 0.1
    dtype: Any = None

    def _encoder(self, name: str) -> nn.Module:
        return make_encoder(self.encoder_kind, channels=self.channels, levels=self.levels,
                            kernel_size=self.kernel_size, dropout=self.dropout, dtype=self.dtype,
                            name=name)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, grl_coeff: jax.Array | float = 1.0
                 ) -> tuple[jax.Array, dict[str, jax.Array]]:
        c = self.channels
        if self.share_trunk:
            h = self._encoder("trunk")(x, train=train)
            z_e = nn.Dense(c, name="head_e_1")(nn.relu(nn.Dense(c, name="head_e_0")(h)))
            z_c = nn.Dense(c, name="head_c_1")(nn.relu(nn.Dense(c, name="head_c_0")(h)))
        else:
            z_e = self._encoder("E_e")(x, train=train)
            z_c = self._encoder("E_c")(x, train=train)

        logits = nn.Dense(self.num_classes, name="C_e")(z_e)
        corpus_logits = nn.Dense(self.num_corpora, name="C_c")(z_c)

        # One projection for both kinds, so u and v live in the same space and v can act as
        # negatives for u (and vice versa) in the decoupling loss.
        g_0 = nn.Dense(self.proj_dim, name="g_0")
        g_1 = nn.Dense(self.proj_dim, name="g_1")
        u = l2_normalize(g_1(nn.relu(g_0(z_e))))
        v = l2_normalize(g_1(nn.relu(g_0(z_c))))

        d = grad_reverse(z_e, grl_coeff)
        d = nn.relu(nn.Dense(self.disc_hidden, name="D_0")(d))
        d = nn.Dropout(self.disc_dropout, deterministic=not train)(d)
        disc_logits = nn.Dense(self.num_corpora, name="D_1")(d)

        return logits, {"z_e": z_e, "z_c": z_c, "u": u, "v": v,
                        "corpus_logits": corpus_logits, "disc_logits": disc_logits}
