"""Nuisance factors of procedural faces: identity, pose, light, background, occluders, sensor."""

from __future__ import annotations

import dataclasses

import numpy as np

# Skin, hair and iris palettes [our choice]: a spread of tones so that colour carries no label.
SKIN_TONES = np.array(
    [
        (255, 224, 196),
        (241, 194, 167),
        (233, 203, 170),
        (224, 172, 138),
        (198, 134, 100),
        (161, 102, 72),
        (120, 76, 52),
        (92, 58, 40),
    ],
    np.float64,
)
HAIR_COLOURS = np.array(
    [
        (25, 20, 18),
        (60, 40, 28),
        (100, 70, 45),
        (170, 135, 85),
        (140, 140, 140),
        (120, 55, 30),
    ],
    np.float64,
)
IRIS_COLOURS = np.array(
    [(60, 40, 25), (90, 60, 35), (60, 90, 130), (70, 100, 60), (35, 30, 30)], np.float64
)

HAIR_KINDS = ("none", "band", "cap")
BACKGROUNDS = ("flat", "gradient", "blobs")
OCCLUDERS = ("eye_bar", "hand", "rect")


@dataclasses.dataclass(frozen=True)
class NuisanceRanges:
    """Ranges of the label-independent factors; defaults are spec §6.3."""

    roll_deg: float = 20.0
    yaw: float = 0.3
    pitch: float = 0.15
    face_height: tuple[float, float] = (0.55, 0.90)  # share of the canvas
    translate: float = 0.08  # share of the canvas, each axis
    ratio: tuple[float, float] = (1.15, 1.45)  # face height / width
    eye_spacing: float = 0.10  # ± share
    gain: tuple[float, float] = (0.6, 1.3)
    gamma: tuple[float, float] = (0.7, 1.4)
    gradient: float = 0.5
    occluder_p: float = 0.25
    blur_sigma: float = 1.0  # pixels at 96 px, scaled with the image size
    noise_sigma: float = 0.06  # on [0, 1] intensities
    jpeg_p: float = 0.5  # [our choice]: spec says "optional JPEG"
    jpeg_quality: tuple[int, int] = (40, 95)


DEFAULT_RANGES = NuisanceRanges()
# `shifted` split: harder pose, light and occlusion, for robustness only (spec §6.3).
SHIFTED_RANGES = dataclasses.replace(
    DEFAULT_RANGES, roll_deg=35.0, yaw=0.5, gradient=0.8, occluder_p=0.5
)


@dataclasses.dataclass(frozen=True)
class Nuisance:
    """One draw of every nuisance factor (all stored in the sample's latents)."""

    ratio: float
    eye_spacing: float
    skin: tuple[float, float, float]
    hair: str
    hair_colour: tuple[float, float, float]
    iris_colour: tuple[float, float, float]
    gaze: tuple[float, float]
    contempt_side: int
    roll_deg: float
    yaw: float
    pitch: float
    face_height: float
    tx: float
    ty: float
    gain: float
    gamma: float
    gradient: float
    gradient_angle: float
    background: str
    background_colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    blobs: tuple[tuple[float, ...], ...]  # (cx, cy, rx, ry, dr, dg, db) in canvas shares
    occluder: str  # 'none' or one of OCCLUDERS
    occluder_params: tuple[float, ...]
    occluder_colour: tuple[float, float, float]
    blur_sigma: float  # at 96 px
    noise_sigma: float
    jpeg_quality: int | None


def _colour(
    rng: np.random.Generator, palette: np.ndarray, jitter: float
) -> tuple[float, float, float]:
    c = palette[rng.integers(len(palette))] * rng.uniform(1 - jitter, 1 + jitter, 3)
    return tuple(float(v) for v in np.clip(c, 0, 255))


def sample_nuisance(rng: np.random.Generator, r: NuisanceRanges = DEFAULT_RANGES) -> Nuisance:
    """Draw every factor; the number of draws is fixed so later factors never shift."""
    ratio = rng.uniform(*r.ratio)
    eye_spacing = 1.0 + rng.uniform(-r.eye_spacing, r.eye_spacing)
    skin = _colour(rng, SKIN_TONES, 0.05)
    hair = HAIR_KINDS[rng.integers(3)]
    hair_colour = _colour(rng, HAIR_COLOURS, 0.1)
    iris_colour = _colour(rng, IRIS_COLOURS, 0.1)
    gaze = (float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-1.0, 1.0)))
    contempt_side = 1 if rng.random() < 0.5 else -1
    roll = rng.uniform(-r.roll_deg, r.roll_deg)
    yaw = rng.uniform(-r.yaw, r.yaw)
    pitch = rng.uniform(-r.pitch, r.pitch)
    face_height = rng.uniform(*r.face_height)
    tx, ty = rng.uniform(-r.translate, r.translate, 2)
    gain = rng.uniform(*r.gain)
    gamma = rng.uniform(*r.gamma)
    gradient = rng.uniform(0.0, r.gradient)
    gradient_angle = rng.uniform(0.0, 2.0 * np.pi)
    background = BACKGROUNDS[rng.integers(3)]
    bg0 = rng.uniform(20, 235, 3)
    bg1 = np.clip(bg0 + rng.uniform(-90, 90, 3), 0, 255)
    n_blobs = int(rng.integers(3, 7))
    blob_draws = rng.uniform(0.0, 1.0, (6, 7))
    blobs = tuple(
        (b[0], b[1], 0.08 + 0.25 * b[2], 0.08 + 0.25 * b[3], *(40.0 * (b[4:] - 0.5)))
        for b in blob_draws[:n_blobs]
    )
    occ_draw = rng.random()
    occ_kind = OCCLUDERS[rng.integers(3)]
    occ_params = tuple(float(v) for v in rng.uniform(0.0, 1.0, 40))  # placement candidates
    occ_colour = tuple(float(v) for v in rng.uniform(0, 255, 3))
    if occ_kind == "hand":
        occ_colour = _colour(rng, SKIN_TONES, 0.08)
    else:
        _colour(rng, SKIN_TONES, 0.08)  # keep the draw count fixed
    blur = rng.uniform(0.0, r.blur_sigma)
    noise = rng.uniform(0.0, r.noise_sigma)
    jpeg_draw = rng.random()
    quality = int(rng.integers(r.jpeg_quality[0], r.jpeg_quality[1] + 1))
    return Nuisance(
        ratio=float(ratio),
        eye_spacing=float(eye_spacing),
        skin=skin,
        hair=hair,
        hair_colour=hair_colour,
        iris_colour=iris_colour,
        gaze=gaze,
        contempt_side=contempt_side,
        roll_deg=float(roll),
        yaw=float(yaw),
        pitch=float(pitch),
        face_height=float(face_height),
        tx=float(tx),
        ty=float(ty),
        gain=float(gain),
        gamma=float(gamma),
        gradient=float(gradient),
        gradient_angle=float(gradient_angle),
        background=background,
        background_colours=(tuple(float(v) for v in bg0), tuple(float(v) for v in bg1)),
        blobs=tuple(tuple(float(v) for v in b) for b in blobs),
        occluder=occ_kind if occ_draw < r.occluder_p else "none",
        occluder_params=occ_params,
        occluder_colour=occ_colour,
        blur_sigma=float(blur),
        noise_sigma=float(noise),
        jpeg_quality=quality if jpeg_draw < r.jpeg_p else None,
    )
