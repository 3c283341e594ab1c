"""2Att-2Mt: ResNet taps → position-level attention → Bi-LSTM over layers → two-stage heads.

Reconstruction of Wang et al., arXiv 1811.12139 (spec two_att_two_mt.md §2–§3). The paper's
abstract fixes the ideas [paper]: first-level attention over positions of CNN feature maps, a
bidirectional RNN with self-attention across network depth, categorical features used to help
valence/arousal. Every concrete form below (taps, 1×1 projection, additive scorers, LSTM, pooling,
coupling) is [our choice] and configurable; the full text and code were not available.

Parameter layout (regexes of spec §5 rely on it):
``backbone/...`` (ResNet trunk), ``proj_<tap>/...`` (1×1 conv + BN per tap), ``att_<tap>/...``
(position scorer; absent with ``position_attention='gap'``), ``layer_embed`` (optional),
``bilstm/...``, ``layer_pool/...``, ``c5_proj/...`` (only ``layer_agg='c5_only'``),
``cls_head/...`` and ``va_head/...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from affectjax.models.resnet import TAP_NAMES, resnet

POSITION_ATTENTION = ("attention", "enhance", "gap")
# The spec's config table writes 'additive' for the default first-level attention (§3.5).
_POSITION_ALIASES = {"additive": "attention"}
LAYER_AGG = ("bilstm_attn", "mean", "c5_only", "bilstm_mean")
COUPLING = ("hidden", "probs", "none")


class TapProjection(nn.Module):
    """h = ReLU(BN(Conv1×1(F → D))) for one tap (§3.2 step 1); no conv bias since BN follows."""

    features: int
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        x = nn.Conv(self.features, (1, 1), use_bias=False, dtype=self.dtype,
                    param_dtype=jnp.float32, name="conv")(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                         epsilon=self.bn_eps, dtype=self.dtype, param_dtype=jnp.float32,
                         name="bn")(x)
        return nn.relu(x)


class AdditiveScorer(nn.Module):
    """e_i = wᵀ tanh(W h_i + b) (§3.2 step 2) [our choice: Bahdanau-style additive form].

    ``w`` has no bias: a constant shift of every score cancels in the softmax.
    """

    hidden: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, h):
        u = jnp.tanh(nn.Dense(self.hidden, dtype=self.dtype, param_dtype=jnp.float32,
                              name="hidden")(h))
        return nn.Dense(1, use_bias=False, dtype=self.dtype, param_dtype=jnp.float32,
                        name="score")(u)[..., 0]


class LayerAttentionPool(nn.Module):
    """β = softmax_t(tanh(W_s O_t + b_s) · c), s = Σ_t β_t O_t (§3.3 steps 3–4).

    Returns ``(s [B, F], beta [B, T])``. Additive pooling with a learned context vector c
    [paper: self-attention over Bi-RNN outputs / our choice: this form, as Yang et al. 2016].
    """

    hidden: int

    @nn.compact
    def __call__(self, o):
        u = jnp.tanh(nn.Dense(self.hidden, name="proj")(o))
        context = self.param("context", nn.initializers.normal(stddev=1.0 / self.hidden ** 0.5),
                             (self.hidden,))
        beta = jax.nn.softmax(u @ context, axis=-1)
        return jnp.einsum("bt,btf->bf", beta, o), beta


class BiRNN(nn.Module):
    """Bidirectional LSTM (or GRU) over [B, T, F]; outputs forward ‖ backward [B, T, 2R] (§3.3).

    [paper] a bidirectional RNN across network depth / [our choice] one layer, LSTM cell.
    """

    hidden: int
    cell: str = "lstm"

    @nn.compact
    def __call__(self, seq):
        cell_cls = nn.LSTMCell if self.cell == "lstm" else nn.GRUCell
        # T ≤ 4 is static, so the scan is fully unrolled (§10).
        unroll = seq.shape[1]
        forward = nn.RNN(cell_cls(self.hidden, parent=None), unroll=unroll, name="forward")
        backward = nn.RNN(cell_cls(self.hidden, parent=None), unroll=unroll, reverse=True,
                          keep_order=True, name="backward")
        return jnp.concatenate([forward(seq), backward(seq)], axis=-1)


class ClsHead(nn.Module):
    """Categorical head: g = Dropout(ReLU(Dense(s → G))), logits = Dense(g → K) (§3.4)."""

    num_classes: int
    hidden: int
    dropout: float

    @nn.compact
    def __call__(self, s, *, train: bool):
        g = nn.relu(nn.Dense(self.hidden, name="hidden")(s))
        g = nn.Dropout(self.dropout, deterministic=not train)(g)
        return nn.Dense(self.num_classes, name="out")(g), g


class VAHead(nn.Module):
    """V/A head: Dropout(ReLU(Dense(x → G))) → Dense(→ 2) → tanh | identity (§3.4)."""

    hidden: int
    dropout: float
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x, *, train: bool):
        y = nn.relu(nn.Dense(self.hidden, name="hidden")(x))
        y = nn.Dropout(self.dropout, deterministic=not train)(y)
        y = nn.Dense(2, name="out")(y)
        # tanh matches the label range [−1, 1] of AffectNet V/A [our choice]; 'none' leaves it to
        # evaluation-time clipping (§7.1).
        return jnp.tanh(y) if self.activation == "tanh" else y


class TwoAttTwoMt(nn.Module):
    """The full model: ``__call__(images [B,H,W,3], *, train) -> ({'logits','va'}, aux)``.

    ``aux``: ``'taps'`` (the backbone's {C2..C5} dict), ``'alpha/<tap>'`` [B, H, W] position
    weights for each used tap (absent with ``'gap'``), ``'beta'`` [B, T] layer weights (only with
    ``layer_agg='bilstm_attn'``: the other aggregations have no learned layer weights, and a
    uniform stand-in would mislead probes), ``'pooled'`` (s) and ``'pre_logits'`` (g).
    Defaults are the paper-scale sizes of §3.5; the tiny config overrides them.
    Dropout draws from the ``'dropout'`` RNG stream when ``train=True``.
    """

    num_classes: int = 8
    backbone: str = "resnet18"
    backbone_width: int = 64
    taps: Sequence[str] = ("C3", "C4", "C5")
    att_dim: int = 512
    att_hidden: int = 256
    position_attention: str = "attention"
    layer_agg: str = "bilstm_attn"
    layer_embedding: bool = False
    rnn_cell: str = "lstm"
    rnn_hidden: int = 256
    pool_hidden: int = 256
    head_hidden: int = 256
    head_dropout: float = 0.5
    coupling: str = "hidden"
    coupling_stop_grad: bool = False
    va_activation: str = "tanh"
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    zero_init_residual: bool = True
    dtype: Any = jnp.float32

    def _check(self) -> tuple[tuple[str, ...], str]:
        taps = tuple(t.upper() for t in self.taps)
        unknown = [t for t in taps if t not in TAP_NAMES]
        if unknown or not taps:
            raise ValueError(f"taps must be a non-empty subset of {TAP_NAMES}, got {self.taps!r}")
        # Shallow → deep is the sequence order the Bi-LSTM reads [our choice].
        taps = tuple(t for t in TAP_NAMES if t in taps)
        pos = _POSITION_ALIASES.get(self.position_attention, self.position_attention)
        for value, allowed, what in ((pos, POSITION_ATTENTION, "position_attention"),
                                     (self.layer_agg, LAYER_AGG, "layer_agg"),
                                     (self.coupling, COUPLING, "coupling"),
                                     (self.rnn_cell, ("lstm", "gru"), "rnn_cell"),
                                     (self.va_activation, ("tanh", "none"), "va_activation")):
            if value not in allowed:
                raise ValueError(f"{what} must be one of {allowed}, got {value!r}")
        if self.layer_agg == "c5_only":
            # The ablation keeps only the deepest map (§3.3), whatever else is tapped.
            taps = ("C5",)
        return taps, pos

    def _position_level(self, name: str, fmap, *, train: bool, mode: str, aux: dict):
        h = TapProjection(self.att_dim, self.bn_momentum, self.bn_eps, self.dtype,
                          name=f"proj_{name}")(fmap, train=train)
        b, hh, ww, d = h.shape
        cells = h.reshape(b, hh * ww, d).astype(jnp.float32)
        if mode == "gap":
            return cells.mean(axis=1)
        scores = AdditiveScorer(self.att_hidden, self.dtype, name=f"att_{name}")(
            h.reshape(b, hh * ww, d))
        # Softmax in fp32: bf16 scores over 784 cells would round small weights to zero.
        alpha = jax.nn.softmax(scores.astype(jnp.float32), axis=-1)
        aux[f"alpha/{name}"] = alpha.reshape(b, hh, ww)
        if mode == "attention":
            return jnp.einsum("bn,bnd->bd", alpha, cells)
        # 'enhance': re-weight each cell by (1 + α_i·N), then average, so the map keeps its
        # global context and attention only amplifies [our choice].
        n = hh * ww
        return jnp.mean((1.0 + alpha[..., None] * n) * cells, axis=1)

    @nn.compact
    def __call__(self, x, *, train: bool):
        taps, pos_mode = self._check()
        trunk = resnet(self.backbone, width=self.backbone_width, dtype=self.dtype,
                       bn_momentum=self.bn_momentum, bn_eps=self.bn_eps,
                       zero_init_residual=self.zero_init_residual, name="backbone")
        feats = trunk(x, train=train)
        aux: dict[str, Any] = {"taps": feats}

        # First level: one attention-pooled vector z_l per tap.
        zs = [self._position_level(t, feats[t], train=train, mode=pos_mode, aux=aux)
              for t in taps]
        seq = jnp.stack(zs, axis=1)  # [B, T, D]
        if self.layer_embedding:
            # Optional depth code per z_l (§3.3 step 1) [our choice]; off by default since the
            # Bi-LSTM already sees the order.
            emb = self.param("layer_embed", nn.initializers.normal(0.02), (len(taps), self.att_dim))
            seq = seq + emb[None]

        # Second level.
        if self.layer_agg == "mean":
            s = seq.mean(axis=1)
        elif self.layer_agg == "c5_only":
            s = nn.Dense(2 * self.rnn_hidden, name="c5_proj")(seq[:, 0])
        else:
            o = BiRNN(self.rnn_hidden, self.rnn_cell, name="bilstm")(seq)  # [B, T, 2R]
            if self.layer_agg == "bilstm_mean":
                s = o.mean(axis=1)
            else:
                s, beta = LayerAttentionPool(self.pool_hidden, name="layer_pool")(o)
                aux["beta"] = beta
        aux["pooled"] = s

        logits, g = ClsHead(self.num_classes, self.head_hidden, self.head_dropout,
                            name="cls_head")(s, train=train)
        aux["pre_logits"] = g
        if self.coupling == "hidden":
            c = g
        elif self.coupling == "probs":
            c = jax.nn.softmax(logits, axis=-1)
        else:
            c = None
        if c is not None and self.coupling_stop_grad:
            c = jax.lax.stop_gradient(c)
        va_in = s if c is None else jnp.concatenate([s, c], axis=-1)
        va = VAHead(self.head_hidden, self.head_dropout, self.va_activation,
                    name="va_head")(va_in, train=train)
        return {"logits": logits.astype(jnp.float32), "va": va.astype(jnp.float32)}, aux

    @classmethod
    def from_config(cls, model_config: Mapping[str, Any], **overrides) -> TwoAttTwoMt:
        """Build from ``config.model``: keys named like fields are used, others ignored.

        Non-architecture keys of §3.5 (``backbone_init``, ``backbone_weights``) belong to the
        task and are skipped here; ``overrides`` win over the config (e.g. ``dtype``).
        """
        fields = {f for f in cls.__dataclass_fields__ if f not in ("parent", "name")}
        kwargs = {k: v for k, v in dict(model_config).items() if k in fields}
        if "taps" in kwargs:
            kwargs["taps"] = tuple(kwargs["taps"])
        kwargs.update(overrides)
        return cls(**kwargs)
