"""CASIA reader (public 1,200-utterance part): `<root>/<speaker>/<emotion>/<id>.wav`."""

from __future__ import annotations

import os
from pathlib import Path

from affectjax.data.corpora.records import (
    FilenameParseError,
    Reader,
    ReadResult,
    Record,
    UnknownLabelError,
    ValidateMode,
)

CORPUS = "casia"
LAYOUT = "<root>/<speaker>/<emotion>/<id>.wav, emotion in angry/fear/happy/neutral/sad/surprise"

EMOTION_FOLDERS = {
    "angry": "anger", "fear": "fear", "happy": "happiness",
    "neutral": "neutral", "sad": "sadness", "surprise": "surprise",
}
# The four actors of the public part (two female, two male); the first spelling is the
# corpus's own ('liuchanhg').
SPEAKER_SEX = {
    "liuchanhg": "female", "zhaoquanyin": "female",
    "wangzhe": "male", "zhaozuoxiang": "male",
}


def parse_path(path: Path, root: Path) -> Record:
    """Record from the two folders above the file: speaker, then emotion."""
    parts = path.relative_to(root).parts
    if len(parts) < 3:
        raise FilenameParseError(path, f"not in the CASIA layout {LAYOUT}")
    speaker, folder = parts[-3], parts[-2]
    if folder.lower() not in EMOTION_FOLDERS:
        raise UnknownLabelError(path, f"unknown CASIA emotion folder {folder!r} "
                                      f"(known: {', '.join(EMOTION_FOLDERS)})")
    # Unknown speaker names are kept (with sex None): other CASIA releases use other actors.
    return Record(path=path, corpus=CORPUS, speaker=speaker,
                  sex=SPEAKER_SEX.get(speaker.lower()), sentence=path.stem,
                  emotion=EMOTION_FOLDERS[folder.lower()], original_label=folder)


def read_casia(root: str | os.PathLike, *, skip_bad: bool = False,
               validate_audio: ValidateMode = False) -> ReadResult:
    """Read CASIA (speaker/emotion folders may sit below extra wrapper folders)."""
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    files = reader.audio_files()
    reader.require_files(files, LAYOUT)
    return reader.finish(reader.attempt(parse_path, p, reader.root) for p in files)
