"""Seed-sequence keys for every random stream of the generator (one place, no collisions)."""

from __future__ import annotations

# numpy's SeedSequence treats trailing zeros as absent ([1, 0] == [1]), so every auxiliary
# stream carries a large non-zero tag in a position that an utterance key cannot reach.
_TAG_SPEAKER = 0xA5F0_0001
_TAG_SENTENCE = 0xA5F0_0002
_TAG_LANGUAGE = 0xA5F0_0003
_TAG_KEEP = 0xA5F0_0004
_TAG_REFERENCE = 0xA5F0_0005
_TAG_ROOM = 0xA5F0_0006


def utterance_key(seed, corpus_id, speaker, sentence, emotion_index, take) -> list[int]:
    """The spec §6.6 per-utterance key [seed, corpus_id, speaker, sentence, emotion, take]."""
    return [int(seed), int(corpus_id), int(speaker), int(sentence), int(emotion_index), int(take)]


def speaker_key(seed, corpus_id, speaker) -> list[int]:
    return [int(seed), int(corpus_id), int(speaker), _TAG_SPEAKER]


def sentence_key(seed, corpus_id, sentence) -> list[int]:
    return [int(seed), int(corpus_id), _TAG_SENTENCE, int(sentence)]


def language_key(language_seed) -> list[int]:
    return [int(language_seed), _TAG_LANGUAGE]


def keep_key(seed, corpus_id, speaker, sentence, emotion_index, take) -> list[int]:
    return utterance_key(seed, corpus_id, speaker, sentence, emotion_index, take) + [_TAG_KEEP]


def room_key(seed, corpus_id) -> list[int]:
    """One room (reverb impulse response) per corpus, shared by all its utterances."""
    return [int(seed), int(corpus_id), _TAG_ROOM]


def reference_key(index: int = 0) -> list[int]:
    """Fixed stream for build-time calibration (solving rho_e); independent of every config."""
    return [_TAG_REFERENCE, int(index)]
