"""Deterministic hash-based splits: FER2013's stratified hold-out and AffectNet's dev split."""

from __future__ import annotations

import collections
import hashlib

import numpy as np

from affectjax.data.faces.records import FaceSet


def stable_hash(key: str, salt: str = "") -> int:
    """64-bit BLAKE2b of `salt + key` (platform- and run-independent, unlike `hash`)."""
    digest = hashlib.blake2b((salt + key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stratified_holdout(
    face_set: FaceSet, fraction: float = 0.2, *, salt: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (train, holdout), stratified by class, fixed by record keys.

    Within each class the records are ordered by `stable_hash(key, salt)` and the first
    round(fraction·n_c) go to the hold-out (spec §7.1: FER2013 internal 80/20 by hash)
    [our choice: per-class rank rather than a hash threshold, so class shares are exact].
    Keys are relative paths / CSV lines, so the split does not depend on where the data lives.
    Both index arrays are sorted.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    by_class: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for i, r in enumerate(face_set.records):
        by_class[r.label].append((stable_hash(r.key, salt), i))
    hold: list[int] = []
    for members in by_class.values():
        members.sort()
        k = int(np.floor(fraction * len(members) + 0.5))
        hold.extend(i for _, i in members[:k])
    holdout = np.array(sorted(hold), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(face_set), dtype=np.int64), holdout)
    return train, holdout


def affectnet_dev_split(face_set: FaceSet, per_mille: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """AffectNet model-selection split (spec §6.1): returns (train, dev) indices.

    Rows with BLAKE2b(path) mod 1000 < `per_mille` form the dev pool (5 %); the pool is then
    class-balanced by keeping, per class, the smallest-hash rows up to the smallest class
    count. [our choice] Pool rows cut by balancing stay out of train, so that train is exactly
    "hash >= per_mille" and does not move when the class mix changes.
    """
    hashes = np.array([stable_hash(r.key) % 1000 for r in face_set.records], dtype=np.int64)
    pool = np.flatnonzero(hashes < per_mille)
    train = np.flatnonzero(hashes >= per_mille)
    by_class: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for i in pool:
        r = face_set.records[i]
        by_class[r.label].append((stable_hash(r.key, "dev-balance"), int(i)))
    if not by_class:
        return train, np.zeros(0, np.int64)
    n_min = min(len(v) for v in by_class.values())
    dev = sorted(i for v in by_class.values() for _, i in sorted(v)[:n_min])
    return train, np.array(dev, dtype=np.int64)
