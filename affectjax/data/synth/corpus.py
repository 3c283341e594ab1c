"""Utterance and corpus generation: factors -> waveform, metadata record and 20 ms frame truth."""

from __future__ import annotations

import csv
import functools
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import ndimage

from affectjax.data.features import crop_offset, fix_length_center
from affectjax.data.synth import channel as chan
from affectjax.data.synth import filter as filt
from affectjax.data.synth import language as lang
from affectjax.data.synth import presets, prosody, source, streams
from affectjax.data.synth.config import SynthConfig, resolve_shift

REFERENCE_VOWEL_DBFS = -28.0  # neutral vowel RMS before the channel: headroom for +6 dB anger
STRESS_GAIN_DB = 2.0  # [our choice]
SEGMENT_SD = 0.05  # per-segment duration noise (lognormal) [our choice]
ACCENT_TAKE_SD = 0.05  # per-take accent-height noise (lognormal) [our choice]
BURST_S = 0.015  # plosive burst length, release at 60 % of the segment [our choice]
RAMP_S = 0.010  # raised-cosine amplitude ramps [spec §6.6]
TRUTH_HOP_S = prosody.TRUTH_HOP_S
# Microphone self-noise under every channel, 'clean' included [our choice]: real recordings
# never contain digital silence, and pitch trackers report spurious voicing on the -150 dB
# filter tails that pure synthesis leaves in the pauses.
NOISE_FLOOR_DBFS = -80.0


class UtteranceKey(NamedTuple):
    """Factors that, with the config, fully determine an utterance."""

    speaker: int
    sentence: int
    emotion: str
    take: int = 0


class FrameTruth(NamedTuple):
    """Ground truth at 20 ms frames centred at k*hop, 1 + L // hop frames (librosa centring).

    f0: Hz, NaN where unvoiced; voicing: bool; phone: ids into `language.PHONES` (0 silence).
    """

    f0: np.ndarray
    voicing: np.ndarray
    phone: np.ndarray


class Utterance(NamedTuple):
    wave: np.ndarray  # float32, mono, config.sample_rate
    meta: dict[str, Any]
    truth: FrameTruth


# -- cached per-corpus factors ---------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _language(language_seed: int) -> lang.Language:
    return lang.make_language(language_seed)


@functools.lru_cache(maxsize=4096)
def _sentence(seed: int, corpus_id: int, index: int, language_seed: int) -> lang.Sentence:
    return lang.make_sentence(seed, corpus_id, index, _language(language_seed))


@functools.lru_cache(maxsize=1024)
def _speaker(cfg: SynthConfig, index: int) -> presets.Speaker:
    return presets.sample_speaker(cfg, index)


@functools.lru_cache(maxsize=16)
def _room(seed: int, corpus_id: int, sample_rate: int, rt60_s: float) -> np.ndarray | None:
    if rt60_s <= 0:
        return None
    rng = np.random.default_rng(streams.room_key(seed, corpus_id))
    return chan.room_impulse_response(sample_rate, rt60_s, rng)


def speaker_id(cfg: SynthConfig, index: int) -> str:
    return f"c{cfg.corpus_id}spk{index:02d}"


def sentence_id(cfg: SynthConfig, index: int) -> str:
    return f"c{cfg.corpus_id}sen{index:02d}"


