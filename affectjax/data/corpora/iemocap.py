"""IEMOCAP reader (Busso et al. 2008): wavs per dialog, labels from EmoEvaluation files."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from affectjax.data.audio import AudioError
from affectjax.data.corpora.records import (
    FilenameParseError,
    LabelFileError,
    LayoutError,
    MissingLabelFileError,
    Reader,
    ReadResult,
    Record,
    UnknownLabelError,
    ValidateMode,
    hidden,
)

logger = logging.getLogger(__name__)

CORPUS = "iemocap"
LAYOUT = ("<root>/Session{1..5}/sentences/wav/<dialog>/<utt>.wav with labels in "
          "<root>/Session{n}/dialog/EmoEvaluation/<dialog>.txt")

# Every code IEMOCAP's EmoEvaluation summary lines use; None = no canonical counterpart.
LABEL_CODES: dict[str, str | None] = {
    "neu": "neutral", "ang": "anger", "sad": "sadness", "hap": "happiness",
    "exc": "happiness", "sur": "surprise", "fea": "fear", "dis": "disgust",
    "fru": None, "oth": None, "xxx": None,
}
# The standard 4-class set (5,531 utterances): excited is merged into happiness
# [emo_dna.md §6.2, the usual IEMOCAP SER protocol].
FOUR_CLASS_CODES = frozenset({"neu", "ang", "sad", "hap", "exc"})

_LABEL_LINE = re.compile(
    r"^\[(?P<start>\d+(?:\.\d+)?)\s*-\s*(?P<end>\d+(?:\.\d+)?)\]\s+(?P<utt>\S+)\s+(?P<code>\S+)"
    r"\s+\[(?P<v>[-\d.]+),\s*(?P<a>[-\d.]+),\s*(?P<d>[-\d.]+)\]\s*$"
)
_UTT = re.compile(r"^(?P<ses>Ses\d{2})[FM]_.+_(?P<sex>[FM])\w*$")
_TRANSCRIPT_LINE = re.compile(r"^(?P<utt>\S+)\s+\[[\d.]+-[\d.]+\]:\s*(?P<text>.*)$")


@dataclass(frozen=True)
class _Label:
    line: int
    code: str
    start: float
    end: float
    vad: tuple[float, float, float]


def read_label_file(path: Path, reader: Reader) -> dict[str, _Label | None]:
    """utt_id -> label from the '[start - end]<TAB>utt<TAB>code<TAB>[V, A, D]' lines.

    A bad line is raised or reported through `reader`; its utterance maps to None so that its
    wav is not reported a second time as unlabelled.
    """
    labels: dict[str, _Label | None] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("["):  # evaluator lines (C-E1:, A-E2:) and the header
            continue
        m = _LABEL_LINE.match(line.strip())
        if m is None:
            utt = line.split("\t")[1].strip() if line.count("\t") >= 2 else None
            reader.bad(LabelFileError(path, f"malformed label line {line.strip()!r}", lineno))
            if utt:
                labels[utt] = None
            continue
        utt, code = m["utt"], m["code"]
        if code not in LABEL_CODES:
            labels[utt] = None
            reader.bad(UnknownLabelError(path, f"unknown IEMOCAP label {code!r} for {utt} "
                                               f"(known: {', '.join(LABEL_CODES)})", lineno))
            continue
        if utt in labels:
            reader.bad(LabelFileError(path, f"duplicate label line for {utt}", lineno))
            continue
        vad = (float(m["v"]), float(m["a"]), float(m["d"]))
        labels[utt] = _Label(lineno, code, float(m["start"]), float(m["end"]), vad)
    return labels


def read_transcripts(path: Path) -> dict[str, str]:
    """utt_id -> text from dialog/transcriptions/<dialog>.txt (optional; odd lines ignored)."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _TRANSCRIPT_LINE.match(line.strip())
        if m:
            out[m["utt"]] = m["text"].strip()
    return out


