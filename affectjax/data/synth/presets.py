"""Emotion presets (spec §6.6 table), expressivity scaling and speaker sampling."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from affectjax.data.synth import streams

# Seed position of an emotion is its index in this tuple (not in a config's subset), so a
# subset of classes regenerates the same audio as the full set.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "happiness",
    "sadness",
    "fear",
    "disgust",
    "boredom",
    "surprise",
)
DEFAULT_EMOTIONS: tuple[str, ...] = EMOTIONS[:7]


@dataclasses.dataclass(frozen=True)
class EmotionPreset:
    """One row of the spec §6.6 table, relative to neutral.

    f0_ratio and width_ratio are the Emo-DB calibration targets [paper-derived data facts, spec
    §6.6]; rate, energy, tilt, jitter and breath follow the acoustic-profile literature in
    direction, with magnitudes that are [our choice].
    """

    f0_ratio: float
    width_ratio: float
    rate: float
    energy_db: float
    tilt_db_oct: float
    jitter_pct: float
    breath: float


PRESETS: dict[str, EmotionPreset] = {
    "neutral": EmotionPreset(1.00, 1.00, 1.00, 0.0, 0.0, 0.5, 0.05),
    "anger": EmotionPreset(1.75, 2.03, 1.10, 6.0, 3.0, 1.0, 0.03),
    "happiness": EmotionPreset(1.65, 2.49, 1.08, 4.0, 2.0, 0.8, 0.05),
    "fear": EmotionPreset(1.52, 1.44, 1.15, 1.0, 1.0, 1.5, 0.10),
    "disgust": EmotionPreset(1.18, 1.12, 0.92, 1.0, 0.0, 0.8, 0.08),
    "boredom": EmotionPreset(0.95, 1.23, 0.85, -3.0, -2.0, 0.6, 0.08),
    "sadness": EmotionPreset(0.91, 0.68, 0.80, -5.0, -3.0, 0.9, 0.15),
    # No Emo-DB reference: not calibrated, needed for ESD/CASIA/SAVEE-like class sets.
    "surprise": EmotionPreset(1.60, 2.2, 1.05, 3.0, 1.0, 0.8, 0.05),
}

# Per-take variation [spec §6.6]: lognormal sigma on ratios, Gaussian dB on energy.
TAKE_RATIO_SD_LOG = 0.04
TAKE_ENERGY_SD_DB = 1.0


def scaled_preset(emotion: str, expressivity: float = 1.0) -> EmotionPreset:
    """Preset with expressivity applied: ratios r -> r**e, dB offsets x e [spec §6.6].

    Jitter and breath are treated as ratios to their neutral values [our choice], so
    expressivity 0 collapses every emotion onto neutral.
    """
    if emotion not in PRESETS:
        raise ValueError(f"unknown synthetic emotion {emotion!r}; known: {', '.join(EMOTIONS)}")
    p, n, e = PRESETS[emotion], PRESETS["neutral"], float(expressivity)
    return EmotionPreset(
        f0_ratio=p.f0_ratio**e,
        width_ratio=p.width_ratio**e,
        rate=p.rate**e,
        energy_db=p.energy_db * e,
        tilt_db_oct=p.tilt_db_oct * e,
        jitter_pct=n.jitter_pct * (p.jitter_pct / n.jitter_pct) ** e,
        breath=n.breath * (p.breath / n.breath) ** e,
    )


@dataclasses.dataclass(frozen=True)
class Speaker:
    """Realised speaker factors (constant over all of a speaker's utterances)."""

    index: int
    sex: str  # "female" | "male"
    f0_median_hz: float
    vtl: float  # formant scale factor (>1 = shorter tract, higher formants)
    rate: float
    gain_db: float
    tilt_db_oct: float


def speaker_sex(index: int, female_fraction: float) -> str:
    """Interleaved assignment (m, f, m, f, ... at 0.5) so any prefix of speakers is balanced."""
    ff = float(female_fraction)
    return "female" if math.floor((index + 1) * ff) > math.floor(index * ff) else "male"


def sample_speaker(config, index: int) -> Speaker:
    """Draw speaker `index` of a corpus from its own seed stream (independent of utterances)."""
    sp = config.speaker
    rng = np.random.default_rng(streams.speaker_key(config.seed, config.corpus_id, index))
    sex = speaker_sex(index, config.female_fraction)
    male_hz, female_hz = sp.f0_median_hz
    base = female_hz if sex == "female" else male_hz
    vtl_mean = sp.vtl_female_mean if sex == "female" else 1.0
    z = rng.standard_normal(5)
    return Speaker(
        index=index,
        sex=sex,
        f0_median_hz=float(base * math.exp(sp.f0_sd_log * z[0])),
        vtl=float(vtl_mean * math.exp(sp.vtl_sd * z[1])),
        rate=float(math.exp(sp.rate_sd * z[2])),
        # Small loudness and voice-quality individuality [our choice]: keeps speakers apart in
        # MFCC space the way real voices are, without touching the calibrated F0 factors.
        gain_db=float(2.0 * z[3]),
        tilt_db_oct=float(1.0 * z[4]),
    )
