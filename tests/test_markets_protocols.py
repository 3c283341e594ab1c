"""Protocols `forec` and `paper`: reference equality, determinism, candidate rules, caching."""

import hashlib
import zlib

import numpy as np
import pytest

from affectjax.data.markets import (
    DROPPED,
    TEST,
    TRAIN,
    VALID,
    MarketDataError,
    SynthConfig,
    make_split,
    read_xmarket,
    write_synthetic,
)
from affectjax.data.markets import protocols as protocols_mod
from affectjax.data.markets.split import split_forec


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synth"), SynthConfig.tiny(), seed=3)


@pytest.fixture(scope="module")
def tiny(tiny_root):
    return read_xmarket(tiny_root, verify=True)


@pytest.fixture(scope="module")
def forec(tiny):
    return make_split(tiny, "forec")


@pytest.fixture(scope="module")
def paper(tiny):
    return make_split(tiny, "paper", seed=7)


def _h(u, i):
    d = hashlib.blake2b(f"{u}|{i}".encode(), digest_size=8).digest()
    return int.from_bytes(d, "little")


def _rows_by_user(x):
    by = {}
    for r in range(x.n_rows):
        by.setdefault(int(x.user[r]), []).append(r)
    return by


def test_forec_equals_a_per_user_reference(tiny, forec):
    x = tiny
    ids = x.item_ids
    for u, rows in _rows_by_user(x).items():
        raw = str(x.user_ids[u])
        code = x.markets[x.user_market[u] - 1]
        rows = sorted(rows, key=lambda r: (x.time[r], _h(raw, ids[x.item[r] - 1]), x.line[r]))
        seq = []
        for r in rows:
            if x.item[r] not in [x.item[q] for q in seq]:
                seq.append(r)
        if len(seq) < 3:
            assert (forec.role[rows] == DROPPED).all()
            continue
        want = [TRAIN] * (len(seq) - 2) + [VALID, TEST]
        assert forec.role[seq].tolist() == want
        assert sum(forec.role[rows] != DROPPED) == len(seq)
        pool = x.market_items(code)
        rated = np.unique(x.item[x.user == u])
        for lists, pos_row, c in ((forec.valid, seq[-2], 0), (forec.test, seq[-1], 1)):
            k = int(np.searchsorted(lists.user, u))
            assert lists.user[k] == u and lists.cands[k, 0] == x.item[pos_row]
            seed = [42, zlib.crc32(code.encode()), zlib.crc32(raw.encode()), c]
            ref = np.random.default_rng(seed).choice(np.setdiff1d(pool, rated), 99, replace=False)
            assert lists.cands[k, 1:].tolist() == ref.tolist()


def test_paper_equals_a_per_user_reference(tiny, paper):
    x = tiny
    n_items = x.n_items
    for u, rows in _rows_by_user(x).items():
        raw = str(x.user_ids[u])
        code = x.markets[x.user_market[u] - 1]
        items = sorted(x.item_ids[x.item[rows] - 1].tolist())
        rng = np.random.default_rng([7, zlib.crc32(code.encode()), zlib.crc32(raw.encode())])
        perm = rng.permutation(np.array(items))
        got = {role: sorted(x.item_ids[x.item[[r for r in rows if paper.role[r] == role]] - 1])
               for role in (TRAIN, VALID, TEST)}
        assert got[TEST] == [perm[-1]] and got[VALID] == [perm[-2]]
        assert got[TRAIN] == sorted(perm[:-2].tolist())
        train_ids = x.item_index(perm[:-2])
        for lists, pos, c in ((paper.valid, perm[-2], 0), (paper.test, perm[-1], 1)):
            k = int(np.searchsorted(lists.user, u))
            pos_id = x.item_index(np.array([pos]))
            assert lists.cands[k, 0] == pos_id[0]
            rng = np.random.default_rng([7, zlib.crc32(code.encode()), zlib.crc32(raw.encode()), c])
            pool = np.setdiff1d(np.arange(1, n_items + 1), np.concatenate([train_ids, pos_id]))
            assert lists.cands[k, 1:].tolist() == rng.choice(pool, 99, replace=False).tolist()


@pytest.mark.parametrize("name", ["forec", "paper"])
def test_candidate_rules(tiny, forec, paper, name):
    x, split = tiny, {"forec": forec, "paper": paper}[name]
    n1 = x.n_items + 1
    rated = set((x.user.astype(np.int64) * n1 + x.item).tolist())
    train = set((x.user[split.role == TRAIN].astype(np.int64) * n1
                 + x.item[split.role == TRAIN]).tolist())
    for lists in (split.valid, split.test):
        assert lists.cands.shape == (len(lists), 100) and lists.cands.dtype == np.int32
        srt = np.sort(lists.cands, axis=1)
        assert (srt[:, 1:] != srt[:, :-1]).all()  # 100 distinct: 99 unique negatives + positive
        assert (lists.cands >= 1).all() and (lists.cands <= x.n_items).all()
        assert (np.diff(lists.user) > 0).all()  # one list per user, sorted
        assert (lists.market == x.user_market[lists.user]).all()
        keys = lists.user[:, None].astype(np.int64) * n1 + lists.cands[:, 1:]
        if name == "forec":
            assert not np.isin(keys, list(rated)).any()  # never a rated item
            for m, code in enumerate(x.markets, start=1):
                sel = lists.market == m
                assert np.isin(lists.cands[sel], x.market_items(code)).all()
        else:
            assert not np.isin(keys, list(train)).any()  # never a training item
    assert len(split.valid) == len(split.test) == len(np.unique(x.user[split.role == TEST]))


