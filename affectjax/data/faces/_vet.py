"""Shared per-item checks for readers: V/A ranges and image-file vetting."""

from __future__ import annotations

import math
import os

from affectjax.data.faces.crop import check_crop_overlaps
from affectjax.data.faces.decode import open_image
from affectjax.data.faces.errors import FaceDataError

VERIFY_MODES = ("none", "header", "full")

# AffectNet's code for "not annotated" (spec §6.1); such V/A are masked, not errors.
VA_MISSING = -2.0


def parse_va(
    valence: str | float, arousal: str | float, where: str
) -> tuple[float | None, float | None]:
    """Parse a (valence, arousal) pair: both in [-1, 1], or both -2 (not annotated -> None)."""
    try:
        v, a = float(valence), float(arousal)
    except (TypeError, ValueError):
        raise FaceDataError(
            where, f"valence/arousal not numbers: {valence!r}, {arousal!r}"
        ) from None
    if v == VA_MISSING and a == VA_MISSING:
        return None, None
    for name, x in (("valence", v), ("arousal", a)):
        if not (math.isfinite(x) and -1.0 <= x <= 1.0):
            raise FaceDataError(
                where,
                f"{name} {x!r} out of range: expected [-1, 1] (or -2 for both = not annotated)",
            )
    return v, a


def check_verify(verify: str) -> None:
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, got {verify!r}")


def vet_image_file(
    path: str, verify: str, crop_box: tuple[int, int, int, int] | None = None
) -> None:
    """Check an image file as deeply as `verify` asks; raise `FaceDataError` naming it.

    'none': existence only; 'header': format, size and channel count (fast: no pixel decode);
    'full': decode every pixel (catches truncated files). A crop box, when given, must overlap
    the image.
    """
    if verify == "none":
        if not os.path.isfile(path):
            raise FaceDataError(path, "image file not found")
        return
    with open_image(path, full=verify == "full") as im:
        if crop_box is not None:
            check_crop_overlaps(crop_box, im.width, im.height, path)
