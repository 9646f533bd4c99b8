"""Checks for lesson 03's exercises (A CNN classifier)."""

from __future__ import annotations

__all__: list[str] = []
