"""Checks for lesson 00's exercises.

to_model_range: every uint8 level's value is stored data (checks/data/lesson00.json), looked up per pixel;
steps_per_epoch: stored results (tf.data's count of whole batches).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import (
    _NOT_WRITTEN,
    CheckFailed,
    _call,
    _passed,
    _run_expected,
    _run_stored,
    _show,
    _to_numpy,
)
from course_utils.checks.stored import stored

__all__ = ["check_steps_per_epoch", "check_to_model_range"]

_PARAMS = ("images",)


def _level_table() -> np.ndarray:
    """The stored float32 value of every uint8 level 0..255 (checks/data/lesson00.json)."""
    return stored("lesson00", "to_model_range").cases[0].expected


def check_to_model_range(fn: Any) -> None:
    """Lesson 00: ``fn`` maps uint8 images in [0, 255] to float32 in [-1, 1] (0 -> -1, 255 -> 1), shape kept."""
    name = "to_model_range"
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")
    table = _level_table()
    probe = np.array([[0, 64, 255]], dtype=np.uint8)
    got = _to_numpy(_call(fn, (probe.copy(),), name, _PARAMS))
    if got is None:
        raise CheckFailed(f"`{name}` returned None: end the function with `return` and the converted images.")
    if not isinstance(got, np.ndarray):
        raise CheckFailed(f"`{name}` should return an array (NumPy or TensorFlow); got {_show(got)}.")
    if got.dtype != np.float32:
        raise CheckFailed(
            f"`{name}` returns {got.dtype} values; the models expect float32. Convert with images.astype(np.float32)."
        )
    if got.shape != probe.shape:
        raise CheckFailed(f"`{name}` changed the shape from {probe.shape} to {got.shape}; keep the shape as it is.")
    low, high = float(got.flat[0]), float(got.flat[-1])
    if not (np.isclose(low, -1.0, atol=1e-6) and np.isclose(high, 1.0, atol=1e-6)):
        raise CheckFailed(
            f"`{name}` maps 0 to {low:.4g} and 255 to {high:.4g}; it should map 0 (black) to -1 and 255 (white) "
            f"to 1: divide by 127.5, then subtract 1."
        )
    images = np.random.default_rng(0).integers(0, 256, size=(2, 5, 5, 3), dtype=np.uint8)
    given = images.copy()
    _call(fn, (given,), name, _PARAMS, copy=False)
    if not np.array_equal(given, images):
        raise CheckFailed(f"`{name}` changed the images it was given; return a new array instead.")
    cases = [
        (np.arange(256, dtype=np.uint8).reshape(16, 16),),
        (images,),
        (np.full((1, 4, 4, 1), 128, dtype=np.uint8),),
    ]
    pairs = [(c, table[c[0]]) for c in cases]  # every pixel's expected value, looked up by its level
    count = 4 + _run_expected(fn, pairs, _PARAMS, name=name, rtol=1e-6, atol=1e-6, check_dtype=True)
    _passed(name, count)


def check_steps_per_epoch(fn: Any) -> None:
    """Lesson 00: ``fn(n_images, batch_size)`` counts the full batches in one epoch (the last partial one dropped)."""
    name = "steps_per_epoch"
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")
    got = _call(fn, (1000, 128), name, ("n_images", "batch_size"))
    if isinstance(got, (float, np.floating)):
        raise CheckFailed(
            f"`{name}(1000, 128)` returned the decimal number {got!r}; a number of steps is a whole number. "
            "Use floor division `//`, which also drops the last, incomplete batch."
        )
    if got == 8:
        raise CheckFailed(
            f"`{name}(1000, 128)` returned 8: that counts the last, incomplete batch of 104 images too. "
            "Training drops it, so 1000 images make 7 steps of 128."
        )
    count = _run_stored(fn, "lesson00", name, name=name, rtol=0, atol=0, check_dtype=False)
    _passed(name, count)
