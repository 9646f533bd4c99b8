"""Noise schedules (lesson 13) against their closed forms."""

import numpy as np
import pytest

from course_utils.schedules import NoiseSchedule, cosine_schedule, flow_path, linear_schedule


def test_linear_schedule_is_ddpm_betas():
    schedule = linear_schedule(1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    np.testing.assert_allclose(schedule.alpha_bars[1:], np.cumprod(1 - betas))
    assert schedule.alpha_bars[0] == 1.0
    assert schedule.alpha_bar(1.0) < 1e-4  # the image is destroyed by the end


def test_cosine_schedule_follows_its_formula_away_from_the_cap():
    schedule = cosine_schedule(1000)
    t = np.arange(0, 901, 20) / 1000  # on the grid of its 1000 steps
    f = np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(schedule.alpha_bar(t), f / f[0], rtol=1e-6)


@pytest.mark.parametrize("make", [linear_schedule, cosine_schedule])
def test_variance_preserving_rates(make):
    signal, noise = make(200).rates(np.linspace(0, 1, 33))
    np.testing.assert_allclose(signal**2 + noise**2, 1.0, atol=1e-12)
    assert np.all(np.diff(signal) < 0)


def test_flow_path_rates_are_the_straight_line():
    signal, noise = flow_path().rates([0.0, 0.25, 1.0])
    np.testing.assert_allclose(signal, [1.0, 0.75, 0.0])
    np.testing.assert_allclose(noise, [0.0, 0.25, 1.0])
    assert not flow_path().variance_preserving


@pytest.mark.parametrize("make", [linear_schedule, cosine_schedule])
def test_one_step_noising_iterated_matches_the_closed_form(make):
    """x_k = sqrt(1 - beta_k) x_{k-1} + sqrt(beta_k) z, iterated, has the moments of q(x_t | x0)."""
    steps = 50
    schedule = make(steps)
    betas = 1 - schedule.alpha_bars[1:] / schedule.alpha_bars[:-1]
    rng = np.random.default_rng(0)
    x0 = np.full(200_000, 0.7)
    x = x0.copy()
    checkpoints = {10, 30, 50}
    for k in range(1, steps + 1):
        x = np.sqrt(1 - betas[k - 1]) * x + np.sqrt(betas[k - 1]) * rng.standard_normal(x.shape)
        if k in checkpoints:
            direct = schedule.noised(x0, rng.standard_normal(x0.shape), k / steps)
            signal, noise = schedule.rates(k / steps)
            assert abs(x.mean() - signal * 0.7) < 0.01
            assert abs(x.var() - noise**2) < 0.01
            assert abs(direct.mean() - x.mean()) < 0.01 and abs(direct.var() - x.var()) < 0.01


def test_noised_takes_one_time_per_image():
    schedule = cosine_schedule(100)
    x0 = np.ones((3, 2, 2, 1))
    eps = np.zeros_like(x0)
    out = schedule.noised(x0, eps, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(out[:, 0, 0, 0], schedule.rates([0.0, 0.5, 1.0])[0])
    with pytest.raises(ValueError, match="same shape"):
        schedule.noised(x0, np.zeros((3, 2, 2)), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        schedule.noised(x0, eps, 3)


def test_timesteps_on_the_grid():
    schedule = linear_schedule(10)
    pairs = schedule.timesteps(10)
    np.testing.assert_allclose(pairs[:, 0], np.arange(10, 0, -1) / 10)
    np.testing.assert_allclose(pairs[:, 1], np.arange(9, -1, -1) / 10)
    assert schedule.timesteps(5, start=0.5).shape == (5, 2)
    with pytest.raises(ValueError, match="at most 10"):
        schedule.timesteps(20)
    with pytest.raises(ValueError, match="later"):
        schedule.timesteps(3, start=0.2, end=0.5)
    flow = flow_path(10).timesteps(20)  # the flow path is not bound to its grid
    assert flow.shape == (20, 2)


def test_schedule_checks_its_fields():
    with pytest.raises(ValueError, match="kind"):
        NoiseSchedule("quadratic", 2, np.ones(3))
    with pytest.raises(ValueError, match="steps \\+ 1"):
        NoiseSchedule("linear", 2, np.ones(4))
    with pytest.raises(ValueError, match="beta_end"):
        linear_schedule(10, 0.1, 0.01)