# -- envelopes and tracks --------------------------------------------------------------------
def _ramp_smooth(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Turn steps into raised-cosine ramps of length RAMP_S, centred on each step.

    Convolving a step with a normalised half-sine gives exactly 0.5 (1 - cos) over the kernel.
    The envelopes are piecewise constant, so the convolution is done on their (sparse) first
    difference and integrated back: same result as np.convolve, ~50x cheaper.
    """
    m = max(2, int(round(RAMP_S * sample_rate)))
    k = np.sin(np.pi * (np.arange(m) + 0.5) / m)
    k /= k.sum()
    n = x.size
    d = np.diff(x, prepend=0.0)
    nz = np.flatnonzero(d)
    idx = (nz[:, None] + (m - (m - 1) // 2) + np.arange(m)[None, :]).ravel()
    buf = np.bincount(idx, weights=(d[nz, None] * k[None, :]).ravel(), minlength=n + 2 * m)
    return np.cumsum(buf)[m : m + n]


def _envelopes(tl: lang.Timeline, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample voiced-source and noise-source amplitudes."""
    ph = [lang.PHONES[i] for i in tl.phone_ids]
    stress = np.where(tl.stressed, 10 ** (STRESS_GAIN_DB / 20), 1.0)
    v_amp = np.array([p.amp for p in ph]) * np.where(
        [p.kind == "vowel" for p in ph], stress, 1.0
    )
    fric = np.array([p.noise_amp if p.kind == "fricative" else 0.0 for p in ph])
    env_v = _ramp_smooth(tl.per_sample(v_amp), sample_rate)
    env_n = tl.per_sample(fric)
    burst_n = max(1, int(round(BURST_S * sample_rate)))
    decay = np.exp(-np.arange(burst_n) / (0.3 * burst_n))
    for s, p in enumerate(ph):
        if p.kind == "plosive":
            b = tl.starts[s] + int(0.6 * (tl.ends[s] - tl.starts[s]))
            e = min(b + burst_n, tl.n_samples)
            env_n[b:e] += p.noise_amp * decay[: e - b]
    return env_v, _ramp_smooth(env_n, sample_rate)


def _segment_tracks(tl: lang.Timeline, language: lang.Language, vtl: float):
    """Per-segment formant/bandwidth targets and noise shapes.

    Obstruents and silences take the formants of the nearest following vowel (CV locus, the
    final silence the last vowel) so the smoothed tracks glide into each vowel [our choice].
    """
    kinds = [lang.PHONES[i].kind for i in tl.phone_ids]
    n = len(kinds)
    formants = np.zeros((n, 4))
    bws = np.zeros((n, 4))
    noise = np.zeros((n, 2))
    next_v = np.full(n, -1)
    nv = -1
    for s in range(n - 1, -1, -1):
        nv = s if kinds[s] == "vowel" else nv
        next_v[s] = nv
    last_v = max(s for s in range(n) if kinds[s] == "vowel")
    for s in range(n):
        p = lang.PHONES[tl.phone_ids[s]]
        noise[s] = (p.noise_hz * math.sqrt(vtl), p.noise_oct) if p.noise_amp else (3000.0, 2.0)
        if kinds[s] in ("vowel", "nasal"):
            src = s
        else:
            src = next_v[s] if next_v[s] >= 0 else last_v
        pid = int(tl.phone_ids[src])
        q = lang.PHONES[pid]
        f = language.formants(pid) if q.kind == "vowel" else np.asarray(q.formants)
        formants[s] = f * vtl
        bws[s] = q.bandwidths
    return formants, bws, noise


def _block_tracks(tl: lang.Timeline, seg_values: np.ndarray, sample_rate: int, smooth: int):
    """Per-segment values sampled at 5 ms block centres, smoothed in the log domain.

    Smoothing over `smooth` blocks is the coefficient interpolation of spec §6.6.
    """
    hop = filt.block_hop(sample_rate)
    j = filt.n_blocks(tl.n_samples, sample_rate)
    centres = np.minimum(np.arange(j) * hop, tl.n_samples - 1)
    seg = np.searchsorted(tl.ends, centres, side="right")
    vals = np.log(seg_values[np.minimum(seg, len(tl.ends) - 1)])
    if smooth > 1:
        k = np.hanning(smooth + 2)[1:-1]
        vals = ndimage.convolve1d(vals, k / k.sum(), axis=0, mode="nearest")
    return np.exp(vals)


# -- one utterance ---------------------------------------------------------------------------
def generate_utterance(
    config: SynthConfig,
    speaker: int,
    sentence: int,
    emotion: str | int,
    take: int = 0,
) -> Utterance:
    """Waveform (float32), metadata record and frame truth of one utterance [spec §6.6].

    Deterministic from np.random.default_rng([seed, corpus_id, speaker, sentence, emotion,
    take]) with emotion = index in presets.EMOTIONS; speakers, sentences, the language and the
    room come from their own streams, so any subset regenerates identically in any order.
    """
    cfg = resolve_shift(config)
    if isinstance(emotion, int | np.integer):
        emotion = presets.EMOTIONS[int(emotion)]
    emo_idx = presets.EMOTIONS.index(emotion)
    if not 0 <= speaker < cfg.n_speakers or not 0 <= sentence < cfg.n_sentences:
        raise ValueError(f"speaker {speaker} / sentence {sentence} outside the corpus config")
    sr = int(cfg.sample_rate)
    rng = np.random.default_rng(
        streams.utterance_key(cfg.seed, cfg.corpus_id, speaker, sentence, emo_idx, take)
    )
    spk = _speaker(cfg, speaker)
    language = _language(cfg.language_seed)
    sent = _sentence(cfg.seed, cfg.corpus_id, sentence, cfg.language_seed)
    pre = presets.scaled_preset(emotion, cfg.expressivity)

    # Per-take variation: lognormal sigma 0.04 on ratios, N(0, 1 dB) on energy [spec §6.6].
    z = rng.standard_normal(4)
    sd = presets.TAKE_RATIO_SD_LOG
    u = math.exp(sd * z[0])  # the spec's per-take F0 level factor
    rho = prosody.solve_rho(pre.width_ratio, pre.f0_ratio) * math.exp(sd * z[1])
    rate = spk.rate * pre.rate * math.exp(sd * z[2])
    energy = pre.energy_db + presets.TAKE_ENERGY_SD_DB * z[3] + spk.gain_db
    heights = np.asarray(sent.accent_heights) * np.exp(
        ACCENT_TAKE_SD * rng.standard_normal(len(sent.accent_heights))
    )
    tl = lang.build_timeline(sent, rate, sr, rng, SEGMENT_SD)
    n = tl.n_samples
    level = spk.f0_median_hz * cfg.f0_shift * pre.f0_ratio * u
    f0, voiced = prosody.f0_contour(
        tl, level, rho, heights, sr, drift=prosody.drift_knots(rng, n, sr)
    )

    env_v, env_n = _envelopes(tl, sr)
    jitter = pre.jitter_pct
    src_v = source.voiced_source(
        f0, env_v, sr, rng, jitter_pct=jitter, shimmer_pct=2.0 * jitter,
        tilt_db_oct=pre.tilt_db_oct + spk.tilt_db_oct, breath=pre.breath,
    )
    src_n = rng.standard_normal(n) * env_n

    seg_f, seg_b, seg_noise = _segment_tracks(tl, language, spk.vtl)
    smooth = max(1, int(round(0.025 / filt.BLOCK_S)))
    form = _block_tracks(tl, seg_f, sr, smooth)
    bw = _block_tracks(tl, seg_b, sr, smooth)
    nshape = _block_tracks(tl, seg_noise, sr, 1)
    n_fft = filt.fft_size(sr)
    h_v = filt.cascade_response(form, bw, sr, n_fft)
    h_n = filt.log_bump_response(nshape[:, 0], nshape[:, 1], sr, n_fft)
    y = filt.filter_frames([(src_v, h_v), (src_n, h_n)], sr, n)

    is_vowel = tl.per_sample(np.array([lang.PHONES[i].kind == "vowel" for i in tl.phone_ids]))
    vowel_rms = math.sqrt(float(np.mean(y[is_vowel] ** 2)))
    y *= 10 ** ((REFERENCE_VOWEL_DBFS + energy) / 20) / max(vowel_rms, 1e-12)

    y += 10 ** (NOISE_FLOOR_DBFS / 20) * rng.standard_normal(n)
    active = tl.per_sample(tl.phone_ids != lang.PHONE_IDS["sil"])
    room = _room(cfg.seed, cfg.corpus_id, sr, float(cfg.channel.rt60_s))
    y = chan.apply_channel(y, sr, active, cfg.channel, rng, room)
    y = np.clip(y, -1.0, 1.0)  # a real ADC clips; keeps written 16-bit wavs exact

    n_out = None if cfg.duration_s is None else int(round(cfg.duration_s * sr))
    wave = fix_length_center(y, n_out).astype(np.float32)
    truth = _frame_truth(f0, voiced, tl, sr, n_out)

    meta = {
        "path": None,
        "corpus": cfg.name,
        "speaker": speaker_id(cfg, speaker),
        "sex": spk.sex,
        "sentence": sentence_id(cfg, sentence),
        "emotion": emotion,
        "intensity": None,
        "extra": {
            "take": int(take),
            "speaker_index": int(speaker),
            "sentence_index": int(sentence),
            "emotion_index": int(emo_idx),
            "corpus_id": int(cfg.corpus_id),
            "seed": int(cfg.seed),
            "config_hash": config.hash(),
            "shift": float(config.shift),
            "sample_rate": sr,
            "speaker_f0_hz": spk.f0_median_hz,
            "speaker_vtl": spk.vtl,
            "speaker_rate": spk.rate,
            "f0_level_hz": float(level),
            "f0_ratio": float(pre.f0_ratio),
            "f0_take_factor": float(u),
            "rho": float(rho),
            "rate": float(rate),
            "energy_db": float(energy),
            "tilt_db_oct": float(pre.tilt_db_oct + spk.tilt_db_oct),
            "jitter_pct": float(jitter),
            "shimmer_pct": float(2.0 * jitter),
            "breath": float(pre.breath),
            "expressivity": float(cfg.expressivity),
            "f0_shift": float(cfg.f0_shift),
            "language_seed": int(cfg.language_seed),
            "n_syllables": sent.n_syllables,
            "natural_duration_s": n / sr,
            "speech_duration_s": (tl.speech_end - tl.speech_start) / sr,
            "channel": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in cfg.channel.__dict__.items()},
        },
    }
    return Utterance(wave, meta, truth)


