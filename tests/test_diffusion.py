"""The denoiser U-Net, the diffusion loss, the EMA and the resumable trainer (lesson 13)."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils import diffusion, sampling
from course_utils.profiles import PROFILES
from course_utils.schedules import flow_path

TINY = PROFILES["smoke"].replace(
    diffusion_width=4, diffusion_batch_size=4, n_show=4, sampling_steps=2, max_steps=None, mixed_precision=None
)


def test_time_embedding_is_sines_and_cosines():
    features = diffusion.time_embedding([0.0, 0.5], 8).numpy()
    assert features.shape == (2, 8)
    np.testing.assert_allclose(features[0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(features[1, 0], np.sin(500.0), atol=1e-4)
    with pytest.raises(ValueError, match="even"):
        diffusion.time_embedding([0.1], 5)


def test_denoiser_shapes_and_zero_start():
    model = diffusion.build_denoiser(image_shape=(28, 28, 1), width=8)
    out = model([tf.random.normal((3, 28, 28, 1)), tf.constant([0.1, 0.5, 1.0])])
    assert out.shape == (3, 28, 28, 1) and out.dtype == tf.float32
    np.testing.assert_array_equal(out, 0.0)  # the last convolution starts at zero


def test_class_conditional_denoiser_takes_labels():
    model = diffusion.build_denoiser(image_shape=(8, 8, 1), width=4, multipliers=(1, 2), num_classes=10)
    assert len(model.inputs) == 3
    out = model([tf.zeros((2, 8, 8, 1)), tf.constant([0.3, 0.3]), tf.constant([1, 10])])
    assert out.shape == (2, 8, 8, 1)


def test_denoiser_explains_a_bad_image_size():
    with pytest.raises(ValueError, match="divisible by 4"):
        diffusion.build_denoiser(image_shape=(30, 30, 1), width=4)


def test_loss_is_the_mean_squared_noise_error():
    model = diffusion.build_denoiser(image_shape=(8, 8, 1), width=4, multipliers=(1, 2))
    x0 = tf.random.normal((2, 8, 8, 1))
    eps = tf.random.normal((2, 8, 8, 1))
    loss = diffusion.diffusion_loss(model, x0, eps, [0.5, 0.5], [0.6, 0.6], [0.8, 0.8])
    np.testing.assert_allclose(loss, np.mean(eps.numpy() ** 2), rtol=1e-5)  # the untrained net says 0


def test_ema_moves_towards_the_weights_with_warm_up():
    model = diffusion.build_denoiser(image_shape=(8, 8, 1), width=4, multipliers=(1, 2))
    ema = diffusion.EMA(model, decay=0.99)
    before = [w.numpy().copy() for w in ema.model.weights]
    for weight in model.weights:
        weight.assign(weight + 1.0)
    decay = float(ema.update())
    assert decay == pytest.approx(2 / 11)  # warm-up: (1 + n) / (10 + n) with n = 1
    for old, new in zip(before, ema.model.weights):
        np.testing.assert_allclose(new.numpy(), old + (1 - decay), rtol=1e-5, atol=1e-5)


def test_training_lowers_the_loss_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    images = np.tile(np.linspace(-1, 1, 64, dtype=np.float32).reshape(1, 8, 8, 1), (32, 1, 1, 1))
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(8, drop_remainder=True)
    profile = TINY.replace(diffusion_learning_rate=1e-2, ema_decay=0.5)
    model = diffusion.Diffusion(profile, name="tiny", image_shape=(8, 8, 1), seed=1)
    model.train(dataset, steps=60, progress=False, checkpoint_every=30)
    losses = model.history["loss"]
    assert np.mean(losses[-2:]) < losses[0]
    samples = model.generate(5, steps=3, progress=False)
    assert samples.shape == (5, 8, 8, 1) and np.abs(samples).max() <= 1.0
    again = diffusion.Diffusion(profile, name="tiny", image_shape=(8, 8, 1), seed=1)
    assert again.step == 60
    np.testing.assert_allclose(again.ema.model.get_weights()[0], model.ema.model.get_weights()[0])
    assert model.gif().exists()


def test_a_model_that_knows_the_noise_makes_the_sample_exact():
    """Sampling with a perfect eps-predictor of one fixed image returns that image (flow path: Euler steps)."""
    schedule = flow_path(100)
    target = tf.constant(np.linspace(-0.9, 0.9, 16, dtype=np.float32).reshape(1, 4, 4, 1))

    def model(inputs, training=False):
        x_t, t = inputs
        t = tf.reshape(t, [-1, 1, 1, 1])
        return (x_t - (1.0 - t) * target) / t

    denoise = sampling.denoiser(model, prediction="eps")
    out = sampling.sample(denoise, schedule, tf.random.normal((1, 4, 4, 1)), schedule.timesteps(5), progress=False)
    np.testing.assert_allclose(out, target.numpy(), atol=1e-5)


def test_reverse_scrubber_moves_from_code():
    schedule = flow_path(10)
    pairs = schedule.timesteps(4)
    x_path = [np.full((3, 8, 8, 1), -1 + 0.5 * i, np.float32) for i in range(4)]
    scrubber = diffusion.ReverseScrubber(x_path, x_path, pairs, n=2)
    scrubber.slider.value = 3
    assert "at step 4" in scrubber._describe()
    assert scrubber.png()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="one \\(t, t_next\\) row per step"):
        diffusion.ReverseScrubber(x_path, x_path, pairs[:2])
