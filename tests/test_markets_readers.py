"""Market readers: XMarket processed/raw, WSDM-Cup 2022, RecBole atomic files; bad input."""

import gzip
import hashlib
import pathlib

import numpy as np
import pytest

from affectjax.data.markets import (
    Interactions,
    MarketDataError,
    check_id_maps,
    find_recbole_example,
    forec_rebuild,
    read_atomic,
    read_ml100k,
    read_recbole_inter,
    read_wsdm22,
    read_xmarket,
    read_xmarket_raw,
    write_xmarket,
    zip_market,
)

HEADER = "userId itemId rate date\n"

# Small hand-made markets: raw ids deliberately unsorted; 'zz' items overlap with 'aa'.
AA = [("u2", "B3", "5.0", "2020-01-02"), ("u1", "B1", "4.0", "2020-01-01"),
      ("u1", "B2", "3.0", "2020-01-03"), ("u2", "B1", "1.0", "2020-01-01"),
      ("u1", "B3", "5.0", "2020-01-05")]
ZZ = [("v1", "B9", "5.0", "2019-05-01"), ("v1", "B1", "2.0", "2019-05-02"),
      ("v2", "A7", "5.0", "2019-06-01")]


def _write(root: pathlib.Path, code: str, rows, header: str = HEADER) -> pathlib.Path:
    path = root / f"{code}_5core.txt"
    path.write_text(header + "".join(" ".join(r) + "\n" for r in rows))
    return path


def _sums(root: pathlib.Path, *paths):
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in paths]
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _triples(x: Interactions):
    """Rows as raw (market, user, item, rating, day) tuples, order-free."""
    return sorted(zip([x.markets[m - 1] for m in x.market], x.user_ids[x.user].tolist(),
                      x.item_ids[x.item - 1].tolist(), x.rating.tolist(), x.time.tolist()))


def test_xmarket_reader_columns_and_ids(tmp_path):
    _write(tmp_path, "zz", ZZ)
    _write(tmp_path, "aa", AA)
    x = read_xmarket(tmp_path)
    assert x.markets == ("aa", "zz") and x.market_id("zz") == 2
    assert x.item_ids.tolist() == ["A7", "B1", "B2", "B3", "B9"]  # sorted → ids 1..N
    assert x.user_ids.tolist() == ["u1", "u2", "v1", "v2"]
    assert x.user_market.tolist() == [1, 1, 2, 2]
    assert x.n_rows == 8 and x.time_unit == "day"
    # First aa row: u2 B3 5.0 2020-01-02 at file line 2 (line 1 is the header).
    assert (x.market[0], x.user_ids[x.user[0]], x.item[0], x.rating[0], x.line[0]) == (
        1, "u2", 4, 5.0, 2)
    assert x.time[0] == (np.datetime64("2020-01-02") - np.datetime64("1970-01-01")).astype(int)
    assert x.summary() == {"aa": {"users": 2, "items": 3, "ratings": 5},
                           "zz": {"users": 2, "items": 3, "ratings": 3}}
    assert x.market_items("zz").tolist() == [1, 2, 5]
    assert x.id_maps() == {"markets": ["aa", "zz"], "items": ["A7", "B1", "B2", "B3", "B9"]}
    check_id_maps(x.id_maps(), x)


def test_ids_do_not_depend_on_row_order_or_file_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _write(a, "aa", AA)
    _write(a, "zz", ZZ)
    rng = np.random.default_rng(0)
    _write(b, "zz", [ZZ[i] for i in rng.permutation(len(ZZ))])
    _write(b, "aa", [AA[i] for i in rng.permutation(len(AA))])
    xa, xb = read_xmarket(a), read_xmarket(b, markets=["zz", "aa"])
    assert xa.id_maps() == xb.id_maps()
    assert xa.user_ids.tolist() == xb.user_ids.tolist()
    assert _triples(xa) == _triples(xb)


