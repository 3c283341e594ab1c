"""The common face record every reader returns, and `FaceSet`, a list of them plus its report."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import numpy as np

from affectjax.data.faces.errors import SkippedItem
from affectjax.data.faces.labels import AFFECTNET8


@dataclasses.dataclass(frozen=True, slots=True)
class FaceRecord:
    """One labelled face: where its pixels are, its class, V/A and crop box.

    Attributes:
      key: stable identifier independent of where the data lives (relative path, or
        `<csv name>:<line>`); hash-based splits use it.
      source: reader name ('affectnet', 'affectnet_compiled', 'affectnet_npy', 'fer2013_folder',
        'fer2013_csv').
      label: index into the canonical class list (`labels.AFFECTNET8` order).
      valence, arousal: in [-1, 1]; None when not annotated (AffectNet's -2), i.e. masked.
      path: image file to decode, or None for in-memory pixels.
      index: row of `FaceSet.images` holding the pixels, or None for files.
      face_box: annotated face box (x, y, width, height) in image pixels, or None.
      crop_box: square crop (left, top, right, bottom) in image pixels, may extend past the
        image (zero padding), or None to use the whole image.
      line: 1-based line of the CSV row (header = line 1), or None for folder layouts.
      split: the dataset's own split name ('Training', 'PublicTest', 'validation', ...).
      landmarks: flat (x0, y0, x1, y1, ...) when parsed, else None.
      derived_va: class-mean (V, A) attached for sources without V/A; never a V/A label.
    """

    key: str
    source: str
    label: int
    valence: float | None = None
    arousal: float | None = None
    path: str | None = None
    index: int | None = None
    face_box: tuple[float, float, float, float] | None = None
    crop_box: tuple[int, int, int, int] | None = None
    line: int | None = None
    split: str | None = None
    landmarks: tuple[float, ...] | None = None
    derived_va: tuple[float, float] | None = None

    @property
    def label_name(self) -> str:
        return AFFECTNET8[self.label]

    @property
    def has_va(self) -> bool:
        return self.valence is not None and self.arousal is not None

    @property
    def where(self) -> str:
        """Human-readable location for error messages."""
        if self.path is not None:
            return self.path if self.line is None else f"{self.path} (CSV line {self.line})"
        return self.key


@dataclasses.dataclass
class FaceSet:
    """Records of one read, with what was skipped (bad) and what was filtered (by the spec).

    `images` holds in-memory pixels ([N, H, W] uint8) for sources without image files
    (fer2013.csv); records point into it by `index`.
    """

    records: list[FaceRecord]
    classes: tuple[str, ...]
    source: str
    skipped: list[SkippedItem] = dataclasses.field(default_factory=list)
    filtered: dict[str, int] = dataclasses.field(default_factory=dict)
    images: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> FaceRecord:
        return self.records[i]

    def __iter__(self):
        return iter(self.records)

    @property
    def labels(self) -> np.ndarray:
        return np.fromiter((r.label for r in self.records), np.int32, len(self.records))

    @property
    def va(self) -> np.ndarray:
        """[N, 2] float32 (valence, arousal); NaN where not annotated."""
        out = np.full((len(self.records), 2), np.nan, np.float32)
        for i, r in enumerate(self.records):
            if r.has_va:
                out[i] = (r.valence, r.arousal)
        return out

    @property
    def va_mask(self) -> np.ndarray:
        return np.fromiter((r.has_va for r in self.records), np.float32, len(self.records))

    def class_counts(self) -> dict[str, int]:
        """Count per class name, in class-list order (zero counts included)."""
        counts = collections.Counter(r.label for r in self.records)
        return {name: counts.get(i, 0) for i, name in enumerate(self.classes)}

    def subset(self, indices: Sequence[int] | np.ndarray) -> FaceSet:
        """Records at `indices`; shares `images` (records keep their `index`)."""
        return dataclasses.replace(self, records=[self.records[int(i)] for i in indices])

    def report(self) -> str:
        """Multi-line summary: counts, filtered rows and every skipped item with its reason."""
        lines = [f"{self.source}: {len(self.records)} faces"]
        lines += [f"  {name}: {n}" for name, n in self.class_counts().items()]
        for reason, n in self.filtered.items():
            lines.append(f"  filtered ({reason}): {n}")
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} bad item(s):")
            lines += [f"    {item}" for item in self.skipped]
        return "\n".join(lines)
