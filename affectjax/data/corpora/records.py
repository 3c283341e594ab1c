"""Record type, bad-input errors and the shared machinery every corpus reader uses."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from affectjax.data.audio import AudioError, audio_info, read_audio
from affectjax.data.labels import EMOTIONS

logger = logging.getLogger(__name__)

T = TypeVar("T")
ValidateMode = bool | Literal["header", "decode"]


@dataclass(frozen=True)
class Record:
    """One utterance of a corpus; fields a corpus does not provide are None.

    `emotion` is a canonical name (labels.EMOTIONS) or None for unlabelled/dimensional
    corpora; `original_label` keeps the corpus's own code. `valence`/`arousal` are in the
    corpus's own scale (speech_va: [-1, 1]; IEMOCAP: 1-5, see `extra['va_scale']`).
    """

    path: Path
    corpus: str
    speaker: str | None
    sex: str | None = None  # 'female' | 'male' | None
    sentence: str | None = None
    emotion: str | None = None
    original_label: str | None = None
    intensity: str | None = None
    session: str | None = None
    text: str | None = None
    valence: float | None = None
    arousal: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.emotion is not None and self.emotion not in EMOTIONS:
            raise ValueError(f"{self.path}: {self.emotion!r} is not a canonical emotion")
        if self.sex not in (None, "female", "male"):
            raise ValueError(f"{self.path}: sex must be 'female', 'male' or None")


class CorpusError(ValueError):
    """Bad corpus input; names the file (and the line for label files) and the problem."""

    def __init__(self, file: str | os.PathLike, reason: str, line: int | None = None):
        self.file = Path(file)
        self.reason = reason
        self.line = line
        where = f"{self.file}:{line}" if line is not None else f"{self.file}"
        super().__init__(f"{where}: {reason}")


class FilenameParseError(CorpusError):
    """A file name (or its folder layout) does not follow the corpus naming convention."""


class UnknownLabelError(CorpusError):
    """A label code (in a file name, folder or label file) the corpus does not define."""


class LabelFileError(CorpusError):
    """A label/manifest file is malformed (bad line, missing column, value out of range)."""


class MissingLabelFileError(LabelFileError):
    """A label/manifest/transcript file the corpus needs does not exist."""


class LayoutError(CorpusError):
    """The corpus root is missing or holds no audio in the expected layout (never skippable)."""


# What `skip_bad=True` may skip; anything else is a bug and propagates.
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (CorpusError, AudioError)


@dataclass(frozen=True)
class SkippedFile:
    """One bad input a reader skipped under `skip_bad=True`, and why."""

    file: Path
    reason: str
    error: str  # the exception class name, e.g. 'UnknownLabelError'
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {self.reason} [{self.error}]"

    @classmethod
    def from_error(cls, err: Exception) -> SkippedFile:
        if isinstance(err, AudioError):
            return cls(err.path, err.reason, type(err).__name__)
        assert isinstance(err, CorpusError)
        return cls(err.file, err.reason, type(err).__name__, err.line)


class ReadResult(Sequence[Record]):
    """Records of one corpus (a sequence, sorted by path) plus the report of skipped inputs."""

    def __init__(self, corpus: str, root: Path, records: Iterable[Record],
                 skipped: Iterable[SkippedFile] = ()):
        self.corpus = corpus
        self.root = root
        self.records: tuple[Record, ...] = tuple(records)
        self.skipped: tuple[SkippedFile, ...] = tuple(skipped)

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Record, ...]: ...
    def __getitem__(self, i):
        return self.records[i]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __repr__(self) -> str:
        return (f"ReadResult(corpus={self.corpus!r}, root={str(self.root)!r}, "
                f"records={len(self.records)}, skipped={len(self.skipped)})")

    def report(self) -> str:
        """Human-readable list of every skipped input and why (empty string if none)."""
        if not self.skipped:
            return ""
        lines = [f"{self.corpus}: skipped {len(self.skipped)} bad input(s) under {self.root}:"]
        lines += [f"  {s}" for s in self.skipped]
        return "\n".join(lines)


def hidden(path: Path, root: Path) -> bool:
    """True for dot-files/dirs below root (e.g. macOS '._x.wav' resource forks), never audio."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


