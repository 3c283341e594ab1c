"""Evaluation metrics (classification, regression, ranking) as pure numpy functions on the host."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "accuracy",
    "war",
    "uar",
    "per_class_recall",
    "macro_f1",
    "confusion_matrix",
    "ccc",
    "pcc",
    "rmse",
    "sagr",
    "rank_of_positive",
    "hr_at_k",
    "ndcg_at_k",
    "mrr",
    "ndcg_at_k_graded",
    "classification_report",
    "regression_report",
    "ranking_report",
]

_TIE_MODES = ("pessimistic", "expected")


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _as_1d(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


def _check_same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} and {name_b} have different lengths: {a.shape[0]} vs {b.shape[0]}"
        )


def _labels(x, name: str) -> np.ndarray:
    a = _as_1d(x, name)
    if a.dtype == bool:
        a = a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        # Float "labels" usually mean logits or probabilities were passed by mistake.
        raise ValueError(f"{name} must hold integer class indices, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.min() < 0:
        raise ValueError(f"{name} has a negative class index ({a.min()})")
    return a


def _label_pair(y_true, y_pred, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    _check_same_length(t, p, "y_true", "y_pred")
    if num_classes is not None:
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        for a, name in ((t, "y_true"), (p, "y_pred")):
            if a.max() >= num_classes:
                raise ValueError(f"{name} has class index {a.max()} >= num_classes={num_classes}")
    return t, p


def _real_pair(y, yhat) -> tuple[np.ndarray, np.ndarray]:
    # 1-D only: pooling valence and arousal into one vector inflates CCC, so a 2-D input is
    # rejected instead of flattened; call once per dimension.
    a = _as_1d(y, "y").astype(np.float64)
    b = _as_1d(yhat, "yhat").astype(np.float64)
    _check_same_length(a, b, "y", "yhat")
    for v, name in ((a, "y"), (b, "yhat")):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or inf ({int(np.sum(~np.isfinite(v)))} values)")
    return a, b


def _centre(a: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean and deviations, exact for constant input."""
    # A float mean of identical values can miss them by one ulp (mean of three 0.1s is not
    # 0.1), leaving ~1e-17 deviations that turn 0/0 into a spurious finite value.
    if a.min() == a.max():
        return float(a[0]), np.zeros_like(a)
    m = a.mean()
    return float(m), a - m


def _scores_2d(scores, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, C), got shape {s.shape}")
    if s.shape[0] == 0 or s.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {s.shape})")
    s = s.astype(np.float64)
    if np.isnan(s).any():
        raise ValueError(f"{name} contains NaN ({int(np.isnan(s).sum())} values)")
    return s


def _pos_column(pos_index, n: int, c: int) -> np.ndarray:
    idx = np.asarray(pos_index)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"pos_index must be an integer or integer array, got dtype {idx.dtype}")
    if idx.ndim == 0:
        idx = np.full((n,), int(idx), dtype=np.int64)
    elif idx.shape != (n,):
        raise ValueError(f"pos_index must be a scalar or shape ({n},), got shape {idx.shape}")
    if (idx < -c).any() or (idx >= c).any():
        raise ValueError(f"pos_index out of range for {c} candidate columns")
    return np.where(idx < 0, idx + c, idx).astype(np.int64)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _check_ties(ties: str) -> None:
    if ties not in _TIE_MODES:
        raise ValueError(f"ties must be one of {_TIE_MODES}, got {ties!r}")


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts of shape (num_classes, num_classes): rows are true classes, columns predicted."""
    t, p = _label_pair(y_true, y_pred, num_classes)
    k = int(num_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class equals the true class."""
    t, p = _label_pair(y_true, y_pred)
    return float(np.mean(t == p))


def war(y_true, y_pred) -> float:
    """Weighted average recall (WAR/WA): recall weighted by class frequency, i.e. accuracy."""
    return accuracy(y_true, y_pred)


