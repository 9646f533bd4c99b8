"""Checks for lesson 08's exercises (Stabilising GAN training).

gradient_penalty_from_gradients: stored results (checks/data/lesson08.json, Gulrajani et al.'s penalty in
float64, tested against the course's TensorFlow gradient norms); power_iteration_sigma: NumPy's
``np.linalg.norm(w, 2)`` (an SVD) as the oracle; gradient_penalty: critics whose gradient is known in closed
form, and the course's ``stabilisation.gradient_penalty`` at the points the learner scored; the x * y game:
closed forms of simultaneous and alternating steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import (
    _NOT_WRITTEN,
    CheckFailed,
    _call,
    _is_numeric,
    _passed,
    _require_written,
    _show,
    _to_numpy,
)
from course_utils.checks.stored import stored

__all__ = [
    "check_bilinear_experiment",
    "check_bilinear_game",
    "check_gradient_penalty",
    "check_gradient_penalty_from_gradients",
    "check_power_iteration_sigma",
]


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


# --------------------------------------------------------------------------- the whole gradient penalty


class _AnalyticCritic:
    """f(x) = w . x + (curvature / 2) ||x||^2 per flattened example, whose gradient w + curvature x is known.

    Every input it is called with is kept in ``inputs``, so a check can see where the penalty was taken.
    """

    def __init__(self, w: np.ndarray, curvature: float = 0.0) -> None:
        import tensorflow as tf

        self.w = tf.Variable(np.asarray(w, np.float32).ravel(), name="w")
        self.curvature = float(curvature)
        self.inputs: list[np.ndarray] = []

    def __repr__(self) -> str:
        return f"a test critic f(x) = w . x + {self.curvature:g}/2 ||x||^2 (||w|| = {float(np.linalg.norm(self.w)):g})"

    def __call__(self, x: Any, training: bool = False, **kwargs: Any) -> Any:
        import tensorflow as tf

        x = tf.cast(tf.convert_to_tensor(x), tf.float32)
        self.inputs.append(np.array(x))
        flat = tf.reshape(x, [tf.shape(x)[0], -1])
        return tf.linalg.matvec(flat, self.w) + 0.5 * self.curvature * tf.reduce_sum(tf.square(flat), axis=1)


def _penalty_call(fn: Any, name: str, critic: _AnalyticCritic, real: np.ndarray, fake: np.ndarray, weight: float,
                  epsilon: float) -> Any:
    """The learner's penalty for these inputs (eagerly, so the critic sees real values), errors explained."""
    import tensorflow as tf

    def call(critic: Any, real: np.ndarray, fake: np.ndarray) -> Any:
        return fn(critic, real, fake, weight=weight, epsilon=epsilon)

    eager = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)  # a @tf.function answer runs eagerly here, so the critic can record x_hat
    try:
        return _call(call, (critic, real, fake), name, ("critic", "real", "fake"))
    except CheckFailed as failure:
        text = str(failure)
        if "NoneType" in text or "None values not supported" in text:
            raise CheckFailed(
                f"{text}\n  Hint: tape.gradient returned None, so the tape did not follow x_hat. x_hat is a plain "
                "tensor, not a Variable: call tape.watch(x_hat) inside the `with tf.GradientTape() as tape:` block, "
                "before the critic scores it."
            ) from None
        if "Incompatible shapes" in text or "not broadcastable" in text.lower():
            raise CheckFailed(
                f"{text}\n  Hint: draw one alpha per example shaped (N, 1, 1, 1), so that it broadcasts over each "
                "image's pixels; an alpha of shape (N,) lines up with the last axis instead."
            ) from None
        raise
    finally:
        tf.config.run_functions_eagerly(eager)


