"""Checks for lesson 04's exercises (The GAN minimax objective).

All three compare with stored results (checks/data/lesson04.json): optimal_discriminator and value_estimate
computed with NumPy, generator_loss_ns with TensorFlow's sigmoid cross-entropy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import (
    _NOT_WRITTEN,
    CheckFailed,
    _call,
    _passed,
    _run_expected,
    _run_stored,
    _show,
    _to_numpy,
)
from course_utils.checks.stored import stored

__all__ = ["check_generator_loss_ns", "check_optimal_discriminator", "check_value_estimate"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _close(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    got, expected = _to_numpy(got), _to_numpy(expected)
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected_array = np.asarray(expected, dtype=np.float64)
    return got_array.shape == expected_array.shape and bool(
        np.allclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    )


# --------------------------------------------------------------------------- the optimal discriminator


def check_optimal_discriminator(fn: Any) -> None:
    """Lesson 04: ``fn(p_data, p_g)`` is D* = p_data / (p_data + p_g) pointwise, 0.5 where both are 0."""
    name = "optimal_discriminator"
    _require_function(fn, name)
    book = stored("lesson04", name)
    (p_data, p_g), expected = book.cases[0].args, book.cases[0].expected
    with np.errstate(all="ignore"):
        got = _to_numpy(_call(fn, (p_data, p_g), name, book.params))
        hints = [
            (p_g / (p_data + p_g), "you returned p_g / (p_data + p_g): that is the probability of *fake*. D(x) is "
             "the probability that x is *real*, so p_data goes on top."),
            (np.divide(p_data, p_g), "you returned the ratio p_data / p_g. D* compares p_data with the *sum* "
             "p_data + p_g, so it stays between 0 and 1."),
        ]
    for wrong, hint in hints:
        if _close(got, wrong):
            raise CheckFailed(f"`{name}(p_data, p_g)` gives {_show(got)}; expected {_show(expected)}. "
                              f"Hint: {hint}")
    got_array = np.asarray(got, dtype=np.float64) if got is not None else None
    if got_array is not None and got_array.shape == expected.shape and np.allclose(got_array[:4], expected[:4]):
        if not np.isclose(got_array[4], 0.0):
            raise CheckFailed(f"`{name}` gives {got_array[4]!r} where p_data = 0 and p_g = 0.2; expected 0: with "
                              "no real data there, the best D says 'fake' for sure.")
    zeros = np.zeros(3)
    both_zero = _to_numpy(_call(fn, (zeros, zeros), name, book.params))
    with np.errstate(all="ignore"):
        if both_zero is not None and np.any(np.isnan(np.asarray(both_zero, dtype=np.float64))):
            raise CheckFailed(
                f"`{name}` returns nan where p_data and p_g are both 0 (0 / 0). Nothing is ever seen there, so any "
                "D is optimal; return 0.5 at those points, e.g. with np.divide(..., out=np.full_like(total, 0.5), "
                "where=total > 0) or np.where."
            )
    count = _run_stored(fn, "lesson04", name, name=name, rtol=1e-6, atol=1e-9, check_dtype=False)
    _passed(name, 4 + count)


# --------------------------------------------------------------------------- the value function from samples


def _logistic(x: np.ndarray) -> np.ndarray:
    """A discriminator that believes large x is real."""
    return 1.0 / (1.0 + np.exp(-(1.5 * np.asarray(x, dtype=np.float64) - 0.5)))


#: The discriminators of the stored cases, by the name stored with each case.
DISCRIMINATORS = {
    "logistic": _logistic,
    "one half": lambda x: np.full(np.shape(x), 0.5),  # D = 1/2 everywhere: V = -log 4
    "falling": lambda x: 1.0 / (1.0 + np.exp(2.0 * np.asarray(x))),
}


def check_value_estimate(fn: Any) -> None:
    """Lesson 04: ``fn(discriminator, real, fake)`` = mean log D(real) + mean log(1 − D(fake))."""
    name = "value_estimate"
    _require_function(fn, name)
    book = stored("lesson04", name)
    pairs = [((DISCRIMINATORS[c.args[0]], *c.args[1:]), c.expected) for c in book.cases]
    (d, real, fake), expected = pairs[0]
    got = _to_numpy(_call(fn, (d, real, fake), name, book.params))
    a, b = np.log(d(real)), np.log(1 - d(fake))
    hints = [
        (-expected, "the sign is flipped: V is what the discriminator *maximises*, mean log D(real) + "
         "mean log(1 − D(fake)); it is never positive. (Its negative is the discriminator's loss.)"),
        (np.mean(a) + np.mean(np.log(d(fake))), "the second term uses log D(fake); it should be log(1 − D(fake)): "
         "the discriminator is rewarded for saying 'fake' to fakes."),
        (np.mean(np.log(d(fake))) + np.mean(np.log(1 - d(real))), "real and fake are swapped: log D goes with the "
         "real samples and log(1 − D) with the fakes."),
        (a.sum() + b.sum(), "you summed the logs; V is an *expectation*, so take the mean of each term."),
        (np.mean(np.concatenate([a, b])), "you averaged all the logs together; take the mean of each term "
         "separately and add the two means (there are different numbers of real and fake samples)."),
        (np.mean(d(real)) + np.mean(1 - d(fake)), "the logarithms are missing: V = mean log D(real) + "
         "mean log(1 − D(fake))."),
    ]
    for wrong, hint in hints:
        if _close(got, wrong, rtol=1e-6):
            raise CheckFailed(f"`{name}` gives {_show(got)}; expected {expected!r}. Hint: {hint}")
    count = _run_expected(fn, pairs, book.params, name=name, rtol=1e-6, atol=1e-9, check_dtype=False)
    _passed(name, count)


# --------------------------------------------------------------------------- the non-saturating generator loss


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def check_generator_loss_ns(fn: Any) -> None:
    """Lesson 04: ``fn(fake_logits)`` is the non-saturating loss mean(−log sigmoid(logits)), as one number."""
    name = "generator_loss_ns"
    _require_function(fn, name)
    book = stored("lesson04", name)
    (logits,), expected = book.cases[0].args, book.cases[0].expected
    got = _to_numpy(_call(fn, (logits,), name, book.params))
    if isinstance(got, np.ndarray) and got.ndim > 0 and got.size > 1:
        raise CheckFailed(f"`{name}` returned {_show(got)}, one value per sample; return their mean, one number "
                          "(e.g. with tf.reduce_mean).")
    sig = 1 / (1 + np.exp(-logits.astype(np.float64)))
    hints = [
        (-expected, "the sign is flipped: the generator *minimises* −log D(G(z)), a positive number."),
        (float(np.mean(np.log(1 - sig))), "that is the *saturating* loss log(1 − D(G(z))), whose gradient "
         "vanishes when D rejects the fakes. The non-saturating loss is −log D(G(z))."),
        (float(np.mean(_softplus(logits))), "you used label 0 (the discriminator's 'fake' target). The generator "
         "wants D to say 'real': use labels of 1 (tf.ones_like)."),
        (float(np.mean(_softplus(-sig))), "the inputs are already logits: you applied a sigmoid before a loss "
         "that applies one itself. Pass the logits straight to sigmoid_cross_entropy_with_logits."),
    ]
    with np.errstate(all="ignore"):
        hints.append((float(-np.mean(np.log(np.abs(logits)))), "you treated the logits as probabilities (−log of "
                      "the input). They are logits: D = sigmoid(logit), so −log D = softplus(−logit)."))
    for wrong, hint in hints:
        if _close(got, wrong, rtol=1e-5):
            raise CheckFailed(f"`{name}` gives {_show(got)}; expected {expected!r}. Hint: {hint}")
    (extreme,) = book.cases[1].args
    got = _to_numpy(_call(fn, (extreme,), name, book.params))
    with np.errstate(all="ignore"):
        not_finite = got is not None and not np.all(np.isfinite(np.asarray(got, dtype=np.float64)))
    if not_finite:
        raise CheckFailed(
            f"`{name}` gives {_show(got)} for logits {extreme.tolist()}: sigmoid(−120) rounds to 0 in float32 and "
            "log(0) is −inf. Compute −log sigmoid(l) stably as softplus(−l), or with "
            "tf.nn.sigmoid_cross_entropy_with_logits."
        )
    count = _run_stored(fn, "lesson04", name, name=name, rtol=1e-5, atol=1e-5, check_dtype=False)
    _passed(name, 2 + count)
