"""Lesson 15's samplers: RePaint, SDEdit and ILVR on Gaussian data with the exact denoiser, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils import restoration
from course_utils.diffusion import make_schedule


def _gaussian_denoiser(mu, s):
    """The exact E[x0 | x_t] for x0 ~ N(mu, s^2) per pixel, as a denoiser."""

    def denoise(x_t, t, signal, noise):
        x0_hat = mu + signal * s**2 / (signal**2 * s**2 + noise**2) * (x_t - signal * mu)
        return x0_hat, (x_t - signal * x0_hat) / tf.maximum(noise, 1e-6)

    return denoise


SCHEDULE = make_schedule("cosine", 100)
IMAGES = np.random.default_rng(0).uniform(0, 1, (3, 8, 8, 1)).astype(np.float32)


def test_repaint_step_keeps_the_known_pixels_equal_to_the_noised_reference():
    rng = np.random.default_rng(1)
    reference = rng.uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32)
    mask = (rng.uniform(size=(2, 8, 8, 1)) > 0.5).astype(np.float32)
    x = rng.standard_normal((2, 8, 8, 1)).astype(np.float32)
    eps = rng.standard_normal((2, 8, 8, 1)).astype(np.float32)
    signal, noise = (float(r) for r in SCHEDULE.rates(0.4))
    out = restoration.repaint_replace(x, reference, mask, signal, noise, eps)
    known = mask == 1
    np.testing.assert_allclose(out[known], (signal * reference + noise * eps)[known], rtol=1e-6)
    np.testing.assert_array_equal(out[~known], x[~known])


def test_repaint_with_the_exact_denoiser_keeps_known_pixels_and_stays_in_range():
    mask = np.ones_like(IMAGES)
    mask[:, :4] = 0
    out = restoration.repaint(
        _gaussian_denoiser(0.0, 0.5), SCHEDULE, IMAGES, mask, steps=10, jump_length=2, jump_n_sample=2, progress=False
    )
    np.testing.assert_array_equal(out[mask == 1], IMAGES[mask == 1])
    assert out.min() >= 0 and out.max() <= 1 and np.all(np.isfinite(out))


def test_inpainting_with_no_hole_returns_the_input():
    out = restoration.repaint(
        _gaussian_denoiser(0.0, 0.5), SCHEDULE, IMAGES, np.ones_like(IMAGES), steps=5, progress=False
    )
    np.testing.assert_array_equal(out, IMAGES)


def test_repaint_times_walk_down_with_jumps():
    assert restoration.repaint_times(4, 2, 1).tolist() == [4, 3, 2, 1, 0]
    walk = restoration.repaint_times(6, 2, 3)
    assert walk[0] == 6 and walk[-1] == 0
    steps = np.diff(walk)
    assert set(steps.tolist()) <= {-1, 1}
    assert int(np.sum(steps == -1)) == 3 * 6  # each stretch of 2 steps is walked 3 times


def test_renoise_gives_the_marginal_of_the_later_time():
    x0 = np.full((20000,), 0.3)
    eps = np.random.default_rng(2).standard_normal((2, 20000))
    a, b = SCHEDULE.rates(0.2), SCHEDULE.rates(0.6)
    x_a = SCHEDULE.noised(x0, eps[0], 0.2)
    x_b = restoration.renoise(x_a, a, b, eps[1])
    assert abs(x_b.mean() - float(b[0]) * 0.3) < 0.02
    assert abs(x_b.std() - float(b[1])) < 0.02


def test_denoise_from_t0_returns_the_input():
    out = restoration.sdedit_denoise(_gaussian_denoiser(0.0, 0.5), SCHEDULE, IMAGES, 0.0)
    np.testing.assert_array_equal(out, IMAGES)


def test_noise_to_time_matches_twice_sigma():
    for sigma in (0.05, 0.1, 0.3):
        t = restoration.noise_to_time(SCHEDULE, sigma)
        signal, noise = SCHEDULE.rates(t)
        neighbours = [max(t - 0.01, 0.0), min(t + 0.01, 1.0)]
        ratios = [float(n / s) for s, n in (SCHEDULE.rates(u) for u in neighbours)]
        assert min(ratios) <= 2 * sigma <= max(ratios) or abs(noise / signal - 2 * sigma) < 1e-9


def test_sdedit_with_the_exact_denoiser_denoises_gaussian_data():
    rng = np.random.default_rng(3)
    clean = np.clip(0.5 + 0.1 * rng.standard_normal((4, 8, 8, 1)), 0, 1).astype(np.float32)
    noisy = np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    out = restoration.sdedit_denoise(_gaussian_denoiser(0.0, 0.2), SCHEDULE, noisy, 0.1, steps=1)
    assert np.mean((out - clean) ** 2) < 0.75 * np.mean((noisy - clean) ** 2)  # the exact posterior mean halves it


def test_ilvr_step_keeps_the_lowpass_of_the_observation():
    rng = np.random.default_rng(4)
    x, reference = (rng.standard_normal((2, 8, 8, 1)).astype(np.float32) for _ in range(2))
    out = restoration.lowpass_replace(x, reference, 4)
    np.testing.assert_allclose(restoration.lowpass(out, 4), restoration.lowpass(reference, 4), atol=1e-5)
    np.testing.assert_allclose(out - restoration.lowpass(out, 4), x - restoration.lowpass(x, 4), atol=1e-5)


def test_ilvr_with_the_exact_denoiser_keeps_the_observation():
    low = restoration.downsample(IMAGES, 2)
    out = restoration.ilvr(_gaussian_denoiser(0.0, 0.5), SCHEDULE, low, 2, steps=10)
    assert out.shape == IMAGES.shape
    np.testing.assert_allclose(restoration.downsample(out, 2), low, atol=0.05)  # up to clipping to [0, 1]


def test_lowpass_is_tensorflows_area_resize_spread_back():
    x = np.random.default_rng(5).uniform(size=(1, 8, 8, 1)).astype(np.float32)
    small = tf.image.resize(x, (4, 4), method="area").numpy()
    np.testing.assert_allclose(restoration.lowpass(x, 2)[:, ::2, ::2], small, atol=1e-6)


def test_plain_errors():
    with pytest.raises(ValueError, match="1 = KNOWN"):
        restoration.repaint(_gaussian_denoiser(0, 1), SCHEDULE, IMAGES, np.zeros_like(IMAGES), steps=2)
    with pytest.raises(ValueError, match="beyond this schedule"):
        restoration.noise_to_time(SCHEDULE, 1e9)
    with pytest.raises(ValueError, match=">= 0"):
        restoration.noise_to_time(SCHEDULE, -0.1)
    with pytest.raises(ValueError, match="does not divide the image side 8"):
        restoration.downsample(IMAGES, 3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        restoration.sdedit_denoise(_gaussian_denoiser(0, 1), SCHEDULE, IMAGES * 2 - 1, 0.1)
