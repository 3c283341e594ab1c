"""ResNet v1.5 trunk: tap shapes (spec two_att_two_mt.md §3.1), parameter counts, BN modes, bf16."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from affectjax.models.resnet import (
    STAGE_SIZES,
    TAP_NAMES,
    check_compatible,
    flax_to_torchvision,
    load_torchvision_npz,
    resnet,
    torchvision_to_flax,
)


def _abstract_init(model, size, batch=2):
    x = jax.ShapeDtypeStruct((batch, size, size, 3), jnp.float32)
    return jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)


def _abstract_taps(model, size, batch=2):
    x = jax.ShapeDtypeStruct((batch, size, size, 3), jnp.float32)
    return jax.eval_shape(
        lambda x: model.apply(model.init(jax.random.key(0), x, train=False), x, train=False), x)


def _num_params(tree):
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


def _formula_count(arch, width=64):
    """Closed-form count: convs have no bias, each BN adds γ and β (torchvision minus fc)."""
    block, sizes = STAGE_SIZES[arch]
    conv = lambda k, cin, cout: k * k * cin * cout
    bn = lambda c: 2 * c
    total = conv(7, 3, width) + bn(width)
    cin = width
    for g, n in enumerate(sizes):
        c = width * 2**g
        for b in range(n):
            stride = 2 if (g > 0 and b == 0) else 1
            if block == "basic":
                cout = c
                total += conv(3, cin, c) + bn(c) + conv(3, c, c) + bn(c)
            else:
                cout = 4 * c
                total += (conv(1, cin, c) + bn(c) + conv(3, c, c) + bn(c)
                          + conv(1, c, cout) + bn(cout))
            if cin != cout or stride != 1:
                total += conv(1, cin, cout) + bn(cout)
            cin = cout
    return total


# (arch, width, input size) -> tap shapes without the batch axis (§3.1; @64 scales by 64/224).
EXPECTED = {
    ("resnet18", 16, 64): {"C2": (16, 16, 16), "C3": (8, 8, 32), "C4": (4, 4, 64),
                           "C5": (2, 2, 128)},
    ("resnet18", 64, 224): {"C2": (56, 56, 64), "C3": (28, 28, 128), "C4": (14, 14, 256),
                            "C5": (7, 7, 512)},
    ("resnet50", 64, 224): {"C2": (56, 56, 256), "C3": (28, 28, 512), "C4": (14, 14, 1024),
                            "C5": (7, 7, 2048)},
    ("resnet18", 64, 64): {"C2": (16, 16, 64), "C3": (8, 8, 128), "C4": (4, 4, 256),
                           "C5": (2, 2, 512)},
    ("resnet50", 64, 64): {"C2": (16, 16, 256), "C3": (8, 8, 512), "C4": (4, 4, 1024),
                           "C5": (2, 2, 2048)},
}


@pytest.mark.parametrize("arch,width,size", list(EXPECTED))
def test_tap_shapes(arch, width, size):
    taps = _abstract_taps(resnet(arch, width=width), size, batch=3)
    assert tuple(taps) == TAP_NAMES
    for name, shape in EXPECTED[(arch, width, size)].items():
        assert taps[name].shape == (3, *shape), name


@pytest.mark.parametrize("arch,expected", [
    # torchvision totals minus fc (512·1000 + 1000; 2048·1000 + 1000):
    ("resnet18", 11_689_512 - 513_000),   # 11,176,512
    ("resnet34", 21_797_672 - 513_000),   # 21,284,672
    ("resnet50", 25_557_032 - 2_049_000),  # 23,508,032
])
def test_param_counts_match_torchvision_without_fc(arch, expected):
    variables = _abstract_init(resnet(arch), 224)
    assert _num_params(variables["params"]) == expected == _formula_count(arch)
    # Running statistics are not parameters: one mean and one var per BN channel, i.e. as many
    # entries as BN γ/β together.
    assert set(variables) == {"params", "batch_stats"}


def test_known_counts():
    assert _formula_count("resnet18") == 11_176_512
    assert _formula_count("resnet50") == 23_508_032


def _np_variables(model, size, batch, seed=0):
    """Real structure (eval_shape), numpy values: compiling RNG initialisers is slow on CPU."""
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = jax.tree_util.keystr(path)
        if "'var'" in name or "'scale'" in name:
            return np.ones(leaf.shape, np.float32)
        if "'mean'" in name or "'bias'" in name:
            return np.zeros(leaf.shape, np.float32)
        return (rng.normal(size=leaf.shape) / np.sqrt(np.prod(leaf.shape[:-1]))).astype(
            np.float32)

    return jax.tree_util.tree_map_with_path(fill, _abstract_init(model, size, batch))


def test_tiny_forward_train_updates_stats_eval_uses_running_stats():
    model = resnet("resnet18", width=8)
    variables = _np_variables(model, 32, 2)
    x = jax.random.normal(jax.random.key(1), (2, 32, 32, 3))
    other = x.at[1].set(3.0 * x[1] + 1.0)

    @jax.jit  # one compile for both modes
    def run(v, x, other):
        evaluate = lambda x: model.apply(v, x, train=False)["C5"]
        return model.apply(v, x, train=True, mutable=["batch_stats"]), evaluate(x), evaluate(other)

    (taps, updates), eval_x, eval_other = run(variables, x, other)
    assert taps["C5"].shape == (2, 1, 1, 64)
    # momentum 0.9: new running mean = 0.9·0 + 0.1·batch mean, so every BN's mean moves.
    old = {jax.tree_util.keystr(p): a
           for p, a in jax.tree_util.tree_leaves_with_path(variables["batch_stats"])}
    new = {jax.tree_util.keystr(p): a
           for p, a in jax.tree_util.tree_leaves_with_path(updates["batch_stats"])}
    means = [k for k in old if k.endswith("['mean']")]
    assert old.keys() == new.keys() and len(means) == 20  # stem + 8 blocks × 2 + 3 downsamples
    assert all(not np.allclose(old[k], new[k]) for k in means)
    assert all(bool(jnp.all(v >= 0)) for v in jax.tree.leaves(taps))  # post-ReLU taps
    # Eval mode normalises with running statistics, so a row's output does not depend on the
    # other rows of the batch (in train mode it would).
    np.testing.assert_allclose(eval_x[0], eval_other[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(eval_x[1], eval_other[1])


def test_bf16_activations_keep_fp32_params():
    model = resnet("resnet50", width=8, dtype=jnp.bfloat16)
    variables = _abstract_init(model, 64)
    assert {leaf.dtype for leaf in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
    taps = _abstract_taps(model, 64)
    assert all(t.dtype == jnp.bfloat16 for t in taps.values())


def test_unknown_arch_raises():
    with pytest.raises(ValueError, match="unknown backbone"):
        resnet("resnet7")


def _torchvision_keys(arch, width=64):
    """The state-dict keys and shapes torchvision's ResNet has (written out independently)."""
    block, sizes = STAGE_SIZES[arch]
    keys = {"conv1.weight": (width, 3, 7, 7)}

    def bn(prefix, c):
        keys.update({f"{prefix}.{n}": (c,) for n in ("weight", "bias", "running_mean",
                                                      "running_var")})
        keys[f"{prefix}.num_batches_tracked"] = ()

    bn("bn1", width)
    cin = width
    for g, n in enumerate(sizes):
        c = width * 2**g
        cout = c if block == "basic" else 4 * c
        for b in range(n):
            p = f"layer{g + 1}.{b}"
            if block == "basic":
                convs = [(c, cin, 3), (c, c, 3)]
            else:
                convs = [(c, cin, 1), (c, c, 3), (cout, c, 1)]
            for j, (o, i, k) in enumerate(convs, 1):
                keys[f"{p}.conv{j}.weight"] = (o, i, k, k)
                bn(f"{p}.bn{j}", o)
            if b == 0 and (cin != cout or g > 0):
                keys[f"{p}.downsample.0.weight"] = (cout, cin, 1, 1)
                bn(f"{p}.downsample.1", cout)
            cin = cout
    keys["fc.weight"], keys["fc.bias"] = (1000, cin), (1000,)
    return keys


