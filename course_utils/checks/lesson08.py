"""Checks for lesson 08's exercises (Stabilising GAN training).

gradient_penalty_from_gradients: stored results (checks/data/lesson08.json, Gulrajani et al.'s penalty in
float64, tested against the course's TensorFlow gradient norms); power_iteration_sigma: NumPy's
``np.linalg.norm(w, 2)`` (an SVD) as the oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_gradient_penalty_from_gradients", "check_power_iteration_sigma"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _one_number(got: Any, call: str) -> float:
    """The learner's result as a float, or CheckFailed when it is not one number."""
    got = _to_numpy(got)
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if isinstance(got, np.generic):
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise CheckFailed(f"{call} returned {_show(got)}; it should return one number.")
    return float(got)


# --------------------------------------------------------------------------- the gradient penalty


def _penalty_mistakes(g: np.ndarray, weight: float, epsilon: float) -> dict[str, float]:
    """What common wrong answers give for these inputs, each with the hint that explains it."""
    flat = np.asarray(g, np.float64).reshape(len(g), -1)
    squares = np.sum(flat**2, axis=1)
    norms = np.sqrt(squares + epsilon)
    last_axis = np.sqrt(np.sum(np.asarray(g, np.float64) ** 2, axis=-1) + epsilon)
    return {
        "epsilon goes *inside* the square root, sqrt(sum of squares + epsilon); adding it after the root "
        "leaves the derivative infinite at a zero gradient.": weight * np.mean((np.sqrt(squares) + epsilon - 1) ** 2),
        "the norm is taken per example (one norm for each row of the batch), not over the whole batch at once.": (
            weight * (np.sqrt(np.sum(flat**2) + epsilon) - 1) ** 2
        ),
        "take the square root: the penalty uses the norm ||g||, not the sum of squares ||g||^2.": (
            weight * np.mean((squares + epsilon - 1) ** 2)
        ),
        "square the distance from 1: the penalty is mean((||g|| - 1)^2), not mean(||g|| - 1).": (
            weight * np.mean(norms - 1)
        ),
        "square the distance from 1: the penalty is mean((||g|| - 1)^2), not mean(abs(||g|| - 1)).": (
            weight * np.mean(np.abs(norms - 1))
        ),
        "multiply by `weight` (lambda = 10 in Gulrajani et al.).": float(np.mean(np.square(norms - 1))),
        "sum the squares over *every* axis of an example (height, width and channels), not only the last one.": (
            weight * np.mean((last_axis - 1) ** 2)
        ),
        "the penalty is the *mean* over the batch, not the sum.": weight * np.sum((norms - 1) ** 2),
    }


