"""Tests of the offline stand-in datasets: rendered digits and photo crops (no TensorFlow needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from course_utils import standins
from course_utils.paths import PROJECT_ROOT
from course_utils.standins import PHOTOS, photo_crops, photo_split, render_digits

N_BIG = 10_000


@pytest.fixture(scope="module")
def digits_big() -> tuple[np.ndarray, np.ndarray]:
    images, labels = render_digits(N_BIG, seed=3)
    return images, labels


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


# ----------------------------------------------------------------------------------------- digits


def test_import_is_cheap_and_quiet() -> None:
    # Importing standins must not pull in TensorFlow, print anything, or read the fonts.
    code = (
        "import sys, course_utils.standins as s; "
        "print('tensorflow' in sys.modules, bool(s._FONT_FILES), bool(s._PHOTO_CACHE))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert done.stdout.strip() == "False False False"


def test_digit_shapes_and_dtypes() -> None:
    images, labels = render_digits(25, seed=0)
    assert images.shape == (25, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (25,) and labels.dtype == np.uint8
    assert set(labels.tolist()) <= set(range(10))
    empty_images, empty_labels = render_digits(0)
    assert empty_images.shape == (0, 28, 28) and empty_images.dtype == np.uint8
    assert empty_labels.shape == (0,) and empty_labels.dtype == np.uint8
    big, _ = render_digits(6, seed=0, image_size=48)
    assert big.shape == (6, 48, 48)
    assert (big.max(axis=(1, 2)) == 255).all()


def test_digits_deterministic_and_varied_by_seed() -> None:
    a_images, a_labels = render_digits(60, seed=5)
    b_images, b_labels = render_digits(60, seed=5)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    c_images, c_labels = render_digits(60, seed=6)
    assert not np.array_equal(a_labels, c_labels)
    # Same digit, different seeds: the pictures differ (not one fixed template per class).
    first_a = a_images[np.flatnonzero(a_labels == 4)[0]]
    first_c = c_images[np.flatnonzero(c_labels == 4)[0]]
    assert np.abs(first_a.astype(int) - first_c.astype(int)).sum() > 0


def test_digit_classes_balanced_and_shuffled(digits_big) -> None:
    _, labels = digits_big
    counts = np.bincount(labels, minlength=10)
    assert counts.min() == counts.max() == N_BIG // 10
    _, odd_labels = render_digits(1003, seed=0)
    odd_counts = np.bincount(odd_labels, minlength=10)
    assert odd_counts.max() - odd_counts.min() <= 1 and odd_counts.sum() == 1003
    assert (labels[:100] != np.arange(100) % 10).any(), "labels should come in random order"


def test_digits_look_like_mnist(digits_big) -> None:
    images, _ = digits_big
    # White digit on black: most pixels are background, every digit reaches full white.
    assert np.median(images) == 0
    assert (images.max(axis=(1, 2)) == 255).all()
    # Ink per image similar to MNIST (MNIST's mean pixel is 33 of 255).
    assert 18 < images.mean() < 45
    # The digit fits in a box of about 20x20 pixels, as in MNIST.
    sample = images[:500] > 30
    rows = np.array([np.flatnonzero(m.any(axis=1)) for m in sample], dtype=object)
    heights = np.array([r[-1] - r[0] + 1 for r in rows])
    assert 15 <= np.median(heights) <= 22 and heights.max() <= 25


def test_digit_centre_of_mass_near_centre(digits_big) -> None:
    images, _ = digits_big
    mass = images.astype(np.float64)
    total = mass.sum(axis=(1, 2))
    grid = np.arange(28)
    cy = (mass.sum(axis=2) @ grid) / total
    cx = (mass.sum(axis=1) @ grid) / total
    centre = 13.5  # the middle of 28 pixels counted from 0
    assert abs(cy.mean() - centre) < 0.1 and abs(cx.mean() - centre) < 0.1
    # A small random shift (under 1 pixel) plus blur and clipping: every digit stays close.
    assert np.abs(cy - centre).max() < 1.5 and np.abs(cx - centre).max() < 1.5


def test_digit_labels_match_pictures_and_data_is_varied() -> None:
    # Learnable: a nearest-neighbour classifier on raw pixels with the digits of one seed as its
    # memory must recognise the digits of another seed (about 89% here, as on MNIST with 2,000
    # examples); wrong or shuffled labels would give about 10%.
    # Varied: one template per class (the first example of each digit) must do clearly worse (about
    # 41% here, 40-50% on MNIST). If every digit were drawn alike, one template would get ~100%.
    train_images, train_labels = render_digits(2000, seed=10)
    test_images, test_labels = render_digits(500, seed=11)
    memory, queries = _flat(train_images), _flat(test_images)
    distances = (queries**2).sum(axis=1)[:, None] - 2 * queries @ memory.T + (memory**2).sum(axis=1)[None]
    nn_accuracy = np.mean(train_labels[distances.argmin(axis=1)] == test_labels)
    assert nn_accuracy > 0.8, f"nearest-neighbour accuracy {nn_accuracy:.3f}"

    templates = np.stack([memory[np.flatnonzero(train_labels == d)[0]] for d in range(10)])
    template_distances = ((queries[:, None, :] - templates[None]) ** 2).sum(axis=-1)
    template_accuracy = np.mean(template_distances.argmin(axis=1) == test_labels)
    assert template_accuracy < 0.7, f"one template per class already gets {template_accuracy:.3f}"
    assert template_accuracy > 0.2, "one template per class should still beat chance"


def test_digit_fonts_are_checked() -> None:
    fonts = standins.DIGIT_FONTS
    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    assert all((font_dir / name).is_file() for name in fonts)
    for expected in ("DejaVuSans.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf"):
        assert expected in fonts
    for expected in ("cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf"):
        assert expected in fonts
    # Symbol fonts, old-style figures, placeholders and glyph-less fonts are left out.
    for skipped in (
        "cmsy10.ttf",
        "cmex10.ttf",
        "cmmi10.ttf",
        "LastResortHE-Regular.ttf",
        "STIXSizOneSymReg.ttf",
        "STIXNonUni.ttf",
        "DejaVuSansDisplay.ttf",
    ):
        assert skipped not in fonts


def test_digit_argument_errors() -> None:
    with pytest.raises(ValueError, match="n must be at least 0; got -1"):
        render_digits(-1)
    with pytest.raises(TypeError, match="n must be a whole number; got float"):
        render_digits(2.5)
    with pytest.raises(ValueError, match="image_size must be at least 8; got 4"):
        render_digits(3, image_size=4)


# ------------------------------------------------------------------------------------------ crops


def test_photos_are_shipped_with_scikit_image() -> None:
    data_dir = standins._skimage_data_dir()
    for name in PHOTOS:
        assert (data_dir / name).is_file(), f"{name} is not installed with scikit-image"


def test_photos_match_scikit_image_loaders() -> None:
    # Reference: scikit-image's own loaders read the same files.
    from skimage import data

    np.testing.assert_array_equal(standins._load_photo("astronaut.png"), data.astronaut())
    camera = data.camera()
    np.testing.assert_array_equal(standins._load_photo("camera.png"), np.stack([camera] * 3, axis=-1))


def test_photo_split_is_disjoint_and_complete() -> None:
    split = photo_split()
    assert set(split) == {"train", "test"}
    assert split["train"] and split["test"]
    assert not set(split["train"]) & set(split["test"])
    assert sorted(split["train"] + split["test"]) == sorted(PHOTOS)
    split["train"].clear()  # callers get a copy: the split itself cannot be changed by accident
    assert photo_split()["train"]


def test_test_crops_come_only_from_test_photos() -> None:
    standins._PHOTO_CACHE.clear()
    photo_crops(20, split="test", seed=0)
    assert set(standins._PHOTO_CACHE) == set(photo_split()["test"])
    standins._PHOTO_CACHE.clear()
    photo_crops(20, split="train", seed=0)
    assert set(standins._PHOTO_CACHE) == set(photo_split()["train"])


def test_crop_shapes_determinism_and_seeds() -> None:
    crops = photo_crops(40, seed=1)
    assert crops.shape == (40, 32, 32, 3) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops, photo_crops(40, seed=1))
    assert not np.array_equal(crops, photo_crops(40, seed=2))
    assert not np.array_equal(photo_crops(40, split="test", seed=1), crops)
    assert photo_crops(0).shape == (0, 32, 32, 3)
    for size in (16, 64):
        assert photo_crops(5, size=size, split="test").shape == (5, size, size, 3)


def test_crops_look_like_natural_images() -> None:
    crops = photo_crops(400, seed=4).astype(np.float64)
    # Full range of brightness across crops, no constant crops.
    assert crops.min() < 20 and crops.max() > 235
    assert (crops.std(axis=(1, 2, 3)) > 0.5).all()
    # Natural images are smooth: neighbouring pixels are strongly correlated (noise would give ~0).
    left, right = crops[:, :, :-1].ravel(), crops[:, :, 1:].ravel()
    assert np.corrcoef(left, right)[0, 1] > 0.8
    # Both grey photos (R = G = B) and colour photos are used.
    grey = (crops[..., 0] == crops[..., 1]).all(axis=(1, 2)) & (crops[..., 1] == crops[..., 2]).all(axis=(1, 2))
    assert 0.1 < grey.mean() < 0.9
    # Flips: about half the crops are mirrored, so the mean crop is nearly left-right symmetric.
    mean_crop = crops.mean(axis=0)
    assert np.abs(mean_crop - mean_crop[:, ::-1]).mean() < 6


def test_crop_argument_errors() -> None:
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'; got 'val'"):
        photo_crops(4, split="val")
    with pytest.raises(ValueError, match="size must be at most 300 for split 'test'"):
        photo_crops(4, size=400, split="test")
    with pytest.raises(ValueError, match="n must be at least 0"):
        photo_crops(-3)


