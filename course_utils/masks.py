"""Masks and degradations for image restoration (lessons 09 and 10); NumPy only, no TensorFlow.

The mask convention used everywhere in the course:

* a mask is ``float32`` with values in {0, 1};
* **1 = KNOWN pixel** (kept from the photo), **0 = missing** (the hole to fill);
* a batch of masks has shape ``(N, H, W, 1)`` and broadcasts over the colour channels of images ``(N, H, W, C)``;
  single masks ``(H, W, 1)`` or ``(H, W)`` are accepted where a function says so;
* images for restoration are ``float32`` in [0, 1] (unit range).

So ``mask * image`` keeps the known pixels and zeroes the hole, and ``mask * image + (1 - mask) * guess``
pastes a guess into the hole only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from course_utils.validation import RangeWarning, check_choice, check_positive_int, describe

__all__ = [
    "HOLE",
    "KINDS",
    "KNOWN",
    "LARGE_HOLE_KINDS",
    "add_noise",
    "apply_mask",
    "center_hole",
    "check_mask",
    "free_form",
    "hole_fraction",
    "large_hole",
    "make_masks",
    "random_boxes",
]

KNOWN = 1.0  #: mask value of a known pixel
HOLE = 0.0  #: mask value of a missing pixel
KINDS = ("center", "boxes", "free_form")  #: the mask kinds :func:`make_masks` draws
LARGE_HOLE_KINDS = ("top half", "centre")  #: the two large holes of lessons 12 and 15 (:func:`large_hole`)
#: A batch of masks whose holes cover more than this share is probably inverted (1 = hole): a warning says so.
#: The course's own masks hide at most about 64 % of one image and 25 % of a batch on average.
INVERTED_MASK_WARNING = 0.7


def _as_numpy(value: Any) -> np.ndarray:
    """A NumPy view of an array-like or a TensorFlow tensor (via ``.numpy()``)."""
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _check_fraction(name: str, value: Any, *, low: float = 0.0, high: float = 1.0) -> float:
    """Return ``value`` as a float in (low, high], or raise ValueError saying what was given."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number between {low:g} and {high:g}; got {describe(value)}.")
    if not low < float(value) <= high:
        raise ValueError(f"{name} must be greater than {low:g} and at most {high:g}; got {value}.")
    return float(value)


