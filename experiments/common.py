"""Shared pieces of the experiment entry points: flags, logging set-up and the run call."""

from __future__ import annotations

import logging
import os

from absl import flags
from ml_collections import config_flags

from affectjax import tasks
from affectjax.train import run
from affectjax.train.loop import RESULTS_FILE
from experiments import results

_CONFIG = config_flags.DEFINE_config_file("config", None, "ml_collections config file",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "directory for checkpoints, metrics and results")
# Table launchers share these two flags (absl allows one definition per process, and tests import
# several launchers): each launcher documents its own row names and its default.
_ROWS = flags.DEFINE_list("rows", None, "table rows to run (each launcher lists its rows; "
                          "'all' = every row)")
_SEEDS = flags.DEFINE_list("seeds", None, "seeds to run for every table row, e.g. 0,1,2")


def config_flag():
    """The ``--config`` flag (an ml_collections config file with ``:args``)."""
    return _CONFIG


def table_rows() -> list[str] | None:
    """``--rows`` as given, or None when the flag is unset (or flags are not parsed: tests)."""
    if not flags.FLAGS.is_parsed():
        return None
    return list(_ROWS.value) if _ROWS.value else None


def table_seeds(default: list[int] | None = None) -> list[int] | None:
    """``--seeds`` as integers, or ``default`` when the flag is unset or flags are not parsed."""
    if not flags.FLAGS.is_parsed() or not _SEEDS.value:
        return default
    try:
        return [int(s) for s in _SEEDS.value]
    except ValueError as err:
        raise SystemExit(f"--seeds={','.join(_SEEDS.value)}: expected integers, e.g. 0,1,2"
                         ) from err


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


def enable_compilation_cache() -> None:
    """Keep compiled programs on disk (``$AFFECTJAX_JAX_CACHE``, default ~/.cache/affectjax/jax).

    [our choice] Every run of a table compiles the same few programs; on CPU compiling them can
    cost more than a small run's training, and a resumed or fine-tuning run reuses them.
    ``AFFECTJAX_JAX_CACHE=off`` disables it. ``experiments.benchmark`` never calls this: it
    measures compile time.
    """
    import os

    import jax

    where = os.environ.get("AFFECTJAX_JAX_CACHE", os.path.expanduser("~/.cache/affectjax/jax"))
    if where.lower() in ("", "off", "0", "false"):
        return
    jax.config.update("jax_compilation_cache_dir", where)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def launcher_setup(name: str, extra_usage: str = ""):
    """Logging, the compile cache and the ``--config``/``--workdir`` pair of every launcher.

    Returns ``(config, workdir)``; a missing flag exits with the launcher's usage line.
    """
    setup_logging()
    enable_compilation_cache()
    if _CONFIG.value is None or _WORKDIR.value is None:
        raise SystemExit(f"usage: python -m experiments.{name} --config=<file>[:args] "
                         f"--workdir=<dir>{extra_usage}")
    results.pin_provenance()  # the commit the run starts from, not the one it ends at
    return _CONFIG.value, _WORKDIR.value


def run_recorded(task, config, workdir: str):
    """``affectjax.train.run``; a run it trains to the end also records its command and commit."""
    fresh = not os.path.exists(os.path.join(workdir, RESULTS_FILE))
    result = run(task, config, workdir)
    if fresh:
        results.record_run(workdir)
    return result


def main(argv, name: str = "<name>") -> None:
    """Build the config's Task and train it (the body of every ``python -m experiments.X``)."""
    del argv
    config, workdir = launcher_setup(name)
    result = run_recorded(tasks.build(config), config, workdir)
    logging.info("done at step %d: %s", result.step,
                 ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.metrics.items())))
