"""Acoustic features (spec §6.4): MFCC, log-mel, pyin F0, energy, fixed-length cut, config hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

KINDS = ("mfcc", "logmel", "f0", "energy")

# Bump when feature code changes its output for unchanged parameters (part of the hash).
FEATURE_VERSION = 1


def fix_length_center(y: np.ndarray, n: int | None) -> np.ndarray:
    """Centre-crop if longer than n, zero-pad symmetrically (extra sample right) if shorter.

    [related-code: TIM-Net_SER fixed-length inputs; the centring rule is spec §6.4]. Works on the
    last axis, so it also cuts per-sample truth arrays in step with the waveform.
    """
    if n is None:
        return y
    n = int(n)
    length = y.shape[-1]
    if length > n:
        start = (length - n) // 2
        return y[..., start : start + n]
    if length < n:
        left = (n - length) // 2
        pad = [(0, 0)] * (y.ndim - 1) + [(left, n - length - left)]
        return np.pad(y, pad)
    return y


def crop_offset(length: int, n: int | None) -> int:
    """Signed shift applied by fix_length_center: output index = input index - offset."""
    if n is None or length == n:
        return 0
    return (length - n) // 2 if length > n else -((n - length) // 2)


def default_f0_frames(sample_rate: int) -> tuple[int, int]:
    """pyin (frame_length, hop): 1024/160 at 16 kHz, 2048/256 at 22.05 kHz [spec §6.4].

    Other rates: the power of two covering 64 ms, and a 10 ms hop [our choice].
    """
    if sample_rate == 16000:
        return 1024, 160
    if sample_rate == 22050:
        return 2048, 256
    return 2 ** math.ceil(math.log2(0.064 * sample_rate)), int(round(0.010 * sample_rate))


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Every parameter of feature extraction; `hash()` keys the cache.

    Defaults are spec §6.4: MFCC at 22.05 kHz with librosa's parameters [related-code:
    TIM-Net_SER], log-mel of the shared baselines, pyin F0 60-600 Hz, energy in dB on the MFCC
    framing. `kinds` picks what `extract` returns; parameters of kinds not requested are still
    part of the hash [our choice: one key, no per-kind bookkeeping].
    """

    kinds: tuple[str, ...] = ("mfcc",)
    sample_rate: int = 22050
    max_samples: int | None = None  # fixed length before features (None = natural)
    # MFCC (and energy framing)
    n_mfcc: int = 39
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int = 2048
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    power: float = 2.0
    top_db: float | None = 80.0
    dct_type: int = 2
    dct_norm: str | None = "ortho"
    lifter: float = 0.0
    cmvn: bool = False  # per-utterance mean/variance normalisation of MFCC [our choice, off]
    # Log-mel (shared baselines)
    mel_sample_rate: int | None = None  # None = sample_rate
    mel_n_fft: int = 512
    mel_win_length: int = 400
    mel_hop_length: int = 160
    mel_n_mels: int = 80
    mel_fmin: float = 20.0
    mel_fmax: float | None = 8000.0
    mel_power: float = 2.0
    mel_log_offset: float = 1e-6
    # pyin F0
    f0_fmin: float = 60.0
    f0_fmax: float = 600.0
    f0_frame_length: int | None = None  # None = default_f0_frames(sample_rate)
    f0_hop_length: int | None = None
    # Energy: 20 log10(rms + offset) on the MFCC framing
    energy_offset: float = 1e-5
    version: int = FEATURE_VERSION

    def __post_init__(self):
        kinds = (self.kinds,) if isinstance(self.kinds, str) else tuple(self.kinds)
        bad = [k for k in kinds if k not in KINDS]
        if bad or not kinds:
            raise ValueError(f"feature kinds must be a non-empty subset of {KINDS}, got {kinds}")
        object.__setattr__(self, "kinds", kinds)
        # Resolve rate-dependent defaults now so the hash records the values actually used.
        fl, hop = default_f0_frames(self.sample_rate)
        if self.f0_frame_length is None:
            object.__setattr__(self, "f0_frame_length", fl)
        if self.f0_hop_length is None:
            object.__setattr__(self, "f0_hop_length", hop)
        if self.mel_sample_rate is None:
            object.__setattr__(self, "mel_sample_rate", self.sample_rate)
        if self.mel_sample_rate != self.sample_rate:
            raise ValueError(
                "mel_sample_rate must equal sample_rate (audio is loaded once per config); "
                "use a separate FeatureConfig for log-mel at another rate"
            )

    @classmethod
    def from_dict(cls, d) -> FeatureConfig:
        """From a plain dict or ml_collections ConfigDict (e.g. `config.data.features`)."""
        d = dict(d.to_dict() if hasattr(d, "to_dict") else d)
        known = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"unknown feature config keys {extra}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["kinds"] = list(d["kinds"])
        return d

    def hash(self) -> str:
        """sha1 of the sorted JSON of every field; stable across processes and machines."""
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def replace(self, **kw) -> FeatureConfig:
        return dataclasses.replace(self, **kw)

    def n_frames(self, n_samples: int) -> int:
        """T = 1 + floor(L / hop) with centring (spec §3.1)."""
        return 1 + int(n_samples) // self.hop_length