def per_class_recall(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Recall TP_k / N_k for k in range(num_classes); NaN for classes absent from y_true."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    out = np.full((num_classes,), np.nan)
    present = support > 0
    out[present] = np.diag(cm)[present] / support[present]
    return out


def uar(y_true, y_pred) -> float:
    """Unweighted average recall (UAR/UA): mean over classes of TP_k / N_k.

    Classes absent from ``y_true`` are excluded from the mean (their recall is 0/0), exactly as
    ``sklearn.metrics.balanced_accuracy_score``; a class that is only predicted lowers UAR
    through the recall of the true classes it steals from, not as a term of its own.
    """
    t, p = _label_pair(y_true, y_pred)
    recalls = per_class_recall(t, p, int(max(t.max(), p.max())) + 1)
    return float(np.nanmean(recalls))


def macro_f1(y_true, y_pred, num_classes: int | None = None) -> float:
    """Unweighted mean over classes of F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k).

    The classes averaged are the labels in ``y_true ∪ y_pred`` when ``num_classes`` is None
    (sklearn ``f1_score(average='macro')``), or all of ``range(num_classes)`` when given (sklearn
    with ``labels=range(num_classes)``). A class with a zero denominator (absent from both) scores
    0, as sklearn with ``zero_division=0``; so passing ``num_classes`` penalises classes the
    evaluation set lacks, which keeps the average over the task's fixed class set.
    """
    t, p = _label_pair(y_true, y_pred, num_classes)
    k = int(num_classes) if num_classes is not None else int(max(t.max(), p.max())) + 1
    cm = confusion_matrix(t, p, k)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    if num_classes is None:
        f1 = f1[np.union1d(t, p)]
    return float(np.mean(f1))


def classification_report(y_true, y_pred, num_classes: int) -> dict[str, float]:
    """Accuracy, UAR, WAR and macro-F1 (over ``range(num_classes)``) as a dict of floats."""
    t, p = _label_pair(y_true, y_pred, num_classes)
    return {
        "accuracy": accuracy(t, p),
        "uar": uar(t, p),
        "war": war(t, p),
        "macro_f1": macro_f1(t, p, num_classes),
    }


# --------------------------------------------------------------------------------------------
# Regression (valence / arousal); one dimension per call
# --------------------------------------------------------------------------------------------


def pcc(y, yhat) -> float:
    """Pearson correlation between 1-D ``y`` and ``yhat``.

    Returns NaN when either input is constant (zero variance): the correlation is undefined
    there, and NaN keeps a degenerate model visible in a results table instead of hiding it
    behind a made-up value.
    """
    a, b = _real_pair(y, yhat)
    (_, da), (_, db) = _centre(a), _centre(b)
    va, vb = np.mean(da * da), np.mean(db * db)
    if va == 0.0 or vb == 0.0:
        return float("nan")
    return float(np.mean(da * db) / np.sqrt(va * vb))


def ccc(y, yhat) -> float:
    """Lin's concordance correlation 2 s_xy / (s_x^2 + s_y^2 + (mu_x - mu_y)^2).

    Population (1/n) moments, as in the AVEC challenges and the AffectNet papers. A constant
    prediction gets 0 whenever the formula allows (labels vary or the means differ). The only
    undefined case, a zero denominator (both inputs constant and equal), raises ValueError.
    """
    a, b = _real_pair(y, yhat)
    (ma, da), (mb, db) = _centre(a), _centre(b)
    denom = np.mean(da * da) + np.mean(db * db) + (ma - mb) ** 2
    if denom == 0.0:
        raise ValueError("ccc is undefined: y and yhat are both constant and equal")
    return float(2.0 * np.mean(da * db) / denom)


def rmse(y, yhat) -> float:
    """Root mean squared error sqrt(mean((yhat - y)^2))."""
    a, b = _real_pair(y, yhat)
    return float(np.sqrt(np.mean((b - a) ** 2)))


def sagr(y, yhat, zero: str = "positive") -> float:
    """Sign agreement rate: mean of 1[sign(y) == sign(yhat)].

    Zero rule, ``zero='positive'`` (default): 0 counts as positive, i.e. the rate compares
    ``y >= 0`` with ``yhat >= 0``, so an exactly-neutral label agrees with any non-negative
    prediction. ``zero='sign'`` uses ``np.sign`` (sign(0) = 0, so a zero matches only a zero),
    the rule in specs/two_att_two_mt.md §7.2.
    """
    a, b = _real_pair(y, yhat)
    if zero == "positive":
        return float(np.mean((a >= 0) == (b >= 0)))
    if zero == "sign":
        return float(np.mean(np.sign(a) == np.sign(b)))
    raise ValueError(f"zero must be 'positive' or 'sign', got {zero!r}")


def regression_report(y, yhat) -> dict[str, float]:
    """CCC, PCC, RMSE and SAGR (default zero rule) of one dimension as a dict of floats."""
    a, b = _real_pair(y, yhat)
    return {"ccc": ccc(a, b), "pcc": pcc(a, b), "rmse": rmse(a, b), "sagr": sagr(a, b)}


# --------------------------------------------------------------------------------------------
# Ranking: one positive among C candidates per row (e.g. 1 positive + 99 sampled negatives)
# --------------------------------------------------------------------------------------------


def _greater_and_tied(scores, pos_index) -> tuple[np.ndarray, np.ndarray, int]:
    """Per row: g = #candidates scoring strictly above the positive, t = #others tied with it."""
    s = _scores_2d(scores)
    n, c = s.shape
    pos = _pos_column(pos_index, n, c)
    s_pos = np.take_along_axis(s, pos[:, None], axis=1)
    g = np.sum(s > s_pos, axis=1)
    # The positive always equals itself; subtracting it leaves the OTHER tied candidates.
    t = np.sum(s == s_pos, axis=1) - 1
    return g.astype(np.int64), t.astype(np.int64), c


def rank_of_positive(scores, pos_index=0) -> np.ndarray:
    """0-based rank of the positive in each row of ``scores`` (N, C), pessimistic on ties.

    Tie rule: rank = #candidates with a strictly greater score + #OTHER candidates with an equal
    score, i.e. the positive is placed last among its ties. A constant-score model therefore
    gets rank C - 1 on every row and no free credit. ``pos_index`` is the positive's column,
    an int for all rows or an int array of shape (N,). NaN scores raise ValueError.
    """
    g, t, _ = _greater_and_tied(scores, pos_index)
    return g + t


def _rank_metric(scores, pos_index, ties: str, fn) -> float:
    # fn maps 0-based ranks to per-row values; "expected" averages it over the rank drawn
    # uniformly from {g, ..., g + t} (random order among ties, exact, no sampling).
    _check_ties(ties)
    g, t, c = _greater_and_tied(scores, pos_index)
    if ties == "pessimistic":
        return float(np.mean(fn(g + t)))
    r = np.arange(c)
    inside = (r[None, :] >= g[:, None]) & (r[None, :] <= (g + t)[:, None])
    per_row = np.sum(np.where(inside, fn(r)[None, :], 0.0), axis=1) / (t + 1)
    return float(np.mean(per_row))


def hr_at_k(scores, k: int, pos_index=0, ties: str = "pessimistic") -> float:
    """Hit rate HR@k = mean(rank < k) of the positive over rows of ``scores`` (N, C).

    ``ties='pessimistic'`` (default) uses :func:`rank_of_positive`; ``ties='expected'`` averages
    over a uniformly random order among tied candidates (specs/bert4cmr.md §7.3).
    """
    k = _check_k(k)
    return _rank_metric(scores, pos_index, ties, lambda r: (r < k).astype(np.float64))


def ndcg_at_k(scores, k: int, pos_index=0, ties: str = "pessimistic") -> float:
    """NDCG@k with one relevant item per row: mean(1/log2(rank + 2) if rank < k else 0).

    The ideal DCG is 1 (the positive at rank 0). Tie rule as in :func:`hr_at_k`.
    """
    k = _check_k(k)
    return _rank_metric(
        scores, pos_index, ties, lambda r: np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0)
    )


