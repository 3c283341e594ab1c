"""speech_va reader: 47 clips with continuous arousal/valence from `arousal.csv`/`valence.csv`."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from affectjax.data.corpora.records import (
    LabelFileError,
    MissingLabelFileError,
    Reader,
    ReadResult,
    Record,
    ValidateMode,
    reconcile,
)

CORPUS = "speech_va"
LAYOUT = "<root>/NN.wav with <root>/arousal.csv and <root>/valence.csv (file,value; no header)"
LABEL_FILES = ("arousal.csv", "valence.csv")
BLOCK = 5  # clips come in blocks of ~5 with similar labels (data README)


def read_values(path: Path, reader: Reader) -> dict[Path, tuple[int, float | None]]:
    """Audio path -> (line, value in [-1, 1]) from a headerless `file,value` CSV.

    A bad row is raised or reported; its clip maps to value None so that it is not reported
    again as unlisted.
    """
    if not path.is_file():
        raise MissingLabelFileError(path, "speech_va label file is missing")
    out: dict[Path, tuple[int, float | None]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            wav = reader.root / row[0].strip()
            if wav in out:
                reader.bad(LabelFileError(path, f"duplicate row for {wav.name}", lineno))
                continue
            err = _check_row(path, lineno, row)
            if err:
                reader.bad(err)
            out[wav] = (lineno, None if err else float(row[1]))
    return out


def _check_row(path: Path, lineno: int, row: list[str]) -> LabelFileError | None:
    if len(row) != 2:
        return LabelFileError(path, f"expected 2 columns file,value, got {row!r}", lineno)
    try:
        value = float(row[1])
    except ValueError:
        return LabelFileError(path, f"value {row[1]!r} is not a number", lineno)
    if not (math.isfinite(value) and -1.0 <= value <= 1.0):
        return LabelFileError(path, f"value {value} outside [-1, 1]", lineno)
    return None


def _record(wav: Path, arousal: float, valence: float) -> Record:
    # Speakers are undocumented; 'block' (id // 5) is the README's suggested grouping for
    # splits [our choice: exposed in extra, speaker left None rather than guessed].
    extra = {"block": int(wav.stem) // BLOCK} if wav.stem.isdigit() else {}
    return Record(path=wav, corpus=CORPUS, speaker=None, valence=valence, arousal=arousal,
                  extra=extra)


def read_speech_va(root: str | os.PathLike, *, skip_bad: bool = False,
                   validate_audio: ValidateMode = False) -> ReadResult:
    """Read speech_va; a clip needs a row in both CSVs (values in [-1, 1]), emotion is None."""
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    arousal_path, valence_path = (reader.root / name for name in LABEL_FILES)
    arousal = read_values(arousal_path, reader)
    valence = read_values(valence_path, reader)
    files = reader.audio_files(recursive=False)
    reader.require_files(files, LAYOUT)
    found = reconcile(reader, arousal_path, {p: v[0] for p, v in arousal.items()}, files)
    # Only report against valence.csv what arousal.csv did not already account for.
    found &= reconcile(reader, valence_path,
                       {p: v[0] for p, v in valence.items() if p in found or p not in arousal},
                       [p for p in files if p in arousal])
    both = [p for p in sorted(found)
            if arousal[p][1] is not None and valence[p][1] is not None]
    return reader.finish(reader.attempt(_record, p, arousal[p][1], valence[p][1])
                         for p in both)
