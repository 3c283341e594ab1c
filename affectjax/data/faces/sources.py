"""Face data for a 2Att-2Mt config: generated, FER2013 or AffectNet splits as random-access sets.

Spec two_att_two_mt.md §6. ``face_data(config)`` returns a ``FaceData``: the training set, the
eval sets (dev for selection; test, shifted and the synthetic → real check only at the end) and
the protocol line the results table prints. Generated splits live in memory (tiny) or in a
uint8 ``.npy`` cache keyed by every generator knob; FER2013 is decoded once into memory;
AffectNet is decoded (and cropped) per access.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Mapping
from typing import Any

import ml_collections
import numpy as np

from affectjax.data.faces import (
    FER2013_PUBLICTEST_COUNTS,
    FaceGenConfig,
    FaceSet,
    affectnet_dev_split,
    class_names,
    generate_arrays,
    load_face,
    read_affectnet_compiled_csv,
    read_affectnet_csv,
    read_affectnet_npy,
    read_fer2013_csv,
    read_fer2013_folder,
    stratified_holdout,
)
from affectjax.data.faces.synth import SPLIT_SIZES

log = logging.getLogger(__name__)

SOURCES = ("synthetic_faces", "fer2013", "affectnet")
# Bump when the cached arrays' content or layout changes, so stale caches are not reused.
_CACHE_VERSION = "1"

class ArrayFaces:
    """Random-access faces from arrays: image uint8 [N, S, S, 3], label, va [N, 2], va_mask.

    Arrays may be memory-mapped ``.npy`` files (``files``); then pickling (grain worker
    processes) sends the file names, not gigabytes of pixels.
    """

    def __init__(self, image, label, va, va_mask, files: Mapping[str, str] | None = None):
        self.image, self.label, self.va, self.va_mask = image, label, va, va_mask
        self.files = dict(files) if files else None

    @classmethod
    def from_files(cls, files: Mapping[str, str]) -> ArrayFaces:
        arrays = {k: np.load(path, mmap_mode="r") for k, path in files.items()}
        return cls(arrays["image"], np.asarray(arrays["label"]), np.asarray(arrays["va"]),
                   np.asarray(arrays["va_mask"]), files)

    def __getstate__(self):
        if self.files:
            return {"files": self.files}
        return self.__dict__

    def __setstate__(self, state):
        if set(state) == {"files"}:
            self.__dict__.update(ArrayFaces.from_files(state["files"]).__dict__)
        else:
            self.__dict__.update(state)

    def __len__(self) -> int:
        return len(self.label)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return {"image": np.array(self.image[i]), "label": np.int32(self.label[i]),
                "va": np.array(self.va[i], np.float32), "va_mask": np.float32(self.va_mask[i])}


class FileFaces:
    """Random-access faces decoded (and cropped) from files per access: AffectNet scale."""

    def __init__(self, face_set: FaceSet, image_size: int):
        self.face_set, self.image_size = face_set, image_size
        self.label = face_set.labels
        va = face_set.va
        self.va_mask = face_set.va_mask
        self.va = np.nan_to_num(va, nan=0.0).astype(np.float32)

    def __len__(self) -> int:
        return len(self.face_set)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return {"image": load_face(self.face_set, self.face_set.records[i], self.image_size),
                "label": np.int32(self.label[i]), "va": self.va[i],
                "va_mask": np.float32(self.va_mask[i])}


def faces_from_set(face_set: FaceSet, image_size: int) -> ArrayFaces:
    """Decode a (small) FaceSet once into memory: FER2013's 3,589 faces take seconds."""
    images = np.stack([load_face(face_set, r, image_size) for r in face_set.records])
    va = np.nan_to_num(face_set.va, nan=0.0).astype(np.float32)
    return ArrayFaces(images, face_set.labels, va, face_set.va_mask)


@dataclasses.dataclass
class FaceData:
    """Everything the Task needs from a data source.

    ``train_va`` is NaN where V/A are not annotated; ``final_only`` names the eval sets that
    are evaluated only at the end (never for selection).
    """

    source: str
    classes: tuple[str, ...]
    train: Any
    train_labels: np.ndarray
    train_va: np.ndarray
    eval_sets: dict[str, Any]
    final_only: tuple[str, ...]
    protocol: str

    @property
    def has_va(self) -> bool:
        return bool(np.isfinite(self.train_va).all(axis=1).any())


def _gen_config(config: ml_collections.ConfigDict) -> FaceGenConfig:
    d, s = config.data, config.data.synth
    return FaceGenConfig(seed=s.seed, image_size=d.image_size, num_classes=d.num_classes,
                         prior=s.prior, va_noise=s.va_noise, label_noise=s.label_noise,
                         expression_strength=s.expression_strength,
                         render_scale=s.render_scale, sizes=s.sizes)


