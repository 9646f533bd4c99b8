"""Write the expected results the exercise checks compare answers with (course_utils/checks/data/).

Usage::

    python tools/make_check_data.py            # (re)write every lesson's file
    python tools/make_check_data.py --check    # exit 1 when a stored file no longer matches what this computes

The student handout ships ``course_utils`` but not ``tools/``: the checks read stored cases (inputs and
expected results) instead of carrying a reference solution. Each exercise is one function below, registered
with ``@exercise(lesson, name, params)``, that returns its cases. Expected results come from libraries
(NumPy, SciPy, TensorFlow/Keras) or the course's own package, never from the learner's notebooks. To add an
exercise: write its function here, run this tool, and read the cases in the check with
``checks.core._run_stored(fn, lesson, name, ...)`` or ``checks.stored.stored(lesson, name)``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.checks import stored as store  # noqa: E402

Cases = list[dict[str, Any]]
BOOK: dict[str, dict[str, tuple[tuple[str, ...], Callable[[], Cases]]]] = {}


def exercise(lesson: str, name: str, params: tuple[str, ...]) -> Callable[[Callable[[], Cases]], Callable[[], Cases]]:
    """Register the function that computes the cases of ``name`` in ``lesson`` (its parameters name the inputs)."""

    def register(make: Callable[[], Cases]) -> Callable[[], Cases]:
        BOOK.setdefault(lesson, {})[name] = (params, make)
        return make

    return register


def case(*args: Any, expected: Any, **extra: Any) -> dict[str, Any]:
    """One case: the inputs in order, the expected result and named extra values."""
    return {"args": list(args), "expected": expected, "extra": extra}


def _tf() -> Any:
    import tensorflow as tf

    return tf


def _keras() -> Any:
    import keras

    return keras


# --------------------------------------------------------------------------- lesson 00


@exercise("lesson00", "to_model_range", ("images",))
def _to_model_range() -> Cases:
    levels = np.arange(256, dtype=np.uint8)  # every uint8 level: the check looks any image up in this table
    table = np.linspace(-1.0, 1.0, 256).astype(np.float32)  # 0 -> -1, 255 -> 1, evenly spaced
    return [case(levels, expected=table)]


@exercise("lesson00", "steps_per_epoch", ("n_images", "batch_size"))
def _steps_per_epoch() -> Cases:
    tf = _tf()
    cases = [(1000, 128), (60_000, 256), (256, 256), (255, 256), (10, 1), (0, 32)]
    return [
        case(n, b, expected=int(tf.data.Dataset.range(n).batch(b, drop_remainder=True).cardinality()))
        for n, b in cases
    ]


# --------------------------------------------------------------------------- lesson 01


@exercise("lesson01", "conv_output_size", ("n", "k", "s", "p", "d"))
def _conv_output_size() -> Cases:
    cases = [(6, 3, 1, 0, 1), (5, 3, 1, 1, 1), (7, 3, 2, 0, 1), (8, 3, 2, 1, 1), (28, 5, 1, 2, 1), (10, 3, 1, 0, 2),
             (32, 4, 2, 1, 1), (9, 3, 3, 1, 2), (7, 2, 2, 0, 1), (1, 1, 1, 0, 1), (12, 3, 1, 2, 3),
             (20, 5, 3, 0, 1)]  # fmt: skip
    found = []
    for n, k, s, p, d in cases:  # count the windows a dilated kernel fits in, every s-th one
        windows = np.lib.stride_tricks.sliding_window_view(np.arange(n + 2 * p), d * (k - 1) + 1)[::s]
        found.append(case(n, k, s, p, d, expected=int(windows.shape[0])))
    return found


# --------------------------------------------------------------------------- lesson 02


@exercise("lesson02", "transposed_size", ("size", "kernel", "stride", "padding", "output_padding"))
def _transposed_size() -> Cases:
    keras = _keras()
    cases = [(7, 5, 2, 2, 1), (7, 4, 2, 1, 0), (14, 4, 2, 1, 0), (2, 3, 1, 0, 0), (3, 3, 2, 0, 0), (5, 3, 3, 1, 2),
             (1, 4, 1, 0, 0), (4, 2, 3, 0, 1), (10, 7, 4, 3, 3)]  # fmt: skip
    found = []
    for n, k, s, p, op in cases:  # Keras' 'valid' output, then the explicit padding cropped from both ends
        layer = keras.layers.Conv2DTranspose(1, k, strides=s, padding="valid", output_padding=op)
        side = layer.compute_output_shape((None, n, n, 1))[1]
        found.append(case(n, k, s, p, op, expected=int(side) - 2 * p))
    return found


# --------------------------------------------------------------------------- lesson 03


@exercise("lesson03", "conv_pool_output_size", ("size", "kernel", "pool"))
def _conv_pool_output_size() -> Cases:
    keras = _keras()
    found = []
    for size, kernel, pool in [(28, 3, 2), (32, 3, 2), (64, 5, 2), (28, 5, 2), (29, 3, 2), (40, 3, 3)]:
        shape = (None, size, size, 1)
        for layer in [keras.layers.Conv2D(1, kernel), keras.layers.MaxPooling2D(pool)] * 2:
            shape = layer.compute_output_shape(shape)
        found.append(case(size, kernel, pool, expected=int(shape[1])))
    return found


@exercise("lesson03", "accuracy_from_logits", ("logits", "labels"))
def _accuracy_from_logits() -> Cases:
    keras = _keras()
    logits = np.array([[2.0, -1.0, 0.5], [-3.0, -0.5, -2.0], [0.1, 0.2, 0.3], [1.0, 4.0, -1.0]], np.float32)
    labels = np.array([0, 1, 0, 1])  # rows 0, 1 and 3 are right: accuracy 0.75
    rng = np.random.default_rng(3)
    many = rng.normal(size=(50, 10)).astype(np.float32)
    cases = [
        (logits, labels),
        (many, rng.integers(0, 10, 50)),
        (many, np.argmax(many, axis=1)),  # all right: 1.0
        (many[:7], (np.argmax(many[:7], axis=1) + 1) % 10),  # all wrong: 0.0
        (rng.normal(size=(10, 10)).astype(np.float32), np.arange(10)),  # square: the axis matters
    ]
    found = []
    for x, y in cases:
        metric = keras.metrics.SparseCategoricalAccuracy()
        metric.update_state(y, x)
        correct = round(float(metric.result()) * len(y))  # Keras averages in float32; the count is exact
        found.append(case(x, y, expected=correct / len(y)))
    return found


# --------------------------------------------------------------------------- lesson 04


@exercise("lesson04", "optimal_discriminator", ("p_data", "p_g"))
def _optimal_discriminator() -> Cases:
    rng = np.random.default_rng(4)
    x = np.linspace(-5, 5, 41)
    gauss = lambda m, s: np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))
    zeros = np.zeros(3)
    cases = [
        (np.array([0.1, 0.4, 0.3, 0.05, 0.0]), np.array([0.3, 0.1, 0.3, 0.0, 0.2])),
        (gauss(0.0, 1.0), gauss(1.5, 0.7)),
        (rng.random(20), rng.random(20)),
        (zeros, zeros),
        (np.array([1.0, 0.0, 2.0]), np.array([0.0, 0.0, 2.0])),
    ]
    found = []
    for p_data, p_g in cases:  # D* = p_data / (p_data + p_g); where nothing is ever seen, any D is optimal: 1/2
        total = p_data + p_g
        expected = np.full_like(total, 0.5)
        np.divide(p_data, total, out=expected, where=total > 0)
        found.append(case(p_data, p_g, expected=expected))
    return found


@exercise("lesson04", "value_estimate", ("discriminator", "real", "fake"))
def _value_estimate() -> Cases:
    from course_utils.checks.lesson04 import DISCRIMINATORS

    rng = np.random.default_rng(5)
    real = rng.normal(1.0, 1.0, 200)
    fake = rng.normal(-1.0, 0.5, 300)  # a different count: sums and means disagree
    cases = [("logistic", real, fake), ("one half", real[:10], fake[:30]),
             ("falling", rng.normal(0, 2, 50), rng.normal(3, 1, 70))]  # fmt: skip
    found = []
    for name, r, f in cases:  # E_real[log D] + E_fake[log(1 - D)], each expectation a sample mean
        d = DISCRIMINATORS[name]
        found.append(case(name, r, f, expected=float(np.log(d(r)).mean() + np.log1p(-d(f)).mean())))
    return found


@exercise("lesson04", "generator_loss_ns", ("fake_logits",))
def _generator_loss_ns() -> Cases:
    tf = _tf()
    rng = np.random.default_rng(6)
    cases = [
        np.array([-2.0, -0.5, 0.0, 1.0, 3.0], np.float32),
        np.array([-120.0, -30.0, 0.0, 40.0], np.float32),  # sigmoid(-120) is 0 in float32: needs a stable loss
        rng.normal(0, 3, 64).astype(np.float32),
        rng.normal(0, 1, (16, 1)).astype(np.float32),  # a (batch, 1) column, as a Keras model returns
    ]
    found = []
    for logits in cases:
        wide = tf.constant(logits, tf.float64)
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(wide), logits=wide)
        found.append(case(logits, expected=float(tf.reduce_mean(loss))))
    return found


# --------------------------------------------------------------------------- lesson 05


@exercise("lesson05", "discriminator_loss", ("real_logits", "fake_logits"))
def _discriminator_loss() -> Cases:
    keras = _keras()
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    rng = np.random.default_rng(5)
    cases = [
        (np.array([[2.0], [1.0], [3.0]]), np.array([[-1.0], [-2.0], [0.5]])),
        (rng.normal(0.5, 2.0, (16, 1)), rng.normal(-0.5, 2.0, (16, 1))),
        (np.array([[0.0], [0.0]]), np.array([[0.0], [0.0]])),
        (rng.normal(-1.0, 3.0, (7, 1)), rng.normal(1.0, 3.0, (7, 1))),
    ]
    found = []
    for real, fake in cases:
        real, fake = real.astype(np.float32), fake.astype(np.float32)
        loss = float(bce(np.ones_like(real), real)) + float(bce(np.zeros_like(fake), fake))
        found.append(case(real, fake, expected=loss))
    return found


@exercise("lesson05", "generator_output_side", ("side", "layers"))
def _generator_output_side() -> Cases:
    keras = _keras()
    same3 = [(5, 1, "same"), (5, 2, "same"), (5, 2, "same")]
    cases = [
        (7, same3),
        (8, same3),
        (4, [(4, 2, "same"), (4, 2, "same"), (4, 2, "same")]),
        (3, [(3, 1, "valid"), (4, 2, "valid")]),
        (5, [(2, 3, "valid"), (5, 2, "same")]),
        (1, [(7, 1, "valid"), (5, 2, "same"), (5, 2, "same")]),
    ]
    found = []
    for side, layers in cases:
        shape = (None, side, side, 1)
        for kernel, stride, padding in layers:
            shape = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding).compute_output_shape(shape)
        found.append(case(side, layers, expected=int(shape[1])))
    return found


# --------------------------------------------------------------------------- lesson 06


@exercise("lesson06", "training_steps", ("n_images", "batch_size", "epochs"))
def _training_steps() -> Cases:
    tf = _tf()
    cases = [(20_000, 128, 5), (60_000, 256, 50), (256, 32, 1), (1000, 300, 2), (100, 7, 3), (64, 64, 4)]
    return [
        case(n, b, e, expected=int(tf.data.Dataset.range(n).batch(b, drop_remainder=True).repeat(e).cardinality()))
        for n, b, e in cases
    ]


# --------------------------------------------------------------------------- lesson 07


def _frechet(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """The squared Fréchet distance of two Gaussians, with SciPy's matrix square root."""
    import scipy.linalg

    root = scipy.linalg.sqrtm(cov1 @ cov2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(root))