def _check_range(name: str, value: Any, *, minimum: int = 0) -> tuple[int, int]:
    """Return a (low, high) pair of whole numbers with minimum <= low <= high."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of whole numbers; got {describe(value)}.")
    low = check_positive_int(f"{name}[0]", value[0], minimum=minimum)
    high = check_positive_int(f"{name}[1]", value[1], minimum=minimum)
    if low > high:
        raise ValueError(f"{name} must be (low, high) with low <= high; got {tuple(value)}.")
    return low, high


def center_hole(n: int, size: int, *, hole_fraction: float = 0.5) -> np.ndarray:
    """``n`` masks with a centred square hole whose side is ``hole_fraction`` of the image side; lesson 09.

    The default 0.5 removes the middle quarter of the pixels (a 16x16 hole in a 32x32 image).
    Returns float32 ``(n, size, size, 1)``, 1 = known, 0 = hole.
    """
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=2)
    fraction = _check_fraction("hole_fraction", hole_fraction)
    side = min(size, max(1, int(round(size * fraction))))
    start = (size - side) // 2
    mask = np.ones((n, size, size, 1), dtype=np.float32)
    mask[:, start : start + side, start : start + side, :] = HOLE
    return mask


def large_hole(kind: str, n: int, size: int = 28) -> np.ndarray:
    """``n`` identical masks with a hole that hides most of a digit: the "top half" or the "centre"; lessons 12, 15.

    "top half" removes the upper size // 2 rows; "centre" a centred square of side 4/7 of the image (16x16 in a
    28x28 digit, nearly all of its stroke). Returns float32 ``(n, size, size, 1)``, 1 = known, 0 = hole.
    """
    check_choice("kind", kind, LARGE_HOLE_KINDS)
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=2)
    mask = np.ones((n, size, size, 1), dtype=np.float32)
    if kind == "top half":
        mask[:, : size // 2] = HOLE
    else:
        side = max(1, round(size * 4 / 7))
        start = (size - side) // 2
        mask[:, start : start + side, start : start + side] = HOLE
    return mask


def random_boxes(n: int, size: int, *, max_boxes: int = 3, max_fraction: float = 0.4, seed: int = 0) -> np.ndarray:
    """``n`` masks, each with 1 to ``max_boxes`` rectangular holes up to ``max_fraction`` of the side; lesson 09.

    Boxes may overlap and touch the border. Returns float32 ``(n, size, size, 1)``, 1 = known, 0 = hole.
    """
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=2)
    max_boxes = check_positive_int("max_boxes", max_boxes)
    fraction = _check_fraction("max_fraction", max_fraction)
    seed = check_positive_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    longest = max(1, int(round(size * fraction)))
    shortest = max(1, min(longest, size // 10))
    mask = np.ones((n, size, size, 1), dtype=np.float32)
    for i in range(n):
        for _ in range(int(rng.integers(1, max_boxes + 1))):
            height, width = rng.integers(shortest, longest + 1, size=2)
            top = int(rng.integers(0, size - height + 1))
            left = int(rng.integers(0, size - width + 1))
            mask[i, top : top + height, left : left + width, :] = HOLE
    return mask


def _stroke(canvas: np.ndarray, rng: np.random.Generator, width: tuple[int, int]) -> None:
    """Paint one random-walk brush stroke (zeros) into the 2-D ``canvas`` in place."""
    size = canvas.shape[0]
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    radius = rng.uniform(width[0], width[1]) / 2.0
    point = rng.uniform(0, size, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(3, 8))):
        angle += rng.uniform(-np.pi / 2, np.pi / 2)  # a brush turns, it does not jump
        length = rng.uniform(size / 8, size / 3)
        end = np.clip(point + length * np.array([np.sin(angle), np.cos(angle)]), 0, size - 1)
        # distance of every pixel to the segment point -> end: project onto it, clamp to its ends
        direction = end - point
        t = ((rows - point[0]) * direction[0] + (cols - point[1]) * direction[1]) / max(direction @ direction, 1e-12)
        t = np.clip(t, 0.0, 1.0)
        distance2 = (rows - point[0] - t * direction[0]) ** 2 + (cols - point[1] - t * direction[1]) ** 2
        canvas[distance2 <= radius**2] = HOLE
        point = end


def free_form(
    n: int, size: int, *, strokes: tuple[int, int] = (1, 4), width: tuple[int, int] = (2, 6), seed: int = 0
) -> np.ndarray:
    """``n`` masks of random-walk brush strokes (a random count in ``strokes``, widths in ``width`` px); lesson 09.

    Each stroke is a few connected segments that turn by up to 90 degrees, like a scribble over a photo.
    Returns float32 ``(n, size, size, 1)``, 1 = known, 0 = hole.
    """
    n = check_positive_int("n", n)
    size = check_positive_int("size", size, minimum=2)
    strokes = _check_range("strokes", strokes, minimum=1)
    width = _check_range("width", width, minimum=1)
    seed = check_positive_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    mask = np.ones((n, size, size, 1), dtype=np.float32)
    for i in range(n):
        for _ in range(int(rng.integers(strokes[0], strokes[1] + 1))):
            _stroke(mask[i, :, :, 0], rng, width)
    return mask


def make_masks(kind: str, n: int, size: int, *, seed: int = 0) -> np.ndarray:
    """``n`` masks of one ``kind`` ("center", "boxes" or "free_form") with default settings; lesson 09."""
    check_choice("kind", kind, KINDS)
    if kind == "center":
        return center_hole(n, size)
    if kind == "boxes":
        return random_boxes(n, size, seed=seed)
    return free_form(n, size, seed=seed)


def check_mask(masks: Any, images: Any = None) -> np.ndarray:
    """Return ``masks`` as float32 after checking the convention (values 0/1, 1 = known); lesson 09.

    Accepts ``(N, H, W, 1)`` batches, or ``(H, W, 1)`` / ``(H, W)`` single masks. With ``images``, the mask
    must match their height and width (and batch size, when both are batches). Raises ValueError otherwise.
    """
    array = _as_numpy(masks)
    if array.ndim not in (2, 3, 4) or (array.ndim >= 3 and array.shape[-1] != 1):
        raise ValueError(
            "a mask must be shaped (N, H, W, 1) for a batch, or (H, W, 1) / (H, W) for one image; "
            f"got {describe(array)}."
        )
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.number)):
        raise ValueError(f"a mask must hold the numbers 0 and 1; got {describe(array)}.")
    bad = ~np.isin(array, (0.0, 1.0))
    if np.any(bad):
        example = array[tuple(np.argwhere(bad)[0])]
        hint = " (did you forget to divide a 0/255 mask by 255?)" if np.nanmax(array) == 255 else ""
        raise ValueError(
            f"a mask must hold only 0 (hole) and 1 (known pixel); got {int(bad.sum())} other values such as "
            f"{float(example):g} in a {describe(array)}{hint}."
        )
    array = array.astype(np.float32, copy=False)
    holes = float(np.mean(array == HOLE)) if array.size else 0.0
    if holes > 0.9:
        raise ValueError(
            f"{holes:.0%} of the mask is 0 (hole). In this course 1 = KNOWN pixel and 0 = missing: "
            "if your mask marks the hole with 1, invert it with 1 - mask."
        )
    if holes > INVERTED_MASK_WARNING:
        warnings.warn(
            f"{holes:.0%} of the mask is 0 (hole), more than the course's masks ever hide. In this course 1 = KNOWN "
            "pixel and 0 = missing: if your mask marks the hole with 1, invert it with 1 - mask.",
            RangeWarning,
            stacklevel=2,
        )
    if images is not None:
        image_array = _as_numpy(images)
        if image_array.ndim not in (3, 4):
            raise ValueError(f"images must be shaped (N, H, W, C) or (H, W, C); got {describe(image_array)}.")
        mask_hw = array.shape[:2] if array.ndim == 2 else array.shape[-3:-1]
        if tuple(mask_hw) != tuple(image_array.shape[-3:-1]):
            raise ValueError(
                f"the mask's height and width {tuple(mask_hw)} must match the images' "
                f"{tuple(image_array.shape[-3:-1])}; got a mask {describe(array)} for images {describe(image_array)}."
            )
        if array.ndim == 4 and image_array.ndim == 4 and array.shape[0] not in (1, image_array.shape[0]):
            raise ValueError(
                f"there must be one mask per image (or a single mask for all): got {array.shape[0]} masks "
                f"for {image_array.shape[0]} images."
            )
    return array


def hole_fraction(masks: Any) -> np.ndarray | float:
    """The fraction of missing pixels (mask == 0): shape ``(N,)`` for a batch, a float for one mask; lesson 09."""
    array = _as_numpy(masks)
    if array.ndim == 4:
        return np.mean(check_mask(array) == HOLE, axis=(1, 2, 3))
    return float(np.mean(check_mask(array) == HOLE))


def _unit_images(images: Any) -> np.ndarray:
    """Return images as float32 in [0, 1] shaped (N, H, W, C) or (H, W, C), or raise ValueError."""
    array = _as_numpy(images)
    if array.ndim not in (3, 4):
        raise ValueError(f"images must be shaped (N, H, W, C) or (H, W, C); got {describe(array)}.")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"images must hold numbers; got {describe(array)}.")
    if array.size and (np.nanmin(array) < -1e-6 or np.nanmax(array) > 1 + 1e-6):
        hint = " (divide uint8 images by 255)" if np.nanmax(array) > 1 + 1e-6 else ""
        if np.nanmin(array) < -1e-6:
            hint = " (model-range images in [-1, 1]: convert them with (x + 1) / 2)"
        raise ValueError(f"images must be in the unit range [0, 1]; got {describe(array)}{hint}.")
    if array.size and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"images hold {bad} NaN or infinite value(s); got {describe(array)}.")
    return array.astype(np.float32, copy=False)


def _mask_like(masks: Any, images: np.ndarray) -> np.ndarray:
    """Check ``masks`` against ``images`` and give it a channel axis so it broadcasts over them."""
    array = check_mask(masks, images)
    return array[..., None] if array.ndim == 2 else array


def apply_mask(images: Any, masks: Any, *, fill: float = 0.0) -> np.ndarray:
    """Damage ``images`` (unit range) by setting their holes (mask == 0) to ``fill``; lesson 09.

    Returns float32 ``mask * images + (1 - mask) * fill`` with the images' shape.
    """
    array = _unit_images(images)
    mask = _mask_like(masks, array)
    if isinstance(fill, bool) or not isinstance(fill, (int, float, np.integer, np.floating)):
        raise TypeError(f"fill must be a number in [0, 1]; got {describe(fill)}.")
    if not 0.0 <= float(fill) <= 1.0:  # also refuses NaN
        raise ValueError(f"fill must be a number in [0, 1] (the images' unit range); got {fill!r}.")
    damaged = mask * array + (1.0 - mask) * np.float32(fill)
    return damaged.astype(np.float32)


def add_noise(images: Any, sigma: float, *, seed: int = 0) -> np.ndarray:
    """Add Gaussian noise of standard deviation ``sigma`` to unit-range ``images``, clipped to [0, 1]; lesson 09."""
    array = _unit_images(images)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)) or not sigma >= 0:
        raise ValueError(f"sigma must be a number >= 0 (e.g. 0.1 = 10% of the range); got {describe(sigma)}.")
    seed = check_positive_int("seed", seed, minimum=0)
    noise = np.random.default_rng(seed).normal(0.0, float(sigma), size=array.shape)
    return np.clip(array + noise, 0.0, 1.0).astype(np.float32)