def _linear_mistakes(w: np.ndarray, n: int, weight: float, epsilon: float) -> dict[str, float]:
    """What typical wrong penalties give for a linear critic with weights ``w`` (its gradient everywhere)."""
    norm = float(np.linalg.norm(w))
    per_pixel = np.sqrt(np.sum(np.asarray(w, np.float64) ** 2, axis=-1) + epsilon)
    return {
        "the gradient is of the *sum* of the scores (tape.gradient(scores, x_hat)), which gives each example its "
        "own gradient; the gradient of their mean is N times too small.": weight * (norm / n - 1) ** 2,
        "take one norm per example (reduce over every axis but the batch axis), not one norm of the whole batch's "
        "gradient.": weight * (np.sqrt(n * norm**2 + epsilon) - 1) ** 2,
        "take the square root: the penalty uses the norm ||g||, not the sum of squares ||g||^2.": (
            weight * (norm**2 + epsilon - 1) ** 2
        ),
        "square the distance from 1: the penalty is mean((||g|| - 1)^2).": weight * (np.sqrt(norm**2 + epsilon) - 1),
        "square the distance from 1: the penalty is mean((||g|| - 1)^2), not mean(abs(||g|| - 1)).": (
            weight * abs(np.sqrt(norm**2 + epsilon) - 1)
        ),
        "multiply by `weight` (lambda).": (np.sqrt(norm**2 + epsilon) - 1) ** 2,
        "the penalty is the *mean* over the batch, not the sum.": n * weight * (np.sqrt(norm**2 + epsilon) - 1) ** 2,
        "epsilon goes *inside* the square root, sqrt(sum of squares + epsilon), not after it.": (
            weight * (norm + epsilon - 1) ** 2
        ),
        "sum the squares over *every* axis of an example (height, width and channels), not only the last one.": (
            weight * float(np.mean((per_pixel - 1) ** 2))
        ),
        "the penalty pulls the norm towards 1, (||g|| - 1)^2, not towards 0.": weight * (norm**2 + epsilon),
        "use the `epsilon` argument: each norm is sqrt(sum of squares + epsilon).": weight * (norm - 1) ** 2,
    }


_NOT_AT_X_HAT = (
    "take the gradient with respect to x_hat itself (tape.watch(x_hat) after computing it), not with respect to "
    "real or fake."
)


def _recovered_alphas(x_hat: np.ndarray, real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, float]:
    """alpha_i with x_hat_i = alpha_i real_i + (1 - alpha_i) fake_i (least squares), and the largest misfit."""
    n = len(real)
    step = (real - fake).reshape(n, -1).astype(np.float64)
    offset = (x_hat - fake).reshape(n, -1).astype(np.float64)
    alphas = np.sum(offset * step, axis=1) / np.sum(step * step, axis=1)
    misfit = float(np.max(np.abs(offset - alphas[:, None] * step)))
    return alphas, misfit


