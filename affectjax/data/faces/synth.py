"""Embedded procedural face generator with continuous valence/arousal (spec §6.3)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from affectjax.data.faces.labels import class_names
from affectjax.data.faces.synth_affect import Affect, class_prior, sample_affect
from affectjax.data.faces.synth_geometry import Expression, build_face, expression_params
from affectjax.data.faces.synth_nuisance import (
    DEFAULT_RANGES,
    SHIFTED_RANGES,
    Nuisance,
    NuisanceRanges,
    sample_nuisance,
)
from affectjax.data.faces.synth_render import render_face

SPLIT_CODES: dict[str, int] = {"train": 0, "dev": 1, "test": 2, "shifted": 3}
SPLIT_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"train": 512, "dev": 128, "test": 128, "shifted": 128},
    "default": {"train": 50_000, "dev": 5_000, "test": 5_000, "shifted": 5_000},
}


@dataclasses.dataclass(frozen=True)
class FaceGenConfig:
    """Knobs of the generator; defaults are spec §6.3 [our choice throughout].

    Attributes:
      seed: dataset seed; sample i of split s comes from default_rng([seed, code(s), i]).
      image_size: output side (tiny 64, default 96, paper scale may use 224).
      num_classes: 8 (AffectNet-8) or 7 (no Contempt).
      prior: 'balanced' or 'affectnet' (train class shares of spec §6.1).
      va_noise: std of the Gaussian noise on the reported V/A.
      label_noise: probability that the reported class is swapped for another.
      expression_strength: scales every expression deformation and class cue (1 = spec,
        0 = identical neutral faces for all classes); labels are unaffected.
      occluder_p, jpeg_p: override the nuisance defaults when not None (the shifted split
        keeps its own occluder_p unless overridden).
      render_scale: draw at this multiple of image_size, then downsample (antialiasing).
      sizes: 'tiny' or 'default' split sizes (SPLIT_SIZES).
    """

    seed: int = 0
    image_size: int = 96
    num_classes: int = 8
    prior: str = "balanced"
    va_noise: float = 0.05
    label_noise: float = 0.0
    expression_strength: float = 1.0
    occluder_p: float | None = None
    jpeg_p: float | None = None
    render_scale: int = 2
    sizes: str = "default"

    def ranges(self, split: str) -> NuisanceRanges:
        r = SHIFTED_RANGES if split == "shifted" else DEFAULT_RANGES
        if self.occluder_p is not None:
            r = dataclasses.replace(r, occluder_p=self.occluder_p)
        if self.jpeg_p is not None:
            r = dataclasses.replace(r, jpeg_p=self.jpeg_p)
        return r


@dataclasses.dataclass(frozen=True)
class FaceSample:
    """One generated face with its labels, geometry and every latent factor."""

    image: np.ndarray  # uint8 [S, S, 3]
    label: int  # reported class (AffectNet order)
    valence: float  # reported (noisy, clipped)
    arousal: float
    face_box: tuple[float, float, float, float]  # x, y, w, h in pixels
    landmarks: np.ndarray  # [68, 2] float32, iBUG order, pixels
    affect: Affect
    nuisance: Nuisance
    expression: Expression

    @property
    def latent(self) -> dict[str, Any]:
        """Every latent factor: affect, nuisance and the derived expression geometry."""
        return {
            **dataclasses.asdict(self.affect),
            **dataclasses.asdict(self.nuisance),
            **{f"expr_{k}": v for k, v in dataclasses.asdict(self.expression).items()},
        }


def _split_code(split: str) -> int:
    try:
        return SPLIT_CODES[split]
    except KeyError:
        raise ValueError(f"split must be one of {tuple(SPLIT_CODES)}, got {split!r}") from None


def generate_face(config: FaceGenConfig, split: str, index: int) -> FaceSample:
    """Render sample `index` of `split`: a pure function of (config, split, index).

    Affect and nuisance use two children of default_rng([seed, split_code, index]), so a
    sample keeps its identity, pose and light when affect knobs (prior, noise) change.
    """
    if index < 0:
        raise IndexError(f"index must be >= 0, got {index}")
    rng = np.random.default_rng([config.seed, _split_code(split), index])
    affect_rng, nuisance_rng = rng.spawn(2)
    probs = class_prior(config.prior, config.num_classes)
    affect = sample_affect(affect_rng, probs, config.va_noise, config.label_noise)
    nz = sample_nuisance(nuisance_rng, config.ranges(split))
    expr = expression_params(
        affect.true_label,
        affect.valence_true,
        affect.arousal_true,
        affect.rho,
        config.expression_strength,
        nz.contempt_side,
    )
    parts = build_face(expr, ratio=nz.ratio, eye_spacing=nz.eye_spacing, gaze=nz.gaze, hair=nz.hair)
    image, landmarks, face_box = render_face(
        parts, nz, expr.cue, config.image_size, config.render_scale, nuisance_rng
    )
    return FaceSample(
        image=image,
        label=affect.label,
        valence=affect.valence,
        arousal=affect.arousal,
        face_box=face_box,
        landmarks=landmarks,
        affect=affect,
        nuisance=nz,
        expression=expr,
    )


@dataclasses.dataclass
class SyntheticFaces:
    """grain random-access source over one generated split (source='synthetic_faces').

    Elements have the keys of `pipeline.FaceSource` (image, label, va, va_mask, index); with
    `with_geometry` also face_box [4] and landmarks [68, 2] (float32).
    """

    config: FaceGenConfig
    split: str
    size: int | None = None
    with_geometry: bool = False

    def __post_init__(self):
        _split_code(self.split)
        if self.size is None:
            self.size = SPLIT_SIZES[self.config.sizes][self.split]
        self.classes = class_names(self.config.num_classes)

    def __len__(self) -> int:
        return int(self.size)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        s = generate_face(self.config, self.split, int(i))
        out = {
            "image": s.image,
            "label": np.int32(s.label),
            "va": np.array([s.valence, s.arousal], np.float32),
            "va_mask": np.float32(1.0),
            "index": np.int64(i),
        }
        if self.with_geometry:
            out["face_box"] = np.array(s.face_box, np.float32)
            out["landmarks"] = s.landmarks
        return out


def generate_arrays(
    config: FaceGenConfig, split: str, indices: range | np.ndarray
) -> dict[str, np.ndarray]:
    """Stack samples into arrays (for caching a split as .npy shards, spec §10)."""
    samples = [generate_face(config, split, int(i)) for i in indices]
    return {
        "image": np.stack([s.image for s in samples])
        if samples
        else np.zeros((0, config.image_size, config.image_size, 3), np.uint8),
        "label": np.array([s.label for s in samples], np.int32),
        "va": np.array([[s.valence, s.arousal] for s in samples], np.float32).reshape(-1, 2),
        "va_true": np.array(
            [[s.affect.valence_true, s.affect.arousal_true] for s in samples], np.float32
        ).reshape(-1, 2),
        "true_label": np.array([s.affect.true_label for s in samples], np.int32),
        "face_box": np.array([s.face_box for s in samples], np.float32).reshape(-1, 4),
        "landmarks": np.stack([s.landmarks for s in samples])
        if samples
        else np.zeros((0, 68, 2), np.float32),
    }
