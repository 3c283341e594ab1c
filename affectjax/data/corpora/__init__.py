"""Readers of real corpora (users provide the audio) behind one registry: `read_corpus`.

Every reader takes `root`, `skip_bad` and `validate_audio`:
- `skip_bad=False`: the first bad input raises a `CorpusError`/`AudioError` naming the file
  (and the line of a label file) and the problem.
- `skip_bad=True`: bad inputs are skipped; `result.skipped` lists every one and why, and the
  same report is logged as a warning. Nothing is dropped silently.
- `validate_audio=False` parses names/label files only (cheap); `True`/'header' also opens each
  file's header (not audio, empty, corrupt, truncated WAV); 'decode' decodes every file.
A missing root, a root without audio, and a missing corpus-wide manifest always raise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from affectjax.data.corpora.casia import read_casia
from affectjax.data.corpora.crema_d import read_crema_d
from affectjax.data.corpora.emodb import read_emodb
from affectjax.data.corpora.enterface import read_enterface
from affectjax.data.corpora.esd import read_esd
from affectjax.data.corpora.iemocap import read_iemocap
from affectjax.data.corpora.jtalk_emotion import read_jtalk_emotion
from affectjax.data.corpora.ravdess import read_ravdess
from affectjax.data.corpora.records import (
    BAD_INPUT_ERRORS,
    CorpusError,
    FilenameParseError,
    LabelFileError,
    LayoutError,
    MissingLabelFileError,
    ReadResult,
    Record,
    SkippedFile,
    UnknownLabelError,
    ValidateMode,
)
from affectjax.data.corpora.savee import read_savee
from affectjax.data.corpora.speech_va import read_speech_va
from affectjax.data.labels import normalize_corpus_name

READERS: dict[str, Callable[..., ReadResult]] = {
    "emodb": read_emodb,
    "ravdess": read_ravdess,
    "crema_d": read_crema_d,
    "savee": read_savee,
    "enterface": read_enterface,
    "casia": read_casia,
    "iemocap": read_iemocap,
    "esd": read_esd,
    "jtalk_emotion": read_jtalk_emotion,
    "speech_va": read_speech_va,
}
CORPORA: tuple[str, ...] = tuple(READERS)
DATA_ENV = "AFFECTJAX_DATA"


def default_root(name: str) -> Path:
    """`$AFFECTJAX_DATA/<name>`, the documented fallback when no root is configured."""
    base = os.environ.get(DATA_ENV)
    if not base:
        raise ValueError(f"no root given for corpus {name!r} and ${DATA_ENV} is not set; "
                         f"pass root=... or set {DATA_ENV} to the folder holding {name}/")
    return Path(base) / name


def read_corpus(name: str, root: str | os.PathLike | None = None, *, skip_bad: bool = False,
                validate_audio: ValidateMode = False, **options) -> ReadResult:
    """Read corpus `name` (one of CORPORA; aliases like 'Emo-DB' work) from `root`.

    `options` go to the corpus reader (ravdess: include_song; iemocap: four_class).
    """
    key = normalize_corpus_name(name)
    if key not in READERS:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    root = default_root(key) if root is None else root
    return READERS[key](root, skip_bad=skip_bad, validate_audio=validate_audio, **options)


__all__ = [
    "BAD_INPUT_ERRORS", "CORPORA", "CorpusError", "DATA_ENV", "FilenameParseError",
    "LabelFileError", "LayoutError", "MissingLabelFileError", "READERS", "ReadResult", "Record",
    "SkippedFile", "UnknownLabelError", "default_root", "read_casia", "read_corpus",
    "read_crema_d", "read_emodb", "read_enterface", "read_esd", "read_iemocap",
    "read_jtalk_emotion", "read_ravdess", "read_savee", "read_speech_va",
]
