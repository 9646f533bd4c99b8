"""A Gaussian model of photos learned from examples, and the hole fill it implies; lesson 10.

Conventions (the same as :mod:`course_utils.masks`): images are float32 in [0, 1], shaped (N, H, W, C);
masks are float32 in {0, 1}, shaped (N, H, W, 1), with **1 = known pixel** and **0 = hole**.

:meth:`GaussianPrior.fit` learns the mean and the **covariance** of the pixels of training photos: how
strongly the brightness of any pixel goes with that of any other. Every channel of every photo counts as
one grey example, and every photo also counts in its eight orientations (flips and quarter turns), which
costs nothing: the covariance of a turned photo is the covariance with its pixels renumbered.

If photos were Gaussian with that mean μ and covariance Σ, the best guess for the hole H given the known
pixels K, in mean squared error, would be the conditional mean

    x̂_H = μ_H + Σ_HK Σ_KK⁻¹ (x_K − μ_K),

a weighted sum of the known pixels whose weights depend on where the hole is. With the precision matrix
Q = Σ⁻¹ the same answer solves the smaller system Q_HH (x̂_H − μ_H) = −Q_HK (x_K − μ_K), one unknown per
hole pixel; :meth:`GaussianPrior.fill` solves it for a whole batch at once with a Cholesky factorisation.
A small ``ridge`` is added to Σ's diagonal: it keeps the solve stable and is the model's allowance for
noise. Lesson 10 measures the fill against the classical methods of lesson 09 and uses it to teach the U-Net.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from course_utils.masks import check_mask
from course_utils.validation import check_positive_int, describe

__all__ = ["GaussianPrior", "RIDGE"]

#: Added to the covariance's diagonal before it is inverted: an allowance for noise of standard deviation
#: about 0.03 (on the [0, 1] scale) that keeps the solve stable. On 500 held-out stand-in photos per mask kind,
#: 3e-4, 1e-3 and 3e-3 scored within 0.2 dB of each other; 1e-3 was never the worst of the three.
RIDGE = 1e-3
#: The largest photo side the prior accepts: the covariance has side², squared, entries.
MAX_SIDE = 64


def _check_photos(name: str, images: Any) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[1] != array.shape[2] or array.shape[1] < 2:
        raise ValueError(f"{name} must be square photos shaped (N, H, H, C); got {describe(images)}.")
    if array.shape[1] > MAX_SIDE:
        raise ValueError(
            f"{name} are {array.shape[1]} pixels across; the Gaussian prior works up to {MAX_SIDE} (its covariance "
            f"would have {array.shape[1] ** 4:,} entries). Crop or shrink the photos first."
        )
    if array.dtype == np.uint8:
        raise ValueError(f"{name} must be floats in [0, 1], not uint8 0-255: divide by 255 first.")
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        raise ValueError(f"{name} must be a non-empty float array in [0, 1]; got {describe(images)}.")
    if not np.isfinite(array).all() or array.min() < -1e-6 or array.max() > 1 + 1e-6:
        raise ValueError(
            f"{name} must hold finite values in [0, 1]; got values in [{np.nanmin(array):.3g}, {np.nanmax(array):.3g}]."
            + (" Map [-1, 1] images with (x + 1) / 2 first." if np.nanmin(array) < 0 else "")
        )
    return array.astype(np.float32, copy=False)


def _orientations(side: int) -> list[np.ndarray]:
    """The 8 symmetries of a side x side square as permutations of its flattened pixel indices."""
    grid = np.arange(side * side).reshape(side, side)
    out = []
    for turned in (grid, grid.T):
        for rows in (slice(None), slice(None, None, -1)):
            for cols in (slice(None), slice(None, None, -1)):
                out.append(np.ascontiguousarray(turned[rows, cols]).ravel())
    return out


class GaussianPrior:
    """The mean and covariance of photo pixels, learned from examples, and the fill they imply; lesson 10.

    Build it with :meth:`fit`. ``mean`` is one number (the photos' average brightness), ``covariance`` a
    (side², side²) matrix over the pixels of a side x side photo, shared by all channels.
    """

    def __init__(self, mean: float, covariance: Any, *, ridge: float = RIDGE) -> None:
        covariance = np.asarray(covariance, dtype=np.float64)
        side = int(round(np.sqrt(covariance.shape[0]))) if covariance.ndim == 2 else 0
        if covariance.ndim != 2 or covariance.shape != (side * side, side * side) or side < 2:
            raise ValueError(f"covariance must be a square (side², side²) matrix; got {describe(covariance)}.")
        if not np.allclose(covariance, covariance.T, atol=1e-8):
            raise ValueError("covariance must be symmetric.")
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge > 0:
            raise ValueError(f"ridge must be a number > 0; got {describe(ridge)}.")
        self.side = side
        self.mean = float(mean)
        self.ridge = float(ridge)
        self.covariance = covariance
        self.precision = np.linalg.inv(covariance + ridge * np.eye(side * side))
        self._precision_tf = tf.constant(self.precision, tf.float64)

    @classmethod
    def fit(cls, images: Any, *, ridge: float = RIDGE, max_images: int = 20_000) -> GaussianPrior:
        """Learn the mean and covariance from photos (N, H, H, C) in [0, 1]; lesson 10.

        Up to ``max_images`` photos are used (the first ones). Each channel is one example, and the
        covariance is averaged over the square's eight orientations.
        """
        max_images = check_positive_int("max_images", max_images)
        photos = _check_photos("images", images)[:max_images]
        side = photos.shape[1]
        flat = np.moveaxis(photos, -1, 1).reshape(-1, side * side)  # one row per channel of each photo
        mean = float(flat.mean(dtype=np.float64))
        centred = flat - np.float32(mean)
        raw = np.zeros((side * side, side * side))
        for start in range(0, len(centred), 8192):  # float32 products, summed in float64
            part = centred[start : start + 8192]
            raw += (part.T @ part).astype(np.float64)
        raw /= len(centred)
        covariance = np.mean([raw[np.ix_(p, p)] for p in _orientations(side)], axis=0)
        return cls(mean, (covariance + covariance.T) / 2, ridge=ridge)

    def correlation(self, max_distance: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(distances 0, 1, 2..., mean correlation of two pixels that far apart along a row); lesson 10."""
        side = self.side
        if max_distance is not None:
            max_distance = min(check_positive_int("max_distance", max_distance), side - 1)
        else:
            max_distance = side - 1
        std = np.sqrt(np.diag(self.covariance))
        corr = self.covariance / np.outer(std, std)
        index = np.arange(side * side).reshape(side, side)
        means = [np.mean(corr[index[:, : side - d].ravel(), index[:, d:].ravel()]) for d in range(max_distance + 1)]
        return np.arange(max_distance + 1), np.asarray(means)

    def fill_tensor(self, images: Any, masks: Any) -> tf.Tensor:
        """The conditional-mean fill of a batch as a float32 tensor, in a graph or eagerly; lesson 10.

        ``images`` (N, side, side, C) may hold anything in the hole (only the known pixels are read);
        the result keeps the known pixels and holds the prior's guess, clipped to [0, 1], in the hole.
        """
        return self._conditional(images, masks)

    def _conditional(self, images: Any, masks: Any, seed: Any = None) -> tf.Tensor:
        """The conditional mean of the hole given the known pixels, plus a draw of its spread with a ``seed``."""
        images = tf.cast(images, tf.float64)
        masks = tf.cast(masks, tf.float64)
        n, pixels = tf.shape(images)[0], self.side * self.side
        known = tf.reshape(masks, (n, pixels))
        centred = tf.reshape(images - self.mean, (n, pixels, -1)) * known[..., None]
        hole = 1.0 - known
        size = tf.maximum(tf.cast(tf.reduce_max(tf.reduce_sum(hole, axis=1)), tf.int32), 1)
        # The hole's pixel indices first (a stable sort of the mask puts its zeros first), padded with known ones.
        order = tf.argsort(known, axis=1, stable=True)[:, :size]
        real = tf.gather(hole, order, batch_dims=1)  # 1 for a hole pixel, 0 for padding
        rows = tf.gather(self._precision_tf, order)  # Q_H·, shape (n, size, pixels)
        q_hh = tf.gather(rows, order, axis=2, batch_dims=1)
        system = q_hh * real[:, :, None] * real[:, None, :] + tf.linalg.diag(1.0 - real)
        rhs = -tf.matmul(rows, centred) * real[..., None]  # −Q_HK (x_K − μ), zero on the padding
        factor = tf.linalg.cholesky(system)  # Q_HH = L·Lᵀ (the identity on the padding)
        solved = tf.linalg.cholesky_solve(factor, rhs)
        if seed is not None:  # e = L⁻ᵀ z has covariance (L·Lᵀ)⁻¹ = Q_HH⁻¹, the hole's conditional covariance
            z = tf.random.stateless_normal(tf.shape(rhs)[:2], seed=seed, dtype=tf.float64) * real
            solved += tf.linalg.triangular_solve(factor, z[..., None], lower=True, adjoint=True)  # every channel
        batch = tf.broadcast_to(tf.range(n)[:, None], tf.shape(order))
        guess = tf.scatter_nd(tf.stack([batch, order], axis=-1), solved, tf.shape(centred))
        filled = tf.reshape(centred + guess * hole[..., None] + self.mean, tf.shape(images))
        return tf.cast(masks * images + (1.0 - masks) * tf.clip_by_value(filled, 0.0, 1.0), tf.float32)

    def fill(self, images: Any, masks: Any, *, batch_size: int = 128) -> np.ndarray:
        """Fill the holes of photos (N, side, side, C) in [0, 1]: known pixels kept, the hole guessed; lesson 10."""
        return self._batched(images, masks, batch_size, seed=None)

    def sample(self, images: Any, masks: Any, *, seed: int = 0, batch_size: int = 128) -> np.ndarray:
        """Fill the holes with a random draw from the prior, given the known pixels, not its mean; lessons 10-11.

        The hole is drawn from the Gaussian the model believes in: mean :meth:`fill`'s guess, covariance
        Q_HH⁻¹ (Q the precision matrix) in every channel. The model learned one covariance for all channels and
        says nothing of how they go together; the draw gives them the same deviation from the guess, because
        the channels of a photo rise and fall together (independent draws would paint colour noise on grey
        photos). The guess is the best in mean squared error; a draw has the spread of a real photo instead
        (and, if the photos were this Gaussian, twice the guess's expected squared error in every channel).
        Clipped to [0, 1]; the same ``seed`` gives the same draws.
        """
        seed = check_positive_int("seed", seed, minimum=0)
        return self._batched(images, masks, batch_size, seed=seed)

    def _batched(self, images: Any, masks: Any, batch_size: Any, *, seed: int | None) -> np.ndarray:
        photos = _check_photos("images", images)
        if photos.shape[1] != self.side:
            raise ValueError(
                f"This prior was fitted on {self.side}x{self.side} photos; got {photos.shape[1]}x{photos.shape[2]}."
            )
        masks = check_mask(masks, photos)
        if masks.shape != (*photos.shape[:3], 1):
            raise ValueError(f"masks must be shaped {(*photos.shape[:3], 1)} like the images; got {describe(masks)}.")
        batch_size = check_positive_int("batch_size", batch_size)
        # Photos with holes of similar size share a batch: a batch solves systems as large as its largest hole.
        order = np.argsort((masks == 0).sum(axis=(1, 2, 3)), kind="stable")
        out = np.empty(photos.shape, np.float32)
        for number, start in enumerate(range(0, len(order), batch_size)):
            part = order[start : start + batch_size]
            draw = None if seed is None else tf.constant([seed, number], tf.int64)
            out[part] = self._conditional(photos[part], masks[part], draw).numpy()
        return out

    def __repr__(self) -> str:
        return f"GaussianPrior(side={self.side}, mean={self.mean:.3f}, ridge={self.ridge:g})"
