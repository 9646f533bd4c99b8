"""Tests of course_utils.dcgan: the train step, mixed precision, XLA, checkpoints and resuming."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from course_utils import dcgan, gan  # noqa: E402
from course_utils import runtime as cu_runtime  # noqa: E402
from course_utils.profiles import get_profile  # noqa: E402

TINY = get_profile("smoke").replace(
    width=4, latent_dim=8, n_show=4, max_steps=None, jit_compile=False, mixed_precision=None
)  # float32: exact checks


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch):
    """Every test writes its runs under its own temporary folder."""
    root = tmp_path / "runs"
    monkeypatch.setenv("COURSE_RUNS_DIR", str(root))
    return root


def real_batch(n: int = 8, seed: int = 0) -> tf.Tensor:
    """A batch of 'real' images in [-1, 1]: bright squares on black."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 28, 28, 1), np.float32)
    for image in images:
        top, left = rng.integers(2, 16, size=2)
        image[top : top + 10, left : left + 10] = 1.0
    return tf.constant(images)


def models(seed: int = 0):
    keras.utils.set_random_seed(seed)
    g = gan.build_generator(latent_dim=TINY.latent_dim, width=TINY.width)
    d = gan.build_discriminator(width=TINY.width)
    return g, d


def image_dataset(n: int = 16, batch: int = 4) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(real_batch(n)).batch(batch, drop_remainder=True)


def test_discriminator_steps_lower_its_loss_on_a_fixed_batch() -> None:
    g, d = models()
    opt = keras.optimizers.Adam(1e-3, beta_1=0.5)
    real = real_batch()
    fake = g(gan.sample_noise(8, TINY.latent_dim, seed=1), training=False)  # G is held fixed

    def loss() -> float:
        return float(gan.discriminator_loss(d(real, training=False), d(fake, training=False)))

    before = loss()
    for _ in range(20):  # N(0, 0.02) weights start with tiny logits: a few more steps than 5 show the trend
        with tf.GradientTape() as tape:
            d_loss = gan.discriminator_loss(d(real, training=True), d(fake, training=True))
        opt.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
    after = loss()
    assert after < before - 0.01, (before, after)


def test_train_step_returns_finite_float32_scalars_and_moves_both_networks() -> None:
    g, d = models()
    g_before = [w.numpy().copy() for w in g.trainable_weights]
    d_before = [w.numpy().copy() for w in d.trainable_weights]
    step = dcgan.make_train_step(
        g, d, keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4), latent_dim=TINY.latent_dim, seed=0
    )
    out = step(real_batch())
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for name, value in out.items():
        assert value.dtype == tf.float32 and value.shape == (), name
        assert np.isfinite(value.numpy()), name
    assert 0 < float(out["d_real"]) < 1 and 0 < float(out["d_fake"]) < 1
    # At initialisation D outputs about 1/2 everywhere, so d_loss ~ 2 ln 2 and g_loss ~ ln 2.
    assert abs(float(out["d_loss"]) - 2 * np.log(2)) < 0.3
    assert abs(float(out["g_loss"]) - np.log(2)) < 0.3
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(g_before, g.trainable_weights))
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(d_before, d.trainable_weights))


def test_train_step_losses_match_the_gan_losses_before_the_update() -> None:
    # With the same noise, D's logits before the update give the losses that the step reports.
    g, d = models()
    step = dcgan.make_train_step(
        g, d, keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0), latent_dim=TINY.latent_dim, seed=3
    )
    d.get_layer("down0_dropout").rate = 0.0
    d.get_layer("down1_dropout").rate = 0.0
    noise = tf.random.Generator.from_seed(3).normal([8, TINY.latent_dim])
    real = real_batch()
    fake = g(noise, training=True)
    expected_d = gan.discriminator_loss(d(real, training=True), d(fake, training=True))
    out = step(real)
    np.testing.assert_allclose(float(out["d_loss"]), float(expected_d), rtol=1e-4)


def test_one_shared_optimizer_is_refused() -> None:
    g, d = models()
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="each network needs its own optimizer"):
        dcgan.make_train_step(g, d, opt, opt, latent_dim=TINY.latent_dim)


