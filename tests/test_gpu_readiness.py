"""The gpu profile's settings, exercised on the CPU: mixed_float16, XLA-compiled train steps, the data pipeline.

Nobody runs the test suite on a GPU, so these tests check the parts of the gpu code path that do not need
one: under the ``mixed_float16`` policy with ``jit_compile=True`` the DCGAN and inpainter train steps run,
give finite float32 losses and float32 outputs, and use loss-scaling optimizers.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import dcgan, pipeline, runtime
from course_utils.profiles import PROFILES

GPU = PROFILES["gpu"]


@pytest.fixture
def mixed_float16(monkeypatch, tmp_path, hardware_runs_any_precision):
    """The trainers build their models in the gpu profile's policy, as on a GPU with tensor cores."""
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    yield


def _finite_float32(name: str, value) -> None:
    tensor = tf.convert_to_tensor(value)
    assert tensor.dtype == tf.float32, f"{name} is {tensor.dtype.name}, not float32"
    assert bool(tf.reduce_all(tf.math.is_finite(tensor))), f"{name} is not finite: {tensor.numpy()}"


def test_the_gpu_profile_asks_for_what_the_readme_promises():
    assert GPU.mixed_precision == "mixed_float16"
    assert GPU.jit_compile is True
    assert GPU.memory_growth is True
    assert GPU.batch_size == 256 and GPU.gan_epochs == 50 and GPU.n_train == 60_000


def test_without_a_gpu_setup_falls_back_to_float32_and_memory_growth_is_a_no_op():
    assert runtime.choose_precision("mixed_float16", []) == "float32"
    assert runtime.enable_memory_growth([]) == []


def test_dcgan_steps_under_mixed_float16_with_xla_fed_by_the_cached_pipeline(mixed_float16):
    profile = GPU.replace(width=4, latent_dim=8, n_show=4, max_steps=2)
    model = dcgan.DCGAN(profile, name="gpu_readiness_dcgan", resume=False)
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.generator.get_layer("up0").compute_dtype == "float16", "the conv layers should compute in float16"
    digits = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    ds = pipeline.make_dataset(digits, batch_size=4, cache=True).prefetch(tf.data.AUTOTUNE)
    batches = [batch for _epoch in range(2) for batch in ds]  # the second pass reads the cache
    assert len(batches) == 4
    for batch in batches[:2]:
        assert batch.dtype == tf.float32 and tuple(batch.shape) == (4, 28, 28, 1)
        out = model.train_step(batch)
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            _finite_float32(key, out[key])
    _finite_float32("generator output", model.generator(model.fixed_noise, training=False))
    _finite_float32("discriminator output", model.discriminator(batches[0], training=False))


def test_inpainter_steps_under_mixed_float16_with_xla(mixed_float16):
    inpainting = pytest.importorskip("course_utils.inpainting")
    if not hasattr(inpainting, "Inpainter") or not hasattr(inpainting, "make_train_step"):
        pytest.skip("course_utils.inpainting has no Inpainter/make_train_step: its API differs from the one tested")
    profile = GPU.replace(image_size=16, width=4, max_steps=2)
    model = inpainting.Inpainter(profile, name="gpu_readiness_inpainter", resume=False)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.model.get_layer("enc0").compute_dtype == "float16"
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((4, 16, 16, 3), dtype=np.float32))
    masks = tf.constant(inpainting.training_masks(4, 16, seed=0))
    for _ in range(2):
        out = model.train_step(images, masks)
        for key in ("loss", "hole", "valid"):
            _finite_float32(key, out[key])
    _finite_float32("inpainter output", model.model([images * masks, masks], training=False))


def test_adversarial_inpainter_fine_tunes_a_float32_model_under_mixed_float16_with_xla(mixed_float16):
    from course_utils import adversarial, inpainting

    profile = GPU.replace(image_size=16, width=4, max_steps=2)
    start = inpainting.build_inpainter(image_size=16, width=4, depth=2)  # lesson 10's model, float32
    before = [w.copy() for w in start.get_weights()]
    trainer = adversarial.AdversarialInpainter(profile, start, name="gpu_readiness_adversarial", resume=False)
    assert trainer.model.get_layer("enc0").compute_dtype == "float16"
    assert trainer.discriminator.layers[1].compute_dtype == "float16"
    assert isinstance(trainer.g_opt, keras.optimizers.LossScaleOptimizer)
    images = tf.constant(np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32))
    masks = tf.constant(inpainting.training_masks(4, 16, seed=0))
    for _ in range(2):
        out = trainer.train_step(images, masks)
        for key, value in out.items():
            _finite_float32(key, value)
    assert start.get_layer("enc0").compute_dtype == "float32"
    for a, b in zip(before, start.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the starting model is a copy's source, never trained itself
