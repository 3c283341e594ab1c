"""Optimizer from config: optax schedules, weight decay, clipping, freezing and lr multipliers."""

from __future__ import annotations

import logging
from typing import Any

import ml_collections
import optax

from affectjax.train import params as param_rules

log = logging.getLogger(__name__)

FROZEN = "frozen"


def make_schedule(optim: ml_collections.ConfigDict, total_steps: int, warmup_steps: int):
    """Learning-rate schedule of ``optim.schedule`` with a linear warm-up of ``warmup_steps``."""
    lr, kind = optim.lr, optim.schedule
    decay_steps = max(total_steps - warmup_steps, 1)
    if kind == "constant":
        main = optax.constant_schedule(lr)
    elif kind == "cosine":
        main = optax.cosine_decay_schedule(lr, decay_steps)
    elif kind == "linear":
        main = optax.linear_schedule(lr, 0.0, decay_steps)
    elif kind == "inverse_sqrt":
        # Transformer schedule: lr * sqrt(warmup / step) after the warm-up.
        scale = max(warmup_steps, 1)
        main = lambda count: lr * (scale / (count + scale)) ** 0.5
    elif kind == "exponential":
        main = optax.exponential_decay(lr, optim.transition_steps, optim.decay_rate)
    else:
        raise ValueError(
            f"optim.schedule={kind!r}: expected constant, cosine, linear, inverse_sqrt or "
            "exponential")
    if warmup_steps <= 0:
        return main
    warmup = optax.linear_schedule(0.0, lr, warmup_steps)
    return optax.join_schedules([warmup, main], [warmup_steps])


def _base(optim: ml_collections.ConfigDict, lr) -> optax.GradientTransformation:
    """Adam or SGD with the configured weight decay, for one learning-rate group."""
    decay_rules = param_rules.compile_rules(optim.weight_decay_exclude,
                                            "optim.weight_decay_exclude")
    # A callable mask: inside multi_transform each group sees a tree with other groups masked out.
    decay_mask = lambda tree: param_rules.label_tree(
        tree, lambda p: not param_rules.matches(p, decay_rules))
    wd = optim.weight_decay
    if optim.name == "adam":
        if wd and optim.decay_mode == "decoupled":
            return optax.adamw(lr, optim.b1, optim.b2, optim.eps, weight_decay=wd, mask=decay_mask)
        core = optax.adam(lr, optim.b1, optim.b2, optim.eps)
    elif optim.name == "sgd":
        core = optax.sgd(lr, momentum=optim.momentum or None)
    else:
        raise ValueError(f"optim.name={optim.name!r}: expected adam or sgd")
    if not wd:
        return core
    if optim.decay_mode not in ("coupled", "decoupled"):
        raise ValueError(f"optim.decay_mode={optim.decay_mode!r}: expected coupled or decoupled")
    if optim.decay_mode == "decoupled":  # sgd: decay after the update direction, scaled by lr
        return optax.chain(core, optax.add_decayed_weights(-wd * optim.lr, decay_mask))
    # Coupled L2: wd*theta joins the gradient BEFORE the moments, as PyTorch's Adam(weight_decay).
    return optax.chain(optax.add_decayed_weights(wd, decay_mask), core)


def make_optimizer(
    config: ml_collections.ConfigDict, params: Any, total_steps: int, steps_per_epoch: int | None
) -> optax.GradientTransformation:
    """The full transformation: clip -> per-group (frozen | lr multiplier | default) optimizer."""
    optim = config.optim
    warmup = optim.warmup_steps
    if optim.warmup_epochs is not None:
        if not steps_per_epoch:
            raise ValueError("optim.warmup_epochs needs a task whose TrainData has steps_per_epoch")
        warmup = round(optim.warmup_epochs * steps_per_epoch)
    schedule = make_schedule(optim, total_steps, warmup)

    freeze_rules = param_rules.compile_rules(config.freeze, "freeze")
    param_rules.check_rules_used(params, config.freeze, "freeze")
    mults = [(pattern, float(mult)) for pattern, mult in param_rules.rule_pairs(
        optim.lr_mults, "optim.lr_mults", "--config.optim.lr_mults=\"(('head/.*', 0.1),)\"")]
    mult_rules = param_rules.compile_rules([p for p, _ in mults], "optim.lr_mults")
    param_rules.check_rules_used(params, [p for p, _ in mults], "optim.lr_mults")

    def label_of(path: str) -> str:
        if param_rules.matches(path, freeze_rules):
            return FROZEN
        for i, rule in enumerate(mult_rules):
            if rule.fullmatch(path):
                return f"lr_x{mults[i][1]:g}"
        return "default"

    labels = param_rules.label_tree(params, label_of)
    used = set(param_rules.flatten(labels).values())
    transforms = {FROZEN: optax.set_to_zero()}
    transforms["default"] = _base(optim, schedule)
    for _, mult in mults:
        scaled = lambda count, m=mult: m * schedule(count)
        transforms[f"lr_x{mult:g}"] = _base(optim, scaled)
    transforms = {k: v for k, v in transforms.items() if k in used}
    if FROZEN in used:
        n = sum(1 for v in param_rules.flatten(labels).values() if v == FROZEN)
        log.info("freeze: %d parameter arrays receive zero updates", n)
    tx = optax.multi_transform(transforms, labels)
    if optim.clip_norm is not None:
        tx = optax.chain(optax.clip_by_global_norm(optim.clip_norm), tx)
    return tx
