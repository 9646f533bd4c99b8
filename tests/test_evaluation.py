"""course_utils.evaluation: FID, KID, precision/recall, mode coverage and neighbours against closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import evaluation as ev


def reference_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID computed another way: Tr (S1^1/2 S2 S1^1/2)^1/2 from the eigenvalues of a symmetric matrix."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.atleast_2d(np.cov(f1, rowvar=False)), np.atleast_2d(np.cov(f2, rowvar=False))
    values, vectors = np.linalg.eigh(s1)
    root1 = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T  # S1^1/2 without sqrtm
    eigenvalues = np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(eigenvalues)))


def random_covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# --------------------------------------------------------------------------- Fréchet distance and FID


def test_identical_sets_have_fid_zero() -> None:
    f = np.random.default_rng(0).normal(size=(300, 8))
    assert ev.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-8)


def test_equal_covariances_give_squared_mean_distance() -> None:
    rng = np.random.default_rng(1)
    sigma = random_covariance(rng, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    assert ev.frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-8)


def test_shifted_features_give_squared_shift() -> None:
    f = np.random.default_rng(2).normal(size=(500, 5))
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    assert ev.fid_from_features(f, f + shift) == pytest.approx(float(shift @ shift), rel=1e-8)


def test_diagonal_covariances_closed_form() -> None:
    rng = np.random.default_rng(3)
    v1, v2 = rng.uniform(0.1, 4, size=7), rng.uniform(0.1, 4, size=7)
    mu1, mu2 = rng.normal(size=7), rng.normal(size=7)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert ev.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-9)


def test_one_dimensional_gaussians() -> None:
    # N(m1, s1^2) and N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    got = ev.frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]])
    assert got == pytest.approx(9.0 + 1.0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 12))
def test_fid_matches_an_independent_computation(seed: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    f1 = rng.normal(size=(60, d)) @ rng.normal(size=(d, d))
    f2 = rng.normal(size=(50, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
    expected = reference_fid(f1, f2)
    assert ev.fid_from_features(f1, f2) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_fid_is_symmetric_and_grows_with_the_shift() -> None:
    rng = np.random.default_rng(4)
    f1, f2 = rng.normal(size=(400, 4)), rng.normal(size=(400, 4))
    assert ev.fid_from_features(f1, f2) == pytest.approx(ev.fid_from_features(f2, f1), rel=1e-6)
    values = [ev.fid_from_features(f1, f2 + s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values)


def test_singular_covariance_adds_eps_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda a: calls.append(a) or real_sqrtm(a))
    sigma = np.diag([1.0, 0.0])  # the second feature never changes
    with pytest.warns(RuntimeWarning, match="adding 1e-06 x I"):
        value = ev.frechet_distance([0, 0], sigma, [0, 0], sigma)
    np.testing.assert_allclose(calls[-1], (sigma + 1e-6 * np.eye(2)) @ (sigma + 1e-6 * np.eye(2)))
    assert value == pytest.approx(0.0, abs=1e-9)
    # the closed form of diagonal covariances still holds, up to the tiny eps
    expected = 1 + 4 - 2 * 2.0
    with pytest.warns(RuntimeWarning, match="singular"):
        value = ev.frechet_distance([0, 0], sigma, [0, 0], np.diag([4.0, 0.0]))
    assert value == pytest.approx(expected, abs=1e-5)


def test_non_finite_square_root_is_retried_with_eps(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def flaky_sqrtm(a: np.ndarray) -> np.ndarray:
        calls.append(a)
        return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

    monkeypatch.setattr(scipy.linalg, "sqrtm", flaky_sqrtm)
    sigma = np.diag([1.0, 2.0])
    with pytest.warns(RuntimeWarning, match="singular"):
        value = ev.frechet_distance([0, 0], sigma, [1, 0], sigma)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (sigma + 1e-6 * np.eye(2)) @ (sigma + 1e-6 * np.eye(2)))
    assert value == pytest.approx(1.0, abs=1e-5)


def test_well_conditioned_covariances_do_not_warn() -> None:
    rng = np.random.default_rng(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev.fid_from_features(rng.normal(size=(100, 5)), rng.normal(size=(100, 5)))


def test_fewer_samples_than_features_still_gives_a_finite_number() -> None:
    rng = np.random.default_rng(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = ev.fid_from_features(rng.normal(size=(20, 40)), rng.normal(size=(20, 40)))
    assert math.isfinite(value) and value > 0


def test_fid_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="same number of features per row; got 3 and 4"):
        ev.fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2 feature vectors.*features2 has 1"):
        ev.fid_from_features(np.ones((5, 3)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="flatten each image first"):
        ev.fid_from_features(np.zeros((5, 4, 4)), np.zeros((5, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        ev.fid_from_features(np.array([[np.nan, 0], [1, 2], [3, 4]]), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        ev.frechet_distance([0, 0], np.eye(3), [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="sigma1 is not a covariance matrix"):
        ev.frechet_distance([0, 0], -np.eye(2), [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="sigma2 is not a covariance matrix"):
        ev.frechet_distance([0, 0], np.eye(2), [0, 0], np.array([[1.0, 2.0], [0.0, 1.0]]))


# --------------------------------------------------------------------------- KID


def reference_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 written as explicit double loops over pairs."""
    d, m = x.shape[1], len(x)

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (a @ b / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_the_double_loop_on_one_full_subset() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 3)) + 0.3
    mean, std = ev.kid_from_features(x, y, subsets=3, subset_size=12)  # every subset is the whole set
    assert mean == pytest.approx(reference_mmd2(x, y), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_is_unbiased_for_the_same_distribution_and_positive_for_a_shift() -> None:
    rng = np.random.default_rng(7)
    same = [ev.kid_from_features(rng.normal(size=(100, 4)), rng.normal(size=(100, 4)), subsets=5)[0]
            for _ in range(40)]
    # a biased (V-statistic) estimate would be positive every time; the unbiased one averages to about 0
    assert min(same) < 0 < max(same)
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same)) + 1e-4
    shifted, _ = ev.kid_from_features(rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 1.0, subsets=5)
    assert shifted > 10 * max(abs(np.mean(same)), np.std(same))


