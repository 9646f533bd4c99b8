"""What the GAN train-step checks share: run a step from known weights and say which part went wrong (lessons 04-06).

A check builds the same generator and discriminator twice (a seed fixes their weights), runs the learner's step
on one copy and the course's ``toygan.alternating_step`` on the other, with the same real batch and noise and
plain SGD (its update is the gradient times the learning rate, so a gradient of the wrong size shows; Adam's
first step would hide it). Then it compares what moved: the discriminator's weights, the generator's weights and
the returned losses. Likely mistakes are recognised by running the course's step in a mistaken way (the other
generator loss, the discriminator held still during the generator's step, the noise batches mixed up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.checks.core import CheckFailed, _show, _to_numpy

__all__: list[str] = []  # nothing here is for the notebooks

LEARNING_RATE = 0.05  #: the SGD learning rate of both networks in the step checks


@dataclass(frozen=True)
class StepResult:
    """How far one step moved each network's trainable weights (flattened), and the two losses it returned."""

    d_delta: np.ndarray
    g_delta: np.ndarray
    d_loss: float
    g_loss: float


def weights(model: Any) -> list[np.ndarray]:
    """Copies of a model's trainable weights."""
    return [np.array(w.numpy(), dtype=np.float64) for w in model.trainable_variables]


def delta(model: Any, before: list[np.ndarray]) -> np.ndarray:
    """How far the trainable weights moved since ``before``, as one flat float64 vector."""
    return np.concatenate([(np.asarray(w.numpy(), np.float64) - b).ravel()
                           for w, b in zip(model.trainable_variables, before, strict=True)])


def sgd(learning_rate: float = LEARNING_RATE) -> Any:
    """A fresh SGD optimizer (no momentum: one step moves the weights by -learning_rate x gradient)."""
    import keras

    return keras.optimizers.SGD(learning_rate)


def reference(
    build: Callable[[], tuple[Any, Any]],
    real: Any,
    d_noise: Any,
    g_noise: Any,
    *,
    loss: str,
    d_learning_rate: float = LEARNING_RATE,
) -> StepResult:
    """The course's alternating step (``toygan.alternating_step``) on fresh models from ``build()``."""
    from course_utils import toygan

    generator, discriminator = build()
    g_before, d_before = weights(generator), weights(discriminator)
    d_loss, g_loss = toygan.alternating_step(generator, discriminator, sgd(), sgd(d_learning_rate), real, d_noise,
                                             g_noise, loss=loss)
    return StepResult(delta(discriminator, d_before), delta(generator, g_before), float(d_loss), float(g_loss))


