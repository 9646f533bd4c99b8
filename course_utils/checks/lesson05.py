"""Checks for lesson 05's exercises (DCGAN architecture, and debugging a broken GAN)."""

from __future__ import annotations

__all__: list[str] = []
