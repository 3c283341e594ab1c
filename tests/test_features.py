"""Features (spec §6.4) and feature cache: shapes, crop/pad rule, hits, invalidation, workers."""

from __future__ import annotations

import os

import librosa
import numpy as np
import pytest
import soundfile as sf

from affectjax.data import features as F
from affectjax.data.feature_cache import FeatureCache, generated_identity, soundfile_loader


def _noise(n, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _tone(n, sr, hz=180.0):
    t = np.arange(n) / sr
    return (0.3 * np.sign(np.sin(2 * np.pi * hz * t)) * (t > 0.05)).astype(np.float32)


def test_fix_length_center():
    x = np.arange(1, 11, dtype=np.float32)
    np.testing.assert_array_equal(F.fix_length_center(x, 7), x[1:8])  # (10-7)//2 = 1 cut left
    np.testing.assert_array_equal(F.fix_length_center(x[:5], 8), [0, 1, 2, 3, 4, 5, 0, 0])
    np.testing.assert_array_equal(F.fix_length_center(x[:6], 8), [0, 1, 2, 3, 4, 5, 6, 0])
    assert F.fix_length_center(x, None) is x and F.fix_length_center(x, 10) is x
    assert F.crop_offset(10, 7) == 1 and F.crop_offset(5, 8) == -1 and F.crop_offset(5, 5) == 0


@pytest.mark.parametrize("length", [44100, 44099, 16384])
def test_shapes_follow_librosa_centring(length):
    cfg = F.FeatureConfig(kinds=("mfcc", "energy"))  # spec §6.4 defaults: 22.05 kHz, hop 512
    out = F.extract(_noise(length), cfg)
    t = 1 + length // 512
    assert out["mfcc"].shape == (t, 39) and out["mfcc"].dtype == np.float32
    assert out["energy"].shape == (t,)
    assert cfg.n_frames(44100) == 87 and cfg.n_frames(96000) == 188  # spec §3.1


def test_mfcc_equals_librosa_reference():
    y = _noise(22050)
    ref = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=39, n_fft=2048, hop_length=512,
                               win_length=2048, window="hann", center=True, n_mels=128, fmin=0,
                               fmax=None).T
    np.testing.assert_allclose(F.mfcc(y, F.FeatureConfig()), ref, rtol=1e-5, atol=1e-4)


def test_logmel_energy_and_fixed_length():
    cfg = F.logmel_config(max_samples=16000, kinds=("logmel", "energy"))
    out = F.extract(_noise(20000), cfg)
    assert out["logmel"].shape == (1 + 16000 // 160, 80)
    y = F.fix_length_center(_noise(20000), 16000)
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, win_length=400,
                                         hop_length=160, n_mels=80, fmin=20, fmax=8000)
    np.testing.assert_allclose(out["logmel"], np.log(mel + 1e-6).T, rtol=1e-5, atol=1e-4)
    rms = librosa.feature.rms(y=y, frame_length=cfg.n_fft, hop_length=cfg.hop_length)[0]
    np.testing.assert_allclose(out["energy"], 20 * np.log10(rms + 1e-5), rtol=1e-5, atol=1e-4)


