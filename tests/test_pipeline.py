"""Tests of the value-range converters and the tf.data pipeline helpers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_utils.pipeline import (
    describe_dataset,
    from_model_range,
    from_unit_range,
    make_dataset,
    to_model_range,
    to_unit_range,
)

ALL_VALUES = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)  # every uint8 value once, as (N, H, W)


def _numbered_images(n: int = 50, size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Images whose pixels all equal their index (so a batch shows which images it holds), and labels = index."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, size, size)).copy()
    return images, np.arange(n)


def _epoch_labels(ds: tf.data.Dataset) -> list[int]:
    return [int(v) for _, y in ds for v in y.numpy()]


# ------------------------------------------------------------------------------------ value ranges


def test_to_model_range_values_and_shape() -> None:
    x = to_model_range(ALL_VALUES)
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (4, 8, 8, 1)
    reference = ALL_VALUES.astype(np.float64)[..., None] / 127.5 - 1.0  # 127.5 is the middle
    np.testing.assert_allclose(x, reference, atol=1e-6)
    assert x.min() == -1.0 and x.max() == 1.0  # 0 -> -1 and 255 -> 1 exactly
    np.testing.assert_allclose(x.ravel()[127], -x.ravel()[128], atol=1e-7)  # symmetric about 127.5
    rgb = np.zeros((2, 3, 3, 3), np.uint8)
    assert to_model_range(rgb).shape == (2, 3, 3, 3)


def test_tensor_in_tensor_out() -> None:
    for forward in (to_model_range, to_unit_range):
        out = forward(tf.constant(ALL_VALUES))
        assert tf.is_tensor(out) and out.dtype == tf.float32 and out.shape == (4, 8, 8, 1)
        np.testing.assert_array_equal(out.numpy(), forward(ALL_VALUES))
    back = from_model_range(to_model_range(tf.constant(ALL_VALUES)))
    assert tf.is_tensor(back) and back.dtype == tf.uint8


def test_round_trips_are_identity() -> None:
    expected = ALL_VALUES[..., None]
    np.testing.assert_array_equal(from_model_range(to_model_range(ALL_VALUES)), expected)
    np.testing.assert_array_equal(from_unit_range(to_unit_range(ALL_VALUES)), expected)
    tensor = tf.constant(ALL_VALUES)
    np.testing.assert_array_equal(from_model_range(to_model_range(tensor)).numpy(), expected)
    np.testing.assert_array_equal(from_unit_range(to_unit_range(tensor)).numpy(), expected)


def test_unit_range_values() -> None:
    x = to_unit_range(ALL_VALUES)
    np.testing.assert_allclose(x, ALL_VALUES[..., None] / 255.0, atol=1e-7)
    assert x.min() == 0.0 and x.max() == 1.0


def test_from_ranges_clip_and_round() -> None:
    np.testing.assert_array_equal(from_model_range(np.array([-1.2, -1.0, 0.0, 1.0, 1.1])), [0, 0, 128, 255, 255])
    np.testing.assert_array_equal(from_unit_range(np.array([-0.2, 0.0, 0.5, 1.0, 1.2])), [0, 0, 128, 255, 255])
    np.testing.assert_array_equal(from_model_range(tf.constant([-1.2, 1.2])).numpy(), [0, 255])


def test_values_far_outside_the_range_are_refused_not_clipped() -> None:
    with pytest.raises(ValueError, match=r"values outside \[-1, 1\] \(from -3 to 2.5\)"):
        from_model_range(np.array([-3.0, -1.0, 0.0, 1.0, 2.5]))
    with pytest.raises(ValueError, match="0-255 pixel values"):
        from_unit_range(np.array([0.0, 0.5, 7.0, 255.0]))
    with pytest.raises(ValueError, match="NaN"):
        from_model_range(tf.constant([0.0, float("nan")]))


def test_range_errors_say_what_to_do() -> None:
    scaled = to_model_range(ALL_VALUES)
    expected = r"images must be uint8 in \[0, 255\]; got float32 array .* pass them unscaled"
    with pytest.raises(ValueError, match=expected):
        to_model_range(scaled)
    with pytest.raises(ValueError, match="add a batch axis with images"):
        to_model_range(np.zeros((28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"x must be floating point in \[-1, 1\] \(model range\); got uint8"):
        from_model_range(ALL_VALUES)
    with pytest.raises(ValueError, match=r"x must be floating point in \[0, 1\]"):
        from_unit_range(tf.constant(ALL_VALUES))


# --------------------------------------------------------------------------------------- datasets


def test_dataset_batches_shapes_and_values() -> None:
    images, labels = _numbered_images(50)
    ds = make_dataset(images, labels, batch_size=8, seed=1)
    batches = list(ds)
    assert len(batches) == 50 // 8  # the last 2 images are dropped
    for x, y in batches:
        assert x.shape == (8, 4, 4, 1) and x.dtype == tf.float32
        assert y.shape == (8,) and y.dtype == tf.int32
        # Each image still carries its own label after shuffling, and is scaled like to_model_range.
        np.testing.assert_array_equal(x.numpy(), to_model_range(images[y.numpy()]))
    seen = np.concatenate([y.numpy() for _, y in batches])
    assert len(set(seen.tolist())) == len(seen) == 48
    assert not np.array_equal(seen, np.arange(48)), "shuffle=True should change the order"


def test_dataset_without_labels_and_remainder() -> None:
    images, _ = _numbered_images(10)
    ds = make_dataset(images, batch_size=4, shuffle=False, drop_remainder=False)
    batches = [x.numpy() for x in ds]
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), to_model_range(images))
    assert ds.element_spec.shape.as_list() == [None, 4, 4, 1]
    fixed = make_dataset(images, batch_size=4)
    assert fixed.element_spec.shape.as_list() == [4, 4, 4, 1]  # drop_remainder gives a known batch size


def test_dataset_shuffle_is_seeded() -> None:
    images, labels = _numbered_images(64)
    first = _epoch_labels(make_dataset(images, labels, batch_size=8, seed=7))
    again = _epoch_labels(make_dataset(images, labels, batch_size=8, seed=7))
    other = _epoch_labels(make_dataset(images, labels, batch_size=8, seed=8))
    assert first == again
    assert first != other
    # A new order on each pass over the same dataset, always a permutation of all images.
    ds = make_dataset(images, labels, batch_size=8, seed=7)
    epoch_1, epoch_2 = _epoch_labels(ds), _epoch_labels(ds)
    assert epoch_1 != epoch_2 and sorted(epoch_1) == sorted(epoch_2) == list(range(64))


def test_dataset_repeat_augment_and_cache_off() -> None:
    images, labels = _numbered_images(12)
    ds = make_dataset(images, labels, batch_size=5, repeat=True, cache=False, augment=lambda x: -x)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    batches = list(ds.take(6))  # more than 12 images: the data repeats
    for x, y in batches:
        np.testing.assert_array_equal(x.numpy(), -to_model_range(images[y.numpy()]))
    assert "repeating forever" in describe_dataset(ds)


def test_describe_dataset() -> None:
    images, labels = _numbered_images(40)
    text = describe_dataset(make_dataset(images, labels, batch_size=16))
    assert text == "pairs of images float32 (16, 4, 4, 1) and labels int32 (16), 2 per pass"
    text = describe_dataset(make_dataset(images, batch_size=16, drop_remainder=False))
    assert text == "images float32 (any, 4, 4, 1), 3 per pass"


def test_dataset_errors_say_what_to_do() -> None:
    images, labels = _numbered_images(10)
    with pytest.raises(ValueError, match=r"batch_size \(32\) is larger than the number of images \(10\)"):
        make_dataset(images, batch_size=32)
    make_dataset(images, batch_size=32, drop_remainder=False)  # allowed: one short batch
    with pytest.raises(ValueError, match=r"images must be uint8 in \[0, 255\]; got float32 array of shape"):
        make_dataset(to_model_range(images), batch_size=4)
    with pytest.raises(ValueError, match=r"images must be a batch shaped .* got uint8 array of shape \(4, 4\)"):
        make_dataset(images[0], batch_size=2)
    with pytest.raises(ValueError, match=r"labels must be whole numbers, one per image, shaped \(10,\)"):
        make_dataset(images, labels[:5], batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be at least 1; got 0"):
        make_dataset(images, batch_size=0)
    with pytest.raises(TypeError, match="augment must be a function"):
        make_dataset(images, batch_size=2, augment="flip")
