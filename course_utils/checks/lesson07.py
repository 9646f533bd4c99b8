"""Checks for lesson 07's exercises (Evaluating generative models).

frechet_distance_1d, fid and kl_to_uniform compare with stored results (checks/data/lesson07.json, computed with
SciPy's matrix square root and relative entropy); fid also with the course's ``evaluation.fid_from_features`` on
random and nearly singular features; mmd2_unbiased with ``evaluation.kid_from_features`` on one subset; the
sample-size experiment recomputes a few of the learner's scores with ``evaluation``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_utils.checks.core import (
    _NOT_WRITTEN,
    CheckFailed,
    _call,
    _passed,
    _require_written,
    _run_stored,
    _show,
    _to_numpy,
)
from course_utils.checks.stored import stored

__all__ = [
    "check_fid",
    "check_frechet_distance_1d",
    "check_kl_to_uniform",
    "check_mmd2_unbiased",
    "check_sample_size_experiment",
]


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
            (mean_term + np.trace(s1) + np.trace(s2) - 2 * np.trace(_root(s1) @ _root(s2)), _PRODUCT_OF_ROOTS),
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
    count += _fid_against_the_course(fn, name)
    _passed(name, count)


def _fid_cases() -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Random feature sets: full rank, then nearly singular (features close to a lower-dimensional subspace)."""
    rng = np.random.default_rng(70)
    cases = []
    d = 6
    a = rng.normal(size=(40, d)) @ rng.normal(size=(d, d))
    b = rng.normal(size=(25, d)) @ rng.normal(size=(d, d)) + 0.5
    cases.append((a, b, f"random features, {len(a)} and {len(b)} rows of {d}"))
    for n1, n2, d, rank, noise in [(30, 30, 8, 5, 1e-3), (20, 24, 10, 4, 1e-4)]:
        mixing = rng.normal(size=(rank, d))
        a = rng.normal(size=(n1, rank)) @ mixing + noise * rng.normal(size=(n1, d))
        b = (1.3 * rng.normal(size=(n2, rank)) + 0.2) @ mixing + noise * rng.normal(size=(n2, d))
        cases.append((a, b, f"nearly singular covariances ({d} features that vary in about {rank} directions)"))
    return cases


def _fid_against_the_course(fn: Any, name: str) -> int:
    """Compare ``fn`` with the course's ``evaluation.fid_from_features`` on random and nearly singular features."""
    from course_utils import evaluation

    cases = _fid_cases()
    for f1, f2, label in cases:
        call = f"`{name}(features1, features2)` on {label}"
        got = _to_numpy(_call(fn, (f1, f2), name, ("features1", "features2")))
        if isinstance(got, (float, np.floating)) and math.isnan(got):
            raise CheckFailed(
                f"{call} returned nan. With nearly singular covariances, eigenvalues that should be 0 come out "
                "slightly negative by round-off, and their square root is nan. Take the matrix square root with "
                "scipy.linalg.sqrtm(S1 @ S2) and keep its real part (.real)."
            )
        got = _one_number(got, call, "the FID")
        expected = evaluation.fid_from_features(f1, f2)
        if not _matches(got, expected, rtol=1e-5):
            s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
            product_of_roots = float(np.sum((f1.mean(0) - f2.mean(0)) ** 2) + np.trace(s1 + s2)) - 2 * float(
                np.trace(_root(s1) @ _root(s2))
            )
            hint = (
                f" Hint: {_PRODUCT_OF_ROOTS}"
                if _matches(got, product_of_roots, rtol=1e-5)
                else " Fit each set's mean and covariance (np.cov(..., rowvar=False)), then take the matrix square "
                "root of the product, scipy.linalg.sqrtm(S1 @ S2).real."
            )
            raise CheckFailed(f"{call} returned {got!r}; the course's evaluation.fid_from_features gives {expected!r}."
                              + hint)
    return len(cases)


_PRODUCT_OF_ROOTS = (
    "(S1 S2)^(1/2) is not S1^(1/2) S2^(1/2) (the two are equal only when S1 and S2 commute): take the square root "
    "of the product, scipy.linalg.sqrtm(S1 @ S2)."
)


def _root(s: np.ndarray) -> np.ndarray:
    import scipy.linalg

    return scipy.linalg.sqrtm(s).real


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


# --------------------------------------------------------------------------- KID: the unbiased MMD^2 of one subset


