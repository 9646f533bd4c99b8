"""Lesson 08's stabilisers: Wasserstein losses, the gradient penalty, spectral norms, the WGAN-GP step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import gan, pipeline
from course_utils import stabilisation as st


class Linear:
    """The critic f(x) = w . x (flattened per example), whose gradient is w everywhere."""

    def __init__(self, w: np.ndarray) -> None:
        self.w = tf.Variable(np.asarray(w, np.float32).ravel())

    def __call__(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        flat = tf.reshape(x, [tf.shape(x)[0], -1])
        return tf.linalg.matvec(flat, self.w)


def _quadratic(x: tf.Tensor, training: bool = False) -> tf.Tensor:
    """f(x) = 0.5 ||x||^2 per example: its gradient at x_hat is x_hat itself."""
    return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])


# --------------------------------------------------------------------------- losses


def test_wasserstein_losses_signs_and_values() -> None:
    real = np.array([2.0, 4.0], np.float32)
    fake = np.array([-1.0, 0.0, 1.0], np.float32)
    assert float(st.critic_loss(real, fake)) == pytest.approx(0.0 - 3.0)
    assert float(st.wgan_generator_loss(fake)) == pytest.approx(-0.0)
    assert float(st.wgan_generator_loss(np.array([[3.0], [5.0]]))) == pytest.approx(-4.0)
    # lower critic loss when real scores rise or fake scores fall; lower generator loss when fakes score higher
    assert float(st.critic_loss(real + 1, fake)) < float(st.critic_loss(real, fake))
    assert float(st.critic_loss(real, fake - 1)) < float(st.critic_loss(real, fake))
    assert float(st.wgan_generator_loss(fake + 1)) < float(st.wgan_generator_loss(fake))


def test_losses_reject_images() -> None:
    with pytest.raises(ValueError, match="one score per image"):
        st.critic_loss(np.zeros((2, 4, 4, 1)), np.zeros(2))
    with pytest.raises(TypeError, match="critic's outputs"):
        st.wgan_generator_loss(st.build_critic(width=2, image_shape=(8, 8, 1)))


# --------------------------------------------------------------------------- gradient penalty


@pytest.mark.parametrize("norm", [1.0, 0.5, 2.0, 3.0])
def test_penalty_of_linear_critic_is_weight_times_norm_minus_one_squared(norm: float) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 6, 1))
    w *= norm / np.linalg.norm(w)
    real = rng.uniform(-1, 1, size=(5, 6, 6, 1)).astype(np.float32)
    fake = rng.uniform(-1, 1, size=(5, 6, 6, 1)).astype(np.float32)
    for weight in (10.0, 1.0):
        gp = float(st.gradient_penalty(Linear(w), real, fake, weight=weight, seed=3))
        assert gp == pytest.approx(weight * (norm - 1.0) ** 2, abs=1e-4)


def test_alpha_is_drawn_per_example_in_unit_interval() -> None:
    alpha = st.sample_alpha(1000, seed=5).numpy()
    assert alpha.shape == (1000, 1, 1, 1)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert abs(alpha.mean() - 0.5) < 0.05 and abs(alpha.var() - 1 / 12) < 0.01  # U(0, 1)
    np.testing.assert_array_equal(alpha, st.sample_alpha(1000, seed=5).numpy())

    # With f = 0.5 ||x||^2, real = 1 and fake = 0, x_hat = alpha and the gradient norm is alpha * sqrt(D).
    n, side = 64, 4
    real = np.ones((n, side, side, 1), np.float32)
    fake = np.zeros_like(real)
    alpha = st.sample_alpha(n, seed=9).numpy().ravel().astype(np.float64)
    expected = 10.0 * np.mean((alpha * side - 1.0) ** 2)
    got = float(st.gradient_penalty(_quadratic, real, fake, seed=9))
    assert got == pytest.approx(expected, rel=1e-5)
    # one alpha for the whole batch would give another number
    same = 10.0 * np.mean((alpha.mean() * side - 1.0) ** 2)
    assert abs(got - same) > 0.1


def test_alpha_interpolates_from_fake_to_real() -> None:
    real = np.full((2, 2, 2, 1), 3.0, np.float32)
    fake = np.zeros_like(real)
    x_hat = st.interpolate(real, fake, np.array([0.0, 1.0], np.float32).reshape(2, 1, 1, 1)).numpy()
    np.testing.assert_allclose(x_hat[0], 0.0)
    np.testing.assert_allclose(x_hat[1], 3.0)


def test_gradient_norms_put_epsilon_inside_the_root() -> None:
    g = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    np.testing.assert_allclose(st.gradient_norms(g, epsilon=1e-4).numpy(), np.sqrt([25 + 1e-4, 1e-4]), rtol=1e-6)


def test_epsilon_keeps_the_gradient_finite_when_real_equals_fake() -> None:
    critic = Linear(np.zeros((4, 4, 1)))  # a flat critic: zero gradient everywhere
    images = np.random.default_rng(1).uniform(-1, 1, size=(3, 4, 4, 1)).astype(np.float32)

    def grad_of_penalty(epsilon: float) -> np.ndarray:
        with tf.GradientTape() as tape:
            gp = st.gradient_penalty(critic, images, images, epsilon=epsilon, seed=0)
        return tape.gradient(gp, critic.w).numpy(), float(gp)

    grads, gp = grad_of_penalty(1e-12)
    assert np.all(np.isfinite(grads)) and gp == pytest.approx(10.0, rel=1e-5)
    broken, _ = grad_of_penalty(0.0)  # the same penalty without epsilon: 0 / 0 in the norm's derivative
    assert not np.all(np.isfinite(broken))


def test_penalty_with_keras_critic_matches_gradients_taken_one_example_at_a_time() -> None:
    critic = st.build_critic(width=2, image_shape=(8, 8, 1), normalisation="none")
    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32)
    fake = rng.uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32)
    alpha = st.sample_alpha(4, seed=1)
    x_hat = alpha * real + (1 - alpha) * fake
    norms = []
    for i in range(4):  # one example at a time: the per-example gradient by definition
        xi = tf.convert_to_tensor(x_hat[i : i + 1])
        with tf.GradientTape() as tape:
            tape.watch(xi)
            score = critic(xi)
        norms.append(np.linalg.norm(tape.gradient(score, xi).numpy()))
    expected = 10.0 * np.mean((np.array(norms) - 1.0) ** 2)
    assert float(st.gradient_penalty(critic, real, fake, alpha=alpha)) == pytest.approx(expected, rel=1e-4)


def test_penalty_argument_errors() -> None:
    x = np.zeros((2, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="same shape"):
        st.gradient_penalty(_quadratic, x, np.zeros((3, 4, 4, 1), np.float32))
    with pytest.raises(TypeError, match="float images"):
        st.gradient_penalty(_quadratic, x.astype(np.uint8), x)
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        st.gradient_penalty(_quadratic, x, x, epsilon=-1.0)


# --------------------------------------------------------------------------- critic and spectral norm


@pytest.mark.parametrize("normalisation", st.NORMALISATIONS)
def test_critic_shapes_and_no_batch_norm(normalisation: str) -> None:
    critic = st.build_critic(width=4, image_shape=(28, 28, 1), normalisation=normalisation)
    scores = critic(np.zeros((3, 28, 28, 1), np.float32), training=True)
    assert tuple(scores.shape) == (3, 1) and scores.dtype == tf.float32
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)
    wrapped = [layer for layer in critic.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == (3 if normalisation == "spectral" else 0)
    with pytest.raises(ValueError, match="normalisation must be one of"):
        st.build_critic(width=4, normalisation="batch")


@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 2, 4), (5, 5, 1, 8), (40, 1)])
def test_power_iteration_matches_numpy(shape: tuple) -> None:
    w = np.random.default_rng(0).normal(size=shape)
    w2d = w.reshape(-1, shape[-1])
    expected = np.linalg.norm(w2d, 2)
    assert st.spectral_norm_power_iteration(w, 200, seed=1) == pytest.approx(expected, rel=1e-6)
    assert st.spectral_norm_power_iteration(w, 1, seed=1) <= expected + 1e-9  # never over-estimates
    assert st.spectral_norm_power_iteration(np.zeros(shape), 5) == 0.0


def test_keras_spectral_normalization_makes_sigma_one() -> None:
    layer = keras.layers.SpectralNormalization(keras.layers.Conv2D(6, 3), power_iterations=1)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    layer(x)
    layer.layer.kernel.assign(layer.layer.kernel * 7.0)
    before = np.linalg.norm(st.kernel_matrix(layer.layer.kernel), 2)
    for _ in range(30):  # each training call does one power-iteration step and rescales the kernel
        layer(x, training=True)
    after = np.linalg.norm(st.kernel_matrix(layer.layer.kernel), 2)
    assert before > 2.0
    assert after == pytest.approx(1.0, abs=0.02)


# --------------------------------------------------------------------------- optimizers and the train step


def test_make_optimizers_ttur() -> None:
    g_opt, d_opt = st.make_optimizers()
    assert float(d_opt.learning_rate) == pytest.approx(4 * float(g_opt.learning_rate))
    with pytest.raises(ValueError, match="g_learning_rate"):
        st.make_optimizers(g_learning_rate=0)


def test_one_wgan_gp_step_runs_and_updates_both_networks() -> None:
    keras.utils.set_random_seed(0)
    generator = gan.build_generator(latent_dim=8, width=4, image_shape=(8, 8, 1))
    critic = st.build_critic(width=4, image_shape=(8, 8, 1))
    g_opt, c_opt = st.make_optimizers()
    step = st.make_wgan_gp_train_step(generator, critic, g_opt, c_opt, latent_dim=8, n_critic=2, seed=0)
    before_g = [v.numpy().copy() for v in generator.trainable_variables]
    before_c = [v.numpy().copy() for v in critic.trainable_variables]
    real = np.random.default_rng(0).uniform(-1, 1, (6, 8, 8, 1)).astype(np.float32)
    out = step(real)
    assert set(out) == {"critic_loss", "g_loss", "gp", "wasserstein"}
    assert all(np.isfinite(float(v)) for v in out.values())
    assert float(out["gp"]) >= 0.0
    assert int(c_opt.iterations) == 2 and int(g_opt.iterations) == 1  # n_critic critic updates per step
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before_g, generator.trainable_variables))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before_c, critic.trainable_variables))


def test_train_step_refuses_a_batch_norm_critic_and_shared_optimizer() -> None:
    generator = gan.build_generator(latent_dim=4, width=2, image_shape=(8, 8, 1))
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Flatten()(keras.layers.BatchNormalization()(inputs))
    bn_critic = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    g_opt, c_opt = st.make_optimizers()
    with pytest.raises(ValueError, match="batch normalisation"):
        st.make_wgan_gp_train_step(generator, bn_critic, g_opt, c_opt, latent_dim=4)
    critic = st.build_critic(width=2, image_shape=(8, 8, 1))
    with pytest.raises(ValueError, match="same object"):
        st.make_wgan_gp_train_step(generator, critic, g_opt, g_opt, latent_dim=4)


# --------------------------------------------------------------------------- the paper's WGAN-GP


def test_paper_hyper_parameters_and_optimizers() -> None:
    assert st.WGAN_GP_PAPER == {"n_critic": 5, "gp_weight": 10.0, "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}
    g_opt, c_opt = st.make_wgan_gp_optimizers()
    assert g_opt is not c_opt
    for opt in (g_opt, c_opt):
        assert float(opt.learning_rate) == pytest.approx(1e-4)
        assert opt.beta_1 == 0.0 and opt.beta_2 == 0.9


def test_critic_batches_stacks_n_critic_batches() -> None:
    images = np.arange(10 * 4 * 4, dtype=np.float32).reshape(10, 4, 4, 1)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(2, drop_remainder=True)
    stacked = list(st.critic_batches(dataset, 2))
    assert len(stacked) == 2  # 5 batches of 2, grouped 2 at a time; the fifth is dropped
    assert stacked[0].shape == (2, 2, 4, 4, 1)
    np.testing.assert_array_equal(stacked[1][0], images[4:6])
    with pytest.raises(ValueError, match="drop_remainder"):
        st.critic_batches(tf.data.Dataset.from_tensor_slices(images).batch(3), 2)
    with pytest.raises(ValueError, match="without labels"):
        st.critic_batches(tf.data.Dataset.from_tensor_slices((images, np.zeros(10))).batch(2, drop_remainder=True), 2)
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        st.critic_batches(images, 2)


def _linear_critic_and_zero_generator(side: int) -> tuple[keras.Model, keras.Model]:
    """A critic w . x (no bias) and a generator whose images are all 0, so the critic's gradient is known."""
    image = keras.Input((side, side, 1))
    critic = keras.Model(image, keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(image)))
    noise = keras.Input((4,))
    flat = keras.layers.Dense(side * side, kernel_initializer="zeros", bias_initializer="zeros")(noise)
    generator = keras.Model(noise, keras.layers.Reshape((side, side, 1))(flat))
    return generator, critic