def check_gradient_penalty(fn: Any) -> None:
    """Lesson 08: ``fn(critic, real, fake, weight, epsilon)`` is WGAN-GP's penalty at random interpolates.

    Judged on critics whose gradient is known in closed form: linear critics (penalty weight * (||w|| - 1)^2
    whatever alpha is, and its derivative in w), then a curved critic that records where it was called: the
    points must be x_hat = alpha real + (1 - alpha) fake with a fresh alpha in [0, 1] per example, and the penalty
    must equal the course's ``stabilisation.gradient_penalty`` at those alphas.
    """
    import tensorflow as tf

    from course_utils import stabilisation

    name = "gradient_penalty"
    _require_function(fn, name)
    rng = np.random.default_rng(80)
    n, shape = 16, (6, 6, 2)
    real = rng.uniform(-1, 1, size=(n, *shape)).astype(np.float32)
    fake = rng.uniform(-1, 1, size=(n, *shape)).astype(np.float32)
    direction = rng.normal(size=shape)
    direction /= np.linalg.norm(direction)
    count = 0
    # 1. Linear critics f(x) = w . x: the gradient is w at every x_hat, so the penalty is known for any alpha.
    for norm, weight, epsilon in [(2.0, 10.0, 1e-12), (0.5, 10.0, 1e-12), (1.5, 5.0, 0.25), (3.0, 1.0, 1e-12)]:
        w = norm * direction
        critic = _AnalyticCritic(w)
        call = f"`{name}(critic, real, fake, weight={weight}, epsilon={epsilon})` for a linear critic, ||w|| = {norm}"
        got = _one_number(_penalty_call(fn, name, critic, real, fake, weight, epsilon), call)
        expected = weight * (math.sqrt(norm**2 + epsilon) - 1) ** 2
        # float32 gradients of 72 terms: relative error about 1e-6 in the norm; 1e-4 leaves a wide margin
        if not np.isclose(got, expected, rtol=1e-4, atol=1e-5 * weight):
            if not np.isfinite(got):
                raise CheckFailed(f"{call} returned {got}: keep epsilon inside the square root so it stays finite.")
            mistakes = _linear_mistakes(w, n, weight, epsilon)
            points = [x for x in critic.inputs if x.shape == real.shape]
            if points:  # the gradient with respect to real (or fake) is alpha w (or (1 - alpha) w)
                alphas, _ = _recovered_alphas(points[-1], real, fake)
                for share in (alphas, 1 - alphas):
                    mistakes[_NOT_AT_X_HAT] = weight * float(np.mean((np.sqrt((share * norm) ** 2 + epsilon) - 1) ** 2))
                    if np.isclose(got, mistakes[_NOT_AT_X_HAT], rtol=1e-4, atol=1e-6):
                        break
            hint = next((text for text, value in mistakes.items() if np.isclose(got, value, rtol=1e-4, atol=1e-6)),
                        None)
            raise CheckFailed(
                f"{call} returned {got!r}. Its gradient is w at every point, so the penalty is weight * "
                f"(sqrt(||w||^2 + epsilon) - 1)^2 = {expected:.6g} whatever alpha is."
                + (f" Hint: {hint}" if hint else " Take each example's norm, then weight * mean((norm - 1)^2).")
            )
        count += 1
    # 2. The penalty trains the critic: its derivative in w must reach w, and stay finite for a flat critic.
    for norm in (2.0, 0.0):
        critic = _AnalyticCritic(norm * direction)
        fakes = fake if norm else real  # a flat critic with real == fake: every gradient is exactly 0
        with tf.GradientTape() as outer:
            penalty = _penalty_call(fn, name, critic, real, fakes, 10.0, 1e-12)
        slope = outer.gradient(penalty, critic.w) if tf.is_tensor(penalty) else None
        call = f"the derivative of `{name}(...)` with respect to the critic's weights (||w|| = {norm:g})"
        if slope is None:
            raise CheckFailed(
                f"{call} is None: the optimizer could not train the critic with this penalty. Keep the whole "
                "computation in TensorFlow (tf.sqrt, tf.reduce_sum, tf.reduce_mean) and return the tensor: no "
                ".numpy(), float() or NumPy on the way."
            )
        slope = np.asarray(slope, np.float64)
        if not np.all(np.isfinite(slope)):
            raise CheckFailed(
                f"{call} holds NaN or inf. With real == fake and a flat critic every gradient is 0, and the "
                "derivative of sqrt(s) is infinite at s = 0: put epsilon *inside* the root, sqrt(sum g^2 + epsilon)."
            )
        root = math.sqrt(norm**2 + 1e-12)
        expected_slope = 2 * 10.0 * (root - 1) * (norm * direction.ravel()) / root
        if not np.allclose(slope, expected_slope, rtol=1e-3, atol=1e-4):
            raise CheckFailed(
                f"{call} is not the derivative of weight * (||w|| - 1)^2 (largest difference "
                f"{np.max(np.abs(slope - expected_slope)):.3g}). Compute the gradient inside the function with its "
                "own tape, and the penalty from that gradient with TensorFlow operations."
            )
        count += 1
    # 3. A curved critic f(x) = w . x + ||x||^2 / 2 records where it is called: the gradient w + x_hat differs
    #    from example to example, so the penalty depends on where x_hat lies.
    found: list[np.ndarray] = []
    for _ in range(2):
        critic = _AnalyticCritic(direction, curvature=1.0)
        call = f"`{name}(critic, real, fake)` with real and fake of shape {real.shape}"
        got = _one_number(_penalty_call(fn, name, critic, real, fake, 10.0, 1e-12), call)
        points = [x for x in critic.inputs if x.shape[0] == n]
        if not critic.inputs:
            raise CheckFailed(f"{call} never called the critic: score the interpolates with critic(x_hat).")
        if not points or points[-1].shape != real.shape:
            got_shape = critic.inputs[-1].shape
            raise CheckFailed(
                f"{call} called the critic on images of shape {got_shape}, expected {real.shape}. Hint: draw one "
                f"alpha per example shaped (N, 1, 1, 1) = ({n}, 1, 1, 1), so that it broadcasts over each image's "
                "pixels; an alpha of shape (N,) lines up with the last axis instead."
            )
        x_hat = points[-1]
        alphas, misfit = _recovered_alphas(x_hat, real, fake)
        if misfit > 1e-5:
            raise CheckFailed(
                f"{call} scored points that are not on the line between each real image and its fake (largest "
                f"misfit {misfit:.3g}). x_hat = alpha * real + (1 - alpha) * fake, with one alpha per example, "
                "each mixing real[i] with fake[i]."
            )
        if np.all(np.abs(alphas) < 1e-6) or np.all(np.abs(alphas - 1) < 1e-6):
            side = "fake" if np.all(np.abs(alphas) < 1e-6) else "real"
            raise CheckFailed(
                f"{call} took the gradient at the {side} images themselves. The penalty is taken at the "
                "interpolates x_hat = alpha * real + (1 - alpha) * fake, between the two distributions."
            )
        if np.any(alphas < -1e-5) or np.any(alphas > 1 + 1e-5):
            raise CheckFailed(
                f"{call} mixed with alphas from {alphas.min():.3f} to {alphas.max():.3f}: alpha must be in [0, 1] "
                "(tf.random.uniform), so that x_hat lies *between* the real and the fake image."
            )
        if np.ptp(alphas) < 1e-6:
            hint = ("alpha is 0.5 for every example; draw it at random, alpha ~ U(0, 1)" if np.allclose(alphas, 0.5)
                    else "one alpha for the whole batch; draw one per example, shaped (N, 1, 1, 1)")
            raise CheckFailed(f"{call} used {hint}, so the points cover the space between the distributions.")
        expected = float(stabilisation.gradient_penalty(_AnalyticCritic(direction, curvature=1.0), real, fake,
                                                        alpha=alphas.reshape(n, 1, 1, 1).astype(np.float32)))
        if not np.isclose(got, expected, rtol=1e-4, atol=1e-5):
            gradients = direction.ravel()[None, :] + x_hat.reshape(n, -1).astype(np.float64)
            norms = np.sqrt(np.sum(gradients**2, axis=1) + 1e-12)
            hints = [
                (10 * np.mean((alphas * norms - 1) ** 2), _NOT_AT_X_HAT),
                (10 * np.mean(((1 - alphas) * norms - 1) ** 2), _NOT_AT_X_HAT),
                (10 * (np.mean(norms) - 1) ** 2, "square each example's distance (||g_i|| - 1) before averaging, "
                 "mean((norm - 1)^2), not (mean(norm) - 1)^2."),
            ]
            hint = next((text for value, text in hints if np.isclose(got, value, rtol=1e-4)), None)
            raise CheckFailed(
                f"{call} returned {got!r}; at the points it scored (alphas from {alphas.min():.2f} to "
                f"{alphas.max():.2f}) the penalty is {expected!r}." + (f" Hint: {hint}" if hint else "")
            )
        found.append(alphas)
        count += 1
    if np.allclose(found[0], found[1]):
        raise CheckFailed(
            f"`{name}` used the same alphas on two calls. Draw alpha afresh on every call (tf.random.uniform inside "
            "the function, without a fixed stateless seed): each training step must penalise new points."
        )
    _passed(name, count)