def test_kid_is_reproducible_and_checks_its_arguments() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(60, 3))
    assert ev.kid_from_features(x, y, subset_size=20, seed=1) == ev.kid_from_features(x, y, subset_size=20, seed=1)
    with pytest.raises(ValueError, match="at least 2 feature vectors in each set; got 50 and 1"):
        ev.kid_from_features(x, y[:1])
    with pytest.raises(ValueError, match="same number of features"):
        ev.kid_from_features(x, np.zeros((5, 2)))


# --------------------------------------------------------------------------- precision and recall


def test_identical_sets_have_full_precision_and_recall() -> None:
    f = np.random.default_rng(9).normal(size=(200, 5))
    assert ev.precision_recall(f, f.copy(), k=3) == (1.0, 1.0)


def test_far_apart_sets_have_zero_precision_and_recall() -> None:
    rng = np.random.default_rng(10)
    real, fake = rng.normal(size=(150, 5)), rng.normal(size=(150, 5)) + 100.0
    assert ev.precision_recall(real, fake) == (0.0, 0.0)


def test_covering_half_of_the_real_data_keeps_precision_and_halves_recall() -> None:
    rng = np.random.default_rng(11)
    centres = np.array([[-20.0, 0.0], [20.0, 0.0]])
    real = np.concatenate([rng.normal(size=(300, 2)) + c for c in centres])
    fake = rng.normal(size=(300, 2)) + centres[0]  # mode collapse onto the left cluster
    precision, recall = ev.precision_recall(real, fake, k=3)
    assert precision > 0.9
    assert 0.4 < recall < 0.55


def test_precision_recall_against_brute_force() -> None:
    rng = np.random.default_rng(12)
    real, fake = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) * 1.5 + 0.5
    k = 2

    def radii(a: np.ndarray) -> np.ndarray:
        d = np.linalg.norm(a[:, None] - a[None], axis=-1)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    def inside(points: np.ndarray, centres: np.ndarray) -> float:
        d = np.linalg.norm(points[:, None] - centres[None], axis=-1)
        return float(np.mean((d <= radii(centres)[None]).any(axis=1)))

    assert ev.precision_recall(real, fake, k=k) == pytest.approx((inside(fake, real), inside(real, fake)))


def test_precision_recall_needs_more_rows_than_k() -> None:
    with pytest.raises(ValueError, match="at least 4 rows"):
        ev.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# --------------------------------------------------------------------------- mode coverage


def test_mode_coverage_of_known_histograms() -> None:
    balanced = ev.mode_coverage(np.repeat(np.arange(10), 7))
    assert balanced.kl_to_uniform == pytest.approx(0.0, abs=1e-12)
    assert balanced.modes_covered == 10
    np.testing.assert_array_equal(balanced.counts, np.full(10, 7))

    collapsed = ev.mode_coverage(np.full(50, 3))
    assert collapsed.kl_to_uniform == pytest.approx(math.log(10))
    assert collapsed.modes_covered == 1

    half = ev.mode_coverage(np.repeat(np.arange(5), 4))  # 5 of 10 classes, evenly
    assert half.kl_to_uniform == pytest.approx(math.log(2))
    assert half.modes_covered == 5
    np.testing.assert_allclose(half.fractions.sum(), 1.0)


