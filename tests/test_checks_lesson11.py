"""The lesson-11 checks reject the stub and the usual mistakes with a targeted hint, and accept the solution."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def stub(*args):
    raise NotImplementedError


def field(layers):
    r, j = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * j
        j *= stride
    return r


def no_jump(layers):
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def stride_first(layers):
    r, j = 1, 1
    for kernel, stride in layers:
        j *= stride
        r += (kernel - 1) * j
    return r


def test_receptive_field_accepts_the_solution(capsys):
    checks.check_receptive_field(field)
    assert "passes all 7 checks" in capsys.readouterr().out


def test_receptive_field_agrees_with_the_package():
    from course_utils import adversarial

    for n_layers in (1, 2, 3, 4):
        spec = adversarial.patch_layers(n_layers)
        assert field(spec) == adversarial.receptive_field(spec)


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (no_jump, "never multiplied by the jump"),
        (stride_first, "before adding that layer"),
        (lambda layers: int(np.prod([k for k, _ in layers])), "do not multiply"),
        (lambda layers: field(layers) - 1, "start from a field of 1"),
        (lambda layers: [field(layers)] * 2, "one whole number"),
        (lambda layers: 70, "r = 1 and j = 1"),
    ],
)
def test_receptive_field_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_receptive_field(wrong)


def fill(completions, loss):
    return np.mean(completions, axis=0) if loss == "l2" else np.median(completions, axis=0)


def test_best_fill_accepts_the_solution(capsys):
    checks.check_best_fill(fill)
    assert "passes all 7 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda c, loss: np.mean(c, axis=0), "MEDIAN, not the mean"),
        (lambda c, loss: fill(c, "l1" if loss == "l2" else "l2"), "swapped the two"),
        (lambda c, loss: c[0], "one of the completions"),
        (lambda c, loss: np.mean(c), "axis=0"),
        (lambda c, loss: np.mean(c, axis=0) + 0.1, "the per-pixel mean of the completions"),
        (lambda c, loss: "mean", "array of pixel values"),
    ],
)
def test_best_fill_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_best_fill(wrong)
