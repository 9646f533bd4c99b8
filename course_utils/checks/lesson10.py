"""Checks for lesson 10's exercises (A CNN inpainter).

renormalisation_factor and hole_valid_l1 compare with stored results (checks/data/lesson10.json), computed with
NumPy from the window's counts and with Keras' mean absolute error. check_partial_conv compares the learner's
layer with the package's PartialConv2D given the same kernel and bias, and probes it to name the mistake. The
hole-weight experiment is judged by its own numbers (checks/restoration_runs.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks import restoration_runs
from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = [
    "check_hole_valid_l1",
    "check_hole_weight_conclusion",
    "check_hole_weight_runs",
    "check_partial_conv",
    "check_renormalisation_factor",
]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _as_number(got: Any, call: str) -> float:
    got = _to_numpy(got)
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; it should return one number.")
    return float(got)


# --------------------------------------------------------------------------- the renormalisation factor


def check_renormalisation_factor(fn: Any) -> None:
    """Lesson 10: ``fn(window_mask)`` is sum(1) / sum(M) for one window of the mask, and 0 with no known pixel."""
    name = "renormalisation_factor"
    _require_function(fn, name)
    book = stored("lesson10", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (window,), expected = stored_case.args, stored_case.expected
        got = _call(fn, (window,), name, book.params)
        call = f"`{name}(window)` for the window mask\n{window.squeeze() if window.ndim == 2 else window.shape}\n"
        value = _as_number(got, call)
        if math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        known, total = float(window.sum()), float(window.size)
        if not math.isfinite(value):
            hint = (
                "no pixel of this window is known, so sum(M) = 0: the paper sets the output (and this factor) to 0 "
                "there instead of dividing by zero."
            )
        elif known and math.isclose(value, known / total, rel_tol=1e-6):
            hint = "you computed sum(M) / sum(1); the factor is the other way round, sum(1) / sum(M) (it is >= 1)."
        elif known and math.isclose(value, 1.0 / known, rel_tol=1e-6):
            hint = "sum(1) is the number of entries in the window (all of them, known or not), not 1."
        elif (
            window.ndim == 3 and known and math.isclose(value, window.shape[0] * window.shape[1] / known, rel_tol=1e-6)
        ):
            hint = "this window has several channels: sum(1) counts every entry, height x width x channels."
        else:
            hint = "sum(1) counts all entries of the window, sum(M) the known ones (mask == 1)."
        raise CheckFailed(
            f"{call}returned {value!r}; expected {expected!r} (case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the weighted L1 loss


def check_hole_valid_l1(fn: Any) -> None:
    """Lesson 10: ``fn(images, predictions, masks, hole_weight, valid_weight)`` is the weighted L1 of Liu et al."""
    name = "hole_valid_l1"
    _require_function(fn, name)
    book = stored("lesson10", name)
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        args, expected = stored_case.args, stored_case.expected
        images, predictions, masks, hole_weight, valid_weight = args
        got = _call(fn, args, name, book.params)
        call = f"`{name}(images, predictions, masks, hole_weight={hole_weight}, valid_weight={valid_weight})`"
        value = _as_number(got, call)
        if math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-7):
            continue
        error = np.abs(predictions - images)
        holes = np.broadcast_to(masks == 0, error.shape)
        candidates = {
            "hole and valid are swapped. The mask is 1 on KNOWN pixels and 0 in the hole, so hole_weight multiplies "
            "the error where (1 - masks) is 1, and valid_weight the error where masks is 1.": (
                hole_weight * np.mean(masks * error) + valid_weight * np.mean((1 - masks) * error)
            ),
            "Liu et al. average each term over ALL entries (N x H x W x C), not over the hole or known entries only.": (
                hole_weight * error[holes].mean() + valid_weight * error[~holes].mean()
            ),
            "each term is an L1 (absolute) error; it looks like you squared it.": (
                hole_weight * np.mean((1 - masks) * error**2) + valid_weight * np.mean(masks * error**2)
            ),
        }
        hint = next(
            (text for text, wrong in candidates.items() if math.isclose(value, float(wrong), rel_tol=1e-5)),
            "loss = hole_weight * mean((1 - m) * |ŷ - x|) + valid_weight * mean(m * |ŷ - x|).",
        )
        raise CheckFailed(
            f"{call} returned {value!r}; expected {expected!r} (case {number} of {len(cases)}). Hint: {hint}"
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the partial convolution layer


def _pconv_case(
    rng: np.random.Generator, n: int, height: int, width: int, channels: int, filters: int, kernel: int, mask_kind: str
) -> tuple[np.ndarray, ...]:
    """Random photos, a mask of the given kind, a kernel and a bias for one case of the layer check."""
    x = rng.random((n, height, width, channels)).astype(np.float32)
    if mask_kind == "known":
        mask = np.ones((n, height, width, 1), np.float32)
    else:
        mask = (rng.random((n, height, width, 1)) < 0.6).astype(np.float32)
        if mask_kind == "block":  # a big hole whose middle no window reaches, and the border partly missing
            mask[:, 1 : height - 1, 1 : width - 1] = 0
            mask[:, 0, 0] = 1
    weights = (0.5 * rng.standard_normal((kernel, kernel, channels, filters))).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    return x, mask, weights, bias


def _layer_output(
    layer_class: Any, x: np.ndarray, mask: np.ndarray, weights: np.ndarray, bias: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Build ``layer_class`` (stride 1, 'same', no activation) with the given weights and call it on (x, mask)."""
    kernel, filters = weights.shape[0], weights.shape[-1]
    call = f"`{name}({filters}, {kernel})` called on (x of shape {x.shape}, mask of shape {mask.shape})"
    try:
        layer = layer_class(filters, kernel, dtype="float32")
        layer.build((x.shape, mask.shape))
        layer.set_weights([weights, bias])
    except Exception as error:  # the learner's class may break its constructor or build
        raise CheckFailed(
            f"{call}: the layer could not be built with a {kernel}x{kernel} kernel and a bias ({type(error).__name__}: "
            f"{error}). Subclass inpainting.PartialConv2D and write only its `call` method."
        ) from error
    got = _call(layer, ((_tf_constant(x), _tf_constant(mask)),), name, ("inputs",), copy=False)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{call} returned {_show(got)}; `call` must return the pair (x', m').")
    out = np.asarray(_to_numpy(got[0]), dtype=np.float64)
    new_mask = np.asarray(_to_numpy(got[1]), dtype=np.float64)
    n, height, width = x.shape[:3]
    for what, value, shape in (("x'", out, (n, height, width, filters)), ("m'", new_mask, (n, height, width, 1))):
        if value.shape != shape:
            raise CheckFailed(f"{call} returned {what} of shape {value.shape}; expected {shape}.")
        if not np.all(np.isfinite(value)):
            raise CheckFailed(
                f"{call} returned NaN or inf in {what}: where a window holds no known pixel sum(M) = 0, and the "
                "output is set to 0 there instead of dividing by zero."
            )
    return out, new_mask


