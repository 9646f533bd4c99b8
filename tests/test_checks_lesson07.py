"""Lesson 07's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import math
import re

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
    assert capsys.readouterr().out.count("✔ fid passes all 10 checks.") == 2


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


# --------------------------------------------------------------------------- fid against the course's code


def test_fid_cases_are_nearly_singular_but_not_singular() -> None:
    import warnings

    from course_utils.checks.lesson07 import _fid_cases

    cases = _fid_cases()
    smallest = []
    for f1, f2, _ in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the course adds eps * I only to a singular product: never here
            evaluation.fid_from_features(f1, f2)
        smallest.append(min(np.linalg.eigvalsh(np.cov(f, rowvar=False)).min() for f in (f1, f2)))
    assert min(smallest) < 1e-6  # nearly singular: sqrtm comes back complex, eigenvalue shortcuts break
    assert np.iscomplexobj(scipy.linalg.sqrtm(np.cov(cases[-1][0], rowvar=False) @ np.cov(cases[-1][1], rowvar=False)))


def fid_by_symmetric_root(features1, features2):
    """The same distance through the symmetric form Tr((S1^(1/2) S2 S1^(1/2))^(1/2)): accepted too."""
    s1, s2 = np.cov(features1, rowvar=False), np.cov(features2, rowvar=False)
    root = scipy.linalg.sqrtm(s1).real
    cross = np.trace(scipy.linalg.sqrtm(root @ s2 @ root).real)
    return float(np.sum((features1.mean(0) - features2.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def test_fid_accepts_the_symmetric_form(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_fid(fid_by_symmetric_root)
    assert "✔ fid passes all 10 checks." in capsys.readouterr().out


def fid_by_eigenvalues(features1, features2):
    s1, s2 = np.cov(features1, rowvar=False), np.cov(features2, rowvar=False)
    with np.errstate(invalid="ignore"):
        cross = float(np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real)))
    return float(np.sum((features1.mean(0) - features2.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def fid_by_product_of_roots(features1, features2):
    s1, s2 = np.cov(features1, rowvar=False), np.cov(features2, rowvar=False)
    cross = np.trace(scipy.linalg.sqrtm(s1).real @ scipy.linalg.sqrtm(s2).real)
    return float(np.sum((features1.mean(0) - features2.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def fid_keeping_complex(features1, features2):
    s1, s2 = np.cov(features1, rowvar=False), np.cov(features2, rowvar=False)
    return np.sum((features1.mean(0) - features2.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2))


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (fid_by_eigenvalues, "returned nan"),
        (fid_by_product_of_roots, "is not S1^(1/2) S2^(1/2)"),
        (fid_keeping_complex, "keep the real part"),
    ],
)
def test_fid_rejects_shortcuts_that_break_near_singular_covariances(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_fid(fn)


# --------------------------------------------------------------------------- mmd2_unbiased


def mmd2_unbiased(x, y):
    m, d = x.shape
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def test_mmd_accepts_the_estimator_written_with_loops(capsys: pytest.CaptureFixture[str]) -> None:
    def with_loops(x, y):
        m, d = x.shape
        k = lambda a, b: (np.dot(a, b) / d + 1) ** 3  # noqa: E731
        within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        return within - 2 * sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2

    checks.check_mmd2_unbiased(mmd2_unbiased)
    checks.check_mmd2_unbiased(with_loops)
    checks.check_mmd2_unbiased(lambda x, y: np.float32(mmd2_unbiased(x.astype(np.float32), y.astype(np.float32))))
    assert capsys.readouterr().out.count("✔ mmd2_unbiased passes all 3 checks.") == 3


def _mmd_variant(*, keep_diagonal=False, divide_all=False, cross_off=False, two=2.0, scale=None, power=3):
    def estimate(x, y):
        m, d = x.shape
        k = lambda a, b: (a @ b.T / (d if scale is None else scale) + 1) ** power  # noqa: E731
        k_xx, k_yy, k_xy = k(x, x), k(y, y), k(x, y)
        drop = 0.0 if keep_diagonal else 1.0
        pairs = m * m if (keep_diagonal or divide_all) else m * (m - 1)
        within = (k_xx.sum() - drop * np.trace(k_xx) + k_yy.sum() - drop * np.trace(k_yy)) / pairs
        across = (k_xy.sum() - np.trace(k_xy)) / (m * (m - 1)) if cross_off else k_xy.mean()
        return float(within - two * across)

    return estimate


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`mmd2_unbiased` is not written yet"),
        (None, "`mmd2_unbiased` is not written yet"),
        (_mmd_variant(keep_diagonal=True), "that is the *biased* estimate"),
        (_mmd_variant(divide_all=True), "divide the within-set sums by m(m - 1)"),
        (_mmd_variant(cross_off=True), "i = j included"),
        (_mmd_variant(two=1.0), "the cross term counts twice"),
        (_mmd_variant(scale=1.0), "divide the dot product by the number of features d"),
        (lambda x, y: math.sqrt(abs(mmd2_unbiased(x, y))), "do not take a square root"),
        (lambda x, y: -mmd2_unbiased(x, y), "the sign is flipped"),
        (_mmd_variant(power=2), "Check the kernel"),
        (lambda x, y: np.full(3, mmd2_unbiased(x, y)), "MMD^2 is one number"),
    ],
)
def test_mmd_rejects_mistakes_with_hints(fn, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_mmd2_unbiased(fn)


def test_new_checks_are_exported() -> None:
    assert {"check_fid", "check_mmd2_unbiased"} <= set(checks.__all__)


# --------------------------------------------------------------------------- the sample-size experiment


MIXING = np.random.default_rng(5).normal(size=(6, 6)) / math.sqrt(6)  # the notebook's features


def draw(n, seed):
    return np.random.default_rng(seed).normal(size=(n, 6)) @ MIXING


SIZES = [16, 32, 64]


def run(repeats=8, draw=draw, sizes=SIZES):
    table = {"fid": np.zeros((len(sizes), repeats)), "kid": np.zeros((len(sizes), repeats))}
    for i, n in enumerate(sizes):
        for r in range(repeats):
            a, b = draw(n, 2 * r), draw(n, 2 * r + 1)
            table["fid"][i, r] = fid(a, b)
            table["kid"][i, r] = mmd2_unbiased(a, b)
    return table


def rule(table):
    from course_utils.checks.lesson07 import _biased_scores

    return _biased_scores(table)[0]


def test_sample_size_experiment_accepts_what_the_numbers_say(capsys: pytest.CaptureFixture[str]) -> None:
    table = run()
    checks.check_sample_size_experiment(table, rule(table), draw=draw, sizes=SIZES)
    checks.check_sample_size_experiment(table, tuple(reversed(rule(table))), draw=draw, sizes=SIZES)
    assert capsys.readouterr().out.count("✔ measurements and biased pass the checks") == 2
    assert rule(table) == ["fid"]  # FID's floor falls with N far beyond its noise; KID's mean is 0 at every N


def test_the_rule_follows_the_numbers_not_the_metric() -> None:
    table = run()
    flat = {"fid": np.ones_like(table["fid"]) + np.arange(table["fid"].shape[1]) * 0.1, "kid": table["kid"]}
    assert rule(flat) == []
    falling = {"fid": table["fid"], "kid": table["kid"] + np.array([[5.0], [1.0], [0.0]])}
    assert rule(falling) == ["fid", "kid"]


def shifted_draw(n, seed):
    return draw(n, seed + 1)


@pytest.mark.parametrize(
    ("table", "biased", "expected"),
    [
        (None, ["fid"], "`measurements` is not written yet"),
        (run(), None, "`biased` is not written yet"),
        (run(), ["kid"], "your own numbers support ['fid']"),
        (run(), [], "your own numbers support ['fid']"),
        (run(), ["fid", "kid"], "your own numbers support ['fid']"),
        (run(), "fid", "should be a list of the scores"),
        (run(), ["FID"], "should be a list of the scores"),
        ({"fid": run()["fid"]}, ["fid"], "should be a dict with the keys"),
        ({**run(), "kid": run()["kid"][:2]}, ["fid"], "one row per size (3 rows"),
        ({**run(), "kid": run()["kid"][:, :1]}, ["fid"], "at least 2"),
        ({**run(), "kid": run()["kid"].T}, ["fid"], "one row per size"),
        ({**run(), "fid": -run()["fid"]}, ["fid"], "never negative"),
        ({**run(), "kid": run()["kid"] * np.nan}, ["fid"], "NaN or inf"),
        (run(draw=shifted_draw), ["fid"], "but the FID of draw(16, 0) against draw(16, 1)"),
        ({**run(), "kid": run()["kid"] + 1e-3}, ["fid"], "but the KID of draw(16, 0)"),
        ({"fid": run()["kid"], "kid": run()["fid"]}, ["fid"], "never negative"),
    ],
)
def test_sample_size_experiment_rejects_mistakes(table, biased, expected: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        checks.check_sample_size_experiment(table, biased, draw=draw, sizes=SIZES)
