"""The course's pixel ranges ([0, 1], [-1, 1], uint8) and its mask convention (1 = known) are not mixed up silently.

Each case below once returned a believable number instead of an error: a mix-up must now raise a sentence that
names the conversion, or, where the course cannot be sure, warn with the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from course_utils import masks, metrics, pipeline
from course_utils.validation import RangeWarning, check_pixel_range

rng = np.random.default_rng(0)
UNIT = rng.random((2, 16, 16, 1)).astype(np.float32)
MODEL = UNIT * 2 - 1


def test_check_pixel_range_accepts_each_convention_and_names_the_mix_ups():
    np.testing.assert_array_equal(check_pixel_range("x", UNIT, "unit"), UNIT)
    np.testing.assert_array_equal(check_pixel_range("x", MODEL, "model"), MODEL)
    with pytest.raises(ValueError, match=r"model-range \[-1, 1\] images: convert them with \(x \+ 1\) / 2"):
        check_pixel_range("x", MODEL, "unit")
    with pytest.raises(ValueError, match="0-255 pixel values: convert uint8 pictures with pipeline.to_unit_range"):
        check_pixel_range("x", UNIT * 255, "unit")
    with pytest.raises(ValueError, match="Convert uint8 pictures with pipeline.to_model_range first"):
        check_pixel_range("x", (UNIT * 255).astype(np.uint8), "model")
    with pytest.raises(ValueError, match="1 NaN or infinite value"):
        check_pixel_range("x", np.array([0.5, np.nan]), "unit")
    with pytest.warns(RangeWarning, match=r"is it a \[0, 1\] image\?.*2 \* x - 1"):
        check_pixel_range("x", UNIT, "model")


def test_from_model_range_refuses_pixels_and_warns_on_unit_images():
    with pytest.warns(RangeWarning):
        pipeline.from_model_range(np.array([0.0, 0.5, 1.0], np.float32))  # once gave [128 191 255] silently
    with pytest.raises(ValueError, match="0-255 pixel values"):
        pipeline.from_model_range(np.array([0.0, 128.0, 255.0], np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # genuine model-range output: no warning
        np.testing.assert_array_equal(pipeline.from_model_range(np.array([-1.0, 0.0, 1.0])), [0, 128, 255])


def test_from_unit_range_refuses_model_range_images():
    with pytest.raises(ValueError, match=r"model-range \[-1, 1\] images"):
        pipeline.from_unit_range(np.array([-1.0, 0.0, 1.0], np.float32))  # once gave [0 0 255]
    np.testing.assert_array_equal(pipeline.from_unit_range(np.array([-0.02, 0.5, 1.03])), [0, 128, 255])  # clipped


def test_psnr_of_uint8_pictures_with_the_unit_data_range_is_refused():
    a = rng.integers(0, 256, (2, 16, 16, 1), dtype=np.uint8)
    b = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    with pytest.raises(ValueError, match="far beyond data_range=1: 0-255 pixels"):
        metrics.psnr(a, b)  # once -19.9 dB
    assert metrics.psnr(a, b, data_range=255) == pytest.approx(metrics.psnr(a / 255.0, b / 255.0), rel=1e-9)


@pytest.mark.parametrize("fn", [metrics.mse, metrics.psnr, metrics.ssim])
def test_metrics_refuse_empty_batches_and_nan(fn):
    empty = np.zeros((0, 16, 16, 1), np.float32)
    with pytest.raises(ValueError, match="at least one image"):
        fn(empty, empty)
    with pytest.raises(ValueError, match="NaN"):
        fn(np.where(UNIT > 0.5, np.nan, UNIT), UNIT)


def test_format_table_names_a_missing_column():
    with pytest.raises(ValueError, match="row 'b' has no value for the column\\(s\\) 'psnr'"):
        metrics.format_table({"a": {"psnr": 1.0}, "b": {"ssim": 0.5}})


@pytest.mark.parametrize("kind", masks.KINDS)
def test_an_inverted_mask_warns_while_the_course_masks_do_not(kind):
    batch = masks.make_masks(kind, 64, 32, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        masks.check_mask(batch)
        for single in batch:  # one image's mask alone, too
            masks.check_mask(single)
    with pytest.warns(RangeWarning, match="1 - mask"):
        masks.check_mask(1.0 - batch)
    with pytest.warns(RangeWarning):
        images = UNIT[:1].repeat(64, 0)
        metrics.masked_l1(images, images, (1.0 - batch)[:, :16, :16])


def test_nan_cannot_slip_into_a_degradation():
    mask = masks.center_hole(2, 16)
    with pytest.raises(ValueError, match="fill must be a number in \\[0, 1\\]"):
        masks.apply_mask(UNIT, mask, fill=float("nan"))
    with pytest.raises(ValueError, match="fill must be a number in \\[0, 1\\]"):
        masks.apply_mask(UNIT, mask, fill=255)
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        masks.add_noise(UNIT, float("nan"))
    with pytest.raises(ValueError, match="NaN or infinite"):
        masks.apply_mask(np.where(UNIT > 0.5, np.nan, UNIT), mask)
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        masks.apply_mask(MODEL, mask)
