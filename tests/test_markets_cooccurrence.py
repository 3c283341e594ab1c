"""Item co-occurrence baselines: scores equal a per-user set-counting reference."""

import numpy as np
import pytest

from affectjax.data.markets import (
    TRAIN,
    SynthConfig,
    cooccurrence_matrix,
    cooccurrence_scores,
    evaluate_cooccurrence,
    make_split,
    read_xmarket,
    write_synthetic,
)

TARGET = "m3"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    x = read_xmarket(write_synthetic(tmp_path_factory.mktemp("synth"), SynthConfig.tiny(), 3))
    return x, make_split(x, "forec")


def _item_sets(x, rows):
    sets = {}
    for r in rows:
        sets.setdefault(int(x.user[r]), set()).add(int(x.item[r]))
    return sets


def _reference(x, split, lists, kind):
    """s(u, c) = Σ_{h in u's training items} #users who rated both h and c, by set counting."""
    t = x.market_id(TARGET)
    own = (x.market == t) & (split.role == TRAIN)
    counted = own | ((x.market != t) & (split.role >= TRAIN)) if kind == "global" else own
    baskets = list(_item_sets(x, np.flatnonzero(counted)).values())
    history = _item_sets(x, np.flatnonzero(own))
    out = np.zeros(lists.cands.shape)
    for i, u in enumerate(lists.user):
        for j, c in enumerate(lists.cands[i]):
            out[i, j] = sum(sum(h in b and int(c) in b for b in baskets)
                            for h in history[int(u)] if h != c)
    return out


@pytest.mark.parametrize("kind", ["target", "global"])
def test_scores_equal_the_set_counting_reference(data, kind):
    x, split = data
    lists = split.test.for_market(x.market_id(TARGET))
    sub = type(lists)(name="test", user=lists.user[:12], market=lists.market[:12],
                      cands=lists.cands[:12])
    got = cooccurrence_scores(x, split, sub, TARGET, kind)
    np.testing.assert_array_equal(got, _reference(x, split, sub, kind))
    assert got.shape == (12, 100) and got.max() > 0


def test_global_kind_adds_other_markets_and_no_item_scores_itself(data):
    x, split = data
    res = evaluate_cooccurrence(x, split, markets=[TARGET])
    assert set(res) == {"target", "global"} and res["target"][TARGET]["users"] == 60
    assert res["target"][TARGET]["ndcg@10"] != res["global"][TARGET]["ndcg@10"]
    assert res["global"]["avg"]["ndcg@10"] == res["global"][TARGET]["ndcg@10"]
    c = cooccurrence_matrix(x, split, TARGET, "global")
    assert c.diagonal().sum() == 0 and (c != c.T).nnz == 0  # an item never scores itself
    with pytest.raises(ValueError, match="kind must be one of"):
        cooccurrence_scores(x, split, split.test, TARGET, "local")
