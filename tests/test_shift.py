"""`shift` makes the target corpus separable from the source (spec §6.6, §11 test_shift)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from affectjax.data import features as F
from affectjax.data import synth

N_SPK, N_SEN = 4, 4
EMOTIONS = ("neutral", "anger", "sadness")  # the extremes are enough; keeps the test fast
FEAT = F.FeatureConfig(sample_rate=16000, n_mfcc=13, n_fft=512, win_length=512, hop_length=256,
                       n_mels=40, max_samples=24000)


def _mfcc_means(cfg):
    keys = synth.corpus_keys(cfg)
    x = np.stack([F.mfcc(F.prepare(u.wave, FEAT), FEAT).mean(0)
                  for u in synth.generate_corpus(cfg, keys)])
    return x, np.array([k.speaker for k in keys]), np.array([k.sentence for k in keys])


def corpus_accuracy(shift: float) -> float:
    """Held-out accuracy of a source-vs-target logistic regression on MFCC means.

    Each fold tests on one speaker index and one sentence index never seen in training (from
    both corpora), so the classifier must use corpus-level cues, not memorised voices or texts.
    """
    src, tgt = synth.task_configs(shift, sample_rate=16000, duration_s=1.5, n_speakers=N_SPK,
                                  n_sentences=N_SEN, takes=1, emotions=EMOTIONS)
    xs, ss, ks = _mfcc_means(src)
    xt, st, kt = _mfcc_means(tgt)
    x = np.concatenate([xs, xt])
    y = np.r_[np.zeros(len(xs)), np.ones(len(xt))]
    spk, sen = np.r_[ss, st], np.r_[ks, kt]
    correct = total = 0
    for f in range(N_SPK):
        test = (spk == f) & (sen == f)
        train = (spk != f) & (sen != f)
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        clf.fit(x[train], y[train])
        correct += int((clf.predict(x[test]) == y[test]).sum())
        total += int(test.sum())
    return correct / total


def test_shift_separates_corpora():
    acc = [corpus_accuracy(s) for s in (0.0, 0.5, 1.0)]
    print("corpus accuracy at shift 0 / 0.5 / 1.0:", acc)
    assert acc[0] <= acc[1] <= acc[2], acc
    assert acc[2] >= 0.9, acc