# --------------------------------------------------------------------------- the bilinear game x * y


_RULES = ("simultaneous", "alternating")


def _path(got: Any, call: str, steps: int) -> np.ndarray:
    """The learner's trajectory as a finite float64 array of shape (steps + 1, 2)."""
    value = _to_numpy(got)
    if value is None:
        raise CheckFailed(f"{call} returned None. Did you forget a `return` statement?")
    try:
        path = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{call} returned {_show(value)}; it should return an array of (x, y) rows.") from None
    if path.shape != (steps + 1, 2):
        raise CheckFailed(
            f"{call} returned shape {path.shape}; expected ({steps + 1}, 2): the start (x0, y0) and one (x, y) row "
            f"after each of the {steps} steps."
        )
    if not np.all(np.isfinite(path)):
        raise CheckFailed(f"{call} returned NaN or inf values.")
    return path


def _first_step_hint(path: np.ndarray, lr: float, alternating: bool) -> str | None:
    """Which update rule mistake the first step shows, judged from the gradients of V(x, y) = x * y."""
    (x0, y0), (x1, y1) = path[0], path[1]
    close = lambda a, b: bool(np.isclose(a, b, rtol=1e-5, atol=1e-7))  # noqa: E731
    if close(x1, x0 + lr * y0):
        return "x is the minimising player: it steps *down* its gradient dV/dx = y, x - lr * y."
    if not close(x1, x0 - lr * y0):
        return "x's step is x - lr * dV/dx with dV/dx = y (the gradient of x * y with respect to x is y)."
    if close(y1, y0 - lr * x0) or close(y1, y0 - lr * x1):
        return "y is the maximising player: it steps *up* its gradient dV/dy = x, y + lr * x."
    if alternating and close(y1, y0 + lr * x0):
        return ("that is the simultaneous rule. Alternating: update x first, then compute y's gradient at the *new* "
                "x, as a GAN's generator step uses the discriminator just updated.")
    if not alternating and close(y1, y0 + lr * x1):
        return ("that is the alternating rule. Simultaneous: compute both gradients at the current point (x, y) "
                "before changing either.")
    return None