@pytest.mark.parametrize("fresh", [True, False])
def test_each_critic_update_uses_its_own_real_batch(fresh: bool) -> None:
    # With no penalty, fakes that are 0 and plain SGD, critic update i moves w by lr * mean(real batch i):
    # after n_critic updates w has moved by lr * (sum of the batch means) with fresh batches, and by
    # lr * n_critic * (mean of the first batch) when the one batch is reused.
    side, n_critic, lr = 3, 3, 0.1
    generator, critic = _linear_critic_and_zero_generator(side)
    w0 = critic.trainable_variables[0].numpy().copy()
    step = st.make_wgan_gp_train_step(
        generator,
        critic,
        keras.optimizers.SGD(lr),
        keras.optimizers.SGD(lr),
        latent_dim=4,
        n_critic=n_critic,
        gp_weight=0.0,
        seed=0,
        fresh_batches=fresh,
    )
    stack = np.random.default_rng(0).uniform(-1, 1, (n_critic, 5, side, side, 1)).astype(np.float32)
    step(stack if fresh else stack[0])
    means = stack.reshape(n_critic, 5, -1).mean(axis=1)  # the mean image of each batch, flattened
    expected = lr * (means.sum(axis=0) if fresh else n_critic * means[0])
    np.testing.assert_allclose(critic.trainable_variables[0].numpy().ravel() - w0.ravel(), expected, atol=1e-5)


