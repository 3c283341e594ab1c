"""Adaptive-threshold pseudo-labels for the target corpus and the pseudo-label CE (spec §4.3-4.4).

[paper] class-level alignment uses target samples selected by adaptive-threshold pseudo-labelling.
[our choice] the rule is FreeMatch's self-adaptive thresholding (Wang et al., ICLR 2023): an EMA of
the global confidence tau_g times the EMA class marginal p_bar normalised by its maximum.

The state ``{"tau_g": (), "p_bar": (K,)}`` is a non-trained collection that the task keeps in the
train state; :func:`update` is pure and returns the new state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

KINDS = ("freematch", "fixed", "none")


def init_state(num_classes: int) -> dict[str, jax.Array]:
    """tau_g and p_bar both start at 1/K (FreeMatch's initialisation)."""
    return {"tau_g": jnp.full((), 1.0 / num_classes, jnp.float32),
            "p_bar": jnp.full((num_classes,), 1.0 / num_classes, jnp.float32)}


def class_thresholds(state: dict[str, jax.Array], kind: str = "freematch",
                     fixed_threshold: float = 0.95) -> jax.Array:
    """(K,) thresholds tau_k: tau_g * p_bar_k / max p_bar ('freematch'), or the fixed value.

    For ``'none'`` the thresholds are those of 'freematch' (for logging); the mask ignores them.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown pseudo-label kind {kind!r}; expected one of {KINDS}")
    p_bar = state["p_bar"]
    if kind == "fixed":
        return jnp.full_like(p_bar, fixed_threshold)
    return state["tau_g"] * p_bar / jnp.max(p_bar)


def update(state: dict[str, jax.Array], probs: jax.Array, *, kind: str = "freematch",
           ema: float = 0.999, fixed_threshold: float = 0.95,
           step: jax.Array | int = 0, warmup_steps: jax.Array | int = 0,
           ) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
    """One step of the threshold EMA and the target mask.

    ``probs``: (B_t, K) softmax of the target emotion logits (a stop-gradient is applied here).
    tau_g <- m tau_g + (1 - m) mean_j max_k p_jk;  p_bar <- m p_bar + (1 - m) mean_j p_j;
    tau_k from the *updated* state; y_hat_j = argmax_k p_jk; M_j = 1[max_k p_jk >= tau_{y_hat_j}].
    ``'fixed'`` uses tau_k = ``fixed_threshold``, ``'none'`` gives M = 0. While
    ``step < warmup_steps`` M = 0 whatever the kind; the EMA still updates.

    Returns ``(new_state, mask (B_t,) float32 in {0, 1}, pseudo_labels (B_t,) int32)``.
    """
    p = jax.lax.stop_gradient(probs).astype(jnp.float32)
    conf = jnp.max(p, axis=-1)
    pseudo_labels = jnp.argmax(p, axis=-1).astype(jnp.int32)
    new_state = {"tau_g": ema * state["tau_g"] + (1.0 - ema) * jnp.mean(conf),
                 "p_bar": ema * state["p_bar"] + (1.0 - ema) * jnp.mean(p, axis=0)}
    tau_k = class_thresholds(new_state, kind, fixed_threshold)
    mask = (conf >= tau_k[pseudo_labels]).astype(jnp.float32)
    if kind == "none":
        mask = jnp.zeros_like(mask)
    mask = jnp.where(jnp.asarray(step) < jnp.asarray(warmup_steps), 0.0, mask)
    return new_state, mask, pseudo_labels


def log_metrics(state: dict[str, jax.Array], mask: jax.Array, kind: str = "freematch",
            fixed_threshold: float = 0.95) -> dict[str, jax.Array]:
    """The per-step log of spec §4: mask rate mean(M), tau_g, min and max tau_k."""
    tau_k = class_thresholds(state, kind, fixed_threshold)
    return {"mask_rate": jnp.mean(mask), "tau_g": state["tau_g"], "tau_k_min": jnp.min(tau_k),
            "tau_k_max": jnp.max(tau_k)}


def warmup_steps(total_steps: int, warmup_frac: float) -> int:
    """Steps with a zero mask: the first ``warmup_frac`` of ``total_steps`` (spec §4.3)."""
    return int(round(warmup_frac * total_steps))


def pseudo_label_ce(logits: jax.Array, pseudo_labels: jax.Array, mask: jax.Array) -> jax.Array:
    """L_pl = (1/B_t) sum_j M_j CE(logits_j, y_hat_j): the mean over all B_t, not over the mask."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, pseudo_labels)
    return jnp.mean(mask.astype(ce.dtype) * ce)


def diversity_loss(logits: jax.Array) -> jax.Array:
    """KL(mean_j softmax(logits_j) || uniform) = log K - H(p_bar) over the target batch.

    [our choice, after SHOT's information maximisation, Liang et al. ICML 2020] Pseudo-label CE
    on a batch's own argmax is entropy minimisation: with no counter-term a whole target corpus
    can drift into one class (observed on the synthetic dev tasks, mask rate 1, UAR = chance).
    This term is 0 when the batch's mean prediction is uniform and log K when it is one class.
    """
    p_bar = jnp.mean(jax.nn.softmax(logits.astype(jnp.float32), axis=-1), axis=0)
    return jnp.log(p_bar.shape[-1]) + jnp.sum(p_bar * jnp.log(p_bar + 1e-12))
