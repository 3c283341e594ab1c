"""Bert4CMR model, cloze variant, MF baselines and ranking losses (spec bert4cmr.md §3, §4, §8)."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from affectjax.losses import ranking
from affectjax.models import mf
from affectjax.models.bert4cmr import (
    Bert4CMR,
    Bert4CMRCloze,
    cloze_mask,
    make_model,
    recency_positions,
)

TINY = dict(emb_dim=16, num_layers=2, num_heads=2, mlp_dim=32, dropout_rate=0.1,
            attention_dropout_rate=0.1)
N_TINY, M_TINY, H = 300, 3, 10
B = 8  # one batch shape for most tests: every new shape is another compile


def n_params(module, *args, **kwargs) -> int:
    shapes = jax.eval_shape(lambda: module.init(jax.random.key(0), *args, **kwargs))
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes["params"]))


def key(seed: int = 0):
    """An rbg key: dropout and initialisers compiled with threefry take ~6x longer on CPU."""
    return jax.random.key(seed, impl="rbg")


def init(model, *args):
    """Jitted init: eager flax init dispatches (and compiles) op by op, slower on CPU."""
    return jax.jit(model.init)(key(0), *args)


def japply(model, method=None, **kwargs):
    return jax.jit(lambda v, *a: model.apply(v, *a, method=method, **kwargs))


def rows(seed: int, b: int, h: int = H, n_items: int = N_TINY, n_markets: int = M_TINY):
    """Random right-padded histories of 0..h items, candidates and markets."""
    r = np.random.default_rng(seed)
    lens = r.integers(0, h + 1, size=b)
    lens[0] = h  # at least one full history
    mask = np.arange(h)[None] < lens[:, None]
    hist = np.where(mask, r.integers(1, n_items + 1, size=(b, h)), 0).astype(np.int32)
    cand = r.integers(1, n_items + 1, size=b).astype(np.int32)
    market = r.integers(1, n_markets + 1, size=b).astype(np.int32)
    return hist, mask, cand, market


@pytest.fixture(scope="module")
def tiny():
    model = Bert4CMR(N_TINY, M_TINY, **TINY)
    hist, mask, cand, market = rows(0, B)
    variables = init(model, hist, mask, cand, market)
    apply = japply(model)
    return model, variables, apply


# --- parameter counts (§3.5) -------------------------------------------------------------------


def test_parameter_counts():
    b = 2
    hist, mask = jnp.ones((b, 50), jnp.int32), jnp.ones((b, 50), bool)
    ones = jnp.ones((b,), jnp.int32)
    assert n_params(Bert4CMR(8304, 7), hist, mask, ones, ones) == 316_961
    assert n_params(Bert4CMR(N_TINY, M_TINY, **TINY), hist[:, :H], mask[:, :H], ones,
                    ones) == 9_393
    cloze = Bert4CMRCloze(8304, 7, max_len=51)
    seq, seq_mask = jnp.ones((b, 51), jnp.int32), jnp.ones((b, 51), bool)
    assert n_params(cloze, seq, seq_mask, ones, jnp.zeros((b, 3), jnp.int32)) == 326_866
    # Options change exactly the tables they add or remove.
    assert n_params(Bert4CMR(8304, 7, use_market_emb=False), hist, mask, ones,
                    ones) == 316_961 - 8 * 32
    assert n_params(Bert4CMR(8304, 7, use_pos_emb=True), hist, mask, ones,
                    ones) == 316_961 + 51 * 32
    assert n_params(Bert4CMR(8304, 7, history_ignores_candidate=True), hist, mask, ones,
                    ones) == 316_961


def test_make_model_reads_config_and_rejects_unknown_variant():
    cfg = ml_collections.ConfigDict(dict(variant="fixed", **TINY, layer_norm_eps=1e-5,
                                         use_market_emb=True, use_pos_emb=False))
    m = make_model(cfg, num_items=N_TINY, num_markets=M_TINY, max_history=H)
    assert isinstance(m, Bert4CMR) and m.emb_dim == 16 and m.max_len == H + 1
    cfg.variant = "cloze"
    c = make_model(cfg, num_items=N_TINY, num_markets=M_TINY, max_history=H)
    assert isinstance(c, Bert4CMRCloze) and c.mask_id == N_TINY + 1 and c.num_layers == 2
    # The embedding init reaches both variants' tables (fixed: item and market).
    cfg.update(variant="fixed", embedding_stddev=0.02)
    small = make_model(cfg, num_items=N_TINY, num_markets=M_TINY, max_history=H)
    emb = init(small, *rows(0, B))["params"]["embed"]
    assert 0.015 < float(jnp.std(emb["item"]["embedding"][1:])) < 0.025
    assert float(jnp.std(emb["market"]["embedding"])) < 0.05
    cfg.variant = "cloze"
    assert make_model(cfg, num_items=N_TINY, num_markets=M_TINY,
                      max_history=H).embedding_stddev == 0.02
    cfg.variant = "nope"
    with pytest.raises(ValueError, match="unknown Bert4CMR variant"):
        make_model(cfg, num_items=N_TINY, num_markets=M_TINY, max_history=H)


# --- embeddings and padding ---------------------------------------------------------------------


def test_embedding_init_and_pad_row_forced_to_zero(tiny):
    model, variables, apply = tiny
    table = variables["params"]["embed"]["item"]["embedding"]
    assert table.shape == (N_TINY + 1, 16)
    np.testing.assert_array_equal(table[0], 0.0)
    assert 0.9 < float(jnp.std(table[1:])) < 1.1  # N(0, 1) [official-code]
    assert 0.5 < float(jnp.std(variables["params"]["embed"]["market"]["embedding"])) < 1.5

    # A non-zero pad row (as if corrupted) changes nothing: the lookup forces it to 0.
    dirty = jax.tree.map(lambda x: x, variables)
    dirty["params"]["embed"]["item"]["embedding"] = table.at[0].set(5.0)
    ids = jnp.array([[0, 3, 0]])
    out = japply(model, Bert4CMR.embed_items)(dirty, ids)
    np.testing.assert_array_equal(out[0, 0], 0.0)
    np.testing.assert_array_equal(out[0, 2], 0.0)
    np.testing.assert_allclose(out[0, 1], table[3])
    batch = rows(1, B)
    np.testing.assert_array_equal(apply(dirty, *batch)[0], apply(variables, *batch)[0])
    # (Its gradient is 0 too: test_train_mode_uses_dropout_and_gives_finite_gradients.)


def _np_forward(params, hist, mask, cand, market, eps=1e-5):
    """Eval-mode reference written from §3.2 and PyTorch's TransformerEncoderLayer semantics."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)

    def ln(x, q):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * q["scale"] + q["bias"]

    tokens = np.concatenate([hist, cand[:, None]], 1)
    keys = np.concatenate([mask, np.ones((len(cand), 1), bool)], 1)
    x = p["embed"]["item"]["embedding"][tokens] * (tokens > 0)[..., None]
    x = ln(x + p["embed"]["market"]["embedding"][market][:, None], p["embed"]["norm"])
    i = 0
    while f"blocks_{i}" in p:
        blk = p[f"blocks_{i}"]
        a = blk["attn"]
        q, k, v = (np.einsum("bld,dhk->blhk", x, a[n]["kernel"]) + a[n]["bias"]
                   for n in ("query", "key", "value"))
        logits = np.einsum("bqhk,bmhk->bhqm", q, k) / np.sqrt(q.shape[-1])
        logits = np.where(keys[:, None, None, :], logits, -np.inf)
        w = np.exp(logits - logits.max(-1, keepdims=True))
        w /= w.sum(-1, keepdims=True)
        o = np.einsum("bqhk,hkd->bqd", np.einsum("bhqm,bmhk->bqhk", w, v), a["out"]["kernel"])
        x = ln(x + o + a["out"]["bias"], blk["norm1"])
        f = np.maximum(x @ blk["dense1"]["kernel"] + blk["dense1"]["bias"], 0)
        x = ln(x + f @ blk["dense2"]["kernel"] + blk["dense2"]["bias"], blk["norm2"])
        i += 1
    h = hist.shape[1]
    user = (x[:, :h] * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
    z = np.concatenate([user, x[:, h]], 1)
    return (z @ p["head"]["kernel"] + p["head"]["bias"])[:, 0]


def test_matches_numpy_reference_forward(tiny):
    model, variables, apply = tiny
    hist, mask, cand, market = rows(10, B)
    np.testing.assert_allclose(apply(variables, hist, mask, cand, market)[0],
                               _np_forward(variables["params"], hist, mask, cand, market),
                               rtol=1e-5, atol=1e-5)


def test_invariant_to_history_permutation_and_extra_padding(tiny):
    model, variables, apply = tiny
    hist, mask, cand, market = rows(2, B)
    ref, aux = apply(variables, hist, mask, cand, market)
    assert ref.shape == (8,) and aux["user_vec"].shape == aux["item_vec"].shape == (8, 16)

    r = np.random.default_rng(0)
    perm = np.stack([r.permutation(H) for _ in range(8)])
    p_hist, p_mask = np.take_along_axis(hist, perm, 1), np.take_along_axis(mask, perm, 1)
    np.testing.assert_allclose(apply(variables, p_hist, p_mask, cand, market)[0], ref,
                               atol=1e-5)

    # Extra padding after (right-aligned buckets) and before (left-aligned) the history.
    pad = np.zeros((8, 5), np.int32)
    for h2, m2 in [(np.concatenate([hist, pad], 1), np.concatenate([mask, pad > 0], 1)),
                   (np.concatenate([pad, hist], 1), np.concatenate([pad > 0, mask], 1))]:
        np.testing.assert_allclose(apply(variables, h2, m2, cand, market)[0], ref, atol=1e-5)

    # Ids under a False mask are never read.
    junk = np.where(mask, hist, 7)
    np.testing.assert_allclose(apply(variables, junk, mask, cand, market)[0], ref, atol=1e-5)


def test_position_table_is_padding_invariant():
    model = Bert4CMR(N_TINY, M_TINY, **TINY, use_pos_emb=True, max_len=H + 6)
    hist, mask, cand, market = rows(3, B)
    (ref, _), variables = jax.jit(model.init_with_output)(key(0), hist, mask, cand, market)
    apply = japply(model)
    pad = np.zeros((B, 5), np.int32)
    left = apply(variables, np.concatenate([pad, hist], 1),
                 np.concatenate([pad > 0, mask], 1), cand, market)[0]
    np.testing.assert_allclose(left, ref, atol=1e-5)
    # Order now matters (positions are learned).
    rev = apply(variables, hist[:, ::-1], mask[:, ::-1], cand, market)[0]
    full = mask.sum(1) > 1
    assert np.abs(np.asarray(rev - ref)[full]).max() > 1e-4
    # Counted back from the most recent valid token (offset 1; 0 is the candidate's).
    np.testing.assert_array_equal(recency_positions(jnp.array([[1, 1, 0, 1, 0]], bool), 1),
                                  [[3, 2, 2, 1, 1]])
    with pytest.raises(ValueError, match="max_len"):
        apply(variables, np.zeros((1, H + 6), np.int32), np.zeros((1, H + 6), bool),
              cand[:1], market[:1])


def test_candidate_key_is_never_masked(tiny):
    model, variables, apply = tiny
    empty_hist, empty_mask = np.zeros((B, H), np.int32), np.zeros((B, H), bool)
    cand = np.arange(B, dtype=np.int32)  # a pad candidate (padding row) too
    logit, aux = apply(variables, empty_hist, empty_mask, cand, np.ones(B, np.int32))
    assert np.all(np.isfinite(logit))
    np.testing.assert_array_equal(aux["user_vec"], 0.0)  # masked mean of nothing
    assert len(set(np.round(np.asarray(logit[1:]), 6))) == B - 1  # the candidate is read

    # Bidirectional: history tokens attend to the candidate, so the user vector depends on it.
    hist, mask, c, market = rows(4, B)
    u1 = apply(variables, hist, mask, c, market)[1]["user_vec"]
    u2 = apply(variables, hist, mask, c % N_TINY + 1, market)[1]["user_vec"]
    assert np.abs(np.asarray(u1 - u2))[mask.any(1)].max() > 1e-4


def test_market_embedding_changes_scores_only_when_on(tiny):
    model, variables, apply = tiny
    hist, mask, cand, _ = rows(5, B)
    m1, m2 = np.full(B, 1, np.int32), np.full(B, 2, np.int32)
    a = apply(variables, hist, mask, cand, m1)[0]
    b = apply(variables, hist, mask, cand, m2)[0]
    assert np.abs(np.asarray(a - b)).max() > 1e-4
    off = Bert4CMR(N_TINY, M_TINY, **TINY, use_market_emb=False)
    v = init(off, hist, mask, cand, m1)
    assert "market" not in v["params"]["embed"]
    apply_off = japply(off)
    np.testing.assert_array_equal(apply_off(v, hist, mask, cand, m1)[0],
                                  apply_off(v, hist, mask, cand, m2)[0])


# --- evaluation shapes and the history_ignores_candidate path (§10) -----------------------------


def test_jit_on_flattened_eval_rows_and_score_candidates(tiny):
    model, variables, apply = tiny
    u, c, h = 4, 100, 50  # [U·100, 51]
    hist, mask, _, market = rows(6, u, h=h)
    cands = np.random.default_rng(0).integers(1, N_TINY + 1, size=(u, c)).astype(np.int32)
    flat = apply(variables, np.repeat(hist, c, 0), np.repeat(mask, c, 0), cands.reshape(-1),
                 np.repeat(market, c, 0))[0]
    assert flat.shape == (u * c,)
    score = japply(model, Bert4CMR.score_candidates)
    logits, aux = score(variables, hist, mask, cands, market)
    assert logits.shape == (u, c) and aux["user_vec"].shape == (u, c, 16)
    np.testing.assert_allclose(logits.reshape(-1), flat, atol=1e-5)


def test_history_ignores_candidate_fast_path_matches_full_pass():
    # With positions on: the fast path must also give the candidate position 0.
    model = Bert4CMR(N_TINY, M_TINY, **TINY, use_pos_emb=True, max_len=H + 1,
                     history_ignores_candidate=True)
    u, c = 3, 7
    hist, mask, _, market = rows(7, u)
    mask[2] = False  # a user with no history
    hist[2] = 0
    cands = np.random.default_rng(1).integers(1, N_TINY + 1, size=(u, c)).astype(np.int32)
    # init_with_output: the init pass doubles as the reference pass (one compile less).
    (full, aux_full), variables = jax.jit(model.init_with_output)(
        key(0), np.repeat(hist, c, 0), np.repeat(mask, c, 0), cands.reshape(-1),
        np.repeat(market, c, 0))
    fast, aux_fast = japply(model, Bert4CMR.score_candidates)(variables, hist, mask, cands,
                                                              market)
    np.testing.assert_allclose(fast.reshape(-1), full, atol=1e-5)
    np.testing.assert_allclose(aux_fast["item_vec"].reshape(u * c, -1), aux_full["item_vec"],
                               atol=1e-5)
    # The user vector no longer depends on the candidate.
    uv = aux_full["user_vec"].reshape(u, c, -1)
    np.testing.assert_allclose(uv, np.broadcast_to(uv[:, :1], uv.shape), atol=1e-6)


def test_train_mode_uses_dropout_and_gives_finite_gradients(tiny):
    model, variables, _ = tiny
    hist, mask, cand, market = rows(8, B)
    label = (np.arange(B) % 3 == 0).astype(np.float32)
    weight = np.where(np.arange(B) < B - 2, 1.0, 0.0).astype(np.float32)  # 2 padding rows

    def loss_fn(params, rng):
        logit, _ = model.apply({"params": params}, hist, mask, cand, market, train=True,
                               rngs={"dropout": rng})
        return ranking.bce_with_logits(logit, label, weight)

    step = jax.jit(jax.value_and_grad(loss_fn))
    l1, g = step(variables["params"], key(0))
    l2, _ = step(variables["params"], key(1))
    assert np.isfinite(float(l1)) and float(l1) != float(l2)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(g))
    # The pad row gets no gradient, so coupled weight decay keeps it exactly 0.
    g_items = g["embed"]["item"]["embedding"]
    np.testing.assert_array_equal(g_items[0], 0.0)
    assert float(jnp.abs(g_items).sum()) > 0


