"""Latent-space inpainting (lesson 12): recovery of a known z, loss decrease, restarts, blends and errors."""

import keras
import numpy as np
import pytest

from course_utils import gan, latent

SIDE, LATENT = 8, 6


def linear_generator(seed=0):
    """G(z) = A z + b reshaped to (8, 8, 1), with A (64 x 6) of full column rank: its inverse is known."""
    rng = np.random.default_rng(seed)
    a = (0.5 * rng.normal(size=(LATENT, SIDE * SIDE))).astype(np.float32)
    b = (0.1 * rng.normal(size=(SIDE * SIDE,))).astype(np.float32)
    z_in = keras.Input((LATENT,))
    dense = keras.layers.Dense(SIDE * SIDE)
    model = keras.Model(z_in, keras.layers.Reshape((SIDE, SIDE, 1))(dense(z_in)))
    dense.set_weights([a, b])
    return model, a


def top_half_masks(n):
    masks = np.ones((n, SIDE, SIDE, 1), np.float32)
    masks[:, : SIDE // 2] = 0
    return masks


def test_recovers_the_true_latent_of_a_linear_generator():
    generator, a = linear_generator()
    masks = top_half_masks(4)
    known_rows = a.reshape(LATENT, SIDE, SIDE)[:, SIDE // 2 :].reshape(LATENT, -1)
    assert np.linalg.matrix_rank(known_rows) == LATENT  # the known pixels alone determine z
    z_true = np.random.default_rng(1).normal(size=(4, LATENT)).astype(np.float32)
    images = generator(z_true).numpy()
    z, history = latent.invert_generator(generator, images, masks, steps=400, learning_rate=0.05, prior_weight=0.0)
    np.testing.assert_allclose(z, z_true, atol=1e-3)
    assert history["reconstruction"][-1, 0] < 1e-8 < history["reconstruction"][0, 0]
    np.testing.assert_allclose(generator(z).numpy(), images, atol=1e-3)  # the hole is right too


def test_only_the_known_pixels_count():
    generator, _ = linear_generator()
    masks = top_half_masks(2)
    z_true = np.random.default_rng(2).normal(size=(2, LATENT)).astype(np.float32)
    images = generator(z_true).numpy()
    vandalised = images.copy()
    vandalised[masks[..., 0] == 0] = 5.0  # whatever the hole holds must not matter
    z, _ = latent.invert_generator(generator, vandalised, masks, steps=400, prior_weight=0.0)
    np.testing.assert_allclose(z, z_true, atol=1e-3)


def test_masked_loss_and_prior_match_numpy():
    rng = np.random.default_rng(3)
    x, g = rng.random((2, 4, 4, 3)), rng.random((2, 4, 4, 3))
    m = (rng.random((2, 4, 4, 1)) < 0.5).astype(np.float32)
    m[:, 0, 0] = 1
    known = np.broadcast_to(m, x.shape)
    expected = [np.mean(((g - x)[i][known[i] == 1]) ** 2) for i in range(2)]
    np.testing.assert_allclose(latent.masked_reconstruction_loss(g, x, m).numpy(), expected, rtol=1e-5)
    expected_l1 = [np.mean(np.abs(g - x)[i][known[i] == 1]) for i in range(2)]
    np.testing.assert_allclose(latent.masked_reconstruction_loss(g, x, m, norm="l1").numpy(), expected_l1, rtol=1e-5)
    z = rng.normal(size=(3, 5))
    np.testing.assert_allclose(latent.prior_loss(z).numpy(), (z**2).sum(axis=1) / 5, rtol=1e-5)


def test_the_priors_match_their_formulas():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(4, 25))
    norms = np.linalg.norm(z, axis=1)
    np.testing.assert_allclose(latent.prior_loss(z, "gaussian").numpy(), norms**2 / 25, rtol=1e-5)
    np.testing.assert_allclose(latent.prior_loss(z, "shell").numpy(), (norms - 5.0) ** 2, rtol=1e-4, atol=1e-6)
    for prior in ("sphere", "none"):
        np.testing.assert_array_equal(latent.prior_loss(z, prior).numpy(), np.zeros(4))
    projected = latent.project_to_sphere(z).numpy()
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 5.0, rtol=1e-5)
    np.testing.assert_allclose(projected / 5.0, z / norms[:, None], rtol=1e-5)  # the direction is kept
    assert np.all(latent.project_to_sphere(np.zeros((1, 25))).numpy() == 0)  # no NaN from a zero vector


