"""Map torchvision ResNet state dicts (as numpy arrays) to this package's variables and back.

Used for ``model.backbone_init='file'`` (spec two_att_two_mt.md §2, §3.5): the user saves a
torchvision state dict as ``.npz`` (``np.savez(path, **{k: v.numpy() for k, v in sd.items()})``)
on a machine with torch; affectjax reads it with numpy only and never downloads weights. The
names of :mod:`affectjax.models.resnet.resnet` mirror torchvision's one-to-one
[related-code: torchvision]; ``fc.*`` and ``num_batches_tracked`` are dropped (no classifier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

# torchvision module path -> our module path (inside the trunk).
_BLOCK = re.compile(r"layer(\d)\.(\d+)\.(conv\d|bn\d|downsample\.[01])\.(\w+)$")
_BN_LEAVES = {"weight": ("params", "scale"), "bias": ("params", "bias"),
              "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}
_SKIP = re.compile(r"(^fc\.|num_batches_tracked$)")


def _target(key: str) -> tuple[str, tuple[str, ...]] | None:
    """(collection, path) for one torchvision key; None for keys without a counterpart."""
    if _SKIP.search(key):
        return None
    module, leaf = key.rsplit(".", 1)
    if module in ("conv1", "bn1"):
        base, kind = ("stem",), ("conv" if module == "conv1" else "bn")
    else:
        m = _BLOCK.match(key)
        if not m:
            raise ValueError(f"unexpected key in a torchvision ResNet state dict: {key!r}")
        group, block, part, leaf = m.groups()
        if part.startswith("downsample"):
            base, kind = (f"layer{group}_{block}", "downsample"), (
                "conv" if part.endswith("0") else "bn")
        else:
            j = part[-1]
            base, kind = (f"layer{group}_{block}", f"conv{j}"), (
                "conv" if part.startswith("conv") else "bn")
    if kind == "conv":
        if leaf != "weight":
            raise ValueError(f"torchvision ResNet convs have no {leaf!r}: {key!r}")
        return "params", (*base, "conv", "kernel")
    collection, name = _BN_LEAVES[leaf]
    return collection, (*base, "bn", name)


def _set(tree: dict, path: tuple[str, ...], value) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def torchvision_to_flax(state_dict: Mapping[str, Any]) -> dict[str, dict]:
    """``{'params': ..., 'batch_stats': ...}`` of a :class:`ResNet` from a torchvision dict.

    Conv kernels go OIHW → HWIO; BN weight/bias → scale/bias, running stats → batch_stats.
    """
    out: dict[str, dict] = {"params": {}, "batch_stats": {}}
    for key, value in state_dict.items():
        target = _target(key)
        if target is None:
            continue
        collection, path = target
        value = np.asarray(value, np.float32)
        if path[-1] == "kernel":
            value = value.transpose(2, 3, 1, 0)
        _set(out[collection], path, value)
    return out


def flax_to_torchvision(variables: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Inverse of :func:`torchvision_to_flax` (without ``fc``); for export and tests."""
    inverse = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}
    out: dict[str, np.ndarray] = {}

    def module_name(base: tuple[str, ...], kind: str) -> str:
        if base == ("stem",):
            return "conv1" if kind == "conv" else "bn1"
        block, part = base
        prefix = block.replace("_", ".", 1)
        if part == "downsample":
            return f"{prefix}.downsample.{0 if kind == 'conv' else 1}"
        return f"{prefix}.{part if kind == 'conv' else part.replace('conv', 'bn')}"

    def walk(tree, path):
        if isinstance(tree, Mapping):
            for k, v in tree.items():
                walk(v, (*path, k))
            return
        *base, kind, leaf = path
        name = module_name(tuple(base), kind)
        value = np.asarray(tree, np.float32)
        if leaf == "kernel":
            out[f"{name}.weight"] = value.transpose(3, 2, 0, 1)
        else:
            out[f"{name}.{inverse[leaf]}"] = value

    for collection in ("params", "batch_stats"):
        walk(variables.get(collection, {}), ())
    return out


def load_torchvision_npz(path: str) -> dict[str, dict]:
    """Read a torchvision ResNet state dict saved with ``np.savez`` and convert it."""
    with np.load(path) as data:
        return torchvision_to_flax({k: data[k] for k in data.files})


def check_compatible(target: Mapping[str, Any], loaded: Mapping[str, Any]) -> None:
    """Raise naming the first missing, extra or mis-shaped array (e.g. wrong depth or width)."""
    def flat(tree, prefix=""):
        if isinstance(tree, Mapping):
            items = {}
            for k, v in tree.items():
                items.update(flat(v, f"{prefix}{k}/"))
            return items
        return {prefix[:-1]: tuple(np.shape(tree))}

    for collection in ("params", "batch_stats"):
        want, got = flat(target.get(collection, {})), flat(loaded.get(collection, {}))
        missing, extra = sorted(want.keys() - got.keys()), sorted(got.keys() - want.keys())
        if missing or extra:
            raise ValueError(f"backbone weights do not fit the model ({collection}): missing "
                             f"{missing[:3]}, unexpected {extra[:3]} (wrong ResNet depth?)")
        for key, shape in want.items():
            if got[key] != shape:
                raise ValueError(f"backbone weights: {collection}/{key} has shape {got[key]}, "
                                 f"the model needs {shape} (wrong width?)")
