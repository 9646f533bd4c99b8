"""Checks for lesson 12's exercises (Generation meets restoration).

masked_reconstruction_loss: stored results (checks/data/lesson12.json, computed with NumPy over the known
entries); latent_blend: properties (the known pixels are the image's, the hole's are G(z)'s);
latent_gradient_step: the package's latent.gradient_step from the same z and generator; the search-length
experiment: its own numbers, one run recomputed with latent.invert_generator (checks/restoration_runs.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks import restoration_runs
from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = [
    "check_latent_blend",
    "check_latent_gradient_step",
    "check_masked_reconstruction_loss",
    "check_search_conclusion",
    "check_search_runs",
]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _as_array(got: Any, call: str, shape: tuple[int, ...]) -> np.ndarray:
    got = _to_numpy(got)
    if got is None or not isinstance(got, (np.ndarray, list, tuple, float, int, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; it should return an array shaped {shape}.")
    array = np.asarray(got, dtype=np.float64)
    if array.shape != shape:
        extra = " (one number per image: average over the height, width and channel axes only)" * (len(shape) == 1)
        raise CheckFailed(f"{call} returned an array shaped {array.shape}; expected {shape}{extra}.")
    return array


# --------------------------------------------------------------------------- the masked reconstruction loss


def check_masked_reconstruction_loss(fn: Any) -> None:
    """Lesson 12: ``fn(generated, images, masks)`` is, per image, the mean squared error over the known pixels."""
    name = "masked_reconstruction_loss"
    _require_function(fn, name)
    book = stored("lesson12", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (generated, images, masks), expected = stored_case.args, stored_case.expected
        got = _call(fn, (generated, images, masks), name, book.params)
        call = f"`{name}(generated, images, masks)` for {len(images)} images shaped {images.shape[1:]}"
        value = _as_array(got, call, expected.shape)
        if np.allclose(value, expected, rtol=1e-5, atol=1e-8):
            continue
        known = np.broadcast_to(masks, images.shape)
        error = (generated - images) ** 2
        hole = 1.0 - known
        candidates = {
            "you measured the error in the HOLE. The mask is 1 on KNOWN pixels: those are the only ones we can "
            "compare with, so weight the error by masks, not by 1 - masks.": (
                (hole * error).sum(axis=(1, 2, 3)) / np.maximum(hole.sum(axis=(1, 2, 3)), 1.0)
            ),
            "every pixel counts in your loss: multiply the error by the mask so the hole (mask 0) adds nothing. "
            "The hole of the damaged image holds no information about the digit.": error.mean(axis=(1, 2, 3)),
            "divide by the number of KNOWN entries (sum of the mask over height, width and channels), not by all "
            "entries: otherwise an image with a bigger hole looks better than it is.": (
                (known * error).mean(axis=(1, 2, 3))
            ),
            "the loss is the mean SQUARED error over the known pixels; it looks like you used absolute values.": (
                (known * np.abs(generated - images)).sum(axis=(1, 2, 3)) / known.sum(axis=(1, 2, 3))
            ),
        }
        if images.shape[-1] > 1:
            candidates[
                "count the known entries over the channels too: sum(masks) counts pixels, but the error has "
                f"{images.shape[-1]} channels per pixel (use the mask broadcast to the images' shape)."
            ] = (known * error).sum(axis=(1, 2, 3)) / masks.sum(axis=(1, 2, 3))
        hint = next(
            (text for text, wrong in candidates.items() if np.allclose(value, wrong, rtol=1e-5, atol=1e-8)),
            "per image: sum(m · (G(z) − x)²) / sum(m), both sums over height, width and channels.",
        )
        raise CheckFailed(
            f"{call} returned {np.round(value, 5)}; expected {np.round(expected, 5)} "
            f"(case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the blend


def check_latent_blend(fn: Any) -> None:
    """Lesson 12: ``fn(images, masks, generated)`` keeps the known pixels and takes G(z) in the hole.

    Judged by those two properties, pixel by pixel, with no reference blend.
    """
    name = "latent_blend"
    _require_function(fn, name)
    rng = np.random.default_rng(21)
    cases = []
    for n, side, channels in ((2, 6, 1), (3, 5, 3)):
        images = rng.random((n, side, side, channels))
        generated = rng.random((n, side, side, channels))
        masks = (rng.random((n, side, side, 1)) < 0.5).astype(np.float64)
        masks[:, 0, 0] = 1
        masks[:, -1, -1] = 0
        cases.append((images, masks, generated))
    for number, (images, masks, generated) in enumerate(cases, start=1):
        got = _call(fn, (images, masks, generated), name, ("images", "masks", "generated"))
        call = f"`{name}(images, masks, generated)` for images shaped {images.shape}"
        value = _as_array(got, call, images.shape)
        known = np.broadcast_to(masks, images.shape) == 1
        kept = np.allclose(value[known], images[known], rtol=1e-6, atol=1e-9)
        if kept and np.allclose(value[~known], generated[~known], rtol=1e-6, atol=1e-9):
            continue  # the two properties that define the blend: known pixels kept, the hole from G(z)
        candidates = {
            "known and hole are swapped: the mask is 1 on KNOWN pixels, which keep the image's values; G(z) "
            "fills only where the mask is 0.": masks * generated + (1 - masks) * images,
            "you returned G(z) everywhere. Its known pixels are only close to the image's; the blend keeps the "
            "real ones and uses G(z) only in the hole.": generated,
            "you returned the damaged image (the hole is not filled): add (1 - masks) * generated.": masks * images,
            "the hole is filled, but the known pixels are lost: add masks * images.": (1 - masks) * generated,
        }
        hint = next(
            (text for text, wrong in candidates.items() if np.allclose(value, wrong, rtol=1e-6, atol=1e-9)),
            "the blend takes each pixel from the images where masks is 1 and from G(z) where masks is 0.",
        )
        raise CheckFailed(
            f"{call} is wrong (case {number} of {len(cases)}); its known pixels "
            f"{'are' if kept else 'are NOT'} the image's. Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- one step of the latent search


def _step_case(seed: int, n: int, latent_dim: int, side: int, channels: int) -> tuple[Any, ...]:
    """A small DCGAN generator (Keras' default initialisation, so G(z) varies) and a search problem for it."""
    from course_utils import gan

    generator = gan.build_generator(
        latent_dim=latent_dim, width=4, image_shape=(side, side, channels), init_std=None, seed=seed
    )
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent_dim)).astype(np.float32)
    images = rng.uniform(-1, 1, (n, side, side, channels)).astype(np.float32)
    masks = (rng.random((n, side, side, 1)) < 0.6).astype(np.float32)
    masks[:, 0, 0] = 1  # every image keeps a known pixel
    masks[:, -1, -1] = 0  # and has a hole
    return generator, z, images, masks


