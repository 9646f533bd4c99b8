"""Tests of course_utils.gaussian_prior (lesson 10): the fill against the textbook conditional mean and, for a
membrane prior, against Laplace's equation; the fit against explicit augmentation; the teacher's training data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import inpainting as ip
from course_utils import masks as masks_module
from course_utils.gaussian_prior import GaussianPrior


def _photos(n: int, side: int = 8, seed: int = 0) -> np.ndarray:
    """Smooth random colour photos in [0, 1]: blurred noise, so neighbouring pixels are correlated."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n, side // 2, side // 2, 3)).astype(np.float32)
    return tf.image.resize(coarse, (side, side), method="bilinear").numpy().clip(0, 1)


def _masks(n: int, side: int = 8, seed: int = 1) -> np.ndarray:
    masks = (np.random.default_rng(seed).random((n, side, side, 1)) > 0.35).astype(np.float32)
    masks[0] = 1.0  # one photo without a hole
    masks[1, 2:6, 2:6] = 0.0  # one with a square hole
    return masks


def test_the_fill_is_the_gaussian_conditional_mean():
    side = 8
    rng = np.random.default_rng(3)
    basis = rng.normal(size=(side * side, side * side))
    covariance = basis @ basis.T / side**2 + np.eye(side * side) * 0.01
    prior = GaussianPrior(0.4, covariance, ridge=1e-3)
    photos, masks = _photos(6, side), _masks(6, side)
    filled = prior.fill(photos, masks)
    sigma = covariance + 1e-3 * np.eye(side * side)
    for photo, mask, ours in zip(photos, masks, filled):
        known = mask.ravel() == 1
        centred = photo.reshape(-1, 3).astype(np.float64) - 0.4
        expected = centred.copy()
        if (~known).any():
            weights = np.linalg.solve(sigma[np.ix_(known, known)], centred[known])
            expected[~known] = sigma[np.ix_(~known, known)] @ weights
        np.testing.assert_allclose(ours, np.clip(expected + 0.4, 0, 1).reshape(photo.shape), atol=2e-5)


def test_a_membrane_prior_fills_like_laplaces_equation():
    """Precision = the grid's Laplacian (free border): the conditional mean is the harmonic fill of SmoothFill."""
    side = 8
    index = np.arange(side * side).reshape(side, side)
    laplacian = np.zeros((side * side, side * side))
    for a, b in [*zip(index[:, :-1].ravel(), index[:, 1:].ravel()), *zip(index[:-1].ravel(), index[1:].ravel())]:
        laplacian[[a, b], [a, b]] += 1
        laplacian[a, b] = laplacian[b, a] = -1
    prior = GaussianPrior(0.5, np.linalg.inv(laplacian + 1e-6 * np.eye(side * side)), ridge=1e-9)
    photos, masks = _photos(4, side), _masks(4, side)
    harmonic = ip.SmoothFill(iterations=400)((photos * masks, masks)).numpy()
    np.testing.assert_allclose(prior.fill(photos, masks), harmonic, atol=1e-3)


def test_fit_is_the_covariance_of_the_photos_in_all_eight_orientations_and_channels():
    photos = _photos(20, 6, seed=4)
    prior = GaussianPrior.fit(photos)
    turned = [photos, photos[:, ::-1], photos[:, :, ::-1], photos[:, ::-1, ::-1]]
    turned += [np.swapaxes(p, 1, 2) for p in turned]
    rows = np.concatenate([np.moveaxis(p, -1, 1).reshape(-1, 36) for p in turned]).astype(np.float64)
    assert prior.mean == pytest.approx(rows.mean(), abs=1e-6)
    centred = rows - rows.mean()  # about the one mean brightness the prior has, not a mean per pixel
    np.testing.assert_allclose(prior.covariance, centred.T @ centred / len(rows), atol=1e-6)
    distances, correlation = prior.correlation()
    assert list(distances) == list(range(6)) and correlation[0] == pytest.approx(1.0)
    assert 1 > correlation[1] > correlation[2] > correlation[3]  # smooth photos: nearer pixels are more alike


def test_the_fill_keeps_known_pixels_and_stays_in_range():
    photos, masks = _photos(8), _masks(8)
    prior = GaussianPrior.fit(_photos(50, seed=5))
    filled = prior.fill(photos, masks)
    assert filled.dtype == np.float32 and filled.shape == photos.shape
    np.testing.assert_array_equal(filled[masks[..., 0] == 1], photos[masks[..., 0] == 1])
    np.testing.assert_array_equal(filled[0], photos[0])  # no hole: nothing changes
    assert filled.min() >= 0 and filled.max() <= 1
    everything = prior.fill_tensor(photos[:1], np.zeros_like(masks[:1])).numpy()  # all hole: the mean brightness
    np.testing.assert_allclose(everything, prior.mean, atol=1e-5)


