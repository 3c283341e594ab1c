"""On-disk .npz feature cache keyed by feature parameters + input identity; parallel extraction."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Union

import numpy as np

from affectjax.data import features as F

# librosa's pyin is numba-compiled with cache=True. Point the cache at a user-writable place
# before numba is imported (site-packages may be read-only); the user's own setting wins.
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "affectjax"
_DEFAULT_NUMBA_DIR = _USER_CACHE / "numba"
if "numba" not in sys.modules:
    os.environ.setdefault("NUMBA_CACHE_DIR", str(_DEFAULT_NUMBA_DIR))

Loader = Callable[[str, int], np.ndarray]
# A source is a file path (read by the loader), a waveform, or a picklable zero-argument
# callable returning a waveform (evaluated in the worker, e.g. a generator utterance).
Source = Union[str, os.PathLike, np.ndarray, Callable[[], np.ndarray]]  # noqa: UP007


def default_cache_dir() -> Path:
    env = os.environ.get("AFFECTJAX_CACHE")
    if env:
        return Path(env) / "features"
    return _USER_CACHE / "features"


def soundfile_loader(path: str, sample_rate: int) -> np.ndarray:
    """Mono float32 at sample_rate via soundfile (+ librosa soxr_hq resampling if needed)."""
    import soundfile as sf

    try:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types; the message is what matters
        raise ValueError(f"{path}: cannot read audio ({e})") from e
    if y.size == 0:
        raise ValueError(f"{path}: empty audio")
    y = y.mean(axis=1)
    if sr != sample_rate:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(y, dtype=np.float32)


def default_loader(path: str, sample_rate: int) -> np.ndarray:
    """affectjax.data.audio.load_audio when present, else soundfile_loader."""
    try:
        from affectjax.data.audio import load_audio
    except ImportError:
        return soundfile_loader(path, sample_rate)
    return load_audio(path, sample_rate)


def process_context():
    """Process start method for worker pools: fork when safe, else spawn.

    'fork' is the cheapest start, but forking a process that runs JAX/TF/torch threads can
    deadlock, so those get 'spawn' (workers then import librosa themselves).
    """
    threaded = any(m in sys.modules for m in ("jax", "tensorflow", "torch"))
    if sys.platform != "linux" or threaded:
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


def warm_numba(cfg: F.FeatureConfig) -> None:
    """Compile pyin (writing numba's on-disk cache) in this process before workers start.

    Workers then load the compiled code instead of compiling concurrently into the same cache
    files, which can corrupt them.
    """
    if "f0" in cfg.kinds:
        rng = np.random.default_rng(0)
        F.f0_pyin(0.01 * rng.standard_normal(cfg.f0_frame_length * 2).astype(np.float32), cfg)


def file_identity(path: str | os.PathLike) -> str:
    """Input identity of a file: resolved path + size + mtime_ns (a rewrite changes the key)."""
    p = os.path.realpath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{path}: no such audio file") from e
    return f"file:{p}:{st.st_size}:{st.st_mtime_ns}"


def generated_identity(generator_hash: str, key: Any) -> str:
    """Input identity of generated audio: generator config hash + utterance key."""
    key = tuple(key) if isinstance(key, Sequence) and not isinstance(key, str) else key
    return f"gen:{generator_hash}:{key!r}"


def _librosa_version() -> str:
    from importlib.metadata import version

    return version("librosa")


class FeatureCache:
    """Features of many inputs, computed once per (FeatureConfig.hash(), input identity).

    Layout: <cache_dir>/<config hash>/<2 hex>/<sha1(identity)>.npz; a changed parameter goes to
    another directory, a changed file (size or mtime) to another entry. The librosa version is
    part of the entry key since its numerics can change between releases.
    """

    def __init__(
        self,
        config: F.FeatureConfig,
        cache_dir: str | os.PathLike | None = None,
        *,
        loader: Loader | None = None,
        workers: int = 1,
        chunksize: int = 8,
        progress: bool = True,
    ):
        self.config = config
        self.root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.dir = self.root / config.hash()
        self.loader = loader if loader is not None else default_loader
        self.workers = int(workers)
        self.chunksize = max(1, int(chunksize))
        self.progress = progress
        self.hits = 0
        self.misses = 0
        self.errors: list[tuple[str, str]] = []
        self._lib = _librosa_version()

    # -- keys ------------------------------------------------------------------------------
    def identity(self, source: Source, identity: str | None = None) -> str:
        if identity is not None:
            return identity
        if isinstance(source, str | os.PathLike):
            return file_identity(source)
        raise ValueError("waveform / callable sources need an explicit identity "
                         "(e.g. generated_identity(config.hash(), key))")

    def entry_path(self, identity: str) -> Path:
        h = hashlib.sha1(f"{identity}|librosa={self._lib}".encode()).hexdigest()
        return self.dir / h[:2] / f"{h[2:26]}.npz"

    def load(self, identity: str) -> dict[str, np.ndarray] | None:
        """Cached arrays for identity, or None (also None for an unreadable/foreign entry)."""
        p = self.entry_path(identity)
        if not p.exists():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                if str(z["__identity__"]) != identity:
                    return None
                return {k: z[k] for k in z.files if not k.startswith("__")}
        except Exception:  # truncated or corrupt entry: recompute rather than fail
            return None

    # -- extraction ------------------------------------------------------------------------
    def get(self, source: Source, identity: str | None = None) -> dict[str, np.ndarray]:
        return self.extract([source], None if identity is None else [identity], workers=1,
                            progress=False)[0]

    def extract(
        self,
        sources: Sequence[Source],
        identities: Sequence[str | None] | None = None,
        *,
        workers: int | None = None,
        progress: bool | None = None,
        on_error: str = "raise",
    ) -> list[dict[str, np.ndarray] | None]:
        """Features for every source, in order; cached entries are loaded, the rest computed.

        on_error='skip' returns None for a failing input and records (source, reason) in
        self.errors instead of raising; 'raise' fails with the input named.
        """
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        workers = self.workers if workers is None else int(workers)
        progress = self.progress if progress is None else progress
        ids = [None] * len(sources) if identities is None else list(identities)
        if len(ids) != len(sources):
            raise ValueError(f"{len(sources)} sources but {len(ids)} identities")
        out: list[dict[str, np.ndarray] | None] = [None] * len(sources)
        todo = []
        for i, (src, ident) in enumerate(zip(sources, ids)):
            try:
                ident = self.identity(src, ident)
            except FileNotFoundError as e:
                self._fail(on_error, src, e)
                continue
            cached = self.load(ident)
            if cached is not None:
                out[i] = cached
                self.hits += 1
            else:
                todo.append((i, src, ident, str(self.entry_path(ident))))
        self.misses += len(todo)

        from tqdm.auto import tqdm

        bar = tqdm(total=len(sources), initial=len(sources) - len(todo), disable=not progress,
                   desc=f"features {','.join(self.config.kinds)}", unit="file")
        chunks = [todo[i : i + self.chunksize] for i in range(0, len(todo), self.chunksize)]
        if workers <= 1 or len(chunks) <= 1:
            for chunk in chunks:
                self._collect(_work(self.config, self.loader, chunk), out, on_error)
                bar.update(len(chunk))
        else:
            warm_numba(self.config)
            with ProcessPoolExecutor(min(workers, len(chunks)),
                                     mp_context=process_context()) as ex:
                futs = [ex.submit(_work, self.config, self.loader, c) for c in chunks]
                for fut in as_completed(futs):
                    res = fut.result()
                    self._collect(res, out, on_error)
                    bar.update(len(res))
        bar.close()
        return out

    def _collect(self, results, out, on_error):
        for i, src, feats, err in results:
            if err is not None:
                self._fail(on_error, src, err)
            else:
                out[i] = feats

    def _fail(self, on_error, src, err):
        name = src if isinstance(src, str | os.PathLike) else f"<{type(src).__name__}>"
        if on_error == "raise":
            raise ValueError(f"feature extraction failed for {name}: {err}")
        self.errors.append((str(name), str(err)))

    def clear(self) -> None:
        """Delete every entry of this feature configuration."""
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


def _work(cfg: F.FeatureConfig, loader: Loader, jobs) -> list[tuple[int, Any, Any, Any]]:
    """Worker: compute, store atomically, return (index, source, features, error) per job."""
    res = []
    for i, src, ident, entry in jobs:
        try:
            if isinstance(src, str | os.PathLike):
                y = loader(os.fspath(src), cfg.sample_rate)
            elif isinstance(src, np.ndarray):
                y = src
            else:
                y = src()
            feats = F.extract(y, cfg)
            _save(Path(entry), ident, cfg, feats)
            res.append((i, _src_name(src, ident), feats, None))
        except Exception as e:  # reported with the input's name by the parent
            res.append((i, _src_name(src, ident), None, f"{type(e).__name__}: {e}"))
    return res


def _src_name(src, ident: str) -> str:
    # Never ship a waveform back to the parent just to name it.
    return os.fspath(src) if isinstance(src, str | os.PathLike) else ident


def _save(path: Path, identity: str, cfg: F.FeatureConfig, feats: dict[str, np.ndarray]):
    # Write-then-rename: concurrent workers and interrupted runs never leave a partial entry.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __identity__=np.array(identity), __config__=np.array(cfg.hash()),
                     **feats)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
