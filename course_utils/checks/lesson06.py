"""Checks for lesson 06's exercises (Training a DCGAN).

training_steps: stored results (checks/data/lesson06.json, counted by tf.data); fixed_noise: properties
(same seed same noise, another seed other noise, float32, shape, mean 0 and standard deviation 1);
alternating_train_step: one step of small DCGAN networks from known weights against the course's
``toygan.alternating_step`` (checks/steps.py); saturating_experiment: the measurements are well formed and the
conclusion is the one they support.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored
from course_utils.runtime import native_stderr_silenced

__all__ = ["check_alternating_train_step", "check_fixed_noise", "check_saturating_experiment", "check_training_steps"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- steps of a training run


def check_training_steps(fn: Any) -> None:
    """Lesson 06: ``fn(n_images, batch_size, epochs)`` counts the steps of a run that drops the last partial batch."""
    name = "training_steps"
    _require_function(fn, name)
    book = stored("lesson06", name)
    cases = book.cases
    for stored_case in cases:
        (n_images, batch_size, epochs), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (n_images, batch_size, epochs), name, book.params))
        call = f"`{name}({n_images}, {batch_size}, {epochs})` returned {_show(got)}"
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call}; it should return one whole number of steps ({expected:,}).")
        if got == expected:
            continue
        per_epoch = n_images / batch_size
        hints = [
            (
                epochs * math.ceil(per_epoch),
                "that counts the last, smaller batch too. With drop_remainder=True the images left over after "
                "the last whole batch are not used: use floor division `//`.",
            ),
            (epochs * per_epoch, "a step trains on one *whole* batch, so the count is a whole number: use `//`."),
            (expected // epochs, "that is one epoch; the run makes `epochs` passes over the images."),
            (epochs * n_images, "that counts images, not batches: each step takes batch_size images at once."),
            (
                (epochs * n_images) // batch_size,
                "the leftover images are dropped in *every* epoch, not once at the "
                "end: count whole batches per epoch first, then multiply by epochs.",
            ),
        ]
        for wrong, hint in hints:
            if got == wrong:
                raise CheckFailed(f"{call}; expected {expected:,}. Hint: {hint}")
        raise CheckFailed(f"{call}; expected {expected:,} ({epochs} epochs of {expected // epochs:,} whole batches).")
    _passed(name, len(cases))


# --------------------------------------------------------------------------- a fixed, seeded noise batch


def _as_array(got: Any, call: str, shape: tuple[int, int]) -> np.ndarray:
    """The learner's noise as a float64 array, or CheckFailed saying what is wrong with it."""
    got = _to_numpy(got)
    if got is None:
        raise CheckFailed(f"{call} returned None. Did you forget a `return` statement?")
    array = np.asarray(got)
    if not (np.issubdtype(array.dtype, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; the noise must be floating point numbers (float32).")
    if array.shape != shape:
        raise CheckFailed(
            f"{call} returned an array of shape {array.shape}; expected {shape}: one row of latent_dim numbers "
            "per image."
        )
    if array.dtype != np.float32:
        raise CheckFailed(
            f"{call} returned {array.dtype} numbers; the generator's weights are float32, so return float32 "
            "(e.g. .astype(np.float32) or dtype=tf.float32)."
        )
    return array.astype(np.float64)


def check_fixed_noise(fn: Any) -> None:
    """Lesson 06: ``fn(n, latent_dim, seed)`` draws standard-normal noise (n, latent_dim), fixed by the seed."""
    name = "fixed_noise"
    _require_function(fn, name)
    first = _as_array(_call(fn, (512, 64, 0), name, fn), f"`{name}(512, 64, seed=0)`", (512, 64))
    again = _as_array(_call(fn, (512, 64, 0), name, fn), f"`{name}(512, 64, seed=0)` called again", (512, 64))
    if not np.array_equal(first, again):
        raise CheckFailed(
            f"Two calls of `{name}(512, 64, seed=0)` gave different noise, so two sample grids could not be "
            "compared. Make the draw depend only on the seed: np.random.default_rng(seed).normal(...) or "
            "tf.random.stateless_normal(..., seed=(seed, 0))."
        )
    other = _as_array(_call(fn, (512, 64, 1), name, fn), f"`{name}(512, 64, seed=1)`", (512, 64))
    if np.array_equal(first, other):
        raise CheckFailed(
            f"`{name}` gives the same noise for seed=0 and seed=1: the seed argument is ignored. Pass it to the "
            "random generator."
        )
    mean, std = float(first.mean()), float(first.std())
    if first.min() >= 0.0 and first.max() <= 1.0:
        raise CheckFailed(
            f"The noise lies in [{first.min():.3g}, {first.max():.3g}]: that is a uniform draw. A DCGAN's noise z "
            "comes from a standard normal distribution (mean 0, standard deviation 1): use .normal(...)."
        )
    if abs(mean) > 0.05 or abs(std - 1.0) > 0.05:
        raise CheckFailed(
            f"The noise has mean {mean:.3f} and standard deviation {std:.3f} over 32,768 numbers; a standard normal "
            "has mean 0 and standard deviation 1 (use .normal(...) without changing loc or scale)."
        )
    small = _as_array(_call(fn, (3, 5, 7), name, fn), f"`{name}(3, 5, seed=7)`", (3, 5))
    if not np.all(np.isfinite(small)):
        raise CheckFailed(f"`{name}(3, 5, seed=7)` returned NaN or inf values: {_show(small)}.")
    _passed(name, 5)


# --------------------------------------------------------------------------- the alternating DCGAN train step

_STEP_KEYS = ("d_loss", "g_loss", "d_fake")


def _dcgan_case(seed: int) -> tuple[Any, Any, Any, Any]:
    """A builder of identical small DCGAN networks (8x8 images, no dropout), a real batch and two noise batches."""
    from course_utils import gan

    def build() -> tuple[Any, Any]:
        # Glorot initial weights: logits far enough from 0 that the two generator losses give different gradients
        generator = gan.build_generator(latent_dim=8, width=4, image_shape=(8, 8, 1), init_std=None, seed=seed)
        discriminator = gan.build_discriminator(width=4, image_shape=(8, 8, 1), init_std=None, dropout=0.0,
                                                seed=seed + 1)
        return generator, discriminator

    rng = np.random.default_rng(seed)
    real = rng.uniform(-1.0, 1.0, (6, 8, 8, 1)).astype(np.float32)
    d_noise = rng.standard_normal((6, 8)).astype(np.float32)
    g_noise = rng.standard_normal((6, 8)).astype(np.float32)
    return build, real, d_noise, g_noise


def check_alternating_train_step(fn: Any) -> None:
    """Lesson 06: ``fn(generator, discriminator, g_optimizer, d_optimizer, saturating=False)`` returns a
    ``tf.function`` ``step(real_images, d_noise, g_noise)`` that makes one alternating update and returns
    {"d_loss", "g_loss", "d_fake"}, as ``toygan.alternating_step`` does (d_fake: mean D(G(g_noise)), updated D)."""
    import tensorflow as tf

    from course_utils.checks import steps

    name = "make_alternating_train_step"
    _require_function(fn, name)
    params = ("generator", "discriminator", "g_optimizer", "d_optimizer")
    for number, saturating in enumerate((False, True), start=1):
        build, real, d_noise, g_noise = _dcgan_case(seed=10 * number)
        generator, discriminator = build()
        g_before, d_before = steps.weights(generator), steps.weights(discriminator)
        args = (generator, discriminator, steps.sgd(), steps.sgd())
        step = _call(lambda *a, s=saturating: fn(*a, saturating=s), args, name, params)
        call = f"`{name}(..., saturating={saturating})`"
        if step is None:
            raise CheckFailed(f"{call} returned None: return the train step function you defined inside it.")
        if not callable(step):
            raise CheckFailed(f"{call} returned {_show(step)}; it should return the train step function.")
        if not hasattr(step, "get_concrete_function"):
            raise CheckFailed(f"{call} returned a plain Python function; decorate the step with @tf.function so "
                              "that TensorFlow traces it once into a graph.")
        with native_stderr_silenced():  # a harmless C++ message of TensorFlow's graph optimizer
            out = _call(step, (real, d_noise, g_noise), "the train step", ("real_images", "d_noise", "g_noise"))
        if not isinstance(out, dict) or set(out) != set(_STEP_KEYS):
            raise CheckFailed(f"The train step returned {_show(out)}; it should return a dict with the keys "
                              f"{list(_STEP_KEYS)}.")
        values = {}
        for key in _STEP_KEYS:
            array = np.asarray(_to_numpy(out[key]))
            if not np.issubdtype(array.dtype, np.number) or array.size != 1 or not np.isfinite(array).all():
                raise CheckFailed(f"The train step's {key!r} is {_show(out[key])}; it should be one finite number.")
            values[key] = float(array.reshape(()))
        got = steps.StepResult(steps.delta(discriminator, d_before), steps.delta(generator, g_before),
                               values["d_loss"], values["g_loss"])
        loss = "saturating" if saturating else "non-saturating"
        steps.diagnose(name, got, build, real, d_noise, g_noise, loss=loss,
                       what=f"{call}'s step on a small DCGAN with SGD (learning rate {steps.LEARNING_RATE}; "
                       "call both networks with training=True)")
        fresh_generator, _ = build()  # the generator as it was before the step
        logits = discriminator(fresh_generator(g_noise, training=True), training=True)
        expected = float(tf.reduce_mean(tf.sigmoid(tf.cast(logits, tf.float32))))
        if not np.isclose(values["d_fake"], expected, rtol=1e-4, atol=1e-6):
            mean_logit = float(tf.reduce_mean(logits))
            hint = ("that is the mean logit; D(G(z)) is a probability: apply tf.sigmoid first."
                    if np.isclose(values["d_fake"], mean_logit, rtol=1e-4, atol=1e-6)
                    else "use the logits of the generator's step (the updated D on G(g_noise)), through tf.sigmoid, "
                    "averaged over the batch.")
            raise CheckFailed(f"The train step's d_fake is {values['d_fake']:.6g}; the mean D(G(g_noise)) of the "
                              f"updated discriminator is {expected:.6g}. Hint: {hint}")
    _passed(name, 2)


# --------------------------------------------------------------------------- experiment: the saturating loss in a DCGAN


def check_saturating_experiment(d_fake: Any, g_losses: Any, conclusion: Any, *, steps: int) -> None:
    """Lesson 06's experiment: ``d_fake[loss]`` and ``g_losses[loss]`` hold mean D(G(z)) and the generator's loss at
    each of ``steps`` steps of two runs from the same start; ``conclusion`` names the loss whose generator fooled D
    more over the second half."""
    from course_utils.checks import steps as step_checks

    losses = ("saturating", "non-saturating")
    curves = step_checks.curves(d_fake, steps, "d_fake", losses)
    g_curves = step_checks.curves(g_losses, steps, "g_losses", losses)
    answer = step_checks.choice(conclusion, losses, "conclusion")
    sat, ns = curves["saturating"], curves["non-saturating"]
    if np.any((sat < 0) | (sat > 1)) or np.any((ns < 0) | (ns > 1)):
        raise CheckFailed("`d_fake` holds values outside [0, 1]; D(G(z)) is a probability: apply tf.sigmoid to the "
                          "logits before averaging.")
    if np.any(g_curves["saturating"] >= 0) or np.any(g_curves["non-saturating"] <= 0):
        raise CheckFailed(
            "The generator's losses have the wrong signs for their runs: the saturating loss mean log(1 - D(G(z))) "
            "is always negative, the non-saturating mean -log D(G(z)) always positive. Did each run build its step "
            "with its own loss (saturating=True for one, False for the other), and are the lists under the right keys?"
        )
    # Jensen's inequality ties each step's loss to its d_fake: mean -log D >= -log mean D, mean log(1 - D) <=
    # log(1 - mean D). Numbers from another step, another run or another batch break it.
    tol = 1e-4
    with np.errstate(divide="ignore"):  # D(G(z)) may round to 0 or 1: the bound is then infinite and holds
        ns_low, sat_high = -np.log(ns), np.log1p(-sat)
    if np.any(g_curves["non-saturating"] < ns_low - tol) or np.any(g_curves["saturating"] > sat_high + tol):
        raise CheckFailed(
            "`g_losses` and `d_fake` do not belong together: at every step mean -log D(G(z)) >= -log mean D(G(z)) "
            "(and mean log(1 - D) <= log(1 - mean D)), where both come from the same logits. Record the g_loss and "
            "d_fake that the same call of your step returned."
        )
    if not np.isclose(sat[0], ns[0], rtol=1e-4, atol=1e-5):
        raise CheckFailed(
            f"The two runs differ already at the first step (D(G(z)) = {sat[0]:.5g} and {ns[0]:.5g}), where only the "
            "discriminator has moved and the generator's loss has not yet acted. Start both runs from the same "
            "weights (seeded builds), the same batches and the same noise, so that the loss is the only difference."
        )
    half = steps // 2
    late_sat, late_ns = float(sat[half:].mean()), float(ns[half:].mean())
    fooled_more = "saturating" if late_sat > late_ns else "non-saturating"
    if answer != fooled_more and abs(late_sat - late_ns) > 1e-4:
        raise CheckFailed(
            f"Your numbers say otherwise: over steps {half + 1}-{steps} the mean D(G(z)) is {late_sat:.4g} with the "
            f"saturating loss and {late_ns:.4g} with the non-saturating one, so the {fooled_more} loss's generator "
            "fooled the discriminator more. Read the conclusion from your own measurements."
        )
    print(f"✔ conclusion follows from your measurements: over steps {half + 1}-{steps}, mean D(G(z)) = "
          f"{late_sat:.3g} (saturating) and {late_ns:.3g} (non-saturating).")