def check_bilinear_game(fn: Any) -> None:
    """Lesson 08: ``fn(x0, y0, lr, steps, alternating)`` plays gradient descent/ascent on V(x, y) = x * y.

    Judged by closed forms: simultaneous steps multiply z = x + iy by (1 + i lr) each step; alternating steps keep
    x^2 + y^2 - lr x y constant, with x's step x - lr y every time.
    """
    name = "play_bilinear_game"
    _require_function(fn, name)
    params = ("x0", "y0", "lr", "steps", "alternating")
    count = 0
    for x0, y0, lr, steps in [(1.0, 1.0, 0.1, 30), (0.5, -2.0, 0.3, 20)]:
        for alternating in (False, True):
            call = f"`{name}({x0}, {y0}, lr={lr}, steps={steps}, alternating={alternating})`"
            path = _path(_call(fn, (x0, y0, lr, steps, alternating), name, params), call, steps)
            if not np.allclose(path[0], (x0, y0), rtol=1e-6, atol=1e-7):
                raise CheckFailed(f"{call} starts at {tuple(path[0])}; its first row must be the start ({x0}, {y0}).")
            x, y = path[:, 0], path[:, 1]
            if alternating:
                kept = x**2 + y**2 - lr * x * y
                right = np.allclose(x[1:], x[:-1] - lr * y[:-1], rtol=1e-5, atol=1e-6) and np.allclose(
                    kept, kept[0], rtol=1e-5, atol=1e-6
                )
            else:
                k = np.arange(steps + 1)
                z = (1 + 1j * lr) ** k * complex(x0, y0)
                right = np.allclose(x, z.real, rtol=1e-5, atol=1e-6) and np.allclose(y, z.imag, rtol=1e-5, atol=1e-6)
            if not right:
                hint = _first_step_hint(path, lr, alternating)
                rule = ("x = x - lr * y, then y = y + lr * x with the new x" if alternating
                        else "x, y = x - lr * y, y + lr * x, both from the current point")
                raise CheckFailed(
                    f"{call} does not follow the {_RULES[alternating]} rule ({rule}); its first step goes from "
                    f"({path[0, 0]:.6g}, {path[0, 1]:.6g}) to ({path[1, 0]:.6g}, {path[1, 1]:.6g})."
                    + (f" Hint: {hint}" if hint else "")
                )
            count += 1
    _passed(name, count)


