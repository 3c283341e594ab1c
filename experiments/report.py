"""Render a system's results tables from its run directories.

    python -m experiments.report emo_dna [--runs=runs/emo_dna] [--out=results/emo_dna.md]
    python -m experiments.report bert4cmr --runs=results/summaries/bert4cmr --merge

Each experiment module (``experiments/<system>.py``) provides ``report(runs_dir) -> str``,
which reads the ``summary.json`` files its launcher wrote; nothing is recomputed here.

Systems that render one section per table (Bert4CMR, 2Att-2Mt) start each section with a
``<!-- <table>/summary.json -->`` marker. ``--merge`` keeps the sections of the existing output
file that this rendering does not produce: run directories are not kept in git, so a table
whose runs are gone stays as it was rendered while the tables found are re-rendered. Every
section carries its own command, commit and seeds, so a kept one stays attributable.
"""

from __future__ import annotations

import importlib
import os
import re

from absl import app, flags

_RUNS = flags.DEFINE_string("runs", None, "run directories root (default runs/<system>)")
_OUT = flags.DEFINE_string("out", None, "output file (default results/<system>.md)")
_MERGE = flags.DEFINE_bool("merge", False, "keep the output file's sections (marked "
                           "'<!-- key -->') that this rendering does not produce")

_MARKER = re.compile(r"^<!-- (.+?) -->$", re.MULTILINE)


def sections(text: str) -> dict[str, str]:
    """``{marker key: section text}`` of a rendered file, in file order.

    Raises ``ValueError`` when there is text before the first marker: a merge would drop it.
    """
    starts = list(_MARKER.finditer(text))
    if not starts:
        raise ValueError("no '<!-- key -->' section markers")
    if text[:starts[0].start()].strip():
        raise ValueError("text before the first '<!-- key -->' marker")
    out = {}
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        if m.group(1) in out:
            raise ValueError(f"section marker {m.group(1)!r} appears twice")
        # Reports join their sections with one blank line ("\n\n"): drop it to round-trip.
        section = text[m.start():end]
        out[m.group(1)] = section.removesuffix("\n\n") if i + 1 < len(starts) else section
    return out


def merge(old: str, new: str) -> str:
    """``new``'s sections plus ``old``'s sections that ``new`` lacks, ordered by key."""
    kept = sections(old) | sections(new)
    return "\n\n".join(kept[k] for k in sorted(kept))


def main(argv) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m experiments.report <system> [--runs=DIR] "
                         "[--out=FILE] [--merge]")
    system = argv[1]
    try:
        module = importlib.import_module(f"experiments.{system}")
    except ModuleNotFoundError as err:
        raise SystemExit(f"no experiment named {system!r} ({err})") from None
    if not hasattr(module, "report"):
        raise SystemExit(f"experiments.{system} has no report(runs_dir) function")
    runs = _RUNS.value or os.path.join("runs", system)
    out = _OUT.value or os.path.join("results", f"{system}.md")
    text = module.report(runs)
    if _MERGE.value and os.path.exists(out):
        with open(out) as f:
            old = f.read()
        try:
            text = merge(old, text)
        except ValueError as err:
            raise SystemExit(f"--merge: {out} or the new rendering of {system}: {err}; "
                             "only sectioned reports (bert4cmr, two_att_two_mt) merge") from None
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    app.run(main)
