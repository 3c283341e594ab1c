"""2Att-2Mt evaluation on the host: training-label baselines and the per-set metric reductions.

Spec two_att_two_mt.md §7.2 and §8.1–2: numpy float64 over each whole eval set, V/A clipped to
[−1, 1], every dimension reported on its own (never pooled).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from affectjax import metrics


@dataclasses.dataclass(frozen=True)
class Baselines:
    """Predictors computed from training labels only (§8.1–2).

    ``class_va[k]`` is class k's mean (V, A) over annotated training rows; a class without
    annotated rows falls back to the overall mean [our choice]. ``majority`` is the most frequent
    training class.
    """

    mean_va: np.ndarray  # [2]
    class_va: np.ndarray  # [K, 2]
    majority: int

    @classmethod
    def from_training(cls, labels: np.ndarray, va: np.ndarray, num_classes: int) -> Baselines:
        labels = np.asarray(labels, np.int64)
        va = np.asarray(va, np.float64)
        annotated = np.isfinite(va).all(axis=1)
        counts = np.bincount(labels, minlength=num_classes)
        if not annotated.any():
            nan = np.full(2, np.nan)
            return cls(nan, np.tile(nan, (num_classes, 1)), int(counts.argmax()))
        mean = va[annotated].mean(axis=0)
        class_va = np.tile(mean, (num_classes, 1))
        for k in range(num_classes):
            rows = annotated & (labels == k)
            if rows.any():
                class_va[k] = va[rows].mean(axis=0)
        return cls(mean, class_va, int(counts.argmax()))


def _va_report(y: np.ndarray, yhat: np.ndarray, prefix: str, dims=("v", "a"),
               with_pcc: bool = True) -> dict[str, float]:
    """CCC/PCC/RMSE/SAGR per dimension (never pooled, §7.2) and their mean CCC."""
    out = {}
    for d, name in enumerate("va"):
        if name not in dims:
            continue
        t, p = y[:, d], np.clip(yhat[:, d], -1.0, 1.0)
        out[f"{prefix}{name}_ccc"] = metrics.ccc(t, p)
        if with_pcc:
            out[f"{prefix}{name}_pcc"] = metrics.pcc(t, p)
        out[f"{prefix}{name}_rmse"] = metrics.rmse(t, p)
        out[f"{prefix}{name}_sagr"] = metrics.sagr(t, p, zero="sign")
    if len(dims) == 2:
        out[f"{prefix}mean_ccc"] = 0.5 * (out[f"{prefix}v_ccc"] + out[f"{prefix}a_ccc"])
    return out


def make_evaluators(num_classes: int, baselines: Baselines, *, stage: str,
                    dims: tuple[str, ...] = ("v", "a"), tta: bool = False
                    ) -> dict[str, Callable]:
    """The host-side reductions of every eval set (metric keys are distinct across them).

    - ``classification``: accuracy, macro-F1 over all K classes.
    - ``va`` (dimensional stage; rows with annotated V/A only, nothing for a set without):
      ``v_*``, ``a_*``, ``mean_ccc``; with flip-TTA also ``tta_*`` (both rows reported, §7.1).
    - ``baselines``: ``const_*`` (training mean; CCC 0 by definition), ``oracle_*`` (true class
      → its training mean V/A; reference only), ``majority_*`` (majority training class) and,
      in the categorical stage, ``classmean_*`` (the stage-1 classifier's predicted class → its
      training mean V/A, §8.2).
    """

    def classification(pred, batch):
        y, yhat = batch["label"], pred["logits"].argmax(-1)
        out = {"accuracy": metrics.accuracy(y, yhat),
               "macro_f1": metrics.macro_f1(y, yhat, num_classes)}
        if tta:
            y_tta = pred["logits_tta"].argmax(-1)
            out.update(tta_accuracy=metrics.accuracy(y, y_tta),
                       tta_macro_f1=metrics.macro_f1(y, y_tta, num_classes))
        return out

    def va(pred, batch):
        m = batch["va_mask"] > 0
        if not m.any():
            return {}
        y = batch["va"][m].astype(np.float64)
        out = _va_report(y, pred["va"][m].astype(np.float64), "", dims)
        if tta:
            out.update(_va_report(y, pred["va_tta"][m].astype(np.float64), "tta_", dims))
        return out

    def baseline_metrics(pred, batch):
        y_cls = batch["label"]
        majority = np.full_like(y_cls, baselines.majority)
        out = {"majority_accuracy": metrics.accuracy(y_cls, majority),
               "majority_macro_f1": metrics.macro_f1(y_cls, majority, num_classes)}
        m = batch["va_mask"] > 0
        if not m.any() or not np.isfinite(baselines.mean_va).all():
            return out
        y = batch["va"][m].astype(np.float64)
        const = np.broadcast_to(baselines.mean_va, y.shape)
        # PCC of a constant is undefined (NaN), so the constant row reports CCC, RMSE, SAGR.
        out.update(_va_report(y, const, "const_", with_pcc=False))
        out.update(_va_report(y, baselines.class_va[y_cls[m]], "oracle_"))
        if stage == "categorical":
            predicted = pred["logits"].argmax(-1)[m]
            out.update(_va_report(y, baselines.class_va[predicted], "classmean_"))
        return out

    if stage == "categorical":
        # Stage 1's V/A head is frozen at its random init: its V/A numbers would mean nothing.
        return {"classification": classification, "baselines": baseline_metrics}
    return {"classification": classification, "va": va, "baselines": baseline_metrics}

