"""Flax linen modules, one per system, plus shared layers."""
