"""Phone table, per-language inventories, sentences and their segment timelines [our choice]."""

from __future__ import annotations

import dataclasses

import numpy as np

from affectjax.data.synth import streams


@dataclasses.dataclass(frozen=True)
class Phone:
    """One entry of the global phone table.

    kind: 'sil' | 'vowel' | 'plosive' | 'fricative' | 'nasal'. Formants/bandwidths (Hz) are for a
    reference adult male tract (speaker vtl 1.0); noise_hz/noise_oct shape the frication or
    burst noise (centre, width in octaves) for consonants.
    """

    name: str
    kind: str
    voiced: bool
    formants: tuple[float, float, float, float] = (500.0, 1500.0, 2500.0, 3500.0)
    bandwidths: tuple[float, float, float, float] = (60.0, 90.0, 120.0, 150.0)
    amp: float = 1.0  # voiced-source amplitude relative to a vowel
    noise_amp: float = 0.0  # frication / burst amplitude relative to a vowel's voiced RMS
    noise_hz: float = 4000.0
    noise_oct: float = 1.0


_BW = (60.0, 90.0, 120.0, 150.0)
# Ten vowel templates: Peterson & Barney (1952) male averages, F4 fixed at 3500 Hz.
VOWELS: tuple[Phone, ...] = tuple(
    Phone(n, "vowel", True, f, _BW)
    for n, f in [
        ("i", (270.0, 2290.0, 3010.0, 3500.0)),
        ("I", (390.0, 1990.0, 2550.0, 3500.0)),
        ("e", (440.0, 2100.0, 2700.0, 3500.0)),
        ("E", (530.0, 1840.0, 2480.0, 3500.0)),
        ("ae", (660.0, 1720.0, 2410.0, 3500.0)),
        ("a", (730.0, 1090.0, 2440.0, 3500.0)),
        ("O", (570.0, 840.0, 2410.0, 3500.0)),
        ("o", (450.0, 800.0, 2500.0, 3500.0)),
        ("U", (440.0, 1020.0, 2240.0, 3500.0)),
        ("u", (300.0, 870.0, 2240.0, 3500.0)),
    ]
)
_NASAL_BW = (80.0, 200.0, 250.0, 300.0)
CONSONANTS: tuple[Phone, ...] = (
    Phone("p", "plosive", False, amp=0.0, noise_amp=0.6, noise_hz=900.0, noise_oct=1.5),
    Phone("t", "plosive", False, amp=0.0, noise_amp=0.7, noise_hz=4000.0, noise_oct=1.2),
    Phone("k", "plosive", False, amp=0.0, noise_amp=0.7, noise_hz=2000.0, noise_oct=1.0),
    Phone("b", "plosive", True, amp=0.12, noise_amp=0.4, noise_hz=900.0, noise_oct=1.5),
    Phone("d", "plosive", True, amp=0.12, noise_amp=0.5, noise_hz=3500.0, noise_oct=1.2),
    Phone("g", "plosive", True, amp=0.12, noise_amp=0.5, noise_hz=1800.0, noise_oct=1.0),
    Phone("f", "fricative", False, amp=0.0, noise_amp=0.12, noise_hz=5000.0, noise_oct=2.5),
    Phone("s", "fricative", False, amp=0.0, noise_amp=0.35, noise_hz=6000.0, noise_oct=0.9),
    Phone("S", "fricative", False, amp=0.0, noise_amp=0.35, noise_hz=3200.0, noise_oct=0.9),
    Phone("x", "fricative", False, amp=0.0, noise_amp=0.2, noise_hz=1600.0, noise_oct=1.0),
    Phone("v", "fricative", True, amp=0.25, noise_amp=0.08, noise_hz=5000.0, noise_oct=2.5),
    Phone("z", "fricative", True, amp=0.25, noise_amp=0.2, noise_hz=6000.0, noise_oct=0.9),
    Phone("m", "nasal", True, (250.0, 1100.0, 2200.0, 3300.0), _NASAL_BW, amp=0.35),
    Phone("n", "nasal", True, (250.0, 1500.0, 2500.0, 3300.0), _NASAL_BW, amp=0.35),
    Phone("N", "nasal", True, (250.0, 2000.0, 2700.0, 3300.0), _NASAL_BW, amp=0.3),
)
SILENCE = Phone("sil", "sil", False, amp=0.0)
# Phone ids in frame truth index this table; 0 is silence.
PHONES: tuple[Phone, ...] = (SILENCE, *VOWELS, *CONSONANTS)
PHONE_IDS: dict[str, int] = {p.name: i for i, p in enumerate(PHONES)}
_VOWEL_IDS = np.arange(1, 1 + len(VOWELS))
_CONS_IDS = np.arange(1 + len(VOWELS), len(PHONES))

# Segment durations at rate 1 [spec §6.6].
CONSONANT_S = 0.060
VOWEL_S = 0.120
STRESS_LENGTHENING = 1.3
EDGE_SILENCE_S = 0.150


@dataclasses.dataclass(frozen=True)
class Language:
    """A phone inventory: 5-7 vowels, a consonant subset, per-language vowel colouring."""

    seed: int
    vowel_ids: tuple[int, ...]
    consonant_ids: tuple[int, ...]
    # Per-language multiplicative offsets of each vowel's formants (accent / dialect colour).
    vowel_formant_scale: dict[int, tuple[float, float, float, float]]

    def formants(self, phone_id: int) -> np.ndarray:
        base = np.asarray(PHONES[phone_id].formants, dtype=np.float64)
        return base * np.asarray(self.vowel_formant_scale.get(phone_id, (1.0,) * 4))


