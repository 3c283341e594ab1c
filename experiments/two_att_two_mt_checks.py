"""Spec §11.3/§11.5 acceptance targets of a 2Att-2Mt table, next to the measured values."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence

import numpy as np

from experiments import results

# The model each target was set for: (backbone, width, image size). The summary records its
# own model since 2026-12-07; older summaries do not, and their checks say so.
TINY = ("resnet18", 16, 64)       # §11.3 "tiny CPU run"
DEFAULT = ("resnet18", 64, 96)    # §11.3 synthetic results, ResNet-18 @96
FER2013 = ("resnet18", 64, 64)    # §11.5 FER2013 internal, ResNet-18 @64 from scratch
OPS = {">": operator.gt, "≥": operator.ge}
# (metric key on the test set, label, comparison, threshold).
SYNTHETIC_TARGETS = {
    TINY: (("test/v_ccc", "V CCC", ">", 0.2), ("test/a_ccc", "A CCC", ">", 0.2),
           ("test/accuracy", "accuracy", ">", 0.19)),
    DEFAULT: (("test/v_ccc", "V CCC", "≥", 0.85), ("test/a_ccc", "A CCC", "≥", 0.80),
              ("test/accuracy", "accuracy", "≥", 0.80)),
}
FER2013_TARGETS = (("test/accuracy", "accuracy", "≥", 0.30),
                   ("test/macro_f1", "macro-F1", "≥", 0.20))


def model_record(config) -> dict:
    """What a summary records of its runs' model, for :func:`model_key`."""
    return {"backbone": config.model.backbone, "width": config.model.backbone_width,
            "image_size": config.data.image_size}


def model_key(summary: Mapping) -> tuple | None:
    """(backbone, width, image size) of the table's runs, or None when it was not recorded."""
    m = summary.get("model")
    return (m["backbone"], m["width"], m["image_size"]) if m else None


def describe(key: tuple | None) -> str:
    return "not recorded (see the command)" if key is None else (
        f"{key[0]} width {key[1]} @{key[2]} px")


def _mean(per_seed: Sequence[Mapping[str, float]], key: str) -> tuple[float, int]:
    values = results.seed_values(per_seed, key)
    return (float(np.mean(values)) if values else float("nan")), len(values)


def _target_lines(per_seed, targets) -> list[str]:
    lines = []
    for key, label, op, threshold in targets:
        value, n = _mean(per_seed, key)
        if not n:
            continue
        met = OPS[op](value, threshold)
        lines.append(f"- test {label} {value:.3f} (mean of {n} seed(s)); asked {op} "
                     f"{threshold:.2f}: {'met' if met else 'NOT met'}")
    return lines


def _beats(per_seed, key: str, label: str, base_per_seed, base_key: str, base: str) -> str:
    """'- test <label> a vs <base> b: above | NOT above' (means over seeds), or '' if absent."""
    value, n = _mean(per_seed, key)
    other, m = _mean(base_per_seed, base_key)
    if not n or not m:
        return ""
    return (f"- test {label} {value:.3f} vs {base} {other:.3f}: "
            f"{'above' if value > other else 'NOT above'}")


def checks(summary: Mapping, ref: str | None) -> tuple[str, list[str]]:
    """(the model line, bullets) for the reference row ``ref`` of a synthetic or FER2013 table.

    Synthetic tables get the targets of their model's size (none for another model); FER2013
    gets §11.5's whatever the model, with the model the targets were set for named.
    """
    if ref is None or ref not in summary["rows"]:
        return "", []
    entry = summary["rows"][ref]
    key = model_key(summary)
    lines: list[str] = []
    if summary["data"] == "fer2013":
        lines += _target_lines(entry["final"], FER2013_TARGETS)
        lines.append(_beats(entry["final"], "test/accuracy", "accuracy", entry["final"],
                            "test/majority_accuracy", "the majority class"))
        intro = (f"Spec §11.5 (FER2013 internal hold-out, stage 1) sets its targets for "
                 f"{describe(FER2013)}; this table's model: {describe(key)}.")
    elif summary["data"].startswith("synthetic") and key in SYNTHETIC_TARGETS:
        lines += _target_lines(entry["final"], SYNTHETIC_TARGETS[key])
        lines.append(_beats(entry["final"], "test/mean_ccc", "mean CCC", entry["stage1"],
                            "test/classmean_mean_ccc", "the class-mean predictor"))
        size = "tiny CPU run" if key == TINY else "ResNet-18 @96"
        intro = f"Spec §11.3 ({size}); this table's model: {describe(key)}."
    else:
        return "", []
    lines = [line for line in lines if line]
    intro += f" Measured on the row {entry['description']!r}, mean over its seeds."
    return (intro, lines) if lines else ("", [])
