"""Checks for lesson 11's exercises (Adversarial inpainting).

receptive_field and best_fill compare with stored results (checks/data/lesson11.json): fields found by
TensorFlow's gradients through a stack of convolutions, and NumPy's mean and median. adversarial_losses compares
with the package's pieces (inpainting.inpainting_loss, gan.generator_loss and gan.discriminator_loss) on fixed
tensors. The adversarial-weight experiment is judged by its own numbers (checks/restoration_runs.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks import restoration_runs
from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = [
    "check_adv_weight_conclusion",
    "check_adv_weight_runs",
    "check_adversarial_losses",
    "check_best_fill",
    "check_receptive_field",
]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- the receptive field


def _receptive_field_mistakes(layers: list[tuple[int, int]], expected: int) -> dict[str, int]:
    """What the usual wrong answers give for ``layers``, each with its hint."""
    strides_first, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        strides_first += (kernel - 1) * jump
    product = int(np.prod([kernel for kernel, _ in layers]))
    return {
        "you added (kernel - 1) for every layer but never multiplied by the jump. After a stride-2 layer, "
        "neighbouring outputs are 2 input pixels apart, so the next layer's extra (kernel - 1) positions cover "
        "(kernel - 1) x 2 input pixels: keep a jump j = product of the strides of the layers BEFORE this one.": (
            1 + sum(kernel - 1 for kernel, _ in layers)
        ),
        "you multiplied the jump by a layer's stride before adding that layer's (kernel - 1) x jump. A layer's "
        "own stride only spaces out ITS outputs; it affects the layers after it.": strides_first,
        "receptive fields do not multiply: each layer adds (kernel - 1) x jump pixels to the field.": product,
        "start from a field of 1 pixel (one output of 'no layer' sees one input pixel), not 0.": expected - 1,
    }


def check_receptive_field(fn: Any) -> None:
    """Lesson 11: ``fn(layers)`` is the receptive field of convolutions given as (kernel, stride) pairs."""
    name = "receptive_field"
    _require_function(fn, name)
    book = stored("lesson11", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (layers,), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (list(layers),), name, book.params))
        if isinstance(got, np.ndarray) and got.size == 1:
            got = got.reshape(()).item()
        call = f"`{name}({layers})`"
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call} returned {_show(got)}; it should return one whole number of pixels.")
        if float(got) == expected:
            continue
        hint = next(
            (
                text
                for text, wrong in _receptive_field_mistakes(layers, expected).items()
                if wrong == float(got) != expected
            ),
            "start with r = 1 and j = 1; for each layer in order: r += (kernel - 1) * j, then j *= stride.",
        )
        raise CheckFailed(f"{call} returned {got!r}; expected {expected} (case {number} of {len(cases)}). Hint: {hint}")
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the best fill under L2 and L1


def check_best_fill(fn: Any) -> None:
    """Lesson 11: ``fn(completions, loss)`` is the per-pixel mean ("l2") or median ("l1") of the completions."""
    name = "best_fill"
    _require_function(fn, name)
    book = stored("lesson11", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (completions, loss), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (completions.copy(), loss), name, book.params))
        call = f"`{name}(completions of shape {completions.shape}, {loss!r})`"
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise CheckFailed(f"{call} returned {_show(got)}; it should return an array of pixel values.") from None
        if got.shape != expected.shape:
            hint = (
                f"the result is one filling, shaped like ONE completion {completions.shape[1:]}: average over the "
                "first axis (axis=0), which runs over the completions."
            )
            raise CheckFailed(f"{call} returned shape {got.shape}; expected {expected.shape}. Hint: {hint}")
        if np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        other = stored_case.extra["other_loss"]  # the best fill under the other loss
        if np.allclose(got, other, rtol=1e-6, atol=1e-9):
            hint = (
                "you swapped the two: the squared error (L2) is smallest at the MEAN of the completions, the "
                "absolute error (L1) at their MEDIAN."
                if loss == "l2"
                else "for the absolute error (L1) the best single value is the per-pixel MEDIAN, not the mean: "
                "moving towards the middle completion lowers the sum of distances."
            )
        elif any(np.allclose(got, c) for c in completions):
            hint = (
                "you returned one of the completions. Each is equally likely, so any single one is far from the "
                "others; the prediction that minimises the expected error is a compromise between them."
            )
        else:
            hint = (
                "one value per pixel: under 'l2' the per-pixel mean of the completions, under 'l1' their "
                "per-pixel median (over the first axis)."
            )
        raise CheckFailed(
            f"{call} gives a wrong result (case {number} of {len(cases)}).\n"
            f"  expected: {_show(expected)}\n  got:      {_show(got)}\nHint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the context-encoder losses


def _loss_case(rng: np.random.Generator, n: int, size: int, channels: int, grid: int) -> tuple[np.ndarray, ...]:
    """Photos, predictions, masks with a hole, and PatchGAN logits for the real photos and the composites."""
    images = rng.random((n, size, size, channels)).astype(np.float32)
    predictions = rng.random((n, size, size, channels)).astype(np.float32)
    masks = np.ones((n, size, size, 1), np.float32)
    start = size // 4
    masks[:, start : size - start, start : size - start] = 0
    masks *= (rng.random((n, size, size, 1)) < 0.85).astype(np.float32)
    real_logits = (2.0 * rng.standard_normal((n, grid, grid, 1)) + 1.0).astype(np.float32)
    fake_logits = (2.0 * rng.standard_normal((n, grid, grid, 1)) - 1.0).astype(np.float32)
    return images, predictions, masks, real_logits, fake_logits


def _package_losses(
    images: np.ndarray, predictions: np.ndarray, masks: np.ndarray, real_logits: np.ndarray, fake_logits: np.ndarray
) -> dict[str, float]:
    """The pieces the package's train step combines: L_rec and the GAN losses of lesson 05 over all patches."""
    from course_utils import gan, inpainting

    real, fake = real_logits.reshape(-1), fake_logits.reshape(-1)
    rec = inpainting.inpainting_loss(images, predictions, masks)
    return {
        "rec": float(rec["loss"]),
        "rec_swapped": float(inpainting.HOLE_WEIGHT * rec["valid"] + inpainting.VALID_WEIGHT * rec["hole"]),
        "adv": float(gan.generator_loss(fake)),
        "adv_saturating": float(gan.generator_loss(fake, saturating=True)),
        "adv_real": float(gan.generator_loss(real)),
        "d": float(gan.discriminator_loss(real, fake)),
        "d_swapped": float(gan.discriminator_loss(fake, real)),
        "patches": float(fake.size / len(fake_logits)),
    }


