"""2Att-2Mt as a Task: the §8 rows, two-stage CE → CE + V + A training, evaluators.

Spec two_att_two_mt.md §4–§8. One Task serves both stages and every §8 row; a stage or a row is
only a config (``config.stage``, ``config.row``, loss weights, model options), so the shared
trainer's ``freeze`` and ``init_from`` do the two-stage part [paper: categorical first, then
dimensional / our choice: this schedule]:

- ``categorical``: L = L_CE, ``freeze=('va_head/.*',)``, selection on dev macro-F1.
- ``dimensional``: L = λ_C L_CE + λ_V L_V + λ_A L_A, initialised from the categorical run's best
  checkpoint (params and BatchNorm statistics), selection on dev mean CCC.

Data (§6) come from ``affectjax.data.faces.sources`` (generated faces, FER2013, AffectNet);
batches carry uint8 images and normalisation runs on the device (4× less host→device traffic).
Evaluators (§7.2, float64 on the host over the whole set, V/A clipped to [−1, 1]): accuracy and
macro-F1; CCC/PCC/RMSE/SAGR for V and A and mean CCC; baselines from training labels (§8.1–2):
constant train mean, class-mean V/A of the oracle (true) class and, in the categorical stage,
of the stage-1 classifier's predicted class, and the majority class.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from affectjax import metrics
from affectjax.data import pipeline
from affectjax.data.faces import AugmentConfig, augment_image
from affectjax.data.faces.pipeline import IMAGENET_MEAN, IMAGENET_STD
from affectjax.data.faces.sources import FaceData, face_data
from affectjax.losses import va as va_losses
from affectjax.models.resnet import check_compatible, load_torchvision_npz
from affectjax.models.two_att_two_mt import TwoAttTwoMt
from affectjax.train.task import DataContext, Task, TrainData

STAGES = ("categorical", "dimensional")


@dataclasses.dataclass(frozen=True)
class Row:
    """One §8 table row: how many stages, and what it changes in the model and the loss."""

    two_stage: bool
    description: str
    model: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    loss: Mapping[str, float] = dataclasses.field(default_factory=dict)
    # Dev metric that selects the checkpoint (dimensional / one-stage runs).
    select: str = "mean_ccc"
    dims: tuple[str, ...] = ("v", "a")  # V/A outputs the row is trained and reported on
    categorical: bool = True  # does the row train the class head (report accuracy/macro-F1)?


_NO_CAT = dict(ce_weight=0.0)
ROWS: dict[str, Row] = {
    "full": Row(True, "2Att-2Mt"),
    "single_task_v": Row(False, "single-task V (MSE, one stage)", dict(coupling="none"),
                         dict(_NO_CAT, v_weight=1.0, a_weight=0.0), "v_ccc", ("v",), False),
    "single_task_a": Row(False, "single-task A (MSE, one stage)", dict(coupling="none"),
                         dict(_NO_CAT, v_weight=0.0, a_weight=1.0), "a_ccc", ("a",), False),
    "joint_va": Row(False, "joint V+A, no categories (one stage)", dict(coupling="none"),
                    dict(_NO_CAT, v_weight=1.0, a_weight=1.0), categorical=False),
    "no_stage1": Row(False, "no stage 1 (stage-2 loss, one stage)"),
    "gap": Row(True, "first level: GAP instead of position attention",
               dict(position_attention="gap")),
    "layer_mean": Row(True, "second level: mean of layer features", dict(layer_agg="mean")),
    "c5_only": Row(True, "second level: C5 only", dict(layer_agg="c5_only")),
    "bilstm_mean": Row(True, "second level: Bi-LSTM + mean (no self-attention)",
                       dict(layer_agg="bilstm_mean")),
    "coupling_none": Row(True, "coupling none", dict(coupling="none")),
    "coupling_probs": Row(True, "coupling probs", dict(coupling="probs")),
}


def selection_metric(config: ml_collections.ConfigDict) -> str:
    """The dev metric early stopping watches for this config's stage and row (spec §5)."""
    if config.stage == "categorical":
        return "dev/macro_f1"
    return f"dev/{ROWS[config.row].select}"


class _Augment:
    """Train-time augmentation of a record's image (spec §5) [related-code: CAGE, EmoNet]."""

    def __init__(self, cfg: AugmentConfig):
        self.cfg = cfg

    def __call__(self, record, rng):
        return {**record, "image": augment_image(record["image"], rng, self.cfg)}


# ---------------------------------------------------------------------------------------------
# Baselines and evaluators (host, numpy float64)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Model functions
# ---------------------------------------------------------------------------------------------


def model_dtype(name: str):
    """'float32', 'bfloat16' or 'auto' (bf16 activations on GPU/TPU, fp32 on CPU; spec §5)."""
    if name == "auto":
        return jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16
    dtypes = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
    if name not in dtypes:
        raise ValueError(f"model.dtype={name!r}: expected auto, float32 or bfloat16")
    return dtypes[name]


def build_model(config: ml_collections.ConfigDict) -> TwoAttTwoMt:
    m = config.model
    return TwoAttTwoMt.from_config(m, num_classes=config.data.num_classes,
                                   dtype=model_dtype(m.dtype))


