"""Lesson 04's toy GAN helpers, checked against SciPy, TensorFlow and the theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.spatial.distance import jensenshannon

tf = pytest.importorskip("tensorflow")
toygan = pytest.importorskip("course_utils.toygan")

X = np.linspace(-10, 12, 2201)


def test_normal_pdf_matches_scipy():
    np.testing.assert_allclose(toygan.normal_pdf(X, 1.5, 0.7), stats.norm.pdf(X, 1.5, 0.7), rtol=1e-12)
    with pytest.raises(ValueError, match="std must be a positive"):
        toygan.normal_pdf(X, 0.0, 0.0)


def test_mixture_pdf_integrates_to_one_and_sampling_moments_match():
    mix = toygan.Mixture([-4.0, 0.0, 5.0], [0.5, 1.0, 0.3], weights=[1, 2, 1])
    assert integrate.trapezoid(mix.pdf(X), X) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(mix.weights, [0.25, 0.5, 0.25])
    samples = mix.sample(200_000, rng=0)
    assert samples.dtype == np.float32
    assert samples.mean() == pytest.approx(mix.mean, abs=0.03)
    assert samples.var() == pytest.approx(mix.variance, rel=0.01)
    # the variance formula itself, against numerical integration of the density
    ex2 = integrate.trapezoid(X**2 * mix.pdf(X), X)
    assert mix.variance == pytest.approx(ex2 - mix.mean**2, rel=1e-6)


def test_mixture_rejects_bad_arguments():
    with pytest.raises(ValueError, match="stds must be"):
        toygan.Mixture([0.0, 1.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="weights must be 2"):
        toygan.Mixture([0.0, 1.0], 1.0, weights=[1.0])


def test_jsd_on_grid_matches_scipy_and_is_bounded():
    p, q = toygan.normal_pdf(X, 0, 1), toygan.normal_pdf(X, 1.3, 0.6)
    w = toygan.grid_weights(X)
    expected = jensenshannon(p * w, q * w) ** 2
    assert toygan.jsd_on_grid(X, p, q) == pytest.approx(expected, rel=1e-10)
    assert toygan.jsd_on_grid(X, p, p) == pytest.approx(0.0, abs=1e-12)
    far = toygan.normal_pdf(X, 11, 0.2) + 0.0
    assert toygan.jsd_on_grid(X, toygan.normal_pdf(X, -9, 0.2), far) == pytest.approx(math.log(2), abs=1e-9)


def test_grid_weights_integrate_like_the_trapezoid_rule():
    x = np.sort(np.random.default_rng(0).uniform(0, 3, 50))
    f = np.sin(x)
    assert np.sum(toygan.grid_weights(x) * f) == pytest.approx(integrate.trapezoid(f, x), rel=1e-12)


def test_optimal_discriminator_maximises_v_and_gives_minus_log4_plus_2jsd():
    p_data, p_g = toygan.normal_pdf(X, 2, 1), toygan.normal_pdf(X, 0, 1.5)
    d_star = toygan.optimal_discriminator(p_data, p_g)
    v_star = toygan.value_on_grid(d_star, X, p_data, p_g)
    assert v_star == pytest.approx(-math.log(4) + 2 * toygan.jsd_on_grid(X, p_data, p_g), rel=1e-10)
    rng = np.random.default_rng(1)
    for _ in range(20):  # any perturbed discriminator does worse
        logit = np.log(np.clip(d_star, 1e-12, 1)) - np.log(np.clip(1 - d_star, 1e-12, 1))
        other = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.3) + rng.normal(0, 0.3) * X)))
        assert toygan.value_on_grid(other, X, p_data, p_g) < v_star
    # pointwise search over candidate values agrees
    y = np.linspace(0.001, 0.999, 999)
    with np.errstate(divide="ignore"):
        best = y[np.argmax(p_data[:, None] * np.log(y) + p_g[:, None] * np.log(1 - y), axis=1)]
    np.testing.assert_allclose(best, np.clip(d_star, 0.001, 0.999), atol=1e-3)


def test_optimal_discriminator_is_half_where_both_densities_vanish():
    np.testing.assert_array_equal(toygan.optimal_discriminator([0.0, 1.0, 0.0], [0.0, 1.0, 2.0]), [0.5, 0.5, 0.0])


def test_value_at_equal_densities_is_minus_log4():
    p = toygan.normal_pdf(X, 0, 1)
    assert toygan.value_on_grid(np.full_like(X, 0.5), X, p, p) == pytest.approx(-math.log(4), rel=1e-12)


def test_kde_matches_scipy_gaussian_kde_with_the_same_bandwidth():
    samples = np.random.default_rng(2).normal(0, 1, 300)
    h = 0.3
    reference = stats.gaussian_kde(samples, bw_method=h / samples.std(ddof=1))(X)
    np.testing.assert_allclose(toygan.kde_on_grid(samples, X, h), reference, rtol=1e-8, atol=1e-12)


def test_modes_covered_counts_modes():
    mix = toygan.Mixture([-4.0, 0.0, 4.0], 0.4)
    rng = np.random.default_rng(3)
    assert toygan.modes_covered(mix.sample(3000, rng), mix).tolist() == [True, True, True]
    one = rng.normal(4.0, 0.4, 3000)
    assert toygan.modes_covered(one, mix).tolist() == [False, False, True]
    smear = rng.uniform(-20, 20, 3000)  # spread thinly everywhere: not a sample of any mode
    assert toygan.modes_covered(smear, mix).sum() == 0


def test_generator_losses_match_their_formulas():
    logits = tf.constant(np.linspace(-20, 20, 41), tf.float64)
    d = tf.sigmoid(logits).numpy()
    ns = toygan.generator_loss(logits, "non-saturating").numpy()
    sat = toygan.generator_loss(logits, "saturating").numpy()
    assert ns == pytest.approx(np.mean(-np.log(d)), rel=1e-9)
    assert sat == pytest.approx(np.mean(np.log1p(-d)), rel=1e-6)
    real, fake = tf.constant([2.0, -1.0]), tf.constant([0.5, -3.0])
    v = np.mean(np.log(tf.sigmoid(real))) + np.mean(np.log(1 - tf.sigmoid(fake)))
    assert float(toygan.discriminator_loss(real, fake)) == pytest.approx(-v, rel=1e-5)
    with pytest.raises(ValueError, match="kind must be one of"):
        toygan.generator_loss(logits, "wasserstein")


def test_models_have_the_expected_shapes():
    g, d = toygan.build_toy_generator(latent_dim=3, width=8), toygan.build_toy_discriminator(width=8)
    assert g(tf.zeros((5, 3))).shape == (5, 1)
    assert d(tf.zeros((5, 1))).shape == (5, 1)


def test_training_moves_the_generator_towards_the_data():
    data = toygan.Mixture([3.0], 0.5)
    run = toygan.train_toy_gan(data, steps=300, batch_size=64, width=16, n_snapshots=4, n_samples=500,
                               progress=False)
    first, last = run.snapshots[0], run.snapshots[-1]
    assert [s.step for s in run.snapshots] == [0, 100, 200, 300]
    assert abs(last.samples.mean() - 3.0) < 0.5 * abs(first.samples.mean() - 3.0)
    assert last.d_grid.shape == run.grid.shape and np.all((last.d_grid >= 0) & (last.d_grid <= 1))
    assert run.d_losses.shape == (300,) and np.all(np.isfinite(run.g_losses))


def test_scrubber_follows_its_slider_headless():
    data = toygan.Mixture([0.0, 3.0], 0.5)
    run = toygan.train_toy_gan(data, steps=4, batch_size=8, width=4, n_snapshots=3, n_samples=50, progress=False)
    scrubber = toygan.SnapshotScrubber(run)
    before = scrubber.png()
    scrubber.slider.value = 2
    assert scrubber.snapshot is run.snapshots[2]
    assert scrubber.png()[:8] == b"\x89PNG\r\n\x1a\n" and scrubber.png() != before
    data, metadata = scrubber._repr_mimebundle_()  # the PNG, and the size it is shown at
    assert "image/png" in data and metadata["image/png"]["width"] > 0
    with pytest.raises(TypeError, match="run must be a ToyRun"):
        toygan.SnapshotScrubber("not a run")


def test_alternating_step_updates_d_then_g_against_the_updated_d():
    import keras

    def pair():
        return toygan.build_toy_generator(4, 8, seed=2), toygan.build_toy_discriminator(8, seed=2)

    rng = np.random.default_rng(0)
    real = (3 + rng.standard_normal((16, 1))).astype(np.float32)
    d_noise, g_noise = (rng.standard_normal((16, 4)).astype(np.float32) for _ in range(2))
    g, d = pair()
    g0, d0 = pair()  # untouched copies
    d_loss, g_loss = toygan.alternating_step(g, d, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), real,
                                             d_noise, g_noise, loss="saturating")
    # d_loss is D's loss before its update; g_loss is G's loss (before G's update) against the updated D
    np.testing.assert_allclose(float(d_loss), float(toygan.discriminator_loss(d0(real), d0(g0(d_noise)))), rtol=1e-6)
    np.testing.assert_allclose(float(g_loss), float(toygan.generator_loss(d(g0(g_noise)), "saturating")), rtol=1e-5)
    # each network took a step down its own loss
    assert float(toygan.discriminator_loss(d(real), d(g0(d_noise)))) < float(d_loss)
    assert float(toygan.generator_loss(d(g(g_noise)), "saturating")) < float(g_loss)
    with pytest.raises(ValueError, match="loss"):
        toygan.alternating_step(g, d, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), real, d_noise, g_noise,
                                loss="wasserstein")