# --- losses (§4) ------------------------------------------------------------------------------


def _np_bce(s, y):
    s, y = np.asarray(s, np.float64), np.asarray(y, np.float64)
    return -(y * np.log(1 / (1 + np.exp(-s))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-s))))


def test_bce_matches_numpy_reference_with_weights():
    r = np.random.default_rng(0)
    s = r.normal(scale=3, size=64).astype(np.float32)
    y = (r.random(64) < 0.2).astype(np.float32)
    w = r.random(64).astype(np.float32)
    w[-8:] = 0.0  # padding rows
    y[-8:] = 0.7  # whatever padding rows hold is ignored
    ref = np.sum(w * _np_bce(s, y)) / np.sum(w)
    # Jitted: eager dispatch compiles every primitive separately, which is slower here.
    bce, per_row = jax.jit(ranking.bce_with_logits), jax.jit(ranking.bce_per_row)
    np.testing.assert_allclose(bce(s, y, w), ref, rtol=1e-5)
    np.testing.assert_allclose(per_row(s, y), _np_bce(s, y), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bce(s, y), _np_bce(s, y).mean(), rtol=1e-5)
    # softplus(s) − y·s form, stable at extreme logits.
    big = np.array([-80.0, 80.0, -80.0, 80.0], np.float32)
    lab = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    np.testing.assert_allclose(per_row(big, lab), [80, 80, 0, 0], atol=1e-6)
    np.testing.assert_allclose(per_row(s, y), np.logaddexp(0, s.astype(np.float64)) - y * s,
                               rtol=1e-5, atol=1e-6)
    # All-padding batch: 0 and finite gradient.
    zero = jnp.zeros(4)
    assert float(bce(big, lab, zero)) == 0.0
    g = jax.jit(jax.grad(lambda x: ranking.bce_with_logits(x, lab, zero)))(jnp.asarray(big))
    assert np.all(np.isfinite(g))


