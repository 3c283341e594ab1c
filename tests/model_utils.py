"""Helpers for the model tests: variables of a Flax module's structure without compiling init."""

from __future__ import annotations

import functools

import jax
import numpy as np


def numpy_variables(module, x, seed: int = 0) -> dict:
    """Variables of the right structure from numpy: parameters N(0, 0.3^2), BN statistics (0, 1).

    Compiling a real ``init`` (one random initialiser per parameter) costs more CPU time than a
    small model's forward and backward passes together; ``jax.eval_shape`` gives the structure
    for free. Each model's tests run the real init once elsewhere.
    """
    shapes = jax.eval_shape(functools.partial(module.init, train=False), jax.random.key(0), x)
    rng = np.random.default_rng(seed)
    params = jax.tree.map(lambda s: (0.3 * rng.normal(size=s.shape)).astype(np.float32),
                          shapes["params"])
    stats = jax.tree_util.tree_map_with_path(
        lambda path, s: np.full(s.shape, 1.0 if "var" in str(path[-1]) else 0.0, np.float32),
        shapes["batch_stats"])
    return {"params": params, "batch_stats": stats}
