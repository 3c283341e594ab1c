"""jtalk_emotion reader: synthetic Japanese 4-emotion corpus, labels from its `labels.csv`."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from affectjax.data.corpora.records import (
    LabelFileError,
    MissingLabelFileError,
    Reader,
    ReadResult,
    Record,
    UnknownLabelError,
    ValidateMode,
    reconcile,
)

CORPUS = "jtalk_emotion"
LAYOUT = "<root>/labels.csv (file,speaker,emotion,sentence_id,text) and <root>/<file>.wav"
MANIFEST = "labels.csv"

EMOTION_CODES = {"angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness"}
# Accepted spellings of each required column (the spec's manifest names and the CSV's own).
_COLUMNS = {"file": ("file", "path"), "speaker": ("speaker",), "emotion": ("emotion",),
            "sentence": ("sentence_id", "sentence")}


def _columns(path: Path, fieldnames: list[str] | None) -> dict[str, str]:
    """Our column key -> the CSV's header name; raises naming what is missing."""
    names = set(fieldnames or ())
    found = {key: next((n for n in options if n in names), None)
             for key, options in _COLUMNS.items()}
    missing = [" or ".join(_COLUMNS[k]) for k, v in found.items() if v is None]
    if missing:
        raise LabelFileError(path, f"missing column(s): {', '.join(missing)}", 1)
    return found  # type: ignore[return-value]


def read_manifest(path: Path, reader: Reader) -> dict[Path, tuple[int, dict[str, str]]]:
    """Audio path -> (line number, row) from the manifest.

    The manifest is required: without it nothing is labelled, so its absence raises even
    under skip_bad.
    """
    if not path.is_file():
        raise MissingLabelFileError(path, "jtalk_emotion manifest is missing")
    rows: dict[Path, tuple[int, dict[str, str]]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        table = csv.DictReader(f)
        cols = _columns(path, table.fieldnames)
        for lineno, row in enumerate(table, start=2):
            wav = reader.root / row[cols["file"]].strip()
            if wav in rows:
                reader.bad(LabelFileError(path, f"duplicate row for {wav.name}", lineno))
                continue
            rows[wav] = (lineno, {k: (row[v] or "").strip() for k, v in cols.items()}
                         | {"text": (row.get("text") or "").strip()})
    return rows


def _record(wav: Path, lineno: int, row: dict[str, str], manifest: Path) -> Record:
    code = row["emotion"].lower()
    if code not in EMOTION_CODES:
        raise UnknownLabelError(manifest, f"unknown jtalk_emotion emotion {row['emotion']!r} "
                                          f"for {wav.name} (known: {', '.join(EMOTION_CODES)})",
                                lineno)
    if not row["speaker"]:
        raise LabelFileError(manifest, f"empty speaker for {wav.name}", lineno)
    # [our choice] sex 'female': all four pseudo-speakers are the tohoku-f01 female voice.
    return Record(path=wav, corpus=CORPUS, speaker=row["speaker"], sex="female",
                  sentence=row["sentence"], emotion=EMOTION_CODES[code],
                  original_label=row["emotion"], text=row["text"] or None,
                  extra={"manifest_line": lineno})


def read_jtalk_emotion(root: str | os.PathLike, *, skip_bad: bool = False,
                       validate_audio: ValidateMode = False) -> ReadResult:
    """Read jtalk_emotion through its manifest; listed-but-missing and unlisted wavs are bad."""
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    manifest = reader.root / MANIFEST
    rows = read_manifest(manifest, reader)
    if not rows:
        raise LabelFileError(manifest, "manifest has no rows")
    found = reconcile(reader, manifest, {p: line for p, (line, _) in rows.items()},
                      reader.audio_files())
    return reader.finish(reader.attempt(_record, p, *rows[p], manifest) for p in sorted(found))
