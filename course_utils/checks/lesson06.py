"""Checks for lesson 06's exercises (Training a DCGAN).

training_steps: stored results (checks/data/lesson06.json, counted by tf.data); fixed_noise: properties
(same seed same noise, another seed other noise, float32, shape, mean 0 and standard deviation 1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_fixed_noise", "check_training_steps"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- steps of a training run


def check_training_steps(fn: Any) -> None:
    """Lesson 06: ``fn(n_images, batch_size, epochs)`` counts the steps of a run that drops the last partial batch."""
    name = "training_steps"
    _require_function(fn, name)
    book = stored("lesson06", name)
    cases = book.cases
    for stored_case in cases:
        (n_images, batch_size, epochs), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (n_images, batch_size, epochs), name, book.params))
        call = f"`{name}({n_images}, {batch_size}, {epochs})` returned {_show(got)}"
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call}; it should return one whole number of steps ({expected:,}).")
        if got == expected:
            continue
        per_epoch = n_images / batch_size
        hints = [
            (
                epochs * math.ceil(per_epoch),
                "that counts the last, smaller batch too. With drop_remainder=True the images left over after "
                "the last whole batch are not used: use floor division `//`.",
            ),
            (epochs * per_epoch, "a step trains on one *whole* batch, so the count is a whole number: use `//`."),
            (expected // epochs, "that is one epoch; the run makes `epochs` passes over the images."),
            (epochs * n_images, "that counts images, not batches: each step takes batch_size images at once."),
            (
                (epochs * n_images) // batch_size,
                "the leftover images are dropped in *every* epoch, not once at the "
                "end: count whole batches per epoch first, then multiply by epochs.",
            ),
        ]
        for wrong, hint in hints:
            if got == wrong:
                raise CheckFailed(f"{call}; expected {expected:,}. Hint: {hint}")
        raise CheckFailed(f"{call}; expected {expected:,} ({epochs} epochs of {expected // epochs:,} whole batches).")
    _passed(name, len(cases))


# --------------------------------------------------------------------------- a fixed, seeded noise batch


def _as_array(got: Any, call: str, shape: tuple[int, int]) -> np.ndarray:
    """The learner's noise as a float64 array, or CheckFailed saying what is wrong with it."""
    got = _to_numpy(got)
    if got is None:
        raise CheckFailed(f"{call} returned None. Did you forget a `return` statement?")
    array = np.asarray(got)
    if not (np.issubdtype(array.dtype, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; the noise must be floating point numbers (float32).")
    if array.shape != shape:
        raise CheckFailed(
            f"{call} returned an array of shape {array.shape}; expected {shape}: one row of latent_dim numbers "
            "per image."
        )
    if array.dtype != np.float32:
        raise CheckFailed(
            f"{call} returned {array.dtype} numbers; the generator's weights are float32, so return float32 "
            "(e.g. .astype(np.float32) or dtype=tf.float32)."
        )
    return array.astype(np.float64)


def check_fixed_noise(fn: Any) -> None:
    """Lesson 06: ``fn(n, latent_dim, seed)`` draws standard-normal noise (n, latent_dim), fixed by the seed."""
    name = "fixed_noise"
    _require_function(fn, name)
    first = _as_array(_call(fn, (512, 64, 0), name, fn), f"`{name}(512, 64, seed=0)`", (512, 64))
    again = _as_array(_call(fn, (512, 64, 0), name, fn), f"`{name}(512, 64, seed=0)` called again", (512, 64))
    if not np.array_equal(first, again):
        raise CheckFailed(
            f"Two calls of `{name}(512, 64, seed=0)` gave different noise, so two sample grids could not be "
            "compared. Make the draw depend only on the seed: np.random.default_rng(seed).normal(...) or "
            "tf.random.stateless_normal(..., seed=(seed, 0))."
        )
    other = _as_array(_call(fn, (512, 64, 1), name, fn), f"`{name}(512, 64, seed=1)`", (512, 64))
    if np.array_equal(first, other):
        raise CheckFailed(
            f"`{name}` gives the same noise for seed=0 and seed=1: the seed argument is ignored. Pass it to the "
            "random generator."
        )
    mean, std = float(first.mean()), float(first.std())
    if first.min() >= 0.0 and first.max() <= 1.0:
        raise CheckFailed(
            f"The noise lies in [{first.min():.3g}, {first.max():.3g}]: that is a uniform draw. A DCGAN's noise z "
            "comes from a standard normal distribution (mean 0, standard deviation 1): use .normal(...)."
        )
    if abs(mean) > 0.05 or abs(std - 1.0) > 0.05:
        raise CheckFailed(
            f"The noise has mean {mean:.3f} and standard deviation {std:.3f} over 32,768 numbers; a standard normal "
            "has mean 0 and standard deviation 1 (use .normal(...) without changing loc or scale)."
        )
    small = _as_array(_call(fn, (3, 5, 7), name, fn), f"`{name}(3, 5, seed=7)`", (3, 5))
    if not np.all(np.isfinite(small)):
        raise CheckFailed(f"`{name}(3, 5, seed=7)` returned NaN or inf values: {_show(small)}.")
    _passed(name, 5)
