"""Benchmark: feature extraction throughput (files/s) per worker count, and cached-load speed-up.

    python -m affectjax.data.bench_features --root /work/shared/data/emodb --workers 1 2

Each worker count starts from an empty cache (pool start-up included; numba compilation is
done once beforehand and excluded); the cached pass reloads every entry from disk.
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import tempfile
import time

from affectjax.data import features as F
from affectjax.data.feature_cache import (
    FeatureCache,
    default_loader,
    soundfile_loader,
    warm_numba,
)

LOADERS = {"default": default_loader, "soundfile": soundfile_loader}


def find_audio(root: str, limit: int | None = None) -> list[str]:
    """Every .wav under root, sorted (swap for a corpus reader's paths when one exists)."""
    paths = sorted(glob.glob(os.path.join(root, "**", "*.wav"), recursive=True))
    if not paths:
        raise SystemExit(f"no .wav files under {root}")
    return paths[:limit] if limit else paths


def _cpu() -> float:
    """CPU seconds of this process plus its reaped children (pool workers after shutdown)."""
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def run(paths, cfg: F.FeatureConfig, workers: list[int], loader, cache_dir: str | None):
    warm_numba(cfg)
    F.extract(loader(paths[0], cfg.sample_rate), cfg)  # import/first-call costs out of timing
    rows = []
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        last_dir = None
        for w in workers:
            d = os.path.join(tmp, f"w{w}")
            cache = FeatureCache(cfg, d, loader=loader, workers=w, progress=True)
            t0, c0 = time.perf_counter(), _cpu()
            cache.extract(paths)
            dt = time.perf_counter() - t0
            rows.append((f"extract, {w} worker{'s' if w > 1 else ''}", dt, len(paths) / dt,
                         _cpu() - c0))
            last_dir = d
        cache = FeatureCache(cfg, last_dir, loader=loader, workers=1, progress=False)
        t0, c0 = time.perf_counter(), _cpu()
        cache.extract(paths)
        dt = time.perf_counter() - t0
        assert cache.hits == len(paths)
        rows.append(("cached load", dt, len(paths) / dt, _cpu() - c0))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="directory searched recursively for .wav")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--kinds", nargs="+", default=["mfcc"], choices=F.KINDS)
    ap.add_argument("--sample-rate", type=int, default=22050)
    ap.add_argument("--max-samples", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N files")
    ap.add_argument("--loader", choices=sorted(LOADERS), default="soundfile")
    ap.add_argument("--cache-dir", default=None, help="parent of the temporary cache dirs")
    a = ap.parse_args(argv)

    paths = find_audio(a.root, a.limit)
    cfg = F.FeatureConfig(kinds=tuple(a.kinds), sample_rate=a.sample_rate,
                          max_samples=a.max_samples)
    print(f"{len(paths)} files under {a.root}; kinds={','.join(cfg.kinds)} "
          f"sr={cfg.sample_rate} config={cfg.hash()} cpus={os.cpu_count()}")
    rows = run(paths, cfg, a.workers, LOADERS[a.loader], a.cache_dir)
    base = rows[0][1]
    # CPU seconds let a reader judge wall times taken on a shared, oversubscribed machine.
    print(f"{'pass':24s} {'wall s':>8s} {'files/s':>9s} {'speed-up':>9s} {'cpu s':>8s}")
    for name, dt, rate, cpu in rows:
        print(f"{name:24s} {dt:8.2f} {rate:9.1f} {base / dt:8.1f}x {cpu:8.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
