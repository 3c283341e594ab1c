"""The one place that opens audio files: checks, decodes to float32 mono and resamples."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

logger = logging.getLogger(__name__)

# [our choice] A WAV whose data chunk holds less than this fraction of the bytes its header
# declares is a partial copy (interrupted download/extraction). Tiny shortfalls come from
# sloppy writers and cost a few samples at most, so they only get a debug log.
_MIN_WAV_DATA_FRACTION = 0.99


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of an audio file (no samples decoded)."""

    path: Path
    sample_rate: int
    frames: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds at the file's own rate."""
        return self.frames / self.sample_rate


def _check_file(path: str | os.PathLike) -> Path:
    """Fail early with a precise reason for the cases libsndfile reports as 'System error'."""
    p = Path(path)
    if not p.exists():
        raise AudioError(p, "file not found")
    if not p.is_file():
        raise AudioError(p, "unreadable: not a regular file")
    if not os.access(p, os.R_OK):
        raise AudioError(p, "unreadable: permission denied")
    if p.stat().st_size == 0:
        raise AudioError(p, "empty file (0 bytes)")
    return p


def _open_error(p: Path, err: Exception) -> AudioError:
    """Turn a libsndfile open failure into 'not audio' or 'corrupt header'."""
    msg = str(err)
    if "Format not recognised" in msg or "format not recognised" in msg.lower():
        return AudioError(p, f"not an audio file (format not recognised by libsndfile): {msg}")
    return AudioError(p, f"corrupt or truncated audio header: {msg}")


def _wav_data_shortfall(p: Path) -> tuple[int, int] | None:
    """(declared, present) data-chunk bytes of a RIFF/WAVE file, or None if complete/unknown.

    libsndfile silently shortens a truncated WAV to what is on disk, so truncation is only
    visible by comparing the header with the file size.
    """
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = f.read(4), int.from_bytes(f.read(4), "little")
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF are placeholders written by streaming encoders.
                if chunk_size in (0, 0xFFFFFFFF):
                    return None
                present = size - (pos + 8)
                return (chunk_size, present) if chunk_size > present else None
            pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _check_wav_complete(p: Path) -> None:
    shortfall = _wav_data_shortfall(p)
    if shortfall is None:
        return
    declared, present = shortfall
    if present < _MIN_WAV_DATA_FRACTION * declared:
        raise AudioError(
            p,
            f"truncated WAV: header declares {declared} bytes of audio data, "
            f"only {present} present",
        )
    logger.debug("%s: WAV data chunk %d bytes short of its header", p, declared - present)


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Check a file without decoding it: exists, readable, audio, non-empty, not truncated (WAV)."""
    p = _check_file(path)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise _open_error(p, err) from err
    if info.frames <= 0:
        raise AudioError(p, "empty audio: 0 samples")
    _check_wav_complete(p)
    return AudioInfo(p, int(info.samplerate), int(info.frames), int(info.channels),
                     info.format, info.subtype)


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode a file at its own rate: (float32 mono waveform, sample rate).

    Channels are averaged [our choice: the corpora here are mono; averaging keeps stereo
    copies usable]. Any NaN/inf sample is an error, not only an all-NaN file [our choice: a
    single NaN poisons every frame-level feature computed over it].
    """
    info = audio_info(path)
    p = info.path
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(p, f"corrupt or truncated audio: decoding failed ({err})") from err
    if data.shape[0] == 0:
        raise AudioError(p, "empty audio: 0 samples decoded")
    y = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        what = "all samples are" if bad == y.size else f"{bad} of {y.size} samples are"
        raise AudioError(p, f"invalid audio: {what} NaN or inf")
    return np.ascontiguousarray(y, dtype=np.float32), int(sr)


def load_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Float32 mono waveform of `path` at `sample_rate`, resampled with soxr_hq when needed."""
    if not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    y, sr = read_audio(path)
    if sr != sample_rate:
        # Logged per file so a corpus at an unexpected rate is visible in the run log.
        logger.info("resampling %s from %d Hz to %d Hz (soxr_hq)", path, sr, sample_rate)
        y = librosa.resample(y, orig_sr=sr, target_sr=int(sample_rate), res_type="soxr_hq")
    return np.ascontiguousarray(y, dtype=np.float32)
