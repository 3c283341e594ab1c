"""Procedural emotional speech (spec §6.6): seeded, controllable, offline embedded corpora.

The synthesis design is [our choice] throughout (spec §6.6); the emotion F0 level and width
ratios are calibration targets measured on Emo-DB. Modules: presets (emotion table, speakers),
language (phones, sentences, timelines), prosody (F0 contour, rho_e solve), source (glottal
pulses), filter (formant cascade), channel (recording chain), config (knobs, shift, task
presets), corpus (generation, manifest writing), streams (seed keys).
"""

from affectjax.data.synth.config import (
    TASK_SHIFTS,
    ChannelConfig,
    SpeakerConfig,
    SynthConfig,
    resolve_shift,
    task_configs,
)
from affectjax.data.synth.corpus import (
    TRUTH_HOP_S,
    FrameTruth,
    Utterance,
    UtteranceKey,
    corpus_keys,
    generate_corpus,
    generate_utterance,
    write_corpus,
)
from affectjax.data.synth.language import PHONES
from affectjax.data.synth.presets import DEFAULT_EMOTIONS, EMOTIONS, PRESETS

__all__ = [
    "DEFAULT_EMOTIONS",
    "EMOTIONS",
    "PHONES",
    "PRESETS",
    "TASK_SHIFTS",
    "TRUTH_HOP_S",
    "ChannelConfig",
    "FrameTruth",
    "SpeakerConfig",
    "SynthConfig",
    "Utterance",
    "UtteranceKey",
    "corpus_keys",
    "generate_corpus",
    "generate_utterance",
    "resolve_shift",
    "task_configs",
    "write_corpus",
]
