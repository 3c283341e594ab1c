"""Bert4CMR (ACMR): a bidirectional encoder over history ‖ candidate, with a market embedding.

Spec: ``specs/bert4cmr.md`` §3. Two modules share one encoder block:

- :class:`Bert4CMR` (variants ``fixed`` and ``faithful``, §3.2): tokens = the user's history
  followed by one candidate; the logit comes from Dense(2d→1) on the masked mean of the history
  outputs ‖ the candidate output. Returns ``(logit [B], {"user_vec", "item_vec"})``.
- :class:`Bert4CMRCloze` (variant ``cloze``, §3.4) [related-code: BERT4Rec, RecBole]: a
  masked-item model with learned positions and a tied output table; scores every candidate of a
  user from one forward pass.

Tags: [paper] stated in the abstract; [official-code] what ``laowangzi/ACMR`` does;
[related-code: name] another public codebase; [our choice] decided here.

Vocabulary sizes are constructor fields that the task fills from the data (item ids 1..N with 0
as padding, market ids 1..M), never config keys (§3.3). Initialisers follow PyTorch's defaults
for the layers the official model uses, so that a faithful run starts from the same
distributions [official-code].
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = [
    "Bert4CMR",
    "Bert4CMRCloze",
    "EncoderBlock",
    "SelfAttention",
    "cloze_mask",
    "make_model",
    "masked_mean",
    "recency_positions",
    "torch_bias_init",
    "torch_kernel_init",
]

Array = jax.Array


# ---------------------------------------------------------------------------------------------
# PyTorch-default initialisers [official-code: nn.Linear, nn.Embedding, nn.MultiheadAttention]


def torch_kernel_init() -> nn.initializers.Initializer:
    """``nn.Linear``'s kaiming_uniform(a=√5): U(±1/√fan_in) for a Dense kernel [in, out]."""
    return nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def torch_bias_init(fan_in: int) -> nn.initializers.Initializer:
    """``nn.Linear``'s bias: U(±1/√fan_in); the bias does not know its fan-in, so it is given."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _in_proj_init(emb_dim: int) -> nn.initializers.Initializer:
    # PyTorch's MHA applies xavier_uniform to the stacked [3d, d] in_proj matrix, so each of the
    # q/k/v kernels gets the bound of a (fan_in d, fan_out 3d) matrix, not of a square one.
    bound = math.sqrt(6.0 / (emb_dim + 3 * emb_dim))

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _normal_pad0(stddev: float = 1.0) -> nn.initializers.Initializer:
    # nn.Embedding(padding_idx=0): N(0, 1) with row 0 zeroed [official-code].
    def init(key, shape, dtype=jnp.float32):
        return (stddev * jax.random.normal(key, shape, dtype)).at[0].set(0)

    return init


# ---------------------------------------------------------------------------------------------
# Small pure helpers


def masked_mean(x: Array, mask: Array) -> Array:
    """Σ_t mask_t·x_t / max(1, Σ_t mask_t) over axis -2; an empty history gives 0 (§3.2 row 7)."""
    m = mask.astype(x.dtype)[..., None]
    return (x * m).sum(-2) / jnp.maximum(m.sum(-2), 1.0)


def recency_positions(mask: Array, offset: int = 0) -> Array:
    """Position ids counted from the most recent valid token: ``offset`` for it, +1 per step back.

    [our choice] Counting from the end makes the position of a token independent of how much
    padding follows or precedes it, so left- and right-aligned inputs and every length bucket
    (§10) give identical results. Padding positions get an id in range too; they are masked as
    keys and never read.
    """
    m = mask.astype(jnp.int32)
    after = m.sum(-1, keepdims=True) - jnp.cumsum(m, axis=-1)  # valid tokens strictly after t
    return after + offset


# ---------------------------------------------------------------------------------------------
# Encoder


class SelfAttention(nn.Module):
    """Multi-head attention in PyTorch's layout and scaling, with a boolean key mask.

    Written out (instead of ``nn.MultiHeadDotProductAttention``) so that the candidate-only path
    of ``history_ignores_candidate`` can reuse the history's keys and values. The parameter count
    equals PyTorch's ``in_proj`` + ``out_proj``: 4·d² + 4·d.
    """

    emb_dim: int
    num_heads: int
    dropout_rate: float = 0.0

    def setup(self):
        if self.emb_dim % self.num_heads:
            raise ValueError(f"emb_dim {self.emb_dim} is not divisible by num_heads "
                             f"{self.num_heads}")
        head_dim = self.emb_dim // self.num_heads
        proj = dict(features=(self.num_heads, head_dim), kernel_init=_in_proj_init(self.emb_dim),
                    bias_init=nn.initializers.zeros)
        self.query = nn.DenseGeneral(**proj)
        self.key = nn.DenseGeneral(**proj)
        self.value = nn.DenseGeneral(**proj)
        # PyTorch zeroes in_proj_bias and out_proj.bias but keeps nn.Linear's weight init.
        self.out = nn.DenseGeneral(self.emb_dim, axis=(-2, -1), kernel_init=torch_kernel_init(),
                                   bias_init=nn.initializers.zeros)
        self.drop = nn.Dropout(self.dropout_rate)
        self.scale = 1.0 / math.sqrt(head_dim)

    def keys_values(self, x: Array) -> tuple[Array, Array]:
        return self.key(x), self.value(x)

    def _softmax(self, logits: Array, *, train: bool) -> Array:
        return self.drop(jax.nn.softmax(logits, axis=-1), deterministic=not train)

    def __call__(self, x: Array, mask: Array, *, train: bool) -> Array:
        """x [B, L, d]; mask [B, 1 or L, L] bool (True = may attend) → [B, L, d]."""
        q = self.query(x) * self.scale
        k, v = self.keys_values(x)
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k)
        # finfo.min rather than -inf: a query whose keys are all masked (a padding query) gets a
        # uniform, finite softmax instead of NaN; its output is never read.
        logits = jnp.where(mask[:, None], logits, jnp.finfo(logits.dtype).min)
        w = self._softmax(logits, train=train)
        return self.out(jnp.einsum("bhqk,bkhd->bqhd", w, v))

    def attend_candidates(self, x_c: Array, k_h: Array, v_h: Array, hist_mask: Array, *,
                          train: bool) -> Array:
        """C candidates per user, each attending to the shared history keys and to itself.

        x_c [U, C, d]; k_h, v_h [U, H, heads, hd]; hist_mask [U, H] → [U, C, d]. Equal to the
        candidate row of ``__call__`` on history ‖ candidate when the history does not attend to
        the candidate, at O(C·H) instead of O(C·H²) attention cost.
        """
        q = self.query(x_c) * self.scale
        k_c, v_c = self.keys_values(x_c)
        lh = jnp.einsum("uchd,ukhd->uchk", q, k_h)
        lh = jnp.where(hist_mask[:, None, None, :], lh, jnp.finfo(lh.dtype).min)
        ls = jnp.sum(q * k_c, axis=-1)[..., None]  # the candidate's own key, never masked
        w = self._softmax(jnp.concatenate([lh, ls], axis=-1), train=train)
        out = jnp.einsum("uchk,ukhd->uchd", w[..., :-1], v_h) + w[..., -1:] * v_c
        return self.out(out)


class EncoderBlock(nn.Module):
    """One post-LN Transformer encoder layer (PyTorch ``TransformerEncoderLayer``, ReLU).

    MHA → dropout → +res → LN; Dense(mlp_dim) ReLU → dropout → Dense(d) → dropout → +res → LN
    [official-code, §3.2 row 6].
    """

    emb_dim: int
    num_heads: int
    mlp_dim: int
    dropout_rate: float
    attention_dropout_rate: float
    layer_norm_eps: float = 1e-5

    def setup(self):
        self.attn = SelfAttention(self.emb_dim, self.num_heads, self.attention_dropout_rate)
        self.norm1 = nn.LayerNorm(epsilon=self.layer_norm_eps)
        self.norm2 = nn.LayerNorm(epsilon=self.layer_norm_eps)
        self.dense1 = nn.Dense(self.mlp_dim, kernel_init=torch_kernel_init(),
                               bias_init=torch_bias_init(self.emb_dim))
        self.dense2 = nn.Dense(self.emb_dim, kernel_init=torch_kernel_init(),
                               bias_init=torch_bias_init(self.mlp_dim))
        self.drop = nn.Dropout(self.dropout_rate)

    def _ffn(self, x: Array, *, train: bool) -> Array:
        det = not train
        h = self.drop(nn.relu(self.dense1(x)), deterministic=det)
        return self.norm2(x + self.drop(self.dense2(h), deterministic=det))

    def __call__(self, x: Array, mask: Array, *, train: bool) -> Array:
        a = self.attn(x, mask, train=train)
        x = self.norm1(x + self.drop(a, deterministic=not train))
        return self._ffn(x, train=train)

    def two_stream(self, x_h: Array, hist_mask: Array, x_c: Array, *,
                   train: bool) -> tuple[Array, Array]:
        """History [U, H, d] attends to itself only; candidates [U, C, d] to history + self."""
        k_h, v_h = self.attn.keys_values(x_h)
        a_c = self.attn.attend_candidates(x_c, k_h, v_h, hist_mask, train=train)
        x_c = self._ffn(self.norm1(x_c + self.drop(a_c, deterministic=not train)), train=train)
        return self(x_h, hist_mask[:, None, :], train=train), x_c


class _Embedder(nn.Module):
    """Item (+ market) (+ position) embeddings → LayerNorm(eps) → dropout (§3.2 rows 2–5)."""

    num_items: int
    num_markets: int
    emb_dim: int
    dropout_rate: float
    layer_norm_eps: float
    use_market_emb: bool
    num_positions: int  # 0 = no position table
    extra_item_rows: int = 0  # 1 for the cloze [MASK] token
    embedding_stddev: float = 1.0

    def setup(self):
        # Row 0 is padding: initialised to 0 and forced to 0 at lookup, so it gets no gradient
        # and coupled weight decay keeps it at 0 [official-code: padding_idx=0].
        self.item = nn.Embed(self.num_items + 1 + self.extra_item_rows, self.emb_dim,
                             embedding_init=_normal_pad0(self.embedding_stddev))
        if self.use_market_emb:
            # No padding_idx on the market table in the official code; id 0 is simply unused.
            self.market = nn.Embed(self.num_markets + 1, self.emb_dim,
                                   embedding_init=nn.initializers.normal(self.embedding_stddev))
        if self.num_positions:
            self.position = nn.Embed(self.num_positions, self.emb_dim,
                                     embedding_init=nn.initializers.normal(self.embedding_stddev))
        self.norm = nn.LayerNorm(epsilon=self.layer_norm_eps)
        self.drop = nn.Dropout(self.dropout_rate)

    def items(self, ids: Array) -> Array:
        return jnp.where((ids == 0)[..., None], 0.0, self.item(ids))

    def attend(self, h: Array) -> Array:
        return self.item.attend(h)

    def __call__(self, ids: Array, market: Array, positions: Array | None, *,
                 train: bool) -> Array:
        """ids [U, ...]; market [U] broadcast over every other axis; positions like ids."""
        x = self.items(ids)
        if self.use_market_emb:
            m = self.market(market)
            x = x + m.reshape(m.shape[:1] + (1,) * (x.ndim - 2) + m.shape[1:])
        if self.num_positions:
            if positions is None:
                raise ValueError("positions are required when a position table is used")
            x = x + self.position(jnp.minimum(positions, self.num_positions - 1))
        return self.drop(self.norm(x), deterministic=not train)


# ---------------------------------------------------------------------------------------------
# Bert4CMR (fixed / faithful)


class Bert4CMR(nn.Module):
    """Score one (history, candidate, market) row: ``(logit [B], {"user_vec", "item_vec"})``.

    Inputs: ``hist`` [B, H] item ids (0 = pad), ``hist_mask`` [B, H] bool, ``cand`` [B],
    ``market`` [B]. The candidate is token H+1 and its key is never masked, so a row with an
    empty history still has one valid key [official-code + our choice: the official mask
    ``x <= 0`` would also mask a pad candidate and yield NaN]. The sigmoid lives in the metrics
    and the loss, never here.

    ``history_ignores_candidate`` [our choice, default off, not faithful]: history tokens cannot
    attend to the candidate, so ``score_candidates`` encodes each user's history once and each
    candidate with O(H) attention, ~30× cheaper evaluation (§10).
    """

    num_items: int  # N; ids 1..N, 0 = pad
    num_markets: int  # M; ids 1..M
    emb_dim: int = 32
    num_layers: int = 4
    num_heads: int = 8
    mlp_dim: int = 128
    dropout_rate: float = 0.3
    attention_dropout_rate: float = 0.3
    layer_norm_eps: float = 1e-5
    use_market_emb: bool = True  # [paper]
    use_pos_emb: bool = False  # [our choice]; off in fixed/faithful [official-code]
    max_len: int = 51  # H+1 rows of the position table, only used with use_pos_emb
    history_ignores_candidate: bool = False  # [our choice]
    embedding_stddev: float = 1.0  # [official-code] nn.Embedding's N(0, 1)

    def setup(self):
        self.embed = _Embedder(
            self.num_items, self.num_markets, self.emb_dim, self.dropout_rate,
            self.layer_norm_eps, self.use_market_emb,
            num_positions=self.max_len if self.use_pos_emb else 0,
            embedding_stddev=self.embedding_stddev)
        self.blocks = [
            EncoderBlock(self.emb_dim, self.num_heads, self.mlp_dim, self.dropout_rate,
                         self.attention_dropout_rate, self.layer_norm_eps)
            for _ in range(self.num_layers)]
        self.head = nn.Dense(1, kernel_init=torch_kernel_init(),
                             bias_init=torch_bias_init(2 * self.emb_dim))

    def embed_items(self, ids: Array) -> Array:
        """The item table lookup with the pad row forced to 0 (§3.2 row 2); for probes/tests."""
        return self.embed.items(ids)

    def _check_len(self, h: int):
        if self.use_pos_emb and h + 1 > self.max_len:
            raise ValueError(f"history length {h} + candidate exceeds max_len {self.max_len}")

    def _hist_positions(self, hist_mask: Array) -> Array | None:
        # Candidate = position 0, most recent history item = 1, ... (see recency_positions).
        return recency_positions(hist_mask, offset=1) if self.use_pos_emb else None

    def _logit(self, user: Array, item: Array) -> Array:
        return self.head(jnp.concatenate([user, item], axis=-1))[..., 0]

    def __call__(self, hist: Array, hist_mask: Array, cand: Array, market: Array, *,
                 train: bool = False) -> tuple[Array, dict[str, Array]]:
        b, h = hist.shape
        self._check_len(h)
        hist_mask = hist_mask.astype(bool)
        tokens = jnp.concatenate([hist, cand[:, None]], axis=1)
        key_mask = jnp.concatenate([hist_mask, jnp.ones((b, 1), bool)], axis=1)
        positions = None
        if self.use_pos_emb:
            positions = jnp.concatenate(
                [self._hist_positions(hist_mask), jnp.zeros((b, 1), jnp.int32)], axis=1)
        x = self.embed(tokens, market, positions, train=train)
        if self.history_ignores_candidate:
            # Queries 0..H-1 may not see key H; the candidate query sees everything valid.
            q_is_hist = jnp.arange(h + 1)[:, None] < h
            k_is_cand = jnp.arange(h + 1)[None, :] == h
            mask = key_mask[:, None, :] & ~(q_is_hist & k_is_cand)[None]
        else:
            mask = key_mask[:, None, :]
        for block in self.blocks:
            x = block(x, mask, train=train)
        user = masked_mean(x[:, :h], hist_mask)
        item = x[:, h]
        return self._logit(user, item), {"user_vec": user, "item_vec": item}

    def score_candidates(self, hist: Array, hist_mask: Array, cands: Array, market: Array, *,
                         train: bool = False) -> tuple[Array, dict[str, Array]]:
        """Evaluation: logits [U, C] for C candidates per user (§10: rows [U·C, H+1]).

        Without ``history_ignores_candidate`` each candidate needs its own pass (history tokens
        attend to it), so the user's history is repeated C times; with it, the history is
        encoded once per user.
        """
        u, c = cands.shape
        hist_mask = hist_mask.astype(bool)
        if not self.history_ignores_candidate:
            logit, aux = self(jnp.repeat(hist, c, axis=0), jnp.repeat(hist_mask, c, axis=0),
                              cands.reshape(-1), jnp.repeat(market, c, axis=0), train=train)
            return logit.reshape(u, c), {k: v.reshape(u, c, -1) for k, v in aux.items()}
        self._check_len(hist.shape[1])
        x_h = self.embed(hist, market, self._hist_positions(hist_mask), train=train)
        x_c = self.embed(cands, market, jnp.zeros_like(cands) if self.use_pos_emb else None,
                         train=train)
        for block in self.blocks:
            x_h, x_c = block.two_stream(x_h, hist_mask, x_c, train=train)
        user = jnp.broadcast_to(masked_mean(x_h, hist_mask)[:, None], x_c.shape)
        return self._logit(user, x_c), {"user_vec": user, "item_vec": x_c}


# ---------------------------------------------------------------------------------------------
# Cloze variant [related-code: BERT4Rec (FeiSun/BERT4Rec), RecBole BERT4Rec]


class Bert4CMRCloze(nn.Module):
    """Masked-item model over a chronological sequence; scores s_{p,j} = h_p·E_j + b_j (§3.4).

    Item table (N+2)×d with row 0 = pad and row N+1 = [MASK], tied with the output; a per-row
    output bias; learned position table of ``max_len`` = H+1 rows (positions counted from the
    most recent token); market embedding; the same encoder block as :class:`Bert4CMR`. No
    Dense(2d→1) head.
    """

    num_items: int
    num_markets: int
    emb_dim: int = 32
    num_layers: int = 4
    num_heads: int = 8
    mlp_dim: int = 128
    dropout_rate: float = 0.3
    attention_dropout_rate: float = 0.3
    layer_norm_eps: float = 1e-5
    use_market_emb: bool = True
    max_len: int = 51
    # Module default N(0, 1) like Bert4CMR's; the config sets BERT4Rec's 0.02, as for fixed.
    embedding_stddev: float = 1.0

    @property
    def mask_id(self) -> int:
        return self.num_items + 1

    def setup(self):
        self.embed = _Embedder(
            self.num_items, self.num_markets, self.emb_dim, self.dropout_rate,
            self.layer_norm_eps, self.use_market_emb, num_positions=self.max_len,
            extra_item_rows=1, embedding_stddev=self.embedding_stddev)
        self.blocks = [
            EncoderBlock(self.emb_dim, self.num_heads, self.mlp_dim, self.dropout_rate,
                         self.attention_dropout_rate, self.layer_norm_eps)
            for _ in range(self.num_layers)]
        self.output_bias = self.param("output_bias", nn.initializers.zeros,
                                      (self.num_items + 2,))

    def encode(self, seq: Array, seq_mask: Array, market: Array, *,
               train: bool = False) -> Array:
        """seq [B, L] item ids or [MASK], seq_mask [B, L] → hidden states [B, L, d]."""
        if seq.shape[1] > self.max_len:
            raise ValueError(f"sequence length {seq.shape[1]} exceeds max_len {self.max_len}")
        seq_mask = seq_mask.astype(bool)
        x = self.embed(seq, market, recency_positions(seq_mask), train=train)
        for block in self.blocks:
            x = block(x, seq_mask[:, None, :], train=train)
        return x

    def _scores(self, h: Array, items: Array | None) -> Array:
        if items is None:
            return self.embed.attend(h) + self.output_bias
        e = self.embed.items(items)
        return jnp.einsum("...d,...kd->...k", h, e) + self.output_bias[items]

    def __call__(self, seq: Array, seq_mask: Array, market: Array, positions: Array,
                 items: Array | None = None, *,
                 train: bool = False) -> tuple[Array, dict[str, Array]]:
        """Scores at ``positions`` [B, P], of all N+2 rows or of ``items`` only.

        Without ``items``: [B, P, N+2] for the softmax loss (ids 0 and N+1 must be excluded by the
        loss). With ``items`` [B, P, K]: [B, P, K] for ``bce_sampled``. Gathering the P positions
        first keeps the [B, P, N+2] tensor small. ``aux["hidden"]`` is h_p [B, P, d].
        """
        h = self.encode(seq, seq_mask, market, train=train)
        h_p = jnp.take_along_axis(h, positions[..., None].astype(jnp.int32), axis=1)
        return self._scores(h_p, items), {"hidden": h_p}

    def score_candidates(self, hist: Array, hist_mask: Array, cands: Array, market: Array, *,
                         train: bool = False) -> tuple[Array, dict[str, Array]]:
        """Evaluation: append [MASK] after the history, score all C candidates from one pass."""
        u, h = hist.shape
        seq = jnp.concatenate([hist, jnp.full((u, 1), self.mask_id, hist.dtype)], axis=1)
        seq_mask = jnp.concatenate([hist_mask.astype(bool), jnp.ones((u, 1), bool)], axis=1)
        user = self.encode(seq, seq_mask, market, train=train)[:, h]
        item = self.embed.items(cands)
        scores = jnp.einsum("ud,ucd->uc", user, item) + self.output_bias[cands]
        return scores, {"user_vec": user, "item_vec": item}


def cloze_mask(rng: Array, seq: Array, seq_mask: Array, *, mask_id: int,
               mask_ratio: float = 0.2, last_item_mask_prob: float = 0.5,
               max_predictions: int | None = None) -> dict[str, Array]:
    """Corrupt sequences for the cloze loss (§3.4); pure, jit-able, fixed output shapes.

    Each valid position is masked with prob ``mask_ratio``; with prob ``last_item_mask_prob`` a
    sequence instead has only its most recent valid item masked (as at evaluation). At most
    ``max_predictions`` (P) masked positions per sequence are kept, chosen at random, so the
    output has a fixed shape [our choice: default ⌈2·ratio·L⌉, ~3σ above the mean for L = 51].

    Returns ``inputs`` [B, L] (seq with [MASK] at kept positions), ``positions`` [B, P],
    ``targets`` [B, P] (original ids, 0 where unused) and ``weights`` [B, P] (1.0 per kept
    position, 0 for unused slots).
    """
    b, length = seq.shape
    p = max_predictions or max(1, math.ceil(2 * mask_ratio * length))
    p = min(p, length)
    seq_mask = seq_mask.astype(bool)
    k_last, k_mask, k_pick = jax.random.split(rng, 3)
    last_only = jax.random.uniform(k_last, (b, 1)) < last_item_mask_prob
    random_mask = (jax.random.uniform(k_mask, (b, length)) < mask_ratio) & seq_mask
    last_mask = seq_mask & (recency_positions(seq_mask) == 0)
    chosen = jnp.where(last_only, last_mask, random_mask)
    # Random priorities in [0, 1) for chosen positions, -1 otherwise; top-P keeps a random subset.
    prio = jnp.where(chosen, jax.random.uniform(k_pick, (b, length)), -1.0)
    top, positions = jax.lax.top_k(prio, p)
    kept = top >= 0
    picked = jnp.any((positions[..., None] == jnp.arange(length)) & kept[..., None], axis=1)
    targets = jnp.where(kept, jnp.take_along_axis(seq, positions, axis=1), 0)
    return {"inputs": jnp.where(picked, jnp.asarray(mask_id, seq.dtype), seq),
            "positions": positions.astype(jnp.int32), "targets": targets,
            "weights": kept.astype(jnp.float32)}


# ---------------------------------------------------------------------------------------------


def make_model(model_cfg: Any, *, num_items: int, num_markets: int,
               max_history: int) -> nn.Module:
    """Build the module of ``model_cfg.variant`` (§3.3 keys); vocab sizes come from the data.

    ``fixed`` and ``faithful`` share :class:`Bert4CMR` (they differ only in data and training);
    ``cloze`` is :class:`Bert4CMRCloze`. Keys absent from ``model_cfg`` take the paper-scale
    defaults of the module.
    """
    get = model_cfg.get if hasattr(model_cfg, "get") else lambda k, d=None: getattr(
        model_cfg, k, d)
    common = {k: get(k) for k in ("emb_dim", "num_layers", "num_heads", "mlp_dim",
                                  "dropout_rate", "attention_dropout_rate", "layer_norm_eps",
                                  "use_market_emb", "embedding_stddev") if get(k) is not None}
    variant = get("variant", "fixed")
    if variant in ("fixed", "faithful"):
        extra = {k: get(k) for k in ("use_pos_emb", "history_ignores_candidate")
                 if get(k) is not None}
        return Bert4CMR(num_items=num_items, num_markets=num_markets,
                        max_len=max_history + 1, **common, **extra)
    if variant == "cloze":
        return Bert4CMRCloze(num_items=num_items, num_markets=num_markets,
                             max_len=max_history + 1, **common)
    raise ValueError(f"unknown Bert4CMR variant {variant!r}; expected fixed, faithful or cloze")
