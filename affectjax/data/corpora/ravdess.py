"""RAVDESS reader (Livingstone & Russo 2018): `Actor_XX/MM-VV-EE-II-SS-RR-AA.wav` names."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from affectjax.data.corpora.records import (
    FilenameParseError,
    Reader,
    ReadResult,
    Record,
    UnknownLabelError,
    ValidateMode,
)

logger = logging.getLogger(__name__)

CORPUS = "ravdess"
LAYOUT = "<root>/Actor_XX/MM-VV-EE-II-SS-RR-AA.wav (or all files in one folder)"

EMOTION_CODES = {
    "01": "neutral", "02": "calm", "03": "happiness", "04": "sadness",
    "05": "anger", "06": "fear", "07": "disgust", "08": "surprise",
}
INTENSITY = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


def _field(path: Path, name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise FilenameParseError(path, f"RAVDESS {name} field {value!r} not in {sorted(allowed)}")
    return value


def parse_name(path: Path) -> Record:
    """Record from a RAVDESS name; modality/channel are kept in extra for the caller to filter."""
    m = _NAME.match(path.stem)
    if m is None:
        raise FilenameParseError(path, "not a RAVDESS file name (expected 7 two-digit fields "
                                       "MM-VV-EE-II-SS-RR-AA, e.g. 03-01-05-01-02-01-12.wav)")
    mod, chan, emo, inten, stmt, rep, actor = m.groups()
    _field(path, "modality", mod, {"01", "02", "03"})
    _field(path, "vocal channel", chan, {"01", "02"})
    if emo not in EMOTION_CODES:
        raise UnknownLabelError(path, f"unknown RAVDESS emotion code {emo!r} (known 01-08)")
    _field(path, "intensity", inten, set(INTENSITY))
    _field(path, "statement", stmt, set(STATEMENTS))
    _field(path, "repetition", rep, {"01", "02"})
    if not 1 <= int(actor) <= 24:
        raise FilenameParseError(path, f"RAVDESS actor {actor!r} outside 01-24")
    return Record(
        path=path, corpus=CORPUS, speaker=actor,
        sex="male" if int(actor) % 2 else "female",  # odd actors are male [dataset docs]
        sentence=stmt, emotion=EMOTION_CODES[emo], original_label=emo,
        intensity=INTENSITY[inten], text=STATEMENTS[stmt],
        extra={"modality": mod, "vocal_channel": chan, "repetition": rep},
    )


def read_ravdess(root: str | os.PathLike, *, skip_bad: bool = False,
                 validate_audio: ValidateMode = False, include_song: bool = False) -> ReadResult:
    """Read RAVDESS audio-only speech (MM=03, VV=01; `include_song=True` also keeps VV=02).

    Other modalities/channels are excluded by design and their count is logged, not dropped
    silently.
    """
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    files = reader.audio_files()
    reader.require_files(files, LAYOUT)
    channels = {"01", "02"} if include_song else {"01"}
    records, excluded = [], 0
    for path in files:
        rec = reader.attempt(parse_name, path)
        if rec is not None and (rec.extra["modality"] != "03"
                                or rec.extra["vocal_channel"] not in channels):
            excluded += 1
            continue
        records.append(rec)
    if excluded:
        logger.info("ravdess: excluded %d files that are not audio-only %s under %s", excluded,
                    "speech/song" if include_song else "speech", reader.root)
    return reader.finish(records)