def preprocess(images, dtype=jnp.float32):
    """uint8 [B, H, W, 3] → ImageNet-normalised activations (on the device; spec §2)."""
    x = images.astype(jnp.float32) * (1.0 / 255.0)
    return ((x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)).astype(dtype)


@dataclasses.dataclass(frozen=True)
class ModelFns:
    """``init`` and ``predict`` of one architecture.

    Memoised per model config: the trainer jits ``task.init`` / ``task.predict`` in every run,
    and the same function objects let JAX reuse their compiled programs across the two stages,
    seeds and rows of one process (a ResNet init compiles for 10–30 s on a small CPU).
    """

    model: TwoAttTwoMt
    init: Callable
    predict: Callable
    attention: Callable


def _backbone_variables(config, model: TwoAttTwoMt):
    m = config.model
    if m.backbone_init == "scratch":
        return None
    if m.backbone_init != "file":
        raise ValueError(f"model.backbone_init={m.backbone_init!r}: expected scratch or file")
    if not m.backbone_weights or not os.path.isfile(m.backbone_weights):
        raise FileNotFoundError(
            f"model.backbone_init='file' needs model.backbone_weights, a torchvision ResNet "
            f"state dict saved as .npz; got {m.backbone_weights!r} (nothing is downloaded)")
    return load_torchvision_npz(m.backbone_weights)


@functools.lru_cache(maxsize=8)
def _model_fns(model_json: str, num_classes: int, flip_tta: bool) -> ModelFns:
    m = ml_collections.ConfigDict(json.loads(model_json))
    config = ml_collections.ConfigDict({"model": m, "data": {"num_classes": num_classes}})
    model = build_model(config)
    dtype = model.dtype
    trunk = _backbone_variables(config, model)

    def init(rng, batch):
        variables = dict(model.init(rng, preprocess(batch["train"]["image"], dtype),
                                    train=False))
        if trunk is not None:
            # Pretrained trunk from a local file [our choice]; heads keep their random init.
            check_compatible({c: variables[c]["backbone"] for c in ("params", "batch_stats")},
                             trunk)
            for c in ("params", "batch_stats"):
                variables[c] = {**variables[c], "backbone": jax.tree.map(jnp.asarray, trunk[c])}
        return variables

    def predict(params, variables, batch):
        x = preprocess(batch["image"], dtype)
        out, _ = model.apply({"params": params, **variables}, x, train=False)
        result = {"logits": out["logits"], "va": out["va"]}
        if flip_tta:
            # Horizontal-flip TTA: average over the image and its mirror [related-code: EmoNet].
            out_f, _ = model.apply({"params": params, **variables}, x[:, :, ::-1], train=False)
            result["va_tta"] = 0.5 * (out["va"] + out_f["va"])
            result["logits_tta"] = 0.5 * (out["logits"] + out_f["logits"])
        return result

    @jax.jit
    def attention(params, variables, images):
        out, aux = model.apply({"params": params, **variables}, preprocess(images, dtype),
                               train=False)
        keep = {k: v for k, v in aux.items() if k.startswith("alpha/") or k == "beta"}
        return {**keep, "logits": out["logits"], "va": out["va"]}

    return ModelFns(model, init, predict, attention)


def model_fns(config: ml_collections.ConfigDict) -> ModelFns:
    return _model_fns(config.model.to_json_best_effort(sort_keys=True),
                      config.data.num_classes, bool(config.eval.flip_tta))


# ---------------------------------------------------------------------------------------------
# The Task
# ---------------------------------------------------------------------------------------------


def _check_config(config) -> None:
    if config.stage not in STAGES:
        raise ValueError(f"stage={config.stage!r}: expected one of {STAGES}")
    if config.row not in ROWS:
        raise ValueError(f"row={config.row!r}: expected one of {sorted(ROWS)}")
    row = ROWS[config.row]
    if config.stage == "categorical" and not row.two_stage:
        raise ValueError(f"row {config.row!r} has a single (dimensional) stage; use "
                         "stage=dimensional")
    if (config.stage == "dimensional" and row.two_stage and not config.init_from.path):
        raise ValueError(
            f"stage=dimensional of row {config.row!r} starts from a categorical run: pass "
            "--config.init_from.path=<categorical workdir> (ablation=no_stage1 is the "
            "one-stage model)")


def _check_data(config, data: FaceData) -> None:
    needs_va = config.stage == "dimensional"
    if needs_va and not data.has_va:
        raise ValueError(f"data.source={data.source!r} has no valence/arousal labels: only "
                         "stage=categorical runs on it (FER2013's derived V/A are never labels)")
    unknown = set(config.train.final_only_eval_sets) - set(data.eval_sets)
    if unknown:
        raise ValueError(f"train.final_only_eval_sets names {sorted(unknown)}; this data "
                         f"source has eval sets {sorted(data.eval_sets)}")


