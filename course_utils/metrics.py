"""Image-quality metrics, per image: MSE, PSNR, SSIM and masked L1 (lessons 09 and 10); NumPy only.

Every metric takes two images or two batches of the same shape: ``(N, H, W, C)`` batches give an array of
shape ``(N,)`` (one number per image), single images ``(H, W, C)`` or ``(H, W)`` give a float. Images are
compared on the scale given by ``data_range`` (1.0 for unit-range images).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from course_utils.masks import check_mask
from course_utils.validation import describe

__all__ = [
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "evaluate",
    "format_table",
    "masked_l1",
    "mse",
    "psnr",
    "ssim",
    "ssim_terms",
]

SSIM_SIGMA = 1.5  #: standard deviation of SSIM's Gaussian window (Wang et al. 2004)
SSIM_K1 = 0.01  #: SSIM's luminance constant: C1 = (K1 * L) ** 2
SSIM_K2 = 0.03  #: SSIM's contrast constant: C2 = (K2 * L) ** 2
_TRUNCATE = 3.5  # the window reaches 3.5 sigma: 11x11 pixels, as in scikit-image


def _pair(a: Any, b: Any, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays of the same shape, (N, H, W, C), (H, W, C) or (H, W); else a ValueError.

    Also refuses NaN, an empty batch and, given ``data_range``, values far beyond it (0-255 pixels scored
    as if they were unit-range images give a meaningless, often negative, PSNR).
    """
    raw = [np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in (a, b)]
    for name, array in zip(("the first image(s)", "the second image(s)"), raw):
        if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{name} must hold numbers; got {describe(array)}.")
        if array.size == 0:
            raise ValueError(f"{name} must hold at least one image; got {describe(array)}.")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} hold NaN or infinite values; got {describe(array)}.")
        if data_range is not None and np.abs(array).max() > 2.0 * data_range:
            raise ValueError(
                f"{name} hold values up to {np.abs(array).max():.4g}, far beyond data_range={data_range:g}: "
                "0-255 pixels? Convert them with pipeline.to_unit_range, or pass the right data_range."
            )
    x, y = (array.astype(np.float64) for array in raw)
    if x.shape != y.shape:
        raise ValueError(f"the two images must have the same shape; got {describe(x)} and {describe(y)}.")
    if x.ndim not in (2, 3, 4):
        raise ValueError(
            f"images must be shaped (N, H, W, C), (H, W, C) or (H, W); got {describe(x)}."
        )
    return x, y


def _check_range(data_range: Any) -> float:
    if isinstance(data_range, bool) or not isinstance(data_range, (int, float, np.integer, np.floating)):
        raise TypeError(f"data_range must be a positive number (1.0 for unit range); got {describe(data_range)}.")
    if data_range <= 0:
        raise ValueError(f"data_range must be positive (1.0 for unit-range images, 255 for uint8); got {data_range}.")
    return float(data_range)


def _per_image(values: np.ndarray, batched: bool) -> np.ndarray | float:
    """Average a (N, H, W, C) array of per-pixel values per image; a float when the input was one image."""
    means = values.reshape(values.shape[0], -1).mean(axis=1)
    return means if batched else float(means[0])


def _batch(x: np.ndarray) -> np.ndarray:
    """(H, W) -> (1, H, W, 1); (H, W, C) -> (1, H, W, C); batches unchanged."""
    if x.ndim == 2:
        return x[None, :, :, None]
    return x[None] if x.ndim == 3 else x


def mse(a: Any, b: Any) -> np.ndarray | float:
    """Mean squared error per image: the average of (a - b)**2; lesson 09."""
    x, y = _pair(a, b)
    return _per_image((_batch(x) - _batch(y)) ** 2, x.ndim == 4)


def psnr(a: Any, b: Any, *, data_range: float = 1.0) -> np.ndarray | float:
    """Peak signal-to-noise ratio in dB per image: 10 log10(data_range**2 / MSE), inf for equal images; lesson 09."""
    data_range = _check_range(data_range)
    x, y = _pair(a, b, data_range)
    error = np.asarray(_per_image((_batch(x) - _batch(y)) ** 2, x.ndim == 4), dtype=np.float64)
    with np.errstate(divide="ignore"):
        value = 10.0 * np.log10(data_range**2 / error)
    return value if value.ndim else float(value)