@exercise("lesson07", "frechet_distance_1d", ("mu1", "sigma1", "mu2", "sigma2"))
def _frechet_distance_1d() -> Cases:
    cases = [(1.0, 2.0, 4.0, 0.5), (0.0, 1.0, 0.0, 1.0), (3.0, 1.0, 3.0, 2.0), (-1.5, 0.3, 2.5, 0.3),
             (0.2, 4.0, -0.7, 0.1), (5, 2, 5, 2)]  # fmt: skip
    matrix = lambda value: np.array([[float(value)]])
    return [
        case(m1, s1, m2, s2, expected=_frechet(matrix(m1), matrix(s1**2), matrix(m2), matrix(s2**2)))
        for m1, s1, m2, s2 in cases
    ]


@exercise("lesson07", "fid", ("features1", "features2"))
def _fid() -> Cases:
    rng = np.random.default_rng(7)
    mixing = rng.normal(size=(4, 4))
    a = rng.normal(size=(200, 4)) @ mixing
    b = rng.normal(size=(150, 4)) @ (mixing * 1.5) + np.array([1.0, -2.0, 0.5, 0.0])
    c = rng.normal(size=(120, 4))
    cases = [(a, b), (a, a.copy()), (c, c + 3.0), (b, c), (rng.normal(size=(60, 2)), rng.normal(size=(80, 2)) * 2)]
    found = []
    for f1, f2 in cases:
        stats = [(f.mean(axis=0), np.cov(f, rowvar=False)) for f in (f1, f2)]
        found.append(case(f1, f2, expected=_frechet(*stats[0], *stats[1])))
    return found


