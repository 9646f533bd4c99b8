"""Checks for lesson 10's exercises (A CNN inpainter).

Both compare with stored results (checks/data/lesson10.json): renormalisation_factor computed with NumPy from
the window's counts, hole_valid_l1 with Keras' mean absolute error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_hole_valid_l1", "check_renormalisation_factor"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _as_number(got: Any, call: str) -> float:
    got = _to_numpy(got)
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; it should return one number.")
    return float(got)


# --------------------------------------------------------------------------- the renormalisation factor


def check_renormalisation_factor(fn: Any) -> None:
    """Lesson 10: ``fn(window_mask)`` is sum(1) / sum(M) for one window of the mask, and 0 with no known pixel."""
    name = "renormalisation_factor"
    _require_function(fn, name)
    book = stored("lesson10", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (window,), expected = stored_case.args, stored_case.expected
        got = _call(fn, (window,), name, book.params)
        call = f"`{name}(window)` for the window mask\n{window.squeeze() if window.ndim == 2 else window.shape}\n"
        value = _as_number(got, call)
        if math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        known, total = float(window.sum()), float(window.size)
        if not math.isfinite(value):
            hint = (
                "no pixel of this window is known, so sum(M) = 0: the paper sets the output (and this factor) to 0 "
                "there instead of dividing by zero."
            )
        elif known and math.isclose(value, known / total, rel_tol=1e-6):
            hint = "you computed sum(M) / sum(1); the factor is the other way round, sum(1) / sum(M) (it is >= 1)."
        elif known and math.isclose(value, 1.0 / known, rel_tol=1e-6):
            hint = "sum(1) is the number of entries in the window (all of them, known or not), not 1."
        elif (
            window.ndim == 3 and known and math.isclose(value, window.shape[0] * window.shape[1] / known, rel_tol=1e-6)
        ):
            hint = "this window has several channels: sum(1) counts every entry, height x width x channels."
        else:
            hint = "sum(1) counts all entries of the window, sum(M) the known ones (mask == 1)."
        raise CheckFailed(
            f"{call}returned {value!r}; expected {expected!r} (case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the weighted L1 loss


def check_hole_valid_l1(fn: Any) -> None:
    """Lesson 10: ``fn(images, predictions, masks, hole_weight, valid_weight)`` is the weighted L1 of Liu et al."""
    name = "hole_valid_l1"
    _require_function(fn, name)
    book = stored("lesson10", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        args, expected = stored_case.args, stored_case.expected
        images, predictions, masks, hole_weight, valid_weight = args
        got = _call(fn, args, name, book.params)
        call = f"`{name}(images, predictions, masks, hole_weight={hole_weight}, valid_weight={valid_weight})`"
        value = _as_number(got, call)
        if math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-7):
            continue
        error = np.abs(predictions - images)
        holes = np.broadcast_to(masks == 0, error.shape)
        candidates = {
            "hole and valid are swapped. The mask is 1 on KNOWN pixels and 0 in the hole, so hole_weight multiplies "
            "the error where (1 - masks) is 1, and valid_weight the error where masks is 1.": (
                hole_weight * np.mean(masks * error) + valid_weight * np.mean((1 - masks) * error)
            ),
            "Liu et al. average each term over ALL entries (N x H x W x C), not over the hole or known entries only.": (
                hole_weight * error[holes].mean() + valid_weight * error[~holes].mean()
            ),
            "each term is an L1 (absolute) error; it looks like you squared it.": (
                hole_weight * np.mean((1 - masks) * error**2) + valid_weight * np.mean(masks * error**2)
            ),
        }
        hint = next(
            (text for text, wrong in candidates.items() if math.isclose(value, float(wrong), rel_tol=1e-5)),
            "loss = hole_weight * mean((1 - m) * |ŷ - x|) + valid_weight * mean(m * |ŷ - x|).",
        )
        raise CheckFailed(
            f"{call} returned {value!r}; expected {expected!r} (case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))
