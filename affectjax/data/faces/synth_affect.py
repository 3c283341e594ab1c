"""Affect sampling for the procedural faces: class sectors of the V-A plane and label noise."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from affectjax.data.faces.affectnet import AFFECTNET8_TRAIN_COUNTS
from affectjax.data.faces.labels import AFFECTNET8, class_names

# Sectors of θ = atan2(A, V) in degrees, mapped to [-60, 300) (spec §6.3) [our choice].
# Non-neutral classes own disjoint sectors, so the class is a function of (V, A).
SECTORS: dict[str, tuple[float, float]] = {
    "happy": (-60.0, 30.0),
    "surprise": (30.0, 80.0),
    "fear": (80.0, 115.0),
    "anger": (115.0, 140.0),
    "disgust": (140.0, 165.0),
    "contempt": (165.0, 190.0),
    "sad": (190.0, 300.0),
}
NEUTRAL_RADIUS = 0.2
RHO_RANGE = (0.3, 1.0)  # non-neutral radius; the gap 0.2-0.3 keeps classes apart

_SECTOR_EDGES = sorted((lo, AFFECTNET8.index(name)) for name, (lo, _) in SECTORS.items())


def class_from_va(valence, arousal):
    """Class index (AffectNet order) of noise-free (V, A): the generator's label definition.

    Works on scalars or arrays. ρ < 0.2 is neutral; otherwise the sector of θ.
    """
    v = np.asarray(valence, np.float64)
    a = np.asarray(arousal, np.float64)
    theta = np.degrees(np.arctan2(a, v))
    theta = np.mod(theta + 60.0, 360.0) - 60.0
    los = np.array([lo for lo, _ in _SECTOR_EDGES])
    ids = np.array([c for _, c in _SECTOR_EDGES])
    out = ids[np.clip(np.searchsorted(los, theta, side="right") - 1, 0, len(ids) - 1)]
    out = np.where(np.hypot(v, a) < NEUTRAL_RADIUS, AFFECTNET8.index("neutral"), out)
    return int(out) if out.ndim == 0 else out.astype(np.int32)


def class_prior(prior: str, num_classes: int) -> np.ndarray:
    """'balanced' (default) or 'affectnet' (the train shares of spec §6.1) over K classes."""
    names = class_names(num_classes)
    if prior == "balanced":
        p = np.ones(len(names))
    elif prior == "affectnet":
        p = np.array([AFFECTNET8_TRAIN_COUNTS[n] for n in names], np.float64)
    else:
        raise ValueError(f"prior must be 'balanced' or 'affectnet', got {prior!r}")
    return p / p.sum()


@dataclasses.dataclass(frozen=True)
class Affect:
    """Sampled affect: `true_label` from (valence_true, arousal_true); reported values noisy."""

    true_label: int
    label: int
    rho: float
    theta_deg: float
    valence_true: float
    arousal_true: float
    valence: float
    arousal: float


def sample_affect(
    rng: np.random.Generator,
    probs: np.ndarray,
    va_noise: float = 0.05,
    label_noise: float = 0.0,
) -> Affect:
    """Draw class ~ probs, then (ρ, θ) in its region; add N(0, va_noise²) to reported V/A.

    Reported V/A are clipped to [-1, 1] [our choice], the range of real labels and of the
    model's tanh head. With probability `label_noise` the reported class is replaced by a
    uniformly drawn other class (the image still shows the true one).
    """
    k = len(probs)
    c = int(rng.choice(k, p=probs))
    name = AFFECTNET8[c]
    if name == "neutral":
        rho, theta = rng.uniform(0.0, NEUTRAL_RADIUS), rng.uniform(-60.0, 300.0)
    else:
        rho, theta = rng.uniform(*RHO_RANGE), rng.uniform(*SECTORS[name])
    v = rho * math.cos(math.radians(theta))
    a = rho * math.sin(math.radians(theta))
    # Draw every variate unconditionally so that the stream does not depend on the knobs.
    nv, na = rng.normal(0.0, 1.0, size=2) * va_noise
    flip, other = rng.random(), int(rng.integers(1, k))
    label = int((c + other) % k) if flip < label_noise else c
    return Affect(
        true_label=c,
        label=label,
        rho=float(rho),
        theta_deg=float(theta),
        valence_true=float(v),
        arousal_true=float(a),
        valence=float(np.clip(v + nv, -1.0, 1.0)),
        arousal=float(np.clip(a + na, -1.0, 1.0)),
    )
