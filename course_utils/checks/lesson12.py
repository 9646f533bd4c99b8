"""Checks for lesson 12's exercises (Generation meets restoration)."""

from __future__ import annotations

__all__: list[str] = []