def test_fresh_batches_step_refuses_a_single_batch_and_vice_versa() -> None:
    generator, critic = _linear_critic_and_zero_generator(3)
    g_opt, c_opt = st.make_wgan_gp_optimizers()
    fresh = st.make_wgan_gp_train_step(generator, critic, g_opt, c_opt, latent_dim=4, n_critic=2, fresh_batches=True)
    with pytest.raises(ValueError, match="critic_batches"):
        fresh(np.zeros((4, 3, 3, 1), np.float32))
    with pytest.raises(ValueError, match="critic_batches"):
        fresh(np.zeros((3, 4, 3, 3, 1), np.float32))  # 3 batches for 2 critic updates
    g_opt, c_opt = st.make_wgan_gp_optimizers()
    reused = st.make_wgan_gp_train_step(generator, critic, g_opt, c_opt, latent_dim=4, n_critic=2)
    with pytest.raises(ValueError, match="fresh_batches=True"):
        reused(np.zeros((2, 4, 3, 3, 1), np.float32))
    with pytest.raises(TypeError, match="fresh_batches"):
        st.make_wgan_gp_train_step(generator, critic, g_opt, c_opt, latent_dim=4, fresh_batches="yes")


def test_paper_step_counts_five_critic_updates_per_generator_update() -> None:
    keras.utils.set_random_seed(0)
    generator = gan.build_generator(latent_dim=8, width=4, image_shape=(8, 8, 1))
    critic = st.build_critic(width=4, image_shape=(8, 8, 1))
    g_opt, c_opt = st.make_wgan_gp_optimizers()
    paper = st.WGAN_GP_PAPER
    step = st.make_wgan_gp_train_step(
        generator,
        critic,
        g_opt,
        c_opt,
        latent_dim=8,
        n_critic=paper["n_critic"],
        gp_weight=paper["gp_weight"],
        seed=0,
        fresh_batches=True,
    )
    images = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
    stacked = st.critic_batches(pipeline.make_dataset(images, batch_size=4), paper["n_critic"])
    out = step(next(iter(stacked)))
    assert all(np.isfinite(float(v)) for v in out.values())
    assert int(c_opt.iterations) == 5 and int(g_opt.iterations) == 1