def close(got: np.ndarray, expected: np.ndarray) -> bool:
    """Deltas agree to float32 rounding (relative to the largest move), whatever the loss was written with."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-3, atol=1e-3 * scale + 1e-7))


def diagnose(
    name: str,
    got: StepResult,
    build: Callable[[], tuple[Any, Any]],
    real: Any,
    d_noise: Any,
    g_noise: Any,
    *,
    loss: str,
    what: str,
) -> None:
    """Raise CheckFailed naming the first part of ``got`` that differs from the course's step, with a hint."""
    other = "saturating" if loss == "non-saturating" else "non-saturating"
    right = reference(build, real, d_noise, g_noise, loss=loss)
    # 1. the discriminator's update
    if not close(got.d_delta, right.d_delta):
        if np.allclose(got.d_delta, 0.0, atol=1e-12):
            hint = ("the discriminator's weights did not move. Apply d_optimizer to the gradients of the "
                    "discriminator's loss with respect to discriminator.trainable_variables.")
        elif close(got.d_delta, -right.d_delta):
            hint = ("the discriminator moved the wrong way: it must *ascend* V, that is minimise its cross-entropy "
                    "mean softplus(-real_logits) + mean softplus(fake_logits) (labels 1 for real, 0 for fake). "
                    "Is a sign flipped, or are the labels swapped?")
        elif close(got.d_delta, reference(build, real, g_noise, d_noise, loss=loss).d_delta):
            hint = "the discriminator's step made its fakes from g_noise; use d_noise there (g_noise is for G's step)."
        else:
            hint = ("check the discriminator's loss: the mean (not the sum) of the cross-entropy of the real logits "
                    "against 1 plus the mean of the fake logits against 0, computed from logits (no extra sigmoid), "
                    "and only the discriminator's variables updated by d_optimizer.")
        raise CheckFailed(f"{what}: the discriminator's update differs from the course's step. Hint: {hint}")
    # 2. the generator's update
    if not close(got.g_delta, right.g_delta):
        if np.allclose(got.g_delta, 0.0, atol=1e-12):
            hint = ("the generator's weights did not move. Apply g_optimizer to the gradients of the generator's "
                    "loss with respect to generator.trainable_variables.")
        elif close(got.g_delta, -right.g_delta):
            hint = "the generator moved the wrong way: it must *minimise* its loss. Is a sign flipped?"
        elif close(got.g_delta, reference(build, real, d_noise, g_noise, loss=other).g_delta):
            hint = (f"that is the {other} loss; with saturating={loss == 'saturating'} the generator minimises "
                    + ("mean log(1 - D(G(z))) = -mean softplus(fake_logits)." if loss == "saturating"
                       else "mean -log D(G(z)) = mean softplus(-fake_logits)."))
        elif close(got.g_delta, reference(build, real, d_noise, g_noise, loss=loss, d_learning_rate=0.0).g_delta):
            hint = ("the generator's loss was computed with the discriminator *before* its update (a simultaneous "
                    "step). In the alternating step, run the discriminator again on G(g_noise) in a second tape, "
                    "after d_optimizer.apply_gradients.")
        elif close(got.g_delta, reference(build, real, d_noise, d_noise, loss=loss).g_delta):
            hint = "the generator's step reused d_noise; draw its fakes from g_noise."
        else:
            hint = ("check the generator's loss (the mean over the batch, from the logits of the updated "
                    "discriminator on G(g_noise)) and that only generator.trainable_variables are updated by "
                    "g_optimizer.")
        raise CheckFailed(f"{what}: the generator's update differs from the course's step. Hint: {hint}")
    # 3. the losses it reports
    for label, value, expected in (("d_loss", got.d_loss, right.d_loss), ("g_loss", got.g_loss, right.g_loss)):
        if not np.isclose(value, expected, rtol=1e-4, atol=1e-5):
            if label == "g_loss" and np.isclose(value, reference(build, real, d_noise, g_noise, loss=other).g_loss,
                                                rtol=1e-4, atol=1e-5):
                hint = f" That is the {other} loss's value: return the loss the generator was updated with."
            elif np.isclose(value, -expected, rtol=1e-4, atol=1e-5):
                hint = " Is its sign flipped?"
            else:
                hint = " Return the loss each network was updated with, computed before its own update."
            raise CheckFailed(f"{what}: the updates are right, but {label} is {value:.6g}; the course's step "
                              f"gives {expected:.6g}.{hint}")


# --------------------------------------------------------------------------- experiments


def curves(results: Any, length: int, what: str, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The learner's {name: list of numbers} as float64 arrays of ``length`` finite numbers each, or CheckFailed."""
    if results is None:
        raise CheckFailed(f"`{what}` is not written yet: replace `None` in the exercise cell with your measurements.")
    if not isinstance(results, dict) or set(results) != set(keys):
        raise CheckFailed(f"`{what}` should be a dict with the keys {list(keys)}, one list of measurements per "
                          f"run; got {_show(results)}.")
    out = {}
    for key in keys:
        try:
            array = np.asarray([float(np.asarray(_to_numpy(v)).reshape(())) for v in results[key]], dtype=np.float64)
        except (TypeError, ValueError):
            raise CheckFailed(f"`{what}[{key!r}]` should be a list of numbers, one per step; got "
                              f"{_show(results[key])}.") from None
        if array.shape != (length,):
            raise CheckFailed(f"`{what}[{key!r}]` holds {array.size} numbers; expected {length} (one per step, "
                              "as the exercise says).")
        if not np.all(np.isfinite(array)):
            raise CheckFailed(f"`{what}[{key!r}]` holds NaN or inf values: the run diverged, or a log of 0 was taken.")
        out[key] = array
    return out


def choice(conclusion: Any, choices: tuple[str, ...], name: str) -> str:
    """The learner's conclusion, one of ``choices``, or CheckFailed."""
    if conclusion is None:
        raise CheckFailed(f"`{name}` is not written yet: replace `None` with one of {list(choices)}.")
    if not isinstance(conclusion, str) or conclusion not in choices:
        raise CheckFailed(f"`{name}` should be one of {list(choices)}; got {_show(conclusion)}.")
    return conclusion
