"""Checks for lesson 05's exercises (DCGAN architecture, and debugging a broken GAN).

Both compare with stored results (checks/data/lesson05.json): discriminator_loss computed with Keras'
BinaryCrossentropy, generator_output_side with Keras' Conv2DTranspose layers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_discriminator_loss", "check_generator_output_side"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- the discriminator's loss


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _bce(label: float, logits: np.ndarray) -> np.ndarray:
    """Per-example binary cross-entropy of sigmoid(logits) against a constant label, from logits."""
    return label * _softplus(-logits) + (1.0 - label) * _softplus(logits)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _mistakes(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """What typical wrong discriminator losses give on (real, fake), with a hint for each."""
    clip = 1e-7
    probs = np.clip(real, clip, 1 - clip), np.clip(fake, clip, 1 - clip)
    return {
        "the logits went through a sigmoid before a loss that applies the sigmoid itself (from_logits=True): "
        "a double sigmoid. Pass the logits straight to the loss.": float(
            np.mean(_bce(1.0, _sigmoid(real))) + np.mean(_bce(0.0, _sigmoid(fake)))
        ),
        "the logits were treated as probabilities (a loss with from_logits=False, the default of "
        "keras.losses.BinaryCrossentropy). Build it with from_logits=True.": float(
            np.mean(-np.log(probs[0])) + np.mean(-np.log(1 - probs[1]))
        ),
        "the labels are swapped: real images should be labelled 1 (ones_like) and fakes 0 (zeros_like).": float(
            np.mean(_bce(0.0, real)) + np.mean(_bce(1.0, fake))
        ),
        "only the real term is there: add the fake logits against label 0.": float(np.mean(_bce(1.0, real))),
        "only the fake term is there: add the real logits against label 1.": float(np.mean(_bce(0.0, fake))),
        "the two terms are averaged; the loss is their sum.": float(
            (np.mean(_bce(1.0, real)) + np.mean(_bce(0.0, fake))) / 2
        ),
        "the terms are summed over the batch; take the mean over the images (reduce_mean).": float(
            np.sum(_bce(1.0, real)) + np.sum(_bce(0.0, fake))
        ),
        "both terms use label 1; the fakes must be compared with label 0.": float(
            np.mean(_bce(1.0, real)) + np.mean(_bce(1.0, fake))
        ),
        "both terms use label 0; the real images must be compared with label 1.": float(
            np.mean(_bce(0.0, real)) + np.mean(_bce(0.0, fake))
        ),
    }


def check_discriminator_loss(fn: Any) -> None:
    """Lesson 05: ``fn(real_logits, fake_logits)`` equals ``gan.discriminator_loss`` (BCE from logits, 1 vs 0)."""
    import tensorflow as tf  # imported here so that importing the checks stays fast

    name = "my_discriminator_loss"
    _require_function(fn, name)
    book = stored("lesson05", "discriminator_loss")
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (real, fake), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (tf.constant(real), tf.constant(fake)), name, book.params))
        shown = f"real_logits = {_show(real)}, fake_logits = {_show(fake)}"
        if got is None:
            raise CheckFailed(f"`{name}` returned None. Did you forget a `return` statement?")
        array = np.asarray(got)
        if not np.issubdtype(array.dtype, np.number):
            raise CheckFailed(f"`{name}` should return one number (a scalar tensor); got {_show(got)}.")
        if array.size != 1:
            raise CheckFailed(
                f"`{name}` returned {_show(got)}, shaped {array.shape}; it should return one number, the mean over "
                f"the batch (use tf.reduce_mean, or a Keras loss, which averages for you)."
                + (" Did you feed it images instead of the discriminator's logits?" if array.ndim >= 3 else "")
            )
        value = float(array.reshape(()))
        if np.isclose(value, expected, rtol=1e-4, atol=1e-5):
            continue
        hint = next(
            (text for text, wrong in _mistakes(real, fake).items() if np.isclose(value, wrong, rtol=1e-4, atol=1e-5)),
            None,
        )
        raise CheckFailed(
            f"`{name}` gives {value:.6g} on case {number} of {len(cases)}; gan.discriminator_loss gives "
            f"{expected:.6g}.\n  inputs: {shown}"
            + (f"\n  Hint: {hint}" if hint else "")
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the generator's output side


def check_generator_output_side(fn: Any) -> None:
    """Lesson 05: ``fn(side, layers)`` is the side after transposed convolutions (kernel, stride, padding), as Keras."""
    name = "generator_output_side"
    _require_function(fn, name)
    book = stored("lesson05", name)
    cases = book.cases
    for stored_case in cases:
        (side, layers), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (side, list(layers)), name, book.params))
        call = f"`{name}({side}, {layers})` returned {_show(got)}"
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call}; it should return one whole number of pixels ({expected}).")
        if got == expected:
            continue
        hints = {}
        shrink, all_same, no_max = side, side, side
        for kernel, stride, padding in layers:
            shrink = (shrink + (kernel - 1 if padding == "same" else 0) - kernel) // stride + 1
            all_same = all_same * stride
            no_max = no_max * stride if padding == "same" else (no_max - 1) * stride + kernel
        hints[shrink] = "that is the size after ordinary (downsampling) convolutions; a transposed convolution " \
            "*multiplies* the side by the stride."
        hints.setdefault(all_same, "with 'valid' padding the output is (side - 1) * stride + max(kernel, stride), "
                                   "not side * stride.")
        hints.setdefault(no_max, "with 'valid' padding Keras uses max(kernel, stride), which matters when the "
                                 "stride is larger than the kernel.")
        hints.setdefault(side, "the loop must update `side` after each layer (side = ...), then return it.")
        hint = hints.get(got)
        raise CheckFailed(f"{call}; Keras gives {expected}." + (f" Hint: {hint}" if hint else ""))
    _passed(name, len(cases))
