"""Lesson 09's checks reject the stub and typical mistakes with a hint, and accept right answers."""

from __future__ import annotations

import re

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


# --------------------------------------------------------------------------- diffusion_fill


def make_fill(*, start="mean", pad="edge", neighbours=4, keep_known=True, fixed_iterations=None, invert=False,
              dtype=np.float64):
    """A diffusion fill with one part changeable into a typical mistake."""

    def fill(image, mask, iterations):
        if image.ndim == 4:
            return np.stack([fill(one, one_mask, iterations) for one, one_mask in zip(image, mask)])
        hole = np.broadcast_to((mask == 1) if invert else (mask == 0), image.shape)
        colour = image[~hole[..., 0]].mean(axis=0) if start == "mean" else np.zeros(image.shape[-1])
        filled = np.where(hole, colour, image).astype(dtype)
        for _ in range(iterations if fixed_iterations is None else fixed_iterations):
            if pad == "roll":
                sides = [np.roll(filled, shift, axis) for shift in (1, -1) for axis in (0, 1)]
                average = sum(sides) / 4
            else:
                p = np.pad(filled, ((1, 1), (1, 1), (0, 0)), mode=pad)
                sides = [p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]]
                if neighbours == 4:
                    average = sum(sides) / 4
                else:
                    corners = [p[:-2, :-2], p[:-2, 2:], p[2:, :-2], p[2:, 2:]]
                    average = (sum(sides) + sum(corners) + (filled if neighbours == 9 else 0)) / neighbours
            filled = np.where(hole, average, image) if keep_known else average
        return filled.astype(dtype)

    return fill


def gauss_seidel_fill(image, mask, iterations):
    """Updates each hole pixel in place, row by row: a different order, the same harmonic fill."""
    hole = (mask[..., 0] == 0)
    filled = np.where(hole[..., None], image[~hole].mean(axis=0), image).astype(np.float64)
    height, width = hole.shape
    rows, cols = np.nonzero(hole)
    for _ in range(iterations // 4):
        for i, j in zip(rows, cols):
            up, down = filled[max(i - 1, 0), j], filled[min(i + 1, height - 1), j]
            left, right = filled[i, max(j - 1, 0)], filled[i, min(j + 1, width - 1)]
            filled[i, j] = (up + down + left + right) / 4
    return filled


def test_diffusion_fill_check_accepts_right_fills(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_diffusion_fill(make_fill())
    checks.check_diffusion_fill(make_fill(dtype=np.float32))
    checks.check_diffusion_fill(lambda image, mask, n: np.stack([gauss_seidel_fill(i, m, n) for i, m in
                                                                  zip(image, mask)]) if image.ndim == 4 else
                                gauss_seidel_fill(image, mask, n))
    assert capsys.readouterr().out.count("✔ diffusion_fill passes all 5 checks.") == 3


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (_stub, "is not written yet"),
        (make_fill(start="zero"), "the hole starts at 0"),
        (make_fill(invert=True), "the known pixels (mask == 1) must stay"),
        (make_fill(keep_known=False), "put the known pixels back"),
        (make_fill(pad="roll"), "wrap around"),
        (make_fill(pad="constant"), "count as 0"),
        (make_fill(pad="reflect"), "mode='reflect'"),
        (make_fill(neighbours=8), "3x3 neighbourhood"),
        (make_fill(neighbours=9), "3x3 neighbourhood"),
        (make_fill(fixed_iterations=5), "repeat the averaging exactly `iterations` times"),
        (lambda image, mask, n: make_fill()(image, mask, min(n, 5)), "has not settled"),
        (lambda image, mask, iterations: make_fill()(image, mask, iterations)[..., 0], "expected the image's shape"),
        (lambda image, mask, n: make_fill()(image[0], mask[0], n) if image.ndim == 4 else make_fill()(image, mask, n),
         "expected the image's shape (2, 12, 12, 3)"),
        (lambda image, mask, iterations: None, "returned None"),
        (lambda image, mask, n: np.where(mask == 0, 1.5, 1) * make_fill()(image, mask, n) if n else
         make_fill()(image, mask, n), "outside the known pixels"),
    ],
)
def test_diffusion_fill_check_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_diffusion_fill(fn)


def test_diffusion_fill_check_reports_an_inverted_mask_after_iterating() -> None:
    inverted = make_fill(invert=True)

    def fill(image, mask, iterations):  # right at 0 iterations, inverted after
        return make_fill()(image, mask, 0) if iterations == 0 else inverted(image, mask, iterations)

    with pytest.raises(CheckFailed, match=re.escape("the mask is inverted")):
        checks.check_diffusion_fill(fill)


