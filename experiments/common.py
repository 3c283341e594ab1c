"""Shared pieces of the experiment entry points: flags, logging set-up and the run call."""

from __future__ import annotations

import logging

from absl import flags
from ml_collections import config_flags

from affectjax import tasks
from affectjax.train import run

_CONFIG = config_flags.DEFINE_config_file("config", None, "ml_collections config file",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "directory for checkpoints, metrics and results")


def config_flag():
    """The ``--config`` flag (an ml_collections config file with ``:args``)."""
    return _CONFIG


def config_variant(**arg_updates):
    """The ``--config`` file re-read with some ``:key=value`` args changed, overrides kept.

    Launchers use it to build every row of a table (method, ablation, seed) from the command
    line's config exactly as the user would have written each one.
    """
    import importlib.util

    spec = config_flags.get_config_filename(flags.FLAGS["config"])
    path, _, arg = spec.partition(":")
    args = dict(item.split("=", 1) for item in filter(None, arg.split(",")))
    args.update({k: str(v) for k, v in arg_updates.items()})
    module_spec = importlib.util.spec_from_file_location("_config_module", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    config = module.get_config(",".join(f"{k}={v}" for k, v in args.items()))
    with config.unlocked():
        for key, value in config_flags.get_override_values(flags.FLAGS["config"]).items():
            node = config
            *parents, leaf = key.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = value
    return config


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    # orbax and absl are chatty at INFO about every save; their warnings still show.
    for name in ("absl", "orbax"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv) -> None:
    """Build the config's Task and train it (the body of every ``python -m experiments.X``)."""
    del argv
    if _CONFIG.value is None or _WORKDIR.value is None:
        raise SystemExit(
            "usage: python -m experiments.<name> --config=<file>[:args] --workdir=<dir>")
    setup_logging()
    config = _CONFIG.value
    result = run(tasks.build(config), config, _WORKDIR.value)
    logging.info("done at step %d: %s", result.step,
                 ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.metrics.items())))
