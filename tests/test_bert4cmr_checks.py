"""Spec §11.3 checks of a Bert4CMR generator table: paired gaps, standard errors, verdicts."""

import math

import pytest

from experiments import bert4cmr as launcher
from experiments import bert4cmr_checks as checks

LABELS = {"full": "full", "target_only": "target-only", "no_market_emb": "no-market",
          "target_popularity": "target pop", "global_popularity": "global pop"}


def _summary(scores: dict[str, list[float]], data="synthetic", targets=("m7",)) -> dict:
    """A summary whose row scores NDCG@10 = scores[row][seed] on every target."""
    records = [{"row": row, "seed": seed, "target": t, "metrics": {"ndcg@10": v}}
               for row, values in scores.items() for seed, v in enumerate(values)
               for t in targets]
    return {"data": data, "protocol": "forec", "targets": list(targets), "records": records,
            "labels": LABELS, "rows": list(scores), "seeds": [0, 1, 2], "eval_split": "test",
            "provenance": {"command": "c", "commit": "x", "hardware": "h"}}


def test_paired_gap_mean_and_standard_error():
    mean, se, n = checks.paired_gap({0: 0.30, 1: 0.32, 2: 0.31}, {0: 0.20, 1: 0.25, 2: 0.24})
    gaps = [0.10, 0.07, 0.07]
    assert n == 3
    assert mean == pytest.approx(sum(gaps) / 3)
    sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / 2)
    assert se == pytest.approx(sd / math.sqrt(3))
    # Pairs only the seeds both rows ran; one pair has no standard error.
    mean, se, n = checks.paired_gap({0: 0.3, 1: 0.4}, {1: 0.1})
    assert (mean, n) == (pytest.approx(0.3), 1) and math.isnan(se)


def test_generator_checks_verdicts():
    lines = checks.generator_checks(_summary({
        "full": [0.27, 0.28, 0.26],
        "target_only": [0.16, 0.15, 0.17],      # gap ≈ 0.11, tight: met
        "no_market_emb": [0.27, 0.25, 0.28],     # gap ≈ 0.003 < 0.01: not met
        "target_popularity": [0.17] * 3,
        "global_popularity": [0.30] * 3,         # above full: NO
    }))
    assert lines[0].startswith("- full − target-only: NDCG@10 +0.110")
    assert lines[0].endswith(": met")
    assert lines[1].endswith("NOT met")
    assert lines[2].endswith("below full (0.270): yes")
    assert lines[3].endswith("below full (0.270): NO")


def test_gap_above_threshold_but_within_two_standard_errors_is_not_met():
    lines = checks.generator_checks(_summary({
        "full": [0.30, 0.27, 0.33], "no_market_emb": [0.25, 0.28, 0.27]}))
    # Gaps 0.05, −0.01, 0.06: mean 0.033 ≥ 0.01, but its standard error is 0.022.
    assert lines == [lines[0]] and lines[0].endswith("NOT met")
    assert "over 3 seed(s) (per seed +0.050, -0.010, +0.060);" in lines[0]


def test_checks_only_on_generator_tables_and_in_the_rendered_report():
    scores = {"full": [0.3, 0.3, 0.3], "target_only": [0.1, 0.1, 0.1]}
    assert checks.generator_checks(_summary(scores, data="xmarket")) == []
    text = launcher.render(_summary(scores))
    assert "## Checks (spec §11.3)" in text
    assert "full − target-only" in text
    assert "## Checks" not in launcher.render(_summary(scores, data="xmarket"))
