"""Tests for course_utils.baselines: compositing, agreement with OpenCV, and fills that beat the mean."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from course_utils import baselines, masks, metrics


def _gradient(n: int = 2, size: int = 32) -> np.ndarray:
    """Smooth colour ramps: what classical inpainting is made for."""
    rows, cols = np.mgrid[0:size, 0:size] / (size - 1)
    image = np.stack([rows, cols, 0.5 * (rows + cols)], axis=-1).astype(np.float32)
    return np.stack([image * (0.6 + 0.4 * i / max(n - 1, 1)) for i in range(n)])


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    from skimage import data

    return np.stack([data.astronaut()[:256:8, :256:8], data.coffee()[:256:8, :256:8]]).astype(np.float32) / 255


@pytest.mark.parametrize("method", baselines.METHODS)
@pytest.mark.parametrize("kind", masks.KINDS)
def test_known_pixels_are_unchanged(photos: np.ndarray, method: str, kind: str) -> None:
    m = masks.make_masks(kind, len(photos), 32, seed=0)
    out = baselines.inpaint(photos, m, method)
    assert out.shape == photos.shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    known = np.broadcast_to(m == 1, photos.shape)
    np.testing.assert_array_equal(out[known], photos[known])
    assert not np.array_equal(out[~known], photos[~known] * 0)  # the hole was filled with something


@pytest.mark.parametrize("method", ["telea", "navier_stokes", "biharmonic"])
def test_smooth_gradient_is_restored_far_better_than_mean_fill(method: str) -> None:
    images = _gradient()
    m = masks.center_hole(len(images), 32)
    floor = metrics.masked_l1(baselines.inpaint(images, m, "mean_fill"), images, m)
    got = metrics.masked_l1(baselines.inpaint(images, m, method), images, m)
    assert np.all(got < floor / 2), (got, floor)  # less than half the error of the floor


def test_biharmonic_is_near_exact_on_a_linear_ramp() -> None:
    images = _gradient(1)
    m = masks.center_hole(1, 32)
    assert metrics.psnr(baselines.inpaint(images, m, "biharmonic"), images)[0] > 45


@pytest.mark.parametrize(("method", "flag"), [("telea", cv2.INPAINT_TELEA), ("navier_stokes", cv2.INPAINT_NS)])
def test_opencv_methods_agree_with_calling_cv2_directly(photos: np.ndarray, method: str, flag: int) -> None:
    m = masks.make_masks("free_form", len(photos), 32, seed=3)
    out = baselines.inpaint(photos, m, method)
    for image, mask, got in zip(photos, m, out):
        as_uint8 = np.round(image * 255).astype(np.uint8)
        missing = (mask[..., 0] == 0).astype(np.uint8) * 255
        direct = cv2.inpaint(as_uint8, missing, 3, flag).astype(np.float32) / 255
        hole = mask[..., 0] == 0
        np.testing.assert_allclose(got[hole], direct[hole], atol=1e-6)


def test_mean_fill_pastes_the_mean_known_colour(photos: np.ndarray) -> None:
    m = masks.center_hole(len(photos), 32)
    out = baselines.inpaint(photos, m, "mean_fill")
    for image, mask, got in zip(photos, m, out):
        known = mask[..., 0] == 1
        np.testing.assert_allclose(got[~known], np.broadcast_to(image[known].mean(0), got[~known].shape), atol=1e-6)


def test_single_images_grey_images_and_no_hole(photos: np.ndarray) -> None:
    m = masks.center_hole(1, 32)[0]
    single = baselines.inpaint(photos[0], m, "telea")
    np.testing.assert_array_equal(single, baselines.inpaint(photos[:1], m[None], "telea")[0])
    grey = photos[:, :, :, :1]
    assert baselines.inpaint(grey, masks.center_hole(2, 32), "navier_stokes").shape == grey.shape
    assert baselines.inpaint(grey, masks.center_hole(2, 32), "biharmonic").shape == grey.shape
    np.testing.assert_array_equal(baselines.inpaint(photos, np.ones((2, 32, 32, 1)), "telea"), photos)


def test_bad_arguments_are_explained(photos: np.ndarray) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        baselines.inpaint(photos, masks.center_hole(2, 32), "magic")
    with pytest.raises(ValueError, match="1 = KNOWN"):
        baselines.inpaint(photos, 1 - masks.center_hole(2, 32, hole_fraction=0.2), "telea")
    with pytest.raises(ValueError, match="unit range"):
        baselines.inpaint(photos * 255, masks.center_hole(2, 32), "telea")
