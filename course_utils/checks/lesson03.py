"""Checks for lesson 03's exercises (A CNN classifier).

conv_params: Keras' own parameter count as the oracle; conv_pool_output_size and accuracy_from_logits: stored
results (checks/data/lesson03.json, computed with Keras layers and Keras' accuracy metric).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _run_stored, _show, _to_numpy

__all__ = ["check_accuracy_from_logits", "check_conv_params", "check_conv_pool_output_size"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- parameters of a Conv2D layer


def _keras_conv_params(kernel: int, c_in: int, c_out: int) -> int:
    """What Keras counts for Conv2D(c_out, kernel) on c_in input channels (with biases)."""
    import keras  # imported here so that importing the checks stays fast

    layer = keras.layers.Conv2D(c_out, kernel)
    layer.build((None, None, None, c_in))
    return int(layer.count_params())


def check_conv_params(fn: Any) -> None:
    """Lesson 03: ``fn(kernel, c_in, c_out)`` counts the weights and biases of a square Conv2D, as Keras does."""
    name = "conv_params"
    _require_function(fn, name)
    cases = [(3, 1, 32), (3, 32, 64), (5, 3, 8), (1, 16, 4), (7, 2, 1)]
    for kernel, c_in, c_out in cases:
        got = _to_numpy(_call(fn, (kernel, c_in, c_out), name, _keras_conv_params))
        expected = _keras_conv_params(kernel, c_in, c_out)
        call = f"`{name}({kernel}, {c_in}, {c_out})` returned {_show(got)}"
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call}; it should return one whole number, the count of parameters ({expected:,}).")
        if got == expected:
            continue
        hints = {
            kernel * kernel * c_in * c_out: "that counts the weights but not the biases: each of the c_out filters "
            "also has one bias.",
            kernel * kernel * c_out + c_out: "each filter spans *all* c_in input channels, so it has "
            "kernel x kernel x c_in weights.",
            kernel * c_in * c_out + c_out: "a kernel of size k is k x k pixels: square the kernel size.",
            (kernel * kernel + 1) * c_in * c_out: "there is one bias per filter (per output channel), not one per "
            "input-output pair.",
        }
        hint = hints.get(got)
        raise CheckFailed(f"{call}; Keras counts {expected:,}." + (f" Hint: {hint}" if hint else ""))
    _passed(name, len(cases))


# --------------------------------------------------------------------------- size after the Conv-Pool stack


def check_conv_pool_output_size(fn: Any) -> None:
    """Lesson 03: ``fn(size, kernel, pool)`` gives the side after Conv-Pool-Conv-Pool ('valid' convs, stride 1)."""
    name = "conv_pool_output_size"
    _require_function(fn, name)
    got = _to_numpy(_call(fn, (28, 3, 2), name, ("size", "kernel", "pool")))
    if isinstance(got, (float, np.floating)) and float(got) != int(got):
        raise CheckFailed(
            f"`{name}(28, 3, 2)` returned {got!r}, not a whole number of pixels. Pooling keeps only whole "
            "windows: divide with floor division `//`."
        )
    if got == 7:
        raise CheckFailed(
            f"`{name}(28, 3, 2)` returned 7, the size with padding='same'. The lesson's convolutions use no "
            "padding: a 3x3 convolution takes 28 pixels to 28 - 3 + 1 = 26."
        )
    if got == 24:
        raise CheckFailed(
            f"`{name}(28, 3, 2)` returned 24: that is the two convolutions without the pooling. Each 2x2 max "
            "pooling halves the size (rounding down)."
        )
    if got == 6:
        raise CheckFailed(
            f"`{name}(28, 3, 2)` returned 6: it looks like the pooling rounds up. 11 pixels make 5 whole 2x2 "
            "windows (the last pixel is dropped): use floor division `//`."
        )
    count = _run_stored(fn, "lesson03", name, name=name, rtol=0, atol=0, check_dtype=False)
    _passed(name, count)


# --------------------------------------------------------------------------- accuracy from logits


def check_accuracy_from_logits(fn: Any) -> None:
    """Lesson 03: ``fn(logits, labels)`` is the fraction of rows whose largest logit is at the true label."""
    name = "accuracy_from_logits"
    _require_function(fn, name)
    logits = np.array([[2.0, -1.0, 0.5], [-3.0, -0.5, -2.0], [0.1, 0.2, 0.3], [1.0, 4.0, -1.0]], np.float32)
    labels = np.array([0, 1, 0, 1])  # rows 0, 1 and 3 are right: accuracy 0.75
    got = _to_numpy(_call(fn, (logits, labels), name, ("logits", "labels")))
    if isinstance(got, np.ndarray) and got.ndim > 0:
        raise CheckFailed(
            f"`{name}` returned an array {_show(got)}; it should return one number, the fraction of correct "
            "predictions (e.g. with np.mean)."
        )
    if got == 3:
        raise CheckFailed(
            f"`{name}` returned 3 for 3 correct predictions out of 4: divide by the number of images to get a "
            "fraction (0.75)."
        )
    if got == 0.25:
        raise CheckFailed(
            f"`{name}` returned 0.25 instead of 0.75: the prediction is the class with the *largest* logit "
            "(np.argmax along the last axis), even when all logits are negative."
        )
    count = 4 + _run_stored(fn, "lesson03", name, name=name, rtol=1e-6, atol=1e-6, check_dtype=False)
    _passed(name, count)
