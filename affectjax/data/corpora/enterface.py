"""eNTERFACE'05 reader (Martin et al. 2006): `subject N/<emotion>/sentence K/*.wav`.

The corpus ships AVI video; users extract the audio first, e.g.
`ffmpeg -i s1_an_1.avi -ac 1 -ar 16000 s1_an_1.wav` next to each AVI. Folder depth varies
between subjects, so the tree is walked recursively and the nearest matching folder wins.
"""

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

CORPUS = "enterface"
LAYOUT = "<root>/subject N/<emotion>/sentence K/sN_an_K.wav (audio extracted from the AVI files)"

FOLDER_EMOTIONS = {
    "anger": "anger", "disgust": "disgust", "fear": "fear",
    "happiness": "happiness", "sadness": "sadness", "surprise": "surprise",
}
CODE_EMOTIONS = {
    "an": "anger", "di": "disgust", "fe": "fear",
    "ha": "happiness", "sa": "sadness", "su": "surprise",
}
_SUBJECT_DIR = re.compile(r"^subject\s*_?(\d+)$", re.IGNORECASE)
_SENTENCE_DIR = re.compile(r"^sentence\s*_?(\d+)$", re.IGNORECASE)
# e.g. s1_an_1, s_12_di_3, S5_su_2 (the corpus is not consistent about the separators).
_NAME = re.compile(r"^s_?(?P<subj>\d+)_(?P<code>[a-z]{2})_?(?P<sent>\d+)$", re.IGNORECASE)


def _nearest(parents: list[str], pattern: re.Pattern) -> str | None:
    for name in parents:
        m = pattern.match(name)
        if m:
            return m.group(1)
    return None


def parse_path(path: Path, root: Path) -> Record:
    """Record from folder names (preferred) or the sN_xx_K file-name code."""
    parents = list(reversed(path.relative_to(root).parts[:-1]))  # nearest folder first
    name = _NAME.match(path.stem)
    subject = _nearest(parents, _SUBJECT_DIR) or (name["subj"] if name else None)
    if subject is None:
        raise FilenameParseError(path, "cannot find the eNTERFACE subject: no 'subject N' "
                                       "folder above the file and no sN_ prefix in its name")
    emotion = next((FOLDER_EMOTIONS[p.lower()] for p in parents
                    if p.lower() in FOLDER_EMOTIONS), None)
    code = name["code"].lower() if name else None
    if emotion is None:
        if code is None:
            raise FilenameParseError(path, "cannot find the eNTERFACE emotion: no emotion "
                                           "folder and the name is not sN_xx_K")
        if code not in CODE_EMOTIONS:
            raise UnknownLabelError(path, f"unknown eNTERFACE emotion code {code!r} "
                                          f"(known: {', '.join(CODE_EMOTIONS)})")
        emotion = CODE_EMOTIONS[code]
    sentence = _nearest(parents, _SENTENCE_DIR) or (name["sent"] if name else None)
    return Record(path=path, corpus=CORPUS, speaker=str(int(subject)),
                  sentence=str(int(sentence)) if sentence else None, emotion=emotion,
                  original_label=code or emotion)


def read_enterface(root: str | os.PathLike, *, skip_bad: bool = False,
                   validate_audio: ValidateMode = False) -> ReadResult:
    """Read eNTERFACE'05 extracted audio (no neutral class; sex is not in the layout: None)."""
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    files = reader.audio_files()
    reader.require_files(files, LAYOUT)
    return reader.finish(reader.attempt(parse_path, p, reader.root) for p in files)
