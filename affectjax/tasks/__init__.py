"""Tasks: one file per system binding data, model, losses and evaluators to the trainer."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import ml_collections

from affectjax.train.task import Task

# name -> "module:builder"; builders take the experiment config and return a Task.
_REGISTRY = {
    "toy": "affectjax.tasks.toy:build",
    "uda_ser": "affectjax.tasks.uda_ser:build",
    "bert4cmr": "affectjax.tasks.bert4cmr:build",
    "two_att_two_mt": "affectjax.tasks.two_att_two_mt:build",
}


def names() -> list[str]:
    return sorted(_REGISTRY)


def build(config: ml_collections.ConfigDict) -> Task:
    """The Task named by ``config.task``."""
    if config.task not in _REGISTRY:
        raise KeyError(f"config.task={config.task!r}: known tasks are {names()}")
    module, attr = _REGISTRY[config.task].split(":")
    builder: Callable[[ml_collections.ConfigDict], Task] = getattr(
        importlib.import_module(module), attr)
    return builder(config)
