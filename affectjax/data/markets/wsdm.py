"""WSDM Cup 2022 XMRec layout: per-market train/qrel TSVs and given candidate runs (§6.3)."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Sequence

import numpy as np

from affectjax.data.markets._text import read_bytes, split_header, split_table, to_float
from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import Interactions, MarketPart, assemble
from affectjax.data.markets.protocols import given_split
from affectjax.data.markets.split import EvalLists, Split

__all__ = ["NUM_CANDIDATES", "Wsdm22", "read_wsdm22", "read_qrel", "read_run_file"]

NUM_CANDIDATES = 100  # 1 positive + 99 negatives per line [WSDM Cup 2022 format]
_HEADER = ("userId", "itemId", "rating")


def _read_triples(path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, rating, line) of a ``userId itemId rating`` TSV; the header is optional."""
    data = read_bytes(path)
    first = 1
    head, rest = split_header(data)
    if tuple(head.decode("utf-8", "replace").split()) == _HEADER:
        data, first = rest, 2
    (user, item, rating), lines = split_table(data, path, ncols=3, sep="\t", first_line=first,
                                              columns=_HEADER)
    return user, item, to_float(rating, lines, path, "rating"), lines


def read_qrel(path, inter: Interactions, market: str) -> tuple[np.ndarray, np.ndarray]:
    """(user index, item id) of a ``valid_qrel.tsv``; unknown users/items raise with the line."""
    user, item, _, lines = _read_triples(path)
    m = inter.market_id(market)
    u = inter.user_index(m, user)
    i = inter.item_index(item)
    for bad, what, col in ((u < 0, "user", user), (i < 0, "item", item)):
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise MarketDataError(f"unknown {what} {str(col[k])!r} in market {market!r}", path,
                                  int(lines[k]))
    dup = np.flatnonzero(np.bincount(u, minlength=inter.n_users)[u] > 1)
    if dup.size:
        k = int(dup[-1])
        raise MarketDataError(f"user {str(user[k])!r} has more than one validation positive", path,
                              int(lines[k]))
    return u, i.astype(np.int32)