@exercise("lesson07", "kl_to_uniform", ("counts",))
def _kl_to_uniform() -> Cases:
    import scipy.stats

    rng = np.random.default_rng(1)
    cases = [
        np.array([30, 10, 0, 0, 20, 0, 15, 25, 0, 0]),  # 5 empty classes: 0 log 0 must count as 0
        np.full(10, 7),  # balanced: 0
        np.array([0, 0, 0, 50, 0, 0, 0, 0, 0, 0]),  # one class: ln 10
        rng.integers(0, 100, size=10),
        np.array([3, 1]),
        np.array([1, 0, 0, 0, 1]),
    ]
    return [case(c, expected=float(scipy.stats.entropy(c, np.ones(len(c))))) for c in cases]


# --------------------------------------------------------------------------- lesson 08


@exercise("lesson08", "gradient_penalty_from_gradients", ("gradients", "weight", "epsilon"))
def _gradient_penalty_from_gradients() -> Cases:
    rng = np.random.default_rng(8)
    cases = [
        (np.array([[3.0, 4.0], [0.6, 0.8]]), 10.0, 1e-12),  # norms 5 and 1
        (np.array([[0.0, 0.0], [1.0, 0.0]]), 10.0, 0.25),  # a zero gradient; a big epsilon shows where it goes
        (rng.normal(size=(4, 3, 3, 2)) * 0.3, 10.0, 1e-12),  # a batch of images' gradients
        (rng.normal(size=(5, 2, 2, 1)), 2.5, 0.01),
        (np.zeros((3, 2, 2, 1)), 10.0, 1e-12),  # real == fake: the penalty is weight * (sqrt(eps) - 1)^2
    ]
    found = []
    for gradients, weight, epsilon in cases:  # Gulrajani et al.'s penalty in float64 (TensorFlow's norms are float32)
        norms = np.sqrt(np.square(gradients).reshape(len(gradients), -1).sum(axis=1) + epsilon)
        found.append(case(gradients, weight, epsilon, expected=float(weight * np.mean(np.square(norms - 1.0)))))
    return found


