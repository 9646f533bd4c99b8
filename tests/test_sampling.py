"""Output conversions, the DDIM/DDPM update and the sampling loop (lesson 13), against closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils import sampling
from course_utils.schedules import cosine_schedule, flow_path, linear_schedule

RNG = np.random.default_rng(0)
X0 = RNG.standard_normal((4, 3, 3, 1)).astype(np.float32)
EPS = RNG.standard_normal((4, 3, 3, 1)).astype(np.float32)


@pytest.mark.parametrize(
    "prediction, schedule",
    [
        ("eps", cosine_schedule()),
        ("x0", cosine_schedule()),
        ("v", linear_schedule()),
        ("velocity", flow_path()),
        ("eps", flow_path()),
        ("x0", flow_path()),
    ],
)
def test_conversions_round_trip(prediction, schedule):
    t = np.array([0.1, 0.4, 0.7, 0.95])
    signal, noise = schedule.rates(t)
    x_t = schedule.noised(X0, EPS, t).astype(np.float32)
    target = sampling.training_target(X0, EPS, signal, noise, prediction=prediction)
    x0_hat, eps_hat = sampling.to_x0_eps(target, x_t, signal, noise, prediction=prediction)
    np.testing.assert_allclose(x0_hat, X0, atol=2e-4)
    np.testing.assert_allclose(eps_hat, EPS, atol=2e-4)


def test_flow_matching_target_of_a_known_pair():
    x0, eps = np.array([[2.0]]), np.array([[-1.0]])
    np.testing.assert_allclose(sampling.training_target(x0, eps, [0.7], [0.3], prediction="velocity"), [[-3.0]])


def test_v_target_is_its_formula():
    signal, noise = cosine_schedule().rates(np.array([0.3]))
    v = sampling.training_target(X0[:1], EPS[:1], signal, noise, prediction="v")
    np.testing.assert_allclose(v, signal[0] * EPS[:1] - noise[0] * X0[:1], atol=1e-6)


def test_guidance_at_scales_0_and_1():
    uncond, cond = tf.constant(X0), tf.constant(EPS)
    np.testing.assert_allclose(sampling.guided(uncond, cond, 0.0), X0)
    np.testing.assert_allclose(sampling.guided(uncond, cond, 1.0), EPS)
    np.testing.assert_allclose(sampling.guided(uncond, cond, 3.0), X0 + 3 * (EPS - X0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        sampling.guided(uncond, cond[:2], 1.0)


def test_eta_1_between_consecutive_times_is_the_ddpm_posterior():
    schedule = linear_schedule(1000)
    k = 400
    bars = schedule.alpha_bars
    beta = 1 - bars[k] / bars[k - 1]
    x_t = schedule.noised(X0, EPS, k / 1000).astype(np.float32)
    z = RNG.standard_normal(X0.shape).astype(np.float32)
    rates, next_rates = schedule.rates(k / 1000), schedule.rates((k - 1) / 1000)
    out = sampling.step(x_t, X0, EPS, rates, next_rates, eta=1.0, noise=z)
    mean = (np.sqrt(bars[k - 1]) * beta / (1 - bars[k])) * X0 + (
        np.sqrt(1 - beta) * (1 - bars[k - 1]) / (1 - bars[k])
    ) * x_t
    std = np.sqrt(beta * (1 - bars[k - 1]) / (1 - bars[k]))
    np.testing.assert_allclose(out, mean + std * z, atol=1e-5)


def test_eta_0_on_the_flow_path_is_euler():
    t, t_next = 0.8, 0.55
    velocity = EPS - X0
    x_t = flow_path().noised(X0, EPS, t).astype(np.float32)
    signal, noise = flow_path().rates(t)
    x0_hat, eps_hat = sampling.to_x0_eps(velocity, x_t, signal, noise, prediction="velocity")
    out = sampling.step(x_t, x0_hat, eps_hat, (signal, noise), flow_path().rates(t_next))
    np.testing.assert_allclose(out, x_t + (t_next - t) * velocity, atol=1e-5)


def _gaussian_denoiser(mu, s):
    """The exact E[x0 | x_t] for x0 ~ N(mu, s^2), as a denoiser."""

    def denoise(x_t, t, signal, noise):
        x0_hat = mu + signal * s**2 / (signal**2 * s**2 + noise**2) * (x_t - signal * mu)
        return x0_hat, (x_t - signal * x0_hat) / noise

    return denoise


def test_ddim_with_the_exact_denoiser_lands_on_the_analytic_transport():
    """On Gaussian data the probability-flow ODE maps x_1 to mu + s * (x_1 - a mu) / sqrt(a^2 s^2 + sigma^2)."""
    mu, s = 0.5, 0.3
    schedule = linear_schedule(1000)
    x1 = tf.constant(RNG.standard_normal((2000, 1)), tf.float32)
    pairs = schedule.timesteps(1000)
    out1 = sampling.sample(_gaussian_denoiser(mu, s), schedule, x1, pairs, progress=False)
    out2 = sampling.sample(_gaussian_denoiser(mu, s), schedule, x1, pairs, progress=False, seed=5)
    np.testing.assert_array_equal(out1, out2)  # eta = 0 is deterministic
    a, sigma = schedule.rates(1.0)
    expected = mu + s * (x1.numpy() - a * mu) / np.sqrt(a**2 * s**2 + sigma**2)
    np.testing.assert_allclose(out1, expected, atol=1.5e-2)  # 1000 steps: discretisation error below 0.015


def test_ddpm_with_the_exact_denoiser_samples_the_data_distribution():
    mu, s = -0.2, 0.4
    schedule = cosine_schedule(100)
    x1 = tf.random.stateless_normal((20_000, 1), seed=[1, 2])
    out = sampling.sample(_gaussian_denoiser(mu, s), schedule, x1, schedule.timesteps(100), eta=1.0, progress=False)
    assert abs(out.mean() - mu) < 0.02 and abs(out.std() - s) < 0.02


def test_sample_passes_noise_in_and_applies_the_constraint():
    schedule = cosine_schedule(10)
    x1 = tf.zeros((3, 2))
    noises = [np.ones((3, 2), np.float32)] * 5
    seen = []

    def constrain(x, x0_hat, t_next):
        seen.append(t_next)
        return x * 0.0 + 0.25

    out, path, x0_path = sampling.sample(
        _gaussian_denoiser(0.0, 1.0),
        schedule,
        x1,
        schedule.timesteps(5),
        eta=1.0,
        noises=noises,
        constrain=constrain,
        keep_path=True,
        progress=False,
    )
    np.testing.assert_allclose(out, 0.25)
    assert len(path) == len(x0_path) == 5 and seen[-1] == 0.0


def test_sample_rejects_bad_arguments():
    schedule = cosine_schedule(10)
    denoise = _gaussian_denoiser(0.0, 1.0)
    with pytest.raises(ValueError, match="back in time"):
        sampling.sample(denoise, schedule, tf.zeros((1, 1)), [[0.2, 0.5]], progress=False)
    with pytest.raises(ValueError, match="flow path"):
        sampling.sample(denoise, flow_path(), tf.zeros((1, 1)), [[1.0, 0.0]], eta=1.0, progress=False)
    with pytest.raises(ValueError, match="prediction"):
        sampling.to_x0_eps(X0, X0, 1.0, 0.0, prediction="noise")