def _objective_hint(
    generator: Any, z: np.ndarray, images: np.ndarray, masks: np.ndarray, weight: float, got: np.ndarray
) -> str:
    """Which catalogued slip gives the learner's objective, computed with the package's two terms."""
    import tensorflow as tf

    from course_utils import latent

    generated = tf.cast(generator(z, training=False), tf.float32)
    rec = latent.masked_reconstruction_loss(generated, images, masks).numpy()
    prior = latent.prior_loss(z).numpy()
    dim = z.shape[1]
    candidates = {
        "the prior term is missing: add prior_weight · ||z||² / d for each image.": rec,
        "the prior is ||z||² / d (the mean of z², not the sum): divide the squared norm by the latent size.": (
            rec + weight * dim * prior
        ),
        "the prior is ||z||² / d, the mean of the squares, not the norm itself.": rec + weight * np.sqrt(dim * prior),
        "the reconstruction term uses the HOLE. The mask is 1 on known pixels: those are the ones to fit.": (
            latent.masked_reconstruction_loss(generated, images, np.maximum(1.0 - masks, 0.0)).numpy() + weight * prior
        ),
        "every pixel counts in your reconstruction term: only the known pixels (mask 1) are compared.": (
            latent.masked_reconstruction_loss(generated, images, np.ones_like(masks)).numpy() + weight * prior
        ),
        "call the generator with training=False: in training mode its batch-norm layers normalise with the "
        "statistics of this batch of z instead of the ones it learned.": (
            latent.masked_reconstruction_loss(tf.cast(generator(z, training=True), tf.float32), images, masks).numpy()
            + weight * prior
        ),
    }
    return next(
        (text for text, wrong in candidates.items() if np.allclose(got, wrong, rtol=1e-4, atol=1e-7)),
        "objective_i = sum(m·(G(z_i) − x_i)²) / sum(m) + prior_weight · ||z_i||² / d, one value per image.",
    )


