"""Checks for lesson 07's exercises (Evaluating generative models)."""

from __future__ import annotations

__all__: list[str] = []
