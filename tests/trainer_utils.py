"""Helpers for the trainer tests: toy configs, metrics files and parameter comparison."""

from __future__ import annotations

import json
import pathlib

import jax
import numpy as np

from experiments.configs import toy as toy_config


def toy_config_tiny(**overrides):
    """The tiny toy config, unlocked overrides given as dotted keys: {"train.total_steps": 8}."""
    config = toy_config.get_config("size=tiny")
    config.train.progress = False
    with config.unlocked():
        for key, value in overrides.items():
            node = config
            *parents, leaf = key.split(".")
            for p in parents:
                node = node[p]
            node[leaf] = value
    return config


def metric_series(workdir, key: str) -> list[float]:
    lines = pathlib.Path(workdir, "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)[key] for line in lines if key in json.loads(line)]


def metrics_without_timing(workdir) -> list[dict]:
    lines = pathlib.Path(workdir, "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if not k.startswith("time/")}
            for line in lines]


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def assert_trees_equal(a, b):
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
