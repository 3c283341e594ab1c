"""The DANN ramp r(p) = 2 / (1 + exp(-10 p)) - 1 (Ganin et al. 2016; spec emo_dna §4.8)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def dann_ramp(step: jax.Array | int, total_steps: jax.Array | int, gamma: float = 10.0
              ) -> jax.Array:
    """r(p) with p = step / total_steps, clipped to [0, 1] [our choice: steps past the end keep 1].

    Rises from 0 at step 0 to ~1 at the end; weights the alignment terms and is the GRL
    coefficient lambda_p of the DANN baseline.
    """
    p = jnp.clip(jnp.asarray(step, jnp.float32) / jnp.maximum(jnp.asarray(total_steps,
                                                                           jnp.float32), 1.0),
                 0.0, 1.0)
    return 2.0 / (1.0 + jnp.exp(-gamma * p)) - 1.0