def mfcc_config(**kw) -> FeatureConfig:
    """Spec §6.4 MFCC config (paper scale: 22.05 kHz, 39 coefficients)."""
    kw.setdefault("kinds", ("mfcc",))
    return FeatureConfig(**kw)


def logmel_config(**kw) -> FeatureConfig:
    """Shared-baseline log-mel at 16 kHz."""
    kw.setdefault("sample_rate", 16000)
    kw.setdefault("kinds", ("logmel",))
    return FeatureConfig(**kw)


def f0_config(sample_rate: int = 16000, **kw) -> FeatureConfig:
    """pyin F0 with the spec §6.4 frame/hop for the rate."""
    kw.setdefault("kinds", ("f0",))
    return FeatureConfig(sample_rate=sample_rate, **kw)


# -- individual features (all return float32, time-major) -----------------------------------
def mfcc(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """(T, n_mfcc) MFCC exactly as librosa.feature.mfcc with the spec §6.4 arguments.

    The dB step is done explicitly (power_to_db, top_db) because librosa.feature.mfcc would
    forward a top_db argument to melspectrogram; with top_db=80 the result is identical.
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=cfg.win_length, window=cfg.window, center=cfg.center, pad_mode=cfg.pad_mode,
        power=cfg.power, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
    )
    s = librosa.power_to_db(mel, top_db=cfg.top_db)
    m = librosa.feature.mfcc(S=s, n_mfcc=cfg.n_mfcc, dct_type=cfg.dct_type, norm=cfg.dct_norm,
                             lifter=cfg.lifter).T
    if cfg.cmvn:
        m = (m - m.mean(0)) / (m.std(0) + 1e-8)
    return np.ascontiguousarray(m, dtype=np.float32)


def logmel(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """(T, mel_n_mels) log(mel + 1e-6) with the shared-baseline parameters [spec §6.4]."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.mel_sample_rate, n_fft=cfg.mel_n_fft, win_length=cfg.mel_win_length,
        hop_length=cfg.mel_hop_length, n_mels=cfg.mel_n_mels, fmin=cfg.mel_fmin,
        fmax=cfg.mel_fmax, power=cfg.mel_power, center=cfg.center, pad_mode=cfg.pad_mode,
    )
    return np.ascontiguousarray(np.log(mel + cfg.mel_log_offset).T, dtype=np.float32)


def f0_pyin(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """(T_f0,) pyin F0 in Hz, NaN where unvoiced [spec §6.4]."""
    import librosa

    f0, _, _ = librosa.pyin(
        y, fmin=cfg.f0_fmin, fmax=cfg.f0_fmax, sr=cfg.sample_rate,
        frame_length=cfg.f0_frame_length, hop_length=cfg.f0_hop_length, center=cfg.center,
        pad_mode=cfg.pad_mode,
    )
    return f0.astype(np.float32)


def energy_db(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """(T,) 20 log10(rms + 1e-5) with frame n_fft, hop hop_length [spec §6.4]."""
    import librosa

    rms = librosa.feature.rms(y=y, frame_length=cfg.n_fft, hop_length=cfg.hop_length,
                              center=cfg.center, pad_mode=cfg.pad_mode)[0]
    return (20.0 * np.log10(rms + cfg.energy_offset)).astype(np.float32)


_EXTRACTORS = {"mfcc": mfcc, "logmel": logmel, "f0": f0_pyin, "energy": energy_db}


def prepare(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Mono float32 at cfg.max_samples (crop/pad); the loader has already resampled."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected a mono waveform, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("waveform contains NaN or inf samples")
    return fix_length_center(y, cfg.max_samples)


def extract(y: np.ndarray, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """{kind: array} for every kind in cfg.kinds, after the fixed-length cut."""
    y = prepare(y, cfg)
    if y.size == 0:
        raise ValueError("empty waveform")
    return {k: _EXTRACTORS[k](y, cfg) for k in cfg.kinds}


def f0_statistics(f0_hz: np.ndarray) -> dict[str, float]:
    """Statistics over voiced (finite, > 0) frames only [spec §6.4]; NaN when none are voiced.

    width_hz is the 5-95 % interval in Hz, the calibration quantity of spec §6.6.
    """
    f = np.asarray(f0_hz, dtype=np.float64)
    v = f[np.isfinite(f) & (f > 0)]
    out = {"voiced_fraction": float(v.size / f.size) if f.size else 0.0, "n_voiced": int(v.size)}
    if v.size == 0:
        nan = float("nan")
        out.update(median=nan, mean=nan, std=nan, p05=nan, p95=nan, width_hz=nan,
                   log_mean=nan, log_std=nan)
        return out
    p05, p50, p95 = np.percentile(v, [5.0, 50.0, 95.0])
    lv = np.log(v)
    out.update(median=float(p50), mean=float(v.mean()), std=float(v.std()), p05=float(p05),
               p95=float(p95), width_hz=float(p95 - p05), log_mean=float(lv.mean()),
               log_std=float(lv.std()))
    return out


def stack_fixed(features: Sequence[np.ndarray]) -> np.ndarray:
    """(N, T, F) batch of equal-shape feature arrays with a clear error if shapes differ."""
    shapes = {f.shape for f in features}
    if len(shapes) > 1:
        raise ValueError(f"feature shapes differ ({sorted(shapes)}); set max_samples")
    return np.stack(features)
