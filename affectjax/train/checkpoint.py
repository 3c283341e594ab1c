"""Orbax checkpoints of the train state and the data iterators: save, resume and init_from."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import grain
import jax
import ml_collections
import orbax.checkpoint as ocp
from etils import epath
from jax.sharding import Mesh

from affectjax.train import params as param_rules
from affectjax.train.sharding import replicated
from affectjax.train.state import TrainState

log = logging.getLogger(__name__)

LAST_DIR = "checkpoints"
BEST_DIR = "best"


def _is_checkpointable(iterator: Any) -> bool:
    return hasattr(iterator, "get_state") and hasattr(iterator, "set_state")


class _JsonStateIterator:
    """Lets grain's checkpoint handler save any iterator whose ``get_state()`` is JSON-able."""

    def __init__(self, iterator: Any):
        self.iterator = iterator

    def get_state(self) -> bytes:
        state = self.iterator.get_state()
        # A stand-in for grain's DataLoaderIterator (see train/prefetch.py) holds its bytes.
        return state if isinstance(state, bytes) else json.dumps(state).encode()

    def set_state(self, state: bytes) -> None:
        self.iterator.set_state(json.loads(state.decode()))

    def start_prefetch(self) -> None:
        pass


def _for_grain(iterator: Any) -> Any:
    if isinstance(iterator, grain.DatasetIterator | grain.DataLoaderIterator):
        return iterator
    return _JsonStateIterator(iterator)


def _abstract(tree: Any) -> Any:
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)


class Checkpointer:
    """Two orbax managers in a workdir: ``checkpoints/`` (last N) and ``best/`` (one).

    A checkpoint holds the items ``model`` (params and non-trained collections), ``opt_state``,
    ``counters`` (step, rng, non-finite flag), ``trainer`` (JSON: early stopping, task
    metadata) and one ``data_<stream>`` per checkpointable training iterator (grain's handler,
    which writes one state file per process).
    """

    def __init__(self, workdir: str, keep: int):
        self.workdir = os.path.abspath(workdir)
        self.last = ocp.CheckpointManager(
            os.path.join(self.workdir, LAST_DIR),
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))
        self.best = ocp.CheckpointManager(
            os.path.join(self.workdir, BEST_DIR),
            options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True))

    def save(self, which: str, state: TrainState, trainer: Mapping[str, Any],
             iterators: Mapping[str, Any] | None = None) -> str:
        manager = self.last if which == "last" else self.best
        step = int(jax.device_get(state.step))
        items = {
            "model": ocp.args.StandardSave({"params": state.params, **state.variables}),
            "opt_state": ocp.args.StandardSave(state.opt_state),
            "counters": ocp.args.StandardSave(
                {"step": state.step, "rng": state.rng, "nonfinite_step": state.nonfinite_step}),
            "trainer": ocp.args.JsonSave(dict(trainer)),
        }
        for name, iterator in (iterators or {}).items():
            if _is_checkpointable(iterator):
                items[f"data_{name}"] = grain.checkpoint.CheckpointSave(_for_grain(iterator))
        manager.save(step, args=ocp.args.Composite(**items), force=True)
        return os.path.join(manager.directory, str(step))

    def latest_path(self) -> str | None:
        step = self.last.latest_step()
        return None if step is None else os.path.join(str(self.last.directory), str(step))

    def restore_latest(self, state: TrainState, iterators: Mapping[str, Any]
                       ) -> tuple[TrainState, dict] | None:
        """Resume from this workdir's newest checkpoint; None when there is none."""
        step = self.last.latest_step()
        if step is None:
            return None
        model_target = _abstract({"params": state.params, **state.variables})
        counters = {"step": state.step, "rng": state.rng, "nonfinite_step": state.nonfinite_step}
        items = {
            "model": ocp.args.StandardRestore(model_target),
            "opt_state": ocp.args.StandardRestore(_abstract(state.opt_state)),
            "counters": ocp.args.StandardRestore(_abstract(counters)),
            "trainer": ocp.args.JsonRestore(),
        }
        saved_items = set(os.listdir(os.path.join(str(self.last.directory), str(step))))
        for name, iterator in iterators.items():
            if _is_checkpointable(iterator):
                if f"data_{name}" not in saved_items:
                    raise ValueError(
                        f"checkpoint {step} in {self.last.directory} has no state for training "
                        f"stream {name!r}; did the task's streams change?")
                items[f"data_{name}"] = grain.checkpoint.CheckpointRestore(_for_grain(iterator))
            else:
                log.warning("training stream %r is not checkpointable (no get_state); it restarts "
                            "from its beginning on resume", name)
        restored = self.last.restore(step, args=ocp.args.Composite(**items))
        model = dict(restored["model"])
        c = restored["counters"]
        state = state.replace(
            params=model.pop("params"), variables=model, opt_state=restored["opt_state"],
            step=c["step"], rng=c["rng"], nonfinite_step=c["nonfinite_step"])
        log.info("resumed from %s/%d", self.last.directory, step)
        return state, dict(restored["trainer"])

    def restore_best_model(self, state: TrainState) -> TrainState | None:
        """The best checkpoint's params and collections into ``state`` (None if none kept)."""
        step = self.best.latest_step()
        if step is None:
            return None
        target = _abstract({"params": state.params, **state.variables})
        restored = self.best.restore(
            step, args=ocp.args.Composite(model=ocp.args.StandardRestore(target)))
        model = dict(restored["model"])
        return state.replace(params=model.pop("params"), variables=model)

    def wait(self) -> None:
        self.last.wait_until_finished()
        self.best.wait_until_finished()

    def close(self) -> None:
        self.last.close()
        self.best.close()