# --------------------------------------------------------------------------- lesson 09


@exercise("lesson09", "psnr_from_mse", ("mse", "data_range"))
def _psnr_from_mse() -> Cases:
    cases = [(0.01, 255.0), (0.01,), (0.001, 1.0), (np.array([0.1, 0.01, 0.0025]),), (np.array([4.0, 100.0]), 255.0)]
    found = []
    for args in cases:  # PSNR = 10 log10(peak power / MSE), the peak power being data_range squared
        mse, data_range = np.asarray(args[0], np.float64), (args[1] if len(args) > 1 else 1.0)
        psnr = 10.0 * (2.0 * np.log10(data_range) - np.log10(mse))
        found.append(case(*args, expected=float(psnr) if psnr.ndim == 0 else psnr))
    return found


def _masked_l1_case(seed: int, n: int, size: int, channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = rng.random((n, size, size, channels)).astype(np.float32)
    restored = rng.random((n, size, size, channels)).astype(np.float32)
    mask = np.ones((n, size, size, 1), np.float32)
    for i in range(n):
        top, left = rng.integers(0, size // 2, size=2)
        mask[i, top : top + size // 2 + i, left : left + size // 3] = 0
    return restored, target, mask


@exercise("lesson09", "masked_l1", ("restored", "target", "mask"))
def _masked_l1() -> Cases:
    found = []
    for restored, target, mask in [_masked_l1_case(0, 3, 12, 3), _masked_l1_case(1, 2, 16, 3),
                                   _masked_l1_case(2, 4, 10, 1)]:  # fmt: skip
        error = np.abs(restored.astype(np.float64) - target)
        hole = np.broadcast_to(mask == 0, target.shape)
        expected = np.array([e[h].mean() for e, h in zip(error, hole)])  # the mean over each image's hole values
        found.append(case(restored, target, mask, expected=expected))
    return found


# --------------------------------------------------------------------------- lesson 10


@exercise("lesson10", "renormalisation_factor", ("window_mask",))
def _renormalisation_factor() -> Cases:
    rng = np.random.default_rng(0)
    cases = [
        np.ones((3, 3), np.float32),
        np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], np.float32),
        np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32),
        (rng.random((5, 5)) < 0.6).astype(np.float32),
        (rng.random((3, 3, 4)) < 0.5).astype(np.float32),
        np.zeros((3, 3), np.float32),
    ]
    found = []
    for number, window in enumerate(cases, start=1):
        window[(0,) * window.ndim] = 1.0 if number < len(cases) else 0.0  # at least one known pixel, but the last
        known, entries = np.count_nonzero(window), window.size  # Liu et al.: sum(1) / sum(M), 0 with no known pixel
        found.append(case(window, expected=entries / known if known else 0.0))
    return found


