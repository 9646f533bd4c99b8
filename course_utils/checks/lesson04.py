"""Checks for lesson 04's exercises (The GAN minimax objective).

optimal_discriminator, value_estimate and generator_loss_ns compare with stored results
(checks/data/lesson04.json): computed with NumPy, and TensorFlow's sigmoid cross-entropy. alternating_step runs
the learner's step and the course's ``toygan.alternating_step`` from the same weights (checks/steps.py);
loss_experiment checks that the learner's measurements are well formed and that the conclusion follows from them.
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

__all__ = [
    "check_alternating_step",
    "check_generator_loss_ns",
    "check_loss_experiment",
    "check_optimal_discriminator",
    "check_value_estimate",
]


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


# --------------------------------------------------------------------------- one alternating step of the toy GAN


def _toy_case(seed: int) -> tuple[Any, Any, Any, Any]:
    """A builder of identical toy networks, and a real batch and two noise batches (float32)."""
    from course_utils import toygan

    def build() -> tuple[Any, Any]:
        return (toygan.build_toy_generator(latent_dim=4, width=8, seed=seed),
                toygan.build_toy_discriminator(width=8, seed=seed))

    rng = np.random.default_rng(seed)
    real = (3.0 + 0.7 * rng.standard_normal((16, 1))).astype(np.float32)
    d_noise = rng.standard_normal((16, 4)).astype(np.float32)
    g_noise = rng.standard_normal((16, 4)).astype(np.float32)
    return build, real, d_noise, g_noise


def _two_losses(got: Any, call: str) -> tuple[float, float]:
    """The learner's (d_loss, g_loss) as two floats, or CheckFailed saying what came back instead."""
    if got is None:
        raise CheckFailed(f"{call} returned None. Did you forget `return d_loss, g_loss`?")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{call} returned {_show(got)}; it should return two numbers, (d_loss, g_loss).")
    values = []
    for label, value in zip(("d_loss", "g_loss"), got):
        array = np.asarray(_to_numpy(value))
        if not np.issubdtype(array.dtype, np.number) or array.size != 1:
            raise CheckFailed(f"{call} returned {label} = {_show(value)}; it should be one number, the mean over "
                              "the batch.")
        values.append(float(array.reshape(())))
    if not all(np.isfinite(values)):
        raise CheckFailed(f"{call} returned (d_loss, g_loss) = {tuple(values)}: compute the losses from logits, "
                          "stably (softplus or tf.nn.sigmoid_cross_entropy_with_logits).")
    return values[0], values[1]


def check_alternating_step(fn: Any) -> None:
    """Lesson 04: ``fn(generator, discriminator, g_opt, d_opt, real, d_noise, g_noise, saturating=False)`` makes
    one D step then one G step and returns (d_loss, g_loss), as ``toygan.alternating_step`` does."""
    from course_utils.checks import steps

    name = "alternating_step"
    _require_function(fn, name)
    for number, saturating in enumerate((False, True), start=1):
        build, real, d_noise, g_noise = _toy_case(seed=number)
        generator, discriminator = build()
        g_before, d_before = steps.weights(generator), steps.weights(discriminator)
        args = (generator, discriminator, steps.sgd(), steps.sgd(), real, d_noise, g_noise)
        params = ("generator", "discriminator", "g_opt", "d_opt", "real", "d_noise", "g_noise")
        call = f"`{name}(..., saturating={saturating})`"
        returned = _call(lambda *a, s=saturating: fn(*a, saturating=s), args, name, params)
        d_loss, g_loss = _two_losses(returned, call)
        got = steps.StepResult(steps.delta(discriminator, d_before), steps.delta(generator, g_before), d_loss, g_loss)
        loss = "saturating" if saturating else "non-saturating"
        steps.diagnose(name, got, build, real, d_noise, g_noise, loss=loss,
                       what=f"{call} on a toy GAN with SGD (learning rate {steps.LEARNING_RATE})")
    _passed(name, 2)


# --------------------------------------------------------------------------- experiment: a strong D


def check_loss_experiment(distances: Any, conclusion: Any, *, g_steps: int) -> None:
    """Lesson 04's experiment: ``distances[loss]`` holds |mean of G's samples − data mean| before and after each of
    ``g_steps`` steps, from the same start for both losses; ``conclusion`` names the loss that ended nearer."""
    from course_utils.checks import steps

    losses = ("saturating", "non-saturating")
    curves = steps.curves(distances, g_steps + 1, "distances", losses)
    answer = steps.choice(conclusion, losses, "conclusion")
    sat, ns = curves["saturating"], curves["non-saturating"]
    if np.any(sat < 0) or np.any(ns < 0):
        raise CheckFailed("`distances` holds negative numbers; a distance is |mean of the samples - data mean| >= 0.")
    if not np.isclose(sat[0], ns[0], rtol=1e-5, atol=1e-6):
        raise CheckFailed(
            f"The two runs start at different distances ({sat[0]:.4g} and {ns[0]:.4g}): start both from the same "
            "generator and discriminator (restore the saved weights before each run) and measure on the same "
            "fixed noise, so that the loss is the only difference."
        )
    if np.allclose(sat, ns, rtol=0.0, atol=1e-9):
        raise CheckFailed("The two runs give exactly the same distances: did each run really use its own loss "
                          "(saturating=True for one, False for the other)?")
    if np.allclose(sat, sat[0], atol=1e-9) and np.allclose(ns, ns[0], atol=1e-9):
        raise CheckFailed("Neither run moved the generator: measure after each step, with the trained generator.")
    nearer = "saturating" if sat[-1] < ns[-1] else "non-saturating"
    tied = abs(sat[-1] - ns[-1]) <= 1e-3 * max(sat[0], 1e-6)
    if answer != nearer and not tied:
        raise CheckFailed(
            f"Your numbers say otherwise: after {g_steps} steps the saturating run is {sat[-1]:.4g} from the data "
            f"and the non-saturating run {ns[-1]:.4g}, so the {nearer} loss got the generator further. Read the "
            "conclusion from your own measurements."
        )
    print(f"✔ conclusion follows from your measurements: after {g_steps} steps the saturating loss left G "
          f"{sat[-1]:.3g} from the data ({sat[0] - sat[-1]:+.3g} gained), the non-saturating one {ns[-1]:.3g} "
          f"({ns[0] - ns[-1]:+.3g} gained).")