def test_loading_fewer_markets_changes_the_vocabulary_and_check_catches_it(tmp_path):
    _write(tmp_path, "aa", AA)
    _write(tmp_path, "zz", ZZ)
    both, one = read_xmarket(tmp_path), read_xmarket(tmp_path, markets=["aa"])
    assert one.item_ids.tolist() == ["B1", "B2", "B3"]
    with pytest.raises(MarketDataError, match="markets id map differs"):
        check_id_maps(both.id_maps(), one)


def test_checksums_verified(tmp_path):
    pa, pz = _write(tmp_path, "aa", AA), _write(tmp_path, "zz", ZZ)
    _sums(tmp_path, pa, pz)
    read_xmarket(tmp_path, verify=True)
    pz.write_text(pz.read_text().replace("B9", "B8"))
    with pytest.raises(MarketDataError, match=r"zz_5core\.txt: SHA-256 mismatch"):
        read_xmarket(tmp_path)
    read_xmarket(tmp_path, verify=False)  # explicitly off
    (tmp_path / "SHA256SUMS").unlink()
    read_xmarket(tmp_path)  # auto: nothing to check
    with pytest.raises(MarketDataError, match="checksum file not found"):
        read_xmarket(tmp_path, verify=True)


def test_write_read_round_trip(tmp_path):
    _write(tmp_path, "aa", AA)
    _write(tmp_path, "zz", ZZ)
    x = read_xmarket(tmp_path)
    out = tmp_path / "copy"
    write_xmarket(x, out)
    y = read_xmarket(out, verify=True)
    assert _triples(x) == _triples(y) and x.id_maps() == y.id_maps()
    assert (out / "aa_5core.txt").read_text() == (tmp_path / "aa_5core.txt").read_text()


@pytest.mark.parametrize("bad_line, message", [
    ("u3 B1 5.0\n", r"aa_5core\.txt:4: expected 4 fields \(userId itemId rate date\), got 3"),
    ("u3 B1 5.0 2020-01-01 extra\n", r"aa_5core\.txt:4: expected 4 fields"),
    ("u3 B1 five 2020-01-01\n", r"aa_5core\.txt:4: rate is not a number: 'five'"),
    ("u3 B1 nan 2020-01-01\n", r"aa_5core\.txt:4: rate is not finite"),
    ("u3 B1 7.0 2020-01-01\n", r"aa_5core\.txt:4: rate '7\.0' outside"),
    ("u3 B1 5.0 2020-13-01\n", r"aa_5core\.txt:4: date is not a YYYY-MM-DD date"),
    ("u3 B1 5.0 2020\n", r"aa_5core\.txt:4: date is not a YYYY-MM-DD date: '2020'"),
])
def test_malformed_lines_name_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "aa_5core.txt"
    path.write_text(HEADER + "u1 B1 4.0 2020-01-01\nu1 B2 4.0 2020-01-02\n" + bad_line
                    + "u2 B1 4.0 2020-01-01\n")
    with pytest.raises(MarketDataError, match=message) as e:
        read_xmarket(tmp_path)
    assert e.value.line == 4 and e.value.path == str(path)


def test_bad_header_empty_market_unknown_market(tmp_path):
    _write(tmp_path, "aa", AA, header="user item rating date\n")
    with pytest.raises(MarketDataError, match=r"aa_5core\.txt:1: expected header"):
        read_xmarket(tmp_path)
    _write(tmp_path, "aa", AA)
    _write(tmp_path, "zz", [])
    with pytest.raises(MarketDataError, match=r"zz_5core\.txt: market 'zz' has no interactions"):
        read_xmarket(tmp_path)
    with pytest.raises(MarketDataError, match="unknown market 'us'.*available: aa zz"):
        read_xmarket(tmp_path, markets=["aa", "us"])
    x = read_xmarket(tmp_path, markets=["aa"])
    with pytest.raises(MarketDataError, match="unknown market 'zz'"):
        x.market_id("zz")


