"""Shared layers for affectjax models: the gradient-reversal layer (GRL) of DANN."""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.custom_vjp
def grad_reverse(x: jax.Array, coeff: jax.Array | float) -> jax.Array:
    """Identity on the forward pass; multiplies the incoming gradient by ``-coeff`` on the way back.

    Ganin et al. 2016 (DANN). ``coeff`` is an ordinary (possibly traced) argument, so a schedule
    such as the DANN ramp r(p) can change it every step without recompiling; it receives a zero
    gradient.
    """
    del coeff
    return x


def _grad_reverse_fwd(x, coeff):
    return x, coeff


def _grad_reverse_bwd(coeff, g):
    coeff_arr = jnp.asarray(coeff)
    return (-coeff_arr.astype(g.dtype) * g, jnp.zeros_like(coeff_arr))


grad_reverse.defvjp(_grad_reverse_fwd, _grad_reverse_bwd)