def test_the_shell_prior_is_smallest_where_gaussian_samples_lie():
    z = np.random.default_rng(10).normal(size=(2000, 64))
    shell = latent.prior_loss(z, "shell").numpy()
    assert abs(shell.mean() - 0.5) < 0.05  # ||z|| ~ N(sqrt(d), 1/2): E(||z|| - sqrt(d))^2 is about 1/2
    origin = latent.prior_loss(np.zeros((1, 64)), "shell").numpy()[0]
    assert origin == pytest.approx(64.0)  # the gaussian penalty's best point is the shell's worst
    assert latent.prior_loss(np.zeros((1, 64)), "gaussian").numpy()[0] == 0.0


def test_each_prior_keeps_z_where_it_says():
    generator, _ = linear_generator()
    masks = top_half_masks(3)
    images = generator(np.full((3, LATENT), 2.0, np.float32)).numpy()  # ||z_true|| = 2 sqrt(d): far out
    radius = {}
    for prior in latent.PRIORS:
        weight = 1.0 if prior in ("gaussian", "shell") else None
        z, history = latent.invert_generator(generator, images, masks, steps=300, prior=prior, prior_weight=weight)
        radius[prior] = np.linalg.norm(z, axis=1) / np.sqrt(LATENT)
        assert history["radius"].shape == history["loss"].shape
        if prior == "none":
            np.testing.assert_allclose(z, 2.0, atol=1e-2)  # nothing holds the search back from the true z
        if prior == "sphere":
            np.testing.assert_allclose(history["radius"], 1.0, rtol=1e-5)  # on the sphere from the start
    np.testing.assert_allclose(radius["sphere"], 1.0, rtol=1e-5)
    assert np.all((radius["shell"] > 1.0) & (radius["shell"] < radius["none"]))  # pulled to the shell, not past
    assert np.all(radius["gaussian"] < radius["shell"])  # the gaussian penalty pulls further in, to the origin


def test_prior_arguments_are_explained():
    generator, _ = linear_generator()
    images, masks = np.zeros((2, SIDE, SIDE, 1), np.float32), top_half_masks(2)
    with pytest.raises(ValueError, match=r"prior must be one of 'gaussian', 'shell', 'sphere', 'none'; got 'l2'"):
        latent.invert_generator(generator, images, masks, steps=1, prior="l2")
    with pytest.raises(ValueError, match=r"prior='sphere' adds no penalty term, so prior_weight must be 0"):
        latent.invert_generator(generator, images, masks, steps=1, prior="sphere", prior_weight=0.01)
    with pytest.raises(ValueError, match=r"prior_weight must be a number >= 0; got -1"):
        latent.invert_generator(generator, images, masks, steps=1, prior="shell", prior_weight=-1)
    with pytest.raises(ValueError, match="prior must be one of"):
        latent.latent_inpaint(generator, images + 0.5, masks, steps=1, prior="uniform")
    with pytest.raises(ValueError, match="prior"):
        latent.prior_loss(np.zeros((1, 3)), "Gaussian")
    z, _ = latent.invert_generator(generator, images, masks, steps=1, prior="none", prior_weight=0)
    assert z.shape == (2, LATENT)


def test_prior_pulls_z_towards_zero():
    generator, _ = linear_generator()
    masks = top_half_masks(3)
    images = generator(np.full((3, LATENT), 2.0, np.float32)).numpy()
    free, _ = latent.invert_generator(generator, images, masks, steps=300, prior_weight=0.0)
    pulled, _ = latent.invert_generator(generator, images, masks, steps=300, prior_weight=1.0)
    assert np.linalg.norm(pulled, axis=1).max() < np.linalg.norm(free, axis=1).min()