def _tf_constant(value: np.ndarray) -> Any:
    """A float32 TensorFlow constant (imported here so importing the checks does not import TensorFlow)."""
    import tensorflow as tf

    return tf.constant(value, tf.float32)


def _border(shape: tuple[int, ...], kernel: int) -> np.ndarray:
    """True on the output positions whose window sticks out of the image (padding='same')."""
    rim = np.zeros(shape, bool)
    r = kernel // 2
    rim[:, :r], rim[:, -r:], rim[:, :, :r], rim[:, :, -r:] = True, True, True, True
    return rim


def _pconv_hint(
    layer_class: Any,
    name: str,
    case: tuple[np.ndarray, ...],
    out: np.ndarray,
    expected: np.ndarray,
    new_mask: np.ndarray,
    expected_mask: np.ndarray,
) -> str:
    """Why the learner's layer differs from the package's on one case: probes of the learner's own layer."""
    from course_utils.inpainting import PartialConv2D

    x, mask, weights, bias = case
    kernel, channels = weights.shape[0], weights.shape[2]
    inverted, inverted_mask = _layer_output(PartialConv2D, x, 1.0 - mask, weights, bias, "PartialConv2D")
    if np.allclose(out, inverted, rtol=1e-4, atol=1e-4) and np.array_equal(new_mask, inverted_mask):
        return (
            "the mask is inverted: it is 1 on KNOWN pixels and 0 in the hole, so X ⊙ M keeps the known pixels "
            "and sum(M) counts them."
        )
    if not np.array_equal(new_mask, expected_mask):
        if np.array_equal(new_mask, np.broadcast_to(mask, new_mask.shape)):
            return (
                "m' is the input mask unchanged: the mask must be updated, m' = 1 wherever the window held at least "
                "one known pixel (sum(M) > 0), so the hole shrinks by the kernel radius at every layer."
            )
        if np.array_equal(new_mask, 1.0 - expected_mask):
            return "m' is inverted: it is 1 where the window held at least one known pixel (sum(M) > 0), 0 elsewhere."
        return (
            "m' is 1 where the window held at least one known pixel (sum(M) > 0) and 0 elsewhere; the zero padding "
            "outside the image counts as hole."
        )
    # Probe 1: a flat image and an averaging kernel, no bias: the rescaling must give the flat value back.
    flat = np.full((1, *x.shape[1:3], channels), 0.5, np.float32)
    averaging = np.full((kernel, kernel, channels, 1), 1.0 / (kernel * kernel * channels), np.float32)
    flat_out, flat_mask = _layer_output(layer_class, flat, mask[:1], averaging, np.zeros(1, np.float32), name)
    seen = flat_mask[..., 0] == 1
    values = flat_out[..., 0][seen]
    if not np.allclose(values, 0.5, rtol=1e-4, atol=1e-5):
        rim = _border(flat_out.shape[:3], kernel)[seen]
        if np.allclose(values[~rim], 0.5, rtol=1e-4, atol=1e-5):
            return (
                "inside the image your layer is right, but not at the border. With padding='same' the zero padding "
                f"counts as hole: sum(1) is always {kernel}·{kernel}·{channels} = {kernel * kernel * channels} for "
                "every window, and sum(M) counts only the known entries inside the image (pad the mask with zeros, "
                "as the convolution pads x), so a corner window is scaled up too."
            )
        if channels > 1 and (
            np.allclose(values, 0.5 / channels, rtol=1e-4) or np.allclose(values, 0.5 * channels, rtol=1e-4)
        ):
            return (
                f"the channels are miscounted: x has {channels} channels and the mask one, shared by all of them, so "
                f"sum(1) = kernel_h·kernel_w·{channels} and sum(M) = {channels} × the known pixels of the window."
            )
        if values.max() <= 0.5 + 1e-5:
            return (
                "with a flat grey image and an averaging kernel your layer comes out darker next to the hole: "
                "the factor sum(1)/sum(M) (>= 1) is missing or upside down. It scales the sum up as if the "
                "missing entries had been average ones."
            )
        return (
            "with a flat grey image and an averaging kernel the result must be the grey level wherever a window "
            "holds a known pixel: rescale by sum(1)/sum(M), computed per window position."
        )
    # Probe 2: a black image: only the bias is left, added once after the rescaling, and 0 where nothing is known.
    black = np.zeros_like(x[:1])
    black_out, black_mask = _layer_output(layer_class, black, mask[:1], weights, bias, name)
    seen = black_mask[..., 0] == 1
    if np.any(np.abs(black_out[~seen]) > 1e-5):
        return (
            "where a window holds no known pixel the output must be 0, bias included: multiply the result by m' "
            "after adding the bias."
        )
    if not np.allclose(black_out[seen], np.broadcast_to(bias, black_out.shape)[seen], rtol=1e-4, atol=1e-5):
        return (
            "on a black image your layer does not return the bias b where a window saw known pixels: the bias is "
            "added once, AFTER the rescaling (W^T(X ⊙ M)·sum(1)/sum(M) + b), not rescaled with the sum."
        )
    wrong = ~np.isclose(out, expected, rtol=1e-4, atol=1e-4)
    if not np.any(wrong & ~_border(out.shape, kernel)):
        return (
            "inside the image your layer is right, but not at the border: with padding='same' the zero padding "
            "counts as hole, and sum(1) stays the full window size."
        )
    return (
        "convolve the masked input X ⊙ M with the layer's kernel (stride 1, padding 'same'), multiply by "
        "sum(1)/sum(M) per window, add the bias, and set the output to 0 where sum(M) = 0."
    )


