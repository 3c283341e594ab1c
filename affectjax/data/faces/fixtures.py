"""Write small AffectNet- and FER2013-layout fixtures from procedural faces, for loader tests."""

from __future__ import annotations

import csv
import math
import os

import numpy as np
from PIL import Image

from affectjax.data.faces.affectnet import AFFECTNET_COLUMNS
from affectjax.data.faces.labels import AFFECTNET8, FER2013_CSV_ORDER, FER2013_FOLDER_NAMES
from affectjax.data.faces.synth import FaceGenConfig, generate_face

_CANON_TO_FOLDER = {v: k for k, v in FER2013_FOLDER_NAMES.items()}


def _photo(face: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Paste a generated face into a larger random 'photo' (non-square, as real uploads)."""
    s = face.shape[0]
    w, h = s + int(rng.integers(0, s + 1)), s + int(rng.integers(0, s + 1))
    base = rng.integers(0, 256, 3)
    photo = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    ox, oy = int(rng.integers(0, w - s + 1)), int(rng.integers(0, h - s + 1))
    photo[oy : oy + s, ox : ox + s] = face
    return photo, ox, oy


def _affectnet_rows(
    img_root: str, n: int, seed: int, split: str, face_size: int
) -> list[list[str]]:
    cfg = FaceGenConfig(seed=seed, image_size=face_size, num_classes=8)
    rows = []
    for i in range(n):
        s = generate_face(cfg, split, i)
        rng = np.random.default_rng([seed, 97, i, split == "test"])
        photo, ox, oy = _photo(s.image, rng)
        h, w = photo.shape[:2]
        x, y, bw, bh = s.face_box
        x0, y0 = max(0, math.floor(x + ox)), max(0, math.floor(y + oy))
        x1, y1 = min(w, math.ceil(x + ox + bw)), min(h, math.ceil(y + oy + bh))
        rel = f"{1 + i % 3}/{split}_{i:05d}.jpg"
        path = os.path.join(img_root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(photo).save(path, quality=92)
        lms = ";".join(f"{v:.2f}" for v in (s.landmarks + (ox, oy)).ravel())
        if i % 7 == 3:  # a few non-expression rows (None/Uncertain/No-face), V/A = -2
            expression, v, a = str(8 + (i // 7) % 3), "-2", "-2"
        else:
            expression, v, a = str(s.label), f"{s.valence:.6f}", f"{s.arousal:.6f}"
        rows.append([rel, str(x0), str(y0), str(x1 - x0), str(y1 - y0), lms, expression, v, a])
    return rows


def write_affectnet_fixture(
    root: str | os.PathLike, n: int, seed: int, *, n_val: int | None = None, face_size: int = 64
) -> dict[str, str]:
    """Write an original-release AffectNet layout under `root` (spec §6.1).

    `Manually_Annotated_Images/<d>/<name>.jpg` (faces pasted into larger photos) and
    `Manually_Annotated_file_lists/{training,validation}.csv` with the release's columns,
    68-point landmark strings, and every 7th row an expression 8-10 row with V/A = -2.
    Returns the paths: root, images, training_csv, validation_csv.
    """
    root = os.fspath(root)
    img_root = os.path.join(root, "Manually_Annotated_Images")
    lists = os.path.join(root, "Manually_Annotated_file_lists")
    os.makedirs(lists, exist_ok=True)
    n_val = max(1, n // 4) if n_val is None else n_val
    out = {"root": root, "images": img_root}
    for name, split, count in (("training", "train", n), ("validation", "test", n_val)):
        path = os.path.join(lists, f"{name}.csv")
        with open(path, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(AFFECTNET_COLUMNS)
            wr.writerows(_affectnet_rows(img_root, count, seed, split, face_size))
        out[f"{name}_csv"] = path
    return out


def write_fer2013_fixture(root: str | os.PathLike, n: int, seed: int) -> dict[str, object]:
    """Write FER2013 in both layouts (spec §6.2) from n generated 48x48 grey faces.

    `fer2013.csv` (emotion, pixels, Usage; usages 8:1:1 Training/PublicTest/PrivateTest) and
    the folder layout `{train,validation,test}/<class>/<Usage>_<row>.jpg` with the same faces.
    Returns paths and per-split class counts (canonical names).
    """
    root = os.fspath(root)
    os.makedirs(root, exist_ok=True)
    cfg = FaceGenConfig(seed=seed, image_size=48, num_classes=7)
    usage_dir = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}
    counts: dict[str, dict[str, int]] = {u: {c: 0 for c in AFFECTNET8[:7]} for u in usage_dir}
    csv_path = os.path.join(root, "fer2013.csv")
    with open(csv_path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["emotion", "pixels", "Usage"])
        for i in range(n):
            s = generate_face(cfg, "train", i)
            grey = Image.fromarray(s.image).convert("L")
            usage = ("Training",) * 8 + ("PublicTest", "PrivateTest")
            usage = usage[i % 10]
            name = AFFECTNET8[s.label]
            wr.writerow(
                [FER2013_CSV_ORDER.index(name), " ".join(map(str, np.asarray(grey).ravel())), usage]
            )
            folder = os.path.join(root, usage_dir[usage], _CANON_TO_FOLDER[name])
            os.makedirs(folder, exist_ok=True)
            grey.save(os.path.join(folder, f"{usage}_{i}.jpg"), quality=95)
            counts[usage][name] += 1
    return {
        "root": root,
        "csv": csv_path,
        "train": os.path.join(root, "train"),
        "validation": os.path.join(root, "validation"),
        "test": os.path.join(root, "test"),
        "counts": counts,
    }
