"""One Bert4CMR table from several launcher tables scored on the same evaluation lists.

The spec (§11.4) asks for one table per protocol with every §8 row, but its rows need different
commands: the MF rows have their own recipe (no 10-epoch cap), the target-only row no
pretraining, so each ran as its own launcher table (its own ``summary.json``). A
``combine.json`` beside the summaries names the tables to join::

    results/summaries/bert4cmr/xmarket_paper_all/combine.json
    {"parts": ["xmarket_paper_std002", "xmarket_paper_mf"]}

``experiments.report bert4cmr`` renders it as one more section. Nothing is recomputed: the
records are the parts' own. The parts must score the same lists, which the deterministic
counting rows prove: a counting row that differs between two parts for the same target and
seed (another split, other candidates) is an error, as is a trained row that two parts both
hold (which one would the table show?).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

import numpy as np

COMBINE_FILE = "combine.json"
# Fields that must agree: the same data, protocol and lists, so a cell means the same thing.
SAME_FIELDS = ("data", "protocol", "eval_split", "targets")


def combine(parts: Sequence[tuple[str, Mapping]], order: Sequence[str],
            trained: Sequence[str]) -> dict:
    """A summary holding every part's records, rows in ``order``, with each part's provenance.

    ``parts``: (table name, summary) pairs; ``trained``: the rows whose records come from
    training (one part each); any other row (popularity, co-occurrence, the generator's oracle)
    is a deterministic count and must agree across the parts that hold it.
    """
    if len(parts) < 2:
        raise ValueError(f"{COMBINE_FILE} needs at least two tables, got {len(parts)}")
    first_name, first = parts[0]
    for name, summary in parts[1:]:
        for field in SAME_FIELDS:
            if summary[field] != first[field]:
                raise ValueError(f"table {name}: {field} {summary[field]!r} differs from "
                                 f"{first_name}'s {first[field]!r}")
    held: dict[tuple, tuple[str, Mapping]] = {}
    for name, summary in parts:
        for rec in summary["records"]:
            key = (rec["row"], rec["target"], rec["seed"])
            if key not in held:
                held[key] = (name, rec)
                continue
            other, earlier = held[key]
            if rec["row"] in trained:
                raise ValueError(f"row {rec['row']!r} (target {rec['target']}, seed "
                                 f"{rec['seed']}) is in both {other} and {name}")
            _same_count(rec, earlier, name, other)
    rows = {rec["row"] for _, rec in held.values()}
    unknown = sorted(rows - set(order))
    if unknown:
        raise ValueError(f"rows {unknown} have no place in the table's row order")
    return {
        "data": first["data"], "protocol": first["protocol"],
        "eval_split": first["eval_split"], "targets": first["targets"],
        "seeds": sorted({seed for (_, _, seed) in held}),
        "rows": [r for r in order if r in rows],
        "labels": {k: v for _, s in parts for k, v in s["labels"].items() if k in rows},
        "leaky": sorted({r for _, s in parts for r in s.get("leaky", ()) if r in rows}),
        "records": [rec for _, rec in held.values()],
        "parts": [{"table": name, "provenance": s["provenance"], "seeds": s["seeds"],
                   "rows": [r for r in s["rows"] if r in trained
                            and any(rec["row"] == r for rec in s["records"])]}
                  for name, s in parts],
    }


def _same_count(rec: Mapping, earlier: Mapping, name: str, other: str) -> None:
    """A deterministic row must give the same numbers in two parts: else their lists differ."""
    mine, theirs = rec["metrics"], earlier["metrics"]
    if mine.keys() != theirs.keys() or not all(
            np.isclose(mine[k], theirs[k], rtol=0, atol=1e-9) for k in mine):
        raise ValueError(f"{rec['row']} on target {rec['target']}, seed {rec['seed']}: "
                         f"{name} gives {mine}, {other} gives {theirs}; the tables were not "
                         "scored on the same lists")


def load_combined(runs_dir: str, order: Sequence[str],
                  trained: Sequence[str]) -> list[tuple[str, dict]]:
    """(key, combined summary) for every ``combine.json`` directly below ``runs_dir``, sorted.

    The key is the file's path relative to ``runs_dir``, the section marker of the report.
    """
    out = []
    for entry in sorted(os.listdir(runs_dir)):
        path = os.path.join(runs_dir, entry, COMBINE_FILE)
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            try:
                spec = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: not JSON ({err})") from None
        if not isinstance(spec, dict) or not isinstance(spec.get("parts"), list):
            raise ValueError(f"{path}: expected {{\"parts\": [\"<table>\", ...]}}")
        parts = []
        for name in spec["parts"]:
            part = os.path.join(runs_dir, name, "summary.json")
            if not os.path.isfile(part):
                raise ValueError(f"{path}: part {name!r} has no {part}")
            with open(part) as f:
                parts.append((name, json.load(f)))
        try:
            summary = combine(parts, order, trained)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        out.append((os.path.relpath(path, runs_dir), summary))
    return out