def check_gradient_penalty_from_gradients(fn: Any) -> None:
    """Lesson 08: ``fn(gradients, weight, epsilon)`` gives weight * mean((sqrt(sum g^2 + epsilon) - 1)^2)."""
    name = "gradient_penalty_from_gradients"
    _require_function(fn, name)
    book = stored("lesson08", "gradient_penalty_from_gradients")
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (gradients, weight, epsilon), expected = stored_case.args, stored_case.expected
        call = f"`{name}(gradients, weight={weight}, epsilon={epsilon})` with gradients of shape {gradients.shape}"
        got = _one_number(_call(fn, (gradients, weight, epsilon), name, book.params), call)
        if np.isclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        if not np.isfinite(got):
            raise CheckFailed(f"{call} returned {got}: keep epsilon inside the square root so it stays finite.")
        hint = next(
            (text for text, value in _penalty_mistakes(gradients, weight, epsilon).items()
             if np.isclose(got, value, rtol=1e-6, atol=1e-9)),
            None,
        )
        raise CheckFailed(
            f"{call} (case {number} of {len(cases)}) returned {got!r}; expected {expected!r}."
            + (f" Hint: {hint}" if hint else " Compute each example's norm, then weight * mean((norm - 1)^2).")
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- power iteration


#: Matrices whose W^T W has no eigenvector among the usual start vectors (a basis vector e_i, or all ones), so
#: that power iteration from any of them, or from a random vector, reaches the largest singular value.
_POWER_CASES = [
    np.array([[3.0, 1.0], [1.0, 1.0]]),  # symmetric: sigma is the largest eigenvalue, 2 + sqrt(2)
    np.array([[2.0, 1.0], [1.0, 3.0]]),
    np.array([[1.0, -4.0], [2.0, 1.0]]),  # eigenvalues 1 +- 2.83i, |lambda| = 3; sigma is 4.16
    np.array([[0.5, 1.2, -0.3], [2.0, 0.1, 0.4], [-0.6, 0.9, 1.5], [0.3, -1.1, 0.8], [1.0, 0.2, -0.7]]),
    np.array([[1.0, -0.5, 0.25, 2.0, 0.0, 0.75], [0.3, 1.5, -1.0, 0.2, 0.6, -0.4], [-0.8, 0.1, 0.9, -0.3, 1.2, 0.5]]),
    np.random.default_rng(109).normal(size=(12, 8)) * 0.1,  # a seed whose e_i and ones all reach the top
]


def check_power_iteration_sigma(fn: Any) -> None:
    """Lesson 08: ``fn(w, iterations)`` estimates the largest singular value of a 2-D matrix by power iteration.

    Compared with ``np.linalg.norm(w, 2)``. The matrices are chosen so that any reasonable start vector works.
    """
    name = "power_iteration_sigma"
    _require_function(fn, name)
    cases = _POWER_CASES
    for number, w in enumerate(cases, start=1):
        call = f"`{name}(w, 200)` for w = {_show(w) if w.size <= 8 else f'a {w.shape[0]}x{w.shape[1]} matrix'}"
        got = _one_number(_call(fn, (w.copy(), 200), name, ("w", "iterations")), call)
        expected = float(np.linalg.norm(w, 2))
        if np.isclose(got, expected, rtol=1e-4):
            continue
        singular = np.linalg.svd(w, compute_uv=False)
        others = [k for k, value in enumerate(singular[1:], start=2) if np.isclose(got, value, rtol=1e-4)]
        eigen = np.max(np.abs(np.linalg.eigvals(w))) if w.shape[0] == w.shape[1] else None
        hints = [
            (np.isclose(got, expected**2, rtol=1e-4), "that is sigma squared: u . (W^T W u) is sigma^2 for a unit u, "
             "so take the norm of W u (or the square root) instead."),
            (np.isclose(got, -expected, rtol=1e-4), "sigma is never negative: use the norm of W u."),
            (np.isclose(got, np.linalg.norm(w), rtol=1e-4), "that is the Frobenius norm sqrt(sum of w^2), which is "
             "larger than sigma unless w has rank one; iterate u <- W^T W u and normalise."),
            (eigen is not None and np.isclose(got, eigen, rtol=1e-4), "that is the largest |eigenvalue| of w. For a "
             "matrix that is not symmetric the largest singular value differs: iterate with W^T W (v = W u, then "
             "u = W^T v), not with W alone."),
            (bool(others), f"that is the {_ordinal(others[0] if others else 2)} largest singular value of w, not the "
             "largest: power iteration finds the largest one only if the start vector u has a component along its "
             "direction. Start from a random vector, e.g. np.random.default_rng(0).normal(size=w.shape[1])."),
            (got > expected, "the estimate is too large: normalise u (divide it by its norm) after every step, and "
             "return the norm of W u for that unit u. Without normalising, u grows by about sigma^2 per step."),
            (0 < got < expected, "the estimate is too small and is none of w's singular values: it has not "
             "converged. Repeat the step `iterations` times (the argument, not a fixed count)."),
        ]
        hint = next((text for matched, text in hints if matched), None)
        raise CheckFailed(
            f"{call} (case {number} of {len(cases)}) returned {got!r}; np.linalg.norm(w, 2) gives {expected!r}."
            + (f" Hint: {hint}" if hint else " Repeat v = W u / ||W u||, u = W^T v / ||W^T v||, then sigma = ||W u||.")
        )
    _passed(name, len(cases))


def _ordinal(k: int) -> str:
    return {2: "second", 3: "third"}.get(k, f"{k}th")