def check_partial_conv(layer_class: Any) -> None:
    """Lesson 10: ``layer_class``, a PartialConv2D with the learner's ``call``, against the package's layer.

    Both layers get the same kernel and bias, and random photos and masks (borders, big holes and masks with no
    hole included); on a difference the learner's own layer is probed (a flat image with an averaging kernel, a
    black image) to name the mistake.
    """
    from course_utils.inpainting import PartialConv2D

    name = getattr(layer_class, "__name__", "your layer")
    if layer_class is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not isinstance(layer_class, type) or not issubclass(layer_class, PartialConv2D):
        raise CheckFailed(
            f"`{name}` should be a class that subclasses inpainting.PartialConv2D (class MyPartialConv2D("
            f"inpainting.PartialConv2D): ...); got {_show(layer_class)}."
        )
    if layer_class.call is PartialConv2D.call:
        raise CheckFailed(f"`{name}` does not define its own `call` method: write it in the class.")
    rng = np.random.default_rng(10)
    shapes = [  # n, height, width, channels, filters, kernel, mask
        (2, 9, 9, 3, 4, 3, "random"),
        (1, 8, 10, 1, 2, 5, "random"),
        (2, 7, 7, 2, 3, 3, "known"),
        (2, 9, 9, 3, 2, 3, "block"),
    ]
    for number, shape in enumerate(shapes, start=1):
        case = _pconv_case(rng, *shape)
        x, mask, weights, bias = case
        expected, expected_mask = _layer_output(PartialConv2D, x, mask, weights, bias, "PartialConv2D")
        out, new_mask = _layer_output(layer_class, x, mask, weights, bias, name)
        if np.array_equal(new_mask, expected_mask) and np.allclose(out, expected, rtol=1e-4, atol=1e-4):
            continue
        hint = _pconv_hint(layer_class, name, case, out, expected, new_mask, expected_mask)
        kernel, filters = weights.shape[0], weights.shape[-1]
        raise CheckFailed(
            f"`{name}({filters}, {kernel})` differs from inpainting.PartialConv2D with the same kernel and bias "
            f"(case {number} of {len(shapes)}: x of shape {x.shape}, a {shape[-1]} mask). Hint: {hint}"
        )
    _passed(name, len(shapes))


