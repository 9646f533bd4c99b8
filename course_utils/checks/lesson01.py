"""Checks for lesson 01's exercises (Convolution from scratch).

zero_pad: properties (shape, the image in the middle, a zero border, the dtype kept); conv_output_size: stored
results (checks/data/lesson01.json); conv2d_single: SciPy's correlate2d as the oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _run_cases, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_conv2d_single", "check_conv_output_size", "check_zero_pad"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _require_array(got: Any, name: str, call: str, what: str) -> np.ndarray:
    got = _to_numpy(got)
    if got is None:
        raise CheckFailed(f"`{call}` returned None: end `{name}` with `return` and {what}.")
    if not isinstance(got, np.ndarray):
        raise CheckFailed(f"`{call}` should return a NumPy array ({what}); got {_show(got)}.")
    return got


# --------------------------------------------------------------------------- exercise 1: zero padding


def _padding_problem(image: np.ndarray, p: int, got: np.ndarray, call: str) -> str | None:
    """What is wrong with ``got`` as ``image`` zero-padded by ``p``, judged by the properties that define it.

    Zero padding is the one array of shape (H + 2p, W + 2p) whose middle ``[p:p + H, p:p + W]`` is the image
    and whose border holds zeros only.
    """
    (h, w), want = image.shape, (image.shape[0] + 2 * p, image.shape[1] + 2 * p)
    if got.shape != want:
        hints = {
            (h, w): "that is the image's own size: nothing was added.",
            (h + p, w + p): "you added p rows and p columns on one side only; pad every side: top, bottom, left "
            "and right, so the result is (H + 2p, W + 2p).",
            (h + 4 * p, w + 4 * p): "you added 2p on each side; p is the amount on *each* side, so the result is "
            "(H + 2p, W + 2p).",
            (h + 2 * p, w): "only the rows were padded; pad the columns too.",
            (h, w + 2 * p): "only the columns were padded; pad the rows too.",
        }
        hint = hints.get(got.shape, "the result should have H + 2p rows and W + 2p columns.")
        return f"`{call}` has shape {got.shape} for a {h}x{w} image; it should be {want}: {hint}"
    border = np.ones(want, dtype=bool)
    border[p : p + h, p : p + w] = False
    if np.array_equal(got[~border].reshape(h, w), image) and not np.any(got[border]):
        return None
    if np.array_equal(got[:h, :w], image) and p > 0:
        hint = "the image sits in the top-left corner; it should start p rows down and p columns right."
    elif p > 0 and np.array_equal(got, np.pad(image.copy(), [(p, p), (p, p)], mode="edge")):
        hint = "the border repeats the edge pixels; zero padding fills it with zeros."
    elif not np.array_equal(got[p : p + h, p : p + w], image):
        hint = "the middle of the result should be the image itself, `result[p:p + H, p:p + W] == image`."
    else:
        hint = "the border should hold zeros only."
    return f"`{call}` gives the right shape but wrong values: {hint}\n  got:\n{got}"


def check_zero_pad(fn: Any) -> None:
    """Lesson 01: ``fn(image, p)`` surrounds an (H, W) image with ``p`` rows/columns of zeros on every side.

    Judged by properties (shape, middle, zero border, dtype), with no reference padding.
    """
    name = "zero_pad"
    _require_function(fn, name)
    image = np.arange(1, 13, dtype=np.float64).reshape(3, 4)
    p = 2
    call = f"{name}(image, {p})"
    got = _require_array(_call(fn, (image, p), name, _PAD_PARAMS), name, call, "the padded image")
    problem = _padding_problem(image, p, got, call)
    if problem:
        raise CheckFailed(problem)
    small = np.array([[7, 8], [9, 10]], dtype=np.uint8)
    got = _require_array(_call(fn, (small, 1), name, _PAD_PARAMS), name, f"{name}(image, 1)", "the image")
    if got.dtype != np.uint8:
        raise CheckFailed(
            f"`{name}` turned a uint8 image into {got.dtype}; padding should keep the image's type. "
            "Create the zeros with `np.zeros(shape, dtype=image.dtype)`."
        )
    minus_zero = (
        "Hint: with p = 0 the image should come back unchanged. If you wrote `[p:-p]`, note that -0 is 0, so "
        "`image[0:-0]` is empty; write `[p:p + H]` instead."
    )
    try:
        got = _require_array(_call(fn, (small, 0), name, _PAD_PARAMS), name, f"{name}(image, 0)", "the image")
    except CheckFailed as failure:
        raise CheckFailed(f"{failure}\n  {minus_zero}") from None
    if got.shape != small.shape or not np.array_equal(got, small):
        raise CheckFailed(f"`{name}(image, 0)` gives {_show(got)}; expected {_show(small)}.\n  {minus_zero}")
    cases = [
        (np.random.default_rng(1).normal(size=(5, 5)), 1),
        (np.random.default_rng(2).normal(size=(2, 7)).astype(np.float32), 3),
        (np.array([[4.0]]), 2),
        (small, 0),
    ]
    for number, (case_image, case_p) in enumerate(cases, start=1):
        h, w = case_image.shape
        case_call = f"{name}(image, {case_p}) with a {h}x{w} {case_image.dtype} image"
        got = _require_array(_call(fn, (case_image, case_p), name, _PAD_PARAMS), name, case_call, "the image")
        problem = _padding_problem(case_image, case_p, got, case_call)
        if problem is None and got.dtype != case_image.dtype:
            problem = f"`{case_call}` returns {got.dtype}; keep the image's dtype."
        if problem:
            raise CheckFailed(f"Case {number} of {len(cases)}: {problem}")
    before = cases[0][0].copy()
    _call(fn, (cases[0][0], 1), name, _PAD_PARAMS, copy=False)
    if not np.array_equal(cases[0][0], before):
        raise CheckFailed(f"`{name}` changed the image it was given; build and return a new array instead.")
    _passed(name, 2 + len(cases) + 1)


_PAD_PARAMS = ("image", "p")


# --------------------------------------------------------------------------- exercise 2: output size


#: Formulas learners really write, each with what to change.
_OUTPUT_SIZE_MISTAKES: list[tuple[Callable[..., float], str]] = [
    (
        lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
        "you forgot the `+ 1`: the division counts the steps between the first and the last kernel position, "
        "and the first position is an output pixel too.",
    ),
    (
        lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1,
        "you rounded up; a kernel position counts only if the whole kernel fits, so round down (`//`).",
    ),
    (
        lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
        "padding p is added on *both* sides, so the padded input has n + 2p pixels.",
    ),
    (
        lambda n, k, s, p, d: (n + 2 * p - (k - 1) - 1) // s + 1,
        "you ignored the dilation: a dilated kernel spans d(k - 1) + 1 pixels.",
    ),
    (
        lambda n, k, s, p, d: (n + 2 * p - d * k - 1) // s + 1,
        "a kernel of k taps spread d apart spans d(k - 1) + 1 pixels, not dk + 1.",
    ),
    (
        lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) + 1,
        "you ignored the stride: the kernel jumps s pixels at a time, so divide by s (rounding down).",
    ),
    (
        lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
        "this is the formula without dilation; with dilation d the kernel spans d(k - 1) + 1 pixels.",
    ),
]

def check_conv_output_size(fn: Any) -> None:
    """Lesson 01: ``fn(n, k, s, p, d)`` is the number of output pixels along one axis, as Keras' Conv2D computes.

    Compared with stored results (checks/data/lesson01.json: the kernel positions counted with NumPy).
    """
    name = "conv_output_size"
    _require_function(fn, name)
    book = stored("lesson01", name)
    cases = [c.args for c in book.cases]
    expected = [c.expected for c in book.cases]
    got = [_to_numpy(_call(fn, case, name, book.params)) for case in cases]
    for case, value, right in zip(cases, got, expected):
        call = f"{name}{case}"
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"`{call}` returned {_show(value)}; it should return one whole number ({right}).")
        if isinstance(value, (float, np.floating)):
            hint = (
                "use floor division `//` so that the result is a whole number"
                if float(value) == right
                else "a part of a kernel position does not count: use floor division `//`, which rounds down"
            )
            raise CheckFailed(f"`{call}` returned the decimal number {float(value)!r}; {hint} (expected {right}).")
    if all(int(v) == e for v, e in zip(got, expected)):
        _passed(name, len(expected))
        return
    for mistake, hint in _OUTPUT_SIZE_MISTAKES:
        if all(int(v) == mistake(*case) for v, case in zip(got, cases)):
            first = next(i for i, (v, e) in enumerate(zip(got, expected)) if int(v) != e)
            raise CheckFailed(
                f"`{name}{cases[first]}` returned {int(got[first])}; expected {expected[first]}. "
                f"Hint: {hint}"
            )
    first = next(i for i, (v, e) in enumerate(zip(got, expected)) if int(v) != e)
    n, k, s, p, d = cases[first]
    raise CheckFailed(
        f"`{name}(n={n}, k={k}, s={s}, p={p}, d={d})` returned {int(got[first])}; expected {expected[first]}. "
        "Build it step by step: the padded input has n + 2p pixels, the kernel spans d(k - 1) + 1 of them, "
        "so it fits at (n + 2p - span) // s + 1 positions."
    )


# --------------------------------------------------------------------------- exercise 3: one-channel convolution


def _correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """SciPy's 'valid' cross-correlation: the independent oracle of this exercise (and of its mistakes)."""
    import scipy.signal  # imported here so that importing the checks stays fast

    return scipy.signal.correlate2d(image, kernel, mode="valid")


