"""AffectNet readers: the original annotation CSVs, the compiled CSV and the 224-px npy layout."""

from __future__ import annotations

import collections
import csv
import os
from collections.abc import Callable, Sequence

import numpy as np

from affectjax.data.faces._vet import check_verify, parse_va, vet_image_file
from affectjax.data.faces.crop import check_face_box, square_crop_box
from affectjax.data.faces.decode import IMAGE_EXTENSIONS
from affectjax.data.faces.errors import BadItems, FaceDataError
from affectjax.data.faces.labels import AFFECTNET8, AFFECTNET_NON_EXPRESSION, class_names
from affectjax.data.faces.records import FaceRecord, FaceSet

# Column order of the original release's training.csv / validation.csv (spec §6.1) [paper dataset].
AFFECTNET_COLUMNS: tuple[str, ...] = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
COMPILED_COLUMNS: tuple[str, ...] = ("number", "exp", "val", "aro")

# Train counts per class, for checks and the 'affectnet' prior (spec §6.1, sum 287,651).
AFFECTNET8_TRAIN_COUNTS: dict[str, int] = {
    "neutral": 74_874,
    "happy": 134_415,
    "sad": 25_459,
    "surprise": 14_090,
    "fear": 6_378,
    "disgust": 3_803,
    "anger": 24_882,
    "contempt": 3_750,
}


class _LabelFilter:
    """Maps an `expression` code to a kept label or a counted filter reason (spec §6.1)."""

    def __init__(self, num_classes: int):
        self.classes = class_names(num_classes)
        self.filtered: collections.Counter[str] = collections.Counter()

    def __call__(self, raw: str, where: str) -> int | None:
        try:
            code = int(str(raw).strip())
        except ValueError:
            raise FaceDataError(where, f"expression {raw!r} is not an integer code") from None
        if 0 <= code < len(self.classes):
            return code
        if code == 7:  # AffectNet-7 drops Contempt by definition, not because the row is bad
            self.filtered["expression 7 (contempt) under AffectNet-7"] += 1
            return None
        if code in AFFECTNET_NON_EXPRESSION:
            self.filtered[f"expression {code} ({AFFECTNET_NON_EXPRESSION[code]})"] += 1
            return None
        raise FaceDataError(where, f"unknown expression code {code}; expected 0-10")


