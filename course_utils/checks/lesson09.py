"""Checks for lesson 09's exercises (Image restoration basics)."""

from __future__ import annotations

__all__: list[str] = []
