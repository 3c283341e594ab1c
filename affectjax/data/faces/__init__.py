"""Facial expression / valence-arousal data: readers, decoding, augmentation, generator, splits.

Readers (AffectNet CSV layouts, FER2013 folders and fer2013.csv) return a `FaceSet` of
`FaceRecord`s with canonical class indices (AffectNet order, `labels.AFFECTNET8`). Bad input
raises `FaceDataError` naming the file/row; with `skip_bad=True` it is skipped and reported in
`FaceSet.skipped` (and logged). See specs/two_att_two_mt.md §6.
"""

from affectjax.data.faces.affectnet import (
    AFFECTNET8_TRAIN_COUNTS,
    read_affectnet_compiled_csv,
    read_affectnet_csv,
    read_affectnet_npy,
)
from affectjax.data.faces.augment import AugmentConfig, augment_image, hflip
from affectjax.data.faces.crop import crop_resize, square_crop_box
from affectjax.data.faces.decode import load_image, to_rgb_uint8
from affectjax.data.faces.errors import FaceDataError, SkippedItem
from affectjax.data.faces.fer2013 import (
    FER2013_PUBLICTEST_COUNTS,
    check_counts,
    read_fer2013_csv,
    read_fer2013_folder,
)
from affectjax.data.faces.fixtures import write_affectnet_fixture, write_fer2013_fixture
from affectjax.data.faces.labels import AFFECTNET7, AFFECTNET8, class_index, class_names
from affectjax.data.faces.pipeline import (
    AugmentFaces,
    FaceSource,
    NormalizeImage,
    face_dataset,
    load_face,
)
from affectjax.data.faces.records import FaceRecord, FaceSet
from affectjax.data.faces.splits import affectnet_dev_split, stable_hash, stratified_holdout
from affectjax.data.faces.synth import (
    SPLIT_CODES,
    SPLIT_SIZES,
    FaceGenConfig,
    FaceSample,
    SyntheticFaces,
    generate_arrays,
    generate_face,
)
from affectjax.data.faces.synth_affect import class_from_va

__all__ = [
    "AFFECTNET7",
    "AFFECTNET8",
    "AFFECTNET8_TRAIN_COUNTS",
    "FER2013_PUBLICTEST_COUNTS",
    "SPLIT_CODES",
    "SPLIT_SIZES",
    "AugmentConfig",
    "AugmentFaces",
    "FaceDataError",
    "FaceGenConfig",
    "FaceRecord",
    "FaceSample",
    "FaceSet",
    "FaceSource",
    "NormalizeImage",
    "SkippedItem",
    "SyntheticFaces",
    "affectnet_dev_split",
    "augment_image",
    "check_counts",
    "class_from_va",
    "class_index",
    "class_names",
    "crop_resize",
    "face_dataset",
    "generate_arrays",
    "generate_face",
    "hflip",
    "load_face",
    "load_image",
    "read_affectnet_compiled_csv",
    "read_affectnet_csv",
    "read_affectnet_npy",
    "read_fer2013_csv",
    "read_fer2013_folder",
    "square_crop_box",
    "stable_hash",
    "stratified_holdout",
    "to_rgb_uint8",
    "write_affectnet_fixture",
    "write_fer2013_fixture",
]