def mrr(scores, pos_index=0, ties: str = "pessimistic") -> float:
    """Mean reciprocal rank mean(1 / (rank + 1)) over the full candidate list. Ties as hr_at_k."""
    return _rank_metric(scores, pos_index, ties, lambda r: 1.0 / (r + 1.0))


def ndcg_at_k_graded(relevance, scores, k: int) -> float:
    """NDCG@k for graded or binary relevance matrices (N, C), averaged over rows.

    DCG@k = sum over the top-k of (2^rel - 1) / log2(rank + 2) with 0-based rank, normalised by
    the DCG@k of the ideal (relevance-sorted) order. Tie rule (pessimistic, as
    :func:`rank_of_positive`): among equal scores the less relevant candidates rank first. Rows
    without any relevant item (ideal DCG 0) score 0, as ``sklearn.metrics.ndcg_score``.
    """
    k = _check_k(k)
    s = _scores_2d(scores)
    rel = np.asarray(relevance)
    if rel.shape != s.shape:
        raise ValueError(f"relevance shape {rel.shape} differs from scores shape {s.shape}")
    rel = rel.astype(np.float64)
    if not np.all(np.isfinite(rel)):
        raise ValueError("relevance contains NaN or inf")
    if (rel < 0).any():
        raise ValueError("relevance must be non-negative")
    kk = min(k, s.shape[1])
    discount = 1.0 / np.log2(np.arange(kk) + 2.0)
    gain = np.exp2(rel) - 1.0
    # lexsort's last key is primary: descending score, then ascending relevance within ties.
    order = np.lexsort((rel, -s), axis=1)[:, :kk]
    dcg = np.sum(np.take_along_axis(gain, order, axis=1) * discount, axis=1)
    ideal = np.sort(gain, axis=1)[:, ::-1][:, :kk]
    idcg = np.sum(ideal * discount, axis=1)
    ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
    return float(np.mean(ndcg))


def ranking_report(
    scores, ks: Sequence[int] = (5, 10), pos_index=0, ties: str = "pessimistic"
) -> dict[str, float]:
    """HR@k and NDCG@k for each k in ``ks`` plus MRR, keyed 'hr@5', 'ndcg@5', ..., 'mrr'."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"hr@{k}"] = hr_at_k(scores, k, pos_index, ties)
        out[f"ndcg@{k}"] = ndcg_at_k(scores, k, pos_index, ties)
    out["mrr"] = mrr(scores, pos_index, ties)
    return out
