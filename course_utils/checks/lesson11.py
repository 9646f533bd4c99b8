"""Checks for lesson 11's exercises (Adversarial inpainting)."""

from __future__ import annotations

__all__: list[str] = []