def _local_stats(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Gaussian-weighted local means, variances and covariance of two (N, H, W, C) batches."""
    sigma = (0.0, SSIM_SIGMA, SSIM_SIGMA, 0.0)  # blur height and width only, never across images or channels

    def blur(z: np.ndarray) -> np.ndarray:
        return gaussian_filter(z, sigma=sigma, truncate=_TRUNCATE, mode="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    return mu_x, mu_y, var_x, var_y, cov


def _window_margin(x: np.ndarray) -> int:
    """Pixels at each border where SSIM's 11x11 window sticks out of the image (they are left out)."""
    half = int(_TRUNCATE * SSIM_SIGMA + 0.5)
    if min(x.shape[1], x.shape[2]) < 2 * half + 1:
        raise ValueError(
            f"SSIM needs images of at least {2 * half + 1}x{2 * half + 1} pixels (its Gaussian window); "
            f"got {x.shape[1]}x{x.shape[2]}."
        )
    return half


def ssim_terms(a: Any, b: Any, *, data_range: float = 1.0, border: bool = False) -> dict[str, np.ndarray]:
    """SSIM's luminance, contrast and structure maps, and their product "ssim" (Wang et al. 2004); lesson 09.

    Maps are batched ``(N, H', W', C)``. Without ``border`` they leave out the 5-pixel border where the 11x11
    window sticks out of the image (as :func:`ssim` does, so a map's mean is the SSIM); with it, H' = H.
    Following Wang et al., C3 = C2 / 2, so contrast * structure is their combined term.
    """
    data_range = _check_range(data_range)
    x, y = _pair(a, b, data_range)
    x, y = _batch(x), _batch(y)
    mu_x, mu_y, var_x, var_y, cov = _local_stats(x, y)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    c3 = c2 / 2.0
    var_x, var_y = np.maximum(var_x, 0.0), np.maximum(var_y, 0.0)  # rounding can make them slightly negative
    sd_x, sd_y = np.sqrt(var_x), np.sqrt(var_y)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    contrast = (2 * sd_x * sd_y + c2) / (var_x + var_y + c2)
    structure = (cov + c3) / (sd_x * sd_y + c3)
    ssim_map = (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    terms = {"luminance": luminance, "contrast": contrast, "structure": structure, "ssim": ssim_map}
    if border:
        return terms
    m = _window_margin(x)
    return {name: value[:, m:-m, m:-m, :] for name, value in terms.items()}


def ssim(a: Any, b: Any, *, data_range: float = 1.0) -> np.ndarray | float:
    """Structural similarity per image (Gaussian window sigma 1.5, K1 0.01, K2 0.03; colour: channel mean); lesson 09.

    1 means identical; it rewards matching local brightness, contrast and structure rather than exact values.
    Matches ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)``: the mean is taken over pixels whose window lies inside the image.
    """
    x, _ = _pair(a, b)
    batched = x.ndim == 4
    return _per_image(ssim_terms(a, b, data_range=data_range)["ssim"], batched)


def masked_l1(a: Any, b: Any, masks: Any) -> np.ndarray | float:
    """Mean absolute error over the HOLE pixels only (mask == 0), per image, all channels; lesson 09.

    Known pixels (mask == 1) do not count. An image whose mask has no hole scores 0.
    """
    x, y = _pair(a, b)
    batched = x.ndim == 4
    x, y = _batch(x), _batch(y)
    mask = check_mask(masks, x)
    mask = _batch(mask) if mask.ndim in (2, 3) else mask
    hole = np.broadcast_to(mask == 0, x.shape)
    error = np.where(hole, np.abs(x - y), 0.0).reshape(x.shape[0], -1).sum(axis=1)
    count = hole.reshape(x.shape[0], -1).sum(axis=1)
    value = np.divide(error, count, out=np.zeros_like(error), where=count > 0)
    return value if batched else float(value[0])


def evaluate(restored: Any, targets: Any, masks: Any = None, *, data_range: float = 1.0) -> dict[str, np.ndarray]:
    """All metrics per image as a dict: "psnr", "ssim", "mse" and (with ``masks``) "masked_l1"; lesson 09."""
    scores = {
        "psnr": np.atleast_1d(psnr(restored, targets, data_range=data_range)),
        "ssim": np.atleast_1d(ssim(restored, targets, data_range=data_range)),
        "mse": np.atleast_1d(mse(restored, targets)),
    }
    if masks is not None:
        scores["masked_l1"] = np.atleast_1d(masked_l1(restored, targets, masks))
    return scores


def format_table(
    rows: Mapping[str, Mapping[str, float]],
    columns: Sequence[str] | None = None,
    *,
    digits: int = 3,
    row_title: str = "",
) -> str:
    """A plain-text table: one line per row name, one column per metric name; lesson 09.

    ``rows`` maps a row name (e.g. "center / telea") to ``{column: value}``.
    """
    if not rows:
        raise ValueError("rows must hold at least one row, e.g. {'telea': {'psnr': 25.1}}; got an empty mapping.")
    columns = list(columns) if columns is not None else list(next(iter(rows.values())))
    for name, values in rows.items():
        missing = [c for c in columns if c not in values]
        if missing:
            raise ValueError(
                f"row {name!r} has no value for the column(s) {', '.join(map(repr, missing))}; it has "
                f"{', '.join(map(repr, values)) or 'none'}. Give every row the same metrics, or pass columns=[...]."
            )
    names = [str(name) for name in rows]
    first = max(len(row_title), *(len(name) for name in names))
    cells = {name: [f"{float(values[c]):.{digits}f}" for c in columns] for name, values in zip(names, rows.values())}
    widths = [max(len(c), *(len(cells[name][j]) for name in names)) for j, c in enumerate(columns)]
    header = row_title.ljust(first) + "  " + "  ".join(c.rjust(w) for c, w in zip(columns, widths))
    lines = [header, "-" * len(header)]
    for name in names:
        lines.append(name.ljust(first) + "  " + "  ".join(v.rjust(w) for v, w in zip(cells[name], widths)))
    return "\n".join(lines)