def _pair_of_numbers(got: Any, call: str) -> tuple[float, float]:
    got = _to_numpy(got)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{call} returned {_show(got)}; it should return the pair (g_loss, d_loss).")
    values = []
    for what, value in zip(("g_loss", "d_loss"), got, strict=True):
        value = _to_numpy(value)
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(()).item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call} returned {what} = {_show(value)}; it should be one number (take the mean).")
        values.append(float(value))
    return values[0], values[1]


def check_adversarial_losses(fn: Any) -> None:
    """Lesson 11: ``fn(images, predictions, masks, real_logits, fake_logits, adv_weight)`` is (g_loss, d_loss).

    Compared with the package's pieces on fixed tensors: g_loss = inpainting_loss + adv_weight ·
    gan.generator_loss(fake logits), d_loss = gan.discriminator_loss(real, fake), over every patch.
    """
    name = "adversarial_losses"
    _require_function(fn, name)
    rng = np.random.default_rng(11)
    shapes = [(2, 8, 3, 2, 0.01), (3, 8, 1, 4, 0.5), (2, 12, 3, 3, 0.0), (1, 16, 3, 2, 2.0)]
    for number, (n, size, channels, grid, weight) in enumerate(shapes, start=1):
        case = _loss_case(rng, n, size, channels, grid)
        parts = _package_losses(*case)
        call = (
            f"`{name}(images, predictions, masks, real_logits, fake_logits, adv_weight={weight})` for {n} "
            f"photo(s) and a {grid}x{grid} grid of patch logits"
        )
        got = _call(
            fn, (*case, weight), name, ("images", "predictions", "masks", "real_logits", "fake_logits", "adv_weight")
        )
        g_loss, d_loss = _pair_of_numbers(got, call)
        want_g = parts["rec"] + weight * parts["adv"]
        close = lambda a, b: bool(np.isclose(a, b, rtol=1e-5, atol=1e-6))  # noqa: E731
        if not close(g_loss, want_g):
            rec, adv = parts["rec"], parts["adv"]
            candidates = {
                "the sign of the adversarial term is flipped: the inpainter MINIMISES −log σ(D(x̃)), so add "
                "adv_weight × mean(softplus(−fake_logits)).": rec - weight * adv,
                "the inpainter wants the discriminator to call its composites REAL (label 1): its adversarial loss "
                "is −log σ(D(x̃)) = softplus(−logits), not log(1 − σ(D(x̃))) or softplus(+logits).": (
                    rec + weight * (-parts["adv_saturating"])
                ),
                "the adversarial loss of the inpainter is computed on the discriminator's logits for the REAL "
                "photos; it must use fake_logits, its verdict on the composites.": rec + weight * parts["adv_real"],
                "adv_weight multiplies only the adversarial term: L_G = L_rec + λ_adv · L_adv.": (weight * rec + adv),
                "this course keeps the reconstruction weight at 1: L_G = L_rec + λ_adv · L_adv, not "
                "(1 − λ_adv) · L_rec + λ_adv · L_adv.": (1 - weight) * rec + weight * adv,
                "the adversarial term is weighted by adv_weight, not added with weight 1.": rec + adv,
                "the reconstruction loss is missing: L_G = L_rec + λ_adv · L_adv.": weight * adv,
                "hole and valid are swapped in L_rec: the mask is 1 on KNOWN pixels, and the HOLE gets weight 6.": (
                    parts["rec_swapped"] + weight * adv
                ),
                "average the adversarial loss over all patches (and images), not sum it: one logit per patch is "
                "one judgement.": rec + weight * adv * parts["patches"] * n,
            }
            hint = next(
                (text for text, wrong in candidates.items() if close(g_loss, wrong) and not close(wrong, want_g)),
                "g_loss = 6·mean((1 − m)·|ŷ − x|) + mean(m·|ŷ − x|) + adv_weight · mean(softplus(−fake_logits)).",
            )
            raise CheckFailed(
                f"{call} gives g_loss = {g_loss!r}; expected {want_g!r} (case {number} of {len(shapes)}). Hint: {hint}"
            )
        if not close(d_loss, parts["d"]):
            candidates = {
                "the labels are swapped: the discriminator says 1 (real) to the photos and 0 to the composites, "
                "d_loss = mean(softplus(−real_logits)) + mean(softplus(fake_logits)).": parts["d_swapped"],
                "d_loss is the SUM of the two mean cross-entropies (lesson 05), not their average.": parts["d"] / 2,
                "the discriminator's loss is not weighted by adv_weight: λ_adv only weighs the inpainter's loss.": (
                    weight * parts["d"]
                ),
            }
            hint = next(
                (text for text, wrong in candidates.items() if close(d_loss, wrong) and not close(wrong, parts["d"])),
                "d_loss = mean(softplus(−real_logits)) + mean(softplus(fake_logits)), each mean over every patch.",
            )
            raise CheckFailed(
                f"{call} gives d_loss = {d_loss!r}; expected {parts['d']!r} (case {number} of {len(shapes)}). "
                f"Hint: {hint}"
            )
    _passed(name, len(shapes))