def _frame_truth(f0, voiced, tl: lang.Timeline, sr: int, n_out: int | None) -> FrameTruth:
    """Sample the per-sample truth on the output's 20 ms grid, shifted by the crop/pad."""
    n = tl.n_samples
    length = n if n_out is None else n_out
    out_idx = prosody.truth_frame_index(length, sr)
    nat = out_idx + crop_offset(n, n_out)
    ok = (nat >= 0) & (nat < n)
    natc = np.clip(nat, 0, n - 1)
    v = ok & voiced[natc]
    f = np.where(v, f0[natc], np.nan).astype(np.float32)
    phone = np.where(ok, tl.per_sample(tl.phone_ids)[natc], lang.PHONE_IDS["sil"])
    return FrameTruth(f, v, phone.astype(np.int16))


# -- corpora ---------------------------------------------------------------------------------
def corpus_keys(config: SynthConfig) -> list[UtteranceKey]:
    """Full factorial speaker x sentence x emotion x take, thinned by class_prior.

    The keep decision is drawn from its own per-utterance stream, so it is stable under
    subsetting and does not perturb the audio.
    """
    keys = []
    prior = config.class_prior
    for spk in range(config.n_speakers):
        for sen in range(config.n_sentences):
            for ci, emo in enumerate(config.emotions):
                for take in range(config.takes):
                    if prior is not None:
                        e = presets.EMOTIONS.index(emo)
                        r = np.random.default_rng(
                            streams.keep_key(config.seed, config.corpus_id, spk, sen, e, take)
                        ).random()
                        if r >= prior[ci]:
                            continue
                    keys.append(UtteranceKey(spk, sen, emo, take))
    return keys


