"""Tests of course_utils.inpainting (lesson 10): partial convolutions against Conv2D and max pooling, the U-Net,
the loss, training, resuming and mixed precision."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import inpainting as ip
from course_utils import masks as masks_module
from course_utils.datasets import ImageData


def _layer_with_bias(layer: ip.PartialConv2D, x: np.ndarray, mask: np.ndarray, seed: int = 0) -> tuple:
    """Build the layer on (x, mask), give it a random non-zero bias, and call it."""
    layer((x, mask))
    layer.bias.assign(np.random.default_rng(seed).normal(size=layer.filters).astype(np.float32))
    out, new_mask = layer((x, mask))
    return out.numpy(), new_mask.numpy()


def _conv_like(layer: ip.PartialConv2D, padding: str) -> keras.layers.Conv2D:
    conv = keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=padding)
    conv.build((None, None, None, layer.in_channels))
    conv.set_weights([layer.kernel.numpy(), layer.bias.numpy()])
    return conv


@pytest.mark.parametrize("strides", [1, 2])
def test_all_ones_mask_valid_padding_equals_conv2d(strides):
    x = np.random.default_rng(1).random((2, 9, 9, 3), dtype=np.float32)
    layer = ip.PartialConv2D(4, 3, strides=strides, padding="valid")
    out, new_mask = _layer_with_bias(layer, x, np.ones((2, 9, 9, 1), np.float32))
    np.testing.assert_allclose(out, _conv_like(layer, "valid")(x).numpy(), rtol=1e-5, atol=1e-5)
    assert np.all(new_mask == 1)


def test_all_ones_mask_same_padding_equals_conv2d_inside_and_is_renormalised_at_the_border():
    x = np.random.default_rng(2).random((2, 8, 8, 3), dtype=np.float32)
    layer = ip.PartialConv2D(5, 3, padding="same")
    out, new_mask = _layer_with_bias(layer, x, np.ones((2, 8, 8, 1), np.float32))
    conv = _conv_like(layer, "same")
    reference = conv(x).numpy()
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], reference[:, 1:-1, 1:-1], rtol=1e-5, atol=1e-5)
    # At the border the zero padding counts as hole: the sum W^T X is scaled by 9 / (pixels inside the image).
    inside = np.ones((8, 8))
    counts = np.array(
        [[inside[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].sum() for j in range(8)] for i in range(8)]
    )
    weighted_sum = reference - layer.bias.numpy()
    expected = weighted_sum * (9.0 / counts)[None, :, :, None] + layer.bias.numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(out[:, 0, 0], reference[:, 0, 0])  # the corners really differ from Conv2D
    assert np.all(new_mask == 1)


@pytest.mark.parametrize("strides,padding", [(1, "same"), (2, "same"), (1, "valid"), (2, "valid")])
def test_updated_mask_is_one_where_the_window_saw_a_known_pixel(strides, padding):
    rng = np.random.default_rng(3)
    mask = (rng.random((3, 12, 12, 1)) < 0.15).astype(np.float32)  # mostly hole, so the rule matters
    x = rng.random((3, 12, 12, 2), dtype=np.float32)
    _, new_mask = ip.PartialConv2D(2, 3, strides=strides, padding=padding)((x, mask))
    # Max pooling ignores its padding, which is what 'padding counts as hole' means for a 0/1 mask.
    expected = tf.nn.max_pool2d(mask, 3, strides, padding.upper()).numpy()
    np.testing.assert_array_equal(new_mask.numpy(), expected)
    assert 0 < expected.mean() < 1


def test_output_is_zero_in_holes_and_ignores_the_hidden_pixels():
    rng = np.random.default_rng(4)
    mask = np.ones((1, 10, 10, 1), np.float32)
    mask[:, 2:8, 2:8] = 0
    x = rng.random((1, 10, 10, 3), dtype=np.float32)
    scribbled = x.copy()
    scribbled[:, 2:8, 2:8] = rng.random((1, 6, 6, 3))
    layer = ip.PartialConv2D(4, 3)
    out, new_mask = _layer_with_bias(layer, x, mask)
    out2, _ = layer((scribbled, mask))
    np.testing.assert_array_equal(out, out2.numpy())
    assert np.all(out[new_mask[..., 0] == 0] == 0)
    assert new_mask[0, 3:7, 3:7].max() == 0 and new_mask[0, 2, 2, 0] == 1


def test_renormalisation_makes_a_constant_image_give_the_same_answer_under_any_mask():
    """With x = 1 and a kernel of ones, W^T(X⊙M) = sum(M), so the output is sum(1) wherever a pixel is known."""
    rng = np.random.default_rng(5)
    mask = (rng.random((2, 10, 10, 1)) < 0.4).astype(np.float32)
    layer = ip.PartialConv2D(1, 3, kernel_initializer="ones", padding="valid")
    out, new_mask = layer((np.ones((2, 10, 10, 2), np.float32), mask))
    np.testing.assert_allclose(out.numpy(), 9 * 2 * new_mask.numpy(), rtol=1e-6)


def test_a_mask_per_channel_equals_the_shared_mask_repeated():
    rng = np.random.default_rng(6)
    mask = (rng.random((2, 8, 8, 1)) < 0.5).astype(np.float32)
    x = rng.random((2, 8, 8, 3), dtype=np.float32)
    layer = ip.PartialConv2D(4, 3)
    shared, shared_mask = _layer_with_bias(layer, x, mask)
    per_channel, per_channel_mask = layer((x, np.repeat(mask, 3, axis=-1)))
    np.testing.assert_allclose(per_channel.numpy(), shared, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(per_channel_mask.numpy(), shared_mask)


@pytest.mark.parametrize("kernel", [3, 5])
def test_a_hole_larger_than_the_kernel_shrinks_by_the_kernel_radius_per_layer(kernel):
    radius = kernel // 2
    mask = np.ones((1, 32, 32, 1), np.float32)
    mask[:, 8:24, 8:24] = 0  # a 16 x 16 hole
    h = np.random.default_rng(7).random((1, 32, 32, 3), dtype=np.float32)
    side = 16
    for _ in range(3):
        h, mask = ip.PartialConv2D(3, kernel)((h, mask))
        side -= 2 * radius
        rows = np.flatnonzero(mask.numpy()[0, :, :, 0].min(axis=1) == 0)
        assert len(rows) == side
        assert float(tf.reduce_sum(1 - mask)) == side * side


def test_gradients_flow_to_the_weights_but_not_from_hidden_pixels():
    mask = np.ones((1, 8, 8, 1), np.float32)
    mask[:, 2:6, 2:6] = 0
    x = tf.Variable(np.random.default_rng(8).random((1, 8, 8, 2), dtype=np.float32))
    layer = ip.PartialConv2D(3, 3)
    with tf.GradientTape() as tape:
        out, _ = layer((x, mask))
        loss = tf.reduce_sum(out**2)
    grad_x, grad_kernel, grad_bias = tape.gradient(loss, [x, layer.kernel, layer.bias])
    assert np.all(np.isfinite(grad_kernel.numpy())) and np.abs(grad_kernel.numpy()).sum() > 0
    assert np.abs(grad_bias.numpy()).sum() > 0
    assert np.all(grad_x.numpy()[0, 2:6, 2:6] == 0) and np.abs(grad_x.numpy()[0, 0]).sum() > 0


def test_partial_conv_errors_are_plain():
    with pytest.raises(ValueError, match="'same' or 'valid'"):
        ip.PartialConv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match="1 channel or as many as x"):
        ip.PartialConv2D(4, 3)((np.zeros((1, 4, 4, 3), np.float32), np.ones((1, 4, 4, 2), np.float32)))


def test_gated_conv_shapes_and_gate_range():
    x = np.random.default_rng(9).normal(size=(2, 8, 8, 4)).astype(np.float32)
    layer = ip.GatedConv2D(6, 3, strides=2)
    out = layer(x)
    assert out.shape == (2, 4, 4, 6)
    gate = layer.gate(x).numpy()
    assert gate.shape == (2, 4, 4, 6) and gate.min() > 0 and gate.max() < 1
    features = keras.activations.elu(layer.feature_conv(x)).numpy()
    np.testing.assert_allclose(out.numpy(), features * gate, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- the U-Net and composite


@pytest.fixture(scope="module")
def small_model():
    keras.utils.set_random_seed(0)
    return ip.build_inpainter(image_size=16, width=4, depth=2)


def _batch(n=4, size=16, seed=10):
    rng = np.random.default_rng(seed)
    images = rng.random((n, size, size, 3), dtype=np.float32)
    masks = np.ones((n, size, size, 1), np.float32)
    masks[:, 4:12, 4:12] = 0
    masks[1, :, :2] = 0
    return images, masks


def test_unet_output_shape_range_and_dtype(small_model):
    images, masks = _batch()
    out = small_model([images * masks, masks])
    assert out.shape == images.shape and out.dtype == "float32"
    assert 0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1
    shapes = {layer.name: layer.output[0].shape for layer in small_model.layers if layer.name.startswith("enc")}
    assert [s[1] for s in shapes.values()] == [16, 8, 4]


def test_unet_prediction_does_not_depend_on_the_hidden_pixels(small_model):
    images, masks = _batch()
    other = np.where(masks == 1, images, np.random.default_rng(11).random(images.shape, dtype=np.float32))
    np.testing.assert_allclose(ip.predict(small_model, images, masks), ip.predict(small_model, other, masks), atol=1e-6)


def test_unet_size_must_divide():
    with pytest.raises(ValueError, match=r"divisible by 2\*\*depth = 8.*got image_size=20"):
        ip.build_inpainter(image_size=20, width=4, depth=3)


def test_composite_keeps_known_pixels_exactly():
    images, masks = _batch()
    predictions = np.random.default_rng(12).random(images.shape, dtype=np.float32)
    out = ip.composite(images, masks, predictions)
    known = np.broadcast_to(masks == 1, images.shape)
    np.testing.assert_array_equal(out[known], images[known])
    np.testing.assert_array_equal(out[~known], predictions[~known])


@pytest.mark.parametrize(
    "bad,match",
    [
        (lambda m: m * 255, "only 0 \\(hole\\) and 1"),
        (lambda m: m.astype(bool), "float32, 1 = known"),
        (lambda m: m[..., 0], "masks\\[..., None\\]"),
        (lambda m: m[:, :8], "must match the images"),
    ],
)
def test_mask_convention_violations_are_reported(bad, match):
    images, masks = _batch()
    with pytest.raises(ValueError, match=match):
        ip.composite(images, bad(masks), images)


def test_images_must_be_unit_range_floats():
    images, masks = _batch()
    with pytest.raises(ValueError, match="float32 in \\[0, 1\\].*255"):
        ip.composite((images * 255).astype(np.uint8), masks, images)


# --------------------------------------------------------------------------- the loss


def test_hole_only_error_gives_hole_weight_times_l1():
    images, masks = _batch()
    predictions = images + 0.1 * (1 - masks)  # wrong by 0.1 in the hole only
    losses = ip.inpainting_loss(images, predictions, masks, hole_weight=6.0, valid_weight=1.0)
    l1 = np.mean(np.abs(predictions - images))
    np.testing.assert_allclose(float(losses["loss"]), 6.0 * l1, rtol=1e-5)
    np.testing.assert_allclose(float(losses["hole"]), l1, rtol=1e-5)
    assert float(losses["valid"]) == 0


def test_loss_matches_a_numpy_reference():
    images, masks = _batch()
    predictions = np.random.default_rng(13).random(images.shape, dtype=np.float32)
    losses = ip.inpainting_loss(images, predictions, masks, hole_weight=4.0, valid_weight=2.0, tv_weight=0.5)
    error = np.abs(predictions - images)
    hole, valid = np.mean((1 - masks) * error), np.mean(masks * error)
    filled = masks * images + (1 - masks) * predictions
    tv = np.mean(np.abs(np.diff(filled, axis=1))) + np.mean(np.abs(np.diff(filled, axis=2)))
    np.testing.assert_allclose(float(losses["tv"]), tv, rtol=1e-5)
    np.testing.assert_allclose(float(losses["loss"]), 2 * valid + 4 * hole + 0.5 * tv, rtol=1e-5)
    with pytest.raises(ValueError, match="hole_weight must be a number >= 0"):
        ip.inpainting_loss(images, predictions, masks, hole_weight=-1)


# --------------------------------------------------------------------------- training


def test_a_few_train_steps_reduce_the_loss_on_a_fixed_batch():
    keras.utils.set_random_seed(1)
    model = ip.build_inpainter(image_size=16, width=4, depth=1)
    step = ip.make_train_step(model, keras.optimizers.Adam(3e-3), hole_weight=6.0, valid_weight=1.0)
    images, masks = _batch(8)
    losses = [float(step(images, masks)["loss"]) for _ in range(20)]
    assert losses[-1] < 0.9 * losses[0] and losses[-1] == min(losses), losses


def test_training_dataset_pairs_images_with_pool_masks():
    images = (np.random.default_rng(14).random((10, 16, 16, 3)) * 255).astype(np.uint8)
    pool = ip.training_masks(6, 16, seed=0)
    batches = list(ip.make_training_dataset(images, pool, batch_size=4))
    assert len(batches) == 2
    x, m = batches[0]
    assert x.shape == (4, 16, 16, 3) and x.dtype == tf.float32 and float(tf.reduce_max(x)) <= 1
    pool_set = {p.tobytes() for p in pool}
    assert all(mask.tobytes() in pool_set for mask in m.numpy())
    assert ip.steps_per_run(10, 4, 3) == 6 and ip.steps_per_run(10, 4, 3, max_steps=5) == 5


def _profile(**changes):
    knobs = dict(
        image_size=16, width=4, max_steps=None, jit_compile=False, n_train=16, n_test=4, batch_size=8, inpaint_epochs=2,
        photo_inpaint_epochs=2, mixed_precision=None,
    )
    knobs.update(changes)
    return SimpleNamespace(**knobs)


def test_inpainter_checkpoints_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    images, masks = _batch(8)
    dataset = ip.make_training_dataset(images, masks, batch_size=4)
    first = ip.Inpainter(_profile(), name="inpaint_test", depth=1, sample_images=images[:2], sample_masks=masks[:2])
    first.train(dataset, steps=3, sample_every=2, progress=False)
    assert first.step == 3 and first.run.latest_checkpoint is not None
    assert len(first.run.sample_paths) >= 2
    panel = first.samples()
    assert panel.shape == (8, 16, 16, 3)  # damaged, prediction, composite, truth for 2 images
    np.testing.assert_array_equal(panel[3], images[0])
    again = ip.Inpainter(_profile(), name="inpaint_test", depth=1)
    assert again.step == 3
    for a, b in zip(first.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    again.train(dataset, steps=5, progress=False)
    assert again.step == 5 and len(again.history) >= 1


def test_load_or_train_inpainter_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    images = (np.random.default_rng(15).random((16, 16, 16, 3)) * 255).astype(np.uint8)
    data = ImageData(images, None, images[:4], None, name="test", source="random pixels")
    profile = _profile(image_size=16, width=4)
    monkeypatch.setattr(ip, "build_inpainter", lambda **kw: _small_unet(**kw))
    model = ip.load_or_train_inpainter(profile, data=data, verbose=True)
    assert "Training the inpainter" in capsys.readouterr().out
    again = ip.load_or_train_inpainter(profile, data=data, verbose=True)
    assert "Loaded the inpainter" in capsys.readouterr().out
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_an_inpainter_trained_on_all_of_a_dataset_smaller_than_the_cap_is_loaded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    images = (np.random.default_rng(15).random((16, 16, 16, 3)) * 255).astype(np.uint8)
    data = ImageData(images, None, images[:4], None, name="test", source="random pixels")
    profile = _profile(n_train=20_000)  # a cap far above the 16 images given
    monkeypatch.setattr(ip, "build_inpainter", lambda **kw: _small_unet(**kw))
    ip.load_or_train_inpainter(profile, data=data, verbose=False)
    capsys.readouterr()
    ip.load_or_train_inpainter(profile, data=data, verbose=True)
    assert "Loaded the inpainter of run 'inpainter_photos': trained for 4 steps" in capsys.readouterr().out


_real_build = ip.build_inpainter


def _small_unet(**kwargs):
    kwargs["depth"] = 1
    return _real_build(**kwargs)


def test_mixed_float16_gives_finite_losses_and_float32_outputs():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = ip.build_inpainter(image_size=16, width=4, depth=1)
        step = ip.make_train_step(model, keras.optimizers.Adam(1e-3))
        images, masks = _batch()
        for _ in range(2):
            losses = step(images, masks)
            assert all(np.isfinite(float(v)) and v.dtype == tf.float32 for v in losses.values())
        assert model([images, masks]).dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_training_errors_are_plain():
    with pytest.raises(TypeError, match="Keras model"):
        ip.make_train_step("model", keras.optimizers.Adam())
    with pytest.raises(TypeError, match="run profile"):
        ip.Inpainter(object())


def test_inpainter_trains_in_the_profiles_precision_and_lessons_get_float32(
    tmp_path, monkeypatch, hardware_runs_any_precision
):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    images = (np.random.default_rng(15).random((8, 16, 16, 3)) * 255).astype(np.uint8)
    data = ImageData(images, None, images[:4], None, name="test", source="random pixels")
    profile = _profile(image_size=16, width=4, batch_size=4, mixed_precision="mixed_bfloat16")
    monkeypatch.setattr(ip, "build_inpainter", lambda **kw: _small_unet(**kw))
    trainer = ip.Inpainter(profile, name="bf16", depth=1)
    assert trainer.precision == "mixed_bfloat16"
    assert trainer.model.get_layer("enc0").compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    model = ip.load_or_train_inpainter(profile, data=data, name="bf16", verbose=False)
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}


def test_rebuild_inpainter_copies_architecture_and_weights_in_the_current_policy(hardware_runs_any_precision):
    original = ip.build_inpainter(image_size=16, width=4, depth=2)
    from course_utils import runtime

    with runtime.training_precision("mixed_bfloat16"):
        copy = ip.rebuild_inpainter(original)
    assert copy.get_layer("enc0").compute_dtype == "bfloat16" and original.get_layer("enc0").compute_dtype == "float32"
    assert [w.shape for w in copy.get_weights()] == [w.shape for w in original.get_weights()]
    for a, b in zip(copy.get_weights(), original.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="build_inpainter"):
        ip.rebuild_inpainter(keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3)]))


def test_both_inpainter_train_steps_explain_wrongly_shaped_batches():
    from course_utils import adversarial

    model = ip.build_inpainter(image_size=16, width=4, depth=1)
    discriminator = adversarial.build_patch_discriminator(image_size=16, channels=3, width=4, n_layers=1)
    steps = [
        ip.make_train_step(model, keras.optimizers.Adam(1e-3)),
        adversarial.make_adversarial_train_step(model, discriminator, keras.optimizers.Adam(), keras.optimizers.Adam()),
    ]
    images, masks = _batch()
    for step in steps:
        with pytest.raises(ValueError, match=r"takes images shaped \(N, 16, 16, 3\) and masks shaped \(N, 16, 16, 1\)"):
            step(images[:, :8, :8], masks[:, :8, :8])
        with pytest.raises(ValueError, match="masks shaped"):
            step(images, np.concatenate([masks, masks], axis=-1))
    converted = ip.step_inputs(images.astype(np.float64), masks, (16, 16, 3))
    assert all(t.dtype == tf.float32 for t in converted)


# --------------------------------------------------------------------------- starting from a classical fill


def _harmonic_reference(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Laplace's equation in the hole (4 neighbours, reflecting border), solved exactly with SciPy."""
    from scipy.sparse import lil_matrix
    from scipy.sparse.linalg import spsolve

    h, w = hole.shape
    index = -np.ones((h, w), int)
    index[hole] = np.arange(hole.sum())
    matrix, rhs = lil_matrix((hole.sum(), hole.sum())), np.zeros(hole.sum())
    for (i, j), k in zip(np.argwhere(hole), index[hole]):
        neighbours = [(i + di, j + dj) for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1))]
        neighbours = [(a, b) for a, b in neighbours if 0 <= a < h and 0 <= b < w]
        matrix[k, k] = len(neighbours)
        for a, b in neighbours:
            if hole[a, b]:
                matrix[k, index[a, b]] -= 1
            else:
                rhs[k] += image[a, b]
    out = image.copy()
    out[hole] = spsolve(matrix.tocsr(), rhs)
    return out


