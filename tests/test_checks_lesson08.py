"""Lesson 08's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

from course_utils import checks, stabilisation
from course_utils.checks import CheckFailed


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- gradient penalty from gradients


def penalty(gradients, weight=10.0, epsilon=1e-12):
    g = np.asarray(gradients, np.float64).reshape(len(gradients), -1)
    return float(weight * np.mean((np.sqrt(np.sum(g**2, axis=1) + epsilon) - 1) ** 2))


def _flat(g):
    return np.asarray(g, np.float64).reshape(len(g), -1)


def test_penalty_check_accepts_numpy_and_tensorflow_answers(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_gradient_penalty_from_gradients(penalty)

    def with_tf(gradients, weight=10.0, epsilon=1e-12):
        norms = stabilisation.gradient_norms(tf.constant(gradients, tf.float64), epsilon=epsilon)
        return weight * tf.reduce_mean(tf.square(tf.cast(norms, tf.float64) - 1.0))

    checks.check_gradient_penalty_from_gradients(with_tf)
    assert capsys.readouterr().out.count("✔ gradient_penalty_from_gradients passes all 5 checks.") == 2


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "is not written yet"),
        (None, "is not written yet"),
        (lambda g, w, e: w * np.mean((np.sqrt(np.sum(_flat(g) ** 2, 1)) + e - 1) ** 2), "epsilon goes *inside*"),
        (lambda g, w, e: w * (np.sqrt(np.sum(_flat(g) ** 2) + e) - 1) ** 2, "per example"),
        (lambda g, w, e: w * np.mean((np.sum(_flat(g) ** 2, 1) + e - 1) ** 2), "take the square root"),
        (lambda g, w, e: w * np.mean(np.abs(np.sqrt(np.sum(_flat(g) ** 2, 1) + e) - 1)), "square the distance"),
        (lambda g, w, e: np.mean((np.sqrt(np.sum(_flat(g) ** 2, 1) + e) - 1) ** 2), "multiply by `weight`"),
        (lambda g, w, e: w * np.mean((np.sqrt(np.sum(np.asarray(g) ** 2, -1) + e) - 1) ** 2), "every* axis"),
        (lambda g, w, e: w * np.sum((np.sqrt(np.sum(_flat(g) ** 2, 1) + e) - 1) ** 2), "the *mean* over the batch"),
        (lambda g, w, e: np.full(len(g), penalty(g, w, e)), "it should return one number"),
        (lambda g, w, e: penalty(g, w, e) + 1.0, "expected"),
    ],
)
def test_penalty_check_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_gradient_penalty_from_gradients(fn)


def test_penalty_check_reports_an_exception() -> None:
    def broken(gradients, weight, epsilon):
        return gradients.norm()

    with pytest.raises(CheckFailed, match="raised AttributeError"):
        checks.check_gradient_penalty_from_gradients(broken)


# --------------------------------------------------------------------------- power iteration


def power_iteration_sigma(w, iterations=100):
    u = np.ones(w.shape[1]) / np.sqrt(w.shape[1])
    for _ in range(iterations):
        v = w @ u
        v /= np.linalg.norm(v)
        u = w.T @ v
        u /= np.linalg.norm(u)
    return float(np.linalg.norm(w @ u))


def test_power_iteration_check_accepts_the_solution_and_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_power_iteration_sigma(power_iteration_sigma)
    checks.check_power_iteration_sigma(lambda w, n: stabilisation.spectral_norm_power_iteration(w, n))
    checks.check_power_iteration_sigma(lambda w, n: np.float32(np.linalg.norm(w, 2)))
    assert capsys.readouterr().out.count("✔ power_iteration_sigma passes all 6 checks.") == 3


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "is not written yet"),
        (None, "is not written yet"),
        ("sigma", "should be a function"),
        (lambda w, n: power_iteration_sigma(w, n) ** 2, "that is sigma squared"),
        (lambda w, n: -power_iteration_sigma(w, n), "never negative"),
        (lambda w, n: np.linalg.norm(w), "Frobenius norm"),
        (lambda w, n: power_iteration_sigma(w, 1), "too small"),
        (lambda w, n: np.linalg.svd(w, compute_uv=False)[-1], "smallest singular value"),
        (lambda w, n: np.max(np.abs(np.linalg.eigvals(w))), "raised"),  # fails on the rectangular case
        (lambda w, n: np.linalg.svd(w)[0], "one number"),
    ],
)
def test_power_iteration_check_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_power_iteration_sigma(fn)


def test_checks_are_exported() -> None:
    assert "check_gradient_penalty_from_gradients" in checks.__all__
    assert "check_power_iteration_sigma" in checks.__all__
