"""Lesson 07's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from course_utils import checks, evaluation
from course_utils.checks import CheckFailed


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- frechet_distance_1d


def frechet_distance_1d(mu1, sigma1, mu2, sigma2):
    return (mu1 - mu2) ** 2 + sigma1**2 + sigma2**2 - 2 * math.sqrt(sigma1**2 * sigma2**2)


def test_frechet_1d_accepts_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_frechet_distance_1d(frechet_distance_1d)
    checks.check_frechet_distance_1d(lambda m1, s1, m2, s2: np.float32((m1 - m2) ** 2 + (s1 - s2) ** 2))
    assert capsys.readouterr().out.count("✔ frechet_distance_1d passes all 6 checks.") == 2


def test_frechet_1d_stored_results_agree_with_the_course_and_the_formula() -> None:
    from course_utils.checks.stored import stored

    for case in stored("lesson07", "frechet_distance_1d").cases:
        m1, s1, m2, s2 = case.args
        expected = evaluation.frechet_distance([m1], [[s1**2]], [m2], [[s2**2]])
        assert frechet_distance_1d(m1, s1, m2, s2) == pytest.approx(expected, abs=1e-12) == case.expected


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`frechet_distance_1d` is not written yet"),
        (None, "`frechet_distance_1d` is not written yet"),
        (lambda m1, s1, m2, s2: abs(m1 - m2) + (s1 - s2) ** 2, "the *squared* difference"),
        (lambda m1, s1, m2, s2: (m1 - m2) ** 2, "only the mean term"),
        (lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1**2 + s2**2, "you left out"),
        (lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 + s2 - 2 * math.sqrt(s1 * s2), "standard deviations"),
        (lambda m1, s1, m2, s2: math.sqrt((m1 - m2) ** 2 + (s1 - s2) ** 2), "without a final square root"),
        (lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1**2 - s2**2) ** 2, "the square root of the product"),
        (lambda m1, s1, m2, s2: (m1 + m2) ** 2, "returned 25.0; the Fréchet distance is 11.25."),
        (lambda m1, s1, m2, s2: [(m1 - m2) ** 2, (s1 - s2) ** 2], "it should return one number"),
        (lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 - s2) ** 2 if m1 != 0 else 1.0, "case 2 of 6"),
    ],
)
def test_frechet_1d_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_frechet_distance_1d(fn)
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- fid


def fid(features1, features2):
    mu1, mu2 = features1.mean(axis=0), features2.mean(axis=0)
    s1, s2 = np.cov(features1, rowvar=False), np.cov(features2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def test_fid_accepts_the_solution(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_fid(fid)
    checks.check_fid(evaluation.fid_from_features)
    assert capsys.readouterr().out.count("✔ fid passes all 7 checks.") == 2


def _variant(mean=True, cov=True, two=2.0, bias=False, elementwise=False, real=True, root=False):
    def wrong(f1, f2):
        mu1, mu2 = f1.mean(0), f2.mean(0)
        s1, s2 = np.cov(f1, rowvar=False, bias=bias), np.cov(f2, rowvar=False, bias=bias)
        product = np.sqrt(np.abs(s1 @ s2)) if elementwise else scipy.linalg.sqrtm(s1 @ s2)
        product = product.real if real else product + 1e-3j
        value = (np.sum((mu1 - mu2) ** 2) if mean else 0.0) + (np.trace(s1 + s2 - two * product) if cov else 0.0)
        return np.sqrt(value) if root else value

    return wrong


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`fid` is not written yet"),
        (None, "`fid` is not written yet"),
        (_variant(cov=False), "only the distance between the means"),
        (_variant(mean=False), "the mean term ||mu1 - mu2||^2 is missing"),
        (_variant(elementwise=True), "the *matrix* square root"),
        (_variant(bias=True), "divides by N - 1"),
        (_variant(two=1.0), "the 2 is missing"),
        (_variant(root=True), "do not take a final square root"),
        (_variant(real=False), "keep the real part"),
        (lambda f1, f2: fid(f1, f2) if len(f1) != len(f2) else 0.5, "must be 0"),
        (lambda f1, f2: np.trace(np.cov(f1) @ np.cov(f2)), "np.cov(features, rowvar=False)"),
        (lambda f1, f2: "12.3", "it should return one number"),
    ],
)
def test_fid_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_fid(fn)
    assert expected in str(caught.value)


def test_fid_rejects_a_wrong_answer_on_a_later_case() -> None:
    def only_for_the_first(f1, f2):
        return fid(f1, f2) if f1.shape[1] == 4 else fid(f1, f2) + 1.0

    with pytest.raises(CheckFailed, match="case 5 of 5"):
        checks.check_fid(only_for_the_first)


# --------------------------------------------------------------------------- kl_to_uniform


def kl_to_uniform(counts):
    p = counts / counts.sum()
    p = p[p > 0]
    return float(np.sum(p * np.log(p * len(counts))))


def test_kl_accepts_the_solution_and_agrees_with_mode_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_kl_to_uniform(kl_to_uniform)
    assert "✔ kl_to_uniform passes all 7 checks." in capsys.readouterr().out
    labels = np.array([0, 0, 0, 1, 4, 4, 9])
    counts = np.bincount(labels, minlength=10)
    assert kl_to_uniform(counts) == pytest.approx(evaluation.mode_coverage(labels).kl_to_uniform)
    assert kl_to_uniform(np.array([0, 5, 0, 0])) == pytest.approx(math.log(4))


def _kl_variant(kind):
    def wrong(counts):
        p = counts / counts.sum()
        nz = p > 0
        k = len(counts)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "nan": float(np.sum(p * np.log(p * k))),
                "reverse": float(np.sum(1 / k * np.log((1 / k) / p))),
                "bits": float(np.sum(p[nz] * np.log2(p[nz] * k))),
                "entropy": float(np.sum(p[nz] * np.log(p[nz]))),
                "counts": float(np.sum(counts[nz] * np.log(counts[nz] * k))),
                "count_in_log": float(np.sum(p[nz] * np.log(counts[nz] * k))),
                "nonempty_k": float(np.sum(p[nz] * np.log(p[nz] * nz.sum()))),
                "array": p[nz] * np.log(p[nz] * k),
            }[kind]

    return wrong


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("nan", "0 log 0 = 0"),
        ("reverse", "KL(uniform || p)"),
        ("bits", "in bits"),
        ("entropy", "minus the entropy"),
        ("counts", "normalise the counts"),
        ("count_in_log", "not the count"),
        ("nonempty_k", "including the empty ones"),
        ("array", "KL is one number"),
    ],
)
def test_kl_rejects_mistakes(kind: str, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_kl_to_uniform(_kl_variant(kind))
    assert expected in str(caught.value)


def test_kl_rejects_the_stub() -> None:
    for fn in (not_written, None):
        with pytest.raises(CheckFailed, match="`kl_to_uniform` is not written yet"):
            checks.check_kl_to_uniform(fn)