# --------------------------------------------------------------------------- the operator norm of a convolution


def _dense_conv_matrix(kernel: np.ndarray, shape: tuple, strides: int, padding: str) -> np.ndarray:
    """The convolution as a matrix, one column per input value, from TensorFlow applied to each basis image."""
    basis = np.eye(int(np.prod(shape))).reshape(-1, *shape)
    out = tf.nn.conv2d(basis, tf.constant(kernel, tf.float64), strides, padding.upper()).numpy()
    return out.reshape(len(basis), -1).T


@pytest.mark.parametrize(("strides", "padding"), [(1, "same"), (2, "same"), (1, "valid"), (2, "valid")])
def test_conv_operator_norm_matches_the_svd_of_the_convolution_matrix(strides: int, padding: str) -> None:
    from course_utils import conv

    kernel = np.random.default_rng(strides).normal(size=(3, 3))
    exact = np.linalg.norm(conv.conv_matrix((7, 6), kernel, stride=strides, padding=padding), 2)
    assert st.conv_operator_norm(kernel, (7, 6), strides=strides, padding=padding) == pytest.approx(exact, rel=1e-6)
    w = np.random.default_rng(5).normal(size=(5, 5, 2, 3))
    exact = np.linalg.norm(_dense_conv_matrix(w, (6, 6, 2), strides, padding), 2)
    assert st.conv_operator_norm(w, (6, 6, 2), strides=strides, padding=padding) == pytest.approx(exact, rel=1e-6)


