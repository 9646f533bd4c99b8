"""Checks for lesson 02's exercises (Transposed convolution and upsampling).

transposed_size: stored results (checks/data/lesson02.json, from Keras' Conv2DTranspose); upsample_by_stamping
and coverage_map: TensorFlow's ``tf.nn.conv2d_transpose`` as the oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_coverage_map", "check_transposed_size", "check_upsample_by_stamping"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _call_text(name: str, case: tuple[Any, ...]) -> str:
    """How a call looks in the notebook, e.g. ``transposed_size(7, 5, 2, 2, 1)``; arrays are shown by shape."""
    shown = [f"<{a.shape[0]}x{a.shape[1]} array>" if isinstance(a, np.ndarray) else repr(a) for a in case]
    return f"{name}({', '.join(shown)})"


# --------------------------------------------------------------------------- exercise 1: output size


#: Wrong formulas learners write for the transposed convolution's output size, with a hint each.
_SIZE_MISTAKES: list[tuple[Callable[[int, int, int, int, int], float], str]] = [
    (
        lambda n, k, s, p, op: n * s + k - 2 * p + op,
        "the first stamp starts at pixel 0 and the last one at (size - 1) * stride, not size * stride.",
    ),
    (
        lambda n, k, s, p, op: (n - 1) * s + k - p + op,
        "the padding is cropped from *both* ends of the output: subtract 2 * padding.",
    ),
    (
        lambda n, k, s, p, op: (n - 1) * s + k + 2 * p + op,
        "a transposed convolution *removes* the padding its convolution would have added: subtract 2 * padding.",
    ),
    (
        lambda n, k, s, p, op: (n - 1) * s + k - 2 * p,
        "output_padding adds that many pixels at the end (bottom, right): add it to the size.",
    ),
    (
        lambda n, k, s, p, op: (n - 1) * s + k - 2 * p - op,
        "output_padding *adds* pixels at the end (bottom, right); it does not remove them.",
    ),
    (
        lambda n, k, s, p, op: (n + 2 * p - k) // s + 1,
        "that is the output size of a *convolution*, which shrinks the image. The transposed convolution goes "
        "the other way: stamps of `kernel` pixels, `stride` apart, then the padding cropped off.",
    ),
    (
        lambda n, k, s, p, op: n * s,
        "size * stride is what padding='same' gives in Keras; here the padding is a number of pixels cropped "
        "from each end of the stamped output.",
    ),
]


def check_transposed_size(fn: Any) -> None:
    """Lesson 02: ``fn(size, kernel, stride, padding, output_padding)`` is the transposed convolution's output size.

    Compared with stored results (checks/data/lesson02.json, computed with Keras' Conv2DTranspose).
    """
    name = "transposed_size"
    _require_function(fn, name)
    book = stored("lesson02", name)
    cases = [c.args for c in book.cases]
    right = {c.args: c.expected for c in book.cases}
    answers = []
    for case in cases:
        got = _to_numpy(_call(fn, case, name, book.params))
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(
                f"`{_call_text(name, case)}` returned {_show(got)}; it should return one whole number of pixels "
                f"({right[case]}). Did you forget a `return` statement?"
            )
        if got != int(got):
            raise CheckFailed(
                f"`{_call_text(name, case)}` returned {got!r}, not a whole number of pixels; the formula has no "
                "division in it."
            )
        answers.append(got)
    wrong = [(case, got) for case, got in zip(cases, answers) if got != right[case]]
    if wrong:
        case, got = wrong[0]
        message = (
            f"`{_call_text(name, case)}` returned {got!r}; it should be {right[case]} "
            f"(wrong for {len(wrong)} of {len(cases)} cases)."
        )
        for mistake, hint in _SIZE_MISTAKES:
            if all(got == mistake(*case) for case, got in zip(cases, answers)):
                message += f" Hint: {hint}"
                break
        else:
            message += (
                " Think of the stamps: the last of `size` stamps starts at (size - 1) * stride and is `kernel` "
                "pixels wide; then `padding` pixels are cropped from each end and `output_padding` added at the end."
            )
        raise CheckFailed(message)
    _passed(name, len(cases))


# --------------------------------------------------------------------------- exercise 2: stamping


def _transposed(image: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """TensorFlow's 'valid' transposed convolution of one grey image: the oracle of the stamping exercises."""
    import tensorflow as tf  # imported here so that importing the checks stays fast

    (h, w), (kh, kw) = image.shape, kernel.shape
    out_shape = [1, (h - 1) * stride + kh, (w - 1) * stride + kw, 1]
    result = tf.nn.conv2d_transpose(
        tf.constant(image[None, :, :, None], tf.float64),
        tf.constant(kernel[:, :, None, None], tf.float64),
        output_shape=out_shape,
        strides=stride,
        padding="VALID",
    )
    return result.numpy()[0, :, :, 0]


def _one_apart(image: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """A mistake: the stamps 1 pixel apart (stride 1) on the canvas sized for ``stride``."""
    (h, w), (kh, kw) = image.shape, kernel.shape
    canvas = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
    dense = _transposed(image, kernel, 1)
    rows, cols = min(canvas.shape[0], dense.shape[0]), min(canvas.shape[1], dense.shape[1])
    canvas[:rows, :cols] = dense[:rows, :cols]
    return canvas


def _overwritten(image: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """A mistake: each stamp *replaces* what the earlier ones wrote where they overlap."""
    (h, w), (kh, kw) = image.shape, kernel.shape
    out = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
    for i in range(h):
        for j in range(w):
            out[i * stride : i * stride + kh, j * stride : j * stride + kw] = image[i, j] * kernel
    return out


def _stamping_cases() -> list[tuple[np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(2)
    kernel3 = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])  # no symmetry: a flip shows
    return [
        (np.array([[1.0, 2.0], [3.0, 4.0]]), kernel3, 2),
        (rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), 2),
        (rng.normal(size=(4, 3)), kernel3, 1),
        (rng.normal(size=(3, 3)), rng.normal(size=(2, 2)), 3),
        (rng.normal(size=(5, 2)), rng.normal(size=(5, 5)), 3),
        (np.array([[2.5]]), kernel3, 2),
    ]


def check_upsample_by_stamping(fn: Any) -> None:
    """Lesson 02: ``fn(image, kernel, stride)`` adds up one scaled kernel per pixel, ``stride`` pixels apart.

    Compared with TensorFlow's ``tf.nn.conv2d_transpose``.
    """
    name = "upsample_by_stamping"
    _require_function(fn, name)
    cases = _stamping_cases()
    for number, case in enumerate(cases, start=1):
        image, kernel, stride = case
        expected = _transposed(image, kernel, stride)
        got = _to_numpy(_call(fn, case, name, _transposed))
        where = f"`{_call_text(name, case)}` (case {number} of {len(cases)})"
        if got is None:
            raise CheckFailed(f"{where} returned None. Did you forget a `return` statement?")
        got = np.asarray(got)
        if not (np.issubdtype(got.dtype, np.number)):
            raise CheckFailed(f"{where} returned {_show(got)}; it should return a 2-D array of numbers.")
        if got.shape != expected.shape:
            rows = f"({image.shape[0]} - 1) * {stride} + {kernel.shape[0]} = {expected.shape[0]}"
            hint = f"the last stamp starts at row ({image.shape[0]} - 1) * stride and is {kernel.shape[0]} rows tall"
            if got.ndim != 2:
                hint = "return one 2-D array (rows, columns), without batch or channel axes"
            raise CheckFailed(
                f"{where} returned shape {got.shape}; it should be {expected.shape}: {rows} rows. Hint: {hint}."
            )
        if np.allclose(got, expected, rtol=1e-6, atol=1e-6):
            continue
        mistakes = [
            (_transposed(image, kernel[::-1, ::-1], stride),
             "it matches stamping the kernel *flipped*. A transposed convolution (like Conv2D) does not flip the "
             "kernel: pixel (i, j) adds image[i, j] * kernel at rows i*stride ... i*stride + KH - 1."),
            (_overwritten(image, kernel, stride),
             "where stamps overlap, the later one overwrote the earlier. Stamps *add up*: use `+=`, not `=`."),
            (_one_apart(image, kernel, stride),
             "the stamps are 1 pixel apart. Pixel (i, j)'s stamp starts at (i * stride, j * stride)."),
            (_transposed(image, np.ones_like(kernel), stride),
             "every stamp must be the kernel scaled by the pixel's value, image[i, j] * kernel."),
        ]  # fmt: skip
        hint = next((text for other, text in mistakes if np.allclose(got, other, rtol=1e-6, atol=1e-6)), None)
        wrong = ~np.isclose(got, expected, rtol=1e-6, atol=1e-6)
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise CheckFailed(
            f"{where} differs from the transposed convolution at {int(wrong.sum())} of {wrong.size} pixels; the "
            f"first is {first}: got {got[first]:.4g}, expected {expected[first]:.4g}."
            + (f" Hint: {hint}" if hint else "")
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- exercise 3: coverage


def _coverage(size: int, kernel: int, stride: int) -> np.ndarray:
    """How many stamps cover each output pixel: TensorFlow's transposed convolution of ones with ones."""
    return np.rint(_transposed(np.ones((size, size)), np.ones((kernel, kernel)), stride)).astype(int)


def check_coverage_map(fn: Any) -> None:
    """Lesson 02: ``fn(size, kernel, stride)`` counts the kernel taps landing on each output pixel.

    Compared with TensorFlow's ``tf.nn.conv2d_transpose`` of ones with a kernel of ones.
    """
    name = "coverage_map"
    _require_function(fn, name)
    cases = [(3, 3, 2), (4, 4, 2), (3, 2, 3), (3, 5, 2), (4, 3, 1), (1, 3, 2), (5, 6, 3), (2, 1, 1)]
    for number, case in enumerate(cases, start=1):
        size, kernel, stride = case
        expected = _coverage(*case)
        got = _to_numpy(_call(fn, case, name, _coverage))
        where = f"`{_call_text(name, case)}` (case {number} of {len(cases)})"
        if got is None:
            raise CheckFailed(f"{where} returned None. Did you forget a `return` statement?")
        got = np.asarray(got)
        if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
            raise CheckFailed(f"{where} returned {_show(got)}; it should return a 2-D array of counts.")
        if got.shape != expected.shape:
            hint = f"the output of a transposed convolution is (size - 1) * stride + kernel = {expected.shape[0]} "
            hint += "pixels on each side"
            if got.ndim == 1:
                hint = "return the 2-D map (one count per output pixel). The 2-D map is the outer product of the "
                hint += "1-D counts along the rows and along the columns"
            raise CheckFailed(f"{where} returned shape {got.shape}; it should be {expected.shape}. Hint: {hint}.")
        if np.array_equal(got.astype(float), expected):
            continue
        ones = np.ones((size, size))
        mistakes = [
            ((expected > 0).astype(int),
             "it marks whether a pixel is covered; count *how many* stamps cover it (add 1 per stamp, `+= 1`)."),
            (np.rint(_one_apart(ones, np.ones((kernel, kernel)), stride)).astype(int),
             "the stamps are 1 pixel apart. The stamp of input pixel (i, j) starts at (i * stride, j * stride)."),
        ]  # fmt: skip
        hint = next((text for other, text in mistakes if np.array_equal(got, other)), None)
        wrong = got != expected
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise CheckFailed(
            f"{where} is wrong at {int(wrong.sum())} of {wrong.size} pixels; the first is {first}: got "
            f"{got[first].item()!r}, expected {expected[first].item()!r}."
            + (f" Hint: {hint}" if hint else " Stamp a kernel-sized block of ones for every input pixel, "
               "stride pixels apart, and add them up.")
        )  # fmt: skip
    _passed(name, len(cases))