def test_mode_coverage_threshold_and_errors() -> None:
    labels = np.array([0] * 90 + [1] * 9 + [2])  # fair share 10: class 1 has 0.9 of it, class 2 only 0.1
    assert ev.mode_coverage(labels, threshold=0.5).modes_covered == 2
    assert ev.mode_coverage(labels, threshold=0.1).modes_covered == 3
    with pytest.raises(ValueError, match="classes 0 to 9; got values in"):
        ev.mode_coverage(np.array([0, 10]))
    with pytest.raises(ValueError, match="whole-number classes"):
        ev.mode_coverage(np.array([0.5, 1.0]))


# --------------------------------------------------------------------------- nearest neighbours and interpolation


def test_nearest_neighbours_find_planted_copies() -> None:
    rng = np.random.default_rng(13)
    real = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    planted = np.array([5, 77, 200])
    fake = np.concatenate([real[planted], rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)])
    indices, distances = ev.nearest_neighbours(fake, real, k=2)
    np.testing.assert_array_equal(indices[:3, 0], planted)
    np.testing.assert_allclose(distances[:3, 0], 0.0, atol=1e-6)
    assert np.all(distances[3:, 0] > 1000) and np.all(distances[:, 1] >= distances[:, 0])


def test_nearest_neighbours_match_brute_force_in_feature_space() -> None:
    rng = np.random.default_rng(14)
    real, fake = rng.normal(size=(80, 6)), rng.normal(size=(10, 6))
    d = np.linalg.norm(fake[:, None] - real[None], axis=-1)
    indices, distances = ev.nearest_neighbours(fake, real, k=3)
    np.testing.assert_array_equal(indices, np.argsort(d, axis=1)[:, :3])
    np.testing.assert_allclose(distances, np.sort(d, axis=1)[:, :3], rtol=1e-9)
    with pytest.raises(ValueError, match="same space; got 6 and 5"):
        ev.nearest_neighbours(fake, real[:, :5])


def test_interpolation_ends_at_both_seeds_and_keeps_the_norm() -> None:
    rng = np.random.default_rng(15)
    z0, z1 = rng.normal(size=64), rng.normal(size=64)
    path = ev.interpolate_latents(z0, z1, 9)
    np.testing.assert_allclose(path[0], z0, rtol=1e-5)
    np.testing.assert_allclose(path[-1], z1, rtol=1e-5)
    line = ev.interpolate_latents(z0, z1, 9, spherical=False)
    np.testing.assert_allclose(line[4], (z0 + z1) / 2, rtol=1e-5)
    assert np.linalg.norm(path[4]) > np.linalg.norm(line[4])  # the line's midpoint is too short
    with pytest.raises(ValueError, match="same length"):
        ev.interpolate_latents(z0, z1[:3], 5)


def test_line_midpoints_are_about_one_over_root_two_as_long_as_noise_and_slerp_ones_are_not() -> None:
    # What lesson 07 says of latent walks: ||(z0 + z1) / 2|| is near sqrt(d / 2), typical noise near sqrt(d).
    rng = np.random.default_rng(3)
    d = 64
    a, b = rng.normal(size=(400, d)), rng.normal(size=(400, d))
    noise = np.median(np.linalg.norm(a, axis=1))
    line = np.median([np.linalg.norm(ev.interpolate_latents(x, y, 3, spherical=False)[1]) for x, y in zip(a, b)])
    arc = np.median([np.linalg.norm(ev.interpolate_latents(x, y, 3)[1]) for x, y in zip(a, b)])
    assert line / noise == pytest.approx(1 / np.sqrt(2), abs=0.03)
    assert arc / noise == pytest.approx(1.0, abs=0.03)


# --------------------------------------------------------------------------- feature extractors


def test_try_inception_skips_when_offline(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    model, message = ev.try_inception()
    assert model is None
    assert "COURSE_OFFLINE" in message and "Colab has internet" in message


def test_try_inception_fails_fast_without_network(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(ev, "_reachable", lambda url, timeout: "no internet connection (test)")
    model, message = ev.try_inception(timeout=0.1)
    assert model is None and "no internet connection (test)" in message and "90 MB" in message


def test_digits_features_use_the_classifier_features_layer() -> None:
    from course_utils import classifier

    model = classifier.build_classifier(width=4, num_classes=10)
    images = np.random.default_rng(16).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    got = ev.digits_features(images, model)
    expected = classifier.feature_extractor(model).predict(images[..., None] / 127.5 - 1, verbose=0)
    assert got.shape == (5, 128)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    extractor = classifier.feature_extractor(model)
    np.testing.assert_allclose(ev.digits_features(images, extractor), got, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="layer named 'features'"):
        ev.digits_features(images, object())


def test_a_large_imaginary_part_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda a: np.eye(len(a)) * (1 + 0.5j))
    with pytest.raises(ValueError, match="imaginary part of size 0.5"):
        ev.frechet_distance([0, 0], np.eye(2), [0, 0], np.eye(2))
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda a: np.eye(len(a)) * (1 + 1e-9j))
    assert ev.frechet_distance([0, 0], np.eye(2), [0, 0], np.eye(2)) == pytest.approx(0.0, abs=1e-12)
