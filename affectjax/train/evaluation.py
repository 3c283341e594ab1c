"""Evaluation: run predict over each eval set on the mesh and reduce on the host."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from affectjax.train import sharding
from affectjax.train.task import Evaluator

log = logging.getLogger(__name__)


def device_part(batch: Mapping[str, Any]) -> dict[str, Any]:
    """The numeric arrays of a batch; strings and objects (ids, paths) stay on the host."""
    return {k: v for k, v in batch.items() if np.asarray(v).dtype.kind in "biuf"}


def pad_rows(x: np.ndarray, size: int) -> np.ndarray:
    """``x`` padded to ``size`` rows (eval batches are padded to one shape per set)."""
    pad = size - x.shape[0]
    if pad == 0:
        return x
    # Repeat the last row: a valid input for any model (zeros might not be, e.g. all-pad ids).
    return np.concatenate([x, np.repeat(x[-1:], pad, axis=0)], axis=0)


def padded_size_for(rows: int, mesh: Mesh) -> int:
    """``rows`` rounded up to a multiple of the mesh's device count (eval batches split evenly)."""
    return -(-rows // mesh.size) * mesh.size


def put_padded_batch(batch: Mapping[str, Any], size: int, mesh: Mesh) -> Any:
    """The numeric part of a host ``batch``, padded to ``size`` rows and placed on ``mesh``."""
    return sharding.put_global_batch(
        {k: pad_rows(np.asarray(v), size) for k, v in device_part(batch).items()}, mesh)


def _batch_rows(batch: Mapping[str, Any], set_name: str) -> int:
    sizes = {np.shape(v)[0] for v in batch.values()}
    if len(sizes) != 1:
        raise ValueError(f"eval set {set_name!r}: a batch mixes leading sizes {sorted(sizes)}")
    return sizes.pop()


def collect_predictions(
    predict: Callable, params, variables, data: Iterable[Mapping[str, Any]], set_name: str,
    mesh: Mesh,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Predictions and the batches they came from, concatenated, padding rows removed.

    Every process iterates the same global batches. Each batch is padded to the first batch's
    size rounded up to the device count, so the whole set compiles one program.
    """
    if iter(data) is data:
        raise TypeError(f"eval set {set_name!r} is a one-shot iterator; return a re-iterable "
                        "(a list, a grain MapDataset, ...) so it can be evaluated repeatedly")
    outputs, batches, padded_size = [], [], None
    for batch in data:
        batch = {k: np.asarray(v) for k, v in batch.items()}
        rows = _batch_rows(batch, set_name)
        if padded_size is None:
            padded_size = padded_size_for(rows, mesh)
        if rows > padded_size:
            raise ValueError(f"eval set {set_name!r}: a batch of {rows} rows follows one of "
                             f"{padded_size}; eval batches must not grow")
        out = predict(params, variables, put_padded_batch(batch, padded_size, mesh))
        out = jax.tree.map(lambda x, n=rows: np.asarray(x)[:n], sharding.to_host(out))
        outputs.append(out)
        batches.append(batch)
    if not outputs:
        raise ValueError(f"eval set {set_name!r} is empty")
    def cat(what: str, key: str, xs: list[np.ndarray]) -> np.ndarray:
        trailing = {np.shape(x)[1:] for x in xs}
        if len(trailing) > 1:
            # Evaluators see one array per key; ragged widths would need a per-batch contract.
            raise ValueError(
                f"eval set {set_name!r}: {what} {key!r} has per-row shapes {sorted(trailing)} "
                "in different batches; eval batches must agree on every dimension but the "
                "first (pad to one width; predict may still pick a narrower width inside)")
        return np.concatenate(xs, axis=0)

    predictions = jax.tree_util.tree_map_with_path(
        lambda path, *xs: cat("prediction", jax.tree_util.keystr(path), list(xs)), *outputs)
    return predictions, {k: cat("input", k, [b[k] for b in batches]) for k in batches[0]}


def evaluate(
    predict: Callable, params, variables, eval_sets: Mapping[str, Iterable],
    evaluators: Mapping[str, Evaluator], mesh: Mesh,
) -> dict[str, float]:
    """``{"<set>/<metric>": value}`` for every eval set and evaluator."""
    metrics: dict[str, float] = {}
    for set_name, data in eval_sets.items():
        predictions, batch = collect_predictions(predict, params, variables, data, set_name, mesh)
        for ev_name, evaluator in evaluators.items():
            try:
                result = evaluator(predictions, batch)
            except Exception as err:
                raise RuntimeError(f"evaluator {ev_name!r} failed on eval set {set_name!r}: "
                                   f"{err}") from err
            metrics.update({f"{set_name}/{k}": float(v) for k, v in result.items()})
    return metrics
