"""The train state: everything a step reads and writes, and everything a checkpoint holds."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class TrainState:
    """Params, optimizer state, non-trained collections, step counter and RNG.

    ``nonfinite_step`` is -1 while training is healthy; the first step whose loss or gradients
    are not finite writes its number there, and from then on every update is skipped, so the
    params stay those of the last good step until the host notices and stops.
    """

    step: jax.Array
    params: Any
    opt_state: Any
    variables: dict  # non-trained collections: batch_stats, EMA statistics, ...
    rng: jax.Array  # raw uint32 key; a step's key is fold_in(rng, step), so resume is exact
    nonfinite_step: jax.Array

    @classmethod
    def create(cls, params, opt_state, variables, rng) -> TrainState:
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=opt_state,
            variables=dict(variables),
            rng=rng,
            nonfinite_step=jnp.full((), -1, jnp.int32),
        )