def test_blank_lines_are_skipped_but_line_numbers_stay_true(tmp_path):
    path = tmp_path / "aa_5core.txt"
    path.write_text(HEADER + "u1 B1 4.0 2020-01-01\n\n  \nu1 B2 4.0 2020-01-02\r\nu1 B2 x 2020\n")
    with pytest.raises(MarketDataError, match=r":6: rate is not a number"):
        read_xmarket(tmp_path)


# ---------------------------------------------------------------------------------------------
# Raw XMarket + FOREC rebuild recipe


def _gz(path: pathlib.Path, rows):
    with gzip.open(path, "wt") as f:
        f.write("".join(" ".join(r) + "\n" for r in rows))


def test_raw_reader_and_forec_rebuild(tmp_path):
    rng = np.random.default_rng(0)
    # us: items I0..I29; I0..I19 get >= 25 ratings from users with >= 10 ratings.
    us = [(f"U{u}", f"I{i:02d}", "5.0", "2020-01-01") for u in range(30) for i in range(20)]
    us += [(f"U{u}", "I25", "5.0", "2020-01-01") for u in range(10)]  # item < 25 ratings
    us += [("Ulone", f"I{i:02d}", "5.0", "2020-01-01") for i in range(3)]  # user < 10
    # uk: 8 users x items I00..I07 (kept), plus I25 (not in the us set) and a sparse item.
    uk = [(f"K{u}", f"I{i:02d}", "4.0", "2020-02-01") for u in range(8) for i in range(8)]
    uk += [("K0", "I25", "4.0", "2020-02-01"), ("K1", "I10", "4.0", "2020-02-01")]
    uk += [("Kshort", "I00", "3.0", "2020-02-01")]  # user with 1 rating
    _gz(tmp_path / "ratings_us_Electronics.txt.gz", [us[i] for i in rng.permutation(len(us))])
    (tmp_path / "uk").mkdir()
    _gz(tmp_path / "uk" / "ratings_uk_Electronics.txt.gz", uk)
    raw = read_xmarket_raw(tmp_path, ["us", "uk"])
    assert raw.summary()["uk"] == {"users": 9, "items": 10, "ratings": 67}
    out = forec_rebuild(raw)
    s = out.summary()
    assert s["us"] == {"users": 30, "items": 20, "ratings": 600}  # I25 and Ulone filtered
    assert s["uk"] == {"users": 8, "items": 8, "ratings": 64}
    assert set(out.item_ids.tolist()) == {f"I{i:02d}" for i in range(20)}
    with pytest.raises(MarketDataError, match="unknown XMarket market 'xx'"):
        read_xmarket_raw(tmp_path, ["xx"])
    with pytest.raises(MarketDataError, match="no raw ratings for market 'de'"):
        read_xmarket_raw(tmp_path, ["de"])
    _gz(tmp_path / "ratings_fr_Electronics.txt.gz", [("a", "b", "5.0")])
    with pytest.raises(MarketDataError, match=r"ratings_fr_Electronics\.txt\.gz:1: expected 4"):
        read_xmarket_raw(tmp_path, ["fr"])


# ---------------------------------------------------------------------------------------------
# WSDM Cup 2022


def _wsdm_tree(root: pathlib.Path, *, valid_run_rows=None, test_run_rows=None):
    items = [f"P{j:03d}" for j in range(120)]
    # s1 covers all 120 items (a1: P000-P059, a2: P060-P119); t1 users rate 5 items each.
    for code, users, n_each, step in (("s1", ["a1", "a2"], 60, 60),
                                      ("t1", ["b1", "b2", "b3"], 5, 7)):
        d = root / code
        d.mkdir(parents=True, exist_ok=True)
        train = ["userId\titemId\trating"] + [f"{u}\t{items[(k * step + n) % 120]}\t5.0"
                                              for k, u in enumerate(users) for n in range(n_each)]
        (d / "train_5core.tsv").write_text("\n".join(train) + "\n")
        (d / "train.tsv").write_text("\n".join(train + [f"{users[0]}\tP119\t1.0"]) + "\n")
    t1 = root / "t1"
    (t1 / "valid_qrel.tsv").write_text("userId\titemId\trating\nb2\tP050\t1\nb1\tP040\t1\n")
    if valid_run_rows is None:
        valid_run_rows = [("b1", items[:40] + items[41:100] + ["P040"]),
                          ("b2", ["P050"] + items[:50] + items[51:100])]
    (t1 / "valid_run.tsv").write_text("".join(f"{u}\t{','.join(c)}\n" for u, c in valid_run_rows))
    if test_run_rows is None:
        test_run_rows = [("b3", items[20:120])]
    (t1 / "test_run.tsv").write_text("".join(f"{u}\t{','.join(c)}\n" for u, c in test_run_rows))
    (root / "t1t2").mkdir(exist_ok=True)  # pooled qrel folder: no train file, not a market
    return items


