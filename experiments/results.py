"""Results tables: mean ± std over seeds, provenance (command, commit, hardware), markdown."""

from __future__ import annotations

import glob
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

import numpy as np


def command_line() -> str:
    """The command that started this process, as a user would retype it."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(".py") and "experiments" in argv[0]:
        module = os.path.relpath(argv[0]).removesuffix(".py").replace(os.sep, ".")
        argv = ["python", "-m", module, *argv[1:]]
    return shlex.join(argv)


def git_commit() -> str:
    """The repository's HEAD (with '+dirty' for uncommitted changes), or 'unknown'."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, check=True).stdout.strip()
        # Untracked files count: an uncommitted new module changes results just as an edit does
        # (run outputs are .gitignored).
        dirty = subprocess.run(["git", "status", "--porcelain"],
                               cwd=root, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def hardware() -> str:
    import jax

    devices = jax.devices()
    kind = devices[0].device_kind if devices else "none"
    return (f"{platform.machine()} {os.cpu_count()} CPU cores; JAX {jax.__version__} on "
            f"{len(devices)} × {devices[0].platform} ({kind})")


_PINNED: dict[str, str] | None = None


def pin_provenance() -> dict[str, str]:
    """Record the command and commit now; later :func:`provenance` calls report these.

    Launchers call it at start: a commit made while a long run trains must not be reported
    as the code that produced it. Hardware is read later, when provenance is asked for: asking
    JAX for its devices here would start the backend before ``jax.distributed.initialize``.
    """
    global _PINNED
    _PINNED = {"command": command_line(), "commit": git_commit()}
    return dict(_PINNED)


def provenance(workdir: str | None = None) -> dict[str, str]:
    """Command, commit (pinned at start, if a launcher pinned them) and hardware.

    With a table's ``workdir``, also which commits trained the runs below it (``trained_at``).
    """
    pinned = _PINNED or {"command": command_line(), "commit": git_commit()}
    trained = {"trained_at": trained_at(workdir)} if workdir else {}
    return {**pinned, "hardware": hardware(), **trained}


def seed_values(per_seed: Sequence[Mapping[str, float]] | None, key: str) -> list[float]:
    """``key``'s value in each seed's metrics that has it (none for a missing list)."""
    return [float(m[key]) for m in per_seed or () if m and key in m]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single seed)."""
    a = np.asarray(values, float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def format_mean_std(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    """'m ± s' over seeds; one value says so ('m (1 seed)'), since '± 0' would claim no spread."""
    if not values:
        return "–"
    m, s = mean_std([v * scale for v in values])
    if len(values) == 1:
        return f"{m:.{digits}f} (1 seed)"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


RUN_PROVENANCE = "provenance.json"


def record_run(rundir: str) -> None:
    """Note in ``rundir`` the command and commit that trained it (called when a run finishes).

    A table's workdir accumulates runs over several invocations (a row added later, a resumed
    sweep); the summary's own commit is only the last invocation's, so each run keeps its own.
    """
    import jax  # lazily: importing this module must not initialise JAX (see pin_provenance)

    if jax.process_index() == 0:
        write_json(os.path.join(rundir, RUN_PROVENANCE), provenance())


def trained_at(workdir: str) -> str:
    """Which commits trained the runs below ``workdir``: 'abc1234 (12 runs), ...'."""
    counts: dict[str, int] = {}
    for path in glob.glob(os.path.join(workdir, "**", RUN_PROVENANCE), recursive=True):
        with open(path) as f:
            commit = json.load(f)["commit"]
        counts[commit] = counts.get(commit, 0) + 1
    unrecorded = sum(
        not os.path.exists(os.path.join(os.path.dirname(p), RUN_PROVENANCE))
        for p in glob.glob(os.path.join(workdir, "**", "results.json"), recursive=True))
    parts = [f"`{c}` ({n} run{'s' * (n != 1)})" for c, n in sorted(counts.items())]
    if unrecorded:
        parts.append(f"{unrecorded} run{'s' * (unrecorded != 1)} from before runs recorded "
                     "their commit")
    return ", ".join(parts) or "no finished runs"


def provenance_block(prov: Mapping[str, str], seeds: Sequence[int]) -> str:
    trained = f"- runs trained at: {prov['trained_at']}\n" if prov.get("trained_at") else ""
    return (f"- command: `{prov['command']}`\n- commit: `{prov['commit']}` (this invocation)\n"
            f"{trained}- hardware: {prov['hardware']}\n- seeds: {', '.join(map(str, seeds))}\n")


def write_json(path: str, payload) -> None:
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)


def load_summaries(runs_dir: str, system: str) -> list[tuple[str, dict]]:
    """(path relative to ``runs_dir``, parsed JSON) of every ``summary.json`` below it, sorted.

    No summary at all is a SystemExit naming the launcher that writes them.
    """
    paths = sorted(glob.glob(os.path.join(runs_dir, "**", "summary.json"), recursive=True))
    if not paths:
        raise SystemExit(f"no summary.json under {runs_dir}; run experiments.{system} first")
    loaded = []
    for path in paths:
        with open(path) as f:
            loaded.append((os.path.relpath(path, runs_dir), json.load(f)))
    return loaded


def sectioned_report(runs_dir: str, render: Callable[[dict], str], system: str) -> str:
    """Every ``summary.json`` below ``runs_dir`` rendered, one section per table.

    Each section starts with ``<!-- <path relative to runs_dir> -->``, the key by which
    ``experiments.report --merge`` replaces or keeps it.
    """
    return "\n\n".join(f"<!-- {rel} -->\n" + render(summary)
                        for rel, summary in load_summaries(runs_dir, system))
