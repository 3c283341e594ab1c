"""2Att-2Mt model: outputs, attention weights, ablation/coupling options, counts, regex paths."""

import re

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from affectjax.models.two_att_two_mt import TwoAttTwoMt
from affectjax.train import params as param_rules

# The tiny config of spec §3.5 (CPU tests).
TINY = dict(num_classes=8, backbone="resnet18", backbone_width=16, att_dim=32, att_hidden=16,
            rnn_hidden=32, pool_hidden=16, head_hidden=32, head_dropout=0.1)
B, SIZE = 4, 64


def _abstract(model, size=SIZE, batch=B):
    x = jax.ShapeDtypeStruct((batch, size, size, 3), jnp.float32)
    return jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x)


def _np_variables(model, size=SIZE, seed=0):
    """Variables with the real structure (eval_shape) filled by numpy.

    Compiling the random initialisers of ~60 arrays costs tens of seconds on a small CPU; these
    tests need only the structure and sane scales.
    """
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = param_rules.path_str(path)
        if name.endswith("/var") or name.endswith("/scale"):
            return np.ones(leaf.shape, np.float32)
        if name.endswith("/mean") or name.endswith("/bias"):
            return np.zeros(leaf.shape, np.float32)
        fan_in = int(np.prod(leaf.shape[:-1])) if len(leaf.shape) > 1 else leaf.shape[0]
        return (rng.normal(size=leaf.shape) / np.sqrt(fan_in)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(fill, _abstract(model, size=size))


def _images(seed=0, batch=B, size=SIZE):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(batch, size, size, 3)),
                       jnp.float32)


def _count(tree):
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


@pytest.fixture(scope="module")
def tiny():
    """The tiny model: eval and two train applies in one compile (compiles dominate on CPU)."""
    model = TwoAttTwoMt(**TINY)
    variables = _np_variables(model)

    @jax.jit
    def run(variables, x):
        evaluated = model.apply(variables, x, train=False)
        trained = [model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(i)},
                               mutable=["batch_stats"]) for i in (1, 2)]
        return evaluated, trained

    evaluated, trained = run(variables, _images())
    return model, variables, evaluated, trained


def _check_outputs(out, aux, model, *, k=8):
    assert out["logits"].shape == (B, k) and out["logits"].dtype == jnp.float32
    assert out["va"].shape == (B, 2) and out["va"].dtype == jnp.float32
    assert np.all(np.isfinite(out["logits"])) and np.all(np.isfinite(out["va"]))
    if model.va_activation == "tanh":
        assert np.all(np.abs(out["va"]) <= 1.0)
    assert set(aux["taps"]) == {"C2", "C3", "C4", "C5"}


