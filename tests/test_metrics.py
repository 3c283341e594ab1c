"""Tests of affectjax.metrics against numpy/sklearn references and hand-worked values."""

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics as skm

from affectjax import metrics as M

SEEDS = [0, 1, 2, 3, 4]


def _labels(seed, n=200, k=6, imbalanced=False, drop_pred=()):
    rng = np.random.default_rng(seed)
    p = np.arange(1, k + 1, dtype=float) ** 3 if imbalanced else np.ones(k)
    y_true = rng.choice(k, size=n, p=p / p.sum())
    # Predictions: right 60 % of the time, else uniform over the allowed classes.
    allowed = np.array([c for c in range(k) if c not in drop_pred])
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice(allowed, size=n))
    for c in drop_pred:
        y_pred[y_pred == c] = allowed[0]
    return y_true, y_pred


# ------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------

CLASS_CASES = [
    dict(imbalanced=False),
    dict(imbalanced=True),
    dict(imbalanced=True, drop_pred=(1, 4)),  # classes never predicted
]


# With cubic class weights the rarest class is sometimes absent from y_true; sklearn warns then.
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", CLASS_CASES)
def test_classification_matches_sklearn(seed, case):
    k = 6
    y_true, y_pred = _labels(seed, k=k, **case)
    if "drop_pred" in case:
        assert not np.isin(case["drop_pred"], y_pred).any()
    assert M.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert M.war(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert M.uar(y_true, y_pred) == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    assert M.macro_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    assert M.macro_f1(y_true, y_pred, num_classes=k) == pytest.approx(
        skm.f1_score(y_true, y_pred, labels=list(range(k)), average="macro", zero_division=0)
    )
    np.testing.assert_array_equal(
        M.confusion_matrix(y_true, y_pred, k),
        skm.confusion_matrix(y_true, y_pred, labels=list(range(k))),
    )
    # sklearn reports 0 for a class absent from y_true; ours says NaN (undefined) there.
    ref = skm.recall_score(y_true, y_pred, labels=list(range(k)), average=None, zero_division=0)
    ref = np.where(np.isin(np.arange(k), y_true), ref, np.nan)
    np.testing.assert_allclose(M.per_class_recall(y_true, y_pred, k), ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_class_missing_from_y_true(seed):
    # Class 5 is predicted but never true: sklearn's balanced accuracy excludes it from the mean.
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, size=150)
    y_pred = np.where(rng.random(150) < 0.5, y_true, rng.integers(0, 6, size=150))
    y_pred[:3] = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the predicted-only class
        ref_uar = skm.balanced_accuracy_score(y_true, y_pred)
    assert M.uar(y_true, y_pred) == pytest.approx(ref_uar)
    recalls = M.per_class_recall(y_true, y_pred, 7)
    assert np.isnan(recalls[5]) and np.isnan(recalls[6])
    # With num_classes=7, classes 5 (FP only) and 6 (absent) each add an F1 of 0.
    f1_union = M.macro_f1(y_true, y_pred)
    f1_fixed = M.macro_f1(y_true, y_pred, num_classes=7)
    assert f1_fixed == pytest.approx(f1_union * 6 / 7)
    assert f1_fixed == pytest.approx(
        skm.f1_score(y_true, y_pred, labels=list(range(7)), average="macro", zero_division=0)
    )


def test_classification_hand_case():
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 2, 0])
    # Recalls 3/4, 1/2, 1/2 -> UAR 7/12; 5 of 8 right -> WAR 0.625.
    assert M.uar(y_true, y_pred) == pytest.approx(7 / 12)
    assert M.war(y_true, y_pred) == pytest.approx(0.625)
    cm = M.confusion_matrix(y_true, y_pred, 4)
    np.testing.assert_array_equal(cm, [[3, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    # F1: class 0: 2*3/(6+2+1)=2/3; class 1: 2/(2+1+1)=1/2; class 2: 2/(2+0+1)=2/3.
    assert M.macro_f1(y_true, y_pred) == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert M.macro_f1(y_true, y_pred, num_classes=4) == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 4)
    rep = M.classification_report(y_true, y_pred, 4)
    assert set(rep) == {"accuracy", "uar", "war", "macro_f1"}
    assert rep["uar"] == pytest.approx(7 / 12)
    assert rep["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 4)
    assert all(isinstance(v, float) for v in rep.values())


def test_classification_errors():
    with pytest.raises(ValueError, match="y_true and y_pred have different lengths"):
        M.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="y_true is empty"):
        M.uar([], [])
    with pytest.raises(ValueError, match="y_pred must hold integer"):
        M.accuracy([0, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="y_pred has class index 3 >= num_classes=3"):
        M.confusion_matrix([0, 1], [0, 3], 3)
    with pytest.raises(ValueError, match="y_true has a negative"):
        M.accuracy([-1, 1], [0, 1])
    with pytest.raises(ValueError, match="must be 1-D"):
        M.accuracy(np.zeros((2, 2), int), np.zeros((2, 2), int))


# ------------------------------------------------------------------------------------------
# Regression
# ------------------------------------------------------------------------------------------


def _ref_ccc(y, yhat):
    cov = np.cov(y, yhat, bias=True)
    return 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1] + (y.mean() - yhat.mean()) ** 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_matches_references(seed):
    rng = np.random.default_rng(seed)
    y = rng.uniform(-1, 1, size=300)
    yhat = 0.7 * y + 0.2 + rng.normal(0, 0.3, size=300)
    assert M.pcc(y, yhat) == pytest.approx(scipy.stats.pearsonr(y, yhat)[0], rel=1e-10)
    assert M.ccc(y, yhat) == pytest.approx(_ref_ccc(y, yhat), rel=1e-10)
    assert M.rmse(y, yhat) == pytest.approx(np.sqrt(skm.mean_squared_error(y, yhat)), rel=1e-12)
    agree = [(a >= 0) == (b >= 0) for a, b in zip(y, yhat)]
    assert M.sagr(y, yhat) == pytest.approx(np.mean(agree))
    rep = M.regression_report(y, yhat)
    assert rep == pytest.approx(
        {
            "ccc": _ref_ccc(y, yhat),
            "pcc": scipy.stats.pearsonr(y, yhat)[0],
            "rmse": np.sqrt(skm.mean_squared_error(y, yhat)),
            "sagr": np.mean(agree),
        }
    )


def test_ccc_properties():
    rng = np.random.default_rng(7)
    y = rng.normal(size=100)
    assert M.ccc(y, y) == pytest.approx(1.0, abs=1e-12)
    assert M.pcc(y, y) == pytest.approx(1.0, abs=1e-12)
    # A shift keeps PCC at 1 but CCC drops: 2v / (2v + 0.5^2).
    v = y.var()
    assert M.pcc(y, y + 0.5) == pytest.approx(1.0, abs=1e-12)
    assert M.ccc(y, y + 0.5) == pytest.approx(2 * v / (2 * v + 0.25), rel=1e-12)
    assert M.ccc(y, y + 0.5) < M.pcc(y, y + 0.5)
    # Scaling about the mean: CCC(y, 2y) = 4v / (v + 4v) = 0.8 for zero-mean y.
    yc = y - y.mean()
    assert M.ccc(yc, 2 * yc) == pytest.approx(0.8, rel=1e-12)
    assert M.pcc(yc, 2 * yc) == pytest.approx(1.0, abs=1e-12)
    # PCC is invariant to positive affine maps; a negative slope flips its sign.
    yhat = y + rng.normal(size=100)
    assert M.pcc(y, 3 * yhat - 2) == pytest.approx(M.pcc(y, yhat), rel=1e-12)
    assert M.pcc(y, -yhat) == pytest.approx(-M.pcc(y, yhat), rel=1e-12)
    assert M.ccc(yc, -yc) == pytest.approx(-1.0, abs=1e-12)


def test_constant_inputs():
    y = np.array([0.1, -0.3, 0.5, 0.2])
    assert math.isnan(M.pcc(y, np.full(4, 0.2)))
    # A constant predictor gets CCC exactly 0, whatever its level.
    assert M.ccc(y, np.full(4, 0.2)) == 0.0
    assert M.ccc(y, np.full(4, y.mean())) == 0.0
    # Constant but different means: denominator (mu diff)^2 > 0, covariance 0.
    assert M.ccc(np.full(3, 1.0), np.full(3, 2.0)) == 0.0
    with pytest.raises(ValueError, match="both constant and equal"):
        M.ccc(np.full(3, 0.5), np.full(3, 0.5))
    # 0.1 is not exact in binary and the float mean of three 0.1s is not 0.1: still constant.
    tenth = np.full(3, 0.1)
    assert tenth.mean() != 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero warnings on the way to NaN
        assert math.isnan(M.pcc(y[:3], tenth))
        assert M.ccc(y[:3], tenth) == 0.0
    with pytest.raises(ValueError, match="both constant and equal"):
        M.ccc(tenth, tenth.copy())


def test_sagr_zero_rule():
    y = np.array([0.0, 0.0, 0.0, 0.5, -0.5, 0.3, 0.0])
    yhat = np.array([0.2, 0.4, 0.0, 0.1, -0.2, -0.4, -0.1])
    # Zero as positive (y >= 0 vs yhat >= 0): all agree except rows 6 and 7 -> 5/7.
    assert M.sagr(y, yhat) == pytest.approx(5 / 7)
    # np.sign rule: a zero label matches only a zero prediction: rows 3, 4, 5 -> 3/7.
    assert M.sagr(y, yhat, zero="sign") == pytest.approx(3 / 7)
    # Strict y > 0 would give 4/7; neither rule is that one.
    assert np.mean((y > 0) == (yhat > 0)) == pytest.approx(4 / 7)
    with pytest.raises(ValueError, match="zero must be"):
        M.sagr(y, yhat, zero="negative")


def test_regression_errors():
    with pytest.raises(ValueError, match="y and yhat have different lengths"):
        M.ccc([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="y is empty"):
        M.rmse([], [])
    with pytest.raises(ValueError, match="yhat contains NaN"):
        M.pcc([1.0, 2.0, 3.0], [1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="y contains NaN"):
        M.sagr([np.nan, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="must be 1-D"):
        M.ccc(np.zeros((4, 2)), np.zeros((4, 2)))


# ------------------------------------------------------------------------------------------
# Ranking
# ------------------------------------------------------------------------------------------


def _ref_rank(row, pos):
    greater = sum(1 for j, v in enumerate(row) if v > row[pos])
    tied = sum(1 for j, v in enumerate(row) if v == row[pos] and j != pos)
    return greater, tied


def _ref_ranking(scores, pos, k):
    hr, ndcg, rr = [], [], []
    for i, row in enumerate(scores):
        g, t = _ref_rank(row, pos[i])
        r = g + t
        hr.append(float(r < k))
        ndcg.append(1.0 / math.log2(r + 2) if r < k else 0.0)
        rr.append(1.0 / (r + 1))
    return np.mean(hr), np.mean(ndcg), np.mean(rr)


def _ref_ranking_expected(scores, pos, k):
    hr, ndcg, rr = [], [], []
    for i, row in enumerate(scores):
        g, t = _ref_rank(row, pos[i])
        ranks = range(g, g + t + 1)
        hr.append(np.mean([float(r < k) for r in ranks]))
        ndcg.append(np.mean([1.0 / math.log2(r + 2) if r < k else 0.0 for r in ranks]))
        rr.append(np.mean([1.0 / (r + 1) for r in ranks]))
    return np.mean(hr), np.mean(ndcg), np.mean(rr)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("quantise", [False, True])
def test_ranking_matches_loop_reference(seed, quantise):
    rng = np.random.default_rng(seed)
    n, c = 64, 100
    scores = rng.normal(size=(n, c))
    scores[:, 0] += 1.5  # positives mostly ranked high
    if quantise:
        scores = np.round(scores * 2) / 2  # many ties with the positive
    pos0 = np.zeros(n, dtype=int)
    ranks = M.rank_of_positive(scores)
    np.testing.assert_array_equal(ranks, [sum(_ref_rank(r, 0)) for r in scores])
    if quantise:
        assert any(_ref_rank(r, 0)[1] > 0 for r in scores)
    for k in (1, 5, 10):
        hr, ndcg, rr = _ref_ranking(scores, pos0, k)
        assert M.hr_at_k(scores, k) == pytest.approx(hr)
        assert M.ndcg_at_k(scores, k) == pytest.approx(ndcg)
        assert M.mrr(scores) == pytest.approx(rr)
        hr, ndcg, rr = _ref_ranking_expected(scores, pos0, k)
        assert M.hr_at_k(scores, k, ties="expected") == pytest.approx(hr)
        assert M.ndcg_at_k(scores, k, ties="expected") == pytest.approx(ndcg)
        assert M.mrr(scores, ties="expected") == pytest.approx(rr)
    # Positive in a per-row column: moving column 0 elsewhere must give the same metrics.
    pos = rng.integers(0, c, size=n)
    moved = scores.copy()
    rows = np.arange(n)
    moved[rows, 0], moved[rows, pos] = scores[rows, pos], scores[rows, 0]
    np.testing.assert_array_equal(M.rank_of_positive(moved, pos), ranks)
    assert M.ranking_report(moved, pos_index=pos) == pytest.approx(M.ranking_report(scores))


def test_pessimistic_ties_hand_cases():
    # All scores equal: the positive goes last.
    flat = np.zeros((3, 100))
    np.testing.assert_array_equal(M.rank_of_positive(flat), [99, 99, 99])
    assert M.hr_at_k(flat, 10) == 0.0
    assert M.ndcg_at_k(flat, 10) == 0.0
    assert M.mrr(flat) == pytest.approx(1 / 100)
    # Expected mode on the same input: rank uniform on 0..99 -> HR@10 = 0.1.
    assert M.hr_at_k(flat, 10, ties="expected") == pytest.approx(0.1)
    assert M.mrr(flat, ties="expected") == pytest.approx(np.mean(1 / np.arange(1, 101)))
    # Positive (col 0) tied with one negative, one negative above.
    s = np.array([[0.5, 0.9, 0.5, 0.1, 0.2]])
    assert M.rank_of_positive(s)[0] == 2
    assert M.hr_at_k(s, 2) == 0.0
    assert M.hr_at_k(s, 2, ties="expected") == pytest.approx(0.5)
    assert M.ndcg_at_k(s, 3, ties="expected") == pytest.approx((1 / np.log2(3) + 1 / 2) / 2)
    assert M.rank_of_positive(s, pos_index=1)[0] == 0
    assert M.rank_of_positive(s, pos_index=-1)[0] == 3


def test_known_ndcg_values():
    # Positive in column 0 at ranks 0, 1, 3 and 5 (of 6 candidates).
    s = np.array(
        [
            [9.0, 5, 4, 3, 2, 1],
            [8.0, 9, 4, 3, 2, 1],
            [6.0, 9, 8, 7, 2, 1],
            [0.0, 9, 8, 7, 6, 5],
        ]
    )
    np.testing.assert_array_equal(M.rank_of_positive(s), [0, 1, 3, 5])
    per_row = np.array([1.0, 1 / np.log2(3), 1 / np.log2(5), 0.0])  # 0 beyond k=5
    assert M.ndcg_at_k(s, 5) == pytest.approx(per_row.mean())
    assert M.ndcg_at_k(s, 5) == pytest.approx((1 + 0.6309297535714575 + 0.43067655807339306) / 4)
    assert M.hr_at_k(s, 5) == pytest.approx(0.75)
    assert M.hr_at_k(s, 1) == pytest.approx(0.25)
    assert M.mrr(s) == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 6) / 4)
    rep = M.ranking_report(s, ks=(1, 5))
    assert list(rep) == ["hr@1", "ndcg@1", "hr@5", "ndcg@5", "mrr"]
    assert rep["ndcg@1"] == pytest.approx(0.25)


def _ref_graded(rel, scores, k):
    out = []
    for i in range(rel.shape[0]):
        # Pessimistic tie-break: lower relevance first among equal scores.
        order = sorted(range(rel.shape[1]), key=lambda j: (-scores[i, j], rel[i, j]))
        dcg = 0.0
        for r, j in enumerate(order[:k]):
            dcg += (2.0 ** rel[i, j] - 1) / math.log2(r + 2)
        ideal = sorted(rel[i], reverse=True)
        idcg = 0.0
        for r in range(min(k, len(ideal))):
            idcg += (2.0 ** ideal[r] - 1) / math.log2(r + 2)
        out.append(dcg / idcg if idcg > 0 else 0.0)
    return np.mean(out)


@pytest.mark.parametrize("seed", SEEDS)
def test_graded_ndcg_matches_double_loop(seed):
    rng = np.random.default_rng(seed)
    n, c = 30, 20
    rel = rng.integers(0, 4, size=(n, c))
    rel[0] = 0  # a row without relevant items scores 0
    scores = rng.normal(size=(n, c)) + 0.3 * rel
    tied = np.round(scores)
    for k in (1, 3, 10, 25):
        assert M.ndcg_at_k_graded(rel, scores, k) == pytest.approx(_ref_graded(rel, scores, k))
        assert M.ndcg_at_k_graded(rel, tied, k) == pytest.approx(_ref_graded(rel, tied, k))
        # Without ties, sklearn's linear-gain NDCG on gains 2^rel - 1 is the same number.
        assert M.ndcg_at_k_graded(rel, scores, k) == pytest.approx(
            skm.ndcg_score(2.0**rel - 1, scores, k=k)
        )
    binary = rel > 1
    assert M.ndcg_at_k_graded(binary, tied, 5) == pytest.approx(
        _ref_graded(binary.astype(int), tied, 5)
    )


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_graded_one_hot_equals_single_positive(seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=(40, 12)), 1)  # ties included
    onehot = np.zeros_like(scores, dtype=bool)
    onehot[:, 0] = True
    for k in (1, 3, 5):
        assert M.ndcg_at_k_graded(onehot, scores, k) == pytest.approx(M.ndcg_at_k(scores, k))


def test_graded_hand_case():
    rel = np.array([[3, 2, 0, 1]])
    scores = np.array([[0.1, 0.9, 0.5, 0.3]])  # order: 1 (rel 2), 2 (0), 3 (1), 0 (3)
    dcg = 3 / 1 + 0 / np.log2(3) + 1 / 2 + 7 / np.log2(5)
    idcg = 7 / 1 + 3 / np.log2(3) + 1 / 2 + 0
    assert M.ndcg_at_k_graded(rel, scores, 4) == pytest.approx(dcg / idcg)
    assert M.ndcg_at_k_graded(rel, scores, 1) == pytest.approx(3 / 7)
    # All scores tied: relevant items are placed last.
    flat = np.zeros((1, 4))
    dcg_flat = 0 / 1 + 1 / np.log2(3) + 3 / 2 + 7 / np.log2(5)
    assert M.ndcg_at_k_graded(rel, flat, 4) == pytest.approx(dcg_flat / idcg)


def test_ranking_errors():
    s = np.zeros((4, 5))
    with pytest.raises(ValueError, match="scores must be 2-D"):
        M.hr_at_k(np.zeros(5), 1)
    with pytest.raises(ValueError, match="scores is empty"):
        M.mrr(np.zeros((0, 5)))
    bad = s.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="scores contains NaN"):
        M.rank_of_positive(bad)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        M.ndcg_at_k(s, 0)
    with pytest.raises(ValueError, match="pos_index out of range"):
        M.hr_at_k(s, 1, pos_index=5)
    with pytest.raises(ValueError, match="pos_index must be a scalar"):
        M.hr_at_k(s, 1, pos_index=np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="ties must be one of"):
        M.mrr(s, ties="optimistic")
    with pytest.raises(ValueError, match="relevance shape"):
        M.ndcg_at_k_graded(np.zeros((4, 4)), s, 3)
    with pytest.raises(ValueError, match="relevance must be non-negative"):
        M.ndcg_at_k_graded(-np.ones((4, 5)), s, 3)


def test_vectorised_rank_is_fast_enough():
    # 1 positive + 99 negatives for 20k users, as in the XMarket protocol; guards against
    # an accidental per-row loop (which takes seconds here).
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(20_000, 100))
    ranks = M.rank_of_positive(scores)
    assert ranks.shape == (20_000,) and ranks.min() >= 0 and ranks.max() <= 99
    # Under random scores the positive's rank is uniform on 0..99.
    assert abs(M.hr_at_k(scores, 10) - 0.1) < 0.01


def test_itertools_permutation_expectation():
    # The expected tie mode equals the average over every order of the tied candidates.
    s = np.array([[1.0, 1.0, 2.0, 1.0, 0.0]])
    vals = []
    tied_cols = [0, 1, 3]
    for perm in itertools.permutations(range(3)):
        jitter = s.copy()
        for col, eps in zip(tied_cols, perm):
            jitter[0, col] += 1e-3 * eps
        vals.append(M.ndcg_at_k(jitter, 2))
    assert M.ndcg_at_k(s, 2, ties="expected") == pytest.approx(np.mean(vals))