@exercise("lesson10", "hole_valid_l1", ("images", "predictions", "masks", "hole_weight", "valid_weight"))
def _hole_valid_l1() -> Cases:
    keras = _keras()
    rng = np.random.default_rng(1)
    images = rng.random((2, 6, 6, 3)).astype(np.float32)
    predictions = rng.random((2, 6, 6, 3)).astype(np.float32)
    masks = np.ones((2, 6, 6, 1), np.float32)
    masks[:, 1:4, 2:5] = 0
    masks[1, 5, :] = 0
    m = np.broadcast_to(masks, images.shape).astype(np.float64)
    x, y = images.astype(np.float64), predictions.astype(np.float64)
    # Liu et al.: each term is the mean absolute error over ALL entries of the masked images
    hole = float(np.mean(keras.losses.mean_absolute_error((1 - m) * x, (1 - m) * y)))
    valid = float(np.mean(keras.losses.mean_absolute_error(m * x, m * y)))
    return [
        case(images, predictions, masks, h, v, expected=h * hole + v * valid)
        for h, v in [(6.0, 1.0), (1.0, 1.0), (0.0, 1.0), (6.0, 0.0), (2.5, 0.5)]
    ]


# --------------------------------------------------------------------------- lesson 11


@exercise("lesson11", "receptive_field", ("layers",))
def _receptive_field() -> Cases:
    tf = _tf()
    cases = [[(3, 1)], [(3, 1), (3, 1), (3, 1)], [(4, 2), (3, 1)], [(4, 2), (4, 2), (3, 1)],
             [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)], [(5, 2), (3, 3), (2, 1)], [(1, 1)]]  # fmt: skip
    found = []
    for layers in cases:  # the input pixels the first output's gradient reaches, through 1-D convolutions of ones
        x = tf.Variable(tf.zeros((1, 256, 1), tf.float64))
        with tf.GradientTape() as tape:
            y = x
            for kernel, stride in layers:
                y = tf.nn.conv1d(y, tf.ones((kernel, 1, 1), tf.float64), stride=stride, padding="VALID")
            first = y[0, 0, 0]
        reached = np.count_nonzero(tape.gradient(first, x).numpy())
        found.append(case(layers, expected=int(reached)))
    return found