def _conv2d_single_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    shapes = [((6, 6), (3, 3)), ((5, 7), (2, 3)), ((4, 4), (1, 1)), ((3, 5), (3, 5)), ((8, 6), (4, 2))]
    return [(rng.normal(size=image), rng.normal(size=kernel)) for image, kernel in shapes]


def check_conv2d_single(fn: Any) -> None:
    """Lesson 01: ``fn(image, kernel)`` is the 'valid', stride-1 cross-correlation of an (H, W) image, as conv2d.

    Compared with SciPy's ``scipy.signal.correlate2d(..., mode="valid")``.
    """
    name = "conv2d_single"
    _require_function(fn, name)
    cases = _conv2d_single_cases()
    for image, kernel in cases[:2]:  # a square and a rectangular case, looked at closely
        (h, w), (kh, kw) = image.shape, kernel.shape
        call = f"{name}(image, kernel) with a {h}x{w} image and a {kh}x{kw} kernel"
        got = _require_array(_call(fn, (image, kernel), name, _correlate), name, call, "the output")
        expected = _correlate(image, kernel)
        if got.shape != expected.shape:
            hint = {
                (h, w): " That is the input's size: this exercise asks for 'valid' (no padding), which loses "
                "KH - 1 rows and KW - 1 columns.",
                (h - kh, w - kw): " Off by one: the kernel fits at H - KH + 1 row positions; loop over "
                "`range(H - KH + 1)`.",
                (h - kh + 2, w - kw + 2): " One position too many: the last one would stick out of the image; loop "
                "over `range(H - KH + 1)`.",
                expected.shape[::-1]: " Rows and columns are swapped: the first axis is rows (H - KH + 1), the "
                "second columns (W - KW + 1).",
            }.get(got.shape, " Valid convolution gives H - KH + 1 rows and W - KW + 1 columns.")
            raise CheckFailed(
                f"Your output has shape {got.shape}; for a {h}x{w} input and a {kh}x{kw} kernel it should be "
                f"{expected.shape}.{hint}"
            )
        if not np.issubdtype(got.dtype, np.number):
            raise CheckFailed(f"`{call}` should return numbers; got {_show(got)}.")
        if np.allclose(got, expected, rtol=1e-6, atol=1e-8):
            continue
        flipped = _correlate(image, kernel[::-1, ::-1])
        if np.allclose(got, flipped, rtol=1e-6, atol=1e-8):
            raise CheckFailed(
                f"`{call}`: your output is flipped: you computed a true convolution (the kernel turned by 180 "
                "degrees). Deep-learning libraries cross-correlate: multiply image[i + p, j + q] by kernel[p, q], "
                "with no flip."
            )
        if np.allclose(got, _correlate(image, kernel[::-1, :])) or np.allclose(
            got, _correlate(image, kernel[:, ::-1])
        ):
            raise CheckFailed(
                f"`{call}`: your output matches the kernel mirrored along one axis; use kernel[p, q] as it is."
            )
        if kh == kw and np.allclose(got, _correlate(image, kernel.T)):
            raise CheckFailed(
                f"`{call}`: your output matches the kernel transposed: pair image[i + p, j + q] with "
                "kernel[p, q] (row with row, column with column)."
            )
        if np.allclose(got, np.cumsum(expected).reshape(expected.shape)):
            raise CheckFailed(
                f"`{call}`: each output adds up all the outputs before it: start the sum at 0 again for every (i, j)."
            )
    count = _run_cases(fn, _correlate, cases, name=name, rtol=1e-6, atol=1e-8, check_dtype=False)
    _passed(name, count)
