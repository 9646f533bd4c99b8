"""Lesson 09's checks reject the stub and typical mistakes with a hint, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def _stub(*args, **kwargs):
    raise NotImplementedError


# --------------------------------------------------------------------------- PSNR from MSE


def test_psnr_from_mse_accepts_right_answers(capsys) -> None:
    checks.check_psnr_from_mse(lambda mse, data_range=1.0: 10 * np.log10(data_range**2 / mse))
    checks.check_psnr_from_mse(lambda mse, data_range=1.0: 20 * np.log10(data_range / np.sqrt(mse)))
    assert "passes all" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (_stub, "not written yet"),
        (None, "not written yet"),
        (lambda mse, data_range=1.0: 20 * np.log10(data_range / mse), "RMSE"),
        (lambda mse, data_range=1.0: 10 * np.log10(data_range / mse), "square the data range"),
        (lambda mse, data_range=1.0: 10 * np.log10(1 / mse), "use the `data_range` argument"),
        (lambda mse, data_range=1.0: 10 * np.log(data_range**2 / mse), "np.log10"),
        (lambda mse, data_range=1.0: 10 * np.log10(mse / data_range**2), "upside down"),
        (lambda mse, data_range=1.0: float(10 * np.log10(data_range**2 / np.mean(mse))), "case 4"),
    ],
)
def test_psnr_from_mse_rejects_mistakes(answer, hint: str) -> None:
    with pytest.raises(CheckFailed, match=hint):
        checks.check_psnr_from_mse(answer)


# --------------------------------------------------------------------------- masked L1


def _masked_l1(restored, target, mask):
    hole = np.broadcast_to(mask == 0, target.shape)
    return np.sum(np.abs(restored - target) * hole, axis=(1, 2, 3)) / np.sum(hole, axis=(1, 2, 3))


def test_masked_l1_accepts_the_solution_and_the_course_metric(capsys) -> None:
    from course_utils import metrics

    checks.check_masked_l1(_masked_l1)
    checks.check_masked_l1(metrics.masked_l1)
    assert capsys.readouterr().out.count("passes all") == 2


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (_stub, "not written yet"),
        (lambda r, t, m: np.mean(np.abs(r - t), axis=(1, 2, 3)), "over \\*all\\* pixels"),
        (lambda r, t, m: _masked_l1(r, t, 1 - m), "KNOWN pixels"),
        (lambda r, t, m: np.sum(np.abs(r - t) * (m == 0), axis=(1, 2, 3)) / np.sum(m == 0, axis=(1, 2, 3)),
         "times the channels"),
        (lambda r, t, m: float(np.mean(_masked_l1(r, t, m))), "one value per image"),
        (lambda r, t, m: np.sum((r - t) * (m == 0), axis=(1, 2, 3)) / np.sum(np.broadcast_to(m == 0, t.shape),
                                                                           axis=(1, 2, 3)), "absolute value"),
        (lambda r, t, m: _masked_l1(r, t, m)[:2], "shape"),
    ],
)
def test_masked_l1_rejects_mistakes(answer, hint: str) -> None:
    with pytest.raises(CheckFailed, match=hint):
        checks.check_masked_l1(answer)


# --------------------------------------------------------------------------- compose


def test_compose_accepts_the_solution(capsys) -> None:
    checks.check_compose(lambda image, mask, fill: mask * image + (1 - mask) * fill)
    checks.check_compose(lambda image, mask, fill: np.where(mask == 1, image, fill))
    assert capsys.readouterr().out.count("passes all") == 2


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (_stub, "not written yet"),
        (lambda image, mask, fill: (1 - mask) * image + mask * fill, "roles are swapped"),
        (lambda image, mask, fill: fill, "fill everywhere"),
        (lambda image, mask, fill: image, "unchanged"),
        (lambda image, mask, fill: mask * image, "zeroes the hole"),
        (lambda image, mask, fill: mask * image + (1 - mask) * fill + 0.1, "case 1"),
    ],
)
def test_compose_rejects_mistakes(answer, hint: str) -> None:
    with pytest.raises(CheckFailed, match=hint):
        checks.check_compose(answer)