def test_wsdm_reader_and_given_lists(tmp_path):
    items = _wsdm_tree(tmp_path)
    w = read_wsdm22(tmp_path)
    x = w.interactions
    assert x.markets == ("s1", "t1") and x.time_unit == "none"
    assert x.summary()["t1"] == {"users": 3, "items": 15, "ratings": 15}
    assert x.summary()["s1"] == {"users": 2, "items": 120, "ratings": 120}
    assert read_wsdm22(tmp_path, train_file="train.tsv").interactions.n_rows == 137
    v = w.valid["t1"]
    assert v.has_positive and v.cands.shape == (2, 100)
    assert x.user_ids[v.user].tolist() == ["b1", "b2"]
    assert x.item_ids[v.positive - 1].tolist() == ["P040", "P050"]
    # b1's list: the positive (given last) moved first, the others keep their order.
    assert x.item_ids[v.cands[0, 1:] - 1].tolist() == items[:40] + items[41:100]
    t = w.test["t1"]
    assert not t.has_positive and x.item_ids[t.cands[0] - 1].tolist() == items[20:120]
    with pytest.raises(ValueError, match="no known positive"):
        _ = t.positive
    split = w.split()
    assert split.protocol == "given" and (split.role == 0).all()
    assert split.valid.cands.shape == (2, 100) and split.test.cands.shape == (1, 100)


@pytest.mark.parametrize("rows, message", [
    ([("b1", [f"P{j:03d}" for j in range(99)])],
     r"valid_run\.tsv:1: expected 100 candidates, got 99"),
    ([("b1", [f"P{j:03d}" for j in range(100)]), ("zz", [f"P{j:03d}" for j in range(100)])],
     r"valid_run\.tsv:2: unknown user 'zz' in market 't1'"),
    ([("b1", ["Q999"] + [f"P{j:03d}" for j in range(1, 100)])],
     r"valid_run\.tsv:1: unknown item 'Q999' \(candidate 1\)"),
    ([("b1", ["P040"] * 2 + [f"P{j:03d}" for j in range(98)])], r"valid_run\.tsv:1: repeated"),
    ([("b2", [f"P{j:03d}" for j in [*range(100, 120), *range(50), *range(51, 81)]])],
     r"valid_run\.tsv:1: the validation positive is not among the candidates"),
])
def test_wsdm_bad_run_files(tmp_path, rows, message):
    _wsdm_tree(tmp_path, valid_run_rows=rows)
    with pytest.raises(MarketDataError, match=message):
        read_wsdm22(tmp_path)


def test_wsdm_unknown_market_and_qrel_errors(tmp_path):
    _wsdm_tree(tmp_path)
    with pytest.raises(MarketDataError, match="unknown market 't2'.*available: s1 t1"):
        read_wsdm22(tmp_path, markets=["t2"])
    (tmp_path / "t1" / "valid_qrel.tsv").write_text("userId\titemId\trating\nb1\tP040\n")
    with pytest.raises(MarketDataError, match=r"valid_qrel\.tsv:2: expected 3 fields"):
        read_wsdm22(tmp_path)
    (tmp_path / "t1" / "valid_qrel.tsv").write_text("nobody\tP040\t1\n")
    with pytest.raises(MarketDataError, match=r"valid_qrel\.tsv:1: unknown user 'nobody'"):
        read_wsdm22(tmp_path)


