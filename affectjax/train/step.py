"""The one train step: loss, gradients, optimizer update and the non-finite guard."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from affectjax.train.state import TrainState
from affectjax.train.task import Task


def make_train_step(task: Task, tx: optax.GradientTransformation) -> Callable:
    """``step(state, batch) -> (state, metrics)``; pure, to be jitted with the state donated."""

    def step(state: TrainState, batch) -> tuple[TrainState, dict]:
        rng = jax.random.fold_in(state.rng, state.step)

        def loss_fn(params):
            return task.loss(params, state.variables, batch, rng, state.step)

        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        aux = dict(aux)
        new_variables = {**state.variables, **aux.pop("variables", {})}
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        grad_norm = optax.tree.norm(grads)

        healthy = state.nonfinite_step < 0
        ok = healthy & jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        updated = state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                                variables=new_variables)
        # A bad step leaves the whole state as it was and records where training broke.
        new_state = jax.tree.map(lambda new, old: jnp.where(ok, new, old), updated, state)
        new_state = new_state.replace(nonfinite_step=jnp.where(
            healthy & ~ok, state.step, state.nonfinite_step))
        metrics = {"loss": loss, "grad_norm": grad_norm, **aux}
        return new_state, metrics

    return step


def make_multi_step(task: Task, tx: optax.GradientTransformation) -> Callable:
    """``steps(state, batches) -> (state, metrics)``: one step per leading index of ``batches``.

    A ``lax.scan`` of :func:`make_train_step`, so n steps cost one dispatch; each metric comes
    back with a leading axis of n. The per-step RNG folds in the step number, so the steps are
    those of n separate calls.
    """
    return functools.partial(jax.lax.scan, make_train_step(task, tx))