def test_cloze_losses_match_numpy():
    r = np.random.default_rng(1)
    n = 20
    logits = r.normal(size=(3, 4, n + 2)).astype(np.float32)
    targets = r.integers(1, n + 1, size=(3, 4))
    weights = (r.random((3, 4)) < 0.6).astype(np.float32)
    weights[0, 0] = 1.0
    targets[weights == 0] = 0  # unused slots
    lg = logits.astype(np.float64)
    sub = lg[..., 1:n + 1]
    lse = np.log(np.exp(sub).sum(-1))
    ce = lse - np.take_along_axis(lg, targets[..., None], -1)[..., 0]
    ref = np.sum(weights * ce) / weights.sum()
    softmax_loss = jax.jit(ranking.cloze_softmax_loss, static_argnames="num_items")
    np.testing.assert_allclose(softmax_loss(logits, targets, weights, num_items=n), ref,
                               rtol=1e-5)
    pos = r.normal(size=(3, 4)).astype(np.float32)
    neg = r.normal(size=(3, 4, 4)).astype(np.float32)
    per = np.logaddexp(0, -pos) + np.logaddexp(0, neg).sum(-1)
    np.testing.assert_allclose(jax.jit(ranking.cloze_sampled_bce_loss)(pos, neg, weights),
                               np.sum(weights * per) / weights.sum(), rtol=1e-5)