# --------------------------------------------------------------------------- the hole-size experiment


FRACTIONS = [0.25, 0.5]


def _photos():
    rng = np.random.default_rng(9)
    rows, cols = np.mgrid[0:16, 0:16] / 15.0
    smooth = np.stack([0.2 + 0.5 * rows, 0.7 - 0.4 * cols, 0.3 + 0.2 * rows * cols], axis=-1)
    return np.clip(smooth[None] + 0.05 * rng.normal(size=(3, 16, 16, 3)), 0, 1).astype(np.float32)


def _measure(photos, iterations=300, fractions=FRACTIONS):
    from course_utils import baselines, masks, metrics

    fill = make_fill()
    errors = {"diffusion": [], "telea": []}
    for fraction in fractions:
        hole = masks.center_hole(len(photos), photos.shape[1], hole_fraction=fraction)
        for method, restored in [("diffusion", fill(photos, hole, iterations)),
                                 ("telea", baselines.inpaint(photos, hole, "telea"))]:
            errors[method].append(float(np.mean(metrics.masked_l1(restored, photos, hole))))
    return errors


def test_hole_size_experiment_accepts_what_the_numbers_say(capsys: pytest.CaptureFixture[str]) -> None:
    photos = _photos()
    errors = _measure(photos)
    better = min(errors, key=lambda method: errors[method][-1])
    checks.check_hole_size_experiment(errors, better, photos=photos, fractions=FRACTIONS)
    assert f"with the largest hole the {better} fill" in capsys.readouterr().out
    other = "telea" if better == "diffusion" else "diffusion"
    with pytest.raises(CheckFailed, match="your own numbers say otherwise"):
        checks.check_hole_size_experiment(errors, other, photos=photos, fractions=FRACTIONS)


@pytest.mark.parametrize(
    ("change", "better", "expected"),
    [
        (lambda e: None, "telea", "`hole_errors` is not written yet"),
        (lambda e: e, None, "`better_at_largest` is not written yet"),
        (lambda e: e, "biharmonic", "should be one of"),
        (lambda e: {"diffusion": e["diffusion"]}, "telea", "should be a dict with the keys"),
        (lambda e: {**e, "telea": e["telea"][:1]}, "telea", "should hold 2 numbers"),
        (lambda e: {**e, "telea": [v * 1.1 for v in e["telea"]]}, "telea", "but Telea on these 3 photos"),
        (lambda e: {**e, "diffusion": list(e["telea"])}, "telea", "repeats Telea's numbers"),
        (lambda e: {**e, "diffusion": [np.nan, 0.1]}, "telea", "lie in [0, 1]"),
        (lambda e: {**e, "diffusion": [2.0, 0.1]}, "telea", "lie in [0, 1]"),
        (lambda e: {**e, "diffusion": "low"}, "telea", "should hold 2 numbers"),
        (lambda e: {k: v[::-1] for k, v in e.items()}, "telea", "but Telea on these 3 photos"),
    ],
)
def test_hole_size_experiment_rejects_mistakes(change, better, expected: str) -> None:
    photos = _photos()
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_hole_size_experiment(change(_measure(photos)), better, photos=photos, fractions=FRACTIONS)


def test_hole_size_experiment_notices_the_mean_fill() -> None:
    photos = _photos()
    with pytest.raises(CheckFailed, match="did not run any averaging step"):
        checks.check_hole_size_experiment(_measure(photos, iterations=0), "telea", photos=photos, fractions=FRACTIONS)


def test_new_checks_are_exported() -> None:
    assert {"check_diffusion_fill", "check_hole_size_experiment"} <= set(checks.__all__)


def test_psnr_check_compares_with_scikit_image(capsys: pytest.CaptureFixture[str]) -> None:
    from skimage.metrics import peak_signal_noise_ratio

    def through_scikit_image(mse, data_range=1.0):  # an image pair with exactly this MSE, scored by scikit-image
        mse = np.asarray(mse, dtype=np.float64)
        values = [peak_signal_noise_ratio(np.zeros(1), np.full(1, np.sqrt(m)), data_range=data_range)
                  for m in mse.ravel()]
        return np.reshape(values, mse.shape) if mse.ndim else values[0]

    checks.check_psnr_from_mse(through_scikit_image)
    assert "✔ psnr_from_mse passes all" in capsys.readouterr().out
