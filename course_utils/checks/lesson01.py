"""Checks for lesson 01's exercises (Convolution from scratch)."""

from __future__ import annotations

__all__: list[str] = []