def utterance_wave(config: SynthConfig, key: UtteranceKey) -> np.ndarray:
    return generate_utterance(config, *key).wave


def utterance_source(config: SynthConfig, key: UtteranceKey) -> Callable[[], np.ndarray]:
    """Picklable zero-argument waveform source for FeatureCache.extract (runs in the worker)."""
    return functools.partial(utterance_wave, config, UtteranceKey(*key))


def utterance_identity(config: SynthConfig, key: UtteranceKey) -> str:
    """Feature-cache identity of a generated utterance: config hash + utterance key."""
    from affectjax.data.feature_cache import generated_identity

    return generated_identity(config.hash(), tuple(UtteranceKey(*key)))


def _generate_chunk(config: SynthConfig, keys: Sequence[UtteranceKey]) -> list[Utterance]:
    return [generate_utterance(config, *k) for k in keys]


def generate_corpus(
    config: SynthConfig,
    keys: Iterable[UtteranceKey] | None = None,
    *,
    workers: int = 1,
    progress: bool = False,
    chunksize: int = 32,
) -> list[Utterance]:
    """Generate every utterance of `corpus_keys(config)` (or the given keys), in key order.

    workers > 1 uses a process pool; the output is identical to the serial run.
    """
    keys = list(corpus_keys(config) if keys is None else keys)
    bar = _progress(len(keys), progress, f"synth {config.name}")
    if workers <= 1 or len(keys) <= chunksize:
        out = []
        for k in keys:
            out.append(generate_utterance(config, *k))
            bar.update(1)
        bar.close()
        return out
    from concurrent.futures import ProcessPoolExecutor

    from affectjax.data.feature_cache import process_context

    chunks = [keys[i : i + chunksize] for i in range(0, len(keys), chunksize)]
    results: list[list[Utterance]] = []
    with ProcessPoolExecutor(workers, mp_context=process_context()) as ex:
        for res in ex.map(_generate_chunk, [config] * len(chunks), chunks):
            results.append(res)
            bar.update(len(res))
    bar.close()
    return [u for r in results for u in r]


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="utt")


