"""Emo-DB reader (Burkhardt et al. 2005): labels from file names like `wav/03a01Fa.wav`."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from affectjax.data.corpora.records import (
    FilenameParseError,
    LabelFileError,
    Reader,
    ReadResult,
    Record,
    UnknownLabelError,
    ValidateMode,
)

CORPUS = "emodb"
LAYOUT = "<root>/wav/03a01Fa.wav (+ optional <root>/erkennung.txt)"

# Character 6 of the name, German initials [paper: Emo-DB documentation]. Third-party label
# CSVs with other mappings exist and are wrong; only the file name is trusted.
EMOTION_CODES = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
    "F": "happiness", "T": "sadness", "N": "neutral",
}
SPEAKER_SEX = {
    "03": "male", "10": "male", "11": "male", "12": "male", "15": "male",
    "08": "female", "09": "female", "13": "female", "14": "female", "16": "female",
}
_NAME = re.compile(r"^(?P<spk>\d{2})(?P<text>[a-z]\d{2})(?P<emo>[A-Za-z])(?P<ver>[a-z])$")


def parse_name(path: Path) -> Record:
    """Record from an Emo-DB file name: speaker, text id, emotion letter, version letter."""
    m = _NAME.match(path.stem)
    if m is None:
        raise FilenameParseError(path, "not an Emo-DB file name (expected e.g. 03a01Fa.wav: "
                                       "2-digit speaker, text id, emotion letter, version)")
    code = m["emo"]
    if code not in EMOTION_CODES:
        raise UnknownLabelError(path, f"unknown Emo-DB emotion code {code!r} "
                                      f"(known: {''.join(EMOTION_CODES)})")
    spk = m["spk"]
    if spk not in SPEAKER_SEX:
        raise FilenameParseError(path, f"unknown Emo-DB speaker {spk!r} "
                                       f"(known: {', '.join(sorted(SPEAKER_SEX))})")
    return Record(path=path, corpus=CORPUS, speaker=spk, sex=SPEAKER_SEX[spk],
                  sentence=m["text"], emotion=EMOTION_CODES[code], original_label=code,
                  extra={"version": m["ver"]})


def _percent(text: str) -> float:
    """'65,00\xa0 ' -> 65.0 (decimal comma, NBSP padding)."""
    return float(text.replace("\xa0", " ").strip().replace(",", "."))


def read_ratings(path: Path) -> dict[str, tuple[float, float]]:
    """erkennung.txt (latin-1, tab-separated): file name -> (recognition %, naturalness %)."""
    ratings: dict[str, tuple[float, float]] = {}
    lines = path.read_text(encoding="latin-1").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if lineno == 1 or not line.strip():  # header: Nr. Satz erkannt natuerlich
            continue
        cols = line.split("\t")
        try:
            ratings[cols[1].strip()] = (_percent(cols[2]), _percent(cols[3]))
        except (IndexError, ValueError) as err:
            raise LabelFileError(path, f"malformed rating line {line!r} ({err})", lineno) from err
    return ratings


def read_emodb(root: str | os.PathLike, *, skip_bad: bool = False,
               validate_audio: ValidateMode = False) -> ReadResult:
    """Read Emo-DB under `root` (535 files, 10 speakers in the standard selection).

    extra holds 'version' and, when erkennung.txt exists, 'recognition'/'naturalness'
    (% from the original perception test).
    """
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    wav_dir = reader.root / "wav"
    files = reader.audio_files(wav_dir if wav_dir.is_dir() else reader.root, recursive=False)
    reader.require_files(files, LAYOUT)
    ratings_file = reader.root / "erkennung.txt"
    # Optional extra information: if it is malformed, report it and read without ratings.
    ratings = (reader.attempt(read_ratings, ratings_file) or {}) if ratings_file.exists() else {}
    records = []
    for path in files:
        rec = reader.attempt(parse_name, path)
        if rec is not None and path.name in ratings:
            recognition, naturalness = ratings[path.name]
            rec = replace(rec, extra={**rec.extra, "recognition": recognition,
                                      "naturalness": naturalness})
        records.append(rec)
    return reader.finish(records)
