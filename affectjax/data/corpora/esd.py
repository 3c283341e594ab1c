"""ESD reader (Zhou et al. 2021): `<spk>/<Emotion>/[split/]<spk>_<nnnnnn>.wav` + transcripts."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import replace
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
    sniff_text,
)

logger = logging.getLogger(__name__)

CORPUS = "esd"
LAYOUT = ("<root>/<speaker 0001..0020>/<Angry|Happy|Neutral|Sad|Surprise>/[train|evaluation|"
          "test/]<speaker>_<nnnnnn>.wav with transcripts <root>/<speaker>/<speaker>.txt")

EMOTION_FOLDERS = {
    "angry": "anger", "happy": "happiness", "neutral": "neutral",
    "sad": "sadness", "surprise": "surprise",
}
# Release sub-folders -> our split names ('evaluation' is a validation set).
SPLIT_FOLDERS = {"train": "train", "evaluation": "validation", "test": "test"}
# From the ESD release README: 0001-0010 Mandarin, 0011-0020 English.
SPEAKER_SEX = {
    "0001": "female", "0002": "female", "0003": "female", "0004": "male", "0005": "male",
    "0006": "male", "0007": "female", "0008": "male", "0009": "female", "0010": "male",
    "0011": "male", "0012": "male", "0013": "male", "0014": "male", "0015": "female",
    "0016": "female", "0017": "female", "0018": "female", "0019": "female", "0020": "male",
}
SENTENCES_PER_EMOTION = 350  # parallel across emotions: sentence id = (idx - 1) mod 350
_NAME = re.compile(r"^(?P<spk>\d{4})_(?P<idx>\d{6})$")


def _our_split(sentence: int) -> str:
    """Split by sentence id when the release folders are absent [prosody2vec.md §6.1]."""
    return "train" if sentence < 300 else "validation" if sentence < 320 else "test"


def parse_path(path: Path, root: Path) -> Record:
    """Record from the speaker/emotion/[split] folders and the <spk>_<idx> name (no text yet)."""
    m = _NAME.match(path.stem)
    if m is None:
        raise FilenameParseError(path, "not an ESD file name (expected <speaker>_<nnnnnn>.wav, "
                                       "e.g. 0011_000351.wav)")
    spk, idx = m["spk"], int(m["idx"])
    parts = path.relative_to(root).parts[:-1]
    if spk not in parts:
        raise FilenameParseError(path, f"not below a speaker folder named {spk}; "
                                       f"expected layout {LAYOUT}")
    below = parts[len(parts) - 1 - parts[::-1].index(spk) + 1:]
    if len(below) not in (1, 2):
        raise FilenameParseError(path, f"expected <speaker>/<Emotion>/[split/] folders, got "
                                       f"{'/'.join((spk, *below))}")
    folder = below[0]
    if folder.lower() not in EMOTION_FOLDERS:
        raise UnknownLabelError(path, f"unknown ESD emotion folder {folder!r} "
                                      f"(known: Angry, Happy, Neutral, Sad, Surprise)")
    sentence = (idx - 1) % SENTENCES_PER_EMOTION
    if len(below) == 2:
        if below[1].lower() not in SPLIT_FOLDERS:
            raise FilenameParseError(path, f"unknown ESD split folder {below[1]!r} "
                                           f"(known: {', '.join(SPLIT_FOLDERS)})")
        split, split_source = SPLIT_FOLDERS[below[1].lower()], "release"
    else:
        split, split_source = _our_split(sentence), "ours"
    return Record(
        path=path, corpus=CORPUS, speaker=spk, sex=SPEAKER_SEX.get(spk),
        sentence=f"{sentence:03d}", emotion=EMOTION_FOLDERS[folder.lower()],
        original_label=folder,
        extra={"utt_index": idx, "language": "zh" if int(spk) <= 10 else "en",
               "split": split, "split_source": split_source},
    )


def read_transcript(path: Path) -> dict[str, tuple[str, str]]:
    """utt_id -> (text, emotion as written) from `<spk>.txt`.

    The release mixes encodings and tab/space separators (HLTSingapore/Emotional-Speech-Data
    issue #1), so lines without tabs are split on whitespace: id first, emotion last.
    """
    if not path.is_file():
        raise MissingLabelFileError(path, "ESD transcript file is missing")
    out: dict[str, tuple[str, str]] = {}
    for lineno, line in enumerate(sniff_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        cols = [c.strip() for c in line.split("\t")] if "\t" in line else line.split()
        if len(cols) < 3 or not _NAME.match(cols[0]):
            raise LabelFileError(path, f"malformed transcript line {line!r} (expected "
                                       f"id<TAB>text<TAB>emotion)", lineno)
        out[cols[0]] = (" ".join(cols[1:-1]).strip(), cols[-1])
    return out


def _speaker_dir(path: Path, spk: str) -> Path:
    """The nearest ancestor folder named after the speaker."""
    return next(p for p in path.parents if p.name == spk)


def read_esd(root: str | os.PathLike, *, skip_bad: bool = False,
             validate_audio: ValidateMode = False) -> ReadResult:
    """Read ESD (speakers 0001-0010 Mandarin, 0011-0020 English).

    extra: utt_index, language ('zh'/'en'), split ('train'/'validation'/'test'),
    split_source ('release' folders or 'ours' by sentence id) and transcript_emotion.

    A missing or malformed transcript raises; with skip_bad it is reported and the speaker's
    records keep text None (the emotion comes from the folder, so the audio stays usable).
    """
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    files = reader.audio_files()
    reader.require_files(files, LAYOUT)
    records = [reader.attempt(parse_path, p, reader.root) for p in files]
    transcripts: dict[Path, dict[str, tuple[str, str]]] = {}
    out = []
    for rec in records:
        if rec is None:
            continue
        spk_dir = _speaker_dir(rec.path, rec.speaker)
        if spk_dir not in transcripts:
            transcripts[spk_dir] = reader.attempt(
                read_transcript, spk_dir / f"{rec.speaker}.txt") or {}
        entry = transcripts[spk_dir].get(rec.path.stem)
        if entry is not None:
            rec = replace(rec, text=entry[0],
                          extra={**rec.extra, "transcript_emotion": entry[1]})
        out.append(rec)
    return reader.finish(out)