MANIFEST_COLUMNS = ("path", "corpus", "speaker", "sex", "sentence", "emotion", "intensity", "take")


def utterance_filename(meta: dict[str, Any]) -> str:
    e = meta["extra"]
    return f"{meta['speaker']}_{meta['sentence']}_{meta['emotion']}_t{e['take']}.wav"


def write_corpus(
    config: SynthConfig,
    out_dir: str | os.PathLike,
    *,
    workers: int = 1,
    progress: bool = False,
    save_truth: bool = True,
    subtype: str = "PCM_16",
    on_utterance: Callable[[Utterance], None] | None = None,
) -> Path:
    """Write <out>/wav/*.wav, <out>/truth/*.npz, <out>/manifest.csv and <out>/config.json.

    manifest.csv has the record columns (path relative to out_dir) plus every realised scalar
    parameter; returns the manifest path.
    """
    import soundfile as sf

    out = Path(out_dir)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    if save_truth:
        (out / "truth").mkdir(exist_ok=True)
    utts = generate_corpus(config, workers=workers, progress=progress)
    rows = []
    for utt in utts:
        name = utterance_filename(utt.meta)
        sf.write(out / "wav" / name, utt.wave, config.sample_rate, subtype=subtype)
        if save_truth:
            np.savez(out / "truth" / (name[:-4] + ".npz"), **utt.truth._asdict())
        row = {k: utt.meta.get(k) for k in MANIFEST_COLUMNS if k in utt.meta}
        row["path"] = f"wav/{name}"
        row["take"] = utt.meta["extra"]["take"]
        row.update({k: v for k, v in utt.meta["extra"].items()
                    if not isinstance(v, dict) and k not in row})
        rows.append(row)
        if on_utterance is not None:
            on_utterance(utt)
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else list(MANIFEST_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    (out / "config.json").write_text(
        json.dumps({"config": config.to_dict(), "config_hash": config.hash()}, indent=2)
    )
    return manifest