def _source_manager(path: str, which: str) -> tuple[ocp.CheckpointManager, int]:
    """The manager and step of a run's best (or last) checkpoint; best falls back to last."""
    root = os.path.abspath(path)
    order = [BEST_DIR, LAST_DIR] if which == "best" else [LAST_DIR]
    for sub in order:
        directory = os.path.join(root, sub)
        if os.path.isdir(directory):
            manager = ocp.CheckpointManager(directory)
            step = manager.latest_step()
            if step is not None:
                return manager, step
    raise FileNotFoundError(
        f"{path!r}: no {' or '.join(order)} checkpoint found there (is it a run's workdir?)")


def _restore_raw_model(manager: ocp.CheckpointManager, step: int, sharding) -> dict:
    """Restore a checkpoint's model item with the structure it was saved with."""
    path = epath.Path(str(manager.directory)) / str(step) / "model"
    meta = ocp.PyTreeCheckpointHandler().metadata(path)
    tree = getattr(meta, "tree", meta)
    target = jax.tree.map(
        lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=sharding), tree,
        is_leaf=lambda m: hasattr(m, "shape") and hasattr(m, "dtype"))
    restored = manager.restore(
        step, args=ocp.args.Composite(model=ocp.args.StandardRestore(target)))
    return restored["model"]


def _merge_model(fresh: dict, loaded: dict, dont_load: list[str], source: str) -> dict:
    """Loaded values for every fresh leaf, except dont_load ones; strict about the rest."""
    # Rules match a path inside its collection ("head/kernel", as freeze does, which covers
    # the head's batch statistics too) or the full path ("batch_stats/bn_0/mean").
    names = {full: [full, full.split("/", 1)[-1]] for full in param_rules.flatten(fresh)}
    rules = param_rules.compile_rules(dont_load, "init_from.dont_load")
    param_rules.check_rules_used([n for both in names.values() for n in both], dont_load,
                                 "init_from.dont_load")
    loaded_flat = param_rules.flatten(loaded)
    problems, used = [], set()

    def pick(path, leaf):
        name = param_rules.path_str(path)
        if any(param_rules.matches(n, rules) for n in names[name]):
            return leaf
        if name not in loaded_flat:
            problems.append(f"{name}: missing in the checkpoint")
            return leaf
        value = loaded_flat[name]
        used.add(name)
        if tuple(value.shape) != tuple(leaf.shape) or value.dtype != leaf.dtype:
            problems.append(f"{name}: checkpoint has {value.shape} {value.dtype}, "
                            f"model has {leaf.shape} {leaf.dtype}")
            return leaf
        return jax.device_put(value, leaf.sharding)

    merged = jax.tree_util.tree_map_with_path(pick, fresh)
    if problems:
        raise ValueError(
            f"init_from {source}: {len(problems)} variables cannot be loaded; list them in "
            "init_from.dont_load to keep their fresh values:\n  " + "\n  ".join(problems))
    unused = sorted(set(loaded_flat) - used)
    if unused:
        log.info("init_from %s: %d checkpoint variables not used by this model: %s",
                 source, len(unused), ", ".join(unused[:10]))
    return merged


def _check_metadata(own: Mapping[str, Any], theirs: Mapping[str, Any], source: str) -> None:
    for key in sorted(set(own) & set(theirs)):
        # Compare as JSON so tuples and lists (JSON has no tuples) count as equal.
        if json.loads(json.dumps(own[key])) != theirs[key]:
            raise ValueError(
                f"init_from {source}: task metadata {key!r} differs from this run's "
                "(e.g. a different class list or id map); refusing to mix them")


def load_init_from(config: ml_collections.ConfigDict, state: TrainState,
                   metadata: Mapping[str, Any], mesh: Mesh) -> TrainState:
    """Params (and optionally optimizer state) from another run, per ``config.init_from``."""
    init_from = config.init_from
    if init_from.checkpoint not in ("best", "last"):
        raise ValueError(f"init_from.checkpoint={init_from.checkpoint!r}: expected best or last")
    manager, step = _source_manager(init_from.path, init_from.checkpoint)
    source = f"{manager.directory}/{step}"
    trainer = manager.restore(step, args=ocp.args.Composite(trainer=ocp.args.JsonRestore()))
    _check_metadata(metadata, trainer["trainer"].get("task_metadata", {}), source)
    loaded = _restore_raw_model(manager, step, replicated(mesh))
    fresh = {"params": state.params, **state.variables}
    merged = dict(_merge_model(fresh, dict(loaded), list(init_from.dont_load), source))
    state = state.replace(params=merged.pop("params"), variables=merged)
    log.info("init_from: loaded model from %s", source)

    if init_from.opt_state == "fresh":
        return state
    if init_from.opt_state not in ("best", "last"):
        raise ValueError(
            f"init_from.opt_state={init_from.opt_state!r}: expected fresh, best or last")
    opt_manager, opt_step = _source_manager(init_from.path, init_from.opt_state)
    try:
        restored = opt_manager.restore(opt_step, args=ocp.args.Composite(
            opt_state=ocp.args.StandardRestore(_abstract(state.opt_state))))
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"init_from.opt_state={init_from.opt_state!r}: the optimizer state in "
            f"{opt_manager.directory}/{opt_step} does not fit this run's optimizer (different "
            f"optimizer, freeze or lr_mults?): {err}") from err
    log.info("init_from: loaded optimizer state from %s/%d", opt_manager.directory, opt_step)
    return state.replace(opt_state=restored["opt_state"])



def load_model(workdir: str, which: str = "last") -> tuple[dict, int]:
    """A run's saved ``{"params": ..., <collections>}`` and its step, on one device."""
    manager, step = _source_manager(workdir, which)
    model = _restore_raw_model(manager, step, jax.sharding.SingleDeviceSharding(jax.devices()[0]))
    return dict(model), step