def test_the_loss_of_a_keras_dcgan_generator_decreases():
    generator = gan.build_generator(latent_dim=8, width=4)
    target = generator(np.random.default_rng(4).normal(size=(3, 8)).astype(np.float32), training=False).numpy()
    masks = np.ones((3, 28, 28, 1), np.float32)
    masks[:, 7:21, 7:21] = 0
    _, history = latent.invert_generator(generator, target, masks, steps=60, learning_rate=0.05)
    assert history["loss"][-1, 0] < 0.5 * history["loss"][0, 0]
    assert history["step"][0] == 0 and history["step"][-1] == 59


def test_restarts_keep_the_best_per_image():
    generator = gan.build_generator(latent_dim=8, width=4)
    target = generator(np.random.default_rng(5).normal(size=(4, 8)).astype(np.float32), training=False).numpy()
    masks = np.ones((4, 28, 28, 1), np.float32)
    masks[:, :14] = 0
    z, history = latent.invert_generator(generator, target, masks, steps=5, restarts=3, prior_weight=0.01)
    final = history["final_loss"]
    assert final.shape == (4, 3)
    np.testing.assert_array_equal(history["best_restart"], final.argmin(axis=1))
    one, _ = latent.invert_generator(generator, target, masks, steps=5, restarts=1)
    generated = generator(z, training=False).numpy()
    kept = latent.masked_reconstruction_loss(generated, target, masks).numpy()
    kept += 0.01 * latent.prior_loss(z).numpy()
    np.testing.assert_allclose(kept, final.min(axis=1), rtol=1e-4)
    assert np.all(final.min(axis=1) <= final[:, 0] + 1e-7)
    assert one.shape == z.shape == (4, 8)


def test_discriminator_term_runs_and_changes_the_result():
    generator = gan.build_generator(latent_dim=8, width=4)
    discriminator = gan.build_discriminator(width=4)
    target = np.zeros((2, 28, 28, 1), np.float32)
    masks = np.ones((2, 28, 28, 1), np.float32)
    masks[:, :14] = 0
    plain, _ = latent.invert_generator(generator, target, masks, steps=5)
    with_d, history = latent.invert_generator(
        generator, target, masks, steps=5, discriminator=discriminator, perceptual_weight=1.0
    )
    assert not np.allclose(plain, with_d)
    assert np.all(history["loss"] > history["reconstruction"])