def test_spectral_norm_of_the_reshaped_kernel_is_not_the_convolutions_norm() -> None:
    ones = np.ones((3, 3))
    assert np.linalg.norm(st.kernel_matrix(ones[:, :, None, None]), 2) == pytest.approx(3.0)
    assert st.conv_operator_norm(ones, (16, 16)) == pytest.approx(8.7968, abs=1e-3)
    # with a stride as large as the kernel the patches do not overlap and the two agree
    w = np.random.default_rng(0).normal(size=(2, 2, 3, 4))
    assert st.conv_operator_norm(w, (8, 8, 3), strides=2) == pytest.approx(np.linalg.norm(st.kernel_matrix(w), 2))


def test_conv_operator_norm_argument_errors() -> None:
    with pytest.raises(ValueError, match="channel"):
        st.conv_operator_norm(np.ones((3, 3, 2, 1)), (8, 8, 1))
    with pytest.raises(ValueError, match="kernel must be"):
        st.conv_operator_norm(np.ones(3), (8, 8))
    with pytest.raises(ValueError, match="input_shape"):
        st.conv_operator_norm(np.ones((3, 3)), 8)
    with pytest.raises(ValueError, match="padding"):
        st.conv_operator_norm(np.ones((3, 3)), (8, 8), padding="full")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_paper_step_runs_in_mixed_precision(policy: str, hardware_runs_any_precision) -> None:
    # float16 wraps the optimizers in a loss-scale optimizer, built before the graph loop over critic updates
    from course_utils import runtime

    with runtime.training_precision(policy):
        generator = gan.build_generator(latent_dim=8, width=4, image_shape=(8, 8, 1))
        critic = st.build_critic(width=4, image_shape=(8, 8, 1))
    g_opt, c_opt = st.make_wgan_gp_optimizers()
    step = st.make_wgan_gp_train_step(
        generator, critic, g_opt, c_opt, latent_dim=8, n_critic=3, seed=0, fresh_batches=True
    )
    out = step(np.random.default_rng(0).uniform(-1, 1, (3, 4, 8, 8, 1)).astype(np.float32))
    assert all(np.isfinite(float(v)) for v in out.values())
    if policy == "mixed_bfloat16":  # float16's loss scaling may skip the first updates while it finds its scale
        assert int(c_opt.iterations) == 3 and int(g_opt.iterations) == 1
