"""Checks for lesson 13's exercises (Diffusion models from scratch).

They judge by properties, not by a copy of the answer: the closed-form noising must agree with the one-step
process iterated t times; the loss must vanish for a network that knows the noise and grow as the square of
its error; a DDIM step fed the true noise must stay on the line from x0 to that noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import CheckFailed, _call, _numeric_array, _passed, _require_function, _show, _to_numpy

__all__ = ["check_ddim_step", "check_epsilon_loss", "check_q_sample"]


# --------------------------------------------------------------------------- q_sample


def _one_step_chain(betas: np.ndarray, t: int) -> tuple[float, float]:
    """Signal coefficient and noise variance after t steps of x_k = sqrt(1 - beta_k) x_{k-1} + sqrt(beta_k) z_k."""
    coefficient, variance = 1.0, 0.0
    for beta in betas[:t]:
        coefficient *= np.sqrt(1.0 - beta)
        variance = (1.0 - beta) * variance + beta
    return coefficient, variance


def check_q_sample(fn: Any) -> None:
    """Lesson 13: ``fn(x0, eps, t, betas)`` is x_t of q(x_t | x0) in closed form, with t counted from 1."""
    name = "q_sample"
    _require_function(fn, name)
    rng = np.random.default_rng(13)
    cases = [
        (np.linspace(1e-4, 0.02, 1000), 1),
        (np.linspace(1e-4, 0.02, 1000), 10),
        (np.linspace(1e-4, 0.02, 1000), 500),
        (np.linspace(0.05, 0.3, 8), 5),
        (np.linspace(0.05, 0.3, 8), 8),
    ]
    for betas, t in cases:
        x0 = rng.uniform(-1, 1, (4, 3))
        eps = rng.standard_normal((4, 3))
        call = f"`{name}(x0, eps, t={t}, betas)` (T = {len(betas)})"
        answer = _call(fn, (x0, eps, t, betas.copy()), name, fn)
        got = _numeric_array(answer, call, x0.shape, shape_of=", the shape of x0")
        signal = _numeric_array(_call(fn, (np.ones((1,)), np.zeros((1,)), t, betas.copy()), name, fn), call)[0]
        sigma = _numeric_array(_call(fn, (np.zeros((1,)), np.ones((1,)), t, betas.copy()), name, fn), call)[0]
        if not np.allclose(got, signal * x0 + sigma * eps, rtol=1e-6, atol=1e-8):
            raise CheckFailed(
                f"{call} is not of the form a * x0 + b * eps with the same a and b for every pixel: x_t must be a "
                "scaled copy of x0 plus scaled noise."
            )
        want_signal, want_variance = _one_step_chain(betas, t)
        if np.isclose(signal, want_signal, rtol=1e-6) and np.isclose(sigma**2, want_variance, rtol=1e-6):
            continue
        alpha_t = 1.0 - betas[t - 1]
        hints = []
        if np.isclose(signal, want_signal**2, rtol=1e-6) or np.isclose(sigma, want_variance, rtol=1e-6):
            hints.append(
                "a square root is missing: x0 is scaled by sqrt(alpha_bar_t) and the noise by sqrt(1 - alpha_bar_t)."
            )
        if np.isclose(signal, np.sqrt(alpha_t), rtol=1e-6) and t > 1:
            hints.append(
                "that uses alpha_t = 1 - beta_t of the last step only; the closed form needs alpha_bar_t, the "
                "product of (1 - beta_s) over every step s = 1..t (np.prod or np.cumprod)."
            )
        for shift, word in ((t - 1, "one step too few"), (t + 1, "one step too many")):
            if 0 <= shift <= len(betas):
                other, _ = _one_step_chain(betas, shift)
                if np.isclose(signal, other, rtol=1e-6):
                    hints.append(
                        f"that multiplies {word}: t counts from 1, and betas[0] is beta_1, so alpha_bar_t is the "
                        "product of (1 - betas[s]) for s in range(t), i.e. betas[:t]."
                    )
        if not np.isclose(sigma**2 + signal**2, 1.0, rtol=1e-6):
            hints.append(
                f"the two scales should satisfy a**2 + b**2 = 1 (the variance is preserved); yours give "
                f"{signal**2 + sigma**2:.6g}."
            )
        message = (
            f"{call} scales x0 by {signal:.6g} and the noise by {sigma:.6g}; running the one-step noising "
            f"{t} time(s) scales x0 by {want_signal:.6g} and leaves noise of standard deviation "
            f"{np.sqrt(want_variance):.6g}."
        )
        raise CheckFailed(message + ("\nHint: " + "\nHint: ".join(hints) if hints else ""))
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the epsilon loss


class _Recorder:
    """A stand-in network: remembers what it was given and answers with a chosen function of it."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, x_t: Any, t: Any) -> np.ndarray:
        x_t, t = np.asarray(_to_numpy(x_t), np.float64), np.asarray(_to_numpy(t), np.float64)
        self.calls.append((x_t, t))
        return self.answer(x_t, t)