@pytest.mark.parametrize("kind", ["center", "free_form"])
def test_smooth_fill_converges_to_scipys_solution_of_laplaces_equation(kind):
    from course_utils import masks as masks_module

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (1, 16, 16, 1)).astype(np.float32)
    mask = masks_module.make_masks(kind, 1, 16, seed=2)
    reference = _harmonic_reference(image[0, :, :, 0].astype(np.float64), mask[0, :, :, 0] == 0)
    exact = ip.SmoothFill(iterations=600)((image * mask, mask)).numpy()[0, :, :, 0]
    np.testing.assert_allclose(exact, reference, atol=1e-4)
    quick = ip.SmoothFill()((image * mask, mask)).numpy()[0, :, :, 0]  # the default: a few sweeps per size
    assert np.abs(quick - reference).mean() < 0.02 and np.abs(quick - reference).max() < 0.1
    np.testing.assert_array_equal(quick[mask[0, :, :, 0] == 1], image[0, :, :, 0][mask[0, :, :, 0] == 1])


def test_smooth_fill_keeps_a_flat_colour_and_greys_an_empty_photo():
    flat = np.full((2, 8, 8, 3), 0.3, np.float32)
    mask = np.ones((2, 8, 8, 1), np.float32)
    mask[0, 2:6, 2:6] = 0
    mask[1] = 0
    out = ip.SmoothFill()((flat * mask, mask)).numpy()
    np.testing.assert_allclose(out[0], 0.3, atol=1e-6)
    np.testing.assert_allclose(out[1], 0.5)
    with pytest.raises(ValueError, match="iterations"):
        ip.SmoothFill(iterations=-1)


