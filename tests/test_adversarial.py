"""Lesson 11's helpers: the PatchGAN, its receptive field, the adversarial step, detail and realism."""

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from course_utils import adversarial, gan, inpainting


def _masks(n, size, seed=0):
    return inpainting.training_masks(max(n, 3), size, seed=seed)[:n]


# --------------------------------------------------------------------------- the discriminator


def test_patch_discriminator_gives_a_float32_grid_of_logits_without_normalisation():
    model = adversarial.build_patch_discriminator(image_size=32, width=4, n_layers=2)
    out = model(np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32))
    assert tuple(out.shape) == (3, 8, 8, 1) and out.dtype == tf.float32
    kinds = {type(layer).__name__ for layer in model.layers}
    assert not kinds & {"BatchNormalization", "LayerNormalization", "GroupNormalization", "Dropout"}
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.kernel_size[0], c.strides[0]) for c in convs] == adversarial.patch_layers(2)
    assert np.all(np.asarray(out) != 0)  # logits, not a squashed probability, and not dead


@pytest.mark.parametrize(
    "spec,expected",
    [
        ([(4, 2), (4, 2), (3, 1)], 18),  # 1 + 3·1 + 3·2 + 2·4
        ([(4, 2), (4, 2), (4, 2), (3, 1)], 38),  # 18 + 3·4, then the last layer adds 2·8 instead of 2·4
        ([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)], 70),  # pix2pix's 70x70 PatchGAN
        ([(3, 1)] * 3, 7),  # three 3x3 convolutions see 7x7
        ([(1, 1)], 1),
    ],
)
def test_receptive_field_matches_a_hand_count(spec, expected):
    assert adversarial.receptive_field(spec) == expected


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_receptive_field_of_the_model_is_the_region_one_logit_depends_on(n_layers):
    size = 64
    model = adversarial.build_patch_discriminator(image_size=size, width=2, n_layers=n_layers)
    expected = adversarial.receptive_field(adversarial.patch_layers(n_layers))
    assert adversarial.receptive_field(model) == expected
    x = tf.Variable(np.random.default_rng(1).random((1, size, size, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        out = model(x)
        centre = out.shape[1] // 2
        logit = out[0, centre, centre, 0]
    grad = np.abs(tape.gradient(logit, x).numpy()[0]).sum(axis=-1)
    rows, cols = np.nonzero(grad.sum(axis=1)), np.nonzero(grad.sum(axis=0))
    assert rows[0].max() - rows[0].min() + 1 == expected
    assert cols[0].max() - cols[0].min() + 1 == expected


def test_discriminator_and_receptive_field_reject_bad_arguments():
    with pytest.raises(ValueError, match="divisible by 2\\*\\*n_layers"):
        adversarial.build_patch_discriminator(image_size=20, width=4, n_layers=3)
    with pytest.raises(TypeError, match="whole number"):
        adversarial.build_patch_discriminator(image_size=32, width=4.0)
    with pytest.raises(ValueError, match="\\(kernel, stride\\) pair"):
        adversarial.receptive_field([(4, 2), 3])
    with pytest.raises(TypeError, match="Keras model or a list"):
        adversarial.receptive_field("PatchGAN")


# --------------------------------------------------------------------------- the training step


def _models(size=16, width=4):
    keras.utils.set_random_seed(0)
    g = inpainting.build_inpainter(image_size=size, width=width, depth=2)
    d = adversarial.build_patch_discriminator(image_size=size, width=width, n_layers=2)
    return g, d


def test_adversarial_step_returns_the_combined_loss_and_updates_both_networks():
    g, d = _models()
    rng = np.random.default_rng(0)
    images = rng.random((4, 16, 16, 3)).astype(np.float32)
    masks = _masks(4, 16)
    # the losses of the starting weights, computed by hand with the course's loss functions
    predictions = g([images * masks, masks])
    filled = masks * images + (1 - masks) * predictions.numpy()
    fake = tf.reshape(d(filled), [-1])
    real = tf.reshape(d(images), [-1])
    rec_losses = inpainting.inpainting_loss(images, predictions.numpy(), masks, hole_weight=3.0, valid_weight=0.5)
    rec = float(rec_losses["loss"])
    adv = float(gan.generator_loss(fake))
    d_ref = float(gan.discriminator_loss(real, fake))
    g_before, d_before = g.get_weights(), d.get_weights()
    step = adversarial.make_adversarial_train_step(
        g,
        d,
        keras.optimizers.Adam(1e-3),
        keras.optimizers.Adam(1e-3),
        adv_weight=0.1,
        hole_weight=3.0,
        valid_weight=0.5,
    )
    losses = step(images, masks)
    assert set(losses) == {"d_loss", "g_loss", "rec_loss", "adv_loss"}
    assert all(value.dtype == tf.float32 and value.shape == () for value in losses.values())
    np.testing.assert_allclose(float(losses["rec_loss"]), rec, rtol=1e-4)
    np.testing.assert_allclose(float(losses["adv_loss"]), adv, rtol=1e-4)
    np.testing.assert_allclose(float(losses["d_loss"]), d_ref, rtol=1e-4)
    np.testing.assert_allclose(float(losses["g_loss"]), rec + 0.1 * adv, rtol=1e-4)
    assert any(not np.allclose(a, b) for a, b in zip(g_before, g.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d_before, d.get_weights()))


def test_discriminator_learns_to_tell_photos_from_flat_fills():
    g, d = _models()
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 16, dtype=np.float32)
    images = 0.5 + 0.5 * np.sin(8 * x[None, :, None, None] + 8 * x[None, None, :, None] + rng.random((8, 1, 1, 3)))
    images = images.astype(np.float32)
    masks = np.tile(masks_centre(16), (8, 1, 1, 1))
    step = adversarial.make_adversarial_train_step(
        g, d, keras.optimizers.Adam(1e-5), keras.optimizers.Adam(2e-3), adv_weight=0.0
    )
    first = float(step(images, masks)["d_loss"])
    for _ in range(30):
        last = float(step(images, masks)["d_loss"])
    assert last < first - 0.2, (first, last)


def masks_centre(size):
    mask = np.ones((1, size, size, 1), np.float32)
    mask[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 0
    return mask


def test_adversarial_step_rejects_bad_arguments():
    g, d = _models()
    opt = keras.optimizers.Adam(1e-3)
    with pytest.raises(ValueError, match="two optimizers"):
        adversarial.make_adversarial_train_step(g, d, opt, opt)
    with pytest.raises(ValueError, match="adv_weight must be a number >= 0"):
        adversarial.make_adversarial_train_step(g, d, opt, keras.optimizers.Adam(), adv_weight=-1.0)
    other = adversarial.build_patch_discriminator(image_size=32, width=4, n_layers=2)
    with pytest.raises(ValueError, match="image_size=16"):
        adversarial.make_adversarial_train_step(g, other, opt, keras.optimizers.Adam())
    with pytest.raises(TypeError, match="Keras optimizer"):
        adversarial.make_adversarial_train_step(g, d, "adam", keras.optimizers.Adam())


# --------------------------------------------------------------------------- detail and realism


def _photo():
    from skimage import data

    return (data.astronaut()[100:164, 150:214] / 255.0).astype(np.float32)


def test_laplacian_matches_scipy_and_opencv():
    image = _photo()
    gray = image.astype(np.float64).mean(axis=-1)
    ours = adversarial.laplacian(image[None])[0]
    np.testing.assert_allclose(ours, ndimage.laplace(gray, mode="reflect"), atol=1e-10)
    reference = cv2.Laplacian(gray, cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(ours, reference, atol=1e-10)


def test_detail_is_the_variance_of_the_laplacian_and_blur_lowers_it():
    image = _photo()
    gray = image.astype(np.float64).mean(axis=-1)
    blurred = cv2.GaussianBlur(image, (0, 0), 1.5)
    values = adversarial.detail(np.stack([image, blurred]))
    np.testing.assert_allclose(values[0], ndimage.laplace(gray, mode="reflect").var(), rtol=1e-9)
    assert values[1] < 0.5 * values[0]
    flat = np.full((1, 16, 16, 3), 0.3, np.float32)
    assert adversarial.detail(flat)[0] == pytest.approx(0.0, abs=1e-12)


def test_detail_inside_the_hole_uses_only_hole_pixels():
    image = _photo()[None]
    mask = np.ones((1, 64, 64, 1), np.float32)
    mask[:, 16:48, 16:48] = 0
    smooth = image.copy()
    smooth[:, 16:48, 16:48] = image[:, 16:48, 16:48].mean()  # a flat fill: sharp outside, flat inside
    lap = ndimage.laplace(smooth[0].astype(np.float64).mean(axis=-1), mode="reflect")
    np.testing.assert_allclose(adversarial.detail(smooth, mask)[0], lap[16:48, 16:48].var(), rtol=1e-9)
    assert adversarial.detail(smooth, mask)[0] < adversarial.detail(image, mask)[0]
    assert adversarial.detail(image, np.ones_like(mask))[0] == 0.0  # no hole, nothing to measure


def test_detail_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Add a batch axis"):
        adversarial.detail(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="1 = known and 0 = hole"):
        adversarial.detail(np.zeros((1, 8, 8, 3), np.float32), np.ones((1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="only 0 \\(hole\\) and 1"):
        adversarial.detail(np.zeros((1, 8, 8, 3), np.float32), np.full((1, 8, 8, 1), 255.0, np.float32))


def test_pix2pix_layers_see_70_pixels():
    assert adversarial.receptive_field(list(adversarial.PIX2PIX_LAYERS)) == 70


def test_hole_features_line_up_the_hole_box_and_hole_kid_tells_blur_from_photos():
    from course_utils import masks as masks_module
    from course_utils import standins

    photos = standins.photo_crops(240, size=16, split="test", seed=0).astype(np.float32) / 255.0
    centre = masks_module.make_masks("center", len(photos), 16)
    features = adversarial.hole_features(photos, centre)
    assert features.shape == (len(photos), 2 * 8 * 8)
    grey = photos.mean(-1)[:, 4:12, 4:12]
    np.testing.assert_allclose(
        features[:, :64], (grey - grey.mean(axis=(1, 2), keepdims=True)).reshape(-1, 64), atol=1e-6
    )
    blurred = np.stack([cv2.GaussianBlur(p, (0, 0), 2.0) for p in photos])
    real_half, fill_half = photos[:120], photos[120:]
    floor = adversarial.hole_kid(fill_half, real_half, centre[120:], real_masks=centre[:120], subset_size=100)
    blur = adversarial.hole_kid(blurred[120:], real_half, centre[120:], real_masks=centre[:120], subset_size=100)
    assert blur[0] > floor[0] + 3 * max(blur[1], floor[1])
    with pytest.raises(ValueError, match="identical, non-empty"):
        adversarial.hole_features(photos[:6], inpainting.training_masks(6, 16))


def test_the_warm_up_trains_only_the_discriminator():
    inpainter = inpainting.build_inpainter(image_size=16, width=4, depth=2, start_from_fill=True)
    discriminator = adversarial.build_patch_discriminator(image_size=16, width=4, n_layers=2)
    trainer = type("Trainer", (), {})()
    trainer.model, trainer.discriminator, trainer.d_opt = inpainter, discriminator, keras.optimizers.Adam(5e-3)
    before_g, before_d = inpainter.get_weights(), discriminator.get_weights()
    images = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 3)).astype(np.float32)
    dataset = [(images, _masks(8, 16))]
    logs = adversarial.warm_up_discriminator(trainer, dataset, steps=12, progress=False)
    assert len(logs["d_loss"]) == 12 and logs["d_loss"][-1] < logs["d_loss"][0]
    assert logs["real"][-1] > logs["fake"][-1]
    assert all(np.array_equal(a, b) for a, b in zip(before_g, inpainter.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(before_d, discriminator.get_weights()))
    with pytest.raises(TypeError, match="AdversarialInpainter"):
        adversarial.warm_up_discriminator(object(), dataset, steps=1)


def test_a_discriminator_that_sees_the_mask_gets_it_and_the_hole_is_scored_against_a_teachers_fill():
    g, _ = _models()
    d = adversarial.build_patch_discriminator(image_size=16, width=4, n_layers=2, sees_mask=True)
    assert tuple(d.inputs[0].shape[1:]) == (16, 16, 4)
    rng = np.random.default_rng(2)
    images = rng.random((4, 16, 16, 3)).astype(np.float32)
    targets = rng.random((4, 16, 16, 3)).astype(np.float32)
    masks = _masks(4, 16)
    predictions = g([images * masks, masks]).numpy()
    filled = masks * images + (1 - masks) * predictions
    real = tf.reshape(d(np.concatenate([images, masks], -1)), [-1])
    fake = tf.reshape(d(np.concatenate([filled, masks], -1)), [-1])
    wanted = masks * images + (1 - masks) * targets  # the photo where known, the teacher's fill in the hole
    rec = float(inpainting.inpainting_loss(wanted, predictions, masks)["loss"])
    step = adversarial.make_adversarial_train_step(
        g, d, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), adv_weight=0.3
    )
    losses = step(images, masks, targets)
    np.testing.assert_allclose(float(losses["rec_loss"]), rec, rtol=1e-4)
    np.testing.assert_allclose(float(losses["d_loss"]), float(gan.discriminator_loss(real, fake)), rtol=1e-4)
    np.testing.assert_allclose(float(losses["adv_loss"]), float(gan.generator_loss(fake)), rtol=1e-4)
    np.testing.assert_allclose(float(losses["g_loss"]), rec + 0.3 * float(gan.generator_loss(fake)), rtol=1e-4)
    two_extra = adversarial.build_patch_discriminator(image_size=16, channels=5, width=4, n_layers=2)
    with pytest.raises(ValueError, match="sees_mask=True"):
        adversarial.make_adversarial_train_step(g, two_extra, keras.optimizers.Adam(), keras.optimizers.Adam())
    with pytest.raises(TypeError, match="sees_mask must be True or False"):
        adversarial.build_patch_discriminator(image_size=16, width=4, n_layers=2, sees_mask="yes")


def test_the_warm_up_takes_batches_with_a_teachers_fills_and_a_discriminator_that_sees_the_mask():
    inpainter = inpainting.build_inpainter(image_size=16, width=4, depth=2, start_from_fill=True)
    discriminator = adversarial.build_patch_discriminator(image_size=16, width=4, n_layers=2, sees_mask=True)
    trainer = type("Trainer", (), {})()
    trainer.model, trainer.discriminator, trainer.d_opt = inpainter, discriminator, keras.optimizers.Adam(5e-3)
    images = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 3)).astype(np.float32)
    dataset = [(images, _masks(8, 16), images)]
    logs = adversarial.warm_up_discriminator(trainer, dataset, steps=12, progress=False)
    assert logs["d_loss"][-1] < logs["d_loss"][0] and logs["real"][-1] > logs["fake"][-1]
