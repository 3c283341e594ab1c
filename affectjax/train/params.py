"""Parameter paths and regex rules shared by freeze, init_from, lr multipliers and sharding."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import jax


def path_str(path: tuple) -> str:
    """'/'-joined path of a pytree leaf, e.g. ``encoder/dense_0/kernel``."""
    parts = []
    for key in path:
        if isinstance(key, jax.tree_util.DictKey):
            parts.append(str(key.key))
        elif isinstance(key, jax.tree_util.GetAttrKey):
            parts.append(key.name)
        elif isinstance(key, jax.tree_util.SequenceKey):
            parts.append(str(key.idx))
        else:
            parts.append(str(key))
    return "/".join(parts)


def flatten(tree: Any) -> dict[str, Any]:
    """Leaves of a pytree keyed by their path string."""
    return {path_str(p): leaf for p, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def compile_rules(patterns: Sequence[str], what: str) -> list[re.Pattern]:
    """Compile user regexes; they match the WHOLE path (``head/.*``, not ``head``)."""
    if isinstance(patterns, str):  # iterating it would make one rule per character
        raise ValueError(f"{what}: expected a tuple of regexes, got the string {patterns!r}; "
                         f"write ({patterns!r},)")
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ValueError(f"{what}: expected a tuple of regexes, got the entry {pattern!r} "
                             f"in {tuple(patterns)!r}")
        try:
            compiled.append(re.compile(pattern))
        except re.error as err:
            raise ValueError(f"{what}: invalid regex {pattern!r}: {err}") from err
    return compiled


def matches(path: str, rules: Sequence[re.Pattern]) -> bool:
    return any(rule.fullmatch(path) for rule in rules)


def label_tree(tree: Any, label_of: Callable[[str], Any]) -> Any:
    """A pytree of the same structure whose leaves are ``label_of(path)``."""
    return jax.tree_util.tree_map_with_path(lambda p, _: label_of(path_str(p)), tree)


def check_rules_used(tree_or_paths: Any, patterns: Sequence[str], what: str) -> None:
    """Raise if a rule matches no leaf: a typo there would otherwise silently do nothing."""
    paths = (list(tree_or_paths) if isinstance(tree_or_paths, list)
             else list(flatten(tree_or_paths)))
    for pattern, rule in zip(patterns, compile_rules(patterns, what)):
        if not any(rule.fullmatch(p) for p in paths):
            example = ", ".join(paths[:5])
            raise ValueError(
                f"{what}: regex {pattern!r} matches no parameter (paths look like: {example}, ...)")


def rule_pairs(rules: Sequence, what: str, example: str) -> list[tuple[str, Any]]:
    """``rules`` as ``(regex, value)`` pairs, or a clear error naming the form that works.

    On the command line a single pair without its trailing comma, ``"('head/.*', 0.1)"``, is
    read as the two entries ``'head/.*'`` and ``0.1``; the message shows ``example`` instead.
    """
    if isinstance(rules, str):
        rules = (rules,)
    pairs = []
    for rule in rules:
        if (isinstance(rule, str) or not isinstance(rule, Sequence) or len(rule) != 2
                or not isinstance(rule[0], str)):
            raise ValueError(
                f"{what}: expected (regex, value) pairs, got the entry {rule!r} in "
                f"{tuple(rules)!r}; on the command line give the whole tuple with its trailing "
                f"commas, e.g. {example}")
        pairs.append((rule[0], rule[1]))
    return pairs
