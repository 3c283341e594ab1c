"""Spec §11.3 acceptance checks of a Bert4CMR table on the generator, as measured."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

METRIC = "ndcg@10"
# (row, the least gap full − row asks for); spec §11.3.
GAPS = (("target_only", 0.03), ("no_market_emb", 0.01))
POPULARITY = ("target_popularity", "global_popularity")


def per_seed_average(summary: Mapping, row: str) -> dict[int, float]:
    """{seed: NDCG@10 averaged over the table's targets}, for seeds that scored every target."""
    cells: dict[int, dict[str, float]] = {}
    for rec in summary["records"]:
        if rec["row"] == row and METRIC in rec["metrics"]:
            cells.setdefault(rec["seed"], {})[rec["target"]] = rec["metrics"][METRIC]
    targets = summary["targets"]
    return {seed: float(np.mean([by[t] for t in targets]))
            for seed, by in sorted(cells.items()) if all(t in by for t in targets)}


def seed_gaps(full: Mapping[int, float], other: Mapping[int, float]) -> dict[int, float]:
    """full − other for each seed both ran, in seed order."""
    return {s: full[s] - other[s] for s in sorted(set(full) & set(other))}


def paired_gap(full: Mapping[int, float], other: Mapping[int, float]) -> tuple[float, float, int]:
    """Mean and standard error of full − other over the seeds both ran (paired by seed).

    The standard error is the sample std (ddof 1) over √n; it is NaN below two seeds, where
    the spread is unknown.
    """
    gaps = np.array(list(seed_gaps(full, other).values()), float)
    if not len(gaps):
        return float("nan"), float("nan"), 0
    se = float(gaps.std(ddof=1) / np.sqrt(len(gaps))) if len(gaps) > 1 else float("nan")
    return float(gaps.mean()), se, len(gaps)


def generator_checks(summary: Mapping) -> list[str]:
    """Markdown bullets for spec §11.3; empty unless a generator `forec` table with the full model.

    Each gap's mean ± standard error over seeds against its threshold and twice its standard
    error, and whether both popularity rows fall below the full model.
    """
    if summary.get("data") != "synthetic" or summary.get("protocol") != "forec":
        return []
    full = per_seed_average(summary, "full")
    if not full:
        return []
    lines = []
    for row, least in GAPS:
        other = per_seed_average(summary, row)
        if not other:
            continue
        mean, se, n = paired_gap(full, other)
        if n < 2:
            verdict = "the standard error needs ≥ 2 seeds: not shown"
        else:
            met = mean >= least and mean > 2 * se
            verdict = "met" if met else "NOT met"
        se_text = "" if np.isnan(se) else f" ± {se:.3f} (standard error)"
        per_seed = ", ".join(f"{gap:+.3f}" for gap in seed_gaps(full, other).values())
        lines.append(f"- full − {summary['labels'][row]}: NDCG@10 {mean:+.3f}{se_text} over "
                     f"{n} seed(s) (per seed {per_seed}); asked ≥ {least:.2f} and > 2 "
                     f"standard errors: {verdict}")
    full_mean = float(np.mean(list(full.values())))
    for row in POPULARITY:
        other = per_seed_average(summary, row)
        if other:
            below = float(np.mean(list(other.values()))) < full_mean
            lines.append(f"- {summary['labels'][row]} ({np.mean(list(other.values())):.3f}) "
                         f"below full ({full_mean:.3f}): {'yes' if below else 'NO'}")
    return lines
