"""Lesson 02's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils import checks
from course_utils.checks import CheckFailed


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- transposed_size


def transposed_size(size, kernel, stride, padding, output_padding):
    return (size - 1) * stride + kernel - 2 * padding + output_padding


def test_transposed_size_accepts_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_transposed_size(transposed_size)
    checks.check_transposed_size(lambda *args: float(transposed_size(*args)))
    checks.check_transposed_size(lambda *args: np.int64(transposed_size(*args)))
    assert capsys.readouterr().out.count("✔ transposed_size passes all 9 checks.") == 3


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "output_padding"),
    [(7, 5, 2, 2, 1), (7, 4, 2, 1, 0), (5, 3, 3, 1, 2), (4, 2, 3, 0, 1), (3, 3, 1, 1, 0)],
)
def test_transposed_size_formula_agrees_with_tensorflow(size, kernel, stride, padding, output_padding) -> None:
    """The formula the check expects is the size tf.nn.conv2d_transpose accepts with explicit padding."""
    out = transposed_size(size, kernel, stride, padding, output_padding)
    y = tf.zeros([1, size, size, 1])
    w = tf.ones([kernel, kernel, 1, 1])
    pads = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    result = tf.nn.conv2d_transpose(y, w, [1, out, out, 1], strides=stride, padding=pads)
    assert result.shape == (1, out, out, 1)
    forward = tf.nn.conv2d(result, w, strides=stride, padding=pads)  # and a convolution takes it back to `size`
    assert forward.shape == (1, size, size, 1)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`transposed_size` is not written yet"),
        (None, "`transposed_size` is not written yet"),
        (42, "should be a function"),
        (lambda n, k, s, p, op: n * s + k - 2 * p + op, "the last one at (size - 1) * stride"),
        (lambda n, k, s, p, op: (n - 1) * s + k - p + op, "from *both* ends"),
        (lambda n, k, s, p, op: (n - 1) * s + k + 2 * p + op, "*removes* the padding"),
        (lambda n, k, s, p, op: (n - 1) * s + k - 2 * p, "add it to the size"),
        (lambda n, k, s, p, op: (n - 1) * s + k - 2 * p - op, "does not remove them"),
        (lambda n, k, s, p, op: (n + 2 * p - k) // s + 1, "output size of a *convolution*"),
        (lambda n, k, s, p, op: n * s, "padding='same'"),
        (lambda n, k, s, p, op: (n - 1) * s + k - 2 * p + op + (k == 3), "Think of the stamps"),
        (lambda n, k, s, p, op: ((n - 1) * s + k - 2 * p + op) / 1.5, "not a whole number of pixels"),
        (lambda n, k, s, p, op: None, "Did you forget a `return` statement?"),
        (lambda n, k, s, p, op: str(n), "one whole number of pixels"),
        (lambda n, k, s, p, op: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_transposed_size_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_transposed_size(fn)
    assert expected in str(caught.value)


def test_transposed_size_names_the_failing_call() -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_transposed_size(lambda n, k, s, p, op: (n - 1) * s + k - 2 * p)
    assert "`transposed_size(7, 5, 2, 2, 1)` returned 13; it should be 14" in str(caught.value)


# --------------------------------------------------------------------------- upsample_by_stamping


def upsample_by_stamping(image, kernel, stride):
    (h, w), (kh, kw) = image.shape, kernel.shape
    out = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
    for i in range(h):
        for j in range(w):
            out[i * stride : i * stride + kh, j * stride : j * stride + kw] += image[i, j] * kernel
    return out


def stamp_with(*, flip: bool = False, overwrite: bool = False, step: int | None = None, ones: bool = False):
    """upsample_by_stamping with one typical mistake."""

    def fn(image, kernel, stride):
        (h, w), (kh, kw) = image.shape, kernel.shape
        kernel = np.ones_like(kernel) if ones else kernel[::-1, ::-1] if flip else kernel
        gap = stride if step is None else step
        out = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
        for i in range(h):
            for j in range(w):
                window = out[i * gap : i * gap + kh, j * gap : j * gap + kw]
                if overwrite:
                    window[...] = image[i, j] * kernel
                else:
                    window += image[i, j] * kernel
        return out

    return fn


def test_upsample_by_stamping_accepts_the_solution(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_upsample_by_stamping(upsample_by_stamping)
    checks.check_upsample_by_stamping(lambda *args: tf.constant(upsample_by_stamping(*args), tf.float32))
    assert capsys.readouterr().out.count("✔ upsample_by_stamping passes all 6 checks.") == 2


def test_upsample_reference_agrees_with_tensorflow() -> None:
    rng = np.random.default_rng(0)
    image, kernel = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    ours = upsample_by_stamping(image, kernel, 2)
    theirs = tf.nn.conv2d_transpose(
        image[None, :, :, None], kernel[:, :, None, None], [1, *ours.shape, 1], strides=2, padding="VALID"
    )
    np.testing.assert_allclose(ours, theirs.numpy()[0, :, :, 0], atol=1e-10)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`upsample_by_stamping` is not written yet"),
        (None, "`upsample_by_stamping` is not written yet"),
        (stamp_with(flip=True), "*flipped*"),
        (stamp_with(overwrite=True), "use `+=`, not `=`"),
        (stamp_with(step=1), "1 pixel apart"),
        (stamp_with(ones=True), "scaled by the pixel's value"),
        (lambda image, kernel, stride: np.zeros((len(image) * stride, len(image[0]) * stride)), "the last stamp"),
        (lambda image, kernel, stride: upsample_by_stamping(image, kernel, stride)[None], "one 2-D array"),
        (lambda image, kernel, stride: upsample_by_stamping(image, kernel, stride) + 1, "differs from the"),
        (lambda image, kernel, stride: None, "Did you forget a `return` statement?"),
        (lambda image, kernel, stride: "image", "2-D array of numbers"),
    ],
)
def test_upsample_by_stamping_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_upsample_by_stamping(fn)
    assert expected in str(caught.value)


def test_upsample_by_stamping_does_not_let_the_answer_change_the_cases() -> None:
    def changes_its_input(image, kernel, stride):
        result = upsample_by_stamping(image, kernel, stride)
        image[...] = 0
        kernel[...] = 0
        return result

    checks.check_upsample_by_stamping(changes_its_input)


# --------------------------------------------------------------------------- coverage_map


def coverage_map(size, kernel, stride):
    out = (size - 1) * stride + kernel
    counts = np.zeros((out, out), dtype=int)
    for i in range(size):
        for j in range(size):
            counts[i * stride : i * stride + kernel, j * stride : j * stride + kernel] += 1
    return counts


def coverage_with(*, step: int | None = None, mark: bool = False):
    """coverage_map with one typical mistake."""

    def fn(size, kernel, stride):
        out = (size - 1) * stride + kernel
        counts = np.zeros((out, out), dtype=int)
        gap = stride if step is None else step
        for i in range(size):
            for j in range(size):
                window = counts[i * gap : i * gap + kernel, j * gap : j * gap + kernel]
                if mark:
                    window[...] = 1
                else:
                    window += 1
        return counts

    return fn


def test_coverage_map_accepts_the_solution(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_coverage_map(coverage_map)
    checks.check_coverage_map(lambda *args: coverage_map(*args).astype(np.float32))
    assert capsys.readouterr().out.count("✔ coverage_map passes all 8 checks.") == 2


def test_coverage_map_matches_stamping_ones() -> None:
    for size, kernel, stride in [(3, 3, 2), (4, 4, 2), (3, 2, 3)]:
        counts = upsample_by_stamping(np.ones((size, size)), np.ones((kernel, kernel)), stride)
        np.testing.assert_array_equal(coverage_map(size, kernel, stride), counts)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`coverage_map` is not written yet"),
        (None, "`coverage_map` is not written yet"),
        (coverage_with(mark=True), "count *how many* stamps"),
        (coverage_with(step=1), "1 pixel apart"),
        (lambda n, k, s: coverage_map(n, k, s)[0], "outer product"),
        (lambda n, k, s: np.ones((n * s, n * s)), "(size - 1) * stride + kernel"),
        (lambda n, k, s: coverage_map(n, k, s) * 2, "Stamp a kernel-sized block"),
        (lambda n, k, s: None, "Did you forget a `return` statement?"),
        (lambda n, k, s: "map", "2-D array of counts"),
    ],
)
def test_coverage_map_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_coverage_map(fn)
    assert expected in str(caught.value)
