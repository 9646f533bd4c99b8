"""Checks for lesson 14's exercises (Guidance and flow matching).

They judge by properties, not by a copy of the answer: the flow path must start at the data, end at the
noise and move with the velocity returned; the guidance mix must give the unconditional prediction at scale 0,
the conditional one at scale 1 and change in proportion to the scale; Euler steps driven by the exact velocity
field of Gaussian data must carry noise onto the data's known distribution; label dropout must drop the
asked share and leave the other labels alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import CheckFailed, _call, _numeric_array, _passed, _require_function, _show, _to_numpy

__all__ = ["check_euler_step", "check_flow_pair", "check_guidance_mix", "check_label_dropout"]


# --------------------------------------------------------------------------- the flow-matching pair


def check_flow_pair(fn: Any) -> None:
    """Lesson 14: ``fn(x0, eps, t)`` returns (x_t, velocity) of the straight path from x0 (t = 0) to eps (t = 1)."""
    name = "flow_pair"
    _require_function(fn, name)
    rng = np.random.default_rng(14)
    x0 = rng.uniform(-1, 1, (3, 4, 4, 1))
    eps = rng.standard_normal((3, 4, 4, 1))
    shape = x0.shape
    count = 0

    def run(t: Any) -> tuple[np.ndarray, np.ndarray]:
        call = f"`{name}(x0, eps, t={_show(np.asarray(t))})`"
        got = _call(fn, (x0, eps, np.asarray(t, np.float64)), name, fn)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"{call} returned {_show(got)}; it should return a pair (x_t, velocity).")
        return _numeric_array(got[0], f"{call}'s x_t", shape), _numeric_array(got[1], f"{call}'s velocity", shape)

    for t_value in (0.0, 1.0):
        x_t, _ = run(np.full(3, t_value))
        count += 1
        if np.allclose(x_t, eps if t_value == 0 else x0, atol=1e-6):
            raise CheckFailed(
                f"At t = {t_value:g} your x_t is {'the noise' if t_value == 0 else 'the clean image'}; the path goes "
                "the other way: t = 0 is the clean image x0 and t = 1 is pure noise.\nHint: t and 1 - t are swapped."
            )
        want = x0 if t_value == 0 else eps
        if not np.allclose(x_t, want, atol=1e-6):
            raise CheckFailed(
                f"At t = {t_value:g} x_t should be {'x0 (the clean image)' if t_value == 0 else 'eps (pure noise)'}; "
                f"it differs by up to {np.abs(x_t - want).max():.3g}. On the flow path the signal is 1 - t and the "
                "noise is t (no square roots: that was the variance-preserving schedule of lesson 13)."
            )
    t = np.array([0.2, 0.5, 0.7])
    x_t, velocity = run(t)
    h = 0.05  # the path is linear in t, so any h gives its slope exactly (and float32 answers pass)
    before, _ = run(t - h)
    after, _ = run(t + h)
    count += 1
    slope = (after - before) / (2 * h)
    if not np.allclose(x_t, 0.5 * (after + before), atol=1e-6):
        raise CheckFailed(
            f"`{name}`'s x_t does not move along a straight line at constant speed: between t - h and t + h it is "
            "not the midpoint. x_t must be a mix of x0 and eps whose weights change linearly with t."
        )
    if np.allclose(velocity, -slope, atol=1e-4):
        raise CheckFailed(
            f"`{name}`'s velocity points the wrong way: it is minus d x_t / dt.\nHint: the velocity is the "
            "direction of increasing t, from the image towards the noise (eps - x0, not x0 - eps)."
        )
    if not np.allclose(velocity, slope, atol=1e-4):
        raise CheckFailed(
            f"`{name}`'s velocity is not the rate at which its x_t changes with t (checked by moving t a little "
            f"either way): they differ by up to {np.abs(velocity - slope).max():.3g}. On a straight path the velocity "
            "does not depend on t."
        )
    count += 1
    _passed(name, count)


# --------------------------------------------------------------------------- the guidance mix


def check_guidance_mix(fn: Any) -> None:
    """Lesson 14: ``fn(unconditional, conditional, scale)`` is classifier-free guidance's mix of the predictions."""
    name = "guidance_mix"
    _require_function(fn, name)
    rng = np.random.default_rng(3)
    uncond = rng.standard_normal((2, 5, 5, 1))
    cond = uncond + rng.standard_normal((2, 5, 5, 1))

    def run(scale: float) -> np.ndarray:
        call = f"`{name}(unconditional, conditional, scale={scale:g})`"
        return _numeric_array(_call(fn, (uncond, cond, scale), name, fn), call, uncond.shape)

    at_zero, at_one = run(0.0), run(1.0)
    if np.allclose(at_zero, cond) and np.allclose(at_one, uncond):
        raise CheckFailed(
            "At scale 0 you return the conditional prediction and at scale 1 the unconditional one: the roles are "
            "swapped. Scale 0 means 'ignore the class' (unconditional), scale 1 the plain conditional model."
        )
    if not np.allclose(at_zero, uncond, atol=1e-6):
        raise CheckFailed(
            f"At scale 0 guidance should give the unconditional prediction unchanged; yours differs by up to "
            f"{np.abs(at_zero - uncond).max():.3g}."
        )
    if not np.allclose(at_one, cond, atol=1e-6):
        hint = ""
        if np.allclose(at_one, 2 * uncond - cond, atol=1e-6):
            hint = "\nHint: the sign is wrong: guidance moves *towards* the conditional prediction (cond - uncond)."
        elif np.allclose(at_one, uncond + cond, atol=1e-6) or np.allclose(at_one, cond + (cond - uncond), atol=1e-6):
            hint = "\nHint: start from the unconditional prediction and add scale times the difference (cond - uncond)."
        raise CheckFailed(
            f"At scale 1 guidance should give the conditional prediction exactly; yours differs by up to "
            f"{np.abs(at_one - cond).max():.3g}." + hint
        )
    for scale in (3.0, 7.5, 0.5):
        got = run(scale)
        # guidance is linear in the scale: the step from scale 0 to 1, repeated `scale` times
        if not np.allclose(got - at_zero, scale * (at_one - at_zero), atol=1e-5):
            raise CheckFailed(
                f"At scale {scale:g} the result should have moved {scale:g} times as far from the unconditional "
                f"prediction as at scale 1 (guidance is linear in the scale); it differs by up to "
                f"{np.abs(got - at_zero - scale * (at_one - at_zero)).max():.3g}."
            )
    _passed(name, 5)


