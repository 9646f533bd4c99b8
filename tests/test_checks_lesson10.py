"""The lesson-10 checks reject the stub and the usual mistakes with a targeted hint, and accept the solution."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def stub(*args):
    raise NotImplementedError


def factor(window_mask):
    known = np.sum(window_mask)
    return float(np.size(window_mask) / known) if known > 0 else 0.0


def test_renormalisation_factor_accepts_the_solution(capsys):
    checks.check_renormalisation_factor(factor)
    assert "passes all 6 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (lambda m: np.sum(m) / np.size(m), "other way round"),
        (lambda m: 1 / np.sum(m) if np.sum(m) else 0.0, "number of entries in the window"),
        (lambda m: np.size(m) / np.sum(m), "sets the output"),
        (lambda m: m.shape[0] * m.shape[1] / np.sum(m) if np.sum(m) else 0.0, "height x width x channels"),
        (lambda m: np.ones(2), "one number"),
    ],
)
def test_renormalisation_factor_rejects_mistakes(wrong, hint):
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(CheckFailed, match=hint):
        checks.check_renormalisation_factor(wrong)


def l1(images, predictions, masks, hole_weight=6.0, valid_weight=1.0):
    error = np.abs(predictions - images)
    return hole_weight * np.mean((1 - masks) * error) + valid_weight * np.mean(masks * error)


def test_hole_valid_l1_accepts_the_solution(capsys):
    checks.check_hole_valid_l1(l1)
    assert "passes all 5 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda x, y, m, h, v: l1(x, y, 1 - m, h, v), "swapped. The mask is 1 on KNOWN"),
        (lambda x, y, m, h, v: l1(x, y, m, v, h), "swapped"),
        (
            lambda x, y, m, h, v: (
                h * np.abs(y - x)[np.broadcast_to(m == 0, x.shape)].mean()
                + v * np.abs(y - x)[np.broadcast_to(m == 1, x.shape)].mean()
            ),
            "over ALL entries",
        ),
        (lambda x, y, m, h, v: h * np.mean((1 - m) * (y - x) ** 2) + v * np.mean(m * (y - x) ** 2), "squared"),
        (lambda x, y, m, h, v: 0.5, "hole_weight \\* mean"),
    ],
)
def test_hole_valid_l1_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_hole_valid_l1(wrong)


# --------------------------------------------------------------------------- the partial convolution layer


def make_layer(*, invert=False, update=True, rescale="right", bias_scaled=False, pad_known=False, zero_out=True):
    """A PartialConv2D subclass whose call is right, or wrong in one of the catalogued ways."""
    import tensorflow as tf

    from course_utils import inpainting

    class Layer(inpainting.PartialConv2D):
        def call(self, inputs):
            x, mask = inputs
            mask = 1.0 - mask if invert else mask
            kh, kw, channels, _ = self.kernel.shape
            ones = tf.ones((kh, kw, 1, 1))
            if pad_known:  # the padding counted as known
                padded = tf.pad(mask, [[0, 0], [kh // 2, kh // 2], [kw // 2, kw // 2], [0, 0]], constant_values=1.0)
                pixels = tf.nn.conv2d(padded, ones, 1, "VALID")
            else:
                pixels = tf.nn.conv2d(mask, ones, 1, "SAME")
            seen = tf.cast(pixels > 0, tf.float32)
            factor = {
                "right": kh * kw * channels / tf.maximum(pixels * channels, 1.0),
                "none": tf.ones_like(pixels),
                "inverted": pixels * channels / (kh * kw * channels),
                "channels": kh * kw / tf.maximum(pixels * channels, 1.0),
            }[rescale] * seen
            raw = tf.nn.conv2d(x * mask, self.kernel, 1, "SAME")
            out = (raw + self.bias) * factor if bias_scaled else raw * factor + self.bias
            out = out * seen if zero_out else out
            return out, (seen if update else mask)

    return Layer


def test_partial_conv_accepts_the_solution(capsys):
    checks.check_partial_conv(make_layer())
    assert "passes all 4 checks" in capsys.readouterr().out


def test_partial_conv_rejects_what_is_not_a_layer_class():
    from course_utils import inpainting

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_partial_conv(None)
    with pytest.raises(CheckFailed, match="subclasses inpainting.PartialConv2D"):
        checks.check_partial_conv(lambda x: x)

    class Unchanged(inpainting.PartialConv2D):
        pass

    with pytest.raises(CheckFailed, match="own `call`"):
        checks.check_partial_conv(Unchanged)


def test_partial_conv_rejects_the_stub():
    from course_utils import inpainting

    class Stub(inpainting.PartialConv2D):
        def call(self, inputs):
            raise NotImplementedError

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_partial_conv(Stub)


@pytest.mark.parametrize(
    "options,hint",
    [
        ({"invert": True}, "mask is inverted"),
        ({"update": False}, "input mask unchanged"),
        ({"rescale": "none"}, "missing or upside down"),
        ({"rescale": "inverted"}, "missing or upside down"),
        ({"rescale": "channels"}, "channels are miscounted"),
        ({"pad_known": True}, "not at the border"),
        ({"bias_scaled": True}, "AFTER the rescaling"),
        ({"zero_out": False}, "bias included"),
    ],
)
def test_partial_conv_rejects_mistakes(options, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_partial_conv(make_layer(**options))


def test_partial_conv_names_an_inverted_new_mask_and_a_wrong_one():
    right = make_layer()

    class InvertedNewMask(right):
        def call(self, inputs):
            out, new_mask = super().call(inputs)
            return out, 1.0 - new_mask

    class AllKnown(right):
        def call(self, inputs):
            out, new_mask = super().call(inputs)
            return out, new_mask * 0.0 + 1.0

    with pytest.raises(CheckFailed, match="m' is inverted"):
        checks.check_partial_conv(InvertedNewMask)
    with pytest.raises(CheckFailed, match="padding outside the image counts as hole"):
        checks.check_partial_conv(AllKnown)


def test_partial_conv_without_a_known_slip_gets_the_recipe():
    right = make_layer()

    class Shifted(right):
        def call(self, inputs):
            out, new_mask = super().call(inputs)
            return out * 1.01 * new_mask + 0.0, new_mask

    with pytest.raises(CheckFailed, match="convolve the masked input|AFTER the rescaling|grey level"):
        checks.check_partial_conv(Shifted)


def test_partial_conv_names_a_wrong_return():
    from course_utils import inpainting

    class OneOutput(inpainting.PartialConv2D):
        def call(self, inputs):
            return inputs[0]

    with pytest.raises(CheckFailed, match="pair"):
        checks.check_partial_conv(OneOutput)


# --------------------------------------------------------------------------- the hole-weight experiment


def fake_run(hole_weight, steps, *, shift=0.0, mix=True, held=None):
    """Numbers shaped like a measured run (no training: the check judges only their consistency)."""
    rng = np.random.default_rng(int(hole_weight) + 1)
    hole = 0.05 + 0.01 * rng.random(steps)
    valid = 0.15 + 0.01 * rng.random(steps)
    hole[0], valid[0] = 0.06 + shift, 0.16
    loss = hole_weight * hole + valid if mix else 6.0 * hole + valid
    held_hole, held_valid = held if held is not None else (0.04 - 0.001 * hole_weight, 0.1 + 0.001 * hole_weight)
    return {
        "loss": list(loss),
        "hole": list(hole),
        "valid": list(valid),
        "held_out_hole": held_hole,
        "held_out_valid": held_valid,
    }


def test_hole_weight_runs_accept_consistent_numbers_and_the_conclusion_follows_them(capsys):
    runs = checks.check_hole_weight_runs(fake_run, 3)
    assert sorted(runs) == [1.0, 6.0] and "passes" in capsys.readouterr().out
    checks.check_hole_weight_conclusion({"lower held-out hole L1": 6.0, "lower held-out valid L1": 1.0}, runs)
    assert "passes all 2 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda w, s: fake_run(w, s, mix=False), "hole_weight=hole_weight"),
        (lambda w, s: fake_run(w, s, shift=w / 100), "did not start alike"),
        (lambda w, s: fake_run(w, s, held=(0.04, 0.1)), "exactly the same held-out errors"),
        (lambda w, s: fake_run(w, 1), "one per training step"),
        (lambda w, s: {**fake_run(w, s), "held_out_hole": 3.0}, "measured value"),
        (lambda w, s: {**fake_run(w, s), "hole": ["a"] * s}, "list of 3 numbers"),
        (lambda w, s: (1.0, 2.0), "keys"),
    ],
)
def test_hole_weight_runs_reject_numbers_that_were_not_measured(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_hole_weight_runs(wrong, 3)


@pytest.mark.parametrize(
    "answer,hint",
    [
        (None, "not written yet"),
        ({"lower held-out hole L1": 1.0, "lower held-out valid L1": 1.0}, "your own numbers say otherwise"),
        ({"lower held-out hole L1": 6.0, "lower held-out valid L1": 6.0}, "your own numbers say otherwise"),
        ({"lower held-out hole L1": "six", "lower held-out valid L1": 1.0}, "one of"),
        ({"hole": 6.0}, "keys"),
    ],
)
def test_hole_weight_conclusion_must_follow_the_numbers(answer, hint):
    runs = checks.check_hole_weight_runs(fake_run, 3)
    with pytest.raises(CheckFailed, match=hint):
        checks.check_hole_weight_conclusion(answer, runs)