def test_the_prior_beats_mean_fill_on_smooth_photos():
    prior = GaussianPrior.fit(_photos(200, seed=6))
    photos, masks = _photos(50, seed=7), _masks(50, seed=8)
    hole = masks == 0
    ours = np.abs(prior.fill(photos, masks) - photos)[np.broadcast_to(hole, photos.shape)].mean()
    flat = np.abs(prior.mean - photos)[np.broadcast_to(hole, photos.shape)].mean()
    assert ours < 0.5 * flat


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 8, 8, 3), np.uint8), "divide by 255"),
        (np.full((2, 8, 8, 3), -0.5, np.float32), r"\(x \+ 1\) / 2"),
        (np.zeros((2, 8, 6, 3), np.float32), "square photos"),
        (np.zeros((2, 128, 128, 1), np.float32), "up to 64"),
    ],
)
def test_bad_photos_get_a_clear_error(images, message):
    with pytest.raises(ValueError, match=message):
        GaussianPrior.fit(images)


def test_a_fill_of_other_sized_photos_or_masks_is_refused():
    prior = GaussianPrior.fit(_photos(20))
    with pytest.raises(ValueError, match="fitted on 8x8"):
        prior.fill(_photos(2, 16), np.ones((2, 16, 16, 1), np.float32))
    with pytest.raises(ValueError, match="mask"):
        prior.fill(_photos(2), np.ones((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="symmetric"):
        GaussianPrior(0.5, np.triu(np.ones((16, 16))))


def test_a_teacher_dataset_yields_the_teachers_fill_of_each_augmented_pair():
    photos = _photos(32, seed=9)
    prior = GaussianPrior.fit(_photos(100, seed=10))
    pool = masks_module.make_masks("boxes", 10, 8, seed=2)
    tf.random.set_seed(0)
    ds = ip.make_training_dataset(photos, pool, batch_size=16, augment=True, teacher=prior)
    for images, masks, fills in ds.take(2):
        assert images.shape == (16, 8, 8, 3) and masks.shape == (16, 8, 8, 1) and fills.shape == (16, 8, 8, 3)
        assert set(np.unique(masks.numpy())) <= {0.0, 1.0}
        np.testing.assert_allclose(fills.numpy(), prior.fill(images.numpy(), masks.numpy()), atol=2e-3)
    with pytest.raises(TypeError, match="teacher must be a fitted prior"):
        ip.make_training_dataset(photos, pool, batch_size=16, teacher="biharmonic")


def test_the_distillation_loss_is_the_mean_log_squared_error_per_photo_plus_the_valid_l1():
    rng = np.random.default_rng(11)
    photos, targets, predictions = (rng.random((3, 8, 8, 3), dtype=np.float32) for _ in range(3))
    masks = _masks(3)
    losses = ip.distillation_loss(photos, targets, predictions, masks)
    hole = 1 - masks
    per_photo = np.mean(hole * (predictions - targets) ** 2, axis=(1, 2, 3))
    log_mse = np.mean(np.log(per_photo + ip.DISTILL_EPSILON))
    valid = np.mean(masks * np.abs(predictions - photos))
    assert float(losses["log_mse"]) == pytest.approx(log_mse, rel=1e-5)
    assert float(losses["valid"]) == pytest.approx(valid, rel=1e-5)
    assert float(losses["loss"]) == pytest.approx(log_mse + valid, rel=1e-5)
    assert float(losses["hole"]) == pytest.approx(np.mean(hole * np.abs(predictions - targets)), rel=1e-5)
    # a photo off by 0.01 in its hole costs as much as one off by 0.1: each counts by its relative error
    # (photos 1 and 2, which have holes; photo 0 has none and costs log(ε) whatever the prediction)
    small = ip.distillation_loss(photos[1:], targets[1:], targets[1:] + 0.01 * hole[1:], masks[1:])["log_mse"]
    large = ip.distillation_loss(photos[1:], targets[1:], targets[1:] + 0.1 * hole[1:], masks[1:])["log_mse"]
    assert float(large) - float(small) == pytest.approx(2 * np.log(10), rel=1e-3)
    with pytest.raises(ValueError, match="valid_weight"):
        ip.distillation_loss(photos, targets, predictions, masks, valid_weight=-1)


def test_a_train_step_with_a_teachers_fills_minimises_the_distillation_loss():
    keras.utils.set_random_seed(0)
    photos, masks = _photos(4, 16), masks_module.make_masks("center", 4, 16)
    teacher = np.clip(photos + 0.05, 0, 1)
    model = ip.build_inpainter(image_size=16, width=4, depth=2)
    plain = ip.make_train_step(model, keras.optimizers.SGD(0.0))(photos, masks)
    taught = ip.make_train_step(model, keras.optimizers.SGD(0.0))(photos, masks, teacher)
    expected = ip.distillation_loss(photos, teacher, ip.predict(model, photos, masks), masks)
    for name in ("loss", "log_mse", "valid"):
        assert float(taught[name]) == pytest.approx(float(expected[name]), rel=1e-4)
    assert "log_mse" not in plain and float(plain["valid"]) == pytest.approx(float(taught["valid"]), rel=1e-5)
    before = [w.numpy().copy() for w in model.trainable_variables]
    step = ip.make_train_step(model, keras.optimizers.Adam(1e-2))
    for _ in range(3):
        step(photos, masks, teacher)
    assert any(np.abs(a - w.numpy()).max() > 0 for a, w in zip(before, model.trainable_variables))


def test_a_taught_train_step_runs_under_the_gpu_profiles_mixed_float16_and_xla():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        photos, masks = _photos(4, 16), masks_module.make_masks("boxes", 4, 16)
        teacher = GaussianPrior.fit(_photos(40, 16, seed=12)).fill(photos, masks)
        model = ip.build_inpainter(image_size=16, width=4, depth=2)
        step = ip.make_train_step(model, keras.optimizers.Adam(1e-3), jit_compile=True)
        for _ in range(2):
            losses = step(photos, masks, teacher)
            assert all(np.isfinite(float(v)) and v.dtype == tf.float32 for v in losses.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _small_prior(side: int = 4, scale: float = 0.002) -> GaussianPrior:
    """A random prior with a small spread around 0.5, so that clipping to [0, 1] never matters."""
    rng = np.random.default_rng(11)
    basis = rng.normal(size=(side * side, side * side))
    return GaussianPrior(0.5, scale * (basis @ basis.T / side**2 + 0.1 * np.eye(side * side)), ridge=1e-4)


def test_a_sample_has_the_conditional_mean_and_covariance():
    side, n = 4, 4000
    prior = _small_prior(side)
    photo = np.full((1, side, side, 3), 0.5, np.float32) + np.linspace(-0.05, 0.05, side)[None, :, None, None]
    mask = np.ones((1, side, side, 1), np.float32)
    mask[0, 1:3, 1:4] = 0.0
    photos, masks = np.repeat(photo, n, axis=0).astype(np.float32), np.repeat(mask, n, axis=0)
    drawn = prior.sample(photos, masks, seed=3)
    hole = mask.ravel() == 0
    values = drawn.reshape(n, -1, 3)[:, hole].astype(np.float64)  # (n, hole pixels, channels)
    np.testing.assert_allclose(values.mean(axis=0), prior.fill(photo, mask).reshape(-1, 3)[hole], atol=2e-3)
    expected = np.linalg.inv(prior.precision[np.ix_(hole, hole)])  # Q_HH⁻¹
    for channel in range(3):
        np.testing.assert_allclose(np.cov(values[:, :, channel].T), expected, atol=0.06 * expected.max())
    deviation = values - values.mean(axis=0)
    np.testing.assert_allclose(deviation[..., 1], deviation[..., 0], atol=1e-6)  # the channels move together
    np.testing.assert_array_equal(drawn[masks[..., 0] == 1], photos[masks[..., 0] == 1])


def test_a_sample_costs_twice_the_squared_error_of_the_mean_on_gaussian_photos():
    side, n = 4, 3000
    prior = _small_prior(side)
    rng = np.random.default_rng(5)
    sigma = np.linalg.inv(prior.precision)  # the model's covariance, ridge included
    flat = rng.multivariate_normal(np.full(side * side, 0.5), sigma, size=(n, 3))  # (n, channels, pixels)
    photos = np.moveaxis(flat, 1, -1).reshape(n, side, side, 3).astype(np.float32)
    masks = _masks(n, side, seed=6)
    hole = masks[..., 0] == 0
    guess_error = np.mean((prior.fill(photos, masks)[hole] - photos[hole]) ** 2)
    draw_error = np.mean((prior.sample(photos, masks, seed=1)[hole] - photos[hole]) ** 2)
    assert draw_error / guess_error == pytest.approx(2.0, rel=0.08)


def test_samples_are_reproducible_and_checked():
    photos, masks = _photos(6), _masks(6)
    prior = GaussianPrior.fit(_photos(50, seed=5))
    first = prior.sample(photos, masks, seed=2)
    np.testing.assert_array_equal(first, prior.sample(photos, masks, seed=2))
    assert not np.array_equal(first, prior.sample(photos, masks, seed=3))
    np.testing.assert_array_equal(first[0], photos[0])  # no hole, nothing drawn
    assert first.min() >= 0 and first.max() <= 1
    with pytest.raises(ValueError, match="seed"):
        prior.sample(photos, masks, seed=-1)
