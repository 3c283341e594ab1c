"""Market data for a Bert4CMR config: read the source, split it by its protocol, pick the target.

Spec bert4cmr.md §6–§7. ``load_market_data(config)`` reads ``config.data`` (the embedded
generator, XMarket, the WSDM-Cup 2022 layout or MovieLens-100k), splits it by the protocol
(``forec``, ``paper``, or the WSDM files' own lists), memoises the result per process and caches
splits on disk, and resolves the stage's target market (none for a shared pretraining).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib

import ml_collections
import numpy as np

from affectjax.data import markets as mk

SOURCES = ("synthetic", "xmarket", "wsdm22", "ml100k")


@dataclasses.dataclass(frozen=True, eq=False)
class MarketData:
    """Loaded interactions, their protocol split, and the stage's target (None = all markets)."""

    inter: mk.Interactions
    split: mk.Split
    target: str | None
    source: str

    @property
    def eval_markets(self) -> list[str]:
        """Markets whose lists are evaluated: the target, or every market with lists."""
        if self.target is not None:
            return [self.target]
        lists = self.split.valid if self.split.valid is not None else self.split.test
        ids = np.unique(lists.market) if lists is not None else []
        return [self.inter.markets[m - 1] for m in ids]


def default_cache_dir() -> pathlib.Path:
    return pathlib.Path(os.path.expanduser("~/.cache/affectjax/markets"))


def _cache_dir(d: ml_collections.ConfigDict) -> pathlib.Path:
    return pathlib.Path(d.cache_dir) if d.cache_dir else default_cache_dir()


def synth_config(d: ml_collections.ConfigDict) -> mk.SynthConfig:
    """The generator knobs: the ``data.synth.size`` preset with ``data.synth.*`` overrides."""
    base = dataclasses.asdict(mk.SynthConfig.named(d.synth.size))
    for key, value in d.synth.items():
        if key in ("size", "seed") or value is None:
            continue
        if key not in base:
            raise ValueError(f"data.synth.{key} is not a generator knob; known: {sorted(base)}")
        base[key] = tuple(value) if isinstance(base[key], tuple) else value
    return mk.SynthConfig(**base)


def synthetic_root(d: ml_collections.ConfigDict) -> pathlib.Path:
    """Generate (once, cached by its knobs and seed) the synthetic markets; returns the folder."""
    synth = synth_config(d)
    stamp = json.dumps([dataclasses.asdict(synth), d.synth.seed], sort_keys=True)
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    root = pathlib.Path(d.root) if d.root else _cache_dir(d) / f"synthetic-{key}"
    marker = root / "GENERATOR.json"
    if not (marker.exists() and marker.read_text() == stamp):
        mk.write_synthetic(root, synth, d.synth.seed)
        marker.write_text(stamp)
    return root


def _read(d: ml_collections.ConfigDict):
    """(Interactions, given Split or None) of ``data.source``."""
    markets = list(d.markets) or None
    if d.source == "synthetic":
        return mk.read_xmarket(synthetic_root(d), markets), None
    if not d.root and d.source != "ml100k":
        raise ValueError(f"data.source={d.source!r} needs data.root (the folder of its files)")
    if d.source == "xmarket":
        return mk.read_xmarket(d.root, markets), None
    if d.source == "wsdm22":
        w = mk.read_wsdm22(d.root, markets)
        return w.interactions, w.split()
    if d.source == "ml100k":
        inter = mk.read_ml100k(d.root or None)
        if markets:
            inter = mk.assemble([p for p in mk.to_parts(inter) if p.code in markets],
                                time_unit=inter.time_unit)
        return inter, None
    raise ValueError(f"data.source={d.source!r}: expected one of {SOURCES}")


def default_target(inter: mk.Interactions, split: mk.Split) -> str:
    """The market with the fewest users that has evaluation lists [our choice]."""
    lists = split.valid if split.valid is not None else split.test
    ids = np.unique(lists.market)
    users = np.bincount(lists.market, minlength=inter.n_markets + 1)
    # Fewest users; the last code on ties (the synthetic generator's rule).
    best = min(ids.tolist(), key=lambda m: (users[m], -m))
    return inter.markets[best - 1]


_LOADED: dict[str, tuple[mk.Interactions, mk.Split]] = {}


def split_seed(config: ml_collections.ConfigDict) -> int:
    """`paper`: the run seed (a fresh split per run [official-code]); `forec`: data.split_seed."""
    return config.seed if config.data.protocol == "paper" else config.data.split_seed


def load_market_data(config: ml_collections.ConfigDict) -> MarketData:
    """Read ``config.data``, split it by its protocol and resolve the stage's target.

    Results are memoised per process (a launcher builds many runs on the same data); splits are
    also cached on disk under ``data.cache_dir``.
    """
    d = config.data
    protocol = "given" if d.source == "wsdm22" else d.protocol
    if d.source == "wsdm22" and d.protocol not in ("given", ""):
        raise ValueError("data.source='wsdm22' comes with its candidate lists: protocol 'given'")
    if protocol not in mk.PROTOCOLS:
        raise ValueError(f"data.protocol={d.protocol!r}: expected one of {mk.PROTOCOLS}")
    seed = split_seed(config)
    key = json.dumps([d.source, d.root, list(d.markets), protocol, seed, d.cache_dir,
                      d.synth.to_dict() if d.source == "synthetic" else None], sort_keys=True)
    if key not in _LOADED:
        inter, given = _read(d)
        if protocol == "given":
            split = given
        else:
            split = mk.make_split(inter, protocol, seed=seed,
                                  cache_dir=_cache_dir(d) / "splits")
        _LOADED[key] = (inter, split)
    inter, split = _LOADED[key]
    target = d.target or default_target(inter, split)
    inter.market_id(target)  # a clear error for an unknown code
    shared = config.stage == "pretrain" and d.pretrain_scope == "shared"
    if d.pretrain_scope not in ("target", "shared"):
        raise ValueError(f"data.pretrain_scope={d.pretrain_scope!r}: expected target or shared")
    return MarketData(inter=inter, split=split, target=None if shared else target,
                      source=d.source)


def stage_rows_kwargs(config: ml_collections.ConfigDict, data: MarketData) -> dict:
    """``target``/``markets`` arguments of the row builders for this stage (§5 table)."""
    if config.stage == "pretrain":
        return {"target": data.target, "markets": None}
    return {"target": data.target, "markets": [data.target]}


