"""Lesson 13's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed
from course_utils.schedules import NoiseSchedule


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


def _alpha_bar(t, betas):
    # the package's schedule as the oracle for the tests' right answer
    schedule = NoiseSchedule("linear", len(betas), np.concatenate([[1.0], np.cumprod(1 - np.asarray(betas))]))
    return schedule.alpha_bars[t]


def q_sample(x0, eps, t, betas):
    a = _alpha_bar(t, betas)
    return np.sqrt(a) * x0 + np.sqrt(1 - a) * eps


def test_q_sample_accepts_the_closed_form(capsys):
    checks.check_q_sample(q_sample)
    assert "✔ q_sample passes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda x0, eps, t, betas: _alpha_bar(t, betas) * x0 + (1 - _alpha_bar(t, betas)) * eps, "square root"),
        (lambda x0, eps, t, betas: np.sqrt(1 - betas[t - 1]) * x0 + np.sqrt(betas[t - 1]) * eps, "alpha_bar"),
        (lambda x0, eps, t, betas: q_sample(x0, eps, t - 1, betas), "one step too few"),
        (
            lambda x0, eps, t, betas: q_sample(x0, eps, min(t + 1, len(betas)), betas) if t < len(betas) else 0 * x0,
            "too many",
        ),
        (lambda x0, eps, t, betas: np.sqrt(_alpha_bar(t, betas)) * x0 + eps, "variance is preserved"),
        (lambda x0, eps, t, betas: None, "return"),
        (not_written, "not written"),
    ],
)
def test_q_sample_rejects_mistakes_with_a_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_q_sample(wrong)


def epsilon_loss(model, x0, eps, t, signal, sigma):
    shape = (-1,) + (1,) * (np.ndim(x0) - 1)
    x_t = np.reshape(signal, shape) * x0 + np.reshape(sigma, shape) * eps
    return np.mean((model(x_t, t) - eps) ** 2)


def test_epsilon_loss_accepts_the_mean_squared_error(capsys):
    checks.check_epsilon_loss(epsilon_loss)
    assert "✔ epsilon_loss passes" in capsys.readouterr().out


def _loss_with(target=None, x_t=None, reduce=np.mean, power=2):
    def loss(model, x0, eps, t, signal, sigma):
        shape = (-1,) + (1,) * (np.ndim(x0) - 1)
        xt = (
            np.reshape(signal, shape) * x0 + np.reshape(sigma, shape) * eps
            if x_t is None
            else x_t(x0, eps, signal, sigma)
        )
        goal = eps if target is None else target(x0, eps)
        return reduce(np.abs(model(xt, t) - goal) ** power)

    return loss


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_loss_with(target=lambda x0, eps: x0), "model that predicts the noise exactly"),
        (_loss_with(reduce=np.sum), "not the sum"),
        (_loss_with(power=1), "model that predicts the noise exactly|absolute"),
        (_loss_with(x_t=lambda x0, eps, a, s: x0), "clean x0"),
        (_loss_with(x_t=lambda x0, eps, a, s: x0 + s.reshape(-1, 1, 1, 1) * eps), "scaled down"),
        (lambda model, x0, eps, t, signal, sigma: np.mean(eps**2), "never called the model"),
        (not_written, "not written"),
    ],
)
def test_epsilon_loss_rejects_mistakes_with_a_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_epsilon_loss(wrong)


def ddim_step(x_t, eps_hat, alpha_bar, alpha_bar_next):
    x0_hat = (x_t - np.sqrt(1 - alpha_bar) * eps_hat) / np.sqrt(alpha_bar)
    return np.sqrt(alpha_bar_next) * x0_hat + np.sqrt(1 - alpha_bar_next) * eps_hat


def test_ddim_step_accepts_the_update(capsys):
    checks.check_ddim_step(ddim_step)
    assert "✔ ddim_step passes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda x, e, a, an: (x - np.sqrt(1 - a) * e) / np.sqrt(a), "x0 estimate itself"),
        (lambda x, e, a, an: an * (x - (1 - a) * e) / a + (1 - an) * e, "square root"),
        (lambda x, e, a, an: ddim_step(x, e, a, a), "alpha_bar_next"),
        (not_written, "not written"),
    ],
)
def test_ddim_step_rejects_mistakes_with_a_hint(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_ddim_step(wrong)
