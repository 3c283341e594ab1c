"""Training and evaluation rows: histories, negatives, leakage flag, stage row masks."""

import numpy as np
import pytest

from affectjax.data.markets import (
    TRAIN,
    VALID,
    Split,
    SynthConfig,
    eval_inputs,
    faithful_train_rows,
    fixed_train_rows,
    histories,
    make_split,
    read_xmarket,
    train_row_mask,
    write_synthetic,
)
from affectjax.data.markets.split import split_forec


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return read_xmarket(write_synthetic(tmp_path_factory.mktemp("synth"), SynthConfig.tiny(), 2))


@pytest.fixture(scope="module")
def forec(tiny):
    return make_split(tiny, "forec")


def _seq_market(tmp_path):
    # u1 in market aa rates A..G on consecutive days: train A-E, valid F, test G.
    rows = [("u1", c, f"2020-01-0{k + 1}") for k, c in enumerate("ABCDEFG")]
    rows += [("u2", c, f"2020-01-0{k + 1}") for k, c in enumerate("CDE")]
    (tmp_path / "aa_5core.txt").write_text("userId itemId rate date\n" + "".join(
        f"{u} {i} 5.0 {d}\n" for u, i, d in rows))
    (tmp_path / "bb_5core.txt").write_text(
        "userId itemId rate date\nw1 H 5.0 2020-01-01\nw1 A 5.0 2020-01-02\nw1 B 4.0 2020-01-03\n")
    x = read_xmarket(tmp_path)
    role, order = split_forec(x)
    return x, Split(protocol="forec", seed=42, role=role, order=order)


def _letters(x, hist):
    return ["".join(x.item_ids[i - 1] for i in row if i) for row in hist]


def test_histories_most_recent_others_and_prefix(tmp_path):
    x, split = _seq_market(tmp_path)
    mask = split.role == TRAIN
    u1 = np.array([0, 0, 0])
    c, e, a = x.item_index(np.array(["C", "E", "A"]))
    hist, n = histories(x, split, mask, u1, exclude_item=np.array([c, e, a]), max_history=3)
    assert _letters(x, hist) == ["BDE", "BCD", "CDE"] and n.tolist() == [3, 3, 3]
    hist, n = histories(x, split, mask, u1, exclude_item=np.array([c, e, a]), max_history=3,
                        before_pos=np.array([2, 4, 0]))
    assert _letters(x, hist) == ["AB", "BCD", ""] and n.tolist() == [2, 3, 0]
    assert hist[0].tolist()[2] == 0  # left-aligned, 0-padded
    hist, _ = histories(x, split, mask, np.array([0, 1]), max_history=10)
    assert _letters(x, hist) == ["ABCDE", "C"]  # u2 has C (train), D (valid), E (test)


def test_train_row_mask_per_stage(tmp_path):
    x, split = _seq_market(tmp_path)
    aa, bb = x.market == 1, x.market == 2
    assert (train_row_mask(x, split) == (split.role == TRAIN)).all()
    m = train_row_mask(x, split, target="aa")
    assert (m[aa] == (split.role[aa] == TRAIN)).all() and m[bb].all()  # others wholly
    m = train_row_mask(x, split, target="aa", markets=["aa"])
    assert not m[bb].any()


def test_fixed_rows_structure_and_negatives(tiny, forec):
    x = tiny
    rows = fixed_train_rows(x, forec, np.random.default_rng(0), max_history=10,
                            num_negatives=4)
    d = rows.dense()
    b = len(rows)
    n_pos = int((forec.role == TRAIN).sum())
    assert b == 5 * n_pos and rows.hist.shape == (n_pos, 10) and d["hist"].shape == (b, 10)
    assert d["label"].reshape(-1, 5).tolist() == [[1, 0, 0, 0, 0]] * n_pos
    assert (d["hist_mask"] == (d["hist"] > 0)).all()
    assert (rows.row_hist.reshape(-1, 5) == np.arange(n_pos)[:, None]).all()  # shared
    assert not (d["hist"] == rows.cand[:, None]).any()  # no candidate in its own history
    n1 = x.n_items + 1
    train_keys = x.user[forec.role == TRAIN].astype(np.int64) * n1 + x.item[forec.role == TRAIN]
    neg = d["label"] == 0
    keys = rows.user[neg].astype(np.int64) * n1 + rows.cand[neg]
    assert not np.isin(keys, train_keys).any()
    for m, code in enumerate(x.markets, start=1):
        sel = neg & (rows.market == m)
        assert np.isin(rows.cand[sel], x.market_items(code)).all()
    assert (rows.market == x.user_market[rows.user]).all()
    # Same generator state → same epoch; a new state → new negatives, same histories.
    again = fixed_train_rows(x, forec, np.random.default_rng(0), max_history=10)
    other = fixed_train_rows(x, forec, np.random.default_rng(1), max_history=10)
    assert np.array_equal(again.cand, rows.cand) and not np.array_equal(other.cand, rows.cand)
    assert np.array_equal(other.hist, rows.hist)


