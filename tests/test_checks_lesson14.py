"""The lesson-14 checks reject the stub and the usual mistakes with a targeted hint, and accept the solution."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def stub(*args):
    raise NotImplementedError


def flow_pair(x0, eps, t):
    t = np.reshape(t, (-1,) + (1,) * (np.ndim(x0) - 1))
    return (1 - t) * x0 + t * eps, eps - x0


def test_flow_pair_accepts_the_solution(capsys):
    checks.check_flow_pair(flow_pair)
    assert "passes all" in capsys.readouterr().out


def test_flow_pair_accepts_a_float32_tensorflow_answer(capsys):
    import tensorflow as tf

    def tf_pair(x0, eps, t):
        x0, eps = tf.constant(x0, tf.float32), tf.constant(eps, tf.float32)
        t = tf.reshape(tf.constant(t, tf.float32), (-1, 1, 1, 1))
        return (1 - t) * x0 + t * eps, eps - x0

    checks.check_flow_pair(tf_pair)
    assert "passes all" in capsys.readouterr().out


def _t(x0, t):
    return np.reshape(t, (-1,) + (1,) * (np.ndim(x0) - 1))


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (lambda x0, e, t: (_t(x0, t) * x0 + (1 - _t(x0, t)) * e, x0 - e), "t and 1 - t are swapped"),
        (lambda x0, e, t: (np.sqrt(1 - _t(x0, t)) * x0 + np.sqrt(_t(x0, t)) * e, e - x0), "no square roots|straight"),
        (lambda x0, e, t: ((1 - _t(x0, t)) * x0 + _t(x0, t) * e, x0 - e), "eps - x0, not x0 - eps"),
        (lambda x0, e, t: ((1 - _t(x0, t)) * x0 + _t(x0, t) * e, e), "rate at which"),
        (lambda x0, e, t: (1 - _t(x0, t)) * x0 + _t(x0, t) * e, "pair"),
    ],
)
def test_flow_pair_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_flow_pair(wrong)


def guidance_mix(unconditional, conditional, scale):
    return unconditional + scale * (conditional - unconditional)


def test_guidance_mix_accepts_the_solution(capsys):
    checks.check_guidance_mix(guidance_mix)
    import tensorflow as tf

    checks.check_guidance_mix(lambda u, c, s: tf.constant(u) + s * (tf.constant(c) - u))
    assert "passes all" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda u, c, s: c + s * (u - c), "swapped"),
        (lambda u, c, s: u - s * (c - u), "sign is wrong"),
        (lambda u, c, s: u + s * c, "add scale times the difference"),
        (lambda u, c, s: s * c, "scale 0"),
        (lambda u, c, s: u + s**2 * (c - u), "linear in the scale"),
        (lambda u, c, s: (1 + s) * c - s * u, "scale 0"),
    ],
)
def test_guidance_mix_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_guidance_mix(wrong)


def euler_step(x, velocity, t, t_next):
    return x + (t_next - t) * velocity


def test_euler_step_accepts_the_solution(capsys):
    checks.check_euler_step(euler_step)
    assert "passes all" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda x, v, t, tn: x + (t - tn) * v, "sign of the step"),
        (lambda x, v, t, tn: x - v, "whole unit"),
        (lambda x, v, t, tn: x + (tn - t) * v * 0.5, "off by"),
        (lambda x, v, t, tn: x + (tn - t) * v + 1e-3, "off by"),
    ],
)
def test_euler_step_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_euler_step(wrong)


def drop_labels(labels, rate, null_label, rng):
    return np.where(rng.random(len(labels)) < rate, null_label, labels)


def test_label_dropout_accepts_the_solution(capsys):
    checks.check_label_dropout(drop_labels)
    assert "passes all" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda y, r, n, rng: np.where(rng.random(len(y)) < 1 - r, n, y), "share to \\*drop\\*"),
        (lambda y, r, n, rng: np.where(rng.random(len(y)) < r, 0, y), "other than the null label"),
        (lambda y, r, n, rng: np.where(np.random.default_rng(0).random(len(y)) < r, n, y), "two different random"),
        (lambda y, r, n, rng: np.where(rng.random(len(y)) < r / 2, n, y), "should replace about"),
    ],
)
def test_label_dropout_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_label_dropout(wrong)
