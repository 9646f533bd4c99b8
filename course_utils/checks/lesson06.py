"""Checks for lesson 06's exercises (Training a DCGAN)."""

from __future__ import annotations

__all__: list[str] = []
