"""Checks for lesson 08's exercises (Stabilising GAN training)."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy

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


def _penalty_reference(gradients: np.ndarray, weight: float = 10.0, epsilon: float = 1e-12) -> float:
    g = np.asarray(gradients, np.float64).reshape(len(gradients), -1)
    norms = np.sqrt(np.sum(g**2, axis=1) + epsilon)
    return float(weight * np.mean((norms - 1.0) ** 2))


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
        "multiply by `weight` (lambda = 10 in Gulrajani et al.).": float(np.mean((norms - 1) ** 2)),
        "sum the squares over *every* axis of an example (height, width and channels), not only the last one.": (
            weight * np.mean((last_axis - 1) ** 2)
        ),
        "the penalty is the *mean* over the batch, not the sum.": weight * np.sum((norms - 1) ** 2),
    }


def check_gradient_penalty_from_gradients(fn: Any) -> None:
    """Lesson 08: ``fn(gradients, weight, epsilon)`` gives weight * mean((sqrt(sum g^2 + epsilon) - 1)^2)."""
    name = "gradient_penalty_from_gradients"
    _require_function(fn, name)
    rng = np.random.default_rng(8)
    cases = [
        (np.array([[3.0, 4.0], [0.6, 0.8]]), 10.0, 1e-12),  # norms 5 and 1
        (np.array([[0.0, 0.0], [1.0, 0.0]]), 10.0, 0.25),  # a zero gradient; a big epsilon shows where it goes
        (rng.normal(size=(4, 3, 3, 2)) * 0.3, 10.0, 1e-12),  # a batch of images' gradients
        (rng.normal(size=(5, 2, 2, 1)), 2.5, 0.01),
        (np.zeros((3, 2, 2, 1)), 10.0, 1e-12),  # real == fake: the penalty is weight * (sqrt(eps) - 1)^2
    ]
    for number, (gradients, weight, epsilon) in enumerate(cases, start=1):
        call = f"`{name}(gradients, weight={weight}, epsilon={epsilon})` with gradients of shape {gradients.shape}"
        got = _one_number(_call(fn, (gradients, weight, epsilon), name, _penalty_reference), call)
        expected = _penalty_reference(gradients, weight, epsilon)
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


def check_power_iteration_sigma(fn: Any) -> None:
    """Lesson 08: ``fn(w, iterations)`` estimates the largest singular value of a 2-D matrix by power iteration."""
    name = "power_iteration_sigma"
    _require_function(fn, name)
    rng = np.random.default_rng(80)
    cases = [
        np.array([[3.0, 0.0], [0.0, 1.0]]),
        np.array([[2.0, 1.0], [1.0, 3.0]]),
        rng.normal(size=(5, 3)),  # rectangular: singular values, not eigenvalues
        rng.normal(size=(3, 6)),
        np.array([[0.0, -4.0], [1.0, 0.0]]),  # eigenvalues are imaginary; sigma is 4
        rng.normal(size=(12, 8)) * 0.1,
    ]
    for number, w in enumerate(cases, start=1):
        call = f"`{name}(w, 200)` for w = {_show(w) if w.size <= 8 else f'a {w.shape[0]}x{w.shape[1]} matrix'}"
        got = _one_number(_call(fn, (w.copy(), 200), name, np.linalg.norm), call)
        expected = float(np.linalg.norm(w, 2))
        if np.isclose(got, expected, rtol=1e-4):
            continue
        singular = np.linalg.svd(w, compute_uv=False)
        hints = [
            (np.isclose(got, expected**2, rtol=1e-4), "that is sigma squared: u . (W^T W u) is sigma^2 for a unit u, "
             "so take the norm of W u (or the square root) instead."),
            (np.isclose(got, -expected, rtol=1e-4), "sigma is never negative: use the norm of W u."),
            (np.isclose(got, np.linalg.norm(w), rtol=1e-4), "that is the Frobenius norm sqrt(sum of w^2), which is "
             "larger than sigma unless w has rank one; iterate u <- W^T W u and normalise."),
            (len(singular) > 1 and np.isclose(got, singular[-1], rtol=1e-4), "that is the smallest singular value."),
            (got < expected and got > 0, "the estimate is too small: normalise u after every step and use enough "
             "iterations (the `iterations` argument)."),
        ]
        hint = next((text for matched, text in hints if matched), None)
        raise CheckFailed(
            f"{call} (case {number} of {len(cases)}) returned {got!r}; np.linalg.norm(w, 2) gives {expected!r}."
            + (f" Hint: {hint}" if hint else " Repeat v = W u / ||W u||, u = W^T v / ||W^T v||, then sigma = ||W u||.")
        )
    _passed(name, len(cases))
