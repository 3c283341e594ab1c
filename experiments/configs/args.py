"""Parsing of config-file arguments: ``get_config("size=tiny,data=emodb")``."""

from __future__ import annotations

import ml_collections


def parse(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """``key=value`` pairs over ``defaults``; unknown keys and malformed pairs are errors.

    Values are typed like their defaults (int, float, bool, str).
    """
    values = dict(defaults)
    for item in filter(None, (arg or "").split(",")):
        if "=" not in item:
            raise ValueError(f"config argument {item!r} is not key=value")
        key, raw = (s.strip() for s in item.split("=", 1))
        if key not in defaults:
            raise ValueError(f"config argument {key!r} is unknown; known: {sorted(defaults)}")
        default = defaults[key]
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"config argument {key}={raw!r}: expected true or false")
            values[key] = raw.lower() in ("true", "1")
        elif isinstance(default, int):
            values[key] = int(raw)
        elif isinstance(default, float):
            values[key] = float(raw)
        else:
            values[key] = raw
    return ml_collections.ConfigDict(values)