def test_a_fill_correcting_unet_starts_as_the_smooth_fill_and_learns_a_correction():
    model = ip.build_inpainter(image_size=16, width=4, depth=2, start_from_fill=True)
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
    masks = np.ones((4, 16, 16, 1), np.float32)
    masks[:, 4:12, 4:12] = 0
    fill = ip.SmoothFill()((images * masks, masks)).numpy()
    np.testing.assert_allclose(ip.predict(model, images, masks), np.clip(fill, 1e-3, 1 - 1e-3), atol=1e-5)
    step = ip.make_train_step(model, keras.optimizers.Adam(1e-2))
    first = float(step(images, masks)["hole"])
    for _ in range(10):
        last = float(step(images, masks)["hole"])
    assert last < first
    copy = ip.rebuild_inpainter(model)
    assert copy.get_layer("smooth_fill") is not None and copy.name == "fill_correcting_unet"
    np.testing.assert_allclose(ip.predict(copy, images, masks), ip.predict(model, images, masks), atol=1e-6)
    with pytest.raises(TypeError, match="start_from_fill"):
        ip.build_inpainter(image_size=16, width=4, depth=2, start_from_fill="yes")


def test_augment_photos_uses_only_the_squares_symmetries_and_grey():
    tf.random.set_seed(3)
    images = np.random.default_rng(0).uniform(0, 1, (64, 8, 8, 3)).astype(np.float32)
    out = ip.augment_photos(images).numpy()
    assert out.shape == images.shape
    greys = 0
    for original, changed in zip(images, out):
        grey = np.repeat(original.mean(-1, keepdims=True), 3, -1)
        bases = (original, original[:, ::-1], grey, grey[:, ::-1])
        candidates = [np.rot90(base, k) for base in bases for k in range(4)]
        matches = [i for i, c in enumerate(candidates) if np.allclose(c, changed, atol=1e-6)]
        assert matches, "every output is a flip/turn of its photo, in colour or grey"
        greys += matches[0] >= 8
    assert 0 < greys < len(images) // 2
    with pytest.raises(ValueError, match="square"):
        ip.augment_photos(np.zeros((2, 8, 6, 3), np.float32))


