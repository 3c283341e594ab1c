"""TIM encoder (spec emo_dna §3.2): shapes, parameter count, causality, train/eval modes."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affectjax.models.ser import TIMEncoder, make_encoder
from tests.model_utils import numpy_variables

TINY = dict(channels=8, levels=2, kernel_size=2, dropout=0.5)
T, F = 33, 13


def _key(seed):
    # RngBitGenerator keys: initialisers and dropout masks compile several times faster than
    # with the default threefry keys on CPU; the modules' code paths are the same.
    return jax.random.key(seed, impl="rbg")


def _count(tree) -> int:
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(tree))


@pytest.fixture(scope="module")
def tiny():
    """The tiny encoder, its variables and a jitted probe function, shared by the tests.

    Everything is jitted: one compilation per function instead of op-by-op dispatch, which
    dominates the CPU time of these tests.
    """
    enc = TIMEncoder(**TINY)
    # Inputs from numpy: an eager jax.random call would compile the threefry hash (seconds).
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, T, F)), jnp.float32)
    variables = jax.jit(functools.partial(enc.init, train=False))(_key(1), x)

    @jax.jit
    def probes(inp):
        z, state = enc.apply(variables, inp, train=False, mutable=["intermediates"])
        return z, {k: v[0] for k, v in state["intermediates"].items()}

    return enc, x, variables, probes


def test_timnet_shapes_tiny(tiny):
    _, x, _, probes = tiny
    z, inter = probes(x)
    assert z.shape == (2, 8)
    assert np.all(np.isfinite(np.asarray(z)))
    assert inter["levels"].shape == (2, 2, 8)
    assert inter["forward_0"].shape == inter["backward_1"].shape == (2, T, 8)


def test_timnet_shapes_and_param_count_paper():
    enc = TIMEncoder(channels=39, levels=8, kernel_size=2, dropout=0.1)
    x = jax.ShapeDtypeStruct((3, 188, 39), jnp.float32)
    variables = jax.eval_shape(functools.partial(enc.init, train=False), jax.random.key(0), x)
    z = jax.eval_shape(functools.partial(enc.apply, train=False), variables, x)
    assert z.shape == (3, 39)
    n = _count(variables["params"])
    assert n == 104_216  # the reading documented in timnet.py
    assert abs(n - 104_000) / 104_000 < 0.01


def test_level_weights_init_one_over_n(tiny):
    np.testing.assert_allclose(tiny[2]["params"]["level_weights"], [0.5, 0.5], rtol=1e-6)


def test_streams_are_causal_and_anticausal(tiny):
    _, x, _, probes = tiny
    _, base = probes(x)
    _, last = probes(x.at[:, -1].add(3.0))
    _, first = probes(x.at[:, 0].add(3.0))
    for j in range(TINY["levels"]):
        fwd, bwd = f"forward_{j}", f"backward_{j}"
        # Forward stream: earlier frames do not see the last one; the last frame does.
        np.testing.assert_array_equal(last[fwd][:, :-1], base[fwd][:, :-1])
        assert not np.allclose(last[fwd][:, -1], base[fwd][:, -1])
        # Backward stream (reported in input time order): later frames do not see the first.
        np.testing.assert_array_equal(first[bwd][:, 1:], base[bwd][:, 1:])
        assert not np.allclose(first[bwd][:, 0], base[bwd][:, 0])


def test_dilation_receptive_field(tiny):
    # Forward block j has a receptive field of 1 + 2 (2^(j+1) - 1) frames with kernel 2 (two
    # convs per block, dilations 1 .. 2^j): a change at frame 0 reaches exactly that far.
    _, x, _, probes = tiny
    _, a = probes(x)
    _, b = probes(x.at[:, 0].add(5.0))
    for j in range(TINY["levels"]):
        rf = 1 + 2 * (2 ** (j + 1) - 1)
        diff = np.abs(np.asarray(a[f"forward_{j}"]) - np.asarray(b[f"forward_{j}"])).max(-1)
        assert np.all(diff[:, rf:] == 0) and np.all(diff[:, rf - 1] > 0)


@pytest.mark.parametrize("kind", ["tim", "cnn1d"])
def test_train_and_eval_modes(kind, tiny):
    if kind == "tim":
        enc, x, variables, _ = tiny
    else:
        enc = make_encoder(kind, **TINY)
        x = tiny[1]
        variables = numpy_variables(enc, x)

    @functools.partial(jax.jit, static_argnames="train")
    def run(variables, x, rng, train):
        return enc.apply(variables, x, train=train, rngs={"dropout": rng},
                         mutable=["batch_stats"])

    z_eval, _ = run(variables, x, _key(2), False)
    z_tr, upd = run(variables, x, _key(2), True)
    z_tr2, _ = run(variables, x, _key(3), True)
    assert z_eval.shape == z_tr.shape == (2, 8)
    # Training updates the running statistics; batch statistics and dropout change z.
    old, new = jax.tree.leaves(variables["batch_stats"]), jax.tree.leaves(upd["batch_stats"])
    assert any(not np.allclose(o, n) for o, n in zip(old, new))
    assert not np.allclose(z_eval, z_tr)
    assert not np.allclose(z_tr, z_tr2)  # dropout is on in training
    # Eval ignores the dropout RNG.
    np.testing.assert_array_equal(z_eval, run(variables, x, _key(9), False)[0])


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown encoder kind"):
        make_encoder("lstm", channels=4, levels=1)
