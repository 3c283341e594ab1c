"""Synthetic multi-market generator: determinism, knobs, file-format round trip, oracle."""

import numpy as np
import pytest

from affectjax.data.markets import (
    SynthConfig,
    eval_inputs,
    evaluate_popularity,
    generate,
    load_ground_truth,
    make_split,
    oracle_scores,
    ranking_metrics,
    read_xmarket,
    write_synthetic,
)


def test_generator_is_deterministic_and_seed_sensitive():
    a, b = generate(SynthConfig.tiny(), seed=0), generate(SynthConfig.tiny(), seed=0)
    c = generate(SynthConfig.tiny(), seed=1)
    for code in a.rows:
        for col in ("user", "item", "rating", "day"):
            assert np.array_equal(a.rows[code][col], b.rows[code][col])
    assert not np.array_equal(a.rows["m1"]["item"][:50], c.rows["m1"]["item"][:50])
    for k in a.truth:
        assert np.array_equal(a.truth[k], b.truth[k])


def test_tiny_knobs_shape_the_data():
    cfg = SynthConfig.tiny()
    d = generate(cfg, seed=0)
    assert cfg.codes == ("m1", "m2", "m3") and cfg.target == "m3"
    assert SynthConfig().target == "m7" and SynthConfig.named("default") == SynthConfig()
    for code, n_u in zip(cfg.codes, cfg.n_users):
        r = d.rows[code]
        users, counts = np.unique(r["user"], return_counts=True)
        assert users.size == n_u
        assert counts.min() >= cfg.min_len and counts.max() <= cfg.max_len
        # Each user's days never go backwards; some consecutive rows share a day.
        steps = np.diff(r["day"])[r["user"][1:] == r["user"][:-1]]
        assert (steps >= 0).all() and 0.2 < np.mean(steps == 0) < 0.5
        assert set(np.unique(r["rating"]).tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
        # Sold items only; repeats are rare (p_dup).
        m = cfg.codes.index(code)
        idx = np.searchsorted(d.truth["item_ids"], r["item"])
        assert d.truth["available"][m, idx].all()
    with pytest.raises(ValueError, match="size"):
        SynthConfig.named("huge")


def test_file_format_round_trip(tmp_path):
    cfg = SynthConfig.tiny()
    root = write_synthetic(tmp_path, cfg, seed=5)
    assert sorted(p.name for p in root.iterdir()) == [
        "SHA256SUMS", "ground_truth.npz", "m1_5core.txt", "m2_5core.txt", "m3_5core.txt"]
    assert (root / "m1_5core.txt").read_text().startswith("userId itemId rate date\nm1u000000 i")
    x = read_xmarket(root, verify=True)
    d = generate(cfg, seed=5)
    for code in cfg.codes:
        sel = x.market_mask(code)
        r = d.rows[code]
        assert x.user_ids[x.user[sel]].tolist() == r["user"].tolist()
        assert x.item_ids[x.item[sel] - 1].tolist() == r["item"].tolist()
        assert np.array_equal(x.rating[sel], r["rating"]) and np.array_equal(x.time[sel], r["day"])
    truth = load_ground_truth(root)
    assert truth["item_vectors"].shape == (cfg.n_items, cfg.k)
    assert np.allclose(np.linalg.norm(truth["item_vectors"], axis=1), 1.0)
    assert truth["user_vectors"].shape == (sum(cfg.n_users), cfg.k)
    assert truth["market_bias"].shape == (3, cfg.n_items) and int(truth["seed"]) == 5


def test_oracle_beats_popularity_on_tiny(tmp_path):
    # A smoke check of the generator's signal, not the spec's default-scale proxy numbers.
    cfg = SynthConfig.tiny()
    root = write_synthetic(tmp_path, cfg, seed=0)
    x = read_xmarket(root)
    split = make_split(x, "forec")
    lists = split.test.for_market(x.market_id("m1"))
    ei = eval_inputs(x, split, lists)
    last = ei.hist[np.arange(len(lists)), ei.hist_len - 1]
    oracle = ranking_metrics(oracle_scores(load_ground_truth(root), x, lists, last))
    pop = evaluate_popularity(x, split, markets=["m1"])
    assert oracle["ndcg@10"] > pop["target"]["m1"]["ndcg@10"] + 0.05