def _generate(gen: FaceGenConfig, split: str, n: int, workers: int) -> dict[str, np.ndarray]:
    """Render n faces of a split; several processes for large splits (≈3 ms a face at 96 px)."""
    chunk = 1000
    if n < 4 * chunk or workers <= 1:
        return generate_arrays(gen, split, range(n))
    starts = list(range(0, n, chunk))
    # spawn, not fork: forking a process that has started JAX's threads can deadlock.
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        parts = list(pool.map(generate_arrays, [gen] * len(starts), [split] * len(starts),
                              [range(s, min(s + chunk, n)) for s in starts]))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def synthetic_split(gen: FaceGenConfig, split: str, n: int, *, cache: str, cache_dir: str,
                    workers: int) -> ArrayFaces:
    """One generated split as ArrayFaces, from memory or a disk cache keyed by every knob."""
    if cache not in ("memory", "disk"):
        raise ValueError(f"data.cache={cache!r}: expected memory or disk")
    if cache == "memory":
        arrays = _generate(gen, split, n, workers)
        return ArrayFaces(arrays["image"], arrays["label"], arrays["va"],
                          np.ones(n, np.float32))
    key = json.dumps({**dataclasses.asdict(gen), "split": split, "n": n,
                      "version": _CACHE_VERSION}, sort_keys=True)
    digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    folder = os.path.join(os.path.expanduser(cache_dir or "~/.cache/affectjax/faces"),
                          f"{split}_{n}_{gen.image_size}px_{digest}")
    files = {k: os.path.join(folder, f"{k}.npy") for k in ("image", "label", "va", "va_mask")}
    if not all(os.path.exists(p) for p in files.values()):
        log.info("generating %d %s faces at %d px into %s", n, split, gen.image_size, folder)
        arrays = _generate(gen, split, n, workers)
        arrays["va_mask"] = np.ones(n, np.float32)
        os.makedirs(folder, exist_ok=True)
        for k, path in files.items():
            tmp = f"{path}.{os.getpid()}.tmp.npy"
            np.save(tmp, arrays[k])
            os.replace(tmp, path)  # atomic: a crashed run never leaves a half-written cache
        with open(os.path.join(folder, "config.json"), "w") as f:
            f.write(key)
    return ArrayFaces.from_files(files)


def _synthetic(config) -> FaceData:
    d, s = config.data, config.data.synth
    gen = _gen_config(config)
    preset = SPLIT_SIZES[s.sizes]
    counts = {"train": s.num_train, "dev": s.num_dev, "test": s.num_test,
              "shifted": s.num_shifted}
    workers = d.gen_workers or os.cpu_count() or 1
    splits = {name: synthetic_split(gen, name, n or preset[name], cache=d.cache,
                                    cache_dir=d.cache_dir, workers=workers)
              for name, n in counts.items()}
    train = splits.pop("train")
    eval_sets = dict(splits)
    final_only = ("test", "shifted")
    if d.real_check:
        # Synthetic → real check (spec §6.2, report only): FER2013 faces, classes only.
        fer = read_fer2013_folder(d.real_check)
        eval_sets["fer2013"] = faces_from_set(fer, d.image_size)
        final_only += ("fer2013",)
    return FaceData(
        "synthetic_faces", class_names(d.num_classes), train, train.label,
        np.asarray(train.va, np.float64), eval_sets, final_only,
        f"procedural faces (seed {s.seed}, {s.sizes} sizes, {d.image_size} px, prior "
        f"{s.prior}); train on train, select on dev, report test and shifted")


