"""Optimizer construction: coupled vs decoupled decay, freezing, lr multipliers, schedules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from affectjax.train import trainer_defaults
from affectjax.train.optim import make_optimizer, make_schedule


def params():
    rng = np.random.default_rng(0)
    return {"backbone": {"kernel": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)},
            "head": {"kernel": jnp.asarray(rng.normal(size=(4, 2)), jnp.float32),
                     "bias": jnp.zeros(2)}}


def grads_at(step):
    rng = np.random.default_rng(step + 1)
    return jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params())


def optimise(config, steps=3):
    p = params()
    tx = make_optimizer(config, p, total_steps=10, steps_per_epoch=None)
    state = tx.init(p)
    for step in range(steps):
        updates, state = tx.update(grads_at(step), state, p)
        p = optax.apply_updates(p, updates)
    return p


def test_coupled_decay_is_pytorch_adam_weight_decay():
    c = trainer_defaults()
    c.optim.weight_decay, c.optim.decay_mode, c.optim.lr = 0.1, "coupled", 1e-2
    ours = optimise(c)
    # Hand-written Adam on g + wd * theta (torch.optim.Adam with weight_decay).
    p = jax.tree.map(np.asarray, params())
    m = jax.tree.map(np.zeros_like, p)
    v = jax.tree.map(np.zeros_like, p)
    for t in range(1, 4):
        g = jax.tree.map(lambda gi, pi: np.asarray(gi) + 0.1 * pi, grads_at(t - 1), p)
        m = jax.tree.map(lambda mi, gi: 0.9 * mi + 0.1 * gi, m, g)
        v = jax.tree.map(lambda vi, gi: 0.999 * vi + 0.001 * gi**2, v, g)
        p = jax.tree.map(lambda pi, mi, vi, t=t: pi - 1e-2 * (mi / (1 - 0.9**t)) / (
            np.sqrt(vi / (1 - 0.999**t)) + 1e-8), p, m, v)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(p)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_decoupled_decay_differs_from_coupled_and_respects_exclusions():
    c = trainer_defaults()
    c.optim.weight_decay, c.optim.lr = 0.1, 1e-2
    decoupled = optimise(c)
    c.optim.decay_mode = "coupled"
    assert not np.allclose(decoupled["head"]["kernel"], optimise(c)["head"]["kernel"])
    c.optim.decay_mode, c.optim.weight_decay_exclude = "decoupled", [".*bias"]
    c.optim.weight_decay = 0.0
    no_decay = optimise(c)
    c.optim.weight_decay = 0.1
    excluded = optimise(c)
    np.testing.assert_array_equal(excluded["head"]["bias"], no_decay["head"]["bias"])
    assert not np.array_equal(excluded["head"]["kernel"], no_decay["head"]["kernel"])


def test_freeze_gives_bit_identical_params_and_lr_mults_scale_steps():
    c = trainer_defaults()
    c.freeze = ["backbone/.*"]
    c.optim.name, c.optim.momentum = "sgd", 0.0
    frozen = optimise(c, steps=1)
    np.testing.assert_array_equal(frozen["backbone"]["kernel"], params()["backbone"]["kernel"])
    c.freeze, c.optim.lr_mults = [], [("head/.*", 0.5)]
    scaled = optimise(c, steps=1)
    delta = scaled["head"]["kernel"] - params()["head"]["kernel"]
    np.testing.assert_allclose(delta, -0.5 * 1e-3 * grads_at(0)["head"]["kernel"],
                               rtol=1e-4, atol=1e-7)


def test_schedules():
    c = trainer_defaults().optim
    c.schedule = "cosine"
    schedule = make_schedule(c, total_steps=110, warmup_steps=10)
    assert schedule(0) == 0 and schedule(10) == pytest.approx(1e-3, rel=1e-6)
    assert schedule(110) == pytest.approx(0.0, abs=1e-9)
    c.schedule = "inverse_sqrt"
    schedule = make_schedule(c, total_steps=100, warmup_steps=4)
    assert schedule(4) == pytest.approx(1e-3, rel=1e-6)
    assert schedule(16) == pytest.approx(1e-3 * 0.5, rel=1e-6)  # lr * sqrt(warmup / step)
    c.schedule = "bogus"
    with pytest.raises(ValueError, match="optim.schedule='bogus'"):
        make_schedule(c, 10, 0)
