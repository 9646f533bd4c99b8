"""From uint8 image arrays to the float tensors models train on: value ranges and tf.data input pipelines.

Two ranges are used in the course:

* **model range**, float32 in [-1, 1]: what a DCGAN generator's ``tanh`` produces, so real images are
  scaled the same way before they meet the discriminator (lessons 05-08, 11, 12);
* **unit range**, float32 in [0, 1]: what the restoration lessons use for PSNR, SSIM and masks (lessons 09-11).

Every converter accepts a NumPy array or a TensorFlow tensor and returns the same kind it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from course_utils.validation import check_pixel_range, check_positive_int, describe

__all__ = [
    "describe_dataset",
    "from_model_range",
    "from_unit_range",
    "make_dataset",
    "to_model_range",
    "to_unit_range",
]

ArrayOrTensor = Any  # np.ndarray or tf.Tensor: each function returns the kind it was given


def _tensor_to_model_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 tensor -> float32 in [-1, 1]; the one formula behind to_model_range and make_dataset."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _as_checked_uint8_batch(name: str, images: ArrayOrTensor, hint: str) -> tuple[ArrayOrTensor, bool]:
    """Check ``images`` is a uint8 batch (N, H, W) or (N, H, W, C); return it with a channel axis."""
    is_tensor = tf.is_tensor(images)
    if not is_tensor:
        images = np.asarray(images)
    dtype = images.dtype.as_numpy_dtype if is_tensor else images.dtype
    if dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 in [0, 255]; got {describe(images)}{hint}.")
    rank = len(images.shape)
    if rank not in (3, 4):
        raise ValueError(
            f"{name} must be a batch of images shaped (N, height, width) or (N, height, width, channels); "
            f"got {describe(images)}"
            + (" (a single image: add a batch axis with images[None])" if rank == 2 else "")
            + "."
        )
    if rank == 3:
        images = images[..., None]
    return images, is_tensor


def _check_float(
    name: str, x: ArrayOrTensor, expected: str, hint: str, convention: str
) -> tuple[ArrayOrTensor, bool]:
    """Check ``x`` is floating point in ``convention``; return it (an array unless a tensor) and whether a tensor.

    Values a little outside the range are clipped by the callers; values of another convention are refused.
    """
    is_tensor = tf.is_tensor(x)
    if not is_tensor:
        x = np.asarray(x)
    floating = x.dtype.is_floating if is_tensor else np.issubdtype(x.dtype, np.floating)
    if not floating:
        raise ValueError(f"{name} must be floating point in {expected}; got {describe(x)}{hint}.")
    if not is_tensor or tf.executing_eagerly():  # inside a tf.function the values are not known yet
        check_pixel_range(name, x, convention, slack=0.25)
    return x, is_tensor


def to_model_range(images: ArrayOrTensor) -> ArrayOrTensor:
    """Scale uint8 images [0, 255] to float32 in [-1, 1] (0 -> -1, 255 -> 1), as (N, H, W, C); lesson 06.

    Accepts a NumPy array (returns one) or a tensor (returns one). A 3-D input is read as a batch of
    grey images (N, H, W) and comes back as (N, H, W, 1).
    """
    images, is_tensor = _as_checked_uint8_batch(
        "images", images, " — to_model_range scales the uint8 pictures itself; pass them unscaled"
    )
    if is_tensor:
        return _tensor_to_model_range(images)
    return images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def from_model_range(x: ArrayOrTensor) -> ArrayOrTensor:
    """Turn float images in [-1, 1] (e.g. a generator's output) into uint8 [0, 255], clipping; lesson 06.

    The shape is kept. NumPy in, NumPy out; tensor in, tensor out. Values far outside [-1, 1] (0-255
    pixels) raise ValueError; a batch that spans [0, 1] warns that it may be unit-range images.
    """
    x, is_tensor = _check_float(
        "x",
        x,
        "[-1, 1] (model range)",
        " — it is not model-range output; from_model_range undoes to_model_range",
        "model",
    )
    if is_tensor:
        scaled = (tf.cast(x, tf.float32) + 1.0) * 127.5
        return tf.cast(tf.round(tf.clip_by_value(scaled, 0.0, 255.0)), tf.uint8)
    scaled = (x.astype(np.float32) + np.float32(1.0)) * np.float32(127.5)
    return np.round(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def to_unit_range(images: ArrayOrTensor) -> ArrayOrTensor:
    """Scale uint8 images [0, 255] to float32 in [0, 1], as (N, H, W, C); lesson 09.

    A 3-D input is read as a batch of grey images (N, H, W) and comes back as (N, H, W, 1).

    NumPy in, NumPy out; tensor in, tensor out.
    """
    images, is_tensor = _as_checked_uint8_batch(
        "images", images, " — to_unit_range scales the uint8 pictures itself; pass them unscaled"
    )
    if is_tensor:
        return tf.cast(images, tf.float32) / 255.0
    return images.astype(np.float32) / np.float32(255.0)


def from_unit_range(x: ArrayOrTensor) -> ArrayOrTensor:
    """Turn float images in [0, 1] (e.g. an inpainter's output) into uint8 [0, 255], clipping; lesson 09.

    The shape is kept. NumPy in, NumPy out; tensor in, tensor out. Values far outside [0, 1] (model-range
    images down to -1, or 0-255 pixels) raise ValueError.
    """
    x, is_tensor = _check_float(
        "x", x, "[0, 1] (unit range)", " — it is not unit-range output; from_unit_range undoes to_unit_range", "unit"
    )
    if is_tensor:
        scaled = tf.cast(x, tf.float32) * 255.0
        return tf.cast(tf.round(tf.clip_by_value(scaled, 0.0, 255.0)), tf.uint8)
    scaled = x.astype(np.float32) * np.float32(255.0)
    return np.round(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool = True,
    drop_remainder: bool = True,
    repeat: bool = False,
    augment: Callable[[tf.Tensor], tf.Tensor] | None = None,
) -> tf.data.Dataset:
    """A tf.data pipeline of float32 image batches in [-1, 1] (with int32 labels if given) from uint8 images; lesson 06.

    Steps: scale each image to model range (:func:`to_model_range`), ``cache`` the scaled images in
    memory (4 bytes a pixel: set ``cache=False`` for very large colour sets), ``shuffle`` with a buffer
    holding the whole set (a new order each pass, the same orders for the same ``seed``), ``repeat``
    forever if asked, batch (``drop_remainder`` keeps every batch the same size, which ``tf.function``
    likes), apply ``augment`` to each image batch, and prefetch the next batch while the model trains.
    """
    array = images.numpy() if tf.is_tensor(images) else np.asarray(images)
    if array.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 in [0, 255]; got {describe(array)} — make_dataset scales the uint8 "
            "pictures itself; pass them unscaled."
        )
    if array.ndim not in (3, 4):
        raise ValueError(
            f"images must be a batch shaped (N, height, width) or (N, height, width, channels); got {describe(array)}."
        )
    if array.ndim == 3:
        array = array[..., None]
    count = len(array)
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_positive_int("seed", seed, minimum=0)
    if count == 0:
        raise ValueError(f"images is empty; got {describe(array)}.")
    if drop_remainder and batch_size > count:
        raise ValueError(
            f"batch_size ({batch_size}) is larger than the number of images ({count}), so with "
            "drop_remainder=True there would be no batch at all; use a smaller batch_size or drop_remainder=False."
        )
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function from an image batch to an image batch; got {describe(augment)}.")

    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(array)
        ds = ds.map(_tensor_to_model_range, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        label_array = labels.numpy() if tf.is_tensor(labels) else np.asarray(labels)
        if label_array.shape != (count,) or not np.issubdtype(label_array.dtype, np.integer):
            raise ValueError(
                f"labels must be whole numbers, one per image, shaped ({count},); got {describe(label_array)}."
            )
        ds = tf.data.Dataset.from_tensor_slices((array, label_array.astype(np.int32)))
        ds = ds.map(lambda x, y: (_tensor_to_model_range(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if augment is not None:
        if labels is None:
            ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(lambda x, y: (augment(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _describe_spec(spec: tf.TensorSpec) -> str:
    dims = ", ".join("any" if d is None else str(d) for d in spec.shape.as_list())
    return f"{spec.dtype.name} ({dims})"


def describe_dataset(ds: tf.data.Dataset) -> str:
    """Say in words what a dataset yields, e.g. 'batches of images float32 (32, 28, 28, 1) ...'; lesson 06."""
    if not isinstance(ds, tf.data.Dataset):
        raise TypeError(f"ds must be a tf.data.Dataset; got {describe(ds)}.")
    spec = ds.element_spec
    if isinstance(spec, tuple) and len(spec) == 2:
        text = f"pairs of images {_describe_spec(spec[0])} and labels {_describe_spec(spec[1])}"
    elif isinstance(spec, tf.TensorSpec):
        text = f"images {_describe_spec(spec)}"
    else:
        text = f"elements {spec}"
    cardinality = int(ds.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        text += ", repeating forever"
    elif cardinality == tf.data.UNKNOWN_CARDINALITY:
        text += ", an unknown number of elements per pass"
    else:
        text += f", {cardinality} per pass"
    return text
