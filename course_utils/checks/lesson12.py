"""Checks for lesson 12's exercises (Generation meets restoration).

masked_reconstruction_loss: stored results (checks/data/lesson12.json, computed with NumPy over the known
entries); latent_blend: properties (the known pixels are the image's, the hole's are G(z)'s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_latent_blend", "check_masked_reconstruction_loss"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _as_array(got: Any, call: str, shape: tuple[int, ...]) -> np.ndarray:
    got = _to_numpy(got)
    if got is None or not isinstance(got, (np.ndarray, list, tuple, float, int, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; it should return an array shaped {shape}.")
    array = np.asarray(got, dtype=np.float64)
    if array.shape != shape:
        extra = " (one number per image: average over the height, width and channel axes only)" * (len(shape) == 1)
        raise CheckFailed(f"{call} returned an array shaped {array.shape}; expected {shape}{extra}.")
    return array


# --------------------------------------------------------------------------- the masked reconstruction loss


def check_masked_reconstruction_loss(fn: Any) -> None:
    """Lesson 12: ``fn(generated, images, masks)`` is, per image, the mean squared error over the known pixels."""
    name = "masked_reconstruction_loss"
    _require_function(fn, name)
    book = stored("lesson12", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (generated, images, masks), expected = stored_case.args, stored_case.expected
        got = _call(fn, (generated, images, masks), name, book.params)
        call = f"`{name}(generated, images, masks)` for {len(images)} images shaped {images.shape[1:]}"
        value = _as_array(got, call, expected.shape)
        if np.allclose(value, expected, rtol=1e-5, atol=1e-8):
            continue
        known = np.broadcast_to(masks, images.shape)
        error = (generated - images) ** 2
        hole = 1.0 - known
        candidates = {
            "you measured the error in the HOLE. The mask is 1 on KNOWN pixels: those are the only ones we can "
            "compare with, so weight the error by masks, not by 1 - masks.": (
                (hole * error).sum(axis=(1, 2, 3)) / np.maximum(hole.sum(axis=(1, 2, 3)), 1.0)
            ),
            "every pixel counts in your loss: multiply the error by the mask so the hole (mask 0) adds nothing. "
            "The hole of the damaged image holds no information about the digit.": error.mean(axis=(1, 2, 3)),
            "divide by the number of KNOWN entries (sum of the mask over height, width and channels), not by all "
            "entries: otherwise an image with a bigger hole looks better than it is.": (
                (known * error).mean(axis=(1, 2, 3))
            ),
            "the loss is the mean SQUARED error over the known pixels; it looks like you used absolute values.": (
                (known * np.abs(generated - images)).sum(axis=(1, 2, 3)) / known.sum(axis=(1, 2, 3))
            ),
        }
        if images.shape[-1] > 1:
            candidates[
                "count the known entries over the channels too: sum(masks) counts pixels, but the error has "
                f"{images.shape[-1]} channels per pixel (use the mask broadcast to the images' shape)."
            ] = (known * error).sum(axis=(1, 2, 3)) / masks.sum(axis=(1, 2, 3))
        hint = next(
            (text for text, wrong in candidates.items() if np.allclose(value, wrong, rtol=1e-5, atol=1e-8)),
            "per image: sum(m · (G(z) − x)²) / sum(m), both sums over height, width and channels.",
        )
        raise CheckFailed(
            f"{call} returned {np.round(value, 5)}; expected {np.round(expected, 5)} "
            f"(case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the blend


def check_latent_blend(fn: Any) -> None:
    """Lesson 12: ``fn(images, masks, generated)`` keeps the known pixels and takes G(z) in the hole.

    Judged by those two properties, pixel by pixel, with no reference blend.
    """
    name = "latent_blend"
    _require_function(fn, name)
    rng = np.random.default_rng(21)
    cases = []
    for n, side, channels in ((2, 6, 1), (3, 5, 3)):
        images = rng.random((n, side, side, channels))
        generated = rng.random((n, side, side, channels))
        masks = (rng.random((n, side, side, 1)) < 0.5).astype(np.float64)
        masks[:, 0, 0] = 1
        masks[:, -1, -1] = 0
        cases.append((images, masks, generated))
    for number, (images, masks, generated) in enumerate(cases, start=1):
        got = _call(fn, (images, masks, generated), name, ("images", "masks", "generated"))
        call = f"`{name}(images, masks, generated)` for images shaped {images.shape}"
        value = _as_array(got, call, images.shape)
        known = np.broadcast_to(masks, images.shape) == 1
        kept = np.allclose(value[known], images[known], rtol=1e-6, atol=1e-9)
        if kept and np.allclose(value[~known], generated[~known], rtol=1e-6, atol=1e-9):
            continue  # the two properties that define the blend: known pixels kept, the hole from G(z)
        candidates = {
            "known and hole are swapped: the mask is 1 on KNOWN pixels, which keep the image's values; G(z) "
            "fills only where the mask is 0.": masks * generated + (1 - masks) * images,
            "you returned G(z) everywhere. Its known pixels are only close to the image's; the blend keeps the "
            "real ones and uses G(z) only in the hole.": generated,
            "you returned the damaged image (the hole is not filled): add (1 - masks) * generated.": masks * images,
            "the hole is filled, but the known pixels are lost: add masks * images.": (1 - masks) * generated,
        }
        hint = next(
            (text for text, wrong in candidates.items() if np.allclose(value, wrong, rtol=1e-6, atol=1e-9)),
            "the blend takes each pixel from the images where masks is 1 and from G(z) where masks is 0.",
        )
        raise CheckFailed(
            f"{call} is wrong (case {number} of {len(cases)}); its known pixels "
            f"{'are' if kept else 'are NOT'} the image's. Hint: {hint}"
        )
    _passed(name, len(cases))
