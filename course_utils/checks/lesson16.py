"""Checks for lesson 16's exercises (Deploying to the edge).

Both compare with stored results (checks/data/lesson16.json): the int8 codes and their real values of
TensorFlow Lite's affine int8 scheme, and the model sizes, computed with NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_affine_quantisation", "check_compression"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- affine int8 quantisation


def _quantise_hint(x: np.ndarray, scale: float, zero_point: int, got: np.ndarray) -> str:
    raw = np.round(x / scale) + zero_point
    wrong = {
        "values outside [-128, 127] must be clipped (np.clip) before the cast to int8; a plain cast wraps "
        "200 around to -56.": raw.astype(np.int64).astype(np.int8),
        "the zero point is missing: q = round(x / scale) + zero_point.": np.clip(np.round(x / scale), -128, 127),
        "round to the nearest integer (np.round); a cast or np.floor truncates.": np.clip(
            np.floor(x / scale) + zero_point, -128, 127
        ),
        "divide by the scale (x / scale); multiplying is the way back, in dequantise.": np.clip(
            np.round(x * scale) + zero_point, -128, 127
        ),
    }
    for hint, candidate in wrong.items():
        if got.shape == candidate.shape and np.array_equal(got.astype(np.int64), candidate.astype(np.int64)):
            return hint
    return "q = clip(round(x / scale) + zero_point, -128, 127), as int8."


def check_affine_quantisation(quantise: Any, dequantise: Any) -> None:
    """Lesson 16: ``quantise(x, scale, zero_point)`` gives clipped int8 codes and ``dequantise`` maps them back."""
    _require_function(quantise, "quantise")
    _require_function(dequantise, "dequantise")
    book = stored("lesson16", "affine_quantisation")
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (x, scale, zero_point), (expected, want) = stored_case.args, stored_case.expected  # codes, their values
        where = f"(case {number} of {len(cases)}: scale={scale:.6g}, zero_point={zero_point}, x = {_show(x)})"
        got = _to_numpy(_call(quantise, (x, scale, zero_point), "quantise", ("x", "scale", "zero_point")))
        if not isinstance(got, np.ndarray) or got.shape != expected.shape:
            raise CheckFailed(f"`quantise` should return an array of shape {expected.shape}; got {_show(got)} {where}.")
        if not np.array_equal(got.astype(np.float64), expected.astype(np.float64)):
            hint = _quantise_hint(x, scale, zero_point, np.asarray(got, np.float64))
            raise CheckFailed(f"`quantise` gives {_show(got)}; expected {_show(expected)} {where}. Hint: {hint}")
        if got.dtype != np.int8:
            raise CheckFailed(
                f"`quantise` returns the right numbers as {got.dtype}; return them as int8 (.astype(np.int8)), "
                f"one byte each, which is the point of quantising {where}."
            )
        back = _to_numpy(_call(dequantise, (expected, scale, zero_point), "dequantise", ("q", "scale", "zero_point")))
        if not isinstance(back, np.ndarray) or back.shape != want.shape:
            raise CheckFailed(f"`dequantise` should return an array of shape {want.shape}; got {_show(back)} {where}.")
        if not np.allclose(back.astype(np.float64), want, rtol=1e-5, atol=1e-7):
            no_zero = scale * expected.astype(np.float64)
            overflow = scale * (expected - np.int8(zero_point)).astype(np.float64)
            if np.allclose(back, no_zero, rtol=1e-5, atol=1e-7) and zero_point:
                hint = "subtract the zero point before scaling: x = scale * (q - zero_point)."
            elif np.allclose(back, overflow, rtol=1e-5, atol=1e-7):
                hint = "q - zero_point overflows in int8: convert q to float (q.astype(np.float32)) first."
            else:
                hint = "x = scale * (q - zero_point), computed in float32."
            raise CheckFailed(f"`dequantise` gives {_show(back)}; expected {_show(want)} {where}. Hint: {hint}")
        error = np.abs(want - x)
        inside = (x / scale + zero_point >= -128) & (x / scale + zero_point <= 127)
        assert np.all(error[inside] <= scale / 2 + 1e-6)  # the round trip is off by at most half a step
    _passed("quantise and dequantise", len(cases))


# --------------------------------------------------------------------------- model size and compression


def check_compression(fn: Any) -> None:
    """Lesson 16: ``fn(parameter_counts, bytes_before, bytes_after)`` is (bytes before, bytes after, ratio)."""
    name = "compression"
    _require_function(fn, name)
    book = stored("lesson16", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (counts, bytes_before, bytes_after), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (list(counts), bytes_before, bytes_after), name, book.params))
        call = f"`{name}({counts}, {bytes_before}, {bytes_after})` (case {number} of {len(cases)})"
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise CheckFailed(
                f"{call} returned {_show(got)}; return three numbers: (bytes_before, bytes_after, ratio)."
            )
        try:
            values = [float(_to_numpy(v)) for v in got]
        except (TypeError, ValueError):
            raise CheckFailed(f"{call} returned {_show(got)}; each of the three values should be a number.") from None
        if all(math.isclose(v, e, rel_tol=1e-9) for v, e in zip(values, expected, strict=True)):
            continue
        total = sum(counts)
        if math.isclose(values[0], counts[0] * bytes_before, rel_tol=1e-9) and len(counts) > 1:
            hint = "add up the parameters of every layer (sum(parameter_counts)) before multiplying."
        elif math.isclose(values[0], 8 * total * bytes_before, rel_tol=1e-9):
            hint = "the sizes are in bytes, not bits: multiply by bytes per weight, not by 8 x bytes."
        elif math.isclose(values[2], expected[1] / expected[0], rel_tol=1e-9):
            hint = "the ratio is before / after (how many times smaller), so it is > 1 when the model shrinks."
        else:
            hint = "bytes = (total number of parameters) x (bytes per weight); ratio = bytes_before / bytes_after."
        raise CheckFailed(
            f"{call} returned ({', '.join(f'{v:g}' for v in values)}); expected "
            f"({', '.join(f'{v:g}' for v in expected)}). Hint: {hint}"
        )
    _passed(name, len(cases))
