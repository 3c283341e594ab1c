"""Canonical emotion names, per-corpus class sets and shared classes for cross-corpus pairs."""

from __future__ import annotations

from collections.abc import Iterable

# Canonical names every reader maps its corpus codes to (emo_dna.md §6.1).
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "happiness",
    "sadness",
    "fear",
    "disgust",
    "boredom",
    "surprise",
    "calm",
)

# Class sets as the readers emit them (alphabetical, like the pair table of §6.3).
# IEMOCAP is its standard 4-class set (hap ∪ exc → happiness); see corpora/iemocap.py.
CORPUS_CLASSES: dict[str, tuple[str, ...]] = {
    "emodb": ("anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness"),
    "ravdess": (
        "anger", "calm", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
    ),
    "crema_d": ("anger", "disgust", "fear", "happiness", "neutral", "sadness"),
    "savee": ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"),
    "enterface": ("anger", "disgust", "fear", "happiness", "sadness", "surprise"),
    "casia": ("anger", "fear", "happiness", "neutral", "sadness", "surprise"),
    "iemocap": ("anger", "happiness", "neutral", "sadness"),
    "esd": ("anger", "happiness", "neutral", "sadness", "surprise"),
    "jtalk_emotion": ("anger", "happiness", "neutral", "sadness"),
}

# Spellings users type for the same corpus; values are the registry names.
CORPUS_ALIASES: dict[str, str] = {
    "emo_db": "emodb",
    "berlin": "emodb",
    "cremad": "crema_d",
    "crema": "crema_d",
    "enterface05": "enterface",
    "enterface_05": "enterface",
    "jtalk": "jtalk_emotion",
    "speechva": "speech_va",
}

_SIX = ("anger", "disgust", "fear", "happiness", "neutral", "sadness")
_FOUR = ("anger", "happiness", "neutral", "sadness")


def _pair_table() -> dict[frozenset[str], tuple[str, ...]]:
    """Build the §6.3 table: unordered corpus pair -> shared classes."""
    table: dict[frozenset[str], tuple[str, ...]] = {
        frozenset({"emodb", "casia"}): ("anger", "fear", "happiness", "neutral", "sadness"),
        frozenset({"emodb", "enterface"}): ("anger", "disgust", "fear", "happiness", "sadness"),
        frozenset({"casia", "enterface"}): ("anger", "fear", "happiness", "sadness", "surprise"),
        frozenset({"ravdess", "crema_d"}): _SIX,
        frozenset({"emodb", "jtalk_emotion"}): _FOUR,
    }
    for other in ("ravdess", "crema_d", "savee"):
        table[frozenset({"emodb", other})] = _SIX
    # "IEMOCAP ↔ any of the above" [paper-standard 4-class set, emo_dna.md §6.3].
    for other in ("emodb", "casia", "ravdess", "crema_d", "savee"):
        table[frozenset({"iemocap", other})] = _FOUR
    # [our choice] eNTERFACE has no neutral class, so the IEMOCAP pair drops it rather than
    # training a class that has no target examples.
    table[frozenset({"iemocap", "enterface"})] = ("anger", "happiness", "sadness")
    return table


PAIR_CLASSES: dict[frozenset[str], tuple[str, ...]] = _pair_table()


def normalize_corpus_name(name: str) -> str:
    """Lower-case a corpus name, unify '-'/'_' and resolve aliases (e.g. 'Emo-DB' -> 'emodb')."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return CORPUS_ALIASES.get(key, key)


def corpus_classes(corpus: str) -> tuple[str, ...]:
    """Canonical classes a corpus reader emits (IEMOCAP: the 4-class set)."""
    key = normalize_corpus_name(corpus)
    if key not in CORPUS_CLASSES:
        raise ValueError(
            f"unknown corpus {corpus!r}; known corpora: {', '.join(sorted(CORPUS_CLASSES))}"
        )
    return CORPUS_CLASSES[key]


def shared_classes(corpus_a: str, corpus_b: str) -> tuple[str, ...]:
    """Classes used for a cross-corpus pair (emo_dna.md §6.3), order-independent.

    The same corpus twice gives that corpus's own classes [our choice: within-corpus runs].
    Pairs not in the table raise, naming both corpora; build a custom subset from
    `corpus_classes` if you need one.
    """
    a, b = normalize_corpus_name(corpus_a), normalize_corpus_name(corpus_b)
    if a == b and a in CORPUS_CLASSES:
        return CORPUS_CLASSES[a]
    classes = PAIR_CLASSES.get(frozenset({a, b}))
    if classes is None:
        known = sorted(" <-> ".join(sorted(pair)) for pair in PAIR_CLASSES)
        raise ValueError(
            f"no shared-class set is defined for the corpus pair {corpus_a!r} <-> {corpus_b!r} "
            f"(emo_dna.md §6.3); defined pairs: {'; '.join(known)}"
        )
    return classes


def check_emotions(classes: Iterable[str]) -> tuple[str, ...]:
    """Return `classes` as a tuple after checking each is canonical and unique."""
    classes = tuple(classes)
    unknown = [c for c in classes if c not in EMOTIONS]
    if unknown:
        raise ValueError(f"not canonical emotion names: {unknown}; canonical: {list(EMOTIONS)}")
    dupes = sorted({c for c in classes if classes.count(c) > 1})
    if dupes:
        raise ValueError(f"duplicate class names: {dupes}")
    if not classes:
        raise ValueError("empty class list")
    return classes


def label_map(classes: Iterable[str]) -> dict[str, int]:
    """Map each class name to its index in `classes` (the order given is the label order)."""
    return {name: i for i, name in enumerate(check_emotions(classes))}
