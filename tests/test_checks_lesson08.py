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


def power_iteration_from(start):
    """A right power iteration that starts from ``start(n)`` (n = the number of columns)."""

    def estimate(w, iterations=100):
        u = np.asarray(start(w.shape[1]), np.float64)
        u = u / np.linalg.norm(u)
        for _ in range(iterations):
            v = w @ u
            v /= np.linalg.norm(v)
            u = w.T @ v
            u /= np.linalg.norm(u)
        return float(np.linalg.norm(w @ u))

    return estimate


def e1(n):
    return np.eye(n)[0]


def test_power_iteration_check_accepts_the_solution_and_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_power_iteration_sigma(power_iteration_sigma)
    checks.check_power_iteration_sigma(lambda w, n: stabilisation.spectral_norm_power_iteration(w, n))
    checks.check_power_iteration_sigma(lambda w, n: np.float32(np.linalg.norm(w, 2)))
    assert capsys.readouterr().out.count("✔ power_iteration_sigma passes all 6 checks.") == 3


@pytest.mark.parametrize(
    "start",
    [
        e1,
        lambda n: np.eye(n)[-1],
        np.ones,
        lambda n: (-1.0) ** np.arange(n),
        lambda n: np.random.default_rng().normal(size=n),  # unseeded: any random start, as the lesson teaches
        lambda n: np.random.default_rng(1).uniform(size=n),
    ],
    ids=["e1", "e_last", "ones", "alternating", "random", "uniform"],
)
def test_power_iteration_check_accepts_any_reasonable_start(start, capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_power_iteration_sigma(power_iteration_from(start))
    assert "passes all 6 checks" in capsys.readouterr().out


def test_no_case_traps_a_usual_start_vector() -> None:
    from course_utils.checks.lesson08 import _POWER_CASES

    for w in _POWER_CASES:
        n = w.shape[1]
        _, singular, vt = np.linalg.svd(w)
        assert singular[1] / singular[0] < 0.9, w  # a clear gap: 200 iterations converge from anywhere
        for start in [*np.eye(n), np.ones(n), (-1.0) ** np.arange(n)]:
            along_top = abs(start @ vt[0]) / np.linalg.norm(start)
            assert along_top > 0.05, (w, start)  # e1 and friends are never (close to) orthogonal to the top


def _stuck_on_the_second(w, iterations=100):
    """What an iteration started on the second right-singular vector returns (it cannot leave it, bar round-off)."""
    return float(np.linalg.svd(w, compute_uv=False)[1])


def _not_normalised(w, iterations=100):
    u = np.ones(w.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):  # u grows by about sigma^2 per step
        for _ in range(iterations):
            u = w.T @ (w @ u)
        return float(np.linalg.norm(w @ u))


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "is not written yet"),
        (None, "is not written yet"),
        ("sigma", "should be a function"),
        (lambda w, n: power_iteration_sigma(w, n) ** 2, "that is sigma squared"),
        (lambda w, n: -power_iteration_sigma(w, n), "never negative"),
        (lambda w, n: np.linalg.norm(w), "Frobenius norm"),
        (lambda w, n: power_iteration_sigma(w, 1), "has not converged"),
        (lambda w, n: np.linalg.svd(w, compute_uv=False)[-1], "second largest singular value"),
        (_stuck_on_the_second, "Start from a random vector"),
        (_not_normalised, "normalise u"),
        (lambda w, n: np.max(np.abs(np.linalg.eigvals(w))), "largest |eigenvalue|"),
        (lambda w, n: np.linalg.svd(w)[0], "one number"),
    ],
)
def test_power_iteration_check_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_power_iteration_sigma(fn)


def test_power_iteration_never_blames_normalisation_for_a_trapped_start() -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_power_iteration_sigma(_stuck_on_the_second)
    assert "normalise" not in str(caught.value)


def test_penalty_stored_results_agree_with_the_course_norms() -> None:
    from course_utils.checks.stored import stored

    for case in stored("lesson08", "gradient_penalty_from_gradients").cases:
        gradients, weight, epsilon = case.args
        norms = stabilisation.gradient_norms(tf.constant(gradients), epsilon=epsilon).numpy().astype(np.float64)
        assert float(weight * np.mean((norms - 1) ** 2)) == pytest.approx(case.expected, rel=1e-5)
        assert penalty(gradients, weight, epsilon) == pytest.approx(case.expected, rel=1e-12)


def test_checks_are_exported() -> None:
    assert "check_gradient_penalty_from_gradients" in checks.__all__
    assert "check_power_iteration_sigma" in checks.__all__
