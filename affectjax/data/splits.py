"""Speaker-independent splits (leave-speakers-out, speaker k-fold, IEMOCAP sessions, by sex).

Records are anything with `speaker` / `session` / `sex` / `path` attributes (corpus Records,
synthetic metadata). Splits keep the input order inside each part and are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np


class Fold(NamedTuple):
    """One split: a name, the training part and the test part (input order kept)."""

    name: str
    train: list[Any]
    test: list[Any]


def _name(record: Any) -> str:
    return str(getattr(record, "path", record))


def _keys(records: Sequence[Any], attr: str) -> list[str]:
    """The `attr` of each record; None is an error naming the first offending file."""
    keys = [getattr(r, attr, None) for r in records]
    missing = [r for r, k in zip(records, keys) if k is None]
    if missing:
        raise ValueError(f"{len(missing)} record(s) have no {attr} (first: {_name(missing[0])}); "
                         f"a {attr}-based split cannot place them")
    return [str(k) for k in keys]


def speakers(records: Iterable[Any]) -> tuple[str, ...]:
    """Sorted distinct speakers; the same speaker id in two corpora is refused as ambiguous."""
    records = list(records)
    seen: dict[str, str | None] = {}
    for r, spk in zip(records, _keys(records, "speaker")):
        corpus = getattr(r, "corpus", None)
        if seen.setdefault(spk, corpus) != corpus:
            raise ValueError(f"speaker id {spk!r} occurs in corpora {seen[spk]!r} and "
                             f"{corpus!r}; split one corpus at a time or make ids unique")
    return tuple(sorted(seen))


def _partition(records: list[Any], keys: list[str], test_keys: set[str], name: str) -> Fold:
    train = [r for r, k in zip(records, keys) if k not in test_keys]
    test = [r for r, k in zip(records, keys) if k in test_keys]
    return Fold(name, train, test)


def leave_speakers_out(records: Iterable[Any], test_speakers: Iterable[str]) -> Fold:
    """Train on every speaker not in `test_speakers`, test on those speakers."""
    records = list(records)
    known = speakers(records)
    test = {str(s) for s in ([test_speakers] if isinstance(test_speakers, str)
                             else test_speakers)}
    unknown = sorted(test - set(known))
    if unknown:
        raise ValueError(f"test speakers {unknown} not in the records (speakers: {list(known)})")
    if not test:
        raise ValueError("test_speakers is empty")
    return _partition(records, _keys(records, "speaker"), test, "test=" + "+".join(sorted(test)))


def leave_one_speaker_out(records: Iterable[Any]) -> list[Fold]:
    """One fold per speaker (sorted), e.g. the 10 Emo-DB folds."""
    records = list(records)
    keys = _keys(records, "speaker")
    return [_partition(records, keys, {s}, f"test={s}") for s in speakers(records)]


def speaker_kfold(records: Iterable[Any], k: int, seed: int = 0) -> list[Fold]:
    """k folds over speakers: sorted speakers, shuffled by `seed`, cut into k near-equal groups.

    Not stratified [our choice: with ~10 speakers per corpus stratifying by class is
    impossible without splitting a speaker]. Same records, k and seed -> same folds.
    """
    records = list(records)
    spk = speakers(records)
    if not 2 <= k <= len(spk):
        raise ValueError(f"k must be in [2, {len(spk)}] (number of speakers), got {k}")
    order = np.random.default_rng(seed).permutation(len(spk))
    keys = _keys(records, "speaker")
    folds = []
    for i, group in enumerate(np.array_split(order, k)):
        test = {spk[j] for j in group}
        folds.append(_partition(records, keys, test, f"fold{i}"))
    return folds


def iemocap_session_folds(records: Iterable[Any]) -> list[Fold]:
    """Leave-one-session-out: one fold per `session` (IEMOCAP: 5), sorted by session name."""
    records = list(records)
    keys = _keys(records, "session")
    sessions = sorted(set(keys))
    if len(sessions) < 2:
        raise ValueError(f"leave-one-session-out needs at least 2 sessions, got {sessions}")
    return [_partition(records, keys, {s}, s) for s in sessions]


def sex_split(records: Iterable[Any]) -> dict[str, list[Any]]:
    """{'female': [...], 'male': [...]}; records of unknown sex are an error, not dropped."""
    records = list(records)
    keys = _keys(records, "sex")
    odd = sorted(set(keys) - {"female", "male"})
    if odd:
        raise ValueError(f"sex values must be 'female'/'male', got {odd}")
    return {sex: [r for r, k in zip(records, keys) if k == sex] for sex in ("female", "male")}