def _run_columns(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = read_bytes(path)
    (user, items), lines = split_table(data, path, ncols=2, sep="\t",
                                       columns=("userId", "items"))
    counts = np.strings.count(items, ",") + 1
    bad = np.flatnonzero(counts != NUM_CANDIDATES)
    if bad.size:
        k = int(bad[0])
        raise MarketDataError(f"expected {NUM_CANDIDATES} candidates, got {int(counts[k])}",
                              path, int(lines[k]))
    flat = np.array(",".join(items.tolist()).split(","), dtype=str)
    return user, flat.reshape(-1, NUM_CANDIDATES), lines


def read_run_file(path, inter: Interactions, market: str, *, name: str,
                  positives: tuple[np.ndarray, np.ndarray] | None = None) -> EvalLists:
    """Candidate lists of a ``valid_run.tsv``/``test_run.tsv`` (protocol `given`).

    One line per user: ``userId<TAB>item1,...,item100``. With ``positives`` (from
    :func:`read_qrel`) each list's positive moves to column 0, the rest keep their order;
    without, the lists keep the file's order and ``has_positive`` is False. Unknown users or
    items, a count other than 100, repeated candidates or users, and a positive missing from
    its list raise MarketDataError with the file and line.
    """
    user, cands_raw, lines = _run_columns(path)
    if user.size == 0:
        raise MarketDataError("no candidate lists", path)
    m = inter.market_id(market)
    u = inter.user_index(m, user)
    if (u < 0).any():
        k = int(np.flatnonzero(u < 0)[0])
        raise MarketDataError(f"unknown user {str(user[k])!r} in market {market!r}", path,
                              int(lines[k]))
    cands = inter.item_index(cands_raw.ravel()).reshape(cands_raw.shape)
    if (cands < 0).any():
        r, c = np.argwhere(cands < 0)[0]
        raise MarketDataError(f"unknown item {str(cands_raw[r, c])!r} (candidate {c + 1})", path,
                              int(lines[r]))
    srt = np.sort(cands, axis=1)
    rep = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
    if rep.size:
        raise MarketDataError("repeated candidate item", path, int(lines[rep[0]]))
    order = np.argsort(u, kind="stable")
    u, cands, lines = u[order], cands[order], lines[order]
    dup = np.flatnonzero(u[1:] == u[:-1])
    if dup.size:
        raise MarketDataError(f"user {str(inter.user_ids[u[dup[0]]])!r} listed twice", path,
                              int(lines[dup[0] + 1]))
    has_positive = positives is not None
    if has_positive:
        pos_of = np.full(inter.n_users, -1, np.int64)
        pos_of[positives[0]] = positives[1]
        pos = pos_of[u]
        if (pos < 0).any():
            k = int(np.flatnonzero(pos < 0)[0])
            raise MarketDataError(f"user {str(inter.user_ids[u[k]])!r} has no validation positive",
                                  path, int(lines[k]))
        hit = cands == pos[:, None]
        missing = np.flatnonzero(~hit.any(axis=1))
        if missing.size:
            k = int(missing[0])
            raise MarketDataError("the validation positive is not among the candidates", path,
                                  int(lines[k]))
        # Stable sort on "is not the positive" moves the positive first, keeping the rest.
        cands = np.take_along_axis(cands, np.argsort(~hit, axis=1, kind="stable"), axis=1)
    return EvalLists(name=name, user=u.astype(np.int32),
                     market=np.full(u.size, m, np.int32), cands=cands.astype(np.int32),
                     has_positive=has_positive)


@dataclasses.dataclass(frozen=True, eq=False)
class Wsdm22:
    """A loaded WSDM Cup 2022 tree: training rows plus given valid/test lists per market."""

    interactions: Interactions
    valid: dict[str, EvalLists]
    test: dict[str, EvalLists]

    def split(self, markets: Sequence[str] | None = None) -> Split:
        """Protocol `given` split whose lists cover ``markets`` (default: all with lists)."""
        def merge(lists: dict[str, EvalLists], name: str) -> EvalLists | None:
            chosen = [lists[c] for c in (markets or sorted(lists)) if c in lists]
            if not chosen:
                return None
            return EvalLists(name=name, user=np.concatenate([x.user for x in chosen]),
                             market=np.concatenate([x.market for x in chosen]),
                             cands=np.concatenate([x.cands for x in chosen]),
                             has_positive=all(x.has_positive for x in chosen))
        return given_split(self.interactions, merge(self.valid, "valid"),
                           merge(self.test, "test"))


def read_wsdm22(root, markets: Sequence[str] | None = None, *,
                train_file: str = "train_5core.tsv", vocab_from_runs: bool = False) -> Wsdm22:
    """Read ``<root>/<market>/{train_file, valid_qrel.tsv, valid_run.tsv, test_run.tsv}``.

    ``markets=None`` takes every sub-folder holding ``train_file`` (s1, s2, s3, t1, t2; the
    pooled ``t1t2`` folder has none). Rows have no date (time unit 'none'); the item vocabulary
    is every item of the train and qrel files of the loaded markets, plus run-file items with
    ``vocab_from_runs`` (otherwise a run naming an unseen item is an error).
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise MarketDataError("not a directory", root)
    found = sorted(p.name for p in root.iterdir() if (p / train_file).is_file())
    markets = found if markets is None else list(markets)
    if not markets:
        raise MarketDataError(f"no market folder with {train_file}", root)
    for code in markets:
        if code not in found:
            raise MarketDataError(f"unknown market {code!r}: no {code}/{train_file}; "
                                  f"available: {' '.join(found) or '(none)'}", root)
    parts, extra = [], []
    for code in markets:
        path = root / code / train_file
        user, item, rating, lines = _read_triples(path)
        if user.size == 0:
            raise MarketDataError(f"market {code!r} has no interactions", path)
        parts.append(MarketPart(code=code, user=user, item=item, rating=rating,
                                time=np.zeros(user.size, np.int64), line=lines,
                                source=str(path)))
        qrel = root / code / "valid_qrel.tsv"
        if qrel.is_file():
            extra.append(_read_triples(qrel)[1])
        if vocab_from_runs:
            for run in ("valid_run.tsv", "test_run.tsv"):
                if (root / code / run).is_file():
                    extra.append(_run_columns(root / code / run)[1].ravel())
    inter = assemble(parts, time_unit="none",
                     extra_items=np.concatenate(extra) if extra else ())
    valid, test = {}, {}
    for code in markets:
        qrel = root / code / "valid_qrel.tsv"
        positives = read_qrel(qrel, inter, code) if qrel.is_file() else None
        if (root / code / "valid_run.tsv").is_file():
            if positives is None:
                raise MarketDataError("valid_run.tsv without valid_qrel.tsv", root / code)
            valid[code] = read_run_file(root / code / "valid_run.tsv", inter, code,
                                        name="valid", positives=positives)
        if (root / code / "test_run.tsv").is_file():
            test[code] = read_run_file(root / code / "test_run.tsv", inter, code, name="test")
    return Wsdm22(interactions=inter, valid=valid, test=test)
