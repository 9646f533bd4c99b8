"""Lesson 01's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils import checks
from course_utils.checks import CheckFailed
from course_utils.checks.lesson01 import _conv2d_single_cases, _correlate
from course_utils.checks.stored import stored


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


def rejected(check, fn) -> str:
    with pytest.raises(CheckFailed) as caught:
        check(fn)
    return str(caught.value)


# --------------------------------------------------------------------------- zero_pad


def zero_pad(image, p):
    h, w = image.shape
    padded = np.zeros((h + 2 * p, w + 2 * p), dtype=image.dtype)
    padded[p : p + h, p : p + w] = image
    return padded


def test_zero_pad_accepts_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_zero_pad(zero_pad)
    checks.check_zero_pad(lambda image, p: np.pad(image, p))
    checks.check_zero_pad(lambda image, p: np.pad(image, ((p, p), (p, p)), constant_values=0))
    assert capsys.readouterr().out.count("✔ zero_pad passes all 7 checks.") == 3


def _one_side(image, p):
    return np.pad(image, ((0, p), (0, p)))


def _minus_p(image, p):
    out = np.zeros((image.shape[0] + 2 * p, image.shape[1] + 2 * p), dtype=image.dtype)
    out[p:-p, p:-p] = image
    return out


def _float_zeros(image, p):
    out = np.zeros((image.shape[0] + 2 * p, image.shape[1] + 2 * p))
    out[p : p + image.shape[0], p : p + image.shape[1]] = image
    return out


def _in_place(image, p):
    padded = np.pad(image, p)
    image[:] = 0  # right answer, but the caller's image is wiped
    return padded


def _top_left(image, p):
    out = np.zeros((image.shape[0] + 2 * p, image.shape[1] + 2 * p), dtype=image.dtype)
    out[: image.shape[0], : image.shape[1]] = image
    return out


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`zero_pad` is not written yet"),
        (None, "`zero_pad` is not written yet"),
        (42, "should be a function"),
        (lambda image, p: None, "returned None"),
        (lambda image, p: image.tolist(), "should return a NumPy array"),
        (lambda image, p: image, "nothing was added"),
        (_one_side, "one side only"),
        (lambda image, p: np.pad(image, 2 * p), "you added 2p on each side"),
        (lambda image, p: np.pad(image, ((p, p), (0, 0))), "only the rows were padded"),
        (_top_left, "top-left corner"),
        (lambda image, p: np.pad(image, p, mode="edge"), "repeats the edge pixels"),
        (lambda image, p: np.pad(image, p, constant_values=1), "the border should hold zeros"),
        (lambda image, p: np.pad(image * 2, p), "the middle of the result should be the image"),
        (_float_zeros, "turned a uint8 image into float64"),
        (_minus_p, "-0 is 0"),
        (_in_place, "changed the image it was given"),
    ],
)
def test_zero_pad_rejects_mistakes(fn: object, expected: str) -> None:
    assert expected in rejected(checks.check_zero_pad, fn)


def test_zero_pad_shape_message_names_both_shapes() -> None:
    message = rejected(checks.check_zero_pad, _one_side)
    assert "has shape (5, 6) for a 3x4 image; it should be (7, 8)" in message


# --------------------------------------------------------------------------- conv_output_size


def conv_output_size(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def test_conv_output_size_accepts_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_conv_output_size(conv_output_size)
    checks.check_conv_output_size(lambda n, k, s, p, d: int(np.floor((n + 2 * p - d * (k - 1) - 1) / s)) + 1)
    checks.check_conv_output_size(lambda n, k, s, p, d: np.int64(conv_output_size(n, k, s, p, d)))
    assert capsys.readouterr().out.count("✔ conv_output_size passes all 12 checks.") == 3


def test_conv_output_size_stored_results_agree_with_keras() -> None:
    import keras

    for case in stored("lesson01", "conv_output_size").cases:
        n, k, s, p, d = case.args
        assert case.expected == conv_output_size(n, k, s, p, d), case
        if s > 1 and d > 1:
            continue  # TensorFlow refuses a stride and a dilation both above 1
        image = keras.layers.ZeroPadding2D(p)(np.zeros((1, n, n, 1), np.float32))
        side = keras.layers.Conv2D(1, k, strides=s, dilation_rate=d)(image).shape[1]
        assert side == case.expected, case.args


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`conv_output_size` is not written yet"),
        (None, "`conv_output_size` is not written yet"),
        (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s, "you forgot the `+ 1`"),
        (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) / s + 1, "decimal number"),
        (lambda n, k, s, p, d: float(conv_output_size(n, k, s, p, d)), "use floor division `//` so that"),
        (lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1, "you rounded up"),
        (lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1, "on *both* sides"),
        (lambda n, k, s, p, d: (n + 2 * p - k) // s + 1, "you ignored the dilation"),
        (lambda n, k, s, p, d: (n + 2 * p - d * k - 1) // s + 1, "not dk + 1"),
        (lambda n, k, s, p, d: n + 2 * p - d * (k - 1), "you ignored the stride"),
        (lambda n, k, s, p, d: n - k + 1, "Build it step by step"),
        (lambda n, k, s, p, d: str(n), "it should return one whole number"),
    ],
)
def test_conv_output_size_rejects_mistakes(fn: object, expected: str) -> None:
    assert expected in rejected(checks.check_conv_output_size, fn)


# --------------------------------------------------------------------------- conv2d_single


def conv2d_single(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out


def test_conv2d_single_oracle_agrees_with_tensorflow() -> None:
    for image, kernel in _conv2d_single_cases():
        expected = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], 1, "VALID")[0, :, :, 0]
        np.testing.assert_allclose(_correlate(image, kernel), expected, rtol=1e-6, atol=1e-10)


def test_conv2d_single_accepts_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    import scipy.signal

    checks.check_conv2d_single(conv2d_single)
    checks.check_conv2d_single(lambda image, kernel: scipy.signal.correlate2d(image, kernel, mode="valid"))
    checks.check_conv2d_single(lambda image, kernel: tf.nn.conv2d(
        image[None, :, :, None], kernel[:, :, None, None], 1, "VALID")[0, :, :, 0])
    assert capsys.readouterr().out.count("✔ conv2d_single passes all 5 checks.") == 3


def _cumulative(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    total = 0.0
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total += np.sum(image[i : i + kh, j : j + kw] * kernel)
            out[i, j] = total
    return out


def _too_many(image, kernel):
    padded = np.pad(image, ((0, 1), (0, 1)))
    return conv2d_single(padded, kernel)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`conv2d_single` is not written yet"),
        (None, "`conv2d_single` is not written yet"),
        (lambda image, kernel: None, "returned None"),
        (lambda image, kernel: conv2d_single(image, kernel[::-1, ::-1]), "you computed a true convolution"),
        (lambda image, kernel: conv2d_single(image, kernel[::-1]), "mirrored along one axis"),
        (lambda image, kernel: conv2d_single(image, kernel.T), "the kernel transposed"),
        (lambda image, kernel: conv2d_single(image, kernel)[:-1, :-1], "Off by one"),
        (_too_many, "Your output has shape (5, 5); for a 6x6 input and a 3x3 kernel it should be (4, 4)."),
        (lambda image, kernel: conv2d_single(np.pad(image, 1), kernel), "That is the input's size"),
        (_cumulative, "start the sum at 0 again"),
        (lambda image, kernel: conv2d_single(image, kernel) * 2, "gives a wrong result for case 1 of 5"),
    ],
)
def test_conv2d_single_rejects_mistakes(fn: object, expected: str) -> None:
    assert expected in rejected(checks.check_conv2d_single, fn)


def test_conv2d_single_swapped_axes_hint() -> None:
    def swapped(image, kernel):
        return conv2d_single(image, kernel).T

    message = rejected(checks.check_conv2d_single, swapped)
    assert "Your output has shape (5, 4); for a 5x7 input and a 2x3 kernel it should be (4, 5)." in message
    assert "Rows and columns are swapped" in message


def test_checks_are_exported() -> None:
    from course_utils.checks import lesson01

    for name in lesson01.__all__:
        assert getattr(checks, name) is getattr(lesson01, name)
