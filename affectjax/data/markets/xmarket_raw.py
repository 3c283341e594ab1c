"""Raw XMarket ``ratings_<mkt>_<Category>.txt.gz`` reader and the FOREC 5-core rebuild (§6.2)."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import numpy as np

from affectjax.data.markets.errors import MarketDataError
from affectjax.data.markets.interactions import Interactions, MarketPart, assemble, to_parts
from affectjax.data.markets.xmarket import read_market_file

__all__ = ["XMARKET_MARKETS", "raw_file", "read_xmarket_raw", "forec_rebuild"]

# The 18 markets of the XMarket release.
XMARKET_MARKETS = ("ae", "au", "br", "ca", "cn", "de", "es", "fr", "in", "it", "jp", "mx", "nl",
                   "sa", "sg", "tr", "uk", "us")


def raw_file(root, market: str, category: str = "Electronics") -> pathlib.Path:
    """``<root>/ratings_<mkt>_<Category>.txt.gz``, or the same under ``<root>/<mkt>/``."""
    name = f"ratings_{market}_{category}.txt.gz"
    flat = pathlib.Path(root) / name
    nested = pathlib.Path(root) / market / name
    return nested if (not flat.exists() and nested.exists()) else flat


def read_xmarket_raw(root, markets: Sequence[str], *,
                     category: str = "Electronics") -> Interactions:
    """Read raw XMarket ratings (space-separated ``user item rate date``, no header)."""
    parts = []
    for code in markets:
        if code not in XMARKET_MARKETS:
            raise MarketDataError(f"unknown XMarket market {code!r}; known: "
                                  f"{' '.join(XMARKET_MARKETS)}", root)
        path = raw_file(root, code, category)
        if not path.exists():
            raise MarketDataError(f"no raw ratings for market {code!r} ({category})", path)
        parts.append(read_market_file(path, code, header=False))
    return assemble(parts, time_unit="day")


def _keep_min(key: np.ndarray, minimum: int) -> np.ndarray:
    uniq, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inv] >= minimum


def _filter_part(p: MarketPart, keep: np.ndarray) -> MarketPart:
    return MarketPart(code=p.code, user=p.user[keep], item=p.item[keep], rating=p.rating[keep],
                      time=p.time[keep], line=p.line[keep], source=p.source)


def forec_rebuild(raw: Interactions, *, source: str = "us", source_item_min: int = 25,
                  source_user_min: int = 10, item_min: int = 7,
                  user_min: int = 7) -> Interactions:
    """Rebuild FOREC-style processed markets from raw ratings [related-code: FOREC notebook].

    (1) In the ``source`` market keep items with >= 25 ratings, then users with >= 10 (one
    pass, items first); (2) in every other market keep only items left in (1); (3) one pass of
    items >= 7 then users >= 7. Counts are rating rows, duplicates included [our choice: the
    notebook counts rows]. Ids are re-assembled over the surviving rows; a market left empty
    raises MarketDataError.
    """
    parts = {p.code: p for p in to_parts(raw)}
    if source not in parts:
        raise MarketDataError(f"source market {source!r} not loaded; loaded: "
                              f"{' '.join(raw.markets)}")
    src = parts[source]
    src = _filter_part(src, _keep_min(src.item, source_item_min))
    src = _filter_part(src, _keep_min(src.user, source_user_min))
    allowed = np.unique(src.item)
    out = [src]
    for code, p in parts.items():
        if code == source:
            continue
        p = _filter_part(p, np.isin(p.item, allowed))
        p = _filter_part(p, _keep_min(p.item, item_min))
        p = _filter_part(p, _keep_min(p.user, user_min))
        out.append(p)
    return assemble(out, time_unit=raw.time_unit)
