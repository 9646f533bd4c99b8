"""Tests for course_utils.metrics against scikit-image's MSE, PSNR and SSIM, and masked L1 by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from course_utils import masks, metrics


def _pair(seed: int, shape: tuple[int, ...] = (3, 24, 20, 3), noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random(shape).astype(np.float32)
    b = np.clip(a + rng.normal(0, noise, shape), 0, 1).astype(np.float32)
    return a, b


def _sk_ssim(a: np.ndarray, b: np.ndarray, **kw) -> float:
    return structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, **kw
    )


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(0.01, 0.5))
def test_mse_and_psnr_match_skimage(seed: int, noise: float) -> None:
    a, b = _pair(seed, noise=noise)
    got_mse, got_psnr = metrics.mse(a, b), metrics.psnr(a, b)
    assert got_mse.shape == got_psnr.shape == (3,)
    for i in range(3):
        assert got_mse[i] == pytest.approx(mean_squared_error(a[i], b[i]), rel=1e-5)
        assert got_psnr[i] == pytest.approx(peak_signal_noise_ratio(a[i], b[i], data_range=1.0), rel=1e-5)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(0.01, 0.5))
def test_ssim_matches_skimage_colour_and_grey(seed: int, noise: float) -> None:
    a, b = _pair(seed, noise=noise)
    got = metrics.ssim(a, b)
    assert got.shape == (3,)
    for i in range(3):
        assert got[i] == pytest.approx(_sk_ssim(a[i], b[i], channel_axis=-1), abs=1e-5)
    assert metrics.ssim(a[0, ..., 0], b[0, ..., 0]) == pytest.approx(_sk_ssim(a[0, ..., 0], b[0, ..., 0]), abs=1e-5)


def test_ssim_on_a_smooth_photo_like_image_with_a_blur() -> None:
    from scipy.ndimage import gaussian_filter
    from skimage import data

    photo = data.astronaut()[::8, ::8].astype(np.float32) / 255
    blurred = gaussian_filter(photo, sigma=(1, 1, 0))
    assert metrics.ssim(photo, blurred) == pytest.approx(_sk_ssim(photo, blurred, channel_axis=-1), abs=1e-5)
    assert metrics.ssim(photo, photo) == pytest.approx(1.0)


def test_single_images_give_floats_and_equal_images_are_perfect() -> None:
    a, _ = _pair(0)
    assert isinstance(metrics.mse(a[0], a[0]), float)
    assert metrics.psnr(a[0], a[0]) == np.inf
    assert np.all(metrics.psnr(a, a) == np.inf)
    assert metrics.ssim(a, a) == pytest.approx(np.ones(3))


def test_ssim_terms_multiply_to_ssim() -> None:
    a, b = _pair(1)
    terms = metrics.ssim_terms(a, b)
    product = terms["luminance"] * terms["contrast"] * terms["structure"]
    np.testing.assert_allclose(product, terms["ssim"], atol=1e-6)
    np.testing.assert_allclose(terms["ssim"].mean(axis=(1, 2, 3)), metrics.ssim(a, b))  # border left out
    assert metrics.ssim_terms(a, b, border=True)["ssim"].shape == a.shape
    assert terms["ssim"].shape == (3, 24 - 10, 20 - 10, 3)
    brighter = np.clip(a + 0.2, 0, 1)
    assert metrics.ssim_terms(a, brighter)["luminance"].mean() < 0.99  # a brightness shift shows in luminance


def test_masked_l1_counts_hole_pixels_only() -> None:
    a = np.zeros((2, 16, 16, 3), np.float32)
    m = masks.center_hole(2, 16)  # 8x8 hole
    b = a.copy()
    b[:, 4:12, 4:12, :] = 0.5  # error inside the hole
    b[:, 0, 0, :] = 1.0  # error on a known pixel must not count
    np.testing.assert_allclose(metrics.masked_l1(a, b, m), [0.5, 0.5])
    assert metrics.masked_l1(a[0], b[0], m[0]) == pytest.approx(0.5)
    assert metrics.masked_l1(a, b, np.ones_like(m)[:, :, :, :]).tolist() == [0.0, 0.0]


def test_evaluate_and_table() -> None:
    a, b = _pair(2)
    scores = metrics.evaluate(b, a, masks.center_hole(3, a.shape[1], hole_fraction=0.4)[:, :, :20])
    assert set(scores) == {"psnr", "ssim", "mse", "masked_l1"}
    assert all(v.shape == (3,) for v in scores.values())
    table = metrics.format_table({"a": {"psnr": 20.0, "ssim": 0.5}, "bbb": {"psnr": 31.25, "ssim": 0.75}}, digits=2)
    assert table.splitlines()[2].split() == ["a", "20.00", "0.50"]
    assert "31.25" in table


def test_errors_are_plain() -> None:
    a, b = _pair(0)
    with pytest.raises(ValueError, match="same shape"):
        metrics.mse(a, b[:, :10])
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(a[:, :8, :8], b[:, :8, :8])
    with pytest.raises(ValueError, match="data_range must be positive"):
        metrics.psnr(a, b, data_range=0)
