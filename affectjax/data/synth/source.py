"""Glottal source: Rosenberg pulse train with jitter and shimmer, breath noise, spectral tilt."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

ROSENBERG_OPEN = 0.40  # opening phase, fraction of the period [our choice: Rosenberg 1971 values]
ROSENBERG_CLOSE = 0.16  # closing phase
TILT_KNEE_HZ = 500.0  # tilt applies above this frequency [spec §6.6]


def pulse_times(
    f0_hz: np.ndarray, sample_rate: int, rng: np.random.Generator, jitter_pct: float
) -> tuple[np.ndarray, np.ndarray]:
    """Glottal closure instants (fractional samples) and their periods from a per-sample F0.

    Jitter perturbs each instant independently by N(0, j*P/sqrt 2), so the period s.d. is j*P
    (the spec's "s.d. of period, %") while the instants never drift from the true contour.
    """
    phase = np.cumsum(f0_hz / sample_rate)
    n_pulses = int(np.floor(phase[-1]))
    if n_pulses < 2:
        return np.zeros(0), np.zeros(0)
    m = np.arange(1, n_pulses + 1, dtype=np.float64)
    i = np.searchsorted(phase, m)  # first sample whose phase reaches m
    prev = np.where(i > 0, phase[np.maximum(i - 1, 0)], 0.0)
    t = (i - 1) + (m - prev) / (phase[i] - prev)
    periods = np.diff(t, append=t[-1] + (t[-1] - t[-2]))
    t = t + (jitter_pct / 100.0 / np.sqrt(2.0)) * periods * rng.standard_normal(t.size)
    order = np.argsort(t, kind="stable")  # guard against a swap at extreme jitter
    t = t[order]
    periods = np.diff(t, append=t[-1] + periods[-1])
    return t, np.maximum(periods, 1.0)


def rosenberg(frac: np.ndarray) -> np.ndarray:
    """Rosenberg glottal flow over one period, frac in [0, 1): rise, fall, closed."""
    tp, tn = ROSENBERG_OPEN, ROSENBERG_CLOSE
    rise = 0.5 * (1.0 - np.cos(np.pi * frac / tp))
    fall = np.cos(0.5 * np.pi * (frac - tp) / tn)
    return np.where(frac < tp, rise, np.where(frac < tp + tn, fall, 0.0)) * (frac >= 0)


def pulse_train(
    f0_hz: np.ndarray,
    sample_rate: int,
    rng: np.random.Generator,
    jitter_pct: float,
    shimmer_pct: float,
) -> np.ndarray:
    """Differentiated Rosenberg flow (glottal flow + lip radiation), one pulse per period."""
    n = f0_hz.size
    t, periods = pulse_times(f0_hz, sample_rate, rng, jitter_pct)
    if t.size == 0:
        return np.zeros(n)
    amps = np.maximum(1.0 + (shimmer_pct / 100.0) * rng.standard_normal(t.size), 0.0)
    samples = np.arange(n, dtype=np.float64)
    pos = np.searchsorted(t, samples, side="right") - 1
    ok = pos >= 0
    p = np.maximum(pos, 0)
    frac = np.where(ok, (samples - t[p]) / periods[p], -1.0)
    flow = amps[p] * rosenberg(frac)
    return np.diff(flow, prepend=0.0)


def apply_tilt(x: np.ndarray, sample_rate: int, tilt_db_oct: float) -> np.ndarray:
    """Weight the spectrum by (f / 500 Hz)^(tilt / 6.02) above 500 Hz [spec §6.6]."""
    if tilt_db_oct == 0.0:
        return x
    n = sfft.next_fast_len(x.size + 256, real=True)  # zero tail absorbs the circular wrap
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    w = np.power(np.maximum(f, TILT_KNEE_HZ) / TILT_KNEE_HZ, tilt_db_oct / 6.02)
    return sfft.irfft(sfft.rfft(x, n=n) * w, n=n)[: x.size]


def voiced_source(
    f0_hz: np.ndarray,
    voiced_env: np.ndarray,
    sample_rate: int,
    rng: np.random.Generator,
    *,
    jitter_pct: float,
    shimmer_pct: float,
    tilt_db_oct: float,
    breath: float,
) -> np.ndarray:
    """Pulse train (RMS 1 over voiced samples) x voicing envelope, plus breath noise.

    Breath is Gaussian with RMS = breath x voiced-source RMS [spec §6.6], gated by the same
    envelope (aspiration only while the glottis vibrates).
    """
    exc = apply_tilt(pulse_train(f0_hz, sample_rate, rng, jitter_pct, shimmer_pct),
                     sample_rate, tilt_db_oct)
    on = voiced_env > 1e-3
    rms = np.sqrt(np.mean(exc[on] ** 2)) if on.any() else 1.0
    exc = exc / max(rms, 1e-12)
    noise = breath * rng.standard_normal(exc.size)
    return (exc + noise) * voiced_env
