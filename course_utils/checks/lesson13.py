"""Checks for lesson 13's exercises (Deploying to the edge)."""

from __future__ import annotations

__all__: list[str] = []