def test_clear_errors():
    generator, _ = linear_generator()
    images = np.zeros((2, SIDE, SIDE, 1), np.float32)
    masks = top_half_masks(2)
    with pytest.raises(ValueError, match=r"initial_z .*\(2, 6\).*latent size 6"):
        latent.invert_generator(generator, images, masks, steps=1, initial_z=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="generator's output shape"):
        latent.invert_generator(generator, np.zeros((2, 7, 7, 1)), masks, steps=1)
    with pytest.raises(ValueError, match="only 0 \\(hole\\) and 1"):
        latent.invert_generator(generator, images, masks * 255, steps=1)
    with pytest.raises(ValueError, match="1 = KNOWN"):
        inverted = np.zeros_like(masks)
        inverted[:, 0, 0] = 1
        latent.invert_generator(generator, images, inverted, steps=1)
    with pytest.raises(ValueError, match="needs a discriminator"):
        latent.invert_generator(generator, images, masks, steps=1, perceptual_weight=1.0)
    with pytest.raises(TypeError, match="Keras model"):
        latent.invert_generator(lambda z: z, images, masks, steps=1)
    with pytest.raises(ValueError, match="steps"):
        latent.invert_generator(generator, images, masks, steps=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        latent.latent_inpaint(generator, images - 1, masks, steps=1)


def test_composite_keeps_known_pixels_and_poisson_is_seamless():
    rng = np.random.default_rng(6)
    images = rng.random((2, 10, 12, 2)).astype(np.float32)
    masks = np.ones((2, 10, 12, 1), np.float32)
    masks[:, 3:7, 4:9] = 0
    generated = images + 0.3  # right shapes, wrong brightness
    composite = latent.blend(images, masks, generated)
    np.testing.assert_allclose(composite, masks * images + (1 - masks) * generated, atol=1e-6)
    poisson = latent.blend(images, masks, generated, method="poisson")
    np.testing.assert_allclose(poisson, images, atol=1e-5)  # same gradients, borders fixed: the offset is gone
    with pytest.raises(ValueError, match="method"):
        latent.blend(images, masks, generated, method="feather")
    with pytest.raises(ValueError, match="shape"):
        latent.blend(images, masks, generated[:, :5])


def test_latent_inpaint_returns_unit_range_images_with_known_pixels_kept():
    generator = gan.build_generator(latent_dim=8, width=4)
    images = np.random.default_rng(7).random((3, 28, 28, 1)).astype(np.float32)
    masks = np.ones((3, 28, 28, 1), np.float32)
    masks[:, :, :14] = 0
    result = latent.latent_inpaint(generator, images, masks, steps=3, restarts=2)
    assert result.restored.shape == images.shape and result.z.shape == (3, 8)
    assert 0 <= result.restored.min() and result.restored.max() <= 1
    np.testing.assert_array_equal(result.restored[masks[..., 0] == 1], images[masks[..., 0] == 1])


def test_repeated_calls_on_one_generator_agree_whatever_the_batch():
    generator, _ = linear_generator()
    masks = top_half_masks(3)
    images = generator(np.random.default_rng(8).normal(size=(3, LATENT)).astype(np.float32)).numpy()
    first, _ = latent.invert_generator(generator, images, masks, steps=20, restarts=2, prior_weight=0.1)
    again, _ = latent.invert_generator(generator, images, masks, steps=20, restarts=2, prior_weight=0.1)
    alone, _ = latent.invert_generator(generator, images[:1], masks[:1], steps=20, restarts=2, prior_weight=0.1)
    np.testing.assert_array_equal(first, again)
    changed, _ = latent.invert_generator(generator, images, masks, steps=20, restarts=2, prior_weight=0.0)
    assert not np.allclose(first, changed)  # the weights are inputs of the traced step, not frozen into it
    assert alone.shape == (1, LATENT)


def test_gradient_step_follows_the_closed_form_gradient_of_a_linear_generator():
    generator, a = linear_generator()
    rng = np.random.default_rng(3)
    masks = (rng.random((3, SIDE, SIDE, 1)) < 0.6).astype(np.float32)
    images = rng.uniform(-1, 1, (3, SIDE, SIDE, 1)).astype(np.float32)
    z = rng.normal(size=(3, LATENT)).astype(np.float32)
    moved, objective = latent.gradient_step(generator, z, images, masks, learning_rate=0.1, prior_weight=0.3)
    b = generator.layers[1].get_weights()[1]
    m = masks.reshape(3, -1).astype(np.float64)
    residual = z.astype(np.float64) @ a + b - images.reshape(3, -1)
    known = m.sum(axis=1)
    want_objective = (m * residual**2).sum(axis=1) / known + 0.3 * (z.astype(np.float64) ** 2).mean(axis=1)
    gradient = 2 * (m * residual) @ a.T / known[:, None] + 2 * 0.3 * z / LATENT
    np.testing.assert_allclose(objective, want_objective, rtol=1e-5)
    np.testing.assert_allclose(moved, z - 0.1 * gradient, rtol=1e-4, atol=1e-6)
    assert moved.dtype == np.float32 and objective.shape == (3,)


def test_gradient_step_agrees_with_the_first_steps_of_the_search_direction_and_the_sphere():
    generator, _ = linear_generator()
    rng = np.random.default_rng(4)
    images = rng.uniform(-1, 1, (2, SIDE, SIDE, 1)).astype(np.float32)
    z = rng.normal(size=(2, LATENT)).astype(np.float32)
    moved, objective = latent.gradient_step(generator, z, images, top_half_masks(2), learning_rate=0.01)
    after = latent.gradient_step(generator, moved, images, top_half_masks(2), learning_rate=0.01)[1]
    assert np.all(after < objective)  # a small step downhill lowers every image's objective
    on_sphere, _ = latent.gradient_step(generator, z, images, top_half_masks(2), learning_rate=0.1, prior="sphere")
    np.testing.assert_allclose(np.linalg.norm(on_sphere, axis=1), np.sqrt(LATENT), rtol=1e-5)
    with pytest.raises(ValueError, match="one latent vector per image"):
        latent.gradient_step(generator, z[:1], images, top_half_masks(2), learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        latent.gradient_step(generator, z, images, top_half_masks(2), learning_rate=0.0)