def check_latent_gradient_step(fn: Any) -> None:
    """Lesson 12: ``fn(generator, z, images, masks, learning_rate, prior_weight)`` is one plain gradient step.

    Compared with ``latent.gradient_step`` from the same z and generator (small DCGAN generators with random
    weights): the objective per image at the old z and the moved z.
    """
    from course_utils import latent

    name = "latent_gradient_step"
    _require_function(fn, name)
    cases = [(1, 3, 6, 8, 1, 0.05, 0.01), (2, 2, 5, 12, 3, 0.2, 0.5), (3, 4, 8, 8, 1, 0.1, 0.0)]
    params = ("generator", "z", "images", "masks", "learning_rate", "prior_weight")
    for number, (seed, n, dim, side, channels, rate, weight) in enumerate(cases, start=1):
        generator, z, images, masks = _step_case(seed, n, dim, side, channels)
        want_z, want_objective = latent.gradient_step(
            generator, z, images, masks, learning_rate=rate, prior_weight=weight
        )
        call = (
            f"`{name}(generator, z, images, masks, learning_rate={rate}, prior_weight={weight})` for {n} "
            f"images {images.shape[1:]} and z of size {dim}"
        )
        got = _to_numpy(_call(fn, (generator, z.copy(), images.copy(), masks.copy(), rate, weight), name, params))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"{call} returned {_show(got)}; it should return the pair (z_new, objective).")
        new_z = _as_array(got[0], f"{call}'s z_new", z.shape)
        objective = _as_array(got[1], f"{call}'s objective", (n,))
        if not np.allclose(objective, want_objective, rtol=1e-4, atol=1e-7):
            hint = _objective_hint(generator, z, images, masks, weight, objective)
            raise CheckFailed(
                f"{call} gives the objective {np.round(objective, 6)} at the old z; expected "
                f"{np.round(want_objective, 6)} (case {number} of {len(cases)}). Hint: {hint}"
            )
        step, want_step = new_z - z, want_z - z
        scale = float(np.abs(want_step).max())
        if np.allclose(step, want_step, rtol=1e-3, atol=1e-4 * scale):
            continue
        no_prior = latent.gradient_step(generator, z, images, masks, learning_rate=rate, prior_weight=0.0)[0] - z
        candidates = {
            "z did not move: return z − learning_rate × the gradient of the objective.": np.zeros_like(step),
            "z moved uphill: gradient DESCENT subtracts the gradient, z − learning_rate · ∇.": -want_step,
            "the step is N times too small: take the gradient of the SUM of the images' objectives (each z has its "
            "own image; the mean divides every gradient by N).": want_step / n,
            "the step ignores the prior: differentiate the whole objective, prior term included.": no_prior,
        }
        hint = next(
            (
                text
                for text, wrong in candidates.items()
                if np.allclose(step, wrong, rtol=1e-3, atol=1e-4 * scale) and not np.allclose(wrong, want_step)
            ),
            "record the objective under tf.GradientTape (tape.watch(z) on a tensor z), take tape.gradient of its sum "
            "over the images, and return z − learning_rate · gradient.",
        )
        raise CheckFailed(
            f"{call}: the objective is right, but z moved by {np.round(step[0], 5)} (first image); expected "
            f"{np.round(want_step[0], 5)} (case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the search-length experiment


def check_search_runs(fn: Any, step_counts: Any, generator: Any, targets: Any, masks: Any) -> dict[int, dict[str, Any]]:
    """Lesson 12: ``fn(steps)`` runs the latent search that long and returns its masked loss; returns the runs.

    Checks that every value is a finite mean squared error, and recomputes the shortest and the longest run
    with ``latent.invert_generator`` (the settings the exercise prescribes) to see they were really measured.
    """
    import tensorflow as tf

    from course_utils import latent

    name = "search_loss"
    step_counts = tuple(int(s) for s in step_counts)
    runs = restoration_runs.run_settings(
        fn, step_counts, name=name, param="steps", steps=None, series=(), scalars={"masked_loss": (0.0, 4.0)}
    )
    def reached(steps: int) -> float:
        """The mean masked loss of the search the exercise prescribes, run for ``steps`` steps."""
        z, _ = latent.invert_generator(generator, targets, masks, steps=steps, prior_weight=0.01, restarts=1, seed=0)
        generated = tf.cast(generator(z, training=False), tf.float32)
        return float(np.mean(latent.masked_reconstruction_loss(generated, targets, masks).numpy()))

    # The shortest and the longest run are recomputed: a search that ignores `steps` misses one of them, whether
    # or not this generator lets a longer search get any further (a barely trained one may not).
    for steps in sorted({min(step_counts), max(step_counts)}):
        got, again = runs[steps]["masked_loss"], reached(steps)
        if np.isclose(got, again, rtol=1e-3, atol=1e-6):
            continue
        if steps != min(step_counts) and got == runs[min(step_counts)]["masked_loss"]:
            raise CheckFailed(
                f"`{name}` gives the same masked loss for {min(step_counts)} and {steps} steps, but the search "
                f"reaches {again:.6g} after {steps}: pass steps=steps to the search."
            )
        raise CheckFailed(
            f"`{name}(steps={steps})` gives the masked loss {got:.6g}, but the search described in the exercise "
            f"reaches {again:.6g}. Run latent.invert_generator(generator, search_targets, search_masks, "
            f"steps=steps, prior_weight=0.01, restarts=1, seed=0) and return the mean over the images of "
            "masked_reconstruction_loss(G(z), search_targets, search_masks) at the z it returns."
        )
    _passed(name, 3)
    return runs


def check_search_conclusion(answer: Any, runs: dict[int, dict[str, Any]]) -> None:
    """Lesson 12: ``answer`` says which search length reached the lowest masked loss and whether it always fell."""
    name = "search_answer"
    counts = sorted(runs)
    losses = [runs[s]["masked_loss"] for s in counts]
    numbers = ", ".join(f"{s} steps: {value:.6g}" for s, value in zip(counts, losses, strict=True)) + "."
    falling = all(later < earlier for earlier, later in zip(losses, losses[1:], strict=False))
    questions = {
        "lowest masked loss": (restoration_runs.best(runs, "masked_loss"), numbers, tuple(counts)),
        "falls with every longer search": ({falling}, numbers, (True, False)),
    }
    restoration_runs.check_choices(answer, name, questions)
    _passed(name, len(questions))