def check_bilinear_experiment(distances: Any, drifts_away: Any, *, lr: float, steps: int) -> None:
    """Lesson 08: the measured distances from (0, 0) of both update rules, and which rule drifts away.

    ``distances`` maps "simultaneous" and "alternating" to ``steps + 1`` distances each. The simultaneous run is
    recomputed from its closed form (each step multiplies the distance by sqrt(1 + lr^2)); the alternating one
    must stay inside the ellipse x^2 + y^2 - lr x y = constant; the conclusion must be what these numbers say.
    """
    name = "distances"
    _require_written(distances, name)
    if not isinstance(distances, dict) or set(distances) != set(_RULES):
        raise CheckFailed(f"`{name}` should be a dict with the keys {list(_RULES)}; got {_show(distances)}.")
    runs = {}
    for rule in _RULES:
        value = np.asarray(_to_numpy(distances[rule]), dtype=np.float64) if _is_numeric(distances[rule]) else None
        if value is None or value.shape != (steps + 1,):
            raise CheckFailed(
                f"`{name}[{rule!r}]` should hold {steps + 1} distances (the start and one after each of the {steps} "
                f"steps); got {_show(distances[rule])}."
            )
        if not np.all(np.isfinite(value)) or np.any(value < 0):
            raise CheckFailed(f"`{name}[{rule!r}]` holds NaN, inf or negative values; distances are >= 0.")
        runs[rule] = value
    start = runs["simultaneous"][0]
    if not np.isclose(runs["alternating"][0], start, rtol=1e-6) or start <= 0:
        raise CheckFailed(
            f"The two runs start at distances {start:.6g} and {runs['alternating'][0]:.6g}: start both from the same "
            "point (not the equilibrium (0, 0) itself), so that only the update rule differs."
        )
    growth = start * (1 + lr**2) ** (np.arange(steps + 1) / 2)
    if not np.allclose(runs["simultaneous"], growth, rtol=1e-4):
        raise CheckFailed(
            f"`{name}['simultaneous']` is not what {steps} simultaneous steps with lr = {lr} give: each step "
            f"multiplies the distance by sqrt(1 + lr^2) = {math.sqrt(1 + lr**2):.6f}, so it should end at "
            f"{growth[-1]:.6g}; it ends at {runs['simultaneous'][-1]:.6g}. Measure np.linalg.norm of each (x, y) "
            "row of your play_bilinear_game path, with the same lr and steps."
        )
    squeeze = (1 + lr / 2) / (1 - lr / 2)  # the ellipse's axes: r^2 stays within this factor of r0^2 either way
    ratio = (runs["alternating"] / start) ** 2
    if lr >= 2 or np.any(ratio > squeeze * (1 + 1e-5)) or np.any(ratio < (1 - 1e-5) / squeeze):
        raise CheckFailed(
            f"`{name}['alternating']` ranges from {runs['alternating'].min():.6g} to {runs['alternating'].max():.6g}: "
            f"alternating steps keep x^2 + y^2 - lr x y constant, so the distance stays within a factor "
            f"{math.sqrt(squeeze):.4f} of the start {start:.6g}. Measure the path of play_bilinear_game(..., "
            "alternating=True) with the same lr and steps."
        )
    name = "drifts_away"
    _require_written(drifts_away, name)
    if drifts_away not in _RULES:
        raise CheckFailed(f"`{name}` should be one of {list(_RULES)}; got {_show(drifts_away)}.")
    final = {rule: float(runs[rule][-1]) for rule in _RULES}
    supported = max(_RULES, key=final.get)
    if drifts_away != supported and not math.isclose(final["simultaneous"], final["alternating"], rel_tol=1e-9):
        raise CheckFailed(
            f"`{name}` is {drifts_away!r}, but your own numbers say otherwise: after {steps} steps the simultaneous "
            f"run is at distance {final['simultaneous']:.4g} from the equilibrium and the alternating one at "
            f"{final['alternating']:.4g} (both started at {start:.4g})."
        )
    print(
        f"✔ distances and drifts_away pass the checks: after {steps} steps the {supported} run is "
        f"{final[supported] / start:.3g} times as far from (0, 0) as at the start, the other "
        f"{final[min(_RULES, key=final.get)] / start:.3g} times."
    )