# --- cloze variant (§3.4) ---------------------------------------------------------------------


def test_cloze_mask_properties():
    b, length, mask_id = 256, 11, N_TINY + 1
    r = np.random.default_rng(2)
    lens = r.integers(1, length + 1, size=b)
    seq_mask = np.arange(length)[None] < lens[:, None]
    seq = np.where(seq_mask, r.integers(1, N_TINY + 1, size=(b, length)), 0).astype(np.int32)
    out = jax.jit(lambda k: cloze_mask(k, seq, seq_mask, mask_id=mask_id, mask_ratio=0.3,
                                       last_item_mask_prob=0.5, max_predictions=4))(
        key(0))
    inputs, pos, tgt, w = (np.asarray(out[k]) for k in ("inputs", "positions", "targets",
                                                        "weights"))
    assert pos.shape == tgt.shape == w.shape == (b, 4)
    masked = inputs == mask_id
    assert not np.any(masked & ~seq_mask)  # never a pad position
    np.testing.assert_array_equal(masked.sum(1), w.sum(1))  # input masks = kept targets
    assert masked.sum(1).max() <= 4
    for i in range(b):
        kept = pos[i][w[i] > 0]
        assert set(kept) == set(np.flatnonzero(masked[i]))
        np.testing.assert_array_equal(tgt[i][w[i] > 0], seq[i, kept])
        np.testing.assert_array_equal(inputs[i][~masked[i]], seq[i][~masked[i]])
    # Some sequences have exactly their most recent item masked, nothing else.
    last_only = (masked.sum(1) == 1) & masked[np.arange(b), lens - 1]
    assert 0.3 < last_only.mean() < 0.8


