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
    for name in ("check_gradient_penalty", "check_bilinear_game", "check_bilinear_experiment"):
        assert name in checks.__all__


# --------------------------------------------------------------------------- the whole gradient penalty


def make_penalty(
    *,
    alpha=lambda n: tf.random.uniform([n, 1, 1, 1]),
    point=lambda real, fake, a: fake + a * (real - fake),
    reduce_scores=tf.identity,
    axes=(1, 2, 3),
    norm=lambda squares, e: tf.sqrt(squares + e),
    finish=lambda norms, w: w * tf.reduce_mean(tf.square(norms - 1.0)),
    watch_real=False,
    wrap=lambda value: value,
):
    """A gradient penalty built from its parts, so that each test can change one part into a typical mistake."""

    def penalty_fn(critic, real, fake, weight=10.0, epsilon=1e-12):
        real = tf.convert_to_tensor(real, tf.float32)
        fake = tf.convert_to_tensor(fake, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(real)
            x_hat = point(real, fake, alpha(real.shape[0]))
            if not watch_real:
                tape.watch(x_hat)
            scores = reduce_scores(critic(x_hat, training=True))
        grads = tape.gradient(scores, real if watch_real else x_hat)
        norms = norm(tf.reduce_sum(tf.square(grads), axis=list(axes)), epsilon)
        return wrap(finish(norms, weight))

    return penalty_fn


def test_gradient_penalty_check_accepts_the_solution_and_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_gradient_penalty(make_penalty())
    checks.check_gradient_penalty(tf.function(make_penalty()))  # a compiled answer is judged too
    checks.check_gradient_penalty(make_penalty(point=lambda real, fake, a: a * fake + (1 - a) * real))
    checks.check_gradient_penalty(
        lambda critic, real, fake, weight=10.0, epsilon=1e-12: stabilisation.gradient_penalty(
            critic, real, fake, weight=weight, epsilon=epsilon
        )
    )
    assert capsys.readouterr().out.count("✔ gradient_penalty passes all 8 checks.") == 4


def penalty_not_written(critic, real, fake, weight=10.0, epsilon=1e-12):
    raise NotImplementedError


def _no_tape_watch(critic, real, fake, weight=10.0, epsilon=1e-12):
    x_hat = fake + tf.random.uniform([len(real), 1, 1, 1]) * (real - fake)
    with tf.GradientTape() as tape:
        scores = critic(x_hat)
    return weight * tf.reduce_mean((tf.norm(tape.gradient(scores, x_hat), axis=[1, 2]) - 1) ** 2)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (penalty_not_written, "is not written yet"),
        (None, "is not written yet"),
        (make_penalty(reduce_scores=tf.reduce_mean), "N times too small"),
        (make_penalty(axes=(0, 1, 2, 3)), "one norm per example"),
        (make_penalty(norm=lambda s, e: s + e), "take the square root"),
        (make_penalty(finish=lambda n, w: w * tf.reduce_mean(n - 1.0)), "square the distance from 1"),
        (make_penalty(finish=lambda n, w: w * tf.reduce_mean(tf.abs(n - 1.0))), "not mean(abs"),
        (make_penalty(finish=lambda n, w: tf.reduce_mean(tf.square(n - 1.0))), "multiply by `weight`"),
        (make_penalty(finish=lambda n, w: w * tf.reduce_sum(tf.square(n - 1.0))), "not the sum"),
        (make_penalty(norm=lambda s, e: tf.sqrt(s) + e), "epsilon goes *inside*"),
        (make_penalty(axes=(3,), finish=lambda n, w: w * tf.reduce_mean(tf.square(n - 1.0))), "every* axis"),
        (make_penalty(finish=lambda n, w: w * tf.reduce_mean(tf.square(n))), "towards 1"),
        (make_penalty(wrap=float), "no .numpy(), float()"),
        (make_penalty(norm=lambda s, e: tf.sqrt(s)), "use the `epsilon` argument"),
        (make_penalty(norm=lambda s, e: tf.sqrt(s + e) if e > 1e-3 else tf.sqrt(s)), "put epsilon *inside* the root"),
        (make_penalty(alpha=lambda n: tf.random.uniform([n])), "shaped (N, 1, 1, 1)"),
        (make_penalty(alpha=lambda n: tf.fill([n, 1, 1, 1], 0.5)), "alpha is 0.5 for every example"),
        (make_penalty(alpha=lambda n: tf.random.uniform([1, 1, 1, 1])), "one alpha for the whole batch"),
        (make_penalty(alpha=lambda n: tf.zeros([n, 1, 1, 1])), "at the fake images themselves"),
        (make_penalty(alpha=lambda n: tf.random.normal([n, 1, 1, 1])), "must be in [0, 1]"),
        (make_penalty(point=lambda real, fake, a: a * real + (1 - a) * tf.reverse(fake, [0])), "not on the line"),
        (make_penalty(alpha=lambda n: tf.random.stateless_uniform([n, 1, 1, 1], seed=(1, 2))), "same alphas"),
        (make_penalty(watch_real=True), "with respect to x_hat itself"),
        (make_penalty(alpha=lambda n: tf.random.uniform([n, 1, 1, 2])), "not on the line"),
        (make_penalty(finish=lambda n, w: w * tf.square(tf.reduce_mean(n) - 1.0)), "before averaging"),
        (_no_tape_watch, "tape.watch(x_hat)"),
        (lambda critic, real, fake, weight=10.0, epsilon=1e-12: tf.constant(0.0), "whatever alpha is"),
    ],
)
def test_gradient_penalty_check_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_gradient_penalty(fn)