def test_init_structure_and_dtypes():
    # eval_shape traces the real ``init`` (every initialiser, shape and dtype) without compiling
    # ~60 random initialisers, which takes 10-30 s on a small CPU; the trainer's tiny end-to-end
    # run executes it for real.
    variables = _abstract(TwoAttTwoMt(**TINY))
    assert set(variables) == {"params", "batch_stats"}
    assert {leaf.dtype for leaf in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
    assert set(variables["batch_stats"]) == {"backbone", "proj_C3", "proj_C4", "proj_C5"}


def test_outputs_and_attention_weights(tiny):
    model, _, (out, aux), _ = tiny
    _check_outputs(out, aux, model)
    # α per tap: [B, H, W] over the tap's cells (tiny @64: 8×8, 4×4, 2×2), each sums to 1.
    for tap, hw in (("C3", 8), ("C4", 4), ("C5", 2)):
        alpha = np.asarray(aux[f"alpha/{tap}"])
        assert alpha.shape == (B, hw, hw)
        assert np.all(alpha >= 0)
        np.testing.assert_allclose(alpha.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert "alpha/C2" not in aux  # not tapped by default
    beta = np.asarray(aux["beta"])
    assert beta.shape == (B, 3) and np.all(beta >= 0)
    np.testing.assert_allclose(beta.sum(axis=1), 1.0, rtol=1e-5)
    assert aux["pooled"].shape == (B, 2 * TINY["rnn_hidden"])
    assert aux["pre_logits"].shape == (B, TINY["head_hidden"])


def test_train_mode_uses_dropout_and_updates_batch_stats(tiny):
    _, variables, _, [((out1, _), updates), ((out2, _), _)] = tiny
    assert not np.allclose(out1["logits"], out2["logits"])  # dropout masks differ
    assert set(updates) == {"batch_stats"}
    assert jax.tree.structure(updates["batch_stats"]) == jax.tree.structure(
        variables["batch_stats"])
    # The per-tap projection BN keeps running statistics like the trunk's.
    before = variables["batch_stats"]["proj_C3"]["bn"]["mean"]
    assert not np.allclose(updates["batch_stats"]["proj_C3"]["bn"]["mean"], before)


# Three runs cover every option of §3.2–§3.4 not already run by the default model above.
VARIANTS = {
    "enhance-mean-probs-linear-bf16": dict(position_attention="enhance", layer_agg="mean",
                                           coupling="probs", va_activation="none",
                                           dtype=jnp.bfloat16),
    "gap-c5only-none": dict(position_attention="gap", layer_agg="c5_only", coupling="none"),
    "additive-bilstmmean-gru-embed-stopgrad": dict(
        position_attention="additive", layer_agg="bilstm_mean", rnn_cell="gru",
        layer_embedding=True, coupling_stop_grad=True, taps=("c2", "c3", "c4", "c5")),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_option_runs(name):
    kw = VARIANTS[name]
    model = TwoAttTwoMt(**{**TINY, **kw})
    variables = _np_variables(model)
    # One compile per variant is cheaper than eager dispatch, which compiles every op anew.
    out, aux = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, _images())
    _check_outputs(out, aux, model)
    params = variables["params"]
    att_params = [k for k in params if k.startswith("att_")]
    if kw["position_attention"] == "gap":
        # 'gap' keeps the projections but has no position scorer, and reports no α.
        assert att_params == []
        assert not any(k.startswith("alpha/") for k in aux)
    else:
        taps = [k.split("/")[1] for k in aux if k.startswith("alpha/")]
        assert sorted(att_params) == [f"att_{t}" for t in sorted(taps)]
        for t in taps:
            np.testing.assert_allclose(np.asarray(aux[f"alpha/{t}"]).sum(axis=(1, 2)), 1.0,
                                       rtol=1e-5)
    if kw["layer_agg"] != "bilstm_attn":
        assert "beta" not in aux and "layer_pool" not in params
    if kw["layer_agg"] == "mean":
        assert "bilstm" not in params and aux["pooled"].shape == (B, TINY["att_dim"])
    if kw["layer_agg"] == "c5_only":
        assert [k for k in params if k.startswith("proj_")] == ["proj_C5"]
        assert "bilstm" not in params and "c5_proj" in params
    if kw["layer_agg"] == "bilstm_mean":
        assert "bilstm" in params and aux["pooled"].shape == (B, 2 * TINY["rnn_hidden"])
        assert params["layer_embed"].shape == (4, TINY["att_dim"])  # C2..C5 tapped
        assert "ir" in params["bilstm"]["forward"]["cell"]  # GRU gates
    if kw.get("dtype") == jnp.bfloat16:
        # bf16 activations; fp32 params, attention weights and outputs.
        assert aux["taps"]["C5"].dtype == jnp.bfloat16
        assert {leaf.dtype for leaf in jax.tree.leaves(params)} == {jnp.dtype(jnp.float32)}
        assert aux["alpha/C3"].dtype == jnp.float32
    # The V/A head's input width follows the coupling (§3.4): s, s‖softmax(logits), s‖g.
    s_dim = aux["pooled"].shape[-1]
    extra = {"none": 0, "probs": TINY["num_classes"], "hidden": TINY["head_hidden"]}
    assert params["va_head"]["hidden"]["kernel"].shape[0] == s_dim + extra[model.coupling]


def test_coupling_stop_grad_blocks_va_gradient_into_categorical_path():
    models = {stop: TwoAttTwoMt(**{**TINY, "backbone_width": 4, "coupling_stop_grad": stop})
              for stop in (False, True)}
    variables = _np_variables(models[False], size=32)  # same structure for both
    x = _images(size=32)

    @jax.jit
    def va_grads(v):
        # Gradients w.r.t. the two heads only: XLA then prunes the trunk's backward pass, which
        # would dominate the compile time.
        grads = {}
        for stop, model in models.items():
            def va_sum(heads, model=model):
                p = {**v["params"], **heads}
                return model.apply({**v, "params": p}, x, train=False)[0]["va"].sum()
            heads = {k: v["params"][k] for k in ("cls_head", "va_head")}
            grads[stop] = jax.grad(va_sum)(heads)
        return grads

    grads = va_grads(variables)
    assert np.abs(grads[False]["cls_head"]["hidden"]["kernel"]).max() > 0
    assert np.abs(grads[True]["cls_head"]["hidden"]["kernel"]).max() == 0
    assert np.abs(grads[True]["va_head"]["hidden"]["kernel"]).max() > 0
    # The categorical output layer never feeds V/A under coupling='hidden'.
    assert np.abs(grads[False]["cls_head"]["out"]["kernel"]).max() == 0


def test_freeze_and_lr_mult_regexes_of_the_recipe_match(tiny):
    _, variables, _, _ = tiny
    params = variables["params"]
    flat = param_rules.flatten(params)
    # Stage 1 freezes the V/A head; stage 2 scales the trunk's LR (spec §5). check_rules_used
    # is what the trainer calls: it raises when a regex matches nothing.
    param_rules.check_rules_used(params, ["va_head/.*"], "freeze")
    param_rules.check_rules_used(params, ["backbone/.*"], "optim.lr_mults")
    frozen = [p for p in flat if re.fullmatch("va_head/.*", p)]
    trunk = [p for p in flat if re.fullmatch("backbone/.*", p)]
    assert sorted(frozen) == ["va_head/hidden/bias", "va_head/hidden/kernel", "va_head/out/bias",
                              "va_head/out/kernel"]
    assert _count([flat[p] for p in trunk]) == _count(params["backbone"])
    assert set(params) == {"backbone", "proj_C3", "proj_C4", "proj_C5", "att_C3", "att_C4",
                           "att_C5", "bilstm", "layer_pool", "cls_head", "va_head"}


def _expected_heads(trunk_channels, d=512, a=256, r=256, p=256, g=256, k=8):
    """§3.6 formula: projections, scorers, Bi-LSTM, pooling, categorical and V/A heads."""
    proj = sum(c * d + 2 * d for c in trunk_channels)           # 1×1 conv (no bias) + BN γ, β
    scorers = len(trunk_channels) * (d * a + a + a)              # W, b; w without bias
    lstm = 2 * 4 * (d * r + r * r + r)                           # flax LSTMCell: one bias/gate
    pool = 2 * r * p + p + p                                     # W_s, b_s, context c
    cls = 2 * r * g + g + g * k + k
    va = (2 * r + g) * g + g + g * 2 + 2                         # coupling='hidden'
    return {"proj": proj, "att": scorers, "bilstm": lstm, "layer_pool": pool, "cls_head": cls,
            "va_head": va}


@pytest.mark.parametrize("backbone,trunk,channels,total", [
    ("resnet50", 23_508_032, (512, 1024, 2048), 27_778_122),
    ("resnet18", 11_176_512, (128, 256, 512), 14_070_346),
])
def test_paper_scale_parameter_counts(backbone, trunk, channels, total):
    model = TwoAttTwoMt(backbone=backbone)  # defaults are the paper sizes of §3.5
    params = _abstract(model, size=224, batch=1)["params"]
    groups: dict[str, int] = {}
    for key, sub in params.items():
        group = key.split("_C")[0]  # proj_C3 -> proj, att_C4 -> att
        groups[group] = groups.get(group, 0) + _count(sub)
    expected = {"backbone": trunk, **_expected_heads(channels)}
    assert groups == expected
    assert sum(expected.values()) == total == _count(params)
    if backbone == "resnet50":  # the component numbers printed in §3.6
        assert expected["proj"] == 1_838_080 and expected["att"] == 394_752
        assert expected["bilstm"] == 1_574_912 and expected["layer_pool"] == 131_584
        assert expected["cls_head"] == 133_384 and expected["va_head"] == 197_378


def test_tiny_parameter_count():
    params = _abstract(TwoAttTwoMt(**TINY))["params"]
    # §3.6: ≈ 0.70 M trunk + ≈ 32 k heads ≈ 0.73 M.
    assert _count(params["backbone"]) == 702_096
    assert _count(params) == 734_298


def test_from_config_and_bad_options():
    cfg = ml_collections.ConfigDict(dict(TINY, taps=["c3", "c4", "c5"], backbone_init="scratch",
                                         backbone_weights="", position_attention="additive"))
    model = TwoAttTwoMt.from_config(cfg, dtype=jnp.bfloat16)
    assert model.taps == ("c3", "c4", "c5") and model.dtype == jnp.bfloat16
    assert model.att_dim == 32
    assert set(_abstract(model)["params"]) == set(_abstract(TwoAttTwoMt(**TINY))["params"])
    for bad in (dict(position_attention="spatial"), dict(layer_agg="max"),
                dict(coupling="both"), dict(taps=("C6",)), dict(rnn_cell="rnn")):
        with pytest.raises(ValueError):
            _abstract(TwoAttTwoMt(**{**TINY, **bad}))
