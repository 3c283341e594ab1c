"""Render a system's results tables from its run directories.

    python -m experiments.report emo_dna [--runs=runs/emo_dna] [--out=results/emo_dna.md]

Each experiment module (``experiments/<system>.py``) provides ``report(runs_dir) -> str``,
which reads the ``summary.json`` files its launcher wrote; nothing is recomputed here.
"""

from __future__ import annotations

import importlib
import os

from absl import app, flags

_RUNS = flags.DEFINE_string("runs", None, "run directories root (default runs/<system>)")
_OUT = flags.DEFINE_string("out", None, "output file (default results/<system>.md)")


def main(argv) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m experiments.report <system> [--runs=DIR] [--out=FILE]")
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
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    app.run(main)