def test_wrong_images_are_refused_with_clear_messages() -> None:
    g, d = models()
    step = dcgan.make_train_step(g, d, keras.optimizers.Adam(), keras.optimizers.Adam(), latent_dim=TINY.latent_dim)
    with pytest.raises(ValueError, match=r"float32 in \[-1, 1\].*uint8.*to_model_range"):
        step(tf.zeros((4, 28, 28, 1), tf.uint8))
    with pytest.raises(ValueError, match=r"shaped \(N, 28, 28, 1\).*\(4, 32, 32, 1\)"):
        step(tf.zeros((4, 32, 32, 1)))
    model = dcgan.DCGAN(TINY, name="range")
    bad = tf.data.Dataset.from_tensor_slices(tf.fill((8, 28, 28, 1), 255.0)).batch(4)
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\].*\[255, 255\]"):
        model.train(bad, steps=1, progress=False)


def test_steps_per_run_counts_whole_batches() -> None:
    assert dcgan.steps_per_run(20_000, 128, 5) == 5 * 156
    assert dcgan.steps_per_run(256, 32, 1, max_steps=4) == 4
    assert dcgan.steps_per_run(60_000, 256, 50) == 50 * 234
    with pytest.raises(ValueError, match="larger than n_images"):
        dcgan.steps_per_run(10, 32, 1)


def test_checkpoint_round_trip_gives_identical_samples() -> None:
    first = dcgan.DCGAN(TINY, name="roundtrip", seed=5)
    first.train(image_dataset(), steps=3, progress=False)
    samples = first.samples()
    assert samples.dtype == np.float32 and samples.shape == (TINY.n_show, 28, 28, 1)
    second = dcgan.DCGAN(TINY, name="roundtrip", seed=99)  # other seed: the noise must come from the checkpoint
    assert second.step == 3
    np.testing.assert_array_equal(second.fixed_noise.numpy(), first.fixed_noise.numpy())
    np.testing.assert_array_equal(second.samples(), samples)
    fresh = dcgan.DCGAN(TINY, name="roundtrip", resume=False)
    assert fresh.step == 0
    assert not np.allclose(fresh.samples(), samples)


def test_a_new_object_resumes_the_step_count_and_trains_to_the_total() -> None:
    first = dcgan.DCGAN(TINY, name="resume")
    first.train(image_dataset(), steps=3, progress=False)
    assert first.step == 3
    second = dcgan.DCGAN(TINY, name="resume")
    assert second.step == 3
    history = second.train(image_dataset(), steps=5, progress=False, sample_every=1)
    assert second.step == 5
    assert history.steps[-1] == 5
    assert [p.name for p in second.run.sample_paths][-2:] == ["step_000004.png", "step_000005.png"]
    gif = second.gif()
    assert gif.exists() and gif.stat().st_size > 0
    third = dcgan.DCGAN(TINY, name="resume")
    third.train(image_dataset(), steps=5, progress=False)  # already done: nothing to train
    assert third.step == 5


def test_max_steps_defaults_to_the_profile_cap() -> None:
    model = dcgan.DCGAN(TINY.replace(max_steps=2), name="capped")
    model.train(image_dataset(), epochs=3, progress=False)
    assert model.step == 2


def test_jit_compiled_train_step_runs() -> None:
    g, d = models()
    step = dcgan.make_train_step(
        g, d, keras.optimizers.Adam(), keras.optimizers.Adam(), latent_dim=TINY.latent_dim, jit_compile=True, seed=0
    )
    for _ in range(2):
        out = step(real_batch())
    assert all(np.isfinite(v.numpy()) and v.dtype == tf.float32 for v in out.values())


