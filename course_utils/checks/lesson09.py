"""Checks for lesson 09's exercises (Image restoration basics).

psnr_from_mse and masked_l1: stored results (checks/data/lesson09.json, computed with NumPy in float64), then
scikit-image's ``peak_signal_noise_ratio`` and the course's ``metrics.masked_l1`` on random images; compose:
properties (the image where mask == 1, the fill where mask == 0); diffusion_fill: properties (the course's mean
fill at 0 iterations; known pixels kept, SciPy's discrete Laplacian 0 in the hole and values within the known
range after many); the hole-size experiment: Telea recomputed with ``baselines.inpaint``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import (
    _NOT_WRITTEN,
    CheckFailed,
    _call,
    _passed,
    _require_written,
    _run_stored,
    _show,
    _to_numpy,
)
from course_utils.checks.stored import stored

__all__ = [
    "check_compose",
    "check_diffusion_fill",
    "check_hole_size_experiment",
    "check_masked_l1",
    "check_psnr_from_mse",
]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _close(got: Any, expected: Any, rtol: float = 1e-5) -> bool:
    """True when ``got`` has ``expected``'s shape and values (relative tolerance ``rtol``)."""
    try:
        got_array = np.asarray(_to_numpy(got), dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected_array = np.asarray(expected, dtype=np.float64)
    same_shape = got_array.shape == expected_array.shape
    return same_shape and bool(np.allclose(got_array, expected_array, rtol=rtol, atol=1e-9))


# --------------------------------------------------------------------------- PSNR from MSE


def check_psnr_from_mse(fn: Any) -> None:
    """Lesson 09: ``fn(mse, data_range=1.0)`` is 10 log10(data_range**2 / mse) in dB, for numbers and arrays."""
    name = "psnr_from_mse"
    _require_function(fn, name)
    book = stored("lesson09", name)
    probe, expected = book.cases[0].args, book.cases[0].expected  # (0.01, 255.0): 8-bit-like, shows most mistakes
    got = _call(fn, probe, name, book.params)
    mse, data_range = probe
    wrong = {
        "20 log10(range / MSE)": (20 * np.log10(data_range / mse), "20 log10 goes with the root of the MSE "
                                   "(RMSE): with the MSE itself use 10 log10(data_range**2 / mse)."),
        "10 log10(range / MSE)": (10 * np.log10(data_range / mse), "square the data range: the peak signal "
                                   "power is data_range**2, compared with the mean *squared* error."),
        "10 log10(1 / MSE)": (10 * np.log10(1 / mse), "use the `data_range` argument: for 8-bit images it is 255, "
                               "so the peak power is 255**2."),
        "10 ln(range**2 / MSE)": (10 * np.log(data_range**2 / mse), "decibels use the base-10 logarithm, "
                                   "np.log10, not the natural logarithm np.log."),
        "10 log10(MSE / range**2)": (10 * np.log10(mse / data_range**2), "the fraction is upside down: a "
                                      "smaller error must give a larger PSNR."),
    }
    if not _close(got, expected):
        for _, (value, hint) in wrong.items():
            if _close(got, value):
                raise CheckFailed(
                    f"`{name}(0.01, 255.0)` returned {_show(got)}; expected {expected:.4f} dB. Hint: {hint}"
                )
    count = _run_stored(fn, "lesson09", name, name=name, rtol=1e-5, atol=1e-6, check_dtype=False)
    count += _psnr_against_scikit_image(fn, name)
    _passed(name, count)


def _psnr_against_scikit_image(fn: Any, name: str) -> int:
    """Compare ``fn(mse(a, b), data_range)`` with scikit-image's PSNR of random image pairs."""
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(91)
    cases = []
    for data_range, shape, noise in [(1.0, (8, 8, 3), 0.05), (255.0, (6, 7), 12.0), (2.0, (5, 5, 1), 0.3)]:
        target = rng.uniform(0, data_range, size=shape)
        restored = np.clip(target + rng.normal(0, noise, size=shape), 0, data_range)
        cases.append((restored, target, data_range))
    for restored, target, data_range in cases:
        mse = float(np.mean((restored - target) ** 2))
        expected = peak_signal_noise_ratio(target, restored, data_range=data_range)
        got = _call(fn, (mse, data_range), name, ("mse", "data_range"))
        if not _close(got, expected):
            raise CheckFailed(
                f"`{name}({mse:.6g}, {data_range})` returned {_show(got)}; scikit-image's peak_signal_noise_ratio of "
                f"the two images this MSE comes from is {expected:.6f} dB."
            )
    return len(cases)


def check_masked_l1(fn: Any) -> None:
    """Lesson 09: ``fn(restored, target, mask)`` is the mean |restored - target| over hole pixels, per image."""
    name = "masked_l1"
    _require_function(fn, name)
    book = stored("lesson09", name)
    (restored, target, mask), expected = book.cases[0].args, book.cases[0].expected
    got = _call(fn, (restored, target, mask), name, book.params)
    call = f"`{name}` on 3 images of 12x12x3 returned {_show(got)}"
    error = np.abs(restored - target).astype(np.float64)
    known = np.broadcast_to(mask == 1, target.shape)
    hole = ~known
    hints = [
        (error.mean(axis=(1, 2, 3)), "that is the mean over *all* pixels. Average only where mask == 0 (the "
         "hole): known pixels are copied from the photo, so counting them hides how bad the fill is."),
        (np.where(known, error, 0).sum(axis=(1, 2, 3)) / known.sum(axis=(1, 2, 3)), "that averages where "
         "mask == 1, the KNOWN pixels. In this course 1 = known and 0 = hole: use mask == 0."),
        (np.where(hole, error, 0).sum(axis=(1, 2, 3)) / (mask == 0).sum(axis=(1, 2, 3)), "the sum is over the "
         "hole's pixels in every colour channel, so divide by the number of hole pixels times the channels "
         "(broadcast the mask to the images' shape before counting)."),
        (np.where(hole, error, 0).sum(axis=(1, 2, 3)) / target[0].size, "divide by the number of hole values, "
         "not by the number of all values in the image."),
        (np.where(hole, (restored - target).astype(np.float64), 0).sum(axis=(1, 2, 3)) / hole.sum(axis=(1, 2, 3)),
         "take the absolute value of the difference: errors of opposite sign must not cancel."),
    ]
    if _to_numpy(got) is not None and np.ndim(_to_numpy(got)) == 0 and _close(got, expected.mean()):
        raise CheckFailed(f"{call}: one number for the batch. Return one value per image, shape (N,) = (3,).")
    if not _close(got, expected):
        for value, hint in hints:
            if _close(got, value):
                raise CheckFailed(f"{call}; expected {_show(expected)}. Hint: {hint}")
    count = _run_stored(fn, "lesson09", name, name=name, rtol=1e-5, atol=1e-6, check_dtype=False)
    count += _masked_l1_against_the_course(fn, name)
    _passed(name, count)


def _masked_l1_against_the_course(fn: Any, name: str) -> int:
    """Compare ``fn`` with the course's ``metrics.masked_l1`` on random batches and the lesson's mask kinds."""
    from course_utils import masks, metrics

    rng = np.random.default_rng(92)
    cases = []
    for kind, n, size, channels in [("center", 2, 16, 3), ("boxes", 3, 16, 1), ("free_form", 2, 24, 3)]:
        target = rng.random((n, size, size, channels)).astype(np.float32)
        restored = rng.random((n, size, size, channels)).astype(np.float32)
        cases.append((restored, target, masks.make_masks(kind, n, size, seed=3), kind))
    for restored, target, mask, kind in cases:
        expected = metrics.masked_l1(restored, target, mask)
        got = _call(fn, (restored, target, mask), name, ("restored", "target", "mask"))
        if not _close(got, expected):
            raise CheckFailed(
                f"`{name}` on {len(target)} random images of shape {target.shape[1:]} with {kind} masks returned "
                f"{_show(got)}; the course's metrics.masked_l1 gives {_show(expected)}."
            )
    return len(cases)


def check_compose(fn: Any) -> None:
    """Lesson 09: ``fn(image, mask, fill)`` keeps ``image`` where mask == 1 and takes ``fill`` in the hole.

    Judged by those two properties, value by value, with no reference composite.
    """
    name = "compose"
    _require_function(fn, name)
    params = ("image", "mask", "fill")
    rng = np.random.default_rng(0)
    image = rng.random((2, 8, 8, 3)).astype(np.float32)
    fill = rng.random((2, 8, 8, 3)).astype(np.float32)
    mask = np.ones((2, 8, 8, 1), np.float32)
    mask[:, 2:6, 3:7] = 0
    got = _call(fn, (image, mask, fill), name, params)
    call = f"`{name}(image, mask, fill)` on 2 images of 8x8x3 returned {_show(got)}"
    hints = [
        (mask * fill + (1 - mask) * image, "the roles are swapped: where mask == 1 (known) keep `image`, "
         "where mask == 0 (hole) take `fill`."),
        (fill, "that is the fill everywhere: the known pixels must stay exactly the photo's."),
        (image, "that is the damaged input unchanged: paste the fill into the hole."),
        (mask * image, "that zeroes the hole; add (1 - mask) * fill to fill it."),
    ]
    if _composed(got, image, mask, fill) is not None:
        for value, hint in hints:
            if _close(got, value):
                raise CheckFailed(f"{call}; the result is wrong. Hint: {hint}")
    cases = [(image, mask, fill), (image[0], mask[0], fill[0]), (image, mask, np.full_like(image, 0.5))]
    for number, case in enumerate(cases, start=1):
        problem = _composed(_call(fn, case, name, params), *case)
        if problem:
            raise CheckFailed(
                f"`{name}` gives a wrong result for case {number} of {len(cases)} (images shaped {case[0].shape}): "
                f"{problem}"
            )
    _passed(name, len(cases))


def _composed(got: Any, image: np.ndarray, mask: np.ndarray, fill: np.ndarray) -> str | None:
    """What breaks the two properties of a composite: ``image`` where mask == 1, ``fill`` where mask == 0."""
    value = _to_numpy(got)
    try:
        value = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return f"it returned {_show(got)}; it should return an array shaped like the image, {image.shape}."
    if value.shape != image.shape:
        return f"it returned shape {value.shape}; expected the image's shape {image.shape}."
    known = np.broadcast_to(mask == 1, image.shape)
    wrong_known = ~np.isclose(value[known], image[known], rtol=1e-6, atol=1e-6)
    wrong_hole = ~np.isclose(value[~known], fill[~known], rtol=1e-6, atol=1e-6)
    if wrong_known.any():
        return f"{int(wrong_known.sum())} known values (mask == 1) are not the image's; keep them as they are."
    if wrong_hole.any():
        return f"{int(wrong_hole.sum())} hole values (mask == 0) are not the fill's; take them from `fill`."
    return None


# --------------------------------------------------------------------------- a harmonic (diffusion) fill


def _fill_cases() -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(image, mask, description): a colour ramp with an inner hole, and random images with holes at the border."""
    rng = np.random.default_rng(90)
    rows, cols = np.mgrid[0:12, 0:12] / 11.0
    ramp = np.stack([0.1 + 0.6 * rows, 0.8 - 0.5 * cols, 0.2 + 0.3 * rows + 0.4 * cols], axis=-1)
    inner = np.ones((12, 12, 1))
    inner[3:9, 4:10] = 0
    colour = rng.random((12, 12, 3))
    two_holes = np.ones((12, 12, 1))
    two_holes[0:5, 0:4] = 0  # touches the top and left borders
    two_holes[6:10, 5:11] = 0
    grey = rng.random((9, 10, 1))
    edge = np.ones((9, 10, 1))
    edge[2:7, 6:10] = 0  # touches the right border
    return [
        (ramp.astype(np.float32), inner.astype(np.float32), "a colour ramp (a linear image) with a 6x6 hole"),
        (colour.astype(np.float32), two_holes.astype(np.float32), "a random 12x12 colour image with two holes, "
         "one at the top-left corner"),
        (grey.astype(np.float32), edge.astype(np.float32), "a random 9x10 grey image with a hole at the right border"),
    ]


def _laplacian(image: np.ndarray, mode: str) -> np.ndarray:
    """SciPy's discrete Laplacian of each channel (up + down + left + right - 4 x centre)."""
    from scipy import ndimage

    return np.stack([ndimage.laplace(image[..., c], mode=mode) for c in range(image.shape[-1])], axis=-1)


def _box_residual(image: np.ndarray) -> np.ndarray:
    """How far each pixel is from the mean of its 3x3 neighbourhood (8 neighbours and itself), edges repeated."""
    from scipy import ndimage

    return np.stack([ndimage.uniform_filter(image[..., c], 3, mode="nearest") - image[..., c]
                     for c in range(image.shape[-1])], axis=-1)


def check_diffusion_fill(fn: Any) -> None:
    """Lesson 09: ``fn(image, mask, iterations)`` fills the hole by repeated averaging of the 4 neighbours.

    ``image`` is one (H, W, C) image or a batch (N, H, W, C), with a mask of one channel. Judged by properties,
    with no reference fill: 0 iterations give the course's mean fill; after many the
    known pixels are unchanged and the hole is harmonic (SciPy's discrete Laplacian, edges repeated, is 0 there),
    so a linear ramp comes back exactly, and every value lies between the known pixels' extremes.
    """
    from course_utils import baselines

    name = "diffusion_fill"
    _require_function(fn, name)
    params = ("image", "mask", "iterations")
    cases = _fill_cases()
    count = 0
    # 0 iterations: only the starting fill, the mean colour of the known pixels.
    image, mask, label = cases[1]
    call = f"`{name}(image, mask, iterations=0)` on {label}"
    got = _fill_result(_call(fn, (image, mask, 0), name, params), call, image)
    start = baselines.inpaint(image, mask, "mean_fill")
    if not _close(got, start, rtol=1e-5):
        hole = np.broadcast_to(mask == 0, image.shape)
        if np.allclose(got[~hole], image[~hole], atol=1e-6) and np.allclose(got[hole], 0, atol=1e-6):
            hint = "the hole starts at 0 (black); start it at the mean colour of the known pixels, one per channel."
        elif not np.allclose(got[~hole], image[~hole], atol=1e-6):
            hint = "the known pixels (mask == 1) must stay exactly as they are."
        else:
            hint = ("with iterations=0 nothing is averaged yet: the hole holds the mean colour of the known pixels "
                    "(one mean per channel, over mask == 1). Then repeat the averaging exactly `iterations` times.")
        raise CheckFailed(f"{call} should only paste the starting fill into the hole. Hint: {hint}")
    count += 1
    batch = (np.stack([cases[1][0], cases[0][0]]), np.stack([cases[1][1], cases[0][1]]), "a batch of the two "
             "colour images above, shape (2, 12, 12, 3)")
    for image, mask, label in [*cases, batch]:
        iterations = 800  # holes at most 6 pixels across (10 with the border): converged to round-off by 400
        call = f"`{name}(image, mask, iterations={iterations})` on {label}"
        got = _fill_result(_call(fn, (image, mask, iterations), name, params), call, image)
        for number, one in enumerate(got if got.ndim == 4 else [got]):
            problem = _fill_problem(one, *((image[number], mask[number]) if got.ndim == 4 else (image, mask)))
            if problem:
                raise CheckFailed(f"{call}{f', image {number}' if got.ndim == 4 else ''}: {problem}")
        count += 1
    _passed(name, count)


def _fill_result(got: Any, call: str, image: np.ndarray) -> np.ndarray:
    value = _to_numpy(got)
    if value is None:
        raise CheckFailed(f"{call} returned None. Did you forget a `return` statement?")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{call} returned {_show(value)}; it should return an image shaped {image.shape}.") from None
    if array.shape != image.shape:
        raise CheckFailed(f"{call} returned shape {array.shape}; expected the image's shape {image.shape}.")
    if not np.all(np.isfinite(array)):
        raise CheckFailed(f"{call} returned NaN or inf values.")
    return array


def _fill_problem(got: np.ndarray, image: np.ndarray, mask: np.ndarray) -> str | None:
    """What is wrong with a converged harmonic fill ``got`` of ``image``'s hole, or None."""
    hole = np.broadcast_to(mask == 0, image.shape)
    known = ~hole
    if not np.allclose(got[known], image[known], atol=1e-6):
        changed = int(np.sum(~np.isclose(got[known], image[known], atol=1e-6)))
        inverted = np.allclose(got[hole], image[hole], atol=1e-6)
        return (
            f"{changed} known values (mask == 1) changed."
            + (" It looks like the mask is inverted: 1 = known (keep), 0 = hole (fill)." if inverted else
               " Only the hole changes: after each averaging step put the known pixels back (or update only where "
               "mask == 0).")
        )
    low, high = image[known].min(), image[known].max()
    if got[hole].min() < low - 1e-6 or got[hole].max() > high + 1e-6:
        return (
            f"the hole holds values from {got[hole].min():.4f} to {got[hole].max():.4f}, outside the known pixels' "
            f"range [{low:.4f}, {high:.4f}]. Averages of neighbours can never leave that range: replace each hole "
            "pixel by the mean of its 4 neighbours, no more."
        )
    residual = np.abs(_laplacian(got, "nearest"))[hole].max()
    if residual < 1e-4:  # converged values in [0, 1]: round-off leaves about 1e-7, float32 included
        return None
    if np.abs(_laplacian(got, "wrap"))[hole].max() < 1e-4:
        return ("at the image border the neighbours wrap around to the opposite side (np.roll does that). Repeat "
                "the border pixel instead: np.pad(..., mode='edge') before taking the neighbours.")
    if np.abs(_laplacian(got, "constant"))[hole].max() < 1e-4:
        return ("at the image border the missing neighbours count as 0 (black). Repeat the border pixel instead: "
                "np.pad(..., mode='edge').")
    if np.abs(_laplacian(got, "mirror"))[hole].max() < 1e-4:
        return ("at the image border np.pad(..., mode='reflect') takes the pixel *behind* the border pixel as the "
                "missing neighbour; the lesson repeats the border pixel itself: np.pad(..., mode='edge').")
    if np.abs(_box_residual(got))[hole].max() < 1e-4:
        return ("each hole pixel is the mean of its 3x3 neighbourhood (8 neighbours, or itself included). The "
                "lesson's fill averages the 4 neighbours only: up, down, left and right.")
    return (
        f"the fill has not settled: a hole pixel differs from the mean of its 4 neighbours by up to "
        f"{residual / 4:.3g}. Repeat the step `iterations` times (the argument), each time replacing every hole pixel "
        "by the mean of its 4 neighbours (up, down, left, right) in the previous image."
    )


# --------------------------------------------------------------------------- experiment: fills as the hole grows


_FILLS = ("diffusion", "telea")


def check_hole_size_experiment(hole_errors: Any, better_at_largest: Any, *, photos: Any, fractions: Any) -> None:
    """Lesson 09: the mean hole L1 of the diffusion fill and Telea on centre holes of growing ``fractions``.

    Telea's numbers are recomputed with the course's ``baselines.inpaint`` and ``metrics.masked_l1`` on the same
    ``photos`` and ``masks.center_hole`` masks; the diffusion fill's must be measured (not the mean fill's, not
    Telea's); ``better_at_largest`` must be the fill with the lower error at the largest hole, by these numbers.
    """
    from course_utils import baselines, masks, metrics

    name = "hole_errors"
    _require_written(hole_errors, name)
    fractions = [float(f) for f in fractions]
    photos = np.asarray(photos, dtype=np.float32)
    if not isinstance(hole_errors, dict) or set(hole_errors) != set(_FILLS):
        raise CheckFailed(f"`{name}` should be a dict with the keys {list(_FILLS)}; got {_show(hole_errors)}.")
    measured = {}
    for fill in _FILLS:
        try:
            values = np.asarray(_to_numpy(hole_errors[fill]), dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is None or values.shape != (len(fractions),):
            raise CheckFailed(
                f"`{name}[{fill!r}]` should hold {len(fractions)} numbers, the mean hole L1 over the photos for each "
                f"hole fraction {fractions}; got {_show(hole_errors[fill])}."
            )
        if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values > 1):
            raise CheckFailed(f"`{name}[{fill!r}]` = {_show(values)}: mean absolute errors of [0, 1] images lie in "
                              "[0, 1].")
        measured[fill] = values
    size = photos.shape[1]
    reference = {"telea": [], "mean_fill": []}
    for fraction in fractions:
        hole = masks.center_hole(len(photos), size, hole_fraction=fraction)
        for method in reference:
            restored = baselines.inpaint(photos, hole, method)
            reference[method].append(float(np.mean(metrics.masked_l1(restored, photos, hole))))
    telea, mean_fill = np.array(reference["telea"]), np.array(reference["mean_fill"])
    if not np.allclose(measured["telea"], telea, rtol=1e-4, atol=1e-6):
        raise CheckFailed(
            f"`{name}['telea']` = {_show(measured['telea'])}, but Telea on these {len(photos)} photos with "
            f"masks.center_hole(..., hole_fraction=f) gives {_show(telea)}: fill each photo set with "
            "baselines.inpaint(photos, hole_masks, 'telea') and average metrics.masked_l1 over the photos."
        )
    if np.allclose(measured["diffusion"], telea, rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"`{name}['diffusion']` repeats Telea's numbers: measure your own diffusion_fill.")
    if np.allclose(measured["diffusion"], mean_fill, rtol=1e-6, atol=1e-9):
        raise CheckFailed(
            f"`{name}['diffusion']` is exactly the mean fill's error {_show(mean_fill)}: the diffusion fill did not "
            "run any averaging step. Pass a number of iterations (the exercise's fill_iterations)."
        )
    name = "better_at_largest"
    _require_written(better_at_largest, name)
    if better_at_largest not in _FILLS:
        raise CheckFailed(f"`{name}` should be one of {list(_FILLS)}; got {_show(better_at_largest)}.")
    largest = int(np.argmax(fractions))
    at_largest = {fill: float(measured[fill][largest]) for fill in _FILLS}
    supported = min(_FILLS, key=at_largest.get)
    if better_at_largest != supported and not np.isclose(*at_largest.values(), rtol=1e-9):
        raise CheckFailed(
            f"`{name}` is {better_at_largest!r}, but your own numbers say otherwise: with the largest hole "
            f"(fraction {fractions[largest]}) the diffusion fill's hole L1 is {at_largest['diffusion']:.4f} and "
            f"Telea's {at_largest['telea']:.4f} (lower is better)."
        )
    print(f"✔ hole_errors and better_at_largest pass the checks: with the largest hole the {supported} fill's hole L1 "
          f"is {at_largest[supported]:.4f}, against {at_largest[max(_FILLS, key=at_largest.get)]:.4f}.")
