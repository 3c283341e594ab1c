"""Tests of the corpus readers, the skip_bad report, the registry and the label tables."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

import pytest
from corpus_fixtures import (
    AUDIO_SLOT,
    BAD_AUDIO,
    TREES,
    bad_nan,
    iemocap_label_line,
    savee_tree,
    shared_data,
    write_text,
    write_wav,
)

from affectjax.data import labels
from affectjax.data.audio import AudioError
from affectjax.data.corpora import (
    CORPORA,
    FilenameParseError,
    LabelFileError,
    LayoutError,
    MissingLabelFileError,
    ReadResult,
    Record,
    UnknownLabelError,
    read_corpus,
)

READER_LOGGER = "affectjax.data.corpora.records"


def tree(tmp_path: Path, corpus: str) -> Path:
    return TREES[corpus](tmp_path / corpus)


def summary(result: ReadResult) -> list[tuple]:
    """(file name, speaker, sex, emotion, original label) per record, for compact asserts."""
    return [(r.path.name, r.speaker, r.sex, r.emotion, r.original_label) for r in result]


# ---------------------------------------------------------------- parsing good trees

def test_registry_lists_every_reader():
    assert set(CORPORA) == {"emodb", "ravdess", "crema_d", "savee", "enterface", "casia",
                            "iemocap", "esd", "jtalk_emotion", "speech_va"}


def test_emodb(tmp_path):
    res = read_corpus("emodb", tree(tmp_path, "emodb"))
    assert summary(res) == [
        ("03a01Fa.wav", "03", "male", "happiness", "F"),
        ("03a01Wb.wav", "03", "male", "anger", "W"),
        ("08b02Tc.wav", "08", "female", "sadness", "T"),
        ("10b09Lb.wav", "10", "male", "boredom", "L"),
        ("13a04Ab.wav", "13", "female", "fear", "A"),
        ("14a02Ea.wav", "14", "female", "disgust", "E"),
        ("16a05Nd.wav", "16", "female", "neutral", "N"),
    ]
    first = res[0]
    assert first.sentence == "a01" and first.corpus == "emodb"
    assert first.extra == {"version": "a", "recognition": 90.0, "naturalness": 75.0}
    assert "recognition" not in res[2].extra  # not listed in erkennung.txt: no rating


def test_ravdess(tmp_path):
    res = read_corpus("ravdess", tree(tmp_path, "ravdess"))
    assert summary(res) == [
        ("03-01-05-02-01-01-01.wav", "01", "male", "anger", "05"),
        ("03-01-02-01-01-01-02.wav", "02", "female", "calm", "02"),
        ("03-01-08-01-02-02-02.wav", "02", "female", "surprise", "08"),
    ]
    assert res[0].intensity == "strong" and res[0].sentence == "01"
    assert res[2].text == "Dogs are sitting by the door"
    assert res[2].extra["repetition"] == "02"
    with_song = read_corpus("ravdess", tmp_path / "ravdess", include_song=True)
    assert len(with_song) == 4


def test_crema_d(tmp_path):
    res = read_corpus("crema_d", tree(tmp_path, "crema_d"))
    assert summary(res) == [
        ("1001_DFA_ANG_XX.wav", "1001", "male", "anger", "ANG"),
        ("1002_IEO_HAP_HI.wav", "1002", "female", "happiness", "HAP"),
        ("1002_TSI_NEU_XX.wav", "1002", "female", "neutral", "NEU"),
    ]
    assert res[1].intensity == "high" and res[0].intensity == "unspecified"
    assert res[0].sentence == "DFA" and res[0].text == "Don't forget a jacket"


@pytest.mark.parametrize("flat", [False, True])
def test_savee_both_layouts(tmp_path, flat):
    res = read_corpus("savee", savee_tree(tmp_path / "savee", flat=flat))
    got = sorted((r.speaker, r.sentence, r.emotion) for r in res)
    assert got == [("DC", "sa01", "sadness"), ("DC", "su02", "surprise"),
                   ("JE", "a03", "anger"), ("JK", "h15", "happiness"), ("KL", "n30", "neutral")]
    assert {r.sex for r in res} == {"male"}


def test_enterface_nested_and_flat_subjects(tmp_path):
    res = read_corpus("enterface", tree(tmp_path, "enterface"))
    got = sorted((r.speaker, r.emotion, r.sentence, r.original_label) for r in res)
    assert got == [("1", "anger", "1", "an"), ("1", "happiness", "5", "ha"),
                   ("12", "surprise", "2", "su"), ("6", "sadness", "3", "sa")]
    assert {r.sex for r in res} == {None}


def test_casia(tmp_path):
    res = read_corpus("casia", tree(tmp_path, "casia"))
    assert summary(res) == [
        ("205.wav", "ZhaoZuoxiang", "male", "neutral", "neutral"),
        ("201.wav", "liuchanhg", "female", "anger", "angry"),
        ("210.wav", "wangzhe", "male", "surprise", "surprise"),
    ]
    assert res[1].sentence == "201"


def test_iemocap_four_class(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    res = read_corpus("iemocap", tree(tmp_path, "iemocap"))
    assert summary(res) == [
        ("Ses01F_impro01_F000.wav", "Ses01F", "female", "neutral", "neu"),
        ("Ses01F_impro01_M000.wav", "Ses01M", "male", "happiness", "exc"),  # excited -> happy
        ("Ses02M_script01_1_F000.wav", "Ses02F", "female", "anger", "ang"),
        ("Ses02M_script01_1_M001.wav", "Ses02M", "male", "sadness", "sad"),
    ]
    first = res[0]
    assert first.session == "Session1" and res[2].session == "Session2"
    assert first.text == "Excuse me." and res[1].text is None
    assert (first.valence, first.arousal, first.extra["dominance"]) == (2.5, 3.0, 3.5)
    assert first.extra["improvised"] and not res[2].extra["improvised"]
    assert any("excluded 1 utterances" in r.getMessage() for r in caplog.records)  # fru
    everything = read_corpus("iemocap", tmp_path / "iemocap", four_class=False)
    fru = [r for r in everything if r.original_label == "fru"]
    assert len(everything) == 5 and fru[0].emotion is None


def test_esd_encodings_splits_and_transcripts(tmp_path):
    res = read_corpus("esd", tree(tmp_path, "esd"))
    assert summary(res) == [
        ("0001_000700.wav", "0001", "female", "anger", "Angry"),
        ("0001_000001.wav", "0001", "female", "neutral", "Neutral"),
        ("0011_000701.wav", "0011", "male", "happiness", "Happy"),
        ("0011_001750.wav", "0011", "male", "surprise", "Surprise"),
    ]
    angry, neutral, happy, surprise = res
    assert neutral.text == "打远一看，它们的确很是美丽，"
    assert neutral.extra["transcript_emotion"] == "中立"
    assert angry.text == "他们 好像" and angry.extra["transcript_emotion"] == "生气"
    assert happy.text == "Author of the danger trail."
    # parallel sentences: index 701 and 001 are sentence 0, 700 and 1750 sentence 349
    assert [r.sentence for r in res] == ["349", "000", "000", "349"]
    assert [(r.extra["split"], r.extra["split_source"]) for r in res] == [
        ("test", "release"), ("train", "release"), ("train", "ours"), ("test", "ours")]
    assert [r.extra["language"] for r in res] == ["zh", "zh", "en", "en"]


def test_jtalk_fixture(tmp_path):
    res = read_corpus("jtalk", tree(tmp_path, "jtalk_emotion"))  # alias
    assert [(r.speaker, r.emotion, r.sentence) for r in res] == [
        ("1", "anger", "001"), ("2", "happiness", "002"), ("3", "neutral", "003"),
        ("4", "sadness", "004")]
    assert res[0].text == "今日は雨です。" and res[0].corpus == "jtalk_emotion"


def test_speech_va_fixture(tmp_path):
    res = read_corpus("speech_va", tree(tmp_path, "speech_va"))
    assert [(r.path.name, r.arousal, r.valence) for r in res] == [
        ("00.wav", 0.7, -0.7), ("01.wav", -0.2, 0.1), ("02.wav", 1.0, -1.0)]
    assert all(r.emotion is None and r.speaker is None for r in res)


def test_hidden_files_are_not_audio(tmp_path):
    root = tree(tmp_path, "emodb")
    write_text(root / "wav" / "._03a01Fa.wav", "AppleDouble")  # macOS resource fork
    assert len(read_corpus("emodb", root, validate_audio=True)) == 7


def test_default_root_from_env(tmp_path, monkeypatch):
    tree(tmp_path, "casia")
    monkeypatch.setenv("AFFECTJAX_DATA", str(tmp_path))
    assert len(read_corpus("CASIA")) == 3
    monkeypatch.delenv("AFFECTJAX_DATA")
    with pytest.raises(ValueError, match="AFFECTJAX_DATA"):
        read_corpus("casia")


def test_unknown_corpus_name():
    with pytest.raises(ValueError, match="unknown corpus 'timit'"):
        read_corpus("timit", "/tmp")


@pytest.mark.parametrize("corpus", sorted(TREES))
def test_missing_or_empty_root_raises_layout_error(tmp_path, corpus):
    with pytest.raises(LayoutError, match="does not exist"):
        read_corpus(corpus, tmp_path / "absent", skip_bad=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    if corpus in ("jtalk_emotion", "speech_va"):  # the manifest is checked first
        with pytest.raises(MissingLabelFileError):
            read_corpus(corpus, empty, skip_bad=True)
    else:
        with pytest.raises(LayoutError):
            read_corpus(corpus, empty, skip_bad=True)


# ---------------------------------------------------------------- bad inputs

def _unparseable(root: Path, corpus: str) -> Path:
    """Plant a file whose name/layout the corpus cannot parse; returns the named file."""
    if corpus == "iemocap":
        label = root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
        with open(label, "a") as f:
            f.write(iemocap_label_line("Ses01F_impro01_X002", "neu", 20.0))
        return write_wav(root / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_X002.wav")
    rel = {
        "emodb": "wav/hello.wav",
        "ravdess": "Actor_01/03-01-05.wav",
        "crema_d": "AudioWAV/1001-DFA-ANG-XX.wav",
        "savee": "AudioData/DC/x.wav",
        "enterface": "misc/clip.wav",
        "casia": "stray.wav",
        "esd": "0011/Happy/take1.wav",
    }[corpus]
    return write_wav(root / rel)


PARSE_CORPORA = ["casia", "crema_d", "emodb", "enterface", "esd", "iemocap", "ravdess", "savee"]


@pytest.mark.parametrize("corpus", PARSE_CORPORA)
def test_unparseable_filename(tmp_path, corpus):
    root = tree(tmp_path, corpus)
    n_good = len(read_corpus(corpus, root))
    bad = _unparseable(root, corpus)
    with pytest.raises(FilenameParseError) as exc:
        read_corpus(corpus, root)
    assert bad.name in str(exc.value) and exc.value.file == bad
    res = read_corpus(corpus, root, skip_bad=True)
    assert len(res) == n_good
    assert [(s.file, s.error) for s in res.skipped] == [(bad, "FilenameParseError")]


def _unknown_label(root: Path, corpus: str) -> tuple[Path, int | None]:
    """Plant an unknown label code; returns (file named in the error, line or None)."""
    if corpus == "iemocap":
        label = root / "Session2/dialog/EmoEvaluation/Ses02M_script01_1.txt"
        with open(label, "a") as f:
            f.write(iemocap_label_line("Ses02M_script01_1_F002", "zzz", 30.0))
        write_wav(root / "Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_F002.wav")
        return label, len(label.read_text().splitlines())
    if corpus == "jtalk_emotion":
        write_wav(root / "1_furious_005.wav")
        with open(root / "labels.csv", "a") as f:
            f.write("1_furious_005.wav,1,furious,005,怒り\n")
        return root / "labels.csv", 6
    rel = {
        "emodb": "wav/03a01Xa.wav",
        "ravdess": "Actor_01/03-01-09-01-01-01-01.wav",
        "crema_d": "AudioWAV/1001_DFA_XYZ_XX.wav",
        "savee": "AudioData/DC/x01.wav",
        "enterface": "subject 3/s3_zz_1.wav",
        "casia": "wangzhe/bored/230.wav",
        "esd": "0011/Bored/0011_002000.wav",
    }[corpus]
    return write_wav(root / rel), None


@pytest.mark.parametrize("corpus", PARSE_CORPORA + ["jtalk_emotion"])
def test_unknown_label_code(tmp_path, corpus):
    root = tree(tmp_path, corpus)
    n_good = len(read_corpus(corpus, root))
    named, line = _unknown_label(root, corpus)
    with pytest.raises(UnknownLabelError) as exc:
        read_corpus(corpus, root)
    assert named.name in str(exc.value) and exc.value.line == line
    if line is not None:
        assert f"{named.name}:{line}" in str(exc.value)
    res = read_corpus(corpus, root, skip_bad=True)
    assert len(res) == n_good
    assert [(s.file, s.line, s.error) for s in res.skipped] == [
        (named, line, "UnknownLabelError")]


def _remove_label_file(root: Path, corpus: str) -> tuple[Path, int]:
    """Delete a label file; returns (the missing file, records that lose their label)."""
    target, lost = {
        "crema_d": ("VideoDemographics.csv", None),
        "iemocap": ("Session2/dialog/EmoEvaluation/Ses02M_script01_1.txt", 2),
        "esd": ("0011/0011.txt", 0),
        "jtalk_emotion": ("labels.csv", None),
        "speech_va": ("valence.csv", None),
    }[corpus]
    (root / target).unlink()
    return root / target, lost


@pytest.mark.parametrize("corpus", ["crema_d", "esd", "iemocap", "jtalk_emotion", "speech_va"])
def test_missing_label_file(tmp_path, corpus):
    root = tree(tmp_path, corpus)
    n_good = len(read_corpus(corpus, root))
    missing, lost = _remove_label_file(root, corpus)
    with pytest.raises(MissingLabelFileError) as exc:
        read_corpus(corpus, root)
    assert missing.name in str(exc.value)
    if lost is None:  # corpus-wide label source: nothing can be labelled, always raises
        with pytest.raises(MissingLabelFileError):
            read_corpus(corpus, root, skip_bad=True)
        return
    res = read_corpus(corpus, root, skip_bad=True)
    assert len(res) == n_good - lost
    assert all(s.error == "MissingLabelFileError" for s in res.skipped)
    assert all(missing.name in f"{s.file} {s.reason}" for s in res.skipped)
    if corpus == "esd":  # audio kept (label from the folder), text unknown, file reported
        assert [s.file for s in res.skipped] == [missing]
        assert [r.text for r in res if r.speaker == "0011"] == [None, None]
    else:
        assert len(res.skipped) == lost


def test_malformed_label_lines_name_file_and_line(tmp_path):
    root = tree(tmp_path, "speech_va")
    write_text(root / "arousal.csv", "00.wav,0.7\n01.wav,high\n02.wav,1.5\n")
    with pytest.raises(LabelFileError, match=r"arousal\.csv:2: value 'high' is not a number"):
        read_corpus("speech_va", root)
    res = read_corpus("speech_va", root, skip_bad=True)
    assert [r.path.name for r in res] == ["00.wav"]
    assert [(s.file.name, s.line) for s in res.skipped] == [("arousal.csv", 2),
                                                            ("arousal.csv", 3)]
    assert "outside [-1, 1]" in res.skipped[1].reason


def test_manifest_vs_disk_mismatch(tmp_path):
    root = tree(tmp_path, "jtalk_emotion")
    (root / "2_happy_002.wav").unlink()
    write_wav(root / "9_sad_099.wav")
    with pytest.raises(AudioError, match=r"2_happy_002\.wav: file not found \(listed in"):
        read_corpus("jtalk_emotion", root)
    res = read_corpus("jtalk_emotion", root, skip_bad=True)
    assert len(res) == 3
    assert [(s.file.name, s.error) for s in res.skipped] == [
        ("2_happy_002.wav", "AudioError"), ("9_sad_099.wav", "LabelFileError")]
    assert "not listed in" in res.skipped[1].reason


def test_iemocap_wav_without_label_and_label_without_wav(tmp_path):
    root = tree(tmp_path, "iemocap")
    wav_dir = root / "Session1/sentences/wav/Ses01F_impro01"
    write_wav(wav_dir / "Ses01F_impro01_F009.wav")
    (wav_dir / "Ses01F_impro01_M000.wav").unlink()
    with pytest.raises(AudioError, match="Ses01F_impro01_M000.wav: file not found"):
        read_corpus("iemocap", root)
    res = read_corpus("iemocap", root, skip_bad=True)
    assert len(res) == 3
    assert sorted((s.file.name, s.error) for s in res.skipped) == [
        ("Ses01F_impro01_F009.wav", "LabelFileError"), ("Ses01F_impro01_M000.wav", "AudioError")]


@pytest.mark.parametrize("corpus", sorted(AUDIO_SLOT))
@pytest.mark.parametrize("kind", sorted(BAD_AUDIO))
def test_bad_audio_in_validate_mode(tmp_path, corpus, kind):
    root = tree(tmp_path, corpus)
    n_good = len(read_corpus(corpus, root))
    make, reason = BAD_AUDIO[kind]
    bad = make(root / AUDIO_SLOT[corpus])
    if kind == "unreadable":  # a folder named *.wav is caught while listing files
        with pytest.raises(AudioError, match="not a regular file"):
            read_corpus(corpus, root)
    else:  # the cheap mode parses names only and does not open the audio
        assert len(read_corpus(corpus, root)) == n_good + 1
    with pytest.raises(AudioError, match=reason) as exc:
        read_corpus(corpus, root, validate_audio=True)
    assert bad.name in str(exc.value)
    res = read_corpus(corpus, root, validate_audio=True, skip_bad=True)
    assert len(res) == n_good
    assert [(s.file, s.error) for s in res.skipped] == [(bad, "AudioError")]


def test_listed_path_that_is_a_directory_is_reported_once(tmp_path):
    root = tree(tmp_path, "jtalk_emotion")
    (root / "1_angry_001.wav").unlink()
    (root / "1_angry_001.wav").mkdir()
    with pytest.raises(AudioError, match=r"1_angry_001\.wav: unreadable: not a regular file"):
        read_corpus("jtalk_emotion", root)
    res = read_corpus("jtalk_emotion", root, skip_bad=True)
    assert len(res) == 3
    assert [(s.file.name, s.error) for s in res.skipped] == [("1_angry_001.wav", "AudioError")]


def test_decode_mode_catches_nan_audio(tmp_path):
    root = tree(tmp_path, "emodb")
    bad = bad_nan(root / "wav" / "15a07Na.wav")
    assert len(read_corpus("emodb", root, validate_audio=True)) == 8  # header is fine
    with pytest.raises(AudioError, match="NaN"):
        read_corpus("emodb", root, validate_audio="decode")
    res = read_corpus("emodb", root, validate_audio="decode", skip_bad=True)
    assert [s.file for s in res.skipped] == [bad]
    with pytest.raises(ValueError, match="validate_audio"):
        read_corpus("emodb", root, validate_audio="full")


def test_skip_bad_reports_every_file_and_logs_them(tmp_path, caplog):
    root = tree(tmp_path, "emodb")
    planted = {
        write_wav(root / "wav" / "hello.wav"): "FilenameParseError",
        write_wav(root / "wav" / "03a01Xa.wav"): "UnknownLabelError",
        write_wav(root / "wav" / "05a01Wa.wav"): "FilenameParseError",  # unknown speaker
    }
    kinds = [k for k in sorted(BAD_AUDIO) if k != "unreadable"]
    for kind, spk in zip(kinds, ["09", "11", "12", "15", "16"], strict=True):
        make, _ = BAD_AUDIO[kind]
        planted[make(root / "wav" / f"{spk}b10Na.wav")] = ""  # valid name, bad audio
    caplog.set_level(logging.WARNING, logger=READER_LOGGER)
    res = read_corpus("emodb", root, validate_audio=True, skip_bad=True)
    assert len(res) == 7
    assert {s.file for s in res.skipped} == set(planted)
    assert len(res.skipped) == len(planted)
    for s in res.skipped:
        if planted[s.file]:
            assert s.error == planted[s.file]
        else:
            assert s.error == "AudioError"
    report = res.report()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for f in planted:
        assert f.name in report and f.name in logged
    assert f"skipped {len(planted)} bad input(s)" in logged


def test_malformed_optional_ratings_file(tmp_path):
    root = tree(tmp_path, "emodb")
    write_text(root / "erkennung.txt", "Nr.\tSatz\terkannt\tnatuerlich\n1\t03a01Fa.wav\tabc\n",
               "latin-1")
    with pytest.raises(LabelFileError, match=r"erkennung\.txt:2"):
        read_corpus("emodb", root)
    res = read_corpus("emodb", root, skip_bad=True)
    assert len(res) == 7 and [s.line for s in res.skipped] == [2]


def test_crema_d_actor_missing_from_demographics(tmp_path):
    root = tree(tmp_path, "crema_d")
    write_wav(root / "AudioWAV" / "1050_IEO_SAD_LO.wav")
    with pytest.raises(UnknownLabelError, match="1050_IEO_SAD_LO.wav: actor 1050"):
        read_corpus("crema_d", root)


def test_record_validates_canonical_fields(tmp_path):
    with pytest.raises(ValueError, match="canonical"):
        Record(path=tmp_path / "x.wav", corpus="x", speaker="1", emotion="angry")
    with pytest.raises(ValueError, match="sex"):
        Record(path=tmp_path / "x.wav", corpus="x", speaker="1", sex="F")


# ---------------------------------------------------------------- labels

def test_canonical_emotions():
    assert labels.EMOTIONS == ("neutral", "anger", "happiness", "sadness", "fear", "disgust",
                               "boredom", "surprise", "calm")
    for classes in labels.CORPUS_CLASSES.values():
        assert set(classes) <= set(labels.EMOTIONS)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("emodb", "casia", ("anger", "fear", "happiness", "neutral", "sadness")),
    ("emodb", "enterface", ("anger", "disgust", "fear", "happiness", "sadness")),
    ("casia", "enterface", ("anger", "fear", "happiness", "sadness", "surprise")),
    ("emodb", "ravdess", ("anger", "disgust", "fear", "happiness", "neutral", "sadness")),
    ("crema_d", "emodb", ("anger", "disgust", "fear", "happiness", "neutral", "sadness")),
    ("Emo-DB", "SAVEE", ("anger", "disgust", "fear", "happiness", "neutral", "sadness")),
    ("ravdess", "CREMA-D", ("anger", "disgust", "fear", "happiness", "neutral", "sadness")),
    ("iemocap", "emodb", ("anger", "happiness", "neutral", "sadness")),
    ("casia", "iemocap", ("anger", "happiness", "neutral", "sadness")),
    ("iemocap", "enterface", ("anger", "happiness", "sadness")),
    ("emodb", "jtalk_emotion", ("anger", "happiness", "neutral", "sadness")),
    ("emodb", "emodb", labels.CORPUS_CLASSES["emodb"]),
])
def test_shared_classes_table(a, b, expected):
    assert labels.shared_classes(a, b) == expected
    assert labels.shared_classes(b, a) == expected


def test_shared_classes_exist_in_both_corpora():
    for pair, classes in labels.PAIR_CLASSES.items():
        for corpus in pair:
            assert set(classes) <= set(labels.CORPUS_CLASSES[corpus]), (pair, corpus)


def test_unknown_pair_names_both_corpora():
    with pytest.raises(ValueError, match="'esd' <-> 'casia'"):
        labels.shared_classes("esd", "casia")
    with pytest.raises(ValueError, match="'timit' <-> 'emodb'"):
        labels.shared_classes("timit", "emodb")


def test_label_map():
    assert labels.label_map(("anger", "sadness")) == {"anger": 0, "sadness": 1}
    classes = labels.shared_classes("emodb", "casia")
    assert list(labels.label_map(classes)) == list(classes)
    with pytest.raises(ValueError, match="not canonical"):
        labels.label_map(["angry"])
    with pytest.raises(ValueError, match="duplicate"):
        labels.label_map(["anger", "anger"])


def test_readers_emit_their_documented_classes(tmp_path):
    for corpus, classes in labels.CORPUS_CLASSES.items():
        res = read_corpus(corpus, tree(tmp_path, corpus))
        assert {r.emotion for r in res} <= set(classes), corpus


# ---------------------------------------------------------------- real shared copies

def test_real_emodb():
    res = read_corpus("emodb", shared_data("emodb"), validate_audio=True)
    assert len(res) == 535 and not res.skipped
    assert Counter(r.emotion for r in res) == {
        "anger": 127, "boredom": 81, "neutral": 79, "happiness": 71, "fear": 69,
        "sadness": 62, "disgust": 46}
    assert len({r.speaker for r in res}) == 10
    per_speaker = Counter(r.speaker for r in res)
    assert per_speaker["16"] == 71 and per_speaker["12"] == 35  # data README table
    assert not [r for r in res if r.speaker == "08" and r.emotion == "disgust"]
    assert Counter(r.sex for r in res) == {"female": 302, "male": 233}
    assert all("recognition" in r.extra for r in res)  # all 535 are in erkennung.txt


def test_real_jtalk_emotion():
    res = read_corpus("jtalk_emotion", shared_data("jtalk_emotion"), validate_audio=True)
    assert len(res) == 320 and not res.skipped
    assert Counter(r.emotion for r in res) == {
        "anger": 80, "happiness": 80, "neutral": 80, "sadness": 80}
    assert sorted({r.speaker for r in res}) == ["1", "2", "3", "4"]
    assert all(r.text for r in res)


def test_real_speech_va():
    res = read_corpus("speech_va", shared_data("speech_va"), validate_audio=True)
    assert len(res) == 47 and not res.skipped
    for r in res:
        assert -1 <= r.valence <= 1 and -1 <= r.arousal <= 1


def test_real_ravdess_sample(tmp_path):
    src = shared_data("ravdess_sample")
    res = read_corpus("ravdess", src, validate_audio=True)
    assert len(res) == len(list(src.glob("*.wav"))) and not res.skipped
    assert {r.speaker for r in res} == {"01"} and {r.sex for r in res} == {"male"}
    assert {r.emotion for r in res} == set(labels.CORPUS_CLASSES["ravdess"])
    # the same files in the Actor_XX layout parse identically
    actor = tmp_path / "Actor_01"
    actor.mkdir()
    for f in src.glob("*.wav"):
        shutil.copy(f, actor / f.name)
    nested = read_corpus("ravdess", tmp_path)
    assert [r.emotion for r in nested] == [r.emotion for r in res]