@exercise("lesson11", "best_fill", ("completions", "loss"))
def _best_fill() -> Cases:
    rng = np.random.default_rng(11)
    stripes = np.zeros((2, 4, 4, 1))
    stripes[0, :, ::2] = 1.0
    stripes[1, :, 1::2] = 1.0  # two equally likely fillings: stripes in opposite phase
    cases = [
        (np.array([[0.0], [1.0]]), "l2"),
        (np.array([[0.0], [0.1], [1.0]]), "l2"),
        (stripes, "l2"),
        (np.array([[0.0], [0.1], [1.0]]), "l1"),
        (rng.random((5, 3, 3, 3)), "l2"),
        (rng.random((5, 3, 3, 3)), "l1"),
        (stripes[:1], "l2"),
    ]
    best = {"l2": lambda c: np.mean(c, axis=0), "l1": lambda c: np.median(c, axis=0)}  # mean for L2, median for L1
    other = {"l2": "l1", "l1": "l2"}
    return [case(c, loss, expected=best[loss](c), other_loss=best[other[loss]](c)) for c, loss in cases]


# --------------------------------------------------------------------------- lesson 12


@exercise("lesson12", "masked_reconstruction_loss", ("generated", "images", "masks"))
def _masked_reconstruction_loss() -> Cases:
    rng = np.random.default_rng(12)
    found = []
    for n, side, channels, hole in ((3, 6, 1, "top"), (2, 5, 3, "random"), (4, 8, 1, "centre")):
        images = rng.uniform(-1, 1, (n, side, side, channels))
        generated = rng.uniform(-1, 1, (n, side, side, channels))
        masks = np.ones((n, side, side, 1))
        if hole == "top":
            masks[:, : side // 2] = 0
        elif hole == "centre":
            masks[:, 2:-2, 2:-2] = 0
            masks[1] = 1  # one image with nothing missing
        else:
            masks = (rng.random((n, side, side, 1)) < 0.6).astype(np.float64)
            masks[:, 0, 0] = 1
        known = np.broadcast_to(masks, images.shape) == 1
        expected = np.array([np.mean((g[k] - x[k]) ** 2) for g, x, k in zip(generated, images, known)])
        found.append(case(generated, images, masks, expected=expected))
    return found


# --------------------------------------------------------------------------- lesson 16


@exercise("lesson16", "affine_quantisation", ("x", "scale", "zero_point"))
def _affine_quantisation() -> Cases:
    rng = np.random.default_rng(13)
    cases = [
        (np.array([0.0, 0.1, -0.1, 0.25, 1.0], np.float32), 0.01, 0),
        (np.array([0.0, 0.5, 1.0], np.float32), 1 / 255, -128),
        (rng.normal(0, 1, 20).astype(np.float32), 0.02, 3),  # many values beyond the range: clipping matters
        (rng.uniform(-1, 1, (3, 4)).astype(np.float32), 2 / 255, 0),
    ]
    found = []
    for x, scale, zero_point in cases:  # TensorFlow Lite's affine int8 scheme: q = clamp(round(x / s) + z)
        codes = np.clip(np.rint(x / np.float32(scale)) + zero_point, -128, 127).astype(np.int8)
        values = (np.float32(scale) * (codes.astype(np.float32) - np.float32(zero_point))).astype(np.float32)
        found.append(case(x, scale, zero_point, expected=(codes, values)))
    return found


@exercise("lesson16", "compression", ("parameter_counts", "bytes_before", "bytes_after"))
def _compression() -> Cases:
    cases = [([1000], 4, 1), ([800, 51_200, 3], 4, 2), ([1_600_000, 25_632, 401], 4, 1), ([10, 20, 30], 2, 1)]
    found = []
    for counts, before, after in cases:
        total = float(np.sum(counts))
        found.append(case(counts, before, after, expected=(total * before, total * after, before / after)))
    return found


# --------------------------------------------------------------------------- the tool


def build(lesson: str) -> dict[str, Any]:
    """The JSON-ready contents of one lesson's file."""
    return {
        name: {"params": list(params), "cases": [store.encode(c) for c in make()]}
        for name, (params, make) in sorted(BOOK[lesson].items())
    }


def text(lesson: str) -> str:
    """The file's text: exercises in name order, one line per case, so that a change shows as a small diff."""
    blocks = []
    for name, entry in build(lesson).items():
        cases = ",\n".join("   " + json.dumps(c, sort_keys=True) for c in entry["cases"])
        params = json.dumps(entry["params"])
        blocks.append(f' {json.dumps(name)}: {{\n  "params": {params},\n  "cases": [\n{cases}\n  ]\n }}')
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def same(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """True when two decoded values agree: exact for integers, strings and structure, close for floats.

    The tolerance forgives float32 round-off that differs between machines and library versions (Keras losses
    compute in float32), far below the checks' own tolerances, and catches any real change.
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or isinstance(a, np.generic):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if np.issubdtype(a.dtype, np.floating):
            return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol) or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def differences(lesson: str) -> list[str]:
    """What differs between the stored file of ``lesson`` and what this tool computes now."""
    path = store.DATA_DIR / f"{lesson}.json"
    if not path.is_file():
        return [f"{path.name} is missing"]
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    fresh = json.loads(text(lesson))
    problems = [f"{lesson}: {name} is stored but no longer computed" for name in sorted(set(on_disk) - set(fresh))]
    for name in sorted(fresh):
        if name not in on_disk:
            problems.append(f"{lesson}: {name} is not stored yet")
        elif not same(store.decode(on_disk[name]), store.decode(fresh[name])):
            problems.append(f"{lesson}: the stored cases of {name} differ from what the tool computes")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: write every lesson's file, or with --check report the ones that are out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is out of date")
    parser.add_argument("lessons", nargs="*", help="e.g. lesson01 (default: every lesson)")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted(BOOK)
    unknown = sorted(set(lessons) - set(BOOK))
    if unknown:
        parser.error(f"no exercises registered for {unknown}; known: {sorted(BOOK)}")
    if args.check:
        problems = [p for lesson in lessons for p in differences(lesson)]
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("Run: python tools/make_check_data.py", file=sys.stderr)
        return 1 if problems else 0
    store.DATA_DIR.mkdir(exist_ok=True)
    for lesson in lessons:
        path = store.DATA_DIR / f"{lesson}.json"
        path.write_text(text(lesson), encoding="utf-8")
        print(f"wrote {path} ({len(BOOK[lesson])} exercises)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