# --------------------------------------------------------------------------- one Euler step


def _gaussian_velocity(x: np.ndarray, t: float, mean: float, std: float) -> np.ndarray:
    """The exact flow-matching velocity for data N(mean, std**2) on x_t = (1 - t) x0 + t eps."""
    variance = (1 - t) ** 2 * std**2 + t**2
    return -mean + (t - (1 - t) * std**2) / variance * (x - (1 - t) * mean)


def check_euler_step(fn: Any) -> None:
    """Lesson 14: ``fn(x, velocity, t, t_next)`` is one Euler step of dx/dt = velocity from t to t_next."""
    name = "euler_step"
    _require_function(fn, name)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    velocity = rng.standard_normal((4, 3))
    call = f"`{name}(x, velocity, t=0.8, t_next=0.6)`"
    got = _numeric_array(_call(fn, (x, velocity, 0.8, 0.6), name, fn), call, x.shape)
    if np.allclose(got, x + 0.2 * velocity, atol=1e-6):
        raise CheckFailed(
            f"{call} moved *along* the velocity, as if time went forward. Sampling runs backwards (t_next < t), so "
            "the step is (t_next - t) times the velocity, a negative number here.\nHint: check the sign of the step."
        )
    if np.allclose(got, x - velocity, atol=1e-6) or np.allclose(got, x + velocity, atol=1e-6):
        raise CheckFailed(f"{call} moved a whole unit of time; the step should be scaled by (t_next - t).")
    # many small steps on the exact velocity of Gaussian data must reach the data's known distribution
    mean, std, steps = 1.5, 0.4, 400
    eps = rng.standard_normal(2000)
    times = np.linspace(1.0, 0.0, steps + 1)
    sample = eps.copy()
    for t, t_next in zip(times[:-1], times[1:]):
        v = _gaussian_velocity(sample, float(t), mean, std)
        sample = _numeric_array(_call(fn, (sample, v, float(t), float(t_next)), name, fn), f"`{name}`", sample.shape)
    error = np.abs(sample - (mean + std * eps)).max()
    if error > 0.02:
        raise CheckFailed(
            f"{steps} of your Euler steps, driven by the exact velocity of Gaussian data N({mean}, {std}²), should "
            f"carry noise onto that distribution (each eps to {mean} + {std}·eps); the result is off by up to "
            f"{error:.3g} "
            f"(mean {sample.mean():.3f}, std {sample.std():.3f}). Euler's step follows the velocity for the time "
            "between t and t_next, nothing more."
        )
    _passed(name, 2)


# --------------------------------------------------------------------------- label dropout


def check_label_dropout(fn: Any) -> None:
    """Lesson 14: ``fn(labels, rate, null_label, rng)`` replaces each label by ``null_label`` with chance ``rate``."""
    name = "drop_labels"
    _require_function(fn, name)
    labels = np.arange(40_000) % 10
    count = 0
    for rate in (0.1, 0.3, 0.0, 1.0):
        call = f"`{name}(labels, rate={rate:g}, null_label=10, rng)`"
        got = _to_numpy(_call(fn, (labels, rate, 10, np.random.default_rng(count)), name, fn))
        out = _numeric_array(got, call, labels.shape)
        dropped = out == 10
        changed = (out != labels) & ~dropped
        if np.any(changed):
            raise CheckFailed(
                f"{call} changed {int(changed.sum())} label(s) into something other than the null label 10; a label "
                "is either kept as it is or replaced by the null label."
            )
        share = dropped.mean()
        tolerance = 5 * np.sqrt(max(rate * (1 - rate), 1e-12) / len(labels)) + 1e-12
        if abs(share - rate) > tolerance:
            hint = ""
            if abs(share - (1 - rate)) <= tolerance:
                hint = "\nHint: you keep a label with probability `rate`; `rate` is the share to *drop*."
            raise CheckFailed(
                f"{call} replaced {share:.1%} of the labels; it should replace about {rate:.0%} of them "
                f"(within {tolerance:.2%})." + hint
            )
        count += 1
    again = _numeric_array(_call(fn, (labels, 0.3, 10, np.random.default_rng(99)), name, fn), f"`{name}`", labels.shape)
    other = _numeric_array(_call(fn, (labels, 0.3, 10, np.random.default_rng(98)), name, fn), f"`{name}`", labels.shape)
    if np.array_equal(again, other):
        raise CheckFailed(
            f"`{name}` dropped the same labels for two different random generators: draw the choice from `rng`, "
            "so each batch drops different labels."
        )
    _passed(name, count + 1)
