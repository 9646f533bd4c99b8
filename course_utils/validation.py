"""Argument checks that fail with a sentence a student understands (used by every module)."""

from __future__ import annotations

import warnings
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


class RangeWarning(UserWarning):
    """Pixel values that fit the expected range but look like another of the course's conventions."""


#: The course's two float conventions: name -> (low, high, how to get there from uint8 pictures).
PIXEL_RANGES = {
    "unit": (0.0, 1.0, "pipeline.to_unit_range"),
    "model": (-1.0, 1.0, "pipeline.to_model_range"),
}


def check_pixel_range(name: str, values: Any, expected: str, *, slack: float = 1e-3) -> np.ndarray:
    """Check float pixels are finite and in the ``expected`` convention ("unit" [0, 1] or "model" [-1, 1]).

    Values may stray ``slack`` beyond the range (a network's raw output does). A mix-up with another
    convention raises ValueError naming the conversion; a "model" batch that spans exactly [0, 1] only warns
    (:class:`RangeWarning`), since the course cannot be sure. Returns the values as a NumPy array.
    """
    check_choice("expected", expected, tuple(PIXEL_RANGES))
    low, high, converter = PIXEL_RANGES[expected]
    array = values.numpy() if hasattr(values, "numpy") else np.asarray(values)
    wanted = f"float {expected}-range values in [{low:g}, {high:g}]"
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must hold {wanted}; got {describe(array)}.")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name} must hold {wanted}; got {describe(array)}. Convert uint8 pictures with {converter} first."
        )
    if array.size == 0:
        return array
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(
            f"{name} holds {int((~finite).sum())} NaN or infinite value(s) among {array.size}; {wanted} are "
            "expected. A NaN usually comes from a diverged model or a division by zero upstream."
        )
    lo, hi = float(array.min()), float(array.max())
    if lo >= low - slack and hi <= high + slack:
        if expected == "model" and lo >= 0.0 and hi - lo > 0.5:
            warnings.warn(
                f"{name} has no negative values (it spans [{lo:.3g}, {hi:.3g}]): is it a [0, 1] image? The model "
                "range is [-1, 1], black is -1; convert [0, 1] images with 2 * x - 1.",
                RangeWarning,
                stacklevel=3,
            )
        return array
    if hi > 10.0:
        why = f"values up to {hi:.4g} look like 0-255 pixel values: convert uint8 pictures with {converter}"
    elif expected == "unit" and lo < 0.0:
        why = f"values down to {lo:.4g} look like model-range [-1, 1] images: convert them with (x + 1) / 2"
    else:
        why = f"values outside [{low:g}, {high:g}] (from {lo:.4g} to {hi:.4g})"
    raise ValueError(f"{name} must hold {wanted}; got {describe(array)}: {why}.")
