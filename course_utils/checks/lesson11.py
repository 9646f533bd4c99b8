"""Checks for lesson 11's exercises (Adversarial inpainting).

Both compare with stored results (checks/data/lesson11.json): receptive_field found by TensorFlow's gradients
through a stack of convolutions, best_fill computed with NumPy's mean and median.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_best_fill", "check_receptive_field"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- the receptive field


def _receptive_field_mistakes(layers: list[tuple[int, int]], expected: int) -> dict[str, int]:
    """What the usual wrong answers give for ``layers``, each with its hint."""
    strides_first, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        strides_first += (kernel - 1) * jump
    product = int(np.prod([kernel for kernel, _ in layers]))
    return {
        "you added (kernel - 1) for every layer but never multiplied by the jump. After a stride-2 layer, "
        "neighbouring outputs are 2 input pixels apart, so the next layer's extra (kernel - 1) positions cover "
        "(kernel - 1) x 2 input pixels: keep a jump j = product of the strides of the layers BEFORE this one.": (
            1 + sum(kernel - 1 for kernel, _ in layers)
        ),
        "you multiplied the jump by a layer's stride before adding that layer's (kernel - 1) x jump. A layer's "
        "own stride only spaces out ITS outputs; it affects the layers after it.": strides_first,
        "receptive fields do not multiply: each layer adds (kernel - 1) x jump pixels to the field.": product,
        "start from a field of 1 pixel (one output of 'no layer' sees one input pixel), not 0.": expected - 1,
    }


def check_receptive_field(fn: Any) -> None:
    """Lesson 11: ``fn(layers)`` is the receptive field of convolutions given as (kernel, stride) pairs."""
    name = "receptive_field"
    _require_function(fn, name)
    book = stored("lesson11", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (layers,), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (list(layers),), name, book.params))
        if isinstance(got, np.ndarray) and got.size == 1:
            got = got.reshape(()).item()
        call = f"`{name}({layers})`"
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call} returned {_show(got)}; it should return one whole number of pixels.")
        if float(got) == expected:
            continue
        hint = next(
            (
                text
                for text, wrong in _receptive_field_mistakes(layers, expected).items()
                if wrong == float(got) != expected
            ),
            "start with r = 1 and j = 1; for each layer in order: r += (kernel - 1) * j, then j *= stride.",
        )
        raise CheckFailed(f"{call} returned {got!r}; expected {expected} (case {number} of {len(cases)}). Hint: {hint}")
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the best fill under L2 and L1


def check_best_fill(fn: Any) -> None:
    """Lesson 11: ``fn(completions, loss)`` is the per-pixel mean ("l2") or median ("l1") of the completions."""
    name = "best_fill"
    _require_function(fn, name)
    book = stored("lesson11", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (completions, loss), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (completions.copy(), loss), name, book.params))
        call = f"`{name}(completions of shape {completions.shape}, {loss!r})`"
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise CheckFailed(f"{call} returned {_show(got)}; it should return an array of pixel values.") from None
        if got.shape != expected.shape:
            hint = (
                f"the result is one filling, shaped like ONE completion {completions.shape[1:]}: average over the "
                "first axis (axis=0), which runs over the completions."
            )
            raise CheckFailed(f"{call} returned shape {got.shape}; expected {expected.shape}. Hint: {hint}")
        if np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        other = stored_case.extra["other_loss"]  # the best fill under the other loss
        if np.allclose(got, other, rtol=1e-6, atol=1e-9):
            hint = (
                "you swapped the two: the squared error (L2) is smallest at the MEAN of the completions, the "
                "absolute error (L1) at their MEDIAN."
                if loss == "l2"
                else "for the absolute error (L1) the best single value is the per-pixel MEDIAN, not the mean: "
                "moving towards the middle completion lowers the sum of distances."
            )
        elif any(np.allclose(got, c) for c in completions):
            hint = (
                "you returned one of the completions. Each is equally likely, so any single one is far from the "
                "others; the prediction that minimises the expected error is a compromise between them."
            )
        else:
            hint = (
                "one value per pixel: under 'l2' the per-pixel mean of the completions, under 'l1' their "
                "per-pixel median (over the first axis)."
            )
        raise CheckFailed(
            f"{call} gives a wrong result (case {number} of {len(cases)}).\n"
            f"  expected: {_show(expected)}\n  got:      {_show(got)}\nHint: {hint}"
        )
    _passed(name, len(cases))
