"""EMO-DNA model (spec emo_dna §3.3): outputs, share_trunk, GRL inside the model, jit."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affectjax.models.emo_dna import EmoDNA
from tests.model_utils import numpy_variables

TINY = dict(num_classes=4, channels=8, levels=2, proj_dim=8, disc_hidden=8, dropout=0.1)
KEYS = {"z_e", "z_c", "u", "v", "corpus_logits", "disc_logits"}


def _count(tree) -> int:
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(tree))


@pytest.fixture(scope="module")
def tiny():
    model = EmoDNA(**TINY)
    # Inputs from numpy: an eager jax.random call would compile the threefry hash (seconds).
    x = jnp.asarray(np.random.default_rng(0).normal(size=(6, 17, 13)), jnp.float32)
    return model, x, numpy_variables(model, x)


def _check_outputs(logits, aux, b=6):
    assert logits.shape == (b, 4)
    assert set(aux) == KEYS
    assert aux["z_e"].shape == aux["z_c"].shape == (b, 8)
    assert aux["u"].shape == aux["v"].shape == (b, 8)
    assert aux["corpus_logits"].shape == aux["disc_logits"].shape == (b, 2)


def test_outputs_and_jit(tiny):
    model, x, variables = tiny

    @jax.jit
    def step(variables, x, rng, coeff):
        return model.apply(variables, x, train=True, grl_coeff=coeff, rngs={"dropout": rng},
                           mutable=["batch_stats"])

    # An RngBitGenerator key: dropout compiles several times faster than with threefry on CPU.
    rng = jax.random.key(2, impl="rbg")
    (logits, aux), upd = step(variables, x, rng, jnp.float32(0.5))
    (logits2, _), _ = step(variables, x, rng, jnp.float32(0.9))
    assert set(upd) == {"batch_stats"}
    _check_outputs(logits, aux)
    np.testing.assert_allclose(np.linalg.norm(aux["u"], axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(aux["v"], axis=-1), 1.0, rtol=1e-5)
    # The forward pass does not depend on the GRL coefficient, and a new value does not
    # recompile.
    np.testing.assert_allclose(logits, logits2, rtol=1e-6)
    assert step._cache_size() == 1
    logits_eval, aux_eval = jax.jit(functools.partial(model.apply, train=False))(variables, x)
    _check_outputs(logits_eval, aux_eval)


@pytest.mark.parametrize("kind", ["tim", "cnn1d"])
def test_share_trunk_outputs_and_reduces_params(kind):
    x = jax.ShapeDtypeStruct((2, 188, 39), jnp.float32)
    counts = {}
    for share in (False, True):
        model = EmoDNA(num_classes=7, share_trunk=share, encoder_kind=kind)
        variables = jax.eval_shape(functools.partial(model.init, train=False),
                                   jax.random.key(0), x)
        logits, aux = jax.eval_shape(functools.partial(model.apply, train=False), variables, x)
        assert logits.shape == (2, 7) and set(aux) == KEYS
        assert aux["u"].shape == (2, 64) and aux["z_c"].shape == (2, 39)
        counts[share] = _count(variables["params"])
    assert counts[True] < counts[False]
    if kind == "tim":
        # Two TIM encoders of 104,216 parameters each, plus C_e, C_c, g and D.
        assert counts[False] > 2 * 104_216 > counts[True]


def test_grl_reverses_encoder_gradient_in_model(tiny):
    model, x, variables = tiny

    @jax.jit
    @jax.grad
    def disc_grad(params, coeff):
        _, aux = model.apply({**variables, "params": params}, x, train=False, grl_coeff=coeff)
        return jnp.sum(aux["disc_logits"] ** 2)

    g_pos = disc_grad(variables["params"], 1.0)
    g_neg = disc_grad(variables["params"], -0.5)
    # E_e gets the reversed, scaled gradient; D's own weights are not behind the GRL.
    for a, b in zip(jax.tree.leaves(g_pos["E_e"]), jax.tree.leaves(g_neg["E_e"])):
        np.testing.assert_allclose(b, -0.5 * a, rtol=1e-5, atol=1e-8)
    assert any(np.any(a != 0) for a in jax.tree.leaves(g_pos["E_e"]))
    for a, b in zip(jax.tree.leaves(g_pos["D_1"]), jax.tree.leaves(g_neg["D_1"])):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert all(np.all(g == 0) for g in jax.tree.leaves(g_pos["E_c"]))