def _scalar(got: Any, call: str) -> float:
    got = _to_numpy(got)
    array = np.asarray(got) if got is not None else None
    if array is None or not np.issubdtype(array.dtype, np.number) or array.size != 1:
        raise CheckFailed(f"{call} returned {_show(got)}; the loss is one number (take the mean).")
    return float(array.reshape(()))


def check_epsilon_loss(fn: Any) -> None:
    """Lesson 13: ``fn(model, x0, eps, t, signal, sigma)`` is the mean squared error of model(x_t, t) against eps."""
    name = "epsilon_loss"
    _require_function(fn, name)
    rng = np.random.default_rng(7)
    x0 = rng.uniform(-1, 1, (6, 4, 4, 1))
    eps = rng.standard_normal((6, 4, 4, 1))
    t = rng.uniform(0.05, 0.95, 6)
    signal = np.cos(t * np.pi / 2)
    sigma = np.sin(t * np.pi / 2)
    shape = (-1, 1, 1, 1)
    x_t = signal.reshape(shape) * x0 + sigma.reshape(shape) * eps
    call = f"`{name}(model, x0, eps, t, signal, sigma)`"

    knows = _Recorder(lambda xt, tt: (xt - signal.reshape(shape) * x0) / sigma.reshape(shape))
    loss = _scalar(_call(fn, (knows, x0, eps, t, signal, sigma), name, fn), call)
    if not knows.calls:
        raise CheckFailed(f"{call} never called the model: the loss compares model(x_t, t) with the noise.")
    given_x, given_t = knows.calls[-1]
    if given_x.shape != x0.shape:
        raise CheckFailed(f"{call} gave the model an input of shape {given_x.shape}; it takes x_t, shaped like x0.")
    if np.allclose(given_x, x0):
        raise CheckFailed(f"{call} gave the model the clean x0; it must see the noisy x_t = signal * x0 + sigma * eps.")
    if not np.allclose(given_x, x_t, atol=1e-5):
        hint = ""
        if np.allclose(given_x, signal.reshape(shape) ** 2 * x0 + sigma.reshape(shape) ** 2 * eps, atol=1e-5):
            hint = (
                " Hint: signal and sigma are already square roots (sqrt(alpha_bar), sqrt(1 - alpha_bar)); "
                "do not square them."
            )
        elif np.allclose(given_x, x0 + sigma.reshape(shape) * eps, atol=1e-5):
            hint = " Hint: x0 must be scaled down by signal as the noise is added."
        raise CheckFailed(
            f"{call} gave the model x_t that is not signal * x0 + sigma * eps (one signal and sigma per image, "
            f"reshaped to (N, 1, 1, 1) to broadcast).{hint}"
        )
    if given_t.size != len(t) or not np.allclose(given_t.reshape(-1), t):
        raise CheckFailed(f"{call} gave the model times {_show(given_t)}; it needs t, one time per image.")
    if abs(loss) > 1e-8:
        raise CheckFailed(f"{call} returned {loss:.6g} for a model that predicts the noise exactly; expected 0.")

    zero = _scalar(_call(fn, (_Recorder(lambda xt, tt: np.zeros_like(xt)), x0, eps, t, signal, sigma), name, fn), call)
    want = float(np.mean(eps**2))
    if not np.isclose(zero, want, rtol=1e-5):
        hints = []
        if np.isclose(zero, np.mean(x0**2), rtol=1e-5):
            hints.append("the target is the noise eps, not the clean image x0.")
        if np.isclose(zero, np.sum(eps**2), rtol=1e-5):
            hints.append("take the mean over every number, not the sum.")
        if np.isclose(zero, np.mean(np.abs(eps)), rtol=1e-5):
            hints.append("square the error (mean squared error), not its absolute value.")
        raise CheckFailed(
            f"{call} returned {zero:.6g} for a model that always predicts 0; the mean of eps**2 is {want:.6g}."
            + ("\nHint: " + "\nHint: ".join(hints) if hints else "")
        )
    off = _scalar(
        _call(
            fn,
            (
                _Recorder(lambda xt, tt: (xt - signal.reshape(shape) * x0) / sigma.reshape(shape) + 0.5),
                x0,
                eps,
                t,
                signal,
                sigma,
            ),
            name,
            fn,
        ),
        call,
    )
    if not np.isclose(off, 0.25, rtol=1e-5):
        raise CheckFailed(
            f"{call} returned {off:.6g} for a model whose every prediction is 0.5 too high; expected 0.25."
        )
    _passed(name, 3)


