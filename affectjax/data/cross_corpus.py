"""Cross-corpus SER tasks: source and target corpora as fixed-length feature arrays.

A task name picks two corpora and their shared classes (spec emo_dna §6.3, §7): generated pairs
(`synth_s0` ... `synth_s100`), generated → real (`synth2emodb`), real sex shift on Emo-DB
(`emodb_m2f`, `emodb_f2m`), Emo-DB ↔ jtalk_emotion, and the paper pairs of Emo-DB (E), CASIA (C)
and eNTERFACE (N) (`E2C`, `C2E`, ...). Features come from the feature cache, so a second run of
any task loads them instead of recomputing.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import ml_collections
import numpy as np

from affectjax.data import labels as label_sets
from affectjax.data.corpora import read_corpus
from affectjax.data.feature_cache import FeatureCache
from affectjax.data.features import FeatureConfig
from affectjax.data.synth import config as synth_config
from affectjax.data.synth import corpus as synth_corpus

log = logging.getLogger(__name__)

PAPER_CORPORA = {"E": "emodb", "C": "casia", "N": "enterface"}
SYNTH_TASKS = tuple(synth_config.TASK_SHIFTS)
REAL_TASKS = ("synth2emodb", "emodb_m2f", "emodb_f2m", "emodb2jtalk", "jtalk2emodb")
PAPER_TASKS = ("E2C", "C2E", "E2N", "N2E", "C2N", "N2C")
TASKS = SYNTH_TASKS + REAL_TASKS + PAPER_TASKS


@dataclasses.dataclass(frozen=True)
class CorpusFeatures:
    """One side of a task: features (N, T, F), integer labels, speakers, provenance."""

    name: str
    x: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self):
        n = len(self.x)
        if not (len(self.labels) == len(self.speakers) == n) or n == 0:
            raise ValueError(f"corpus {self.name!r}: {n} feature rows, {len(self.labels)} labels, "
                             f"{len(self.speakers)} speakers (need equal and > 0)")

    def subset(self, mask: np.ndarray, name: str | None = None) -> CorpusFeatures:
        return dataclasses.replace(self, name=name or self.name, x=self.x[mask],
                                   labels=self.labels[mask], speakers=self.speakers[mask])


@dataclasses.dataclass(frozen=True)
class CrossCorpusTask:
    source: CorpusFeatures
    target: CorpusFeatures

    @property
    def classes(self) -> tuple[str, ...]:
        return self.source.classes


def data_dir(data: ml_collections.ConfigDict) -> Path:
    """Where real corpora live: config, else $AFFECTJAX_DATA, else ../shared/data (developers)."""
    if data.get("data_dir"):
        return Path(data.data_dir).expanduser()
    if os.environ.get("AFFECTJAX_DATA"):
        return Path(os.environ["AFFECTJAX_DATA"])
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def feature_config(data: ml_collections.ConfigDict) -> FeatureConfig:
    f = data.features
    return FeatureConfig(kinds=("mfcc",), sample_rate=data.sample_rate,
                         max_samples=data.max_samples, n_mfcc=f.n_mfcc, cmvn=f.cmvn)


def _cache(data: ml_collections.ConfigDict) -> FeatureCache:
    return FeatureCache(feature_config(data), data.get("cache_dir") or None,
                        workers=data.get("feature_workers", 1), progress=data.get("progress", True))


def _stack(rows: list) -> np.ndarray:
    return np.stack([r["mfcc"] for r in rows]).astype(np.float32)


def _synthetic(cfg: synth_config.SynthConfig, classes: tuple[str, ...], data) -> CorpusFeatures:
    keys = [k for k in synth_corpus.corpus_keys(cfg) if k.emotion in classes]
    cache = _cache(data)
    rows = cache.extract([synth_corpus.utterance_source(cfg, k) for k in keys],
                         [synth_corpus.utterance_identity(cfg, k) for k in keys])
    index = {c: i for i, c in enumerate(classes)}
    return CorpusFeatures(
        name=cfg.name, x=_stack(rows),
        labels=np.array([index[k.emotion] for k in keys], np.int32),
        speakers=np.array([synth_corpus.speaker_id(cfg, k.speaker) for k in keys]),
        classes=classes)


def _real(corpus: str, classes: tuple[str, ...], data) -> tuple[CorpusFeatures, np.ndarray]:
    """A real corpus's utterances of ``classes`` and each one's speaker sex."""
    root = data_dir(data) / corpus
    records = read_corpus(corpus, root, skip_bad=data.get("skip_bad", False))
    kept = [r for r in records if r.emotion in classes]
    if not kept:
        raise ValueError(f"corpus {corpus} at {root}: no utterance of the classes {classes}")
    # The cache's default loader reads with affectjax.data.audio.load_audio at its sample rate.
    rows = _cache(data).extract([str(r.path) for r in kept])
    index = {c: i for i, c in enumerate(classes)}
    return CorpusFeatures(
        name=corpus, x=_stack(rows),
        labels=np.array([index[r.emotion] for r in kept], np.int32),
        speakers=np.array([f"{corpus}:{r.speaker}" for r in kept]),
        classes=classes), np.array([r.sex for r in kept])


def _synth_sides(name: str, data, classes: tuple[str, ...]):
    s = data.synth
    duration = data.max_samples / data.sample_rate
    src, tgt = synth_config.task_configs(
        name, seed=s.seed, sample_rate=data.sample_rate, duration_s=duration,
        n_speakers=s.n_speakers, n_sentences=s.n_sentences, takes=s.takes, emotions=classes)
    return src, tgt


NORMS = ("none", "corpus", "speaker")


def normalise(side: CorpusFeatures, by: str) -> CorpusFeatures:
    """Standardise each feature dimension over a corpus's frames, or over each speaker's.

    ``corpus`` / ``speaker`` are the corpus and speaker normalisation of cross-corpus SER
    (Schuller et al., 2010, "Cross-corpus acoustic emotion recognition: variances and
    strategies"). They use no emotion label (the target's speaker ids are metadata), so they
    are fair in unsupervised adaptation. ``none`` (the spec's default) returns the side as is.
    """
    if by == "none":
        return side
    if by not in NORMS:
        raise ValueError(f"data.features.norm={by!r}: expected one of {NORMS}")
    groups = np.zeros(len(side.x), int) if by == "corpus" else np.unique(
        side.speakers, return_inverse=True)[1]
    x = np.empty_like(side.x)
    for g in np.unique(groups):
        rows = side.x[groups == g]
        mean = rows.mean(axis=(0, 1), dtype=np.float64)
        std = rows.std(axis=(0, 1), dtype=np.float64)
        # A dimension constant within the group carries nothing there: centre it only.
        x[groups == g] = (rows - mean) / np.where(std > 1e-6, std, 1.0)
    return dataclasses.replace(side, x=x.astype(np.float32))


def load_task(data: ml_collections.ConfigDict) -> CrossCorpusTask:
    """The source and target features of ``data.task``, normalised by ``data.features.norm``."""
    by = data.features.get("norm", "none")
    if by not in NORMS:
        raise ValueError(f"data.features.norm={by!r}: expected one of {NORMS}")
    task = _load_sides(data)
    return CrossCorpusTask(normalise(task.source, by), normalise(task.target, by))


def _load_sides(data: ml_collections.ConfigDict) -> CrossCorpusTask:
    name = data.task
    if name in SYNTH_TASKS:
        classes = tuple(data.synth.emotions)
        src, tgt = _synth_sides(name, data, classes)
        return CrossCorpusTask(_synthetic(src, classes, data), _synthetic(tgt, classes, data))
    if name == "synth2emodb":
        classes = label_sets.corpus_classes("emodb")
        src, _ = _synth_sides("synth_s0", data, classes)
        target, _ = _real("emodb", classes, data)
        return CrossCorpusTask(_synthetic(src, classes, data), target)
    if name in ("emodb_m2f", "emodb_f2m"):
        classes = label_sets.corpus_classes("emodb")
        emodb, sex = _real("emodb", classes, data)
        male = emodb.subset(sex == "male", "emodb_male")
        female = emodb.subset(sex == "female", "emodb_female")
        return CrossCorpusTask(male, female) if name == "emodb_m2f" else CrossCorpusTask(
            female, male)
    if name in ("emodb2jtalk", "jtalk2emodb"):
        classes = label_sets.shared_classes("emodb", "jtalk_emotion")
        emodb, _ = _real("emodb", classes, data)
        jtalk, _ = _real("jtalk_emotion", classes, data)
        return CrossCorpusTask(emodb, jtalk) if name == "emodb2jtalk" else CrossCorpusTask(
            jtalk, emodb)
    if name in PAPER_TASKS:
        a, b = PAPER_CORPORA[name[0]], PAPER_CORPORA[name[2]]
        classes = label_sets.shared_classes(a, b)
        return CrossCorpusTask(_real(a, classes, data)[0], _real(b, classes, data)[0])
    raise ValueError(f"data.task={name!r}: known tasks are {', '.join(TASKS)}")
