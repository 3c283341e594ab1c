"""Matrix-factorisation baselines of spec bert4cmr.md §8: GMF, MLP and NMF (NeuMF).

[related-code: NCF / FOREC ``src/model.py``] GMF = h·(p_u ⊙ q_i); MLP = ReLU tower with
``layers`` (64, 128, 64, 32) on concat(p_u, q_i), then a Dense(32→1); NMF = Dense(1) on
GMF-vector ‖ MLP-vector, with separate embedding tables for the two parts as in NCF/FOREC. Every
module returns ``(logit [B], {"user_vec", "item_vec"})`` like :class:`Bert4CMR`, and is trained
with the same per-row BCE (§4).

Ids: users 0..U-1 (``num_users`` = U; users are keyed by (market, raw id), §6.4), items 1..N
with row 0 the padding id of padded batch rows (weight 0, so it needs no special treatment).
Initialisers: Linear layers U(±1/√fan_in) (PyTorch's default, as FOREC); embeddings
N(0, ``init_std``²). The modules default to FOREC's PyTorch N(0, 1); the Bert4CMR config uses
NCF's N(0, 0.01²) [related-code: NCF ``GMF.py`` ``init_normal``], because from N(0, 1) Adam at
1e-3 needs tens of epochs to leave chance level (measured on XMarket jp: valid NDCG@10 ≈ 0.05
for 50 epochs at batch 1024; 0.26 after 6 epochs from N(0, 0.01²)).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from affectjax.models.bert4cmr import torch_bias_init, torch_kernel_init

__all__ = ["GMF", "MLP", "NMF", "make_mf_model"]

Array = jax.Array


def _dense(features: int, fan_in: int, name: str) -> nn.Dense:
    return nn.Dense(features, kernel_init=torch_kernel_init(), bias_init=torch_bias_init(fan_in),
                    name=name)


def _tables(prefix: str, num_users: int, num_items: int, dim: int,
            user: Array, item: Array, init_std: float) -> tuple[Array, Array]:
    init = nn.initializers.normal(init_std)
    p = nn.Embed(num_users, dim, embedding_init=init, name=f"{prefix}user")(user)
    q = nn.Embed(num_items + 1, dim, embedding_init=init, name=f"{prefix}item")(item)
    return p, q


def _tower(x: Array, layers: Sequence[int]) -> Array:
    if x.shape[-1] != layers[0]:
        raise ValueError(f"layers[0]={layers[0]} must equal 2·dim={x.shape[-1]}")
    for i, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:])):
        x = nn.relu(_dense(n_out, n_in, f"fc_{i}")(x))
    return x


class GMF(nn.Module):
    """Generalised MF: logit = h·(p_u ⊙ q_i) + b."""

    num_users: int
    num_items: int
    dim: int = 32
    init_std: float = 1.0  # embeddings N(0, init_std²)

    @nn.compact
    def __call__(self, user: Array, cand: Array, *,
                 train: bool = False) -> tuple[Array, dict[str, Array]]:
        del train  # no dropout [related-code: FOREC]
        p, q = _tables("", self.num_users, self.num_items, self.dim, user, cand,
                       self.init_std)
        logit = _dense(1, self.dim, "head")(p * q)[..., 0]
        return logit, {"user_vec": p, "item_vec": q}


class MLP(nn.Module):
    """NCF's MLP: ReLU tower on concat(p_u, q_i) with sizes ``layers`` → Dense(1)."""

    num_users: int
    num_items: int
    layers: tuple[int, ...] = (64, 128, 64, 32)  # layers[0] = 2·dim
    init_std: float = 1.0  # embeddings N(0, init_std²)

    @nn.compact
    def __call__(self, user: Array, cand: Array, *,
                 train: bool = False) -> tuple[Array, dict[str, Array]]:
        del train
        p, q = _tables("", self.num_users, self.num_items, self.layers[0] // 2, user, cand,
                       self.init_std)
        x = _tower(jnp.concatenate([p, q], axis=-1), self.layers)
        logit = _dense(1, self.layers[-1], "head")(x)[..., 0]
        return logit, {"user_vec": p, "item_vec": q}


class NMF(nn.Module):
    """NeuMF: Dense(1) on (p_u ⊙ q_i) ‖ MLP(concat(p'_u, q'_i)); separate GMF and MLP tables."""

    num_users: int
    num_items: int
    dim: int = 32  # GMF latent size
    layers: tuple[int, ...] = (64, 128, 64, 32)  # MLP latent size = layers[0] / 2
    init_std: float = 1.0  # embeddings N(0, init_std²)

    @nn.compact
    def __call__(self, user: Array, cand: Array, *,
                 train: bool = False) -> tuple[Array, dict[str, Array]]:
        del train
        p, q = _tables("mf_", self.num_users, self.num_items, self.dim, user, cand,
                       self.init_std)
        pm, qm = _tables("mlp_", self.num_users, self.num_items, self.layers[0] // 2,
                         user, cand, self.init_std)
        x = _tower(jnp.concatenate([pm, qm], axis=-1), self.layers)
        logit = _dense(1, self.layers[-1] + self.dim, "head")(
            jnp.concatenate([x, p * q], axis=-1))[..., 0]
        return logit, {"user_vec": jnp.concatenate([p, pm], axis=-1),
                       "item_vec": jnp.concatenate([q, qm], axis=-1)}


def make_mf_model(name: str, *, num_users: int, num_items: int, dim: int = 32,
                  layers: Sequence[int] = (64, 128, 64, 32), init_std: float = 1.0
                  ) -> nn.Module:
    """``name`` ∈ {gmf, mlp, nmf}; sizes come from the data, dims default to §8's."""
    layers = tuple(layers)
    if name == "gmf":
        return GMF(num_users, num_items, dim, init_std)
    if name == "mlp":
        return MLP(num_users, num_items, layers, init_std)
    if name == "nmf":
        return NMF(num_users, num_items, dim, layers, init_std)
    raise ValueError(f"unknown MF baseline {name!r}; expected gmf, mlp or nmf")