# --------------------------------------------------------------------------- one DDIM step


def check_ddim_step(fn: Any) -> None:
    """Lesson 13: ``fn(x_t, eps_hat, alpha_bar, alpha_bar_next)`` is one deterministic DDIM step (eta = 0)."""
    name = "ddim_step"
    _require_function(fn, name)
    rng = np.random.default_rng(11)
    cases = [(0.3, 0.5), (0.02, 0.1), (0.7, 0.95), (0.4, 1.0), (0.5, 0.5)]
    for alpha_bar, alpha_bar_next in cases:
        x0 = rng.uniform(-1, 1, (3, 4))
        eps = rng.standard_normal((3, 4))
        x_t = np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * eps
        call = f"`{name}(x_t, eps_hat, alpha_bar={alpha_bar}, alpha_bar_next={alpha_bar_next})` with the true noise"
        got = _numeric_array(_call(fn, (x_t.copy(), eps.copy(), alpha_bar, alpha_bar_next), name, fn), call, x_t.shape)
        # The true noise puts x_t on the path from x0: the step must move along that same path.
        on_path = np.sqrt(alpha_bar_next) * x0 + np.sqrt(1 - alpha_bar_next) * eps
        if np.allclose(got, on_path, atol=1e-6):
            continue
        hints = []
        if np.allclose(got, x0, atol=1e-6) and alpha_bar_next < 1:
            hints.append("that is the x0 estimate itself; the step re-noises it to the next time with eps_hat.")
        if alpha_bar_next == 1.0:
            hints.append("at alpha_bar_next = 1 (t = 0) the step must return the clean image x0 recovered from x_t.")
        wrong_x0 = (x_t - (1 - alpha_bar) * eps) / alpha_bar  # the x0 estimate without square roots
        no_roots = [
            np.sqrt(alpha_bar_next) * wrong_x0 + np.sqrt(1 - alpha_bar_next) * eps,
            alpha_bar_next * wrong_x0 + (1 - alpha_bar_next) * eps,
            alpha_bar_next * x0 + (1 - alpha_bar_next) * eps,
        ]
        if any(np.allclose(got, wrong, atol=1e-6) for wrong in no_roots):
            hints.append("a square root is missing: the scales are sqrt(alpha_bar) and sqrt(1 - alpha_bar).")
        swapped = np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * eps
        if alpha_bar != alpha_bar_next and np.allclose(got, swapped, atol=1e-6):
            hints.append("the result is still at time t: use alpha_bar_next (t - 1) for the new sample.")
        raise CheckFailed(
            f"{call} returned {_show(got)}; a step fed the true noise should land on "
            f"sqrt(alpha_bar_next) * x0 + sqrt(1 - alpha_bar_next) * eps = {_show(on_path)}."
            + ("\nHint: " + "\nHint: ".join(hints) if hints else "")
        )
    _passed(name, len(cases))
