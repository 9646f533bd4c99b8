"""Checks for lesson 15's exercises (Diffusion for restoration).

They judge by the property that defines each step, not by a copy of the answer: after RePaint's replacement
the known pixels are the reference noised to the step's level and the hole is untouched; SDEdit's start time
has the noise-to-signal ratio of the image's noise (in the model's range); after ILVR's replacement the block
averages are the reference's and the detail is the sample's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import CheckFailed, _call, _numeric_array, _passed, _require_function, _show, _to_numpy

__all__ = ["check_lowpass_replace", "check_repaint_replace", "check_sdedit_start"]


def _hints(hints: list[str]) -> str:
    return "\nHint: " + "\nHint: ".join(hints) if hints else ""


# --------------------------------------------------------------------------- RePaint


def check_repaint_replace(fn: Any) -> None:
    """Lesson 15: ``fn(x, reference, mask, signal, noise, eps)`` puts the noised reference on the known pixels."""
    name = "repaint_replace"
    _require_function(fn, name)
    rng = np.random.default_rng(15)
    for signal in (0.9, 0.6, 0.2):
        noise = float(np.sqrt(1 - signal**2))
        x = rng.standard_normal((2, 6, 6, 1))
        reference = rng.uniform(-1, 1, x.shape)
        eps = rng.standard_normal(x.shape)
        mask = (rng.uniform(size=x.shape) > 0.4).astype(np.float64)
        known, hole = mask == 1, mask == 0
        call = f"`{name}(x, reference, mask, signal={signal}, noise={noise:.3f}, eps)`"
        answer = _call(fn, (x.copy(), reference.copy(), mask.copy(), signal, noise, eps.copy()), name, fn)
        got = _numeric_array(answer, call, x.shape, shape_of=", the shape of x")
        noised = signal * reference + noise * eps
        hints = []
        if np.allclose(got[hole], noised[hole]) and np.allclose(got[known], x[known]):
            hints.append("the mask is the other way round: 1 = KNOWN pixel, so the reference goes where mask == 1.")
        if np.allclose(got[known], reference[known]):
            hints.append("the known pixels must carry the same noise as x at this step: noise the reference first.")
        if np.allclose(got[known], signal**2 * reference[known] + noise**2 * eps[known]):
            hints.append("signal and noise are already square roots (sqrt(alpha_bar), sqrt(1 - alpha_bar)).")
        if np.allclose(got[known], signal * reference[known] + (1 - signal) * eps[known]):
            hints.append("the noise scale is `noise`, not 1 - signal (that is the flow path's, not this schedule's).")
        if not np.allclose(got[hole], x[hole], atol=1e-6):
            raise CheckFailed(
                f"{call} changed the hole (mask == 0); there x must stay as the sampler made it." + _hints(hints)
            )
        if not np.allclose(got[known], noised[known], atol=1e-6):
            raise CheckFailed(
                f"{call}: the known pixels (mask == 1) should be the reference noised to this step, "
                "signal * reference + noise * eps." + _hints(hints)
            )
    _passed(name, 3)


# --------------------------------------------------------------------------- SDEdit


def check_sdedit_start(fn: Any) -> None:
    """Lesson 15: ``fn(schedule, sigma)`` is the grid time whose noise/signal is 2*sigma (noise of [0, 1] images)."""
    from course_utils.schedules import cosine_schedule, linear_schedule

    name = "sdedit_start"
    _require_function(fn, name)
    cases = [(cosine_schedule(1000), sigma) for sigma in (0.05, 0.1, 0.2, 0.4)] + [(linear_schedule(200), 0.15)]
    for schedule, sigma in cases:
        grid = np.arange(schedule.steps + 1) / schedule.steps
        signals, noises = schedule.rates(grid)
        with np.errstate(divide="ignore"):
            ratios = noises / signals
        call = f"`{name}(schedule, sigma={sigma})` ({schedule.kind} schedule, T = {schedule.steps})"
        got = _to_numpy(_call(fn, (schedule, sigma), name, fn))
        if got is None:
            raise CheckFailed(f"{call} returned None. Did you forget a `return` statement?")
        try:
            t = float(np.asarray(got).reshape(()))
        except (TypeError, ValueError):
            raise CheckFailed(f"{call} returned {_show(got)}; it should return one time in [0, 1].") from None
        if not 0 <= t <= 1:
            raise CheckFailed(
                f"{call} returned {t:g}; a time is in [0, 1]. A grid index k is the time k / T (T = {schedule.steps})."
            )
        k = int(np.argmin(np.abs(grid - t)))
        best = int(np.argmin(np.abs(ratios - 2 * sigma)))
        if abs(k - best) <= 1:
            continue
        signal, noise = (float(r) for r in schedule.rates(t))
        hints = []
        if abs(noise / signal - sigma) < abs(noise / signal - 2 * sigma):
            hints.append("sigma is measured on [0, 1] images; the model's [-1, 1] range doubles it: match 2 * sigma.")
        if abs(noise - 2 * sigma) < 0.02 or abs(noise - sigma) < 0.02:
            hints.append(
                "x_t = signal*x0 + noise*eps: the noisy image is scaled by signal as well, so match the "
                "ratio noise / signal, not noise alone."
            )
        if abs(1 - signal**2 - 2 * sigma) < 0.02 or abs(1 - signal**2 - sigma) < 0.02:
            hints.append("1 - alpha_bar is a variance; sigma is a standard deviation.")
        raise CheckFailed(
            f"{call} returned t = {t:g}, where noise/signal = {noise / signal:.3g}; the image's noise is "
            f"{2 * sigma:g} in the model's range, so the start should have noise/signal close to that." + _hints(hints)
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- ILVR


def _block_means(x: np.ndarray, factor: int) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def check_lowpass_replace(fn: Any) -> None:
    """Lesson 15: ``fn(x, reference, factor)`` has the reference's block averages and x's detail."""
    name = "lowpass_replace"
    _require_function(fn, name)
    rng = np.random.default_rng(16)
    for factor in (2, 4):
        x = rng.standard_normal((2, 8, 8, 1)).astype(np.float32)
        reference = rng.standard_normal(x.shape).astype(np.float32)
        call = f"`{name}(x, reference, factor={factor})`"
        answer = _call(fn, (x.copy(), reference.copy(), factor), name, fn)
        got = _numeric_array(answer, call, x.shape, shape_of=", the shape of x")
        means, want = _block_means(got, factor), _block_means(reference.astype(np.float64), factor)
        spread = np.repeat(np.repeat(means, factor, axis=1), factor, axis=2)
        x_means = _block_means(x.astype(np.float64), factor)
        x_detail = x - np.repeat(np.repeat(x_means, factor, axis=1), factor, axis=2)
        hints = []
        if np.allclose(means, x_means, atol=1e-4):
            hints.append("the low-pass content still is x's: it should come from the reference.")
        if np.allclose(got, reference, atol=1e-4):
            hints.append("that returns the reference itself: keep x's detail, x - lowpass(x).")
        if not np.allclose(means, want, atol=1e-4):
            hints.append(
                "the low-pass must be a projection (down then up gives back the same small image): "
                "average each factor x factor block (area resize or average pooling) and spread it back "
                "with nearest-neighbour repetition; a bilinear or bicubic resize is not one."
            )
            raise CheckFailed(f"{call}: the block averages of the result should equal the reference's." + _hints(hints))
        if not np.allclose(got - spread, x_detail, atol=1e-4):
            raise CheckFailed(
                f"{call}: what is left after removing the block averages should be x's detail, "
                "x - lowpass(x)." + _hints(hints)
            )
    _passed(name, 2)
