"""EMO-DNA losses (spec emo_dna §4) against direct numpy double-loop references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affectjax import losses
from affectjax.losses import alignment, pseudo
from affectjax.models.layers import grad_reverse

RTOL = 1e-5

# Jitted once per shape: eager op-by-op dispatch would compile every primitive separately, which
# dominates CPU test time.
dec_u = jax.jit(losses.dec_u_loss, static_argnames="tau")
dec_v = jax.jit(losses.dec_v_loss, static_argnames="tau")
decoupling = jax.jit(losses.decoupling_loss, static_argnames=("tau", "symmetric"))
mk_mmd = jax.jit(losses.mk_mmd)


def _unit(rng, n, p):
    x = rng.normal(size=(n, p))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- references (float64 loops)

def ref_dec_u(u, v, labels, anchor, tau):
    u, v = u.astype(np.float64), v.astype(np.float64)
    n = len(u)
    a_set = [a for a in range(n) if anchor[a]]
    per = []
    for a in a_set:
        pos = [p for p in a_set if p != a and labels[p] == labels[a]]
        if not pos:
            continue
        den = sum(np.exp(u[a] @ u[b] / tau) for b in a_set if b != a)
        den += sum(np.exp(u[a] @ v[b] / tau) for b in range(n))
        per.append(-np.mean([u[a] @ u[p] / tau - np.log(den) for p in pos]))
    return float(np.mean(per)) if per else 0.0


def ref_dec_v(u, v, corpus, anchor, tau):
    u, v = u.astype(np.float64), v.astype(np.float64)
    n = len(v)
    per = []
    for b in range(n):
        pos = [p for p in range(n) if p != b and corpus[p] == corpus[b]]
        if not pos:
            continue
        den = sum(np.exp(v[b] @ v[c] / tau) for c in range(n) if c != b)
        den += sum(np.exp(v[b] @ u[a] / tau) for a in range(n) if anchor[a])
        per.append(-np.mean([v[b] @ v[p] / tau - np.log(den) for p in pos]))
    return float(np.mean(per)) if per else 0.0


def ref_mmd(zs, zt, qs=(0.25, 0.5, 1, 2, 4)):
    zs, zt = zs.astype(np.float64), zt.astype(np.float64)
    z = np.concatenate([zs, zt])
    n = len(z)
    sigma2 = np.mean([np.sum((z[a] - z[b]) ** 2) for a in range(n) for b in range(n) if a != b])

    def k(a, b):
        d = np.sum((a - b) ** 2)
        return np.mean([np.exp(-d / (q * sigma2)) for q in qs])

    kss = np.mean([k(a, b) for a in zs for b in zs])
    ktt = np.mean([k(a, b) for a in zt for b in zt])
    kst = np.mean([k(a, b) for a in zs for b in zt])
    return kss + ktt - 2 * kst


def ref_cla(mu, seen, zs, ys, zt, yt, mt, beta):
    mu, seen = mu.astype(np.float64).copy(), seen.copy()
    k = mu.shape[1]
    for d, (z, y, w) in enumerate([(zs, ys, np.ones(len(ys))), (zt, yt, mt)]):
        for c in range(k):
            members = [z[i] / np.linalg.norm(z[i]) for i in range(len(y)) if y[i] == c and w[i]]
            if members:
                mu[d, c] = beta * mu[d, c] + (1 - beta) * np.mean(members, axis=0)
                seen[d, c] = 1
    both = [c for c in range(k) if seen[0, c] and seen[1, c]]
    loss = np.mean([np.sum((mu[0, c] - mu[1, c]) ** 2) for c in both]) if both else 0.0
    return loss, mu, seen


# ---------------------------------------------------------------- contrastive decoupling

def _dec_case(seed, bs=6, bt=5, p=8, k=3, anchor_t=None, labels=None):
    rng = np.random.default_rng(seed)
    n = bs + bt
    u, v = _unit(rng, n, p), _unit(rng, n, p)
    labels = rng.integers(0, k, n) if labels is None else np.asarray(labels)
    anchor_t = rng.integers(0, 2, bt) if anchor_t is None else np.asarray(anchor_t)
    anchor = np.concatenate([np.ones(bs), anchor_t]).astype(np.float32)
    corpus = np.concatenate([np.zeros(bs), np.ones(bt)]).astype(np.int32)
    return u, v, labels.astype(np.int32), anchor, corpus


@pytest.mark.parametrize("seed", range(4))
def test_dec_matches_reference_random(seed):
    u, v, labels, anchor, corpus = _dec_case(seed)
    got_u = dec_u(u, v, labels, anchor, tau=0.1)
    got_v = dec_v(u, v, corpus, anchor, tau=0.1)
    np.testing.assert_allclose(got_u, ref_dec_u(u, v, labels, anchor, 0.1), rtol=RTOL)
    np.testing.assert_allclose(got_v, ref_dec_v(u, v, corpus, anchor, 0.1), rtol=RTOL)
    total, parts = decoupling(u, v, labels, anchor, corpus, tau=0.1)
    np.testing.assert_allclose(total, parts["dec_u"] + parts["dec_v"], rtol=1e-6)
    only_u, _ = decoupling(u, v, labels, anchor, corpus, tau=0.1, symmetric=False)
    np.testing.assert_allclose(only_u, got_u, rtol=1e-6)


def test_dec_single_class_batch():
    u, v, labels, anchor, corpus = _dec_case(7, labels=np.zeros(11))
    np.testing.assert_allclose(dec_u(u, v, labels, anchor, 0.1),
                               ref_dec_u(u, v, labels, anchor, 0.1), rtol=RTOL)
    # A single corpus on the v side: every v is a positive of every other.
    one = np.zeros_like(corpus)
    np.testing.assert_allclose(dec_v(u, v, one, anchor, 0.1),
                               ref_dec_v(u, v, one, anchor, 0.1), rtol=RTOL)


def test_dec_empty_anchor_sets_are_zero_with_finite_grads():
    # Nobody in A: L_dec^u = 0 and its gradient is 0 (not NaN).
    u, v, labels, _, corpus = _dec_case(3)
    no_anchor = np.zeros(len(u), np.float32)
    assert float(dec_u(u, v, labels, no_anchor, 0.1)) == 0.0
    g = jax.jit(jax.grad(lambda uu: losses.dec_u_loss(uu, v, labels, no_anchor, 0.1)))(u)
    assert np.all(g == 0)
    # Anchors but no positives (all labels distinct): A' is empty.
    distinct = np.arange(len(u), dtype=np.int32)
    anchor = np.ones(len(u), np.float32)
    assert float(dec_u(u, v, distinct, anchor, 0.1)) == 0.0
    assert ref_dec_u(u, v, distinct, anchor, 0.1) == 0.0
    # The v side still has its terms when A is empty (denominator over v only).
    np.testing.assert_allclose(dec_v(u, v, corpus, no_anchor, 0.1),
                               ref_dec_v(u, v, corpus, no_anchor, 0.1), rtol=RTOL)
    gv = jax.jit(jax.grad(lambda vv: losses.dec_v_loss(u, vv, corpus, no_anchor, 0.1)))(v)
    assert np.all(np.isfinite(gv))


def test_dec_jit_static_shapes():
    u, v, labels, anchor, corpus = _dec_case(1)
    f = jax.jit(lambda a: losses.decoupling_loss(u, v, labels, a, corpus)[0])
    f(anchor)
    f(np.zeros_like(anchor))
    assert f._cache_size() == 1


# ---------------------------------------------------------------- MK-MMD

@pytest.mark.parametrize("seed,shift", [(0, 0.0), (1, 0.5), (2, 2.0)])
def test_mmd_matches_reference(seed, shift):
    rng = np.random.default_rng(seed)
    zs = rng.normal(size=(7, 5)).astype(np.float32)
    zt = (rng.normal(size=(6, 5)) + shift).astype(np.float32)
    np.testing.assert_allclose(mk_mmd(zs, zt), ref_mmd(zs, zt), rtol=RTOL, atol=1e-7)


def test_mmd_same_set_is_zero_and_sigma_has_no_grad():
    z = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    assert float(mk_mmd(z, z)) == 0.0
    zt = z + 1.0
    # Bandwidth under stop_gradient: the gradient equals the one with sigma^2 held fixed.
    g = jax.grad(losses.mk_mmd)(jnp.asarray(z), zt)
    assert np.all(np.isfinite(g)) and np.any(g != 0)


# ---------------------------------------------------------------- class-level alignment

def test_centroid_alignment_matches_reference_over_steps():
    rng = np.random.default_rng(0)
    k, c, beta = 4, 5, 0.7
    state = alignment.init_state(k, c)
    mu, seen = np.zeros((2, k, c)), np.zeros((2, k))
    f = jax.jit(lambda s, *a: alignment.centroid_alignment(s, *a, momentum=beta))
    # Step 0: a single-class source batch and an empty target mask -> K' empty -> 0.
    batches = [(np.zeros(6, int), np.zeros(5))]
    batches += [(rng.integers(0, k, 6), rng.integers(0, 2, 5)) for _ in range(6)]
    for step, (ys, mt) in enumerate(batches):
        zs = rng.normal(size=(6, c)).astype(np.float32)
        zt = rng.normal(size=(5, c)).astype(np.float32)
        yt = rng.integers(0, k, 5)
        loss, state = f(state, zs, ys, zt, yt, mt.astype(np.float32))
        ref, mu, seen = ref_cla(mu, seen, zs, ys, zt, yt, mt, beta)
        if step == 0:
            assert ref == 0.0
        np.testing.assert_allclose(loss, ref, rtol=RTOL, atol=1e-7)
        np.testing.assert_allclose(state["mu"], mu, rtol=RTOL, atol=1e-7)
        np.testing.assert_array_equal(state["seen"], seen)


def test_centroid_gradient_flows_through_batch_means_only():
    k, c = 2, 3
    state = alignment.init_state(k, c)
    zs = jnp.asarray(np.random.default_rng(1).normal(size=(4, c)), jnp.float32)
    zt = zs[::-1] + 0.3
    ys = jnp.array([0, 1, 0, 1])
    g = jax.jit(jax.grad(lambda z: alignment.centroid_alignment(
        state, z, ys, zt, ys, jnp.ones(4))[0]))(zs)
    assert np.all(np.isfinite(g)) and np.any(g != 0)


# ---------------------------------------------------------------- label-smoothed and pseudo CE

def test_label_smoothed_ce_and_pseudo_ce():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    y = rng.integers(0, 4, 5)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    q = 0.9 * np.eye(4)[y] + 0.1 / 4
    np.testing.assert_allclose(jax.jit(losses.label_smoothed_ce)(logits, y, 0.1),
                               np.mean(-(q * logp).sum(1)), rtol=RTOL)
    mask = np.array([1, 0, 1, 0, 0], np.float32)
    np.testing.assert_allclose(jax.jit(losses.pseudo_label_ce)(logits, y, mask),
                               np.sum(mask * -logp[np.arange(5), y]) / 5, rtol=RTOL)
    np.testing.assert_allclose(jax.jit(losses.cross_entropy)(logits, y),
                               np.mean(-logp[np.arange(5), y]), rtol=RTOL)


# ---------------------------------------------------------------- adaptive threshold

def _random_probs(rng, b, k):
    logits = rng.normal(size=(b, k)) * rng.uniform(0.5, 6.0)
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("ema", [0.999, 0.9])
def test_threshold_ema_matches_reference(ema):
    rng = np.random.default_rng(0)
    k, b = 5, 16
    state = pseudo.init_state(k)
    tau_g, p_bar = 1.0 / k, np.full(k, 1.0 / k)
    f = jax.jit(lambda s, p: pseudo.update(s, p, ema=ema))
    rates = []
    for _ in range(50):
        p = _random_probs(rng, b, k)
        state, mask, yhat = f(state, p)
        tau_g = ema * tau_g + (1 - ema) * p.max(1).mean()
        p_bar = ema * p_bar + (1 - ema) * p.mean(0)
        tau_k = tau_g * p_bar / p_bar.max()
        ref_y = p.argmax(1)
        ref_mask = (p.max(1) >= tau_k[ref_y]).astype(np.float32)
        np.testing.assert_allclose(state["tau_g"], tau_g, rtol=RTOL)
        np.testing.assert_allclose(state["p_bar"], p_bar, rtol=RTOL)
        np.testing.assert_allclose(pseudo.class_thresholds(state), tau_k, rtol=RTOL)
        np.testing.assert_array_equal(yhat, ref_y)
        np.testing.assert_array_equal(mask, ref_mask)
        rates.append(ref_mask.mean())
    assert 0 < np.mean(rates) <= 1


def test_warmup_zero_mask_but_ema_updates():
    rng = np.random.default_rng(1)
    state = pseudo.init_state(3)
    p = _random_probs(rng, 8, 3)
    f = jax.jit(lambda s, p, step: pseudo.update(s, p, step=step, warmup_steps=10))
    new, mask, _ = f(state, p, 9)
    assert np.all(mask == 0)
    assert not np.allclose(new["tau_g"], state["tau_g"])
    _, mask_after, _ = f(state, p, 10)
    assert np.any(mask_after == 1)  # FreeMatch thresholds start at 1/K: most samples pass
    assert pseudo.warmup_steps(5000, 0.1) == 500


def test_fixed_and_none_kinds():
    p = np.array([[0.96, 0.02, 0.02], [0.5, 0.3, 0.2], [0.01, 0.01, 0.98], [0.1, 0.85, 0.05]],
                 np.float32)
    state = pseudo.init_state(3)
    update = jax.jit(pseudo.update, static_argnames="kind")
    new, mask, yhat = update(state, p, kind="fixed")
    np.testing.assert_array_equal(mask, [1, 0, 1, 0])
    np.testing.assert_array_equal(yhat, [0, 0, 2, 1])
    np.testing.assert_allclose(pseudo.class_thresholds(new, "fixed"), 0.95)
    new_none, mask_none, _ = update(state, p, kind="none")
    assert np.all(mask_none == 0)
    np.testing.assert_allclose(new_none["tau_g"], new["tau_g"])  # EMA updates for every kind
    logged = pseudo.log_metrics(new, mask, "fixed")
    assert set(logged) == {"mask_rate", "tau_g", "tau_k_min", "tau_k_max"}
    np.testing.assert_allclose(logged["mask_rate"], 0.5)
    np.testing.assert_allclose(logged["tau_k_max"], 0.95)
    with pytest.raises(ValueError):
        pseudo.update(state, p, kind="softmatch")


def test_diversity_is_kl_to_uniform_and_its_gradient_spreads_a_collapsed_batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(16, 5)).astype(np.float32)
    p_bar = jax.nn.softmax(logits).mean(0)
    np.testing.assert_allclose(pseudo.diversity_loss(logits),
                               np.sum(p_bar * np.log(p_bar * 5)), rtol=1e-5)
    np.testing.assert_allclose(pseudo.diversity_loss(np.zeros((4, 5), np.float32)), 0.0,
                               atol=1e-6)
    collapsed = np.tile(np.array([[20.0, 0, 0, 0, 0]], np.float32), (4, 1))
    np.testing.assert_allclose(pseudo.diversity_loss(collapsed), np.log(5), rtol=1e-3)
    # Its gradient lowers the dominant class's logit in every row.
    leaning = np.tile(np.array([[3.0, 0, 0, 0, 0]], np.float32), (4, 1))
    leaning = leaning + 0.1 * rng.normal(size=(4, 5)).astype(np.float32)
    grad = jax.grad(pseudo.diversity_loss)(leaning)
    assert np.all(grad[:, 0] > 0)


# ---------------------------------------------------------------- GRL and ramp

def test_grl_flips_gradient_sign():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4)), jnp.float32)
    w = jnp.asarray(np.random.default_rng(1).normal(size=(3, 4)), jnp.float32)
    f = lambda x, c: jnp.sum(jnp.sin(grad_reverse(x, c)) * w)
    plain = jax.grad(lambda x: jnp.sum(jnp.sin(x) * w))(x)
    np.testing.assert_array_equal(grad_reverse(x, 0.7), x)
    np.testing.assert_allclose(jax.grad(f)(x, 1.0), -plain, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(jax.grad(f))(x, jnp.float32(0.25)), -0.25 * plain,
                               rtol=1e-6)
    # The coefficient itself gets no gradient.
    assert float(jax.grad(f, argnums=1)(x, 0.5)) == 0.0


def test_dann_ramp():
    np.testing.assert_allclose(losses.dann_ramp(0, 100), 0.0, atol=1e-7)
    np.testing.assert_allclose(losses.dann_ramp(50, 100), 2 / (1 + np.exp(-5)) - 1, rtol=1e-6)
    np.testing.assert_allclose(losses.dann_ramp(100, 100), 2 / (1 + np.exp(-10)) - 1, rtol=1e-6)
    np.testing.assert_allclose(losses.dann_ramp(200, 100), losses.dann_ramp(100, 100))