def make_language(language_seed: int) -> Language:
    """Inventory drawn from its own stream, so source and target share it unless it changes."""
    rng = np.random.default_rng(streams.language_key(language_seed))
    n_v = int(rng.integers(5, 8))
    vowel_ids = np.sort(rng.choice(_VOWEL_IDS, size=n_v, replace=False))
    # Always keep one consonant of each manner so every language has bursts, hiss and nasals.
    kinds = np.array([PHONES[i].kind for i in _CONS_IDS])
    must = [int(rng.choice(_CONS_IDS[kinds == k])) for k in ("plosive", "fricative", "nasal")]
    rest = [int(i) for i in _CONS_IDS if int(i) not in must]
    n_extra = int(rng.integers(3, 8))
    extra = rng.choice(rest, size=n_extra, replace=False).tolist()
    cons = tuple(sorted(must + extra))
    scale = {
        int(v): tuple(float(s) for s in np.exp(0.06 * rng.standard_normal(4)))
        for v in vowel_ids
    }
    return Language(int(language_seed), tuple(int(v) for v in vowel_ids), cons, scale)


@dataclasses.dataclass(frozen=True)
class Sentence:
    """Content item: CV syllables, stressed positions and their accent heights (log units)."""

    index: int
    consonants: tuple[int, ...]
    vowels: tuple[int, ...]
    stressed: tuple[bool, ...]
    accent_heights: tuple[float, ...]  # one per stressed syllable, in order

    @property
    def n_syllables(self) -> int:
        return len(self.vowels)


def draw_sentence(rng: np.random.Generator, language: Language, index: int = 0) -> Sentence:
    """6-12 CV syllables, one or two stressed with accent bumps of 0.15-0.3 [spec §6.6]."""
    n = int(rng.integers(6, 13))
    cons = rng.choice(language.consonant_ids, size=n)
    vows = rng.choice(language.vowel_ids, size=n)
    n_stress = int(rng.integers(1, 3))
    pos = np.sort(rng.choice(n, size=n_stress, replace=False))
    stressed = np.zeros(n, dtype=bool)
    stressed[pos] = True
    heights = rng.uniform(0.15, 0.30, size=n_stress)
    return Sentence(
        index=int(index),
        consonants=tuple(int(c) for c in cons),
        vowels=tuple(int(v) for v in vows),
        stressed=tuple(bool(s) for s in stressed),
        accent_heights=tuple(float(h) for h in heights),
    )


def make_sentence(seed: int, corpus_id: int, index: int, language: Language) -> Sentence:
    return draw_sentence(np.random.default_rng(streams.sentence_key(seed, corpus_id, index)),
                         language, index)


@dataclasses.dataclass(frozen=True)
class Timeline:
    """Segments of one utterance in samples: phone ids, start/end sample, syllable index."""

    phone_ids: np.ndarray  # (S,)
    starts: np.ndarray  # (S,) sample index
    ends: np.ndarray  # (S,)
    syllable: np.ndarray  # (S,) -1 for silence
    stressed: np.ndarray  # (S,) bool: segment belongs to a stressed syllable
    n_samples: int
    speech_start: int
    speech_end: int

    def per_sample(self, values: np.ndarray) -> np.ndarray:
        return np.repeat(values, self.ends - self.starts)


def build_timeline(
    sentence: Sentence,
    rate: float,
    sample_rate: int,
    rng: np.random.Generator | None = None,
    segment_sd: float = 0.0,
) -> Timeline:
    """Durations C 60 ms, V 120 ms (stressed x 1.3), all / rate; 150 ms silence each end.

    segment_sd adds independent lognormal noise per segment [our choice] so that repeated takes
    are not metronomic; it averages out of the utterance duration.
    """
    n = sentence.n_syllables
    ids, durs, syl, st = [PHONE_IDS["sil"]], [EDGE_SILENCE_S], [-1], [False]
    for k in range(n):
        s = sentence.stressed[k]
        ids += [sentence.consonants[k], sentence.vowels[k]]
        durs += [CONSONANT_S / rate, VOWEL_S * (STRESS_LENGTHENING if s else 1.0) / rate]
        syl += [k, k]
        st += [s, s]
    ids.append(PHONE_IDS["sil"])
    durs.append(EDGE_SILENCE_S)
    syl.append(-1)
    st.append(False)
    d = np.asarray(durs)
    if rng is not None and segment_sd > 0:
        d[1:-1] *= np.exp(segment_sd * rng.standard_normal(len(d) - 2))
    # Round cumulative boundaries (not each duration) so rounding errors do not accumulate.
    bounds = np.round(np.concatenate([[0.0], np.cumsum(d)]) * sample_rate).astype(np.int64)
    return Timeline(
        phone_ids=np.asarray(ids, dtype=np.int32),
        starts=bounds[:-1],
        ends=bounds[1:],
        syllable=np.asarray(syl, dtype=np.int32),
        stressed=np.asarray(st, dtype=bool),
        n_samples=int(bounds[-1]),
        speech_start=int(bounds[1]),
        speech_end=int(bounds[-2]),
    )
