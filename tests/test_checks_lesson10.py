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
