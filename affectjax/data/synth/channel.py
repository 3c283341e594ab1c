"""Corpus channel chain: mic tilt, band-pass, 8 kHz codec, reverb, noise, mu-law, peak norm."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft
from scipy import signal

MIC_TILT_REF_HZ = 1000.0  # the mic tilt pivots here (0 dB at 1 kHz) [our choice]
PEAK_NORM_LEVEL = 0.95  # [our choice] near full scale, like the peak-normalised Emo-DB copy
_NOISE_EXPONENT = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power ~ 1 / f^a


def mic_tilt(x: np.ndarray, sample_rate: int, db_per_oct: float) -> np.ndarray:
    """Whole-band tilt of db_per_oct around 1 kHz (flat below 50 Hz to avoid a DC boost)."""
    if db_per_oct == 0.0:
        return x
    n = sfft.next_fast_len(x.size + 256, real=True)
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / sample_rate), 50.0)
    gain = np.power(f / MIC_TILT_REF_HZ, db_per_oct / 6.02)
    return sfft.irfft(sfft.rfft(x, n=n) * gain, n=n)[: x.size]


def bandpass(x: np.ndarray, sample_rate: int, band_hz: tuple[float, float]) -> np.ndarray:
    """Order-4 Butterworth band-pass [spec §6.6], causal like a real recording chain."""
    nyq = 0.5 * sample_rate
    lo = max(float(band_hz[0]), 1.0)
    hi = min(float(band_hz[1]), 0.98 * nyq)
    if lo >= hi:
        raise ValueError(f"band-pass {band_hz} Hz is empty at {sample_rate} Hz")
    sos = signal.butter(4, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x)


def telephone_8k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Down-sample to 8 kHz and back (removes everything above 4 kHz, adds resampling colour)."""
    g = math.gcd(int(sample_rate), 8000)
    down = signal.resample_poly(x, 8000 // g, sample_rate // g)
    up = signal.resample_poly(down, sample_rate // g, 8000 // g)
    return _fit(up, x.size)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if x.size >= n else np.pad(x, (0, n - x.size))


def room_impulse_response(sample_rate: int, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying Gaussian noise (-60 dB at rt60) after a unit direct path.

    The direct path at lag 0 keeps the dry signal's timing, so the frame truth stays aligned.
    """
    n = max(2, int(round(1.2 * rt60_s * sample_rate)))
    t = np.arange(n) / sample_rate
    rir = rng.standard_normal(n) * np.power(10.0, -3.0 * t / rt60_s)
    rir[0] = 0.0
    # Tail energy scaled to a direct-to-reverberant ratio of ~0 dB at rt60 0.5 s [our choice].
    rir *= math.sqrt(min(1.0, rt60_s / 0.5)) / max(np.sqrt(np.sum(rir**2)), 1e-12)
    rir[0] = 1.0
    return rir


def reverb(x: np.ndarray, rir: np.ndarray | None) -> np.ndarray:
    """Convolve with the corpus room's impulse response [spec §6.6]."""
    if rir is None:
        return x
    return signal.fftconvolve(x, rir)[: x.size]


def coloured_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white / pink / brown noise by spectral shaping of white noise."""
    if color not in _NOISE_EXPONENT:
        raise ValueError(f"noise_color must be one of {sorted(_NOISE_EXPONENT)}, got {color!r}")
    w = rng.standard_normal(n)
    a = _NOISE_EXPONENT[color]
    if a:
        m = sfft.next_fast_len(n, real=True)
        f = np.fft.rfftfreq(m)
        f[0] = f[1] if m > 1 else 1.0
        w = sfft.irfft(sfft.rfft(w, n=m) * f ** (-a / 2.0), n=m)[:n]
    return w / max(np.sqrt(np.mean(w**2)), 1e-12)


def add_noise(
    x: np.ndarray, active: np.ndarray, snr_db: float, color: str, rng: np.random.Generator
) -> np.ndarray:
    """Additive noise at snr_db relative to the power over active-speech samples [spec §6.6]."""
    p = np.mean(x[active] ** 2) if active.any() else np.mean(x**2)
    noise = coloured_noise(x.size, color, rng) * math.sqrt(p / 10.0 ** (snr_db / 10.0))
    return x + noise


def mulaw8(x: np.ndarray) -> np.ndarray:
    """8-bit mu-law (mu = 255) encode + decode: companded quantisation noise, clipping at +-1."""
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    q = np.round((y + 1.0) * 127.5) / 127.5 - 1.0
    return np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu


def apply_channel(
    x: np.ndarray,
    sample_rate: int,
    active: np.ndarray,
    channel,
    rng: np.random.Generator,
    rir: np.ndarray | None = None,
) -> np.ndarray:
    """The corpus chain in the spec's order, up to (not including) the fixed-length cut.

    rng draws the per-utterance noise; rir is the corpus room (None = dry).
    """
    if channel.codec not in ("none", "mulaw8", "tel8k"):
        raise ValueError(f"channel.codec must be none|mulaw8|tel8k, got {channel.codec!r}")
    x = mic_tilt(x, sample_rate, channel.mic_tilt_db_oct)
    x = bandpass(x, sample_rate, channel.bandpass_hz)
    if channel.codec == "tel8k" and sample_rate > 8000:
        x = telephone_8k(x, sample_rate)
    x = reverb(x, rir)
    if channel.snr_db is not None:
        x = add_noise(x, active, channel.snr_db, channel.noise_color, rng)
    if channel.codec == "mulaw8":
        x = mulaw8(x)
    if channel.peak_norm:
        x = x * (PEAK_NORM_LEVEL / max(np.max(np.abs(x)), 1e-12))
    return x
