"""Tests of affectjax.data.audio: decoding, mono mixdown, resampling (logged), bad files."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import soundfile as sf
from corpus_fixtures import BAD_AUDIO, SR, bad_nan, shared_data, write_wav

from affectjax.data.audio import AudioError, audio_info, load_audio, read_audio

AUDIO_LOGGER = "affectjax.data.audio"


def test_load_mono_float32_at_native_rate(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=0.1, freq=440.0)
    y = load_audio(path, SR)
    assert y.dtype == np.float32 and y.ndim == 1 and y.shape == (1600,)
    t = np.arange(1600) / SR
    np.testing.assert_allclose(y, 0.5 * np.sin(2 * np.pi * 440 * t), atol=1e-4)  # 16-bit


def test_stereo_is_averaged_to_mono(tmp_path):
    path = write_wav(tmp_path / "st.wav", channels=2, subtype="FLOAT")
    y, sr = read_audio(path)
    stereo, _ = sf.read(path, dtype="float32")
    assert sr == SR and y.ndim == 1
    np.testing.assert_allclose(y, stereo.mean(axis=1), rtol=1e-6)


def test_other_rate_is_resampled_with_soxr_and_logged(tmp_path, caplog):
    path = write_wav(tmp_path / "r22.wav", sr=22050, seconds=0.2)
    caplog.set_level(logging.INFO, logger=AUDIO_LOGGER)
    y = load_audio(path, 16000)
    assert y.dtype == np.float32
    assert y.shape == (3200,)  # 0.2 s at the target rate
    msgs = [r.getMessage() for r in caplog.records if r.name == AUDIO_LOGGER]
    assert any("r22.wav" in m and "22050" in m and "16000" in m for m in msgs), msgs


def test_same_rate_is_not_logged(tmp_path, caplog):
    path = write_wav(tmp_path / "same.wav")
    caplog.set_level(logging.DEBUG, logger=AUDIO_LOGGER)
    load_audio(path, SR)
    assert not [r for r in caplog.records if "resampling" in r.getMessage()]


def test_audio_info_reads_header(tmp_path):
    info = audio_info(write_wav(tmp_path / "h.wav", sr=8000, seconds=0.25))
    assert (info.sample_rate, info.frames, info.channels) == (8000, 2000, 1)
    assert info.duration == pytest.approx(0.25)


@pytest.mark.parametrize("kind", sorted(BAD_AUDIO))
def test_bad_audio_raises_audio_error_naming_file(tmp_path, kind):
    make, reason = BAD_AUDIO[kind]
    path = make(tmp_path / f"bad_{kind}.wav")
    for fn in (audio_info, read_audio, lambda p: load_audio(p, SR)):
        with pytest.raises(AudioError, match=reason) as exc:
            fn(path)
        assert f"bad_{kind}.wav" in str(exc.value)
        assert exc.value.path == path


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="file not found") as exc:
        load_audio(tmp_path / "nope.wav", SR)
    assert "nope.wav" in str(exc.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod-000 file")
def test_permission_denied(tmp_path):
    path = write_wav(tmp_path / "locked.wav")
    path.chmod(0)
    with pytest.raises(AudioError, match="permission denied"):
        load_audio(path, SR)


def test_truncated_flac_fails_at_decode(tmp_path):
    # FLAC keeps its frame count in the header, so truncation only shows when decoding.
    path = tmp_path / "cut.flac"
    write_wav(path, seconds=0.5)
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(AudioError, match="corrupt or truncated") as exc:
        load_audio(path, SR)
    assert "cut.flac" in str(exc.value)


def test_nan_audio(tmp_path):
    path = bad_nan(tmp_path / "nan.wav")
    with pytest.raises(AudioError, match="all samples are NaN or inf"):
        load_audio(path, SR)
    y = np.zeros(800, np.float32)
    y[10] = np.inf
    sf.write(tmp_path / "inf.wav", y, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="1 of 800 samples"):
        load_audio(tmp_path / "inf.wav", SR)


def test_slightly_short_wav_is_tolerated(tmp_path):
    path = write_wav(tmp_path / "short.wav", seconds=1.0)
    path.write_bytes(path.read_bytes()[:-4])  # 2 samples short: sloppy writer, not a cut
    assert load_audio(path, SR).shape == (SR - 2,)


@pytest.mark.parametrize("rate", [0, -16000, 16000.0, None])
def test_bad_sample_rate_argument(tmp_path, rate):
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(write_wav(tmp_path / "a.wav"), rate)


def test_real_emodb_clip_resampled_to_16k():
    path = shared_data("emodb") / "wav" / "03a01Fa.wav"
    y = load_audio(path, 16000)
    assert y.dtype == np.float32 and y.shape == (32000,)  # 2.0 s copy at 22.05 kHz
    assert np.isfinite(y).all() and 0 < np.abs(y).max() <= 1.0
