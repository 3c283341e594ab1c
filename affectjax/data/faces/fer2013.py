"""FER2013 readers: the image-folder layout `<split>/<class>/*.jpg` and the original fer2013.csv."""

from __future__ import annotations

import csv
import os
import warnings

import numpy as np

from affectjax.data.faces._vet import check_verify, vet_image_file
from affectjax.data.faces.decode import IMAGE_EXTENSIONS
from affectjax.data.faces.errors import BadItems, FaceDataError
from affectjax.data.faces.labels import (
    AFFECTNET7,
    CLASS_MEAN_VA,
    FER2013_CSV_ORDER,
    class_index,
)
from affectjax.data.faces.records import FaceRecord, FaceSet

FER2013_SIDE = 48
FER2013_CSV_COLUMNS = ("emotion", "pixels", "Usage")
FER2013_USAGES = ("Training", "PublicTest", "PrivateTest")

# Per-class counts of the PublicTest split (= ../shared/data/fer2013/validation), spec §6.2.
FER2013_PUBLICTEST_COUNTS: dict[str, int] = {
    "anger": 467,
    "disgust": 56,
    "fear": 496,
    "happy": 895,
    "neutral": 607,
    "sad": 653,
    "surprise": 415,
}


def _derived(label: int, attach: bool) -> tuple[float, float] | None:
    return CLASS_MEAN_VA[AFFECTNET7[label]] if attach else None


def read_fer2013_folder(
    split_dir: str | os.PathLike,
    *,
    skip_bad: bool = False,
    verify: str = "header",
    attach_derived_va: bool = False,
    expected_counts: dict[str, int] | None = None,
) -> FaceSet:
    """Read one split of the image-folder layout: `<split_dir>/<class>/*.jpg`.

    Class folders are FER2013's (angry, disgust, fear, happy, neutral, sad, surprise) or
    canonical names; labels use the AffectNet-7 indices (spec §6.2). Hidden files (names
    starting with '.') are not data and are counted in `filtered`; any other non-image file,
    unknown class folder or loose file is a bad item. With `expected_counts` (e.g.
    `FER2013_PUBLICTEST_COUNTS`) the per-class counts are asserted.
    """
    check_verify(verify)
    split_dir = os.fspath(split_dir)
    if not os.path.isdir(split_dir):
        raise FaceDataError(split_dir, "FER2013 split folder not found")
    split = os.path.basename(os.path.normpath(split_dir))
    bad = BadItems(skip_bad)
    filtered: dict[str, int] = {}
    records: list[FaceRecord] = []
    for entry in sorted(os.listdir(split_dir)):
        sub = os.path.join(split_dir, entry)
        if entry.startswith("."):
            filtered["hidden file"] = filtered.get("hidden file", 0) + 1
            continue
        if not os.path.isdir(sub):
            bad.bad(sub, "file outside a class folder (expected <split>/<class>/<image>)")
            continue
        try:
            label = class_index(entry)
            if label >= len(AFFECTNET7):
                raise ValueError(f"class {entry!r} is not one of FER2013's 7 classes")
        except ValueError as e:
            bad.bad(sub, f"unknown class folder: {e}")
            continue
        for name in sorted(os.listdir(sub)):
            path = os.path.join(sub, name)
            if name.startswith("."):
                filtered["hidden file"] = filtered.get("hidden file", 0) + 1
                continue
            try:
                ext = os.path.splitext(name)[1].lower()
                if ext not in IMAGE_EXTENSIONS:
                    raise FaceDataError(path, f"not an image file (extension {ext!r})")
                vet_image_file(path, verify)
            except FaceDataError as e:
                bad.from_error(e)
                continue
            records.append(
                FaceRecord(
                    key=f"{entry}/{name}",
                    source="fer2013_folder",
                    label=label,
                    path=path,
                    split=split,
                    derived_va=_derived(label, attach_derived_va),
                )
            )
    out = FaceSet(records, AFFECTNET7, "fer2013_folder", bad.items, filtered)
    if expected_counts is not None:
        check_counts(out, expected_counts, split_dir)
    return out


def check_counts(face_set: FaceSet, expected: dict[str, int], where: str) -> None:
    """Raise `FaceDataError` listing every class whose count differs from `expected`."""
    got = face_set.class_counts()
    diff = {c: (got.get(c, 0), n) for c, n in expected.items() if got.get(c, 0) != n}
    extra = {c: n for c, n in got.items() if c not in expected and n}
    if diff or extra:
        parts = [f"{c}: found {g}, expected {n}" for c, (g, n) in diff.items()]
        parts += [f"{c}: found {n}, expected none" for c, n in extra.items()]
        raise FaceDataError(where, "class counts differ: " + "; ".join(parts))