def test_gradient_penalty_check_leaves_eager_mode_as_it_was() -> None:
    assert not tf.config.functions_run_eagerly()
    checks.check_gradient_penalty(make_penalty())
    with pytest.raises(CheckFailed):
        checks.check_gradient_penalty(penalty_not_written)
    assert not tf.config.functions_run_eagerly()


# --------------------------------------------------------------------------- the bilinear game and its experiment


def make_game(*, x_sign=-1.0, y_sign=1.0, y_uses_new_x=None, rows=0):
    """Gradient steps on V(x, y) = x * y, with one part changeable into a typical mistake."""

    def play(x0, y0, lr, steps, alternating):
        x, y = float(x0), float(y0)
        path = [(x, y)]
        for _ in range(steps):
            old_x = x
            x = x + x_sign * lr * y
            new = alternating if y_uses_new_x is None else y_uses_new_x
            y = y + y_sign * lr * (x if new else old_x)
            path.append((x, y))
        return np.array(path[: len(path) - rows])

    return play


def test_bilinear_game_check_accepts_the_solution(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_bilinear_game(make_game())
    checks.check_bilinear_game(lambda *args: tf.constant(make_game()(*args), tf.float32))  # float32 is precise enough
    assert capsys.readouterr().out.count("✔ play_bilinear_game passes all 4 checks.") == 2


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "is not written yet"),
        (make_game(x_sign=1.0), "x is the minimising player"),
        (make_game(y_sign=-1.0), "y is the maximising player"),
        (make_game(y_uses_new_x=False), "that is the simultaneous rule"),
        (make_game(y_uses_new_x=True), "that is the alternating rule"),
        (make_game(rows=1), "expected (31, 2)"),
        (lambda x0, y0, lr, steps, alternating: make_game()(y0, x0, lr, steps, alternating), "first row must be"),
        (lambda *args: None, "returned None"),
    ],
)
def test_bilinear_game_check_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_bilinear_game(fn)


def measured(steps=50, lr=0.1, start=(1.0, 1.0)):
    play = make_game()
    rules = ("simultaneous", "alternating")
    return {rule: np.linalg.norm(play(*start, lr, steps, rule == "alternating"), axis=1) for rule in rules}


@pytest.mark.parametrize(("steps", "lr"), [(50, 0.1), (2000, 0.1), (5, 0.5), (1, 0.01)])
def test_bilinear_experiment_check_accepts_what_the_numbers_say(steps, lr, capsys) -> None:
    distances = measured(steps, lr, start=(0.3, -1.2))
    checks.check_bilinear_experiment(distances, "simultaneous", lr=lr, steps=steps)
    assert "✔ distances and drifts_away pass" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("distances", "drifts_away", "expected"),
    [
        (None, "simultaneous", "`distances` is not written yet"),
        (measured(), None, "`drifts_away` is not written yet"),
        (measured(), "alternating", "your own numbers say otherwise"),
        (measured(), "both", "should be one of"),
        ({"simultaneous": measured()["simultaneous"]}, "simultaneous", "should be a dict with the keys"),
        ({**measured(), "alternating": measured()["alternating"][:-1]}, "simultaneous", "should hold 51 distances"),
        ({**measured(), "alternating": measured()["simultaneous"]}, "simultaneous", "stays within a factor"),
        ({**measured(), "simultaneous": measured()["alternating"]}, "simultaneous", "multiplies the distance"),
        ({**measured(), "simultaneous": measured(lr=0.2)["simultaneous"]}, "simultaneous", "multiplies the distance"),
        ({**measured(), "alternating": measured(start=(2.0, 0.0))["alternating"]}, "simultaneous", "same point"),
        ({"simultaneous": np.zeros(51), "alternating": np.zeros(51)}, "simultaneous", "same point"),
        ({**measured(), "alternating": np.full(51, np.nan)}, "simultaneous", "NaN"),
    ],
)
def test_bilinear_experiment_check_rejects_mistakes(distances, drifts_away, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_bilinear_experiment(distances, drifts_away, lr=0.1, steps=50)