def _canonical(x, split):
    roles = sorted((x.markets[x.market[r] - 1], str(x.user_ids[x.user[r]]),
                    str(x.item_ids[x.item[r] - 1]), int(split.role[r])) for r in range(x.n_rows)
                   if split.role[r] != DROPPED)
    lists = {lists.name: {str(x.user_ids[u]): x.item_ids[c - 1].tolist()
                          for u, c in zip(lists.user, lists.cands)}
             for lists in (split.valid, split.test)}
    return roles, lists


@pytest.mark.parametrize("protocol, seed", [("forec", None), ("paper", 7)])
def test_determinism_across_runs_and_row_orders(tiny_root, tiny, tmp_path, protocol, seed):
    first = make_split(tiny, protocol, seed=seed)
    again = make_split(read_xmarket(tiny_root), protocol, seed=seed)
    assert np.array_equal(first.role, again.role) and np.array_equal(first.order, again.order)
    assert np.array_equal(first.test.cands, again.test.cands)
    rng = np.random.default_rng(11)
    for path in sorted(tiny_root.glob("*_5core.txt")):
        head, *body = path.read_text().splitlines()
        body = [body[i] for i in rng.permutation(len(body))]
        (tmp_path / path.name).write_text("\n".join([head, *body]) + "\n")
    shuffled = read_xmarket(tmp_path)
    assert shuffled.id_maps() == tiny.id_maps()
    assert shuffled.user_ids.tolist() == tiny.user_ids.tolist()
    assert _canonical(shuffled, make_split(shuffled, protocol, seed=seed)) == _canonical(
        tiny, first)


def test_paper_seed_changes_split_and_forec_seed_is_fixed(tiny, paper):
    other = make_split(tiny, "paper", seed=8)
    assert not np.array_equal(other.role, paper.role)
    assert make_split(tiny, "forec").seed == 42
    with pytest.raises(ValueError, match="run seed"):
        make_split(tiny, "paper")


def test_forec_dedup_ties_and_short_users(tmp_path):
    # u1: 'Z1' and 'A1' on the same last day: the hash decides, never the item id.
    # u2: a duplicate of B (the later copy is dropped) leaves only 2 unique items: dropped.
    rows = [("u1", "X1", "2020-01-01"), ("u1", "X2", "2020-01-02"), ("u1", "X2", "2020-01-03"),
            ("u1", "Z1", "2020-01-05"), ("u1", "A1", "2020-01-05"), ("u2", "B", "2020-01-01"),
            ("u2", "C", "2020-01-02"), ("u2", "B", "2020-01-03")]
    (tmp_path / "aa_5core.txt").write_text("userId itemId rate date\n" + "".join(
        f"{u} {i} 5.0 {d}\n" for u, i, d in rows))
    x = read_xmarket(tmp_path)
    role, order = split_forec(x)
    items = x.item_ids[x.item - 1]
    last, before = sorted(["Z1", "A1"], key=lambda i: _h("u1", i))[::-1]
    assert items[role == TEST].tolist() == [last] and items[role == VALID].tolist() == [before]
    assert sorted(items[role == TRAIN].tolist()) == ["X1", "X2"]
    assert role.tolist()[1:3] == [TRAIN, DROPPED]  # the later X2 copy is dropped
    assert (role[x.user == 1] == DROPPED).all()
    assert order.tolist()[:2] == [0, 1]  # chronological within the user
    with pytest.raises(MarketDataError, match="only 2 candidate items left.*need 99"):
        make_split(x, "forec")


def test_cache_is_keyed_by_inputs_and_reused(tiny, tmp_path, monkeypatch):
    a = make_split(tiny, "forec", cache_dir=tmp_path)
    files = list(tmp_path.glob("split-forec-*.npz"))
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("recomputed instead of loading the cache")

    monkeypatch.setattr(protocols_mod, "split_forec", boom)
    b = make_split(tiny, "forec", cache_dir=tmp_path)
    assert np.array_equal(a.role, b.role) and np.array_equal(a.valid.cands, b.valid.cands)
    assert b.protocol == "forec" and b.seed == 42 and b.test.has_positive
    monkeypatch.undo()
    make_split(tiny, "forec", cache_dir=tmp_path, seed=1)
    make_split(tiny.subset(np.arange(tiny.n_rows) != 0), "forec", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("split-forec-*.npz"))) == 3
