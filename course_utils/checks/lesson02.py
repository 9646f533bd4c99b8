"""Checks for lesson 02's exercises (Transposed convolution and upsampling)."""

from __future__ import annotations

__all__: list[str] = []
