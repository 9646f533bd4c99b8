"""Lesson 15's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils import checks
from course_utils.checks import CheckFailed


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


def repaint_replace(x, reference, mask, signal, noise, eps):
    return np.where(mask == 1, signal * reference + noise * eps, x)


def test_repaint_replace_accepts_the_replacement(capsys):
    checks.check_repaint_replace(repaint_replace)
    assert "✔ repaint_replace passes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda x, r, m, a, s, e: repaint_replace(x, r, 1 - m, a, s, e), "other way round"),
        (lambda x, r, m, a, s, e: np.where(m == 1, r, x), "noise the reference"),
        (lambda x, r, m, a, s, e: np.where(m == 1, a**2 * r + s**2 * e, x), "square roots"),
        (lambda x, r, m, a, s, e: np.where(m == 1, a * r + (1 - a) * e, x), "not 1 - signal"),
        (lambda x, r, m, a, s, e: None, "return"),
        (not_written, "not written"),
    ],
)
def test_repaint_replace_rejects_mistakes_with_a_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_repaint_replace(wrong)


def sdedit_start(schedule, sigma):
    times = np.linspace(0, 1, schedule.steps + 1)
    signal, noise = schedule.rates(times)
    with np.errstate(divide="ignore"):
        return times[np.nanargmin(np.abs(noise / signal - 2 * sigma))]


def _matching(quantity):
    def start(schedule, sigma):
        times = np.linspace(0, 1, schedule.steps + 1)
        signal, noise = schedule.rates(times)
        with np.errstate(divide="ignore"):
            return times[np.nanargmin(np.abs(quantity(signal, noise, sigma)))]

    return start


def test_sdedit_start_accepts_the_ratio(capsys):
    checks.check_sdedit_start(sdedit_start)
    assert "✔ sdedit_start passes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_matching(lambda a, s, sigma: s / a - sigma), "doubles it"),
        (_matching(lambda a, s, sigma: s - 2 * sigma), "noise / signal"),
        (_matching(lambda a, s, sigma: 1 - a**2 - 2 * sigma), "variance"),
        (lambda schedule, sigma: 300, "grid index"),
        (not_written, "not written"),
    ],
)
def test_sdedit_start_rejects_mistakes_with_a_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_sdedit_start(wrong)


def _low(x, factor, method="area"):
    size = x.shape[1]
    small = tf.image.resize(x, (size // factor, size // factor), method=method)
    return tf.image.resize(small, (size, size), method="nearest").numpy()


def lowpass_replace(x, reference, factor):
    return x - _low(x, factor) + _low(reference, factor)


def test_lowpass_replace_accepts_the_projection(capsys):
    checks.check_lowpass_replace(lowpass_replace)
    assert "✔ lowpass_replace passes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda x, r, f: x - _low(x, f, "bilinear") + _low(r, f, "bilinear"), "projection"),
        (lambda x, r, f: r - _low(r, f) + _low(x, f), "still is x's"),
        (lambda x, r, f: r, "reference itself"),
        (not_written, "not written"),
    ],
)
def test_lowpass_replace_rejects_mistakes_with_a_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_lowpass_replace(wrong)
