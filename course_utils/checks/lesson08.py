"""Checks for lesson 08's exercises (Stabilising GAN training)."""

from __future__ import annotations

__all__: list[str] = []