def _record(wav: Path, session: str, label: _Label, label_path: Path,
            text: str | None) -> Record:
    m = _UTT.match(wav.stem)
    if m is None:
        raise FilenameParseError(wav, "not an IEMOCAP utterance id (expected e.g. "
                                      "Ses01F_impro01_F000: speaker sex is the first letter "
                                      "of the last '_' field)")
    v, a, d = label.vad
    return Record(
        path=wav, corpus=CORPUS, speaker=m["ses"] + m["sex"],
        sex="female" if m["sex"] == "F" else "male",
        sentence=wav.stem, emotion=LABEL_CODES[label.code], original_label=label.code,
        session=session, text=text, valence=v, arousal=a,
        extra={"dominance": d, "va_scale": "1-5", "dialog": wav.parent.name,
               "improvised": "_impro" in wav.parent.name, "start": label.start,
               "end": label.end, "label_file": str(label_path), "label_line": label.line},
    )


def _read_dialog(reader: Reader, session: Path, dialog: str, wavs: dict[str, Path],
                 four_class: bool, excluded: Counter) -> list[Record | None]:
    label_path = session / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
    if not label_path.is_file():
        for wav in wavs.values():
            reader.bad(MissingLabelFileError(wav, f"its label file {label_path} does not exist"))
        return []
    labels = read_label_file(label_path, reader)
    texts = read_transcripts(session / "dialog" / "transcriptions" / f"{dialog}.txt")
    wav_dir = session / "sentences" / "wav" / dialog
    records: list[Record | None] = []
    for utt, label in labels.items():
        wav = wavs.pop(utt, None)
        if label is None:  # bad line, already raised or reported
            continue
        if wav is None:
            reader.bad(AudioError(wav_dir / f"{utt}.wav",
                                  f"file not found (listed in {label_path}:{label.line})"))
            continue
        if four_class and label.code not in FOUR_CLASS_CODES:
            excluded[label.code] += 1
            continue
        records.append(reader.attempt(_record, wav, session.name, label, label_path,
                                      texts.get(utt)))
    for wav in wavs.values():
        reader.bad(LabelFileError(wav, f"no label line for this utterance in {label_path}"))
    return records


def _wavs_by_dialog(reader: Reader, session: Path) -> dict[str, dict[str, Path]]:
    """dialog -> {utt_id: wav} under Session<n>/sentences/wav."""
    wav_root = session / "sentences" / "wav"
    by_dialog: dict[str, dict[str, Path]] = {}
    for wav in reader.audio_files(wav_root) if wav_root.is_dir() else []:
        by_dialog.setdefault(wav.parent.name, {})[wav.stem] = wav
    return by_dialog


def read_iemocap(root: str | os.PathLike, *, skip_bad: bool = False,
                 validate_audio: ValidateMode = False, four_class: bool = True) -> ReadResult:
    """Read IEMOCAP; `four_class=True` keeps neu/ang/sad/hap+exc (excited -> happiness).

    `four_class=False` keeps every labelled utterance; codes without a canonical name (fru,
    oth, xxx) then have emotion None. Excluded utterances are counted in the log.
    """
    reader = Reader(CORPUS, root, skip_bad=skip_bad, validate_audio=validate_audio)
    sessions = sorted(d for d in reader.root.iterdir()
                      if d.is_dir() and re.fullmatch(r"Session\d+", d.name))
    if not sessions:
        raise LayoutError(reader.root, f"no Session<n> folders; expected layout {LAYOUT}")
    wavs = {s: _wavs_by_dialog(reader, s) for s in sessions}
    if not any(wavs.values()):
        raise LayoutError(reader.root, f"no .wav files found; expected layout {LAYOUT}")
    records: list[Record | None] = []
    excluded: Counter = Counter()
    for session in sessions:
        label_dir = session / "dialog" / "EmoEvaluation"
        label_dialogs = ({p.stem for p in label_dir.glob("*.txt") if not hidden(p, reader.root)}
                         if label_dir.is_dir() else set())
        for dialog in sorted(set(wavs[session]) | label_dialogs):
            records += _read_dialog(reader, session, dialog, wavs[session].get(dialog, {}),
                                    four_class, excluded)
    if excluded:
        logger.info("iemocap: excluded %d utterances outside the 4-class set: %s",
                    sum(excluded.values()), dict(sorted(excluded.items())))
    return reader.finish(records)
