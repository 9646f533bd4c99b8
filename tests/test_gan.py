"""The lesson-05 DCGAN pieces: shapes, output ranges and dtypes, losses against NumPy, mixed precision, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import gan


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _bce_reference(label: float, logits: np.ndarray) -> float:
    """Binary cross-entropy of sigmoid(logits) against a constant label, written out: -y log p - (1 - y) log(1 - p)."""
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return float(np.mean(-label * np.log(p) - (1.0 - label) * np.log(1.0 - p)))


@pytest.mark.parametrize(
    ("image_shape", "width", "sides"),
    [((28, 28, 1), 8, (7, 14, 28)), ((32, 32, 3), 4, (8, 16, 32)), ((16, 24, 2), 3, (4, 8, 16))],
)
def test_generator_and_discriminator_shapes(image_shape: tuple, width: int, sides: tuple) -> None:
    generator = gan.build_generator(latent_dim=10, width=width, image_shape=image_shape)
    shapes = {name: shape for name, _, shape in gan.layer_shapes(generator)}
    h4, w4 = image_shape[0] // 4, image_shape[1] // 4
    assert shapes["reshape"] == (None, h4, w4, 4 * width)
    assert shapes["up0"] == (None, h4, w4, 2 * width)
    assert shapes["up1"] == (None, 2 * h4, 2 * w4, width)
    assert shapes["tanh"] == (None, *image_shape)
    assert sides[0] == h4 and sides[-1] == image_shape[0]
    images = generator(gan.sample_noise(3, 10, seed=0), training=False)
    assert tuple(images.shape) == (3, *image_shape)

    discriminator = gan.build_discriminator(width=width, image_shape=image_shape)
    d_shapes = {name: shape for name, _, shape in gan.layer_shapes(discriminator)}
    assert d_shapes["down0"] == (None, 2 * h4, 2 * w4, width)
    assert d_shapes["down1"] == (None, h4, w4, 2 * width)
    assert d_shapes["logit"] == (None, 1)
    assert tuple(discriminator(images).shape) == (3, 1)


def test_layer_shapes_rows_and_classes() -> None:
    rows = gan.layer_shapes(gan.build_discriminator(width=2))
    assert rows[0] == ("image", "InputLayer", (None, 28, 28, 1))
    classes = [cls for _, cls, _ in rows]
    assert "MaxPooling2D" not in classes and classes.count("Conv2D") == 2 and classes[-1] == "Dense"
    assert all(isinstance(name, str) and isinstance(shape, tuple) for name, _, shape in rows)


def test_parameter_count_matches_formula() -> None:
    latent, width = 12, 4
    generator = gan.build_generator(latent_dim=latent, width=width)
    dense = latent * 7 * 7 * 4 * width
    bn = lambda c: 4 * c  # noqa: E731 (gamma, beta, moving mean, moving variance)
    expected = (
        dense + bn(7 * 7 * 4 * width)
        + 25 * 4 * width * 2 * width + bn(2 * width)
        + 25 * 2 * width * width + bn(width)
        + 25 * width * 1 + 1
    )
    assert generator.count_params() == expected


def test_output_ranges_and_dtypes() -> None:
    generator = gan.build_generator(latent_dim=8, width=4, init_std=1.0)
    # big weights drive the tanh to saturation: the output must still stay in [-1, 1]
    images = generator(50.0 * gan.sample_noise(16, 8, seed=1), training=True).numpy()
    assert images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0.1
    discriminator = gan.build_discriminator(width=4)
    logits = discriminator(tf.constant(np.full((4, 28, 28, 1), 200.0, np.float32)), training=False).numpy()
    assert logits.dtype == np.float32 and logits.shape == (4, 1)
    assert discriminator.get_layer("logit").activation is keras.activations.linear, "logits must not be squashed"


def test_sample_noise_is_standard_normal_and_seeded() -> None:
    a = gan.sample_noise(2000, 16, seed=3).numpy()
    assert a.shape == (2000, 16) and a.dtype == np.float32
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1.0) < 0.02
    np.testing.assert_array_equal(a, gan.sample_noise(2000, 16, seed=3).numpy())
    assert not np.array_equal(a, gan.sample_noise(2000, 16, seed=4).numpy())


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_discriminator_loss_matches_numpy(smoothing: float) -> None:
    rng = np.random.default_rng(0)
    real, fake = rng.normal(1.0, 2.0, (32, 1)).astype(np.float32), rng.normal(-1.0, 2.0, (32, 1)).astype(np.float32)
    expected = _bce_reference(1.0 - smoothing, real) + _bce_reference(0.0, fake)
    got = gan.discriminator_loss(real, fake, label_smoothing=smoothing)
    assert got.dtype == tf.float32 and got.shape == ()
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    # one-sided: smoothing changes only the real term
    if smoothing:
        np.testing.assert_allclose(
            float(gan.discriminator_loss(np.full((4,), 9.0), fake[:4], label_smoothing=smoothing))
            - float(gan.discriminator_loss(np.full((4,), 9.0), fake[:4])),
            _bce_reference(1.0 - smoothing, np.full(4, 9.0)) - _bce_reference(1.0, np.full(4, 9.0)),
            rtol=1e-5,
        )


def test_discriminator_loss_at_chance_is_2_log_2() -> None:
    zeros = np.zeros((8, 1), np.float32)
    np.testing.assert_allclose(float(gan.discriminator_loss(zeros, zeros)), 2 * np.log(2), rtol=1e-6)


def test_generator_losses_match_numpy() -> None:
    fake = np.linspace(-6, 6, 25, dtype=np.float32)[:, None]
    non_saturating = -np.mean(np.log(1.0 / (1.0 + np.exp(-fake.astype(np.float64)))))
    saturating = np.mean(np.log(1.0 - 1.0 / (1.0 + np.exp(-fake.astype(np.float64)))))
    np.testing.assert_allclose(float(gan.generator_loss(fake)), non_saturating, rtol=1e-5)
    np.testing.assert_allclose(float(gan.generator_loss(fake, saturating=True)), saturating, rtol=1e-5)
    np.testing.assert_allclose(float(gan.generator_loss(fake, saturating=True)), -np.mean(_softplus(fake)), rtol=1e-5)


def test_losses_are_stable_for_huge_logits() -> None:
    huge = np.array([[80.0], [-80.0]], np.float32)
    assert np.isfinite(float(gan.discriminator_loss(huge, huge)))
    np.testing.assert_allclose(float(gan.generator_loss(np.array([[-80.0]], np.float32))), 80.0, rtol=1e-5)


def test_losses_with_float16_logits_are_float32() -> None:
    real = tf.constant([[2.0], [-1.0]], tf.float16)
    fake = tf.constant([[0.5], [-3.0]], tf.float16)
    d_loss = gan.discriminator_loss(real, fake, label_smoothing=0.1)
    g_loss = gan.generator_loss(fake)
    assert d_loss.dtype == tf.float32 and g_loss.dtype == tf.float32
    expected = _bce_reference(0.9, real.numpy().astype(np.float32)) + _bce_reference(0.0, fake.numpy())
    np.testing.assert_allclose(float(d_loss), expected, rtol=1e-4)


def test_generator_runs_under_mixed_precision() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        generator = gan.build_generator(latent_dim=8, width=4)
        discriminator = gan.build_discriminator(width=4)
        assert generator.get_layer("up1").compute_dtype == "float16"
        images = generator(gan.sample_noise(2, 8, seed=0), training=False)
        logits = discriminator(images, training=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert images.dtype == tf.float32 and logits.dtype == tf.float32
    assert tuple(images.shape) == (2, 28, 28, 1)
    assert gan.generator_loss(logits).dtype == tf.float32
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: gan.build_generator(latent_dim=8, width=4, image_shape=(30, 30, 1)), ValueError, "divisible by 4"),
        (lambda: gan.build_generator(latent_dim=8, width=4, image_shape=(28, 28)), ValueError, "(height, width"),
        (lambda: gan.build_generator(latent_dim=0, width=4), ValueError, "latent_dim"),
        (lambda: gan.build_discriminator(width=2.5), TypeError, "width"),
        (lambda: gan.discriminator_loss(np.zeros((2, 1)), np.zeros((2, 1)), label_smoothing=1.0), ValueError, "[0, 1)"),
        (lambda: gan.discriminator_loss(np.zeros((2, 1)), np.zeros((2, 28, 28, 1))), ValueError, "instead of"),
        (lambda: gan.generator_loss(np.zeros((2, 3))), ValueError, "one logit per image"),
        (lambda: gan.layer_shapes("generator"), TypeError, "keras.Model"),
        (lambda: gan.sample_noise(0, 8), ValueError, "n must be"),
    ],
)
def test_clear_errors(call, error: type, words: str) -> None:
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)


def test_kernels_start_from_the_papers_normal_and_dropout_can_be_left_out() -> None:
    keras.utils.set_random_seed(0)
    generator = gan.build_generator(latent_dim=16, width=32)
    discriminator = gan.build_discriminator(width=32)
    for model in (generator, discriminator):
        for layer in model.layers:
            if hasattr(layer, "kernel"):
                kernel = layer.kernel.numpy()
                assert abs(kernel.mean()) < 0.004 and kernel.std() == pytest.approx(gan.INIT_STD, rel=0.1), layer.name
    glorot = gan.build_generator(latent_dim=16, width=32, init_std=None)
    # Glorot uniform: std sqrt(2 / (fan_in + fan_out)) = sqrt(2 / (25 * 33)) = 0.049 for the last layer
    assert glorot.get_layer("up2").kernel.numpy().std() > 1.5 * gan.INIT_STD
    dropouts = [layer.name for layer in discriminator.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == ["down0_dropout", "down1_dropout"]
    plain = gan.build_discriminator(width=8, dropout=0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    with pytest.raises(ValueError, match="init_std must be a positive number"):
        gan.build_generator(latent_dim=4, width=4, init_std=0)
    with pytest.raises(ValueError, match=r"dropout must be a rate in \[0, 1\)"):
        gan.build_discriminator(width=4, dropout=1.0)


def test_checkerboard_share_on_patterns_with_known_answers() -> None:
    i, j = np.meshgrid(np.arange(8), np.arange(6), indexing="ij")
    board = (-1.0) ** (i + j)
    stripes = (-1.0) ** i
    ramp = np.linspace(0, 1, 8)[:, None] * np.ones((8, 6))
    batch = np.stack([board, stripes, np.full((8, 6), 0.3), ramp])[..., None]
    share = gan.checkerboard_share(batch)
    np.testing.assert_allclose(share[:3], [1.0, 1.0, 0.0], atol=1e-12)
    assert 0 < share[3] < 0.05  # a smooth ramp has almost no period-2 energy
    noise = np.random.default_rng(0).standard_normal((400, 8, 6, 3))
    # white noise spreads its energy evenly over the 47 non-constant frequencies; 13 of them are period-2
    assert abs(gan.checkerboard_share(noise).mean() - 13 / 47) < 0.02
    # the same as a direct sum over the Nyquist row and column
    picture = np.random.default_rng(1).random((8, 6))
    power = np.abs(np.fft.fft2(picture - picture.mean())) ** 2
    expected = (power[4, :].sum() + power[:, 3].sum() - power[4, 3]) / power.sum()
    np.testing.assert_allclose(gan.checkerboard_share(picture[None, ..., None])[0], expected, rtol=1e-12)


def test_checkerboard_share_explains_bad_input() -> None:
    with pytest.raises(ValueError, match="even height and width"):
        gan.checkerboard_share(np.zeros((1, 7, 8, 1)))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        gan.checkerboard_share(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        gan.checkerboard_share(np.full((1, 8, 8, 1), np.nan))