def _mmd_cases() -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Pairs of (m, d) feature sets: different distributions, then the same one (where the estimate is near 0)."""
    rng = np.random.default_rng(71)
    return [
        (rng.normal(size=(12, 4)), 0.5 * rng.normal(size=(12, 4)) + 0.3, "12 rows of 4 features each"),
        (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) * 2.0, "5 rows of 3 features each"),
        (rng.normal(size=(40, 16)), rng.normal(size=(40, 16)), "two samples of one distribution, 40 rows of 16"),
    ]


def _mmd_mistakes(x: np.ndarray, y: np.ndarray, expected: float) -> list[tuple[float, str]]:
    """What typical wrong estimators give on x and y, each with the hint that explains it.

    Built from the course's KID and its kernel, k(a, b) = (a . b / d + 1)^3, by correcting its sums.
    """
    from course_utils import evaluation

    def kid(a: np.ndarray, b: np.ndarray) -> float:
        return evaluation.kid_from_features(a, b, subsets=1, subset_size=len(a))[0]

    m, d = x.shape
    kernel = evaluation._polynomial_kernel
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    diagonal = float(np.trace(k_xx) + np.trace(k_yy))
    off = float(k_xx.sum() + k_yy.sum()) - diagonal  # the pairs i != j of both sets
    cross = float(k_xy.mean())
    return [
        (expected + diagonal / m**2 - off / (m * (m - 1)) + off / m**2, "that is the *biased* estimate: it keeps "
         "the diagonal k(x_i, x_i), which compares a sample with itself, so it stays above 0 even for two samples "
         "of one distribution. Leave out i = j in the two within-set sums."),
        (expected - off / (m * (m - 1)) + off / m**2, "you left out the diagonal, so m(m - 1) pairs remain: divide "
         "the within-set sums by m(m - 1), not by m^2."),
        (expected + 2 * cross - 2 * (k_xy.sum() - np.trace(k_xy)) / (m * (m - 1)), "the cross term compares two "
         "independent sets: average k(x_i, y_j) over all m^2 pairs, i = j included."),
        (expected + cross, "the cross term counts twice: ... - 2 mean k(x_i, y_j)."),
        (kid(x * math.sqrt(d), y * math.sqrt(d)), "divide the dot product by the number of features d: "
         "k(a, b) = (a . b / d + 1)^3."),
        (math.sqrt(abs(expected)), "KID is the *squared* MMD: do not take a square root."),
        (-expected, "the sign is flipped: within-set similarities minus twice the cross similarity."),
    ]


def check_mmd2_unbiased(fn: Any) -> None:
    """Lesson 07: ``fn(x, y)`` is KID's unbiased MMD^2 with kernel (a . b / d + 1)^3 on two (m, d) feature sets.

    Compared with the course's ``evaluation.kid_from_features`` on one subset holding every row (the estimate does
    not depend on the order of the rows).
    """
    from course_utils import evaluation

    name = "mmd2_unbiased"
    _require_function(fn, name)
    cases = _mmd_cases()
    for number, (x, y, label) in enumerate(cases, start=1):
        call = f"`{name}(x, y)` on {label}"
        got = _to_numpy(_call(fn, (x, y), name, ("x", "y")))
        if isinstance(got, np.ndarray) and got.size > 1:
            raise CheckFailed(f"{call} returned an array {_show(got)}; MMD^2 is one number: sum the kernel terms.")
        got = _one_number(got, call, "the squared MMD")
        expected = evaluation.kid_from_features(x, y, subsets=1, subset_size=len(x))[0]
        # The estimate is a difference of averages of kernel values up to `scale`: in float32 (features from a
        # network) each average is off by a few 1e-7 of scale, so 1e-5 of scale leaves a wide margin.
        kernel = evaluation._polynomial_kernel
        scale = max(float(np.abs(kernel(a, b)).max()) for a, b in ((x, x), (y, y), (x, y)))
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-5 * scale):
            hint = next(
                (text for value, text in _mmd_mistakes(x, y, expected)
                 if math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-5 * scale)),
                None,
            )
            raise CheckFailed(
                f"{call} (case {number} of {len(cases)}) returned {got!r}; the course's KID on these rows gives "
                f"{expected!r}." + (f" Hint: {hint}" if hint else " Check the kernel (a . b / d + 1)^3 and the "
                "three averages: within x and within y over i != j, across over all pairs.")
            )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- experiment: the bias of FID and KID


_SCORES = ("fid", "kid")


def _biased_scores(measurements: dict[str, np.ndarray]) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """The scores whose mean falls from the smallest to the largest N by more than 3 standard errors, and why."""
    found, evidence = [], {}
    for score in _SCORES:
        small, large = measurements[score][0], measurements[score][-1]
        gap = float(small.mean() - large.mean())
        error = math.hypot(small.std(ddof=1) / math.sqrt(len(small)), large.std(ddof=1) / math.sqrt(len(large)))
        evidence[score] = (gap, error)
        if gap > 3 * error:
            found.append(score)
    return found, evidence


def check_sample_size_experiment(measurements: Any, biased: Any, *, draw: Any, sizes: Any) -> None:
    """Lesson 07: real-vs-real FID and KID at growing N, repeated, and which score is biased at small N.

    ``measurements[score][i, r]`` is the score of ``draw(sizes[i], 2 r)`` against ``draw(sizes[i], 2 r + 1)``;
    a few are recomputed with the course's ``evaluation`` functions. ``biased`` must list the scores whose mean at
    the smallest N exceeds the mean at the largest N by more than 3 standard errors of the difference, computed
    from these measurements.
    """
    from course_utils import evaluation

    name = "measurements"
    _require_written(measurements, name)
    sizes = [int(n) for n in sizes]
    if not isinstance(measurements, dict) or set(measurements) != set(_SCORES):
        raise CheckFailed(f"`{name}` should be a dict with the keys {list(_SCORES)}; got {_show(measurements)}.")
    arrays = {}
    for score in _SCORES:
        value = _to_numpy(measurements[score])
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is None or array.ndim != 2 or array.shape[0] != len(sizes) or array.shape[1] < 2:
            raise CheckFailed(
                f"`{name}[{score!r}]` should be an array with one row per size ({len(sizes)} rows for {sizes}) and one "
                f"column per repeat (at least 2); got {_show(value)}."
            )
        if not np.all(np.isfinite(array)):
            raise CheckFailed(f"`{name}[{score!r}]` holds NaN or inf values.")
        arrays[score] = array
    if arrays["fid"].shape != arrays["kid"].shape:
        raise CheckFailed(f"`{name}['fid']` and `{name}['kid']` should have the same shape (sizes x repeats).")
    repeats = arrays["fid"].shape[1]
    if np.any(arrays["fid"] < -1e-9):
        raise CheckFailed(f"`{name}['fid']` holds negative values; a Fréchet distance is never negative.")
    for row, column in [(0, 0), (len(sizes) - 1, repeats - 1)]:
        n = sizes[row]
        a, b = draw(n, 2 * column), draw(n, 2 * column + 1)
        expected = {
            "fid": evaluation.fid_from_features(a, b),
            "kid": evaluation.kid_from_features(a, b, subsets=1, subset_size=n)[0],
        }
        for score, value in expected.items():
            got = arrays[score][row, column]
            scale = 1e-9 * max(1.0, float(np.abs(arrays[score]).max()))
            if not math.isclose(got, value, rel_tol=1e-5, abs_tol=scale):
                raise CheckFailed(
                    f"`{name}[{score!r}][{row}, {column}]` is {got!r}, but the {score.upper()} of draw({n}, "
                    f"{2 * column}) against draw({n}, {2 * column + 1}) is {value!r}. Row i is sizes[i] = {n}; "
                    f"column r compares draw(n, 2 r) with draw(n, 2 r + 1), using your `fid` and `mmd2_unbiased`."
                )
    supported, evidence = _biased_scores(arrays)
    name = "biased"
    _require_written(biased, name)
    if isinstance(biased, str) or not isinstance(biased, (list, tuple, set)) or not set(biased) <= set(_SCORES):
        raise CheckFailed(f"`{name}` should be a list of the scores among {list(_SCORES)}; got {_show(biased)}.")
    if set(biased) != set(supported):
        because = "; ".join(
            f"{score.upper()} falls by {gap:.4g} ± {error:.2g} (3 standard errors: {3 * error:.3g})"
            for score, (gap, error) in evidence.items()
        )
        raise CheckFailed(
            f"`{name}` is {sorted(biased)}, but your own numbers support {sorted(supported)}: from N = {sizes[0]} to "
            f"N = {sizes[-1]}, {because}."
        )
    named = ", ".join(score.upper() for score in supported) or "no score"
    print(f"✔ measurements and biased pass the checks: by your numbers {named} "
          f"{'are' if len(supported) > 1 else 'is'} biased at small N.")
