"""Canonical expression class names and the label codes of AffectNet and FER2013."""

from __future__ import annotations

# Canonical order = AffectNet `expression` codes 0-7 (spec §6.1) [paper dataset]. Every reader
# maps its own codes onto these indices so that one model head serves all sources.
AFFECTNET8: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
)
AFFECTNET7: tuple[str, ...] = AFFECTNET8[:7]

# AffectNet codes 8-10 are not expressions; readers filter them (and count what they filtered).
AFFECTNET_NON_EXPRESSION: dict[int, str] = {8: "none", 9: "uncertain", 10: "no_face"}

# `fer2013.csv` `emotion` 0-6 (spec §6.2); note sad = 4 and neutral = 6, not alphabetical.
FER2013_CSV_ORDER: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happy",
    "sad",
    "surprise",
    "neutral",
)

# Folder names of the image-folder repackaging of FER2013 -> canonical names.
FER2013_FOLDER_NAMES: dict[str, str] = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprise",
}

# Per-class (valence, arousal) means of the AffectNet-8 test labels (spec §9.2). Used only as
# `derived_va` on sources without V/A (FER2013), to exercise code paths; never a V/A result.
CLASS_MEAN_VA: dict[str, tuple[float, float]] = {
    "neutral": (-0.02, -0.02),
    "happy": (0.67, 0.08),
    "sad": (-0.63, -0.27),
    "surprise": (0.18, 0.70),
    "fear": (-0.12, 0.76),
    "disgust": (-0.68, 0.45),
    "anger": (-0.43, 0.55),
    "contempt": (-0.51, 0.58),
}


def class_names(num_classes: int) -> tuple[str, ...]:
    """Return the canonical class list for AffectNet-8 (8) or AffectNet-7 / FER2013 (7)."""
    if num_classes == 8:
        return AFFECTNET8
    if num_classes == 7:
        return AFFECTNET7
    raise ValueError(f"num_classes must be 7 or 8, got {num_classes}")


def class_index(name: str) -> int:
    """Index of a canonical class name (case-insensitive; FER folder aliases accepted)."""
    key = name.strip().lower()
    key = FER2013_FOLDER_NAMES.get(key, key)
    try:
        return AFFECTNET8.index(key)
    except ValueError:
        raise ValueError(
            f"unknown expression class {name!r}; expected one of {AFFECTNET8} "
            f"or a FER2013 folder name {tuple(FER2013_FOLDER_NAMES)}"
        ) from None
