"""Calibration of the procedural emotional-speech generator against spec §6.6 targets (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from affectjax.data import features as F
from affectjax.data import synth
from affectjax.data.feature_cache import FeatureCache
from affectjax.data.synth.corpus import utterance_identity

pytestmark = pytest.mark.slow

# Spec §6.6 bold targets (Emo-DB, Praat): F0 level and 5-95 % Hz-width ratios to neutral.
LEVEL = {"anger": 1.75, "happiness": 1.65, "fear": 1.52, "disgust": 1.18, "boredom": 0.95,
         "sadness": 0.91}
WIDTH = {"anger": 2.03, "happiness": 2.49, "fear": 1.44, "disgust": 1.12, "boredom": 1.23,
         "sadness": 0.68}


def _pair_medians(values: dict, emotions, speakers, sentences):
    """Median over speaker x sentence pairs of value(emotion) / value(neutral)."""
    out = {}
    for e in emotions:
        r = [values[(s, k, e)] / values[(s, k, "neutral")] for s in speakers for k in sentences]
        out[e] = float(np.median(r))
    return out


@pytest.fixture(scope="module")
def calibration_corpus():
    # 4 speakers (interleaved m, f, m, f), 5 sentences, 7 emotions, clean, natural length.
    cfg = synth.SynthConfig(n_speakers=4, female_fraction=0.5, n_sentences=5, takes=1,
                            duration_s=None, sample_rate=16000, expressivity=1.0)
    keys = synth.corpus_keys(cfg)
    utts = synth.generate_corpus(cfg, keys)
    return cfg, keys, utts


def test_calibration(calibration_corpus, tmp_path):
    cfg, keys, utts = calibration_corpus
    assert sorted({u.meta["sex"] for u in utts}) == ["female", "male"]
    assert sum(u.meta["sex"] == "female" for u in utts) == len(utts) // 2

    # pyin (spec §6.4 parameters at 16 kHz), two workers, cached like any other feature.
    fcfg = F.f0_config(sample_rate=cfg.sample_rate)
    cache = FeatureCache(fcfg, tmp_path / "cache", workers=2, progress=False)
    f0s = cache.extract([u.wave for u in utts], [utterance_identity(cfg, k) for k in keys])

    idx = {(k.speaker, k.sentence, k.emotion): i for i, k in enumerate(keys)}
    spk, sen = range(cfg.n_speakers), range(cfg.n_sentences)
    level = {key: float(np.nanmedian(f0s[i]["f0"])) for key, i in idx.items()}
    width_true = {key: F.f0_statistics(utts[i].truth.f0)["width_hz"] for key, i in idx.items()}
    width_pyin = {key: F.f0_statistics(f0s[i]["f0"])["width_hz"] for key, i in idx.items()}
    dur = {key: utts[i].meta["extra"]["speech_duration_s"] for key, i in idx.items()}

    emos = list(LEVEL)
    lv = _pair_medians(level, emos, spk, sen)
    wt = _pair_medians(width_true, emos, spk, sen)
    wp = _pair_medians(width_pyin, emos, spk, sen)
    du = _pair_medians(dur, emos, spk, sen)
    rows = []
    for e in emos:
        inv_rate = 1.0 / synth.PRESETS[e].rate
        rows.append(f"{e:10s} level {lv[e]:.3f} (target {LEVEL[e]:.2f})  width true {wt[e]:.3f} "
                    f"pyin {wp[e]:.3f} (target {WIDTH[e]:.2f})  duration {du[e]:.3f} "
                    f"(1/rate {inv_rate:.3f})")
    print("\n".join(rows))
    for e in emos:
        assert abs(lv[e] / LEVEL[e] - 1) <= 0.05, (e, lv[e])
        assert abs(wt[e] / WIDTH[e] - 1) <= 0.10, (e, wt[e])
        assert abs(du[e] * synth.PRESETS[e].rate - 1) <= 0.05, (e, du[e])
