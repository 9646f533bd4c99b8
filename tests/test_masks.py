"""Tests for course_utils.masks: the 1 = known convention, mask shapes and sizes, damage and noise."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import masks


@pytest.mark.parametrize("kind", masks.KINDS)
def test_make_masks_shape_dtype_values(kind: str) -> None:
    m = masks.make_masks(kind, 8, 32, seed=1)
    assert m.shape == (8, 32, 32, 1)
    assert m.dtype == np.float32
    assert set(np.unique(m)) <= {0.0, 1.0}
    fraction = masks.hole_fraction(m)
    assert fraction.shape == (8,)
    assert np.all(fraction > 0) and np.all(fraction < 0.9)  # every mask has a hole and mostly known pixels


@pytest.mark.parametrize("kind", ["boxes", "free_form"])
def test_random_masks_are_reproducible_and_vary(kind: str) -> None:
    a = masks.make_masks(kind, 6, 32, seed=3)
    np.testing.assert_array_equal(a, masks.make_masks(kind, 6, 32, seed=3))
    assert not np.array_equal(a, masks.make_masks(kind, 6, 32, seed=4))
    assert not np.array_equal(a[0], a[1])


def test_center_hole_is_the_middle_square() -> None:
    m = masks.center_hole(2, 32)
    expected = np.ones((32, 32), np.float32)
    expected[8:24, 8:24] = 0
    np.testing.assert_array_equal(m[1, :, :, 0], expected)
    assert masks.hole_fraction(m[0]) == pytest.approx(0.25)
    assert masks.hole_fraction(masks.center_hole(1, 20, hole_fraction=0.3))[0] == pytest.approx(36 / 400)


def test_random_boxes_respect_max_fraction() -> None:
    m = masks.random_boxes(50, 40, max_boxes=1, max_fraction=0.25, seed=0)
    for one in m[..., 0]:
        rows = np.flatnonzero((one == 0).any(axis=1))
        cols = np.flatnonzero((one == 0).any(axis=0))
        assert 1 <= len(rows) <= 10 and 1 <= len(cols) <= 10
        assert np.all(one[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] == 0)  # one solid rectangle


def test_free_form_strokes_are_connected_and_wider_with_width() -> None:
    from scipy import ndimage

    single = masks.free_form(20, 48, strokes=(1, 1), width=(3, 3), seed=2)
    for one in single[..., 0]:
        _, count = ndimage.label(one == 0, structure=np.ones((3, 3)))
        assert count == 1  # a brush stroke is one connected scribble
    thin = masks.hole_fraction(masks.free_form(30, 48, width=(2, 2), seed=5)).mean()
    thick = masks.hole_fraction(masks.free_form(30, 48, width=(8, 8), seed=5)).mean()
    assert thick > 2 * thin


def test_apply_mask_keeps_known_and_fills_holes() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((3, 16, 16, 3)).astype(np.float32)
    m = masks.center_hole(3, 16)
    damaged = masks.apply_mask(images, m, fill=0.5)
    assert damaged.shape == images.shape and damaged.dtype == np.float32
    known = np.broadcast_to(m == 1, images.shape)
    np.testing.assert_array_equal(damaged[known], images[known])
    assert np.all(damaged[~known] == 0.5)
    one = masks.apply_mask(images[0], m[0, :, :, 0])  # single image, (H, W) mask
    np.testing.assert_array_equal(one, masks.apply_mask(images, m)[0])


def test_check_mask_explains_mistakes() -> None:
    good = masks.center_hole(2, 16)
    assert masks.check_mask(good).dtype == np.float32
    assert masks.check_mask(good.astype(bool)).dtype == np.float32
    with pytest.raises(ValueError, match="only 0 \\(hole\\) and 1"):
        masks.check_mask(good * 0.5)
    with pytest.raises(ValueError, match="divide a 0/255 mask by 255"):
        masks.check_mask(good * 255)
    with pytest.raises(ValueError, match="1 = KNOWN"):
        masks.check_mask(1 - masks.center_hole(1, 16, hole_fraction=0.25))
    with pytest.raises(ValueError, match="height and width"):
        masks.check_mask(good, np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="one mask per image"):
        masks.check_mask(good, np.zeros((3, 16, 16, 3)))
    with pytest.raises(ValueError, match="\\(N, H, W, 1\\)"):
        masks.check_mask(np.ones((2, 16, 16, 3)))


def test_bad_arguments_say_what_was_given() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        masks.make_masks("circle", 2, 16)
    with pytest.raises(ValueError, match="hole_fraction"):
        masks.center_hole(2, 16, hole_fraction=1.5)
    with pytest.raises(ValueError, match="low <= high"):
        masks.free_form(2, 16, strokes=(3, 1))
    with pytest.raises(ValueError, match="unit range"):
        masks.apply_mask(np.full((1, 16, 16, 3), 200.0), masks.center_hole(1, 16))


def test_add_noise_has_the_asked_spread_and_stays_in_range() -> None:
    images = np.full((4, 32, 32, 3), 0.5, np.float32)
    noisy = masks.add_noise(images, 0.1, seed=0)
    assert noisy.dtype == np.float32 and noisy.min() >= 0 and noisy.max() <= 1
    assert np.std(noisy - images) == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(noisy, masks.add_noise(images, 0.1, seed=0))
    np.testing.assert_array_equal(masks.add_noise(images, 0.0), images)
    with pytest.raises(ValueError, match="sigma"):
        masks.add_noise(images, -1.0)


def test_accepts_tensors_without_importing_tensorflow() -> None:
    import subprocess
    import sys

    code = "import sys, course_utils.masks, course_utils.metrics; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_large_holes_hide_the_top_half_or_a_centre_square() -> None:
    top = masks.large_hole("top half", 2)
    assert top.shape == (2, 28, 28, 1) and top.dtype == np.float32
    assert (top[:, :14] == 0).all() and (top[:, 14:] == 1).all()
    centre = masks.large_hole("centre", 1)[0, ..., 0]
    rows, cols = np.nonzero(centre == 0)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (6, 21, 6, 21)  # 16x16, centred
    assert masks.hole_fraction(masks.large_hole("centre", 1, 56))[0] == pytest.approx(32**2 / 56**2)
    with pytest.raises(ValueError, match="top half"):
        masks.large_hole("bottom", 1)
