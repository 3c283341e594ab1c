"""Evaluation protocols `forec`, `paper` and `given`: splits plus fixed, cached candidate lists."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import numpy as np

from affectjax.data.markets.interactions import Interactions
from affectjax.data.markets.negatives import draw_excluding
from affectjax.data.markets.split import (
    TEST,
    TRAIN,
    VALID,
    EvalLists,
    Split,
    crc32,
    split_forec,
    split_paper,
)

__all__ = ["PROTOCOLS", "FOREC_SPLIT_SEED", "make_split", "given_split", "load_split",
           "save_split"]

PROTOCOLS = ("forec", "paper", "given")
FOREC_SPLIT_SEED = 42  # spec §5/§7.2: one fixed split and candidate set for all runs [our choice]
_CACHE_VERSION = 1  # bump when the split or candidate procedure changes


def _lists(inter: Interactions, role: np.ndarray, protocol: str, name: str, seed: int,
           k: int) -> EvalLists:
    target = VALID if name == "valid" else TEST
    code = 0 if name == "valid" else 1  # spec §7: valid code 0, test code 1
    rows = np.flatnonzero(role == target)
    rows = rows[np.argsort(inter.user[rows], kind="stable")]
    users = inter.user[rows]
    in_list = np.zeros(inter.n_users, dtype=bool)
    in_list[users] = True
    if protocol == "forec":
        # Everything the user ever rated, in any role and including dropped duplicates.
        excl = np.flatnonzero(in_list[inter.user])
    else:
        # The user's training items plus this split's positive [official-code]; so a valid
        # list may contain the test item.
        excl = np.concatenate([np.flatnonzero((role == TRAIN) & in_list[inter.user]), rows])
    excl = excl[np.argsort(inter.user[excl], kind="stable")]
    excl_users = inter.user[excl]
    cands = np.zeros((users.size, k + 1), dtype=np.int32)
    cands[:, 0] = inter.item[rows]
    global_pool = np.arange(1, inter.n_items + 1, dtype=np.int32)
    for m, code_m in enumerate(inter.markets, start=1):
        sel = np.flatnonzero(inter.market[rows] == m)
        if not sel.size:
            continue
        us = users[sel]
        lo = np.searchsorted(excl_users, us, side="left")
        hi = np.searchsorted(excl_users, us, side="right")
        indptr = np.concatenate([[0], np.cumsum(hi - lo)])
        take = np.repeat(lo - indptr[:-1], hi - lo) + np.arange(indptr[-1])
        pool = inter.market_items(code_m) if protocol == "forec" else global_pool
        mc = crc32(code_m)
        raw = inter.user_ids[us].tolist()
        seeds = [[seed, mc, crc32(r), code] for r in raw]
        cands[sel, 1:] = draw_excluding(
            pool, indptr, inter.item[excl[take]], seeds, k,
            what=[f"market {code_m!r} user {r!r} ({name})" for r in raw])
    return EvalLists(name=name, user=users.astype(np.int32),
                     market=inter.market[rows].astype(np.int32), cands=cands)


def _cache_path(cache_dir, inter: Interactions, protocol: str, seed: int, k: int,
                min_items: int) -> pathlib.Path:
    key = hashlib.sha256(json.dumps(
        [_CACHE_VERSION, protocol, seed, k, min_items, inter.fingerprint()]).encode())
    return pathlib.Path(cache_dir) / f"split-{protocol}-{key.hexdigest()[:24]}.npz"


def save_split(split: Split, path) -> None:
    """Write ``split`` to an .npz (atomically)."""
    arrays = {"role": split.role, "order": split.order}
    for lists in (split.valid, split.test):
        if lists is not None:
            arrays[f"{lists.name}_user"] = lists.user
            arrays[f"{lists.name}_market"] = lists.market
            arrays[f"{lists.name}_cands"] = lists.cands
            arrays[f"{lists.name}_has_positive"] = np.array(lists.has_positive)
    meta = json.dumps({"protocol": split.protocol, "seed": split.seed})
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, meta=np.array(meta), **arrays)
    os.replace(tmp, path)


def load_split(path) -> Split:
    """Read a split written by :func:`save_split`."""
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        lists = {}
        for name in ("valid", "test"):
            if f"{name}_cands" in z:
                lists[name] = EvalLists(name=name, user=z[f"{name}_user"],
                                        market=z[f"{name}_market"], cands=z[f"{name}_cands"],
                                        has_positive=bool(z[f"{name}_has_positive"]))
        return Split(protocol=meta["protocol"], seed=meta["seed"], role=z["role"],
                     order=z["order"], valid=lists.get("valid"), test=lists.get("test"))


def make_split(
    inter: Interactions,
    protocol: str = "forec",
    *,
    seed: int | None = None,
    num_negatives: int = 99,
    min_items: int = 3,
    cache_dir: str | os.PathLike | None = None,
) -> Split:
    """Split ``inter`` and build every user's valid and test candidate lists.

    - ``forec`` (primary) [related-code: FOREC]: chronological leave-one-out (spec §7.2);
      negatives from the user's own market's items minus everything the user rated; ``seed``
      defaults to the fixed split seed 42.
    - ``paper`` [official-code]: seeded random leave-one-out (spec §7.1); negatives from all
      loaded items minus the user's training items and the positive; ``seed`` = run seed.

    Each list is ``[positive, 99 negatives]``. With ``cache_dir`` the result is stored under a
    key of the inputs (rows, id maps, protocol, seed, sizes) and reused.
    """
    if protocol not in ("forec", "paper"):
        raise ValueError(f"protocol must be 'forec' or 'paper' (use given_split for 'given'), "
                         f"got {protocol!r}")
    if seed is None:
        if protocol == "paper":
            raise ValueError("protocol 'paper' needs the run seed (a fresh split per run)")
        seed = FOREC_SPLIT_SEED
    seed = int(seed)
    path = None
    if cache_dir is not None:
        path = _cache_path(cache_dir, inter, protocol, seed, num_negatives, min_items)
        if path.exists():
            return load_split(path)
    if protocol == "forec":
        role, order = split_forec(inter, min_items=min_items)
    else:
        role, order = split_paper(inter, seed, min_items=min_items)
    split = Split(protocol=protocol, seed=seed, role=role, order=order,
                  valid=_lists(inter, role, protocol, "valid", seed, num_negatives),
                  test=_lists(inter, role, protocol, "test", seed, num_negatives))
    if path is not None:
        save_split(split, path)
    return split


def given_split(inter: Interactions, valid: EvalLists | None = None,
                test: EvalLists | None = None) -> Split:
    """Protocol `given` (spec §6.3/§7.2): every row trains; candidate lists come from files.

    Rows are ordered by (user, time, file line), the only order such files offer.
    """
    order = np.lexsort((inter.line, inter.time, inter.user)).astype(np.int64)
    role = np.full(inter.n_rows, TRAIN, dtype=np.int8)
    return Split(protocol="given", seed=0, role=role, order=order, valid=valid, test=test)