@pytest.mark.parametrize(
    "policy, compute, scaled", [("mixed_float16", "float16", True), ("mixed_bfloat16", "bfloat16", False)]
)
def test_dcgan_trains_in_the_profiles_precision_and_keeps_float32_outputs(
    hardware_runs_any_precision, policy: str, compute: str, scaled: bool
) -> None:
    model = dcgan.DCGAN(TINY.replace(mixed_precision=policy), name=f"mixed_{compute}")
    assert model.precision == policy
    assert keras.mixed_precision.global_policy().name == "float32"  # only the DCGAN's models are mixed
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer) is scaled
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer) is scaled
    model.train(image_dataset(), steps=2, progress=False)
    assert model.step == 2
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert np.all(np.isfinite(model.history[name])), name
    out = model.generator(model.fixed_noise, training=False)
    assert out.dtype == tf.float32
    assert model.generator.get_layer("up0").compute_dtype == compute  # it really ran in low precision
    assert model.generator.get_layer("up0").kernel.dtype == "float32"


def test_a_train_step_scales_the_loss_of_float16_models_built_before_it(hardware_runs_any_precision) -> None:
    with cu_runtime.training_precision("mixed_float16"):
        generator = gan.build_generator(latent_dim=8, width=4)
        discriminator = gan.build_discriminator(width=4)
    # make_train_step is called outside the block: the models, not the global policy, decide the scaling
    step = dcgan.make_train_step(
        generator, discriminator, keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4), latent_dim=8, seed=0
    )
    out = step(next(iter(image_dataset())))
    assert np.isfinite(float(out["g_loss"]))


def test_load_or_train_generator_trains_once_then_loads(capsys: pytest.CaptureFixture[str]) -> None:
    from course_utils.datasets import ImageData

    images = np.zeros((16, 28, 28), np.uint8)
    images[:, 8:20, 8:20] = 255
    data = ImageData(images, None, images[:4], None, name="squares", source="white squares")
    profile = TINY.replace(batch_size=4, gan_epochs=1, n_train=16)
    first = dcgan.load_or_train_generator(profile, data=data, name="shared", verbose=True)
    assert "Training the generator" in capsys.readouterr().out
    second = dcgan.load_or_train_generator(profile, data=data, name="shared", verbose=True)
    assert "Loaded the generator" in capsys.readouterr().out
    z = gan.sample_noise(3, profile.latent_dim, seed=0)
    np.testing.assert_array_equal(first(z, training=False), second(z, training=False))


def test_load_or_train_generator_returns_a_float32_copy_of_a_bfloat16_generator(hardware_runs_any_precision) -> None:
    from course_utils.datasets import ImageData

    images = np.zeros((8, 28, 28), np.uint8)
    images[:, 8:20, 8:20] = 255
    data = ImageData(images, None, images[:4], None, name="squares", source="white squares")
    profile = TINY.replace(batch_size=4, gan_epochs=1, n_train=8, mixed_precision="mixed_bfloat16")
    generator = dcgan.load_or_train_generator(profile, data=data, name="bf16", verbose=False)
    assert {layer.dtype_policy.name for layer in generator.layers} == {"float32"}
    trained = dcgan.DCGAN(profile, name="bf16")  # the run itself: bfloat16, restored from its checkpoint
    assert trained.step == 2 and trained.generator.get_layer("up0").compute_dtype == "bfloat16"
    z = gan.sample_noise(3, profile.latent_dim, seed=0)
    np.testing.assert_allclose(generator(z), trained.averaged_generator(z), atol=1e-6)  # the average: float32
    last = dcgan.load_or_train_generator(profile, data=data, name="bf16", averaged=False, verbose=False)
    assert {layer.dtype_policy.name for layer in last.layers} == {"float32"}
    np.testing.assert_allclose(last(z), trained.generator(z), atol=0.05)


def _squares(n: int):
    from course_utils.datasets import ImageData

    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 8:20, 8:20] = 255
    return ImageData(images, None, images[:4], None, name="squares", source="white squares")


def test_a_generator_trained_on_all_of_a_dataset_smaller_than_the_cap_is_loaded(capsys) -> None:
    profile = TINY.replace(batch_size=4, gan_epochs=1, n_train=20_000)  # a cap far above the 8 images given
    dcgan.load_or_train_generator(profile, data=_squares(8), name="capped", verbose=False)
    assert dcgan.DCGAN(profile, name="capped").step == 2
    capsys.readouterr()
    dcgan.load_or_train_generator(profile, data=_squares(8), name="capped", verbose=True)
    out = capsys.readouterr().out
    assert "Loaded the generator of run 'capped': trained for 2 steps (the profile asks for 2)" in out