def read_fer2013_csv(
    csv_path: str | os.PathLike,
    *,
    usage: str | None = None,
    skip_bad: bool = False,
    attach_derived_va: bool = False,
) -> FaceSet:
    """Read the original `fer2013.csv` (emotion, pixels, Usage) into memory.

    `emotion` 0-6 follows FER2013's order (angry, disgust, fear, happy, sad, surprise, neutral)
    and is mapped to AffectNet-7 indices; `pixels` must be 2,304 integers in 0-255 (48x48
    grey). `usage` keeps one of Training / PublicTest / PrivateTest (rows of other usages
    are counted in `filtered`). Pixels land in `FaceSet.images` [N, 48, 48] uint8.
    A CSV without a Usage column (Kaggle's train.csv) is accepted when `usage` is None.
    """
    csv_path = os.fspath(csv_path)
    if usage is not None and usage not in FER2013_USAGES:
        raise ValueError(f"usage must be one of {FER2013_USAGES} or None, got {usage!r}")
    try:
        f = open(csv_path, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise FaceDataError(csv_path, f"cannot open fer2013 CSV ({e.strerror})") from None
    bad = BadItems(skip_bad)
    filtered: dict[str, int] = {}
    records: list[FaceRecord] = []
    pixels: list[np.ndarray] = []
    name = os.path.basename(csv_path)
    with f:
        reader = csv.reader(f)
        header = [c.strip() for c in next(reader, [])]
        missing = [c for c in ("emotion", "pixels") if c not in header]
        if usage is not None and "Usage" not in header:
            missing.append("Usage")
        if missing:
            raise FaceDataError(csv_path, f"missing column(s) {missing}; header is {header}")
        i_emo, i_pix = header.index("emotion"), header.index("pixels")
        i_use = header.index("Usage") if "Usage" in header else None
        for row in reader:
            line = reader.line_num
            where = f"{csv_path} line {line}"
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            try:
                if len(row) < len(header):
                    raise FaceDataError(where, f"row has {len(row)} fields, expected {len(header)}")
                row_usage = row[i_use].strip() if i_use is not None else None
                if usage is not None and row_usage != usage:
                    if row_usage not in FER2013_USAGES:
                        raise FaceDataError(where, f"unknown Usage {row_usage!r}")
                    key = f"Usage {row_usage}"
                    filtered[key] = filtered.get(key, 0) + 1
                    continue
                label = _fer_emotion(row[i_emo], where)
                img = _fer_pixels(row[i_pix], where)
            except FaceDataError as e:
                bad.from_error(e)
                continue
            records.append(
                FaceRecord(
                    key=f"{name}:{line}",
                    source="fer2013_csv",
                    label=label,
                    index=len(pixels),
                    line=line,
                    split=row_usage,
                    derived_va=_derived(label, attach_derived_va),
                )
            )
            pixels.append(img)
    images = np.stack(pixels) if pixels else np.zeros((0, FER2013_SIDE, FER2013_SIDE), np.uint8)
    return FaceSet(records, AFFECTNET7, "fer2013_csv", bad.items, filtered, images)


def _fer_emotion(raw: str, where: str) -> int:
    try:
        code = int(raw.strip())
    except ValueError:
        raise FaceDataError(where, f"emotion {raw!r} is not an integer") from None
    if not 0 <= code < len(FER2013_CSV_ORDER):
        raise FaceDataError(where, f"unknown emotion code {code}; expected 0-6")
    return class_index(FER2013_CSV_ORDER[code])


def _fer_pixels(raw: str, where: str) -> np.ndarray:
    n = FER2013_SIDE * FER2013_SIDE
    try:
        with warnings.catch_warnings():
            # np.fromstring's text mode parses 2,304 numbers in C; it warns (older numpy) or
            # raises (newer) on junk, and either way the length check below names the row.
            warnings.simplefilter("ignore", DeprecationWarning)
            vals = np.fromstring(raw, dtype=np.int64, sep=" ")
    except ValueError:
        vals = None
    if vals is None or vals.size != len(raw.split()):
        raise FaceDataError(where, "pixels: non-integer value(s)")
    if vals.size != n:
        raise FaceDataError(
            where, f"pixels: expected {n} values (48x48 grey, 1 channel), got {vals.size}"
        )
    if vals.min() < 0 or vals.max() > 255:
        raise FaceDataError(
            where, f"pixels: values outside 0-255 (min {vals.min()}, max {vals.max()})"
        )
    return vals.astype(np.uint8).reshape(FER2013_SIDE, FER2013_SIDE)
