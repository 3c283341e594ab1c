"""SAVEE reader (Haq & Jackson): `AudioData/DC/sa01.wav` or flat `DC_sa01.wav`."""

from __future__ import annotations

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

CORPUS = "savee"
LAYOUT = "<root>/AudioData/{DC,JE,JK,KL}/sa01.wav or <root>/DC_sa01.wav"
SPEAKERS = ("DC", "JE", "JK", "KL")  # all male

# Two-letter codes first: 'sa'/'su' must not be read as 's' + 'a'.
EMOTION_CODES = {
    "sa": "sadness", "su": "surprise",
    "a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral",
}
_NAME = re.compile(r"^(?:(?P<spk>[A-Za-z]{2})_)?(?P<code>[A-Za-z]+?)(?P<num>\d{2})$")


def parse_name(path: Path) -> Record:
    """Record from a SAVEE name; the speaker is the name prefix or the parent folder."""
    m = _NAME.match(path.stem)
    if m is None:
        raise FilenameParseError(path, "not a SAVEE file name (expected e.g. sa01.wav in a "
                                       "speaker folder, or DC_sa01.wav)")
    code = m["code"].lower()
    if code not in EMOTION_CODES:
        raise UnknownLabelError(path, f"unknown SAVEE emotion code {m['code']!r} "
                                      f"(known: {', '.join(EMOTION_CODES)})")
    spk = (m["spk"] or path.parent.name).upper()
    if spk not in SPEAKERS:
        raise FilenameParseError(path, f"cannot tell the SAVEE speaker: {spk!r} is not one of "
                                       f"{', '.join(SPEAKERS)} (name prefix or parent folder)")
    return Record(path=path, corpus=CORPUS, speaker=spk, sex="male",
                  sentence=f"{code}{m['num']}", emotion=EMOTION_CODES[code],
                  original_label=code)


def read_savee(root: str | os.PathLike, *, skip_bad: bool = False,
               validate_audio: ValidateMode = False) -> ReadResult:
    """Read SAVEE in either layout (searched recursively under root)."""
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    files = reader.audio_files()
    reader.require_files(files, LAYOUT)
    return reader.finish(reader.attempt(parse_name, p) for p in files)
