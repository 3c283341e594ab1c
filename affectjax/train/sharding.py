"""Devices, the data-parallel mesh, multi-host start-up and placement of batches and params."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from affectjax.train import params as param_rules

log = logging.getLogger(__name__)

DATA_AXIS = "data"


def maybe_initialize_distributed(config: ml_collections.ConfigDict) -> None:
    """Start jax.distributed when configured; arguments left None are auto-detected by JAX."""
    dist = config.distributed
    if not dist.enabled:
        return
    if jax.distributed.is_initialized():
        return
    kwargs = {
        k: dist[k]
        for k in ("coordinator_address", "num_processes", "process_id")
        if dist[k] is not None
    }
    jax.distributed.initialize(**kwargs)
    log.info("jax.distributed: process %d of %d", jax.process_index(), jax.process_count())


def make_mesh(config: ml_collections.ConfigDict) -> Mesh:
    """A 1-D mesh with a ``data`` axis over all (or ``mesh.num_devices``) devices."""
    devices = jax.devices()
    n = config.mesh.num_devices or len(devices)
    if n > len(devices):
        raise ValueError(f"mesh.num_devices={n} but only {len(devices)} devices are visible")
    if n != len(devices) and jax.process_count() > 1:
        raise ValueError("mesh.num_devices must use every device in a multi-process run")
    # Auto axis: jit propagates shardings (the GSPMD data-parallel step); explicit-sharding mode
    # would make every loss reduction spell out its output sharding.
    return Mesh(np.asarray(devices[:n]), (DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh, stacked: bool = False) -> NamedSharding:
    """Examples split over the data axis; ``stacked`` batches (steps, batch, ...) on axis 1."""
    return NamedSharding(mesh, PartitionSpec(None, DATA_AXIS) if stacked
                         else PartitionSpec(DATA_AXIS))


def param_shardings(mesh: Mesh, tree: Any, rules) -> Any:
    """Shardings for a params-like tree: the first rule whose regex matches wins, else replicate.

    A rule's spec is a tuple with one entry per array axis (a mesh axis name or None; a bare
    name is a one-entry tuple). An axis that the mesh does not divide falls back to replication,
    with a log line, rather than fail.
    """
    size = {name: mesh.shape[name] for name in mesh.axis_names}
    compiled = []
    for pattern, spec in param_rules.rule_pairs(
            rules, "mesh.param_rules", "--config.mesh.param_rules=\"(('.*/kernel', (None, "
            "'data')),)\""):
        # A bare axis name would be split into letters by tuple(); None alone means replicate.
        spec = (spec,) if spec is None or isinstance(spec, str) else tuple(spec)
        unknown = [axis for axis in spec if axis is not None and axis not in size]
        if unknown:
            raise ValueError(f"mesh.param_rules: rule {pattern!r} names mesh axes {unknown}; "
                             f"the mesh has {sorted(size)} (or None for an unsharded axis)")
        compiled.append((param_rules.compile_rules([pattern], "mesh.param_rules")[0], spec))

    def sharding_of(path, leaf):
        name = param_rules.path_str(path)
        for rule, spec in compiled:
            if rule.fullmatch(name):
                shape = np.shape(leaf)
                ok = len(spec) <= len(shape) and all(
                    axis is None or shape[i] % size[axis] == 0 for i, axis in enumerate(spec))
                if ok:
                    return NamedSharding(mesh, PartitionSpec(*spec))
                log.info("param rule %s does not divide %s %s: replicated", spec, name, shape)
                break
        return replicated(mesh)

    return jax.tree_util.tree_map_with_path(sharding_of, tree)


def check_batch_divisible(stream: str, batch: Mapping[str, Any], mesh: Mesh) -> int:
    """Global batch size of a stream's batch; a clear error if the devices do not divide it."""
    sizes = {np.shape(x)[0] for x in jax.tree.leaves(batch)}
    if len(sizes) != 1:
        raise ValueError(f"stream {stream!r}: arrays in one batch have different leading sizes "
                         f"{sorted(sizes)}")
    local = sizes.pop()
    global_size = local * jax.process_count()
    if global_size % mesh.size:
        raise ValueError(
            f"stream {stream!r}: global batch size {global_size} is not divisible by the "
            f"{mesh.size} devices of the mesh; choose a multiple of {mesh.size}")
    return global_size


def put_local_batch(batch: Any, mesh: Mesh, stacked: bool = False) -> Any:
    """Per-process batch (numpy) -> global arrays sharded over the data axis.

    ``stacked``: several steps' batches, one per leading index, sharded on axis 1.
    """
    sharding = batch_sharding(mesh, stacked)
    if jax.process_count() == 1:
        # The local batch is the global one: one device_put for the whole tree is cheaper than
        # a call per leaf (~2x for a batch of small arrays, which is what MF steps wait on).
        return jax.device_put(jax.tree.map(np.asarray, batch), sharding)
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), batch)


def put_global_batch(batch: Any, mesh: Mesh) -> Any:
    """A batch every process holds in full -> global arrays; each process fills its own shards."""
    sharding = batch_sharding(mesh)

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(put, batch)


def to_host(tree: Any) -> Any:
    """Fully replicated numpy copies of (possibly multi-host sharded) arrays."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def onto_mesh(tree: Any, mesh: Mesh) -> Any:
    """Leaves not yet placed on ``mesh`` (created eagerly on one device) -> replicated on it."""

    def place(x):
        s = getattr(x, "sharding", None)
        if isinstance(s, NamedSharding) and s.mesh == mesh:
            return x
        return jax.device_put(np.asarray(x), replicated(mesh))

    return jax.tree.map(place, tree)