def test_cloze_scores_candidates_in_one_pass_and_ignores_padding_layout():
    model = Bert4CMRCloze(N_TINY, M_TINY, **TINY, max_len=H + 1)
    u, c = 4, 9
    hist, mask, _, market = rows(9, u)
    cands = np.random.default_rng(3).integers(1, N_TINY + 1, size=(u, c)).astype(np.int32)
    # __call__ with [MASK] right after each history (score_candidates puts it at index H, after
    # the padding): positions count from the most recent token, so the layouts must agree.
    lens = mask.sum(1)
    seq = np.concatenate([hist, np.zeros((u, 1), np.int32)], 1)
    seq[np.arange(u), lens] = model.mask_id
    seq_mask = np.arange(H + 1)[None] <= lens[:, None]
    (via_call, _), variables = jax.jit(model.init_with_output)(
        key(0), seq, seq_mask, market, lens[:, None], cands[:, None, :])
    assert variables["params"]["embed"]["item"]["embedding"].shape == (N_TINY + 2, 16)

    @jax.jit
    def both(v):
        scores = model.apply(v, hist, mask, cands, market, method=Bert4CMRCloze.score_candidates)
        return scores, model.apply(v, seq, seq_mask, market, lens[:, None])[0]

    (scores, aux), full = both(variables)
    assert scores.shape == (u, c) and aux["user_vec"].shape == (u, 16)
    np.testing.assert_allclose(via_call[:, 0], scores, atol=1e-5)
    # Full-vocabulary logits agree with the sampled ones at the candidates.
    assert full.shape == (u, 1, N_TINY + 2)
    np.testing.assert_allclose(np.take_along_axis(np.asarray(full[:, 0]), cands, 1), scores,
                               atol=1e-5)