def _open_csv(csv_path: str, expected: Sequence[str]) -> tuple[csv.reader, object, dict[str, int]]:
    """Open a CSV and map expected column names to positions (header-less files: in order).

    [our choice] Some AffectNet copies ship validation.csv without its header row; a first row
    whose width matches and whose names do not is read as data in the documented order.
    """
    try:
        f = open(csv_path, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise FaceDataError(csv_path, f"cannot open annotation CSV ({e.strerror})") from None
    reader = csv.reader(f)
    try:
        first = next(reader)
    except StopIteration:
        f.close()
        raise FaceDataError(csv_path, "empty annotation CSV (no header)") from None
    names = [c.strip() for c in first]
    if all(c in names for c in expected):
        return reader, f, {c: names.index(c) for c in expected}
    looks_like_data = len(names) == len(expected) and not any(c in names for c in expected)
    if looks_like_data:
        f.seek(0)
        reader = csv.reader(f)
        return reader, f, {c: i for i, c in enumerate(expected)}
    f.close()
    missing = [c for c in expected if c not in names]
    raise FaceDataError(csv_path, f"missing column(s) {missing}; header is {names}")


def _read_csv_records(
    csv_path: str,
    expected: Sequence[str],
    bad: BadItems,
    parse_row: Callable[[list[str], dict[str, int], str, int], FaceRecord | None],
) -> list[FaceRecord]:
    """Parse every data row of an annotation CSV with `parse_row(row, cols, where, line)`.

    Blank lines are not records; `parse_row` returns None for a row its label filter drops, and
    a `FaceDataError` it raises goes to `bad` (which raises it unless skipping), always located
    at the CSV line so a bad image names the row that points to it.
    """
    records: list[FaceRecord] = []
    reader, f, cols = _open_csv(csv_path, expected)
    with f:
        for row in reader:
            line = reader.line_num
            where = f"{csv_path} line {line}"
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line, typically the file's trailing newline: not a record
            try:
                rec = parse_row(row, cols, where, line)
            except FaceDataError as e:
                bad.from_error(e if e.where.startswith(csv_path) else FaceDataError(where, str(e)))
                continue
            if rec is not None:
                records.append(rec)
    return records


def _field(row: list[str], cols: dict[str, int], name: str, where: str) -> str:
    i = cols[name]
    if i >= len(row):
        raise FaceDataError(where, f"row has {len(row)} fields, column {name!r} missing")
    return row[i]


def _parse_landmarks(raw: str, where: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(t) for t in raw.replace(",", ";").split(";") if t.strip())
    except ValueError:
        raise FaceDataError(where, "facial_landmarks: non-numeric value") from None
    if len(vals) != 136:
        raise FaceDataError(
            where, f"facial_landmarks: expected 136 values (68 points), got {len(vals)}"
        )
    return vals


def read_affectnet_csv(
    csv_path: str | os.PathLike,
    image_root: str | os.PathLike,
    *,
    num_classes: int = 8,
    crop_margin: float = 0.1,
    skip_bad: bool = False,
    verify: str = "header",
    parse_landmarks: bool = False,
    split: str | None = None,
) -> FaceSet:
    """Read an original-release AffectNet annotation CSV (training.csv / validation.csv).

    Keeps expression 0-7 (`num_classes=8`) or 0-6 (7); codes 8-10 (and 7 under AffectNet-7)
    are filtered and counted in `FaceSet.filtered` (spec §6.1). V/A of -2 are masked (None).
    Each record gets the square crop box of `square_crop_box(face_box, crop_margin)`.

    Args:
      csv_path: the annotation CSV.
      image_root: folder that `subDirectory_filePath` is relative to
        (`.../Manually_Annotated_Images`).
      verify: 'none' (file exists), 'header' (default: readable image header with 1/3
        channels and a crop box that overlaps it) or 'full' (decode all pixels).
      skip_bad: skip bad rows (recorded in `FaceSet.skipped` and logged) instead of raising.
      split: stored on each record; defaults to the CSV's file stem.
    """
    check_verify(verify)
    csv_path, image_root = os.fspath(csv_path), os.fspath(image_root)
    split = split or os.path.splitext(os.path.basename(csv_path))[0]
    label_of = _LabelFilter(num_classes)
    bad = BadItems(skip_bad)

    def parse(row, cols, where, line):
        return _affectnet_row(row, cols, where, line, label_of, image_root, crop_margin, verify,
                              parse_landmarks, split)

    records = _read_csv_records(csv_path, AFFECTNET_COLUMNS, bad, parse)
    return FaceSet(records, label_of.classes, "affectnet", bad.items, dict(label_of.filtered))


def _affectnet_row(
    row, cols, where, line, label_of, image_root, crop_margin, verify, parse_landmarks, split
) -> FaceRecord | None:
    if len(row) < max(cols.values()) + 1:
        raise FaceDataError(where, f"row has {len(row)} fields, expected {len(cols)}")
    label = label_of(_field(row, cols, "expression", where), where)
    if label is None:
        return None
    rel = _field(row, cols, "subDirectory_filePath", where).strip()
    if not rel:
        raise FaceDataError(where, "empty subDirectory_filePath")
    valence, arousal = parse_va(
        _field(row, cols, "valence", where), _field(row, cols, "arousal", where), where
    )
    box_raw = [
        _field(row, cols, c, where) for c in ("face_x", "face_y", "face_width", "face_height")
    ]
    face_box = check_face_box(box_raw, where)
    crop_box = square_crop_box(face_box, crop_margin)
    landmarks = (
        _parse_landmarks(_field(row, cols, "facial_landmarks", where), where)
        if parse_landmarks
        else None
    )
    path = os.path.join(image_root, rel)
    vet_image_file(path, verify, crop_box)
    return FaceRecord(
        key=rel.replace(os.sep, "/"),
        source="affectnet",
        label=label,
        valence=valence,
        arousal=arousal,
        path=path,
        face_box=face_box,
        crop_box=crop_box,
        line=line,
        split=split,
        landmarks=landmarks,
    )


def read_affectnet_compiled_csv(
    csv_path: str | os.PathLike,
    image_dir: str | os.PathLike,
    *,
    num_classes: int = 8,
    skip_bad: bool = False,
    verify: str = "header",
    image_ext: str = ".jpg",
    split: str | None = None,
) -> FaceSet:
    """Read a compiled `number,exp,val,aro` CSV over pre-cropped `<image_dir>/<number>.jpg`.

    [related-code: CAGE] layout of the 224-px release; images are already face crops, so
    `crop_box` is None (whole image, resized). Same label filtering and V/A rules as
    `read_affectnet_csv`.
    """
    check_verify(verify)
    csv_path, image_dir = os.fspath(csv_path), os.fspath(image_dir)
    split = split or os.path.splitext(os.path.basename(csv_path))[0]
    label_of = _LabelFilter(num_classes)
    bad = BadItems(skip_bad)

    def parse(row, cols, where, line):
        label = label_of(_field(row, cols, "exp", where), where)
        if label is None:
            return None
        number = _field(row, cols, "number", where).strip()
        if not number:
            raise FaceDataError(where, "empty image number")
        v, a = parse_va(_field(row, cols, "val", where), _field(row, cols, "aro", where), where)
        has_ext = os.path.splitext(number)[1].lower() in IMAGE_EXTENSIONS
        name = number if has_ext else number + image_ext
        path = os.path.join(image_dir, name)
        vet_image_file(path, verify)
        return FaceRecord(key=f"{split}/{name}", source="affectnet_compiled", label=label,
                          valence=v, arousal=a, path=path, line=line, split=split)

    records = _read_csv_records(csv_path, COMPILED_COLUMNS, bad, parse)
    return FaceSet(
        records, label_of.classes, "affectnet_compiled", bad.items, dict(label_of.filtered)
    )


def read_affectnet_npy(
    split_dir: str | os.PathLike,
    *,
    num_classes: int = 8,
    skip_bad: bool = False,
    verify: str = "header",
) -> FaceSet:
    """Read the pre-cropped release: `images/<n>.jpg` + `annotations/<n>_{exp,val,aro}.npy`.

    The layout is recalled, not verified against a copy (spec §6.1): check it against yours.
    Annotation files are looked up in `annotations/`, then next to the image.
    """
    check_verify(verify)
    split_dir = os.fspath(split_dir)
    img_dir = os.path.join(split_dir, "images")
    ann_dirs = [os.path.join(split_dir, "annotations"), img_dir]
    if not os.path.isdir(img_dir):
        raise FaceDataError(split_dir, "no images/ folder (expected <split>/images/<n>.jpg)")
    label_of = _LabelFilter(num_classes)
    bad = BadItems(skip_bad)
    records: list[FaceRecord] = []
    split = os.path.basename(os.path.normpath(split_dir))
    for name in sorted(os.listdir(img_dir), key=_natural_key):
        stem, ext = os.path.splitext(name)
        path = os.path.join(img_dir, name)
        if ext.lower() == ".npy" or name.startswith("."):
            continue  # annotation files living beside images, hidden files: not images
        try:
            if ext.lower() not in IMAGE_EXTENSIONS:
                raise FaceDataError(path, f"not an image file (extension {ext!r})")
            vals = {k: _read_npy_scalar(ann_dirs, stem, k, path) for k in ("exp", "val", "aro")}
            label = label_of(vals["exp"], path)
            if label is None:
                continue
            v, a = parse_va(vals["val"], vals["aro"], path)
            vet_image_file(path, verify)
        except FaceDataError as e:
            bad.from_error(e)
            continue
        records.append(
            FaceRecord(
                key=f"{split}/{name}",
                source="affectnet_npy",
                label=label,
                valence=v,
                arousal=a,
                path=path,
                split=split,
            )
        )
    return FaceSet(records, label_of.classes, "affectnet_npy", bad.items, dict(label_of.filtered))


def _read_npy_scalar(dirs: list[str], stem: str, kind: str, where: str) -> str:
    for d in dirs:
        p = os.path.join(d, f"{stem}_{kind}.npy")
        if os.path.isfile(p):
            try:
                return str(np.load(p, allow_pickle=False).reshape(-1)[0])
            except (OSError, ValueError, IndexError) as e:
                raise FaceDataError(p, f"unreadable annotation ({e})") from None
    raise FaceDataError(where, f"missing annotation {stem}_{kind}.npy")


def _natural_key(name: str) -> tuple:
    stem = os.path.splitext(name)[0]
    return (0, int(stem), name) if stem.isdigit() else (1, 0, name)


def expression_name(code: int) -> str:
    """Name of an AffectNet `expression` code 0-10."""
    return AFFECTNET8[code] if 0 <= code < 8 else AFFECTNET_NON_EXPRESSION[code]