def _fer2013(config) -> FaceData:
    d, f = config.data, config.data.fer2013
    if d.num_classes != 7:
        raise ValueError(f"data.source='fer2013' has 7 classes; got data.num_classes="
                         f"{d.num_classes}")
    csv_path = os.path.join(d.root, "fer2013.csv")
    folder = os.path.join(d.root, f.split)
    if os.path.isdir(folder):
        expected = FER2013_PUBLICTEST_COUNTS if f.split == "validation" else None
        face_set = read_fer2013_folder(folder, expected_counts=expected)
    elif os.path.isfile(csv_path):
        face_set = read_fer2013_csv(csv_path, usage=f.usage)
    else:
        raise FileNotFoundError(
            f"data.root={d.root!r}: neither {folder} nor {csv_path} exists (FER2013 layouts: "
            "<root>/<split>/<class>/*.jpg or <root>/fer2013.csv)")
    # 80/20 stratified by hash (§7.1); dev for selection is carved from the 80 % [our choice].
    train_idx, test_idx = stratified_holdout(face_set, f.holdout)
    train_set = face_set.subset(train_idx)
    fit_idx, dev_idx = stratified_holdout(train_set, f.dev_fraction, salt="dev")
    fit = faces_from_set(train_set.subset(fit_idx), d.image_size)
    return FaceData(
        "fer2013", face_set.classes, fit, fit.label, np.full((len(fit), 2), np.nan),
        {"dev": faces_from_set(train_set.subset(dev_idx), d.image_size),
         "test": faces_from_set(face_set.subset(test_idx), d.image_size)}, ("test",),
        f"FER2013 {face_set.source} ({len(face_set)} faces), 48 px grey → {d.image_size} px "
        f"RGB; {1 - f.holdout:.0%}/{f.holdout:.0%} stratified hash split (test = hold-out), "
        f"dev = {f.dev_fraction:.0%} of the rest; classes only (no V/A)")


def _affectnet_sets(config) -> tuple[FaceSet, FaceSet, str]:
    d, a = config.data, config.data.affectnet
    common = dict(num_classes=d.num_classes, skip_bad=a.skip_bad, verify=a.verify)
    if a.layout == "original":
        lists = os.path.join(d.root, "Manually_Annotated_file_lists")
        images = os.path.join(d.root, "Manually_Annotated_Images")
        train = read_affectnet_csv(os.path.join(lists, "training.csv"), images,
                                   crop_margin=a.crop_margin, **common)
        test = read_affectnet_csv(os.path.join(lists, "validation.csv"), images,
                                  crop_margin=a.crop_margin, **common)
        crop = f"face-box square crop, margin {a.crop_margin}, zero padding"
    elif a.layout == "npy":
        train = read_affectnet_npy(os.path.join(d.root, "train_set"), **common)
        test = read_affectnet_npy(os.path.join(d.root, "val_set"), **common)
        crop = "pre-cropped release, whole image"
    elif a.layout == "compiled":
        train = read_affectnet_compiled_csv(os.path.join(d.root, a.train_csv),
                                            os.path.join(d.root, a.train_images), **common)
        test = read_affectnet_compiled_csv(os.path.join(d.root, a.test_csv),
                                           os.path.join(d.root, a.test_images), **common)
        crop = "pre-cropped images, whole image"
    else:
        raise ValueError(f"data.affectnet.layout={a.layout!r}: expected original, npy or "
                         "compiled")
    for s in (train, test):
        if s.skipped or s.filtered:
            log.info("%s", s.report())
    return train, test, crop


def _affectnet(config) -> FaceData:
    d, a = config.data, config.data.affectnet
    train_all, test, crop = _affectnet_sets(config)
    fit_idx, dev_idx = affectnet_dev_split(train_all, a.dev_per_mille)
    if len(dev_idx) == 0:
        raise ValueError(f"AffectNet dev split is empty ({len(train_all)} training rows, "
                         f"dev_per_mille={a.dev_per_mille}); the data set is too small")
    fit = FileFaces(train_all.subset(fit_idx), d.image_size)
    return FaceData(
        "affectnet", train_all.classes, fit, fit.label,
        np.where(fit.va_mask[:, None] > 0, fit.va, np.nan).astype(np.float64),
        {"dev": FileFaces(train_all.subset(dev_idx), d.image_size),
         "test": FileFaces(test, d.image_size)}, ("test",),
        f"AffectNet-{d.num_classes} ({a.layout} layout): train minus a class-balanced "
        f"{a.dev_per_mille / 10:g} % hash dev split; test = the whole official validation set "
        f"({len(test)} faces); {crop}; resized to {d.image_size} px; V/A clipped to [−1, 1]")


_DATA_CACHE: dict[str, FaceData] = {}


def face_data(config: ml_collections.ConfigDict) -> FaceData:
    """The config's data (memoised per data config, so launchers and both stages share it)."""
    key = config.data.to_json_best_effort(sort_keys=True)
    if key not in _DATA_CACHE:
        builders = {"synthetic_faces": _synthetic, "fer2013": _fer2013, "affectnet": _affectnet}
        if config.data.source not in builders:
            raise ValueError(f"data.source={config.data.source!r}: expected one of {SOURCES}")
        if config.data.source != "synthetic_faces" and not config.data.root:
            raise ValueError(f"data.source={config.data.source!r} needs data.root")
        _DATA_CACHE.clear()  # one data set at a time: they can be gigabytes
        _DATA_CACHE[key] = builders[config.data.source](config)
    return _DATA_CACHE[key]