@pytest.mark.parametrize("arch,num_keys", [("resnet18", 122), ("resnet50", 320)])
def test_torchvision_state_dict_converts_and_round_trips(arch, num_keys, tmp_path):
    shapes = _torchvision_keys(arch)
    assert len(shapes) == num_keys  # len(torchvision.models.<arch>().state_dict())
    rng = np.random.default_rng(0)
    state = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    np.savez(tmp_path / "w.npz", **state)
    variables = load_torchvision_npz(str(tmp_path / "w.npz"))
    check_compatible(_abstract_init(resnet(arch), 64), variables)
    assert jax.tree.structure(torchvision_to_flax(state)) == jax.tree.structure(variables)
    kernel = variables["params"]["layer2_0"]["conv1"]["conv"]["kernel"]
    np.testing.assert_array_equal(kernel, state["layer2.0.conv1.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(variables["batch_stats"]["stem"]["bn"]["var"],
                                  state["bn1.running_var"])
    back = flax_to_torchvision(variables)
    kept = {k for k in state if not (k.startswith("fc.") or k.endswith("num_batches_tracked"))}
    assert set(back) == kept
    for k in kept:
        np.testing.assert_array_equal(back[k], state[k])
    # A trunk of another depth or width is refused with a message naming the problem.
    with pytest.raises(ValueError, match="wrong"):
        check_compatible(_abstract_init(resnet(arch, width=32), 64), variables)
    other = "resnet34" if arch == "resnet18" else "resnet101"
    with pytest.raises(ValueError, match="depth"):
        check_compatible(_abstract_init(resnet(other), 64), variables)