def test_a_run_of_another_profile_is_moved_aside_not_deleted(runs_root, capsys) -> None:
    wide = TINY.replace(batch_size=4, gan_epochs=1, n_train=8, width=8)
    dcgan.load_or_train_generator(wide, data=_squares(8), name="digits", verbose=False)
    old_checkpoints = sorted(p.name for p in (runs_root / "digits" / "checkpoints").iterdir())
    capsys.readouterr()
    narrow = wide.replace(width=4)  # other shapes: the wide run's checkpoints cannot be restored
    generator = dcgan.load_or_train_generator(narrow, data=_squares(8), name="digits", verbose=True)
    out = capsys.readouterr().out
    kept = [p for p in runs_root.iterdir() if p.name.startswith("digits.replaced-")]
    assert len(kept) == 1 and f"kept in runs/{kept[0].name}" in out and "Training the generator" in out
    assert sorted(p.name for p in (kept[0] / "checkpoints").iterdir()) == old_checkpoints
    assert generator.get_layer("up0").filters != dcgan.DCGAN(wide, name="wide_copy").generator.get_layer("up0").filters


def test_the_generator_lessons_get_is_the_weight_average_and_the_last_weights_are_kept_beside_it() -> None:
    profile = TINY.replace(batch_size=4, gan_epochs=2, n_train=8)
    generator = dcgan.load_or_train_generator(profile, data=_squares(8), name="averaged", verbose=False)
    model = dcgan.DCGAN(profile, name="averaged")
    assert model.step == 4 and int(model.ema.updates.numpy()) == 4
    for returned, average in zip(generator.get_weights(), model.averaged_generator.get_weights()):
        np.testing.assert_array_equal(returned, average)
    last = dcgan.load_or_train_generator(profile, data=_squares(8), name="averaged", averaged=False, verbose=False)
    for returned, trained in zip(last.get_weights(), model.generator.get_weights()):
        np.testing.assert_array_equal(returned, trained)
    differs = [not np.array_equal(a, b) for a, b in zip(generator.get_weights(), last.get_weights())]
    assert any(differs)  # the average is not the last weights
    np.testing.assert_array_equal(model.samples(), model.generator(model.fixed_noise, training=False))
    averaged = model.averaged_generator(model.fixed_noise, training=False)
    np.testing.assert_array_equal(model.samples(averaged=True), averaged)
    with pytest.raises(TypeError, match="averaged must be True"):
        dcgan.load_or_train_generator(profile, data=_squares(8), name="averaged", averaged="yes")


def test_the_seed_sets_the_initial_weights_without_setup() -> None:
    def weights(model: dcgan.DCGAN) -> np.ndarray:
        return np.concatenate([w.ravel() for w in model.generator.get_weights() + model.discriminator.get_weights()])

    keras.utils.set_random_seed(1)
    first = weights(dcgan.DCGAN(TINY, name="seed_a", seed=0))
    keras.utils.set_random_seed(2)  # whatever the global generators hold
    np.testing.assert_array_equal(weights(dcgan.DCGAN(TINY, name="seed_b", seed=0)), first)
    assert not np.array_equal(weights(dcgan.DCGAN(TINY, name="seed_c", seed=1)), first)
    std = np.std(dcgan.DCGAN(TINY, name="seed_d", seed=0).generator.get_layer("up1").get_weights()[0])
    assert 0.015 < std < 0.025  # still the DCGAN paper's N(0, 0.02)


def test_real_images_in_the_unit_range_draw_a_warning() -> None:
    from course_utils.validation import RangeWarning

    model = dcgan.DCGAN(TINY, name="unit_range")
    unit = tf.data.Dataset.from_tensor_slices((real_batch(8) + 1.0) / 2.0).batch(4)
    with pytest.warns(RangeWarning, match="2 \\* x - 1"):
        model.train(unit, steps=1, progress=False)
