"""Checks for lesson 04's exercises (The GAN minimax objective)."""

from __future__ import annotations

__all__: list[str] = []
