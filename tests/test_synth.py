"""Procedural emotional-speech generator: determinism, shapes, metadata and the shift mapping."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from affectjax.data import synth
from affectjax.data.synth import presets
from affectjax.data.synth.config import LANGUAGE_SEED_SHIFT

SMALL = synth.SynthConfig(n_speakers=2, n_sentences=2, takes=2,
                          emotions=("neutral", "anger", "sadness"))


def _same(a: synth.Utterance, b: synth.Utterance) -> bool:
    return (
        a.wave.tobytes() == b.wave.tobytes()
        and all(x.tobytes() == y.tobytes() for x, y in zip(a.truth, b.truth))
        and a.meta == b.meta
    )


@pytest.fixture(scope="module")
def small_corpus():
    keys = synth.corpus_keys(SMALL)
    return keys, synth.generate_corpus(SMALL, keys)


def test_synth_determinism(small_corpus):
    keys, utts = small_corpus
    assert len(keys) == 2 * 2 * 3 * 2
    again = synth.generate_corpus(SMALL, keys)
    assert all(_same(a, b) for a, b in zip(utts, again))


def test_subset_in_any_order_regenerates_identically(small_corpus):
    keys, utts = small_corpus
    order = [7, 0, 23, 12, 5]
    for i in order:
        assert _same(synth.generate_utterance(SMALL, *keys[i]), utts[i])
    # a config that only lists some classes gives the same audio for them
    sub = SMALL.replace(emotions=("sadness",))
    u = synth.generate_utterance(sub, 1, 1, "sadness", 1)
    ref = utts[keys.index(synth.UtteranceKey(1, 1, "sadness", 1))]
    assert u.wave.tobytes() == ref.wave.tobytes()


def test_parallel_generation_equals_serial(small_corpus):
    keys, utts = small_corpus
    par = synth.generate_corpus(SMALL, keys, workers=2, chunksize=6)
    assert all(_same(a, b) for a, b in zip(utts, par))


def test_different_seeds_and_corpora_differ(small_corpus):
    keys, utts = small_corpus
    for other in (SMALL.replace(seed=1), SMALL.replace(corpus_id=1)):
        u = synth.generate_utterance(other, *keys[0])
        assert u.wave.tobytes() != utts[0].wave.tobytes()
    # takes differ from each other too
    assert utts[0].wave.tobytes() != utts[1].wave.tobytes()


def test_shapes_metadata_and_truth(small_corpus):
    keys, utts = small_corpus
    sr = SMALL.sample_rate
    n = int(round(SMALL.duration_s * sr))
    hop = int(round(synth.TRUTH_HOP_S * sr))
    for k, u in zip(keys, utts):
        assert u.wave.dtype == np.float32 and u.wave.shape == (n,)
        assert np.all(np.abs(u.wave) <= 1.0) and np.abs(u.wave).max() > 0.01
        f0, voicing, phone = u.truth
        assert f0.shape == voicing.shape == phone.shape == (1 + n // hop,)
        assert np.all(np.isnan(f0[~voicing])) and np.all(f0[voicing] > 50)
        assert phone.min() >= 0 and phone.max() < len(synth.PHONES)
        m = u.meta
        for field in ("path", "corpus", "speaker", "sex", "sentence", "emotion", "intensity"):
            assert field in m
        assert m["path"] is None and m["emotion"] == k.emotion
        assert m["extra"]["take"] == k.take and m["extra"]["speaker_index"] == k.speaker
        assert m["sex"] == presets.speaker_sex(k.speaker, SMALL.female_fraction)
    assert {u.meta["sex"] for u in utts} == {"male", "female"}
    other = synth.generate_utterance(SMALL.replace(corpus_id=1), 0, 0, "neutral", 0)
    assert other.meta["speaker"] != utts[0].meta["speaker"]


def test_natural_length_truth_matches_nominal_level():
    cfg = SMALL.replace(duration_s=None)
    u = synth.generate_utterance(cfg, 0, 1, "anger", 0)
    e = u.meta["extra"]
    assert u.wave.size == round(e["natural_duration_s"] * cfg.sample_rate)
    # re-centring makes the median over voiced truth frames the nominal level [spec §6.6]
    assert np.nanmedian(u.truth.f0) == pytest.approx(e["f0_level_hz"], rel=0.01)
    assert e["speech_duration_s"] == pytest.approx(e["natural_duration_s"] - 0.3, abs=1e-3)


def test_expressivity_scaling():
    flat = presets.scaled_preset("anger", 0.0)
    assert flat == presets.scaled_preset("neutral", 1.0)
    half = presets.scaled_preset("anger", 0.5)
    assert half.f0_ratio == pytest.approx(1.75**0.5)
    assert half.energy_db == pytest.approx(3.0)


def test_shift_mapping_values():
    base = synth.SynthConfig()
    assert synth.resolve_shift(base) == base  # clean at 0
    half = synth.resolve_shift(base.replace(shift=0.5))
    assert half.shift == 0.0
    assert half.f0_shift == pytest.approx(1.15**0.5)
    assert half.expressivity == pytest.approx(0.8)
    assert half.channel.bandpass_hz == pytest.approx((math.sqrt(50 * 300), math.sqrt(7800 * 3400)))
    assert half.channel.rt60_s == pytest.approx(0.25)
    assert half.channel.snr_db == pytest.approx(20.0)
    assert half.channel.mic_tilt_db_oct == pytest.approx(-1.5)
    assert half.language_seed == base.language_seed + LANGUAGE_SEED_SHIFT
    assert half.channel.codec == "none"
    q = synth.resolve_shift(base.replace(shift=0.25))
    assert q.language_seed == base.language_seed and q.channel.snr_db == pytest.approx(25.0)
    assert synth.resolve_shift(base.replace(shift=0.75)).channel.codec == "mulaw8"
    full = synth.resolve_shift(base.replace(shift=1.0))
    assert full.f0_shift == pytest.approx(1.15)
    assert full.expressivity == pytest.approx(0.6)
    assert full.channel.bandpass_hz == pytest.approx((300.0, 3400.0))
    assert full.channel.rt60_s == pytest.approx(0.5)
    assert full.channel.snr_db == pytest.approx(10.0)
    assert full.channel.mic_tilt_db_oct == pytest.approx(-3.0)
    assert full.channel.codec == "mulaw8"


def test_task_presets():
    assert sorted(synth.TASK_SHIFTS) == sorted(f"synth_s{p}" for p in (0, 25, 50, 75, 100))
    src, tgt = synth.task_configs("synth_s75")
    assert (src.shift, tgt.shift) == (0.0, 0.75)
    assert src.corpus_id != tgt.corpus_id and src.sample_rate == 22050
    for c in (src, tgt):
        assert len(c.emotions) == 7
        assert len(synth.corpus_keys(c)) == 8 * 10 * 2 * 7 == 1120
    assert src.hash() != tgt.hash() and src.hash() == synth.task_configs("synth_s75")[0].hash()


def test_class_prior_thins_stably():
    cfg = SMALL.replace(n_sentences=10, class_prior={"neutral": 1.0, "anger": 0.5, "sadness": 0.1})
    keys = synth.corpus_keys(cfg)
    counts = {e: sum(k.emotion == e for k in keys) for e in cfg.emotions}
    assert counts["neutral"] == 40 and counts["sadness"] < counts["anger"] < 40
    assert keys == synth.corpus_keys(cfg)


def test_config_roundtrip_and_errors():
    d = SMALL.to_dict()
    assert synth.SynthConfig.from_dict(d) == SMALL
    assert synth.SynthConfig.from_dict(d).hash() == SMALL.hash()
    with pytest.raises(ValueError, match="unknown synthetic emotions"):
        synth.SynthConfig(emotions=("joy",))
    with pytest.raises(ValueError, match="unknown synth config keys"):
        synth.SynthConfig.from_dict({"sedd": 1})


def test_channel_options_run():
    cfg = SMALL.replace(channel=synth.ChannelConfig(codec="tel8k", snr_db=15.0,
                                                    noise_color="brown", rt60_s=0.3,
                                                    peak_norm=True))
    u = synth.generate_utterance(cfg, 0, 0, "anger", 0)
    assert np.abs(u.wave).max() == pytest.approx(0.95, abs=1e-3)
    assert u.meta["extra"]["channel"]["codec"] == "tel8k"


def test_write_corpus(tmp_path):
    import soundfile as sf

    cfg = SMALL.replace(n_speakers=1, n_sentences=1, takes=1, emotions=("neutral", "fear"))
    manifest = synth.write_corpus(cfg, tmp_path)
    rows = list(csv.DictReader(open(manifest)))
    assert [r["emotion"] for r in rows] == ["neutral", "fear"]
    y, sr = sf.read(tmp_path / rows[0]["path"], dtype="float32")
    ref = synth.generate_utterance(cfg, 0, 0, "neutral", 0).wave
    assert sr == cfg.sample_rate and np.max(np.abs(y - ref)) < 1.0 / 2**15 + 1e-6
    assert (tmp_path / "config.json").exists() and len(list((tmp_path / "truth").glob("*"))) == 2
