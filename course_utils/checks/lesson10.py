"""Checks for lesson 10's exercises (A CNN inpainter)."""

from __future__ import annotations

__all__: list[str] = []