def test_fixed_histories_equal_a_per_row_reference(tiny, forec):
    x = tiny
    rows = fixed_train_rows(x, forec, np.random.default_rng(0), max_history=6, num_negatives=1)
    train = forec.order[forec.role[forec.order] == TRAIN]
    seqs = {}
    for r in train:
        seqs.setdefault(int(x.user[r]), []).append(int(x.item[r]))
    pos = 0
    for u in sorted(seqs):
        for i in seqs[u]:
            others = [j for j in seqs[u] if j != i][-6:]
            assert rows.hist[pos].tolist() == others + [0] * (6 - len(others))
            assert rows.cand[2 * pos] == i
            pos += 1


def test_faithful_rows_leak_flag_and_negative_quota(tiny):
    x = tiny
    split = make_split(x, "paper", seed=0)
    kw = dict(max_history=50, num_negatives=4)
    clean = faithful_train_rows(x, split, np.random.default_rng(0), **kw)
    leaky = faithful_train_rows(x, split, np.random.default_rng(0), **kw,
                                leak_target_in_history=True)
    for rows, leak in ((clean, False), (leaky, True)):
        d = rows.dense()
        pos = d["label"] == 1
        inside = (d["hist"][pos] == d["cand"][pos][:, None]).any(axis=1)
        assert inside.all() if leak else not inside.any()  # H=50 > every tiny history
    d = clean.dense()
    n_pos = int((split.role == TRAIN).sum())
    assert int(d["label"].sum()) == n_pos  # duplicates kept: every training row is a positive
    neg = d["label"] == 0
    n1 = x.n_items + 1
    tk = np.unique(x.user[split.role == TRAIN].astype(np.int64) * n1
                   + x.item[split.role == TRAIN])
    nk = clean.user[neg].astype(np.int64) * n1 + clean.cand[neg]
    assert np.unique(nk).size == nk.size and not np.isin(nk, tk).any()
    per_user = np.bincount(clean.user[neg], minlength=x.n_users)
    uniq = np.bincount(tk // n1, minlength=x.n_users)
    assert (per_user == np.minimum(x.n_items - uniq, 4 * uniq)).all()
    # Negatives of one user share one history row; it holds the user's training items.
    for u in np.unique(clean.user[neg])[:20]:
        hr = np.unique(clean.row_hist[neg & (clean.user == u)])
        assert hr.size == 1
        got = sorted(i for i in clean.hist[hr[0]] if i)
        assert got == sorted(x.item[(split.role == TRAIN) & (x.user == u)].tolist())


def test_eval_inputs(tiny, forec):
    x = tiny
    ei = eval_inputs(x, forec, forec.test, max_history=8)
    assert ei.hist.shape == (len(forec.test), 8) and ei.cands.shape == (len(forec.test), 100)
    u = int(forec.test.user[0])
    train = [int(x.item[r]) for r in forec.order if x.user[r] == u and forec.role[r] == TRAIN]
    assert ei.hist[0, : ei.hist_len[0]].tolist() == train[-8:]
    with_valid = eval_inputs(x, forec, forec.test, max_history=8, include_valid=True)
    valid_item = int(x.item[(forec.role == VALID) & (x.user == u)][0])
    assert with_valid.hist[0, with_valid.hist_len[0] - 1] == valid_item
    with pytest.raises(ValueError, match="test lists only"):
        eval_inputs(x, forec, forec.valid, include_valid=True)
    paper = make_split(x, "paper", seed=1)
    a = eval_inputs(x, paper, paper.test, max_history=4, rng=np.random.default_rng(3))
    b = eval_inputs(x, paper, paper.test, max_history=4, rng=np.random.default_rng(3))
    assert np.array_equal(a.hist, b.hist) and (a.hist_len == 4).all()