# --------------------------------------------------------------------------- the hole-weight experiment

HOLE_WEIGHTS = (6.0, 1.0)  #: the two hole weights of the experiment: Liu et al.'s and none
_RUN_SERIES = ("loss", "hole", "valid")
_RUN_SCALARS = {"held_out_hole": (0.0, 1.0), "held_out_valid": (0.0, 1.0)}


def check_hole_weight_runs(fn: Any, steps: int) -> dict[float, dict[str, Any]]:
    """Lesson 10: ``fn(hole_weight, steps)`` trains a fresh U-Net and returns its losses; returns the runs.

    Runs the learner's function for hole weights 6 and 1 and checks that the numbers were measured: one value
    per step, the logged loss equal to hole_weight·hole + valid (so the weight was really used), both runs
    starting from the same weights on the same batches (equal hole and valid terms at the first step), and
    different held-out errors at the end.
    """
    name = "train_with_hole_weight"
    runs = restoration_runs.run_settings(
        fn, HOLE_WEIGHTS, name=name, param="hole_weight", steps=steps, series=_RUN_SERIES, scalars=_RUN_SCALARS
    )
    restoration_runs.check_mix(
        runs,
        "loss",
        lambda weight, run: weight * run["hole"] + run["valid"],
        call=f"`{name}`",
        hint="make the train step with hole_weight=hole_weight (and the default valid weight 1), and log its "
        "'loss', 'hole' and 'valid' values of the same step.",
    )
    first = {key: [run[key][0] for run in runs.values()] for key in ("hole", "valid")}
    if not all(np.isclose(values[0], values[1], rtol=1e-3, atol=1e-6) for values in first.values()):
        raise CheckFailed(
            f"`{name}`: at the first step the two runs already have different errors (hole {first['hole']}, valid "
            f"{first['valid']}), so they did not start alike. Call keras.utils.set_random_seed(0) before building "
            "the model, build a new one in every call, and train on experiment_batches(), the same batches each time."
        )
    ends = [(run["held_out_hole"], run["held_out_valid"]) for run in runs.values()]
    if ends[0] == ends[1]:
        raise CheckFailed(
            f"`{name}`: both runs give exactly the same held-out errors {ends[0]}. Measure the model you just "
            "trained: predict the held-out photos with it after the training loop."
        )
    _passed(name, 4)
    return runs


def check_hole_weight_conclusion(answer: Any, runs: dict[float, dict[str, Any]]) -> None:
    """Lesson 10: ``answer`` names the hole weight with the lower held-out hole and valid L1, by the learner's runs."""
    name = "hole_weight_answer"

    def numbers(key: str) -> str:
        return ", ".join(f"hole_weight {w:g}: {run[key]:.6f}" for w, run in runs.items()) + "."

    questions = {
        "lower held-out hole L1": (
            restoration_runs.best(runs, "held_out_hole"),
            numbers("held_out_hole"),
            HOLE_WEIGHTS,
        ),
        "lower held-out valid L1": (
            restoration_runs.best(runs, "held_out_valid"),
            numbers("held_out_valid"),
            HOLE_WEIGHTS,
        ),
    }
    restoration_runs.check_choices(answer, name, questions)
    _passed(name, len(questions))
