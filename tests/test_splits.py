"""Tests of speaker-independent splits: disjoint speakers, complete coverage, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_fixtures import iemocap_tree, shared_data

from affectjax.data.corpora import Record, read_corpus
from affectjax.data.splits import (
    Fold,
    iemocap_session_folds,
    leave_one_speaker_out,
    leave_speakers_out,
    sex_split,
    speaker_kfold,
    speakers,
)


def make_records(n_speakers: int = 7, per_speaker: int = 3, corpus: str = "toy") -> list[Record]:
    recs = []
    for s in range(n_speakers):
        for i in range(per_speaker):
            recs.append(Record(
                path=Path(f"/data/{corpus}/{s:02d}_{i}.wav"), corpus=corpus, speaker=f"{s:02d}",
                sex="female" if s % 2 else "male", emotion="neutral",
                session=f"Session{s % 3 + 1}"))
    return recs


def spk(records) -> set[str]:
    return {r.speaker for r in records}


def check_partition(fold: Fold, records) -> None:
    """Train and test are speaker-disjoint, cover every record once and keep input order."""
    assert not spk(fold.train) & spk(fold.test)
    assert sorted(map(id, fold.train + fold.test)) == sorted(map(id, records))
    order = {id(r): i for i, r in enumerate(records)}
    for part in (fold.train, fold.test):
        idx = [order[id(r)] for r in part]
        assert idx == sorted(idx)


def test_leave_speakers_out():
    recs = make_records()
    fold = leave_speakers_out(recs, ["03", "05"])
    check_partition(fold, recs)
    assert spk(fold.test) == {"03", "05"} and len(fold.test) == 6
    assert fold.name == "test=03+05"
    assert leave_speakers_out(recs, "03").test == [r for r in recs if r.speaker == "03"]


def test_leave_speakers_out_errors():
    recs = make_records()
    with pytest.raises(ValueError, match=r"\['99'\] not in the records"):
        leave_speakers_out(recs, ["03", "99"])
    with pytest.raises(ValueError, match="empty"):
        leave_speakers_out(recs, [])


def test_leave_one_speaker_out():
    recs = make_records(n_speakers=4)
    folds = leave_one_speaker_out(recs)
    assert [f.name for f in folds] == ["test=00", "test=01", "test=02", "test=03"]
    for fold in folds:
        check_partition(fold, recs)
        assert len(spk(fold.test)) == 1


@pytest.mark.parametrize("k", [2, 3, 7])
def test_speaker_kfold_covers_each_speaker_once(k):
    recs = make_records(n_speakers=7)
    folds = speaker_kfold(recs, k, seed=0)
    assert len(folds) == k
    tested = [s for f in folds for s in sorted(spk(f.test))]
    assert sorted(tested) == sorted(spk(recs))  # every speaker tested exactly once
    sizes = sorted(len(spk(f.test)) for f in folds)
    assert sizes[-1] - sizes[0] <= 1  # near-equal speaker counts
    for fold in folds:
        check_partition(fold, recs)


def test_speaker_kfold_is_deterministic_and_seeded():
    recs = make_records(n_speakers=10)
    a = [sorted(spk(f.test)) for f in speaker_kfold(recs, 5, seed=1)]
    b = [sorted(spk(f.test)) for f in speaker_kfold(list(reversed(recs)), 5, seed=1)]
    assert a == b  # input order does not change which speakers go together
    seeds = {tuple(map(tuple, (sorted(spk(f.test)) for f in speaker_kfold(recs, 5, seed=s))))
             for s in range(6)}
    assert len(seeds) > 1


def test_speaker_kfold_bad_k():
    recs = make_records(n_speakers=3)
    for k in (1, 4):
        with pytest.raises(ValueError, match=r"k must be in \[2, 3\]"):
            speaker_kfold(recs, k)


def test_iemocap_session_folds():
    recs = make_records(n_speakers=6)
    folds = iemocap_session_folds(recs)
    assert [f.name for f in folds] == ["Session1", "Session2", "Session3"]
    for fold in folds:
        assert {r.session for r in fold.test} == {fold.name}
        assert fold.name not in {r.session for r in fold.train}
        assert len(fold.train) + len(fold.test) == len(recs)


def test_iemocap_session_folds_on_reader_output(tmp_path):
    recs = read_corpus("iemocap", iemocap_tree(tmp_path / "iemocap"))
    folds = iemocap_session_folds(recs)
    assert [(f.name, len(f.train), len(f.test)) for f in folds] == [
        ("Session1", 2, 2), ("Session2", 2, 2)]
    check_partition(folds[0], list(recs))  # sessions hold disjoint speakers in IEMOCAP


def test_session_split_needs_sessions():
    recs = [r for r in make_records() if r.session == "Session1"]
    with pytest.raises(ValueError, match="at least 2 sessions"):
        iemocap_session_folds(recs)
    no_session = [Record(path=Path("/x.wav"), corpus="t", speaker="1")]
    with pytest.raises(ValueError, match=r"no session \(first: /x\.wav\)"):
        iemocap_session_folds(no_session)


def test_sex_split():
    recs = make_records()
    parts = sex_split(recs)
    assert set(parts) == {"female", "male"}
    assert all(r.sex == "female" for r in parts["female"])
    assert len(parts["female"]) + len(parts["male"]) == len(recs)
    unknown = [*recs, Record(path=Path("/u.wav"), corpus="toy", speaker="99")]
    with pytest.raises(ValueError, match=r"no sex \(first: /u\.wav\)"):
        sex_split(unknown)


def test_missing_speaker_is_an_error():
    recs = [*make_records(), Record(path=Path("/va/00.wav"), corpus="speech_va", speaker=None)]
    with pytest.raises(ValueError, match=r"1 record\(s\) have no speaker \(first: /va/00\.wav\)"):
        speaker_kfold(recs, 2)


def test_same_speaker_id_in_two_corpora_is_ambiguous():
    recs = make_records(corpus="a") + make_records(corpus="b")
    with pytest.raises(ValueError, match="speaker id '00' occurs in corpora 'a' and 'b'"):
        speakers(recs)


def test_real_emodb_speaker_splits():
    recs = read_corpus("emodb", shared_data("emodb"))
    folds = leave_one_speaker_out(recs)
    assert len(folds) == 10 and sum(len(f.test) for f in folds) == 535
    five = speaker_kfold(recs, 5, seed=0)
    assert all(len(spk(f.test)) == 2 for f in five)
    assert five == speaker_kfold(recs, 5, seed=0)
    parts = sex_split(recs)
    assert (len(parts["female"]), len(parts["male"])) == (302, 233)
    assert spk(parts["male"]) == {"03", "10", "11", "12", "15"}
