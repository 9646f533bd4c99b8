"""Checks for lesson 07's exercises (Evaluating generative models).

All three compare with stored results (checks/data/lesson07.json): frechet_distance_1d and fid computed with
SciPy's matrix square root, kl_to_uniform with SciPy's relative entropy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _run_stored, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = ["check_fid", "check_frechet_distance_1d", "check_kl_to_uniform"]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _one_number(got: Any, call: str, what: str) -> float:
    """``got`` as a float, or CheckFailed saying the function should return one real number."""
    got = _to_numpy(got)
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if isinstance(got, (complex, np.complexfloating)):
        raise CheckFailed(
            f"{call} returned a complex number {got!r}. The matrix square root comes back complex with tiny "
            "imaginary parts from round-off: keep the real part (`.real`) before taking the trace."
        )
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise CheckFailed(f"{call} returned {_show(got)}; it should return one number, {what}.")
    return float(got)


def _matches(got: float, candidate: float, rtol: float = 1e-6) -> bool:
    return math.isclose(got, candidate, rel_tol=rtol, abs_tol=1e-9)


# --------------------------------------------------------------------------- Fréchet distance of 1-D Gaussians


def check_frechet_distance_1d(fn: Any) -> None:
    """Lesson 07: ``fn(mu1, sigma1, mu2, sigma2)`` is the Fréchet distance of N(mu1, sigma1^2) and N(mu2, sigma2^2)."""
    name = "frechet_distance_1d"
    _require_function(fn, name)
    book = stored("lesson07", name)
    (mu1, s1, mu2, s2), expected = book.cases[0].args, book.cases[0].expected  # 1, 2, 4, 0.5: 11.25
    call = f"`{name}({mu1}, {s1}, {mu2}, {s2})`"
    got = _one_number(_call(fn, (mu1, s1, mu2, s2), name, book.params), call, "the distance")
    hints = [
        (abs(mu1 - mu2) + (s1 - s2) ** 2, "the mean term is the *squared* difference (mu1 - mu2)^2, not |mu1 - mu2|."),
        ((mu1 - mu2) ** 2, "that is only the mean term: two Gaussians with equal means but different widths are "
         "different too. Add the covariance term sigma1^2 + sigma2^2 - 2 sqrt(sigma1^2 sigma2^2)."),
        ((mu1 - mu2) ** 2 + s1**2 + s2**2, "the covariance term is Tr(S1 + S2 - 2 (S1 S2)^(1/2)): you left out "
         "the  - 2 sigma1 sigma2  part, so identical Gaussians would not be at distance 0."),
        ((mu1 - mu2) ** 2 + s1 + s2 - 2 * math.sqrt(s1 * s2), "sigma1 and sigma2 are standard deviations: the "
         "covariances in the formula are their squares, sigma1^2 and sigma2^2."),
        (math.sqrt(expected), "FID is the *squared* Fréchet distance, without a final square root."),
        ((mu1 - mu2) ** 2 + (s1**2 - s2**2) ** 2, "the covariance term is (sigma1 - sigma2)^2: the square root "
         "of the product of the *variances* is sigma1 sigma2."),
    ]
    if not _matches(got, expected):
        hint = next((text for value, text in hints if _matches(got, value)), None)
        raise CheckFailed(
            f"{call} returned {got!r}; the Fréchet distance is {expected!r}." + (f" Hint: {hint}" if hint else "")
        )
    count = _run_stored(fn, "lesson07", name, name=name, rtol=1e-6, atol=1e-9, check_dtype=False)
    _passed(name, count)


# --------------------------------------------------------------------------- FID from two feature arrays


def check_fid(fn: Any) -> None:
    """Lesson 07: ``fn(features1, features2)`` fits a Gaussian to each (N, d) array and returns their FID."""
    name = "fid"
    _require_function(fn, name)
    book = stored("lesson07", name)
    (f1, f2), expected = book.cases[0].args, book.cases[0].expected
    call = f"`{name}(features1, features2)` on arrays of shapes {f1.shape} and {f2.shape}"
    try:
        got = _call(fn, (f1, f2), name, book.params)
    except CheckFailed as failure:
        if "matmul" in str(failure) or "shape" in str(failure):
            raise CheckFailed(
                f"{failure}\n  Hint: rows are samples and columns are features, so the covariance is "
                "np.cov(features, rowvar=False), a (d, d) matrix; without rowvar=False NumPy treats each row as "
                "a variable and gives an (N, N) matrix."
            ) from None
        raise
    got = _one_number(got, call, "the FID")
    if not _matches(got, expected):
        mu1, mu2 = f1.mean(0), f2.mean(0)
        s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
        b1, b2 = np.cov(f1, rowvar=False, bias=True), np.cov(f2, rowvar=False, bias=True)
        mean_term = float(np.sum((mu1 - mu2) ** 2))
        root = _matrix_root_trace(s1, s2)
        hints = [
            (mean_term, "that is only the distance between the means; add the covariance term "
             "Tr(S1 + S2 - 2 (S1 S2)^(1/2))."),
            (expected - mean_term, "the mean term ||mu1 - mu2||^2 is missing."),
            (mean_term + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.sqrt(np.abs(s1 @ s2))),
             "np.sqrt takes the square root of each entry; the formula needs the *matrix* square root, "
             "scipy.linalg.sqrtm(S1 @ S2)."),
            (mean_term + np.trace(b1) + np.trace(b2) - 2 * _matrix_root_trace(b1, b2),
             "np.cov divides by N - 1 (np.cov(features, rowvar=False)); dividing by N gives a slightly smaller "
             "covariance."),
            (mean_term + np.trace(s1) + np.trace(s2) - root, "the cross term is  - 2 Tr((S1 S2)^(1/2)): the 2 is "
             "missing."),
            (math.sqrt(max(expected, 0.0)), "FID is the squared Fréchet distance: do not take a final square root."),
        ]
        hint = next((text for value, text in hints if _matches(got, value, rtol=1e-5)), None)
        if hint is None and np.isclose(got, expected, rtol=0.05):
            hint = "close but not equal: use np.cov(features, rowvar=False) (rows are samples) and the trace of "
            hint += "scipy.linalg.sqrtm(S1 @ S2).real."
        raise CheckFailed(
            f"{call} returned {got!r}; the FID is {expected!r}." + (f" Hint: {hint}" if hint else "")
        )
    a, _ = book.cases[1].args
    same = _one_number(_call(fn, (a, a.copy()), name, book.params), f"`{name}(x, x)`", "the FID")
    if abs(same) > 1e-6:
        raise CheckFailed(f"`{name}(x, x)` returned {same!r}: the FID of a set with itself must be 0.")
    count = 2 + _run_stored(fn, "lesson07", name, name=name, rtol=1e-5, atol=1e-6, check_dtype=False)
    _passed(name, count)


def _matrix_root_trace(s1: np.ndarray, s2: np.ndarray) -> float:
    import scipy.linalg

    return float(np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)


# --------------------------------------------------------------------------- KL of a class histogram to uniform


def check_kl_to_uniform(fn: Any) -> None:
    """Lesson 07: ``fn(counts)`` is KL(p || uniform) in nats for a class histogram ``counts``, with 0 log 0 = 0."""
    name = "kl_to_uniform"
    _require_function(fn, name)
    book = stored("lesson07", name)
    (counts,), expected = book.cases[0].args, book.cases[0].expected  # 5 empty classes: 0 log 0 must count as 0
    call = "`kl_to_uniform(counts)` for counts " + np.array2string(counts, separator=", ")
    got = _call(fn, (counts,), name, book.params)
    got_value = _to_numpy(got)
    if isinstance(got_value, np.ndarray) and got_value.size > 1:
        raise CheckFailed(
            f"{call} returned an array {_show(got_value)}; KL is one number: sum the terms p_k log(p_k K)."
        )
    got = _one_number(got, call, "the KL divergence in nats")
    if math.isnan(got):
        raise CheckFailed(
            f"{call} returned nan. Empty classes give 0 * log(0) = 0 * (-inf) = nan in NumPy; by convention "
            "0 log 0 = 0, so leave the empty classes out of the sum (e.g. p = p[p > 0])."
        )
    if math.isinf(got):
        raise CheckFailed(
            f"{call} returned {got}. It looks like KL(uniform || p), which is infinite when a class is empty. "
            "The lesson measures KL(p || uniform) = sum_k p_k log(p_k / (1/K))."
        )
    p = counts / counts.sum()
    nz = p > 0
    hints = [
        (expected / math.log(2), "that is in bits (log2); the lesson uses the natural logarithm, nats (np.log)."),
        (float(np.sum(p[nz] * np.log(p[nz]))), "that is minus the entropy: divide by the uniform probability "
         "1/K inside the log, log(p_k / (1/K)) = log(p_k K)."),
        (float(np.sum(counts[nz] * np.log(counts[nz] * len(counts)))), "normalise the counts into probabilities "
         "first: p = counts / counts.sum()."),
        (float(np.sum(counts[nz] / counts.sum() * np.log(counts[nz] * len(counts)))),
         "inside the log use the probability p_k, not the count."),
        (float(np.sum(p[nz] * np.log(p[nz] * nz.sum()))), "K is the number of classes (len(counts) = 10), "
         "including the empty ones: the uniform distribution puts 1/10 on each."),
    ]
    if not _matches(got, expected):
        hint = next((text for value, text in hints if _matches(got, value)), None)
        raise CheckFailed(f"{call} returned {got!r}; expected {expected!r}." + (f" Hint: {hint}" if hint else ""))
    count = 1 + _run_stored(fn, "lesson07", name, name=name, rtol=1e-6, atol=1e-9, check_dtype=False)
    _passed(name, count)