class Reader:
    """Shared reader state: root checks, the skip-or-raise policy, audio validation, report."""

    def __init__(self, corpus: str, root: str | os.PathLike, *, skip_bad: bool = False,
                 validate_audio: ValidateMode = False):
        if validate_audio not in (False, True, "header", "decode"):
            raise ValueError(f"validate_audio must be False, True, 'header' or 'decode', "
                             f"got {validate_audio!r}")
        self.corpus = corpus
        self.root = Path(root).expanduser()
        self.skip_bad = skip_bad
        self.validate_audio = validate_audio
        self.skipped: list[SkippedFile] = []
        self._seen: set[tuple[Path, int | None]] = set()
        if not self.root.is_dir():
            raise LayoutError(self.root, f"{corpus} root directory does not exist")

    def bad(self, err: Exception) -> None:
        """Raise `err`, or record it as skipped when skip_bad is on."""
        if not self.skip_bad:
            raise err
        skipped = SkippedFile.from_error(err)
        # One entry per file (and line): a file found bad by two checks is one bad input.
        if (skipped.file, skipped.line) not in self._seen:
            self._seen.add((skipped.file, skipped.line))
            self.skipped.append(skipped)

    def attempt(self, fn: Callable[..., T], *args: Any) -> T | None:
        """Run fn(*args); a bad-input error is raised or (skip_bad) reported and gives None."""
        try:
            return fn(*args)
        except BAD_INPUT_ERRORS as err:
            self.bad(err)
            return None

    def audio_files(self, top: Path | None = None, *, recursive: bool = True) -> list[Path]:
        """Sorted *.wav files (any case) under `top` (default root), skipping hidden entries.

        Something named *.wav that is not a regular file is a bad input, not silently ignored.
        """
        top = self.root if top is None else top
        pattern = "**/*" if recursive else "*"
        files = []
        for p in sorted(top.glob(pattern)):
            if p.suffix.lower() != ".wav" or hidden(p, self.root):
                continue
            if p.is_file():
                files.append(p)
            else:
                self.bad(AudioError(p, "unreadable: not a regular file"))
        return files

    def require_files(self, files: Sequence[Path], layout: str) -> None:
        """An empty corpus is a wrong root, not a corpus with no data: say so."""
        if not files:
            raise LayoutError(self.root, f"no .wav files found for {self.corpus}; "
                                         f"expected layout {layout}")

    def _validate(self, record: Record) -> Record:
        if self.validate_audio == "decode":
            read_audio(record.path)
        else:
            audio_info(record.path)
        return record

    def finish(self, records: Iterable[Record | None]) -> ReadResult:
        """Validate audio if asked, sort by path, log every skipped input, build the result."""
        kept = [r for r in records if r is not None]
        if self.validate_audio:
            kept = [r for r in (self.attempt(self._validate, r) for r in kept) if r is not None]
        kept.sort(key=lambda r: str(r.path))
        result = ReadResult(self.corpus, self.root, kept, self.skipped)
        if result.skipped:
            logger.warning("%s", result.report())
        logger.info("%s: read %d records from %s", self.corpus, len(kept), self.root)
        return result


def sniff_text(path: Path) -> str:
    """Decode a small text file whose encoding is not stated (BOM, UTF-16, UTF-8, GB18030).

    ESD's transcripts mix UTF-8, UTF-16-LE and GB2312 (HLTSingapore/Emotional-Speech-Data
    issue #1); trying them in this order decodes all of them.
    """
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    # UTF-16 without BOM: ASCII-range text leaves every other byte NUL.
    if raw[1::2].count(0) > len(raw) // 4:
        return raw.decode("utf-16-le")
    if raw[0::2].count(0) > len(raw) // 4:
        return raw.decode("utf-16-be")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise LabelFileError(path, "cannot decode text (tried UTF-16, UTF-8, GB18030)")


def sex_from_code(code: str, file: Path, line: int | None = None) -> str:
    """'F'/'M'/'Female'/'Male' (any case) -> 'female'/'male'."""
    sex = {"f": "female", "m": "male", "female": "female", "male": "male"}.get(code.strip().lower())
    if sex is None:
        raise LabelFileError(file, f"unknown sex code {code!r} (expected F/M or Female/Male)",
                             line)
    return sex


def reconcile(reader: Reader, label_path: Path, listed: dict[Path, int],
              present: Iterable[Path]) -> set[Path]:
    """Check a manifest against the disk; returns the listed files that exist.

    A listed file that is missing and a wav on disk that is not listed are both bad inputs
    (raised, or reported under skip_bad), so nothing is dropped without a word.
    """
    found = set()
    for path, line in listed.items():
        if path.is_file():
            found.add(path)
        else:
            what = "unreadable: not a regular file" if path.exists() else "file not found"
            reader.bad(AudioError(path, f"{what} (listed in {label_path}:{line})"))
    for path in sorted(set(present) - set(listed)):
        reader.bad(LabelFileError(path, f"not listed in {label_path}"))
    return found
