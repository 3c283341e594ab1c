"""Generator knobs (spec §6.6 names), the `shift` mapping, stable hashing and task presets."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from affectjax.data.synth.presets import DEFAULT_EMOTIONS, EMOTIONS

# Bump when a change to the generator alters its output for an unchanged config: it is part of
# the config hash, so feature caches keyed on generated audio are invalidated.
GENERATOR_VERSION = 1

TELEPHONE_BAND_HZ = (300.0, 3400.0)
LANGUAGE_SEED_SHIFT = 7919  # added to language_seed when shift >= 0.5 [our choice: any new value]


@dataclasses.dataclass(frozen=True)
class SpeakerConfig:
    """Speaker population: lognormal F0 per sex, formant scale (vtl) and speaking-rate spread."""

    f0_median_hz: tuple[float, float] = (115.0, 210.0)  # (male, female)
    f0_sd_log: float = 0.12
    vtl_sd: float = 0.04
    vtl_female_mean: float = 1.12
    rate_sd: float = 0.05


@dataclasses.dataclass(frozen=True)
class ChannelConfig:
    """Corpus-level recording chain [spec §6.6]."""

    bandpass_hz: tuple[float, float] = (50.0, 7800.0)
    rt60_s: float = 0.0
    snr_db: float | None = None  # None = clean
    noise_color: str = "pink"  # white | pink | brown
    mic_tilt_db_oct: float = 0.0
    codec: str = "none"  # none | mulaw8 | tel8k
    peak_norm: bool = False


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """All knobs of one procedural corpus (`config.data.synth` / `corpora.<name>`).

    corpus_id enters every seed, so two corpora with the same seed still have different
    speakers and sentences; `shift` is applied by `resolve_shift` (spec §6.6 mapping).
    class_prior: None = full factorial, else a keep fraction per emotion (mapping or a sequence
    aligned with `emotions`).
    """

    seed: int = 0
    corpus_id: int = 0
    name: str = "synth"
    sample_rate: int = 16000
    duration_s: float | None = 2.0
    n_speakers: int = 8
    female_fraction: float = 0.5
    speaker: SpeakerConfig = dataclasses.field(default_factory=SpeakerConfig)
    n_sentences: int = 10
    takes: int = 1
    language_seed: int = 0
    emotions: tuple[str, ...] = DEFAULT_EMOTIONS
    class_prior: tuple[float, ...] | None = None
    expressivity: float = 1.0
    f0_shift: float = 1.0
    channel: ChannelConfig = dataclasses.field(default_factory=ChannelConfig)
    shift: float = 0.0

    def __post_init__(self):
        emotions = tuple(str(e) for e in self.emotions)
        unknown = [e for e in emotions if e not in EMOTIONS]
        if unknown:
            raise ValueError(f"unknown synthetic emotions {unknown}; known: {list(EMOTIONS)}")
        object.__setattr__(self, "emotions", emotions)
        prior = self.class_prior
        if prior is not None:
            if isinstance(prior, Mapping):
                missing = [e for e in emotions if e not in prior]
                if missing:
                    raise ValueError(f"class_prior lacks {missing}")
                prior = tuple(float(prior[e]) for e in emotions)
            else:
                prior = tuple(float(p) for p in prior)
                if len(prior) != len(emotions):
                    raise ValueError(
                        f"class_prior has {len(prior)} values for {len(emotions)} emotions"
                    )
            if any(not 0.0 <= p <= 1.0 for p in prior):
                raise ValueError(f"class_prior values must be keep fractions in [0, 1]: {prior}")
            object.__setattr__(self, "class_prior", prior)
        if not 0.0 <= self.shift <= 1.0:
            raise ValueError(f"shift must be in [0, 1], got {self.shift}")
        if not 0.0 <= self.female_fraction <= 1.0:
            raise ValueError(f"female_fraction must be in [0, 1], got {self.female_fraction}")

    # -- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SynthConfig:
        """From a plain dict or ml_collections ConfigDict (nested `speaker`, `channel`)."""
        d = dict(d.to_dict() if hasattr(d, "to_dict") else d)
        known = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"unknown synth config keys {extra}")
        if "speaker" in d and not isinstance(d["speaker"], SpeakerConfig):
            d["speaker"] = _sub(SpeakerConfig, d["speaker"])
        if "channel" in d and not isinstance(d["channel"], ChannelConfig):
            d["channel"] = _sub(ChannelConfig, d["channel"])
        return cls(**d)

    def replace(self, **kw) -> SynthConfig:
        return dataclasses.replace(self, **kw)

    def hash(self) -> str:
        """Stable across processes and machines: sha1 of the sorted JSON plus the code version."""
        payload = json.dumps(
            {"generator_version": GENERATOR_VERSION, **self.to_dict()}, sort_keys=True
        )
        return hashlib.sha1(payload.encode()).hexdigest()[:16]


def _sub(cls, d):
    d = dict(d)
    for k in ("f0_median_hz", "bandpass_hz"):
        if k in d and d[k] is not None:
            d[k] = tuple(float(v) for v in d[k])
    return cls(**d)


def _jsonable(x):
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, Sequence) and not isinstance(x, str):
        return [_jsonable(v) for v in x]
    return x


def resolve_shift(config: SynthConfig) -> SynthConfig:
    """Fold `shift` into the knobs it controls and return a config with shift=0 [spec §6.6].

    f0_shift x 1.15^s; expressivity x (1 - 0.4 s); band-pass edges log-linearly from the
    config's towards (300, 3400) Hz; rt60 += 0.5 s; SNR 30 - 20 s dB (no noise at s = 0);
    mic tilt += -3 s dB/oct; new language_seed at s >= 0.5; mu-law codec at s >= 0.75.
    The base values are the config's own (a source preset), so shift measures distance from it.
    """
    s = float(config.shift)
    if s == 0.0:
        return config
    ch = config.channel
    lo0, hi0 = ch.bandpass_hz
    lo1, hi1 = TELEPHONE_BAND_HZ
    band = (math.exp((1 - s) * math.log(lo0) + s * math.log(lo1)),
            math.exp((1 - s) * math.log(hi0) + s * math.log(hi1)))
    snr = 30.0 - 20.0 * s
    if ch.snr_db is not None:
        snr = min(snr, ch.snr_db)
    channel = dataclasses.replace(
        ch,
        bandpass_hz=band,
        rt60_s=ch.rt60_s + 0.5 * s,
        snr_db=snr,
        mic_tilt_db_oct=ch.mic_tilt_db_oct - 3.0 * s,
        codec="mulaw8" if s >= 0.75 else ch.codec,
    )
    return dataclasses.replace(
        config,
        f0_shift=config.f0_shift * 1.15**s,
        expressivity=config.expressivity * (1.0 - 0.4 * s),
        language_seed=config.language_seed + (LANGUAGE_SEED_SHIFT if s >= 0.5 else 0),
        channel=channel,
        shift=0.0,
    )


# -- offline task presets -------------------------------------------------------------------
TASK_SHIFTS: dict[str, float] = {f"synth_s{p}": p / 100.0 for p in (0, 25, 50, 75, 100)}


def task_configs(
    name_or_shift: str | float,
    *,
    seed: int = 0,
    sample_rate: int = 22050,
    duration_s: float | None = 2.0,
    **overrides,
) -> tuple[SynthConfig, SynthConfig]:
    """(source, target) configs of an offline task `synth_s{0,25,50,75,100}` [spec §6.6, §7].

    7 classes, each side 8 speakers x 10 sentences x 2 takes = 1,120 clips; the target is the
    source preset with corpus_id 1 (new speakers and sentences) and the task's shift. Default
    22.05 kHz / 2.0 s to match the shared Emo-DB copy (spec §7). `overrides` are SynthConfig
    fields applied to both sides (e.g. smaller n_speakers for tests).
    """
    if isinstance(name_or_shift, str):
        if name_or_shift not in TASK_SHIFTS:
            raise ValueError(f"unknown synth task {name_or_shift!r}; known: {list(TASK_SHIFTS)}")
        shift, name = TASK_SHIFTS[name_or_shift], name_or_shift
    else:
        shift, name = float(name_or_shift), f"synth_s{round(100 * float(name_or_shift))}"
    knobs = dict(n_speakers=8, n_sentences=10, takes=2, emotions=DEFAULT_EMOTIONS)
    knobs.update(overrides)
    base = SynthConfig(seed=seed, sample_rate=sample_rate, duration_s=duration_s, **knobs)
    src = base.replace(name=f"{name}_src", corpus_id=0, shift=0.0)
    tgt = base.replace(name=f"{name}_tgt", corpus_id=1, shift=shift)
    return src, tgt