def build(config: ml_collections.ConfigDict) -> Task:
    """The 2Att-2Mt Task of ``config`` (see experiments/configs/two_att_two_mt.py)."""
    _check_config(config)
    data = face_data(config)
    _check_data(config, data)
    row = ROWS[config.row]
    num_classes = config.data.num_classes
    if len(data.classes) != num_classes:
        raise ValueError(f"data.num_classes={num_classes}, but the data has "
                         f"{len(data.classes)} classes {data.classes}")
    fns = model_fns(config)
    model, dtype = fns.model, fns.model.dtype
    lc = config.loss
    counts = np.bincount(data.train_labels, minlength=num_classes).astype(np.float64)
    if lc.class_weights == "inv_freq":
        # ω_c = (1/n_c) / Σ_k 1/n_k over the classes present [related-code: CAGE].
        inv = np.where(counts > 0, 1.0 / np.maximum(counts, 1.0), 0.0)
        class_w = jnp.asarray(inv / inv.sum(), jnp.float32)
    elif lc.class_weights == "none":
        class_w = None
    else:
        raise ValueError(f"loss.class_weights={lc.class_weights!r}: expected none or inv_freq")
    if lc.reg not in va_losses.REG_LOSSES:
        raise ValueError(f"loss.reg={lc.reg!r}: expected one of {va_losses.REG_LOSSES}")
    weights = {"ce": float(lc.ce_weight), "v": float(lc.v_weight), "a": float(lc.a_weight)}
    if not any(weights.values()):
        raise ValueError("loss.ce_weight, loss.v_weight and loss.a_weight are all 0")

    def loss(params, variables, batch, rng, step):
        del step
        b = batch["train"]
        (out, _), updates = model.apply(
            {"params": params, **variables}, preprocess(b["image"], dtype), train=True,
            rngs={"dropout": rng}, mutable=["batch_stats"])
        logits, labels = out["logits"], b["label"]
        ce_rows = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
        if class_w is None:
            ce = jnp.mean(ce_rows)
        else:
            w = class_w[labels]
            ce = jnp.sum(w * ce_rows) / jnp.maximum(jnp.sum(w), 1e-12)
        reg = va_losses.regression_loss(out["va"], b["va"], b["va_mask"], lc.reg, lc.kappa)
        terms = {"ce": ce, "v": reg[0], "a": reg[1]}
        # Terms with weight 0 stay out of the graph (logged only), so they add no gradient.
        total = sum(weights[k] * terms[k] for k in terms if weights[k])
        logs = {f"loss_{k}": jax.lax.stop_gradient(v) for k, v in terms.items()}
        logs["accuracy"] = jnp.mean(jnp.argmax(logits, -1) == labels)
        return total, {**logs, "variables": dict(updates)}

    d = config.data
    augment = _Augment(AugmentConfig()) if d.augment else None

    def train_data(ctx: DataContext) -> TrainData:
        stream = pipeline.train_stream(
            data.train, global_batch_size=d.batch_size, ctx=ctx, seed=ctx.seed,
            transform=augment,
            # Class-balanced sampling with replacement in both stages (§5) [our choice].
            balance_labels=data.train_labels if d.balanced else None,
            num_threads=d.num_threads, num_workers=d.num_workers)
        # An epoch is len(train) samples, also under balanced sampling (§5).
        return TrainData({"train": stream},
                         steps_per_epoch=pipeline.steps_per_epoch(len(data.train),
                                                                  d.batch_size))

    def eval_data(ctx: DataContext):
        del ctx
        return {name: pipeline.eval_batches(src, config.eval.batch_size)
                for name, src in data.eval_sets.items()}

    baselines = Baselines.from_training(data.train_labels, data.train_va, num_classes)
    evaluators = make_evaluators(num_classes, baselines, stage=config.stage, dims=row.dims,
                                 tta=bool(config.eval.flip_tta))

    def finalize(workdir: str, results: Mapping[str, Any]) -> None:
        # test.json: every §7 metric of every eval set at the end of the stage (§5 outputs).
        by_set: dict[str, dict[str, float]] = {}
        for key, value in results.get("final", {}).items():
            name, _, metric = key.partition("/")
            by_set.setdefault(name, {})[metric] = value
        with open(os.path.join(workdir, "test.json"), "w") as f:
            json.dump({"stage": config.stage, "row": config.row, "step": results.get("step"),
                       "protocol": data.protocol, "metrics": by_set}, f, indent=2,
                      sort_keys=True)

    return Task(
        name="two_att_two_mt", init=fns.init, loss=loss, predict=fns.predict,
        train_data=train_data, eval_data=eval_data, evaluators=evaluators,
        # Checked for equality when stage 2 loads stage 1 (spec §5: class list, normalisation).
        metadata={"classes": list(data.classes),
                  "normalisation": {"mean": IMAGENET_MEAN.tolist(),
                                    "std": IMAGENET_STD.tolist()}},
        finalize=finalize)


def attention_maps(config: ml_collections.ConfigDict, params, variables, images: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """α per tap [N, H, W], β [N, T] (when the row has them), logits and V/A of uint8 faces."""
    out = model_fns(config).attention(params, variables, jnp.asarray(images))
    return {k: np.asarray(v) for k, v in out.items()}