def test_pyin_nan_unvoiced_and_statistics():
    cfg = F.f0_config(16000)
    assert (cfg.f0_frame_length, cfg.f0_hop_length) == (1024, 160)
    assert (F.f0_config(22050).f0_frame_length, F.f0_config(22050).f0_hop_length) == (2048, 256)
    y = np.concatenate([np.zeros(4000, np.float32), _tone(8000, 16000), np.zeros(4000, np.float32)])
    f0 = F.f0_pyin(y, cfg)
    assert f0.shape == (1 + y.size // 160,)
    assert np.isnan(f0[:10]).all() and np.isnan(f0[-10:]).all()
    st = F.f0_statistics(f0)
    assert st["median"] == pytest.approx(180.0, rel=0.03)
    assert 0 < st["voiced_fraction"] < 1 and st["width_hz"] >= 0
    assert np.isnan(F.f0_statistics(np.full(5, np.nan))["median"])


def test_config_hash_is_stable_and_complete():
    a, b = F.FeatureConfig(), F.FeatureConfig()
    assert a.hash() == b.hash() and len(a.hash()) == 16
    for field, value in [("n_mfcc", 13), ("hop_length", 256), ("fmax", 8000.0), ("top_db", None),
                         ("max_samples", 44100), ("f0_fmax", 500.0), ("kinds", ("logmel",))]:
        assert a.replace(**{field: value}).hash() != a.hash(), field
    with pytest.raises(ValueError, match="kinds"):
        F.FeatureConfig(kinds=("chroma",))
    assert F.FeatureConfig.from_dict(a.to_dict()) == a
    with pytest.raises(ValueError, match="NaN"):
        F.extract(np.full(1000, np.nan, np.float32), a)


def _write(path, y, sr=16000):
    sf.write(path, y, sr, subtype="FLOAT")
    return str(path)


@pytest.fixture
def wavs(tmp_path):
    d = tmp_path / "wav"
    d.mkdir()
    return [_write(d / f"{i}.wav", _noise(8000 + 800 * i, seed=i)) for i in range(4)]


CFG = F.FeatureConfig(kinds=("mfcc", "energy"), sample_rate=16000, n_mfcc=13, n_fft=512,
                      win_length=512, hop_length=160, n_mels=40, max_samples=8000)


def test_cache_hit_returns_identical_arrays(wavs, tmp_path):
    cache = FeatureCache(CFG, tmp_path / "c", loader=soundfile_loader, progress=False)
    first = cache.extract(wavs)
    assert (cache.hits, cache.misses) == (0, 4)
    again = FeatureCache(CFG, tmp_path / "c", loader=soundfile_loader, progress=False)
    second = again.extract(wavs)
    assert (again.hits, again.misses) == (4, 0)
    for a, b in zip(first, second):
        assert a.keys() == b.keys() == {"mfcc", "energy"}
        for k in a:
            assert a[k].tobytes() == b[k].tobytes()
    assert first[0]["mfcc"].shape == (1 + 8000 // 160, 13)


def test_changed_parameter_recomputes(wavs, tmp_path):
    FeatureCache(CFG, tmp_path / "c", loader=soundfile_loader, progress=False).extract(wavs)
    c2 = FeatureCache(CFG.replace(n_mfcc=20), tmp_path / "c", loader=soundfile_loader,
                      progress=False)
    out = c2.extract(wavs)
    assert (c2.hits, c2.misses) == (0, 4) and out[0]["mfcc"].shape[1] == 20


def test_changed_file_recomputes(wavs, tmp_path):
    cache = FeatureCache(CFG, tmp_path / "c", loader=soundfile_loader, progress=False)
    before = cache.extract(wavs)
    st = os.stat(wavs[0])
    os.utime(wavs[0], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # mtime only
    _write(wavs[1], _noise(9000, seed=99))  # new content and size
    cache.hits = cache.misses = 0
    after = cache.extract(wavs)
    assert (cache.hits, cache.misses) == (2, 2)
    assert after[0]["mfcc"].tobytes() == before[0]["mfcc"].tobytes()
    assert after[1]["mfcc"].tobytes() != before[1]["mfcc"].tobytes()


def test_parallel_extraction_equals_serial(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    paths = [_write(d / f"{i}.wav", _tone(6000 + 500 * i, 16000, 120 + 20 * i)) for i in range(6)]
    cfg = CFG.replace(kinds=("mfcc", "f0", "energy"))
    serial = FeatureCache(cfg, tmp_path / "s", loader=soundfile_loader, progress=False)
    par = FeatureCache(cfg, tmp_path / "p", loader=soundfile_loader, workers=2, chunksize=2,
                       progress=False)
    a, b = serial.extract(paths), par.extract(paths)
    assert par.misses == 6
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


def test_waveform_sources_and_errors(tmp_path):
    cache = FeatureCache(CFG, tmp_path / "c", loader=soundfile_loader, progress=False)
    y = _noise(8000)
    with pytest.raises(ValueError, match="identity"):
        cache.extract([y])
    ident = generated_identity("abc123", (0, 1, "anger", 0))
    out = cache.extract([y], [ident])
    assert cache.get(y, ident)["mfcc"].tobytes() == out[0]["mfcc"].tobytes() and cache.hits == 1
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file")
    with pytest.raises(ValueError, match="bad.wav"):
        cache.extract([str(bad)])
    res = cache.extract([str(bad), str(tmp_path / "missing.wav")], on_error="skip")
    assert res == [None, None] and len(cache.errors) == 2
