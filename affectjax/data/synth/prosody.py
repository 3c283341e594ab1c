"""F0 contours: declination + accent bumps, median re-centring, and the numeric rho_e solve."""

from __future__ import annotations

import functools

import numpy as np
from scipy.optimize import brentq

from affectjax.data.synth import language as lang
from affectjax.data.synth import streams

DECLINATION = 0.2  # log-F0 fall over the utterance [spec §6.6]
ACCENT_SD_FRAC = 0.35  # bump s.d. as a fraction of its vowel's duration [our choice]
DRIFT_SD = 0.02  # slow log-F0 wander (log units) so no two takes are identical [our choice]
DRIFT_KNOT_S = 0.08
TRUTH_HOP_S = 0.020  # frame-truth hop [spec §6.6]


def truth_hop(sample_rate: int) -> int:
    return int(round(TRUTH_HOP_S * sample_rate))


def truth_frame_index(n_samples: int, sample_rate: int) -> np.ndarray:
    """Sample index of each 20 ms frame centre; 1 + n // hop frames, like librosa's centring."""
    hop = truth_hop(sample_rate)
    return np.minimum(np.arange(1 + n_samples // hop) * hop, max(n_samples - 1, 0))


def voiced_mask(timeline: lang.Timeline) -> np.ndarray:
    voiced = np.array([lang.PHONES[i].voiced for i in timeline.phone_ids])
    return timeline.per_sample(voiced)


def shape_g(
    idx: np.ndarray,
    timeline: lang.Timeline,
    heights: np.ndarray,
    sample_rate: int,
    drift: np.ndarray | None = None,
) -> np.ndarray:
    """Un-centred g at sample indices idx.

    Linear declination +0.1 -> -0.1 over the speech, a Gaussian bump on each stressed vowel,
    and optional drift (knots every DRIFT_KNOT_S).
    """
    t = idx.astype(np.float64)
    s0, s1 = timeline.speech_start, timeline.speech_end
    frac = np.clip((t - s0) / max(s1 - s0, 1), 0.0, 1.0)
    g = DECLINATION * (0.5 - frac)
    is_vowel = np.array([lang.PHONES[i].kind == "vowel" for i in timeline.phone_ids])
    acc = np.flatnonzero(is_vowel & timeline.stressed)
    for h, seg in zip(heights, acc, strict=True):
        c = 0.5 * (timeline.starts[seg] + timeline.ends[seg])
        sd = ACCENT_SD_FRAC * (timeline.ends[seg] - timeline.starts[seg])
        g = g + h * np.exp(-0.5 * ((t - c) / sd) ** 2)
    if drift is not None:
        knots = np.arange(len(drift)) * DRIFT_KNOT_S * sample_rate
        g = g + np.interp(t, knots, drift)
    return g


def recentre_offset(g_frames: np.ndarray, voiced_frames: np.ndarray) -> float:
    """Median of g over voiced truth frames: subtracting it makes median F0 the nominal level."""
    v = g_frames[voiced_frames]
    return float(np.median(v)) if v.size else 0.0


def hz_width(f0_hz: np.ndarray) -> float:
    """Width of the 5-95 % F0 interval in Hz over finite (voiced) values [spec §6.6]."""
    v = f0_hz[np.isfinite(f0_hz) & (f0_hz > 0)]
    if v.size == 0:
        return float("nan")
    lo, hi = np.percentile(v, [5.0, 95.0])
    return float(hi - lo)


@functools.lru_cache(maxsize=1)
def _reference_quantiles(n: int = 256, sample_rate: int = 16000) -> np.ndarray:
    """(n, 2) 95th/5th percentiles of centred g over voiced frames of reference sentences.

    Drawn from a fixed stream and a fixed reference language, so rho_e is a constant of the
    generator (build-time calibration), not of any corpus config.
    """
    rng = np.random.default_rng(streams.reference_key(0))
    language = lang.make_language(int(rng.integers(2**31)))
    out = np.empty((n, 2))
    for i in range(n):
        sent = lang.draw_sentence(rng, language, i)
        tl = lang.build_timeline(sent, 1.0, sample_rate)
        idx = truth_frame_index(tl.n_samples, sample_rate)
        voiced = voiced_mask(tl)[idx]
        # Same drift as real takes: it widens narrow (neutral/sad) contours relatively more.
        drift = drift_knots(rng, tl.n_samples, sample_rate)
        g = shape_g(idx, tl, np.asarray(sent.accent_heights), sample_rate, drift)
        g = g - recentre_offset(g, voiced)
        out[i] = np.percentile(g[voiced], [95.0, 5.0])
    return out


def width_ratio_for_rho(rho: float, f0_ratio: float) -> float:
    """Median over reference sentences of Hz-width(emotion) / Hz-width(neutral, rho=1)."""
    a, b = _reference_quantiles().T
    ratio = (np.exp(rho * a) - np.exp(rho * b)) / (np.exp(a) - np.exp(b))
    return float(f0_ratio * np.median(ratio))


@functools.lru_cache(maxsize=256)
def solve_rho(width_target: float, f0_ratio: float) -> float:
    """rho_e such that the true-contour Hz-width ratio equals width_target [spec §6.6].

    The width scales with r_e, so rho ~ target / r_e for small excursions; the exp() makes the
    exact value smaller for rho > 1, hence a root solve instead of the approximation.
    """
    if abs(width_target - f0_ratio) < 1e-12:
        return 1.0
    f = lambda rho: width_ratio_for_rho(rho, f0_ratio) - width_target
    return float(brentq(f, 1e-3, 10.0, xtol=1e-10))


def drift_knots(rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    n = int(np.ceil(n_samples / (DRIFT_KNOT_S * sample_rate))) + 2
    return DRIFT_SD * rng.standard_normal(n)


def f0_contour(
    timeline: lang.Timeline,
    level_hz: float,
    rho: float,
    heights: np.ndarray,
    sample_rate: int,
    drift: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample F0 (Hz, defined everywhere) and the per-sample voicing mask.

    log f0 = log(level) + rho * (g - median_voiced_frames(g)) [spec §6.6]; unvoiced stretches
    keep the interpolated contour so the pulse phase stays continuous across them.
    """
    n = timeline.n_samples
    idx = np.arange(n)
    g = shape_g(idx, timeline, heights, sample_rate, drift)
    voiced = voiced_mask(timeline)
    fidx = truth_frame_index(n, sample_rate)
    g = g - recentre_offset(g[fidx], voiced[fidx])
    return level_hz * np.exp(rho * g), voiced