def test_wsdm_run_items_outside_vocabulary(tmp_path):
    _wsdm_tree(tmp_path, test_run_rows=[("b3", [f"R{j:03d}" for j in range(100)])])
    with pytest.raises(MarketDataError, match=r"test_run\.tsv:1: unknown item 'R000'"):
        read_wsdm22(tmp_path)
    w = read_wsdm22(tmp_path, vocab_from_runs=True)
    assert w.interactions.n_items == 220 and w.test["t1"].cands.shape == (1, 100)


# ---------------------------------------------------------------------------------------------
# RecBole atomic files


def _atomic(tmp_path):
    (tmp_path / "toy.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "1\t10\t4\t881250949\n2\t10\t3\t891717742\n1\t20\t5\t878887116\n3\t30\t1\t880606923\n")
    (tmp_path / "toy.user").write_text(
        "user_id:token\tage:token\tzip_code:token\n1\t24\t85711\n2\t53\t94043\n3\t23\tT8H1N\n")


def test_recbole_inter_reader(tmp_path):
    _atomic(tmp_path)
    cols, lines = read_atomic(tmp_path / "toy.inter")
    assert list(cols) == ["user_id", "item_id", "rating", "timestamp"]
    assert cols["rating"][0] == "float" and lines.tolist() == [2, 3, 4, 5]
    x = read_recbole_inter(tmp_path / "toy.inter")
    assert x.markets == ("all",) and x.time_unit == "s"
    assert x.item_ids.tolist() == ["10", "20", "30"] and x.time[0] == 881250949
    ucols, _ = read_atomic(tmp_path / "toy.user")
    assert zip_market(ucols["zip_code"][1]).tolist() == ["8", "9", "x"]
    by_zip = dict(zip(ucols["user_id"][1].tolist(), zip_market(ucols["zip_code"][1]).tolist()))
    y = read_recbole_inter(tmp_path / "toy.inter",
                           market_of_user=lambda u: np.array([by_zip[v] for v in u]))
    assert y.markets == ("8", "9", "x") and y.summary()["8"]["ratings"] == 2


def test_recbole_bad_input(tmp_path):
    (tmp_path / "a.inter").write_text("user_id:token\titem_id\n1\t2\n")
    with pytest.raises(MarketDataError, match=r"a\.inter:1: header field 'item_id'"):
        read_atomic(tmp_path / "a.inter")
    (tmp_path / "b.inter").write_text("user_id:token\titem_id:token\n1\t2\n3\n")
    with pytest.raises(MarketDataError, match=r"b\.inter:3: expected 2 fields"):
        read_recbole_inter(tmp_path / "b.inter")
    (tmp_path / "c.inter").write_text("user_id:token\tlabel:float\n1\t2\n")
    with pytest.raises(MarketDataError, match=r"c\.inter:1: missing column 'item_id'"):
        read_recbole_inter(tmp_path / "c.inter")
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\n1\t\n")
    with pytest.raises(MarketDataError, match=r"d\.inter:2: empty item_id"):
        read_recbole_inter(tmp_path / "d.inter")


ML100K = find_recbole_example("ml-100k")
needs_ml100k = pytest.mark.skipif(
    ML100K is None, reason="recbole's ml-100k example not installed "
    "(pip install --no-deps recbole==1.2.1); located via importlib.util.find_spec only")


@needs_ml100k
def test_ml100k_pseudo_markets():
    x = read_ml100k()
    assert x.n_rows == 100_000 and x.n_users == 943 and x.n_items == 1682
    assert len(x.markets) == 11 and x.time_unit == "s"
    s = x.summary()
    assert (s["9"]["users"], s["9"]["ratings"]) == (170, 18_852)
    assert (s["x"]["users"], s["x"]["ratings"]) == (18, 2_086)