# --------------------------------------------------------------------------- the adversarial-weight experiment

_RUN_SERIES = ("d_loss", "g_loss", "rec_loss", "adv_loss")
_RUN_SCALARS = {"held_out_hole_l1": (0.0, 1.0), "held_out_detail": (0.0, 64.0)}


def check_adv_weight_runs(fn: Any, adv_weights: Any, steps: int) -> dict[float, dict[str, Any]]:
    """Lesson 11: ``fn(adv_weight, steps)`` trains a fresh inpainter and its PatchGAN; returns the runs.

    Checks that the numbers were measured: one value per step, g_loss = rec_loss + adv_weight · adv_loss at every
    step (the weight was used), every run starting alike (equal losses at the first step) and the held-out
    results differing between the weights.
    """
    name = "fine_tune_with_adv_weight"
    adv_weights = tuple(float(w) for w in adv_weights)
    runs = restoration_runs.run_settings(
        fn, adv_weights, name=name, param="adv_weight", steps=steps, series=_RUN_SERIES, scalars=_RUN_SCALARS
    )
    restoration_runs.check_mix(
        runs,
        "g_loss",
        lambda weight, run: run["rec_loss"] + weight * run["adv_loss"],
        call=f"`{name}`",
        hint="make the train step with adv_weight=adv_weight and log its 'g_loss', 'rec_loss' and 'adv_loss' of the "
        "same step.",
    )
    firsts = {key: [run[key][0] for run in runs.values()] for key in ("d_loss", "rec_loss", "adv_loss")}
    if not all(np.allclose(values, values[0], rtol=1e-3, atol=1e-6) for values in firsts.values()):
        raise CheckFailed(
            f"`{name}`: at the first step the runs already differ ({firsts}), so they did not start alike. Call "
            "keras.utils.set_random_seed(0) before building the inpainter and the discriminator, build new ones in "
            "every call, and train on experiment_batches()."
        )
    ends = {(run["held_out_hole_l1"], run["held_out_detail"]) for run in runs.values()}
    if len(ends) < len(runs):
        raise CheckFailed(
            f"`{name}`: two runs give exactly the same held-out numbers {sorted(ends)}. Measure the inpainter you "
            "just fine-tuned: predict the held-out photos with it after the training loop."
        )
    _passed(name, 4)
    return runs


def check_adv_weight_conclusion(answer: Any, runs: dict[float, dict[str, Any]]) -> None:
    """Lesson 11: ``answer`` names the adv_weight with the most detail and the lowest hole L1, by the learner's runs."""
    name = "adv_weight_answer"

    def numbers(key: str) -> str:
        return ", ".join(f"adv_weight {w:g}: {run[key]:.6g}" for w, run in runs.items()) + "."

    weights = tuple(runs)
    questions = {
        "more detail in the hole": (
            restoration_runs.best(runs, "held_out_detail", lowest=False),
            numbers("held_out_detail"),
            weights,
        ),
        "lower hole L1": (restoration_runs.best(runs, "held_out_hole_l1"), numbers("held_out_hole_l1"), weights),
    }
    restoration_runs.check_choices(answer, name, questions)
    _passed(name, len(questions))