# --- MF baselines (§8) ------------------------------------------------------------------------


def test_mf_baselines_shapes_and_counts():
    u_count, n, d = 560, N_TINY, 32
    user = np.arange(8, dtype=np.int32)
    cand = np.arange(1, 9, dtype=np.int32)
    tables = (u_count + n + 1) * d
    tower = (64 * 128 + 128) + (128 * 64 + 64) + (64 * 32 + 32)
    expected = {"gmf": tables + d + 1, "mlp": tables + tower + 32 + 1,
                "nmf": 2 * tables + tower + (32 + d) + 1}
    for name, count in expected.items():
        model = mf.make_mf_model(name, num_users=u_count, num_items=n)
        assert n_params(model, user, cand) == count, name
        # Shapes by tracing only; values are checked once, on NMF (it contains GMF and MLP).
        (logit, aux), _ = jax.eval_shape(lambda m=model: m.init_with_output(key(0), user, cand))
        assert logit.shape == (8,)
        width = 2 * d if name == "nmf" else d
        assert aux["user_vec"].shape == aux["item_vec"].shape == (8, width)
    (logit, aux), v = jax.jit(model.init_with_output)(key(0), user, cand)
    assert np.all(np.isfinite(logit))
    np.testing.assert_allclose(aux["user_vec"][:, :d], v["params"]["mf_user"]["embedding"][user])
    assert 0.8 < float(jnp.std(v["params"]["mf_item"]["embedding"])) < 1.2  # N(0, 1) as FOREC
    small = mf.make_mf_model("nmf", num_users=u_count, num_items=n, init_std=0.01)
    v = jax.jit(small.init)(key(0), user, cand)["params"]
    for table in ("mf_user", "mf_item", "mlp_user", "mlp_item"):  # N(0, 0.01²) as NCF
        assert 0.008 < float(jnp.std(v[table]["embedding"])) < 0.012, table
    with pytest.raises(ValueError, match="layers"):
        n_params(mf.MLP(u_count, n, layers=(63, 16)), user, cand)
    with pytest.raises(ValueError, match="unknown MF"):
        mf.make_mf_model("bpr", num_users=1, num_items=1)
