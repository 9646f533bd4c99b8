"""The lesson-16 checks reject the stub and the usual mistakes with a targeted hint, and accept the solution."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def stub(*args):
    raise NotImplementedError


def quantise(x, scale, zero_point):
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def dequantise(q, scale, zero_point):
    return (scale * (q.astype(np.float32) - zero_point)).astype(np.float32)


def test_affine_quantisation_accepts_the_solution(capsys):
    checks.check_affine_quantisation(quantise, dequantise)
    assert "passes all 4 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong_q,wrong_d,hint",
    [
        (stub, dequantise, "not written yet"),
        (quantise, None, "not written yet"),
        (lambda x, s, z: (np.round(x / s) + z).astype(np.int8), dequantise, "clipped"),
        (lambda x, s, z: np.clip(np.round(x / s), -128, 127).astype(np.int8), dequantise, "zero point is missing"),
        (lambda x, s, z: np.clip(np.floor(x / s) + z, -128, 127).astype(np.int8), dequantise, "nearest integer"),
        (lambda x, s, z: np.clip(np.round(x * s) + z, -128, 127).astype(np.int8), dequantise, "divide by the scale"),
        (lambda x, s, z: np.clip(np.round(x / s) + z, -128, 127), dequantise, "as int8"),
        (quantise, lambda q, s, z: (s * q.astype(np.float32)).astype(np.float32), "subtract the zero point"),
        (quantise, lambda q, s, z: s * (q - np.int8(z)), "overflows"),
    ],
)
def test_affine_quantisation_rejects_mistakes(wrong_q, wrong_d, hint):
    with np.errstate(over="ignore"), pytest.raises(CheckFailed, match=hint):
        checks.check_affine_quantisation(wrong_q, wrong_d)


def compression(parameter_counts, bytes_before=4, bytes_after=1):
    total = sum(parameter_counts)
    return total * bytes_before, total * bytes_after, bytes_before / bytes_after


def test_compression_accepts_the_solution(capsys):
    checks.check_compression(compression)
    assert "passes all 4 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda c, b, a: (c[0] * b, c[0] * a, b / a), "add up the parameters"),
        (lambda c, b, a: (8 * sum(c) * b, 8 * sum(c) * a, b / a), "not bits"),
        (lambda c, b, a: (sum(c) * b, sum(c) * a, a / b), "before / after"),
        (lambda c, b, a: sum(c) * b, "three numbers"),
        (lambda c, b, a: (1, 2, 3), "bytes = "),
    ],
)
def test_compression_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_compression(wrong)
