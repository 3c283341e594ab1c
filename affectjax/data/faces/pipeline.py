"""Grain glue for faces: a random-access source over a FaceSet and the map transforms."""

from __future__ import annotations

import dataclasses
from typing import Any

import grain
import numpy as np
from PIL import Image

from affectjax.data.faces.augment import DEFAULT_AUGMENT, AugmentConfig, augment_image
from affectjax.data.faces.crop import crop_resize, crop_resize_pil
from affectjax.data.faces.decode import open_image, to_rgb_uint8
from affectjax.data.faces.errors import FaceDataError
from affectjax.data.faces.records import FaceRecord, FaceSet

# ImageNet statistics (spec §2 input normalisation) [related-code: CAGE].
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def load_face(face_set: FaceSet, record: FaceRecord, image_size: int) -> np.ndarray:
    """Pixels of one record: decode (or take from memory), crop, resize -> uint8 [S, S, 3]."""
    if record.index is not None:
        if face_set.images is None:
            raise FaceDataError(
                record.where, "record points into memory but FaceSet.images is None"
            )
        return crop_resize(face_set.images[record.index], record.crop_box, image_size, record.where)
    if record.path is None:
        raise FaceDataError(record.key, "record has neither a path nor an in-memory index")
    with open_image(record.path) as im:
        out: Image.Image = crop_resize_pil(im, record.crop_box, image_size, record.where)
        return to_rgb_uint8(np.array(out), record.path)


@dataclasses.dataclass
class FaceSource:
    """grain random-access source: element i of a FaceSet as a dict of numpy arrays.

    Keys: image uint8 [S, S, 3]; label int32; va float32 [2] (0 where not annotated);
    va_mask float32 (1 = annotated); index int64. With derived V/A attached (FER2013),
    also derived_va float32 [2] — a code-path aid, never a V/A label (spec §6.2).
    """

    face_set: FaceSet
    image_size: int

    def __len__(self) -> int:
        return len(self.face_set)

    def __getitem__(self, i: int) -> dict[str, Any]:
        r = self.face_set.records[i]
        out = {
            "image": load_face(self.face_set, r, self.image_size),
            "label": np.int32(r.label),
            "va": np.array([r.valence, r.arousal] if r.has_va else [0.0, 0.0], np.float32),
            "va_mask": np.float32(r.has_va),
            "index": np.int64(i),
        }
        if r.derived_va is not None:
            out["derived_va"] = np.array(r.derived_va, np.float32)
        return out


class AugmentFaces(grain.transforms.RandomMap):
    """grain transform applying `augment_image` to element['image'] when `train`.

    At evaluation (`train=False`) it returns the element unchanged (spec §5: off at eval).
    """

    def __init__(self, config: AugmentConfig = DEFAULT_AUGMENT, *, train: bool = True):
        self.config = config
        self.train = train

    def random_map(self, element: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        if not self.train:
            return element
        return {**element, "image": augment_image(element["image"], rng, self.config)}


class NormalizeImage(grain.transforms.Map):
    """uint8 image -> float32 (x / 255 - ImageNet mean) / std, under key 'image'."""

    def map(self, element: dict[str, Any]) -> dict[str, Any]:
        x = element["image"].astype(np.float32) * (1.0 / 255.0)
        return {**element, "image": (x - IMAGENET_MEAN) / IMAGENET_STD}


def face_dataset(
    source: Any,
    *,
    train: bool,
    seed: int,
    augment: AugmentConfig | None = DEFAULT_AUGMENT,
    normalize: bool = True,
) -> grain.MapDataset:
    """MapDataset over `source` with augmentation (train only) and normalisation.

    Sampling (class balance, shuffling, batching, sharding) is the task's business.
    """
    ds = grain.MapDataset.source(source)
    if augment is not None:
        ds = ds.random_map(AugmentFaces(augment, train=train), seed=seed)
    if normalize:
        ds = ds.map(NormalizeImage())
    return ds
