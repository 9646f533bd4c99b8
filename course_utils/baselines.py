"""Classical inpainting without learning: Telea, Navier-Stokes, biharmonic and mean fill (lesson 09); NumPy only.

Masks follow :mod:`course_utils.masks`: 1 = known pixel, 0 = hole. Every method returns float32 images in [0, 1]
whose known pixels are exactly the input's (the fill is composited into the hole only).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from skimage.restoration import inpaint_biharmonic

from course_utils.masks import _mask_like, _unit_images
from course_utils.validation import check_choice, check_positive_int, describe

__all__ = ["METHODS", "OPENCV_RADIUS", "inpaint"]

METHODS = ("telea", "navier_stokes", "biharmonic", "mean_fill")  #: the methods :func:`inpaint` knows
OPENCV_RADIUS = 3  #: neighbourhood radius (pixels) OpenCV's methods look at around each hole pixel
_OPENCV_FLAGS = {"telea": cv2.INPAINT_TELEA, "navier_stokes": cv2.INPAINT_NS}


def _opencv(image: np.ndarray, hole: np.ndarray, flag: int, radius: int) -> np.ndarray:
    """One (H, W, C) unit-range image filled by cv2.inpaint; ``hole`` is (H, W) bool, True where missing."""
    as_uint8 = np.round(image * 255).astype(np.uint8)
    opencv_mask = hole.astype(np.uint8) * 255  # OpenCV's mask is the opposite of ours: 255 (non-zero) = missing
    if as_uint8.shape[-1] == 1:
        filled = cv2.inpaint(as_uint8[..., 0], opencv_mask, radius, flag)[..., None]
    else:
        filled = cv2.inpaint(as_uint8, opencv_mask, radius, flag)
    return filled.astype(np.float32) / 255.0


def _mean_fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill the hole with the mean colour of the known pixels (grey 0.5 when nothing is known)."""
    known = ~hole
    colour = image[known].mean(axis=0) if known.any() else np.full(image.shape[-1], 0.5)
    return np.broadcast_to(colour, image.shape).astype(np.float32)


def inpaint(images: Any, masks: Any, method: str, *, radius: int = OPENCV_RADIUS) -> np.ndarray:
    """Fill the holes (mask == 0) of unit-range ``images`` with a classical ``method`` from METHODS; lesson 09.

    "telea" (Telea 2004) and "navier_stokes" (Bertalmio et al. 2001) call OpenCV's cv2.inpaint on uint8
    copies with the given ``radius``; "biharmonic" calls scikit-image's inpaint_biharmonic (a smooth
    interpolation); "mean_fill" pastes each image's mean known colour, the floor any method should beat.
    Accepts a batch ``(N, H, W, C)`` with masks ``(N, H, W, 1)``, or one image ``(H, W, C)`` with a mask
    ``(H, W, 1)`` / ``(H, W)``. Returns float32 of the images' shape.
    """
    check_choice("method", method, METHODS)
    radius = check_positive_int("radius", radius)
    array = _unit_images(images)
    if array.shape[-1] not in (1, 3):
        raise ValueError(
            f"images must have 1 (grey) or 3 (RGB) channels, the kinds OpenCV and scikit-image inpaint; got "
            f"{describe(array)}. Drop an alpha channel with images[..., :3]."
        )
    mask = _mask_like(masks, array)
    single = array.ndim == 3
    batch = array[None] if single else array
    mask_batch = np.broadcast_to(mask[None] if single else mask, batch.shape[:-1] + (1,))
    out = np.empty_like(batch, dtype=np.float32)
    for i, (image, m) in enumerate(zip(batch, mask_batch)):
        hole = m[..., 0] == 0
        if not hole.any():
            out[i] = image
            continue
        if method in _OPENCV_FLAGS:
            filled = _opencv(image, hole, _OPENCV_FLAGS[method], radius)
        elif method == "biharmonic":
            filled = inpaint_biharmonic(image.astype(np.float64), hole, channel_axis=-1)
        else:
            filled = _mean_fill(image, hole)
        out[i] = m * image + (1.0 - m) * np.clip(filled, 0.0, 1.0)
    return out[0] if single else out
