"""CREMA-D reader (Cao et al. 2014): `AudioWAV/1001_DFA_ANG_XX.wav` + `VideoDemographics.csv`."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from affectjax.data.corpora.records import (
    FilenameParseError,
    LabelFileError,
    MissingLabelFileError,
    Reader,
    ReadResult,
    Record,
    UnknownLabelError,
    ValidateMode,
    sex_from_code,
)

CORPUS = "crema_d"
LAYOUT = "<root>/AudioWAV/1001_DFA_ANG_XX.wav and <root>/VideoDemographics.csv"
DEMOGRAPHICS = "VideoDemographics.csv"

EMOTION_CODES = {
    "ANG": "anger", "DIS": "disgust", "FEA": "fear",
    "HAP": "happiness", "NEU": "neutral", "SAD": "sadness",
}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
_NAME = re.compile(r"^(?P<actor>\d{4})_(?P<sent>[A-Z]{3})_(?P<emo>[A-Z]{3})_(?P<level>[A-Z]{2})$")


def read_demographics(path: Path) -> dict[str, str]:
    """ActorID -> 'female'/'male' from VideoDemographics.csv (columns ActorID, ..., Sex, ...)."""
    if not path.is_file():
        raise MissingLabelFileError(path, "CREMA-D demographics file is missing (sex of each "
                                          "actor comes from it)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.DictReader(f)
        missing = {"ActorID", "Sex"} - set(rows.fieldnames or ())
        if missing:
            raise LabelFileError(path, f"missing column(s) {sorted(missing)}", 1)
        # Line numbers: header is line 1, first data row line 2.
        return {row["ActorID"].strip(): sex_from_code(row["Sex"] or "", path, lineno)
                for lineno, row in enumerate(rows, start=2)}


def parse_name(path: Path, sexes: dict[str, str]) -> Record:
    """Record from a CREMA-D name; the actor's sex comes from the demographics table."""
    m = _NAME.match(path.stem)
    if m is None:
        raise FilenameParseError(path, "not a CREMA-D file name (expected e.g. "
                                       "1001_DFA_ANG_XX.wav: actor_sentence_emotion_level)")
    if m["emo"] not in EMOTION_CODES:
        raise UnknownLabelError(path, f"unknown CREMA-D emotion code {m['emo']!r} "
                                      f"(known: {', '.join(EMOTION_CODES)})")
    if m["sent"] not in SENTENCES:
        raise FilenameParseError(path, f"unknown CREMA-D sentence code {m['sent']!r}")
    if m["level"] not in LEVELS:
        raise FilenameParseError(path, f"unknown CREMA-D intensity level {m['level']!r} "
                                       f"(known: {', '.join(LEVELS)})")
    actor = m["actor"]
    if actor not in sexes:
        raise UnknownLabelError(path, f"actor {actor} is not listed in {DEMOGRAPHICS}")
    return Record(path=path, corpus=CORPUS, speaker=actor, sex=sexes[actor],
                  sentence=m["sent"], emotion=EMOTION_CODES[m["emo"]], original_label=m["emo"],
                  intensity=LEVELS[m["level"]], text=SENTENCES[m["sent"]])


def read_crema_d(root: str | os.PathLike, *, skip_bad: bool = False,
                 validate_audio: ValidateMode = False) -> ReadResult:
    """Read CREMA-D; the demographics CSV is required (it is the only source of sex)."""
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    wav_dir = reader.root / "AudioWAV"
    files = reader.audio_files(wav_dir if wav_dir.is_dir() else reader.root, recursive=False)
    reader.require_files(files, LAYOUT)
    sexes = read_demographics(reader.root / DEMOGRAPHICS)
    return reader.finish(reader.attempt(parse_name, p, sexes) for p in files)
