"""Argument checks that fail with a sentence a student understands (used by every module)."""

from __future__ import annotations

from typing import Any

import numpy as np


def describe(value: Any) -> str:
    """Describe an array-like in a few words, e.g. ``'uint8 array of shape (28, 28) in [0, 255]'``."""
    if value is None:
        return "None"
    if hasattr(value, "numpy") and hasattr(value, "dtype") and hasattr(value, "shape"):
        value = value.numpy()  # a TensorFlow tensor
    if isinstance(value, np.ndarray):
        text = f"{value.dtype} array of shape {tuple(value.shape)}"
        if value.size and (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
            lo, hi = np.nanmin(value), np.nanmax(value)
            text += f" in [{lo:.4g}, {hi:.4g}]"
        return text
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ValueError if it is not a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number; got {describe(value)}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}.")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing the valid ones."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}.")
    return value


def check_image_batch(
    name: str,
    images: Any,
    *,
    channels: int | None = None,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Check that ``images`` is a 4-D batch ``(N, H, W, C)``; optionally its channels and value range."""
    array = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if array.ndim != 4:
        hint = " (add a channel axis with images[..., None])" if array.ndim == 3 else ""
        raise ValueError(
            f"{name} must be a batch of images shaped (N, height, width, channels); "
            f"got {describe(array)}{hint}."
        )
    if channels is not None and array.shape[-1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s); got {describe(array)}.")
    if value_range is not None and array.size:
        lo, hi = value_range
        if np.nanmin(array) < lo - 1e-6 or np.nanmax(array) > hi + 1e-6:
            raise ValueError(f"{name} must hold values in [{lo:g}, {hi:g}]; got {describe(array)}.")
    return array