def test_an_augmented_training_dataset_keeps_shapes_and_range():
    images = np.random.default_rng(0).uniform(0, 1, (16, 8, 8, 3)).astype(np.float32)
    pool = ip.training_masks(6, 8)
    batch, masks = next(iter(ip.make_training_dataset(images, pool, batch_size=8, augment=True)))
    assert batch.shape == (8, 8, 8, 3) and masks.shape == (8, 8, 8, 1)
    assert 0.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0
    with pytest.raises(TypeError, match="augment"):
        ip.make_training_dataset(images, pool, batch_size=8, augment=1)


def _digit_profile(**changes):
    profile = _profile(**changes)
    profile.replace = lambda **more: SimpleNamespace(**{**vars(profile), **more})
    return profile


def test_the_digit_inpainter_trains_once_on_the_large_holes_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    digits = np.random.default_rng(3).random((16, 28, 28, 1)).astype(np.float32)
    profile = _digit_profile(n_train=20_000)  # a cap above the 16 digits: all are used, 2 epochs of 2 steps
    model = ip.load_or_train_digit_inpainter(profile, digits)
    assert "Training the digit inpainter" in capsys.readouterr().out
    assert model.inputs[0].shape[1:] == (28, 28, 1) and model.get_layer("enc2").output[0].shape[1] == 7
    again = ip.load_or_train_digit_inpainter(profile, digits)
    assert "Loaded the digit inpainter of run 'inpainter_digits': trained for 4 steps" in capsys.readouterr().out
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_digit_inpainter_says_what_shape_it_needs():
    with pytest.raises(ValueError, match=r"x\[\.\.\., None\]"):
        ip.load_or_train_digit_inpainter(_digit_profile(), np.zeros((16, 28, 28), np.float32))
    with pytest.raises(ValueError, match="at least batch_size = 8 digits; got 4"):
        ip.load_or_train_digit_inpainter(_digit_profile(), np.zeros((4, 28, 28, 1), np.float32))


def test_the_digit_mask_pool_holds_both_large_holes():
    pool = ip.digit_training_masks()
    assert pool.shape == (2000, 28, 28, 1)
    for kind in masks_module.LARGE_HOLE_KINDS:
        hole = masks_module.large_hole(kind, 1)[0]
        assert sum(np.array_equal(m, hole) for m in pool[1000:]) == 500
