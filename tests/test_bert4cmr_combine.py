"""Combined Bert4CMR tables: several launcher tables on the same lists rendered as one."""

import json
import os

import pytest

from experiments import bert4cmr as launcher
from experiments import bert4cmr_combine as combine_lib

MARKETS = ("ca", "de")
LABELS = {"target_popularity": "Target popularity", "full": "Bert4CMR (fixed)",
          "nmf_global": "NMF++ (all markets)", "gmf": "GMF (target only)"}


def _part(scores: dict, seeds=(0, 1, 2), command="cmd", protocol="paper") -> dict:
    """A launcher summary: NDCG@10 = scores[row][target] on every seed (HR@10 twice that)."""
    records = [{"row": row, "target": t, "seed": seed,
                "metrics": {"ndcg@10": v, "hr@10": 2 * v}}
               for row, by in scores.items() for t, v in by.items() for seed in seeds]
    return {"data": "xmarket", "protocol": protocol, "eval_split": "test",
            "targets": list(MARKETS), "seeds": list(seeds), "rows": list(scores),
            "labels": {r: LABELS[r] for r in scores}, "records": records,
            "provenance": {"command": command, "commit": "abc1234", "hardware": "2 cores"}}


POP = {"ca": 0.30, "de": 0.40}
MODEL = _part({"target_popularity": POP, "full": {"ca": 0.35, "de": 0.38}}, command="model-cmd")
MF = _part({"target_popularity": POP, "nmf_global": {"ca": 0.33, "de": 0.41},
            "gmf": {"ca": 0.31, "de": 0.39}}, seeds=(0,), command="mf-cmd")
ORDER = [*launcher.COUNTING, *launcher.ROWS]


def test_combined_table_holds_every_row_in_spec_order_with_each_rows_seeds():
    summary = combine_lib.combine([("model", MODEL), ("mf", MF)], ORDER, list(launcher.ROWS))
    assert summary["rows"] == ["target_popularity", "full", "gmf", "nmf_global"]
    assert summary["seeds"] == [0, 1, 2]
    assert [p["rows"] for p in summary["parts"]] == [["full"], ["nmf_global", "gmf"]]
    # The counting row appears once per (target, seed), though both parts hold it.
    assert sum(r["row"] == "target_popularity" for r in summary["records"]) == 2 * 3
    text = launcher.render(summary)
    assert text.startswith("# Bert4CMR — xmarket, `paper` protocol: every row, from `model`, "
                           "`mf`")
    assert "| Bert4CMR (fixed) (3 seeds) | 0.350 | 0.380 | 0.365 |" in text
    assert "| GMF (target only) (1 seed) | 0.310 | 0.390 | 0.350 |" in text
    assert "| Target popularity | 0.300 | 0.400 | 0.350 |" in text  # deterministic: no count
    assert "`model` (Bert4CMR (fixed)):" in text and "- command: `mf-cmd`" in text
    assert "## Wall time" not in text  # each part's own section gives it
    # §11.4: the model row against our NMF++ from the other part, per market and on average,
    # on the one seed both ran.
    assert ("- Bert4CMR (fixed): above NMF++ (ours) on 1 of 2 markets; not above on de "
            "(0.380 vs 0.410). Average 0.365 vs 0.370: NOT above (seed 0).") in text


def test_tables_scored_on_other_lists_do_not_combine():
    other = _part({"target_popularity": {"ca": 0.30, "de": 0.45}, "gmf": POP})
    with pytest.raises(ValueError, match=r"target_popularity on target de, seed 0: mf gives"):
        combine_lib.combine([("model", MODEL), ("mf", other)], ORDER, list(launcher.ROWS))
    with pytest.raises(ValueError, match=r"table mf: protocol 'forec' differs from model's"):
        combine_lib.combine([("model", MODEL), ("mf", _part({"gmf": POP}, protocol="forec"))],
                            ORDER, list(launcher.ROWS))


def test_a_trained_row_held_by_two_tables_is_an_error():
    with pytest.raises(ValueError, match=r"row 'full' \(target ca, seed 0\) is in both a and b"):
        combine_lib.combine([("a", MODEL), ("b", MODEL)], ORDER, list(launcher.ROWS))
    with pytest.raises(ValueError, match="at least two tables"):
        combine_lib.combine([("a", MODEL)], ORDER, list(launcher.ROWS))


def test_report_renders_a_combine_file_as_its_own_section(tmp_path):
    for name, part in (("model", MODEL), ("mf", MF)):
        os.makedirs(tmp_path / name)
        (tmp_path / name / "summary.json").write_text(json.dumps(part))
    os.makedirs(tmp_path / "all")
    (tmp_path / "all" / combine_lib.COMBINE_FILE).write_text(
        json.dumps({"parts": ["model", "mf"]}))
    text = launcher.report(str(tmp_path))
    assert text.count("<!-- ") == 3 and "<!-- all/combine.json -->\n# Bert4CMR" in text
    (tmp_path / "all" / combine_lib.COMBINE_FILE).write_text(
        json.dumps({"parts": ["model", "gone"]}))
    with pytest.raises(SystemExit, match=r"all/combine.json: part 'gone' has no .*gone/summary"):
        launcher.report(str(tmp_path))
    for bad, problem in (("{parts: 1}", "not JSON"), ('["model"]', "expected")):
        (tmp_path / "all" / combine_lib.COMBINE_FILE).write_text(bad)
        with pytest.raises(SystemExit, match=rf"all/combine.json: {problem}"):
            launcher.report(str(tmp_path))
