"""Test helpers: tiny corpus trees in each corpus's true layout, bad audio files, shared data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 16000


def shared_data(name: str) -> Path:
    """Folder of a shared developer data set, or skip the test with the reason.

    Looks at $AFFECTJAX_SHARED_DATA, then <repo>/../shared/data.
    """
    bases = []
    if os.environ.get("AFFECTJAX_SHARED_DATA"):
        bases.append(Path(os.environ["AFFECTJAX_SHARED_DATA"]))
    bases.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for base in bases:
        if (base / name).is_dir():
            return base / name
    pytest.skip(f"shared data set {name!r} not found in {[str(b) for b in bases]} "
                f"(set AFFECTJAX_SHARED_DATA to the folder holding {name}/)")


def write_wav(path: Path, sr: int = SR, seconds: float = 0.1, freq: float = 220.0,
              channels: int = 1, subtype: str = "PCM_16") -> Path:
    """A short sine wave (scaled per channel so stereo mixdown is checkable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * freq * t)
    data = np.stack([y * (c + 1) / channels for c in range(channels)], axis=1)
    sf.write(path, data.astype(np.float32), sr, subtype=subtype)
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- bad audio files

def bad_truncated(path: Path) -> Path:
    """A valid WAV cut to half its bytes (as after an interrupted copy)."""
    write_wav(path, seconds=0.2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bad_corrupt(path: Path) -> Path:
    """A WAV whose header is cut before the data chunk."""
    write_wav(path)
    path.write_bytes(path.read_bytes()[:30])
    return path


def bad_empty_samples(path: Path) -> Path:
    """A well-formed WAV header with 0 samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(0, np.float32), SR, subtype="PCM_16")
    return path


def bad_empty_bytes(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def bad_not_audio(path: Path) -> Path:
    return write_text(path, "this is a text file, not audio\n" * 20)


def bad_unreadable(path: Path) -> Path:
    """A directory named like a wav: exists, but cannot be opened as a file."""
    path.mkdir(parents=True)
    return path


def bad_nan(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full(800, np.nan, np.float32), SR, subtype="FLOAT")
    return path


BAD_AUDIO = {
    "truncated": (bad_truncated, "truncated"),
    "corrupt": (bad_corrupt, "corrupt"),
    "empty_samples": (bad_empty_samples, "0 samples"),
    "empty_bytes": (bad_empty_bytes, "empty file"),
    "not_audio": (bad_not_audio, "not an audio file"),
    "unreadable": (bad_unreadable, "unreadable"),
}


# ---------------------------------------------------------------- corpus trees

def emodb_tree(root: Path) -> Path:
    for name in ["03a01Fa", "03a01Wb", "08b02Tc", "16a05Nd", "10b09Lb", "14a02Ea", "13a04Ab"]:
        write_wav(root / "wav" / f"{name}.wav")
    # latin-1, NBSP padding and decimal commas as in the real erkennung.txt
    text = ("Nr.\tSatz\terkannt\tnatuerlich\n"
            "1  \t03a01Fa.wav\t90,00\xa0    \t75,00\xa0    \n"
            "2  \t03a01Wb.wav\t95,00     \t80,00     \n")
    write_text(root / "erkennung.txt", text, "latin-1")
    return root


def ravdess_tree(root: Path) -> Path:
    write_wav(root / "Actor_01" / "03-01-05-02-01-01-01.wav")
    write_wav(root / "Actor_02" / "03-01-08-01-02-02-02.wav")
    write_wav(root / "Actor_02" / "03-01-02-01-01-01-02.wav")
    write_wav(root / "Actor_02" / "03-02-03-01-01-01-02.wav")  # song: excluded by default
    return root


def crema_d_tree(root: Path) -> Path:
    write_wav(root / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    write_wav(root / "AudioWAV" / "1002_IEO_HAP_HI.wav")
    write_wav(root / "AudioWAV" / "1002_TSI_NEU_XX.wav")
    write_text(root / "VideoDemographics.csv",
               "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
               "1002,21,Female,Caucasian,Not Hispanic\n")
    return root


def savee_tree(root: Path, flat: bool = False) -> Path:
    names = [("DC", "sa01"), ("DC", "su02"), ("JE", "a03"), ("KL", "n30"), ("JK", "h15")]
    for spk, stem in names:
        path = root / f"{spk}_{stem}.wav" if flat else root / "AudioData" / spk / f"{stem}.wav"
        write_wav(path)
    return root


def enterface_tree(root: Path) -> Path:
    write_wav(root / "subject 1" / "anger" / "sentence 1" / "s1_an_1.wav")
    write_wav(root / "subject 1" / "happiness" / "sentence 5" / "s1_ha_5.wav")
    write_wav(root / "subject 6" / "sadness" / "s6_sa_3.wav")  # no sentence folder
    write_wav(root / "subject 12" / "s12_su_2.wav")  # no emotion folder: code in name
    return root


def casia_tree(root: Path) -> Path:
    write_wav(root / "liuchanhg" / "angry" / "201.wav")
    write_wav(root / "wangzhe" / "surprise" / "210.wav")
    write_wav(root / "ZhaoZuoxiang" / "neutral" / "205.wav")
    return root


_IEMOCAP_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


def iemocap_label_line(utt: str, code: str, start: float = 1.0) -> str:
    return f"[{start:.4f} - {start + 2:.4f}]\t{utt}\t{code}\t[2.5000, 3.0000, 3.5000]\n"


def iemocap_tree(root: Path) -> Path:
    dialogs = {
        ("Session1", "Ses01F_impro01"): [("Ses01F_impro01_F000", "neu"),
                                         ("Ses01F_impro01_M000", "exc"),
                                         ("Ses01F_impro01_F001", "fru")],
        ("Session2", "Ses02M_script01_1"): [("Ses02M_script01_1_F000", "ang"),
                                            ("Ses02M_script01_1_M001", "sad")],
    }
    for (session, dialog), utts in dialogs.items():
        lines = _IEMOCAP_HEADER
        for i, (utt, code) in enumerate(utts):
            write_wav(root / session / "sentences" / "wav" / dialog / f"{utt}.wav")
            lines += iemocap_label_line(utt, code, 1.0 + 3 * i)
            lines += "C-E1:\tNeutral;\t()\nA-E1:\tval 3; act 2; dom  2;\t()\n\n"
        write_text(root / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt", lines)
    write_text(root / "Session1" / "dialog" / "transcriptions" / "Ses01F_impro01.txt",
               "Ses01F_impro01_F000 [001.0000-003.0000]: Excuse me.\n")
    return root


def esd_tree(root: Path) -> Path:
    # 0001 with the release's split folders, Mandarin transcript in GB18030 with spaces;
    # 0011 flat (our split by sentence id), English transcript in UTF-16 with BOM.
    write_wav(root / "0001" / "Neutral" / "train" / "0001_000001.wav")
    write_wav(root / "0001" / "Angry" / "test" / "0001_000700.wav")
    write_text(root / "0001" / "0001.txt",
               "0001_000001\t打远一看，它们的确很是美丽，\t中立\n"
               "0001_000700 他们 好像 生气\n", "gb18030")
    write_wav(root / "0011" / "Happy" / "0011_000701.wav")
    write_wav(root / "0011" / "Surprise" / "0011_001750.wav")
    write_text(root / "0011" / "0011.txt",
               "0011_000701\tAuthor of the danger trail.\tHappy\n"
               "0011_001750\tThe nine the eggs.\tSurprise\n", "utf-16")
    return root


def jtalk_tree(root: Path) -> Path:
    rows = ["file,speaker,emotion,sentence_id,text"]
    for spk, emo, n in [(1, "angry", "001"), (2, "happy", "002"), (3, "neutral", "003"),
                        (4, "sad", "004")]:
        name = f"{spk}_{emo}_{n}.wav"
        write_wav(root / name)
        rows.append(f"{name},{spk},{emo},{n},今日は雨です。")
    write_text(root / "labels.csv", "\n".join(rows) + "\n")
    return root


def speech_va_tree(root: Path) -> Path:
    for i in range(3):
        write_wav(root / f"{i:02d}.wav")
    write_text(root / "arousal.csv", "00.wav,0.7\n01.wav,-0.2\n02.wav,1.0\n")
    write_text(root / "valence.csv", "00.wav,-0.7\n01.wav,0.1\n02.wav,-1.0\n")
    return root


TREES = {
    "emodb": emodb_tree, "ravdess": ravdess_tree, "crema_d": crema_d_tree,
    "savee": savee_tree, "enterface": enterface_tree, "casia": casia_tree,
    "iemocap": iemocap_tree, "esd": esd_tree, "jtalk_emotion": jtalk_tree,
    "speech_va": speech_va_tree,
}

# A valid-looking audio path (relative to the fixture root) for each corpus, where a bad
# audio file can be planted so that only the audio itself is wrong.
AUDIO_SLOT = {
    "emodb": "wav/15a07Na.wav",
    "ravdess": "Actor_03/03-01-04-01-01-01-03.wav",
    "crema_d": "AudioWAV/1001_IEO_SAD_LO.wav",
    "savee": "AudioData/JK/d05.wav",
    "enterface": "subject 2/fear/sentence 2/s2_fe_2.wav",
    "casia": "zhaoquanyin/sad/220.wav",
    "esd": "0011/Sad/0011_001100.wav",
}
