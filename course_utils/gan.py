"""The DCGAN generator and discriminator, their losses and a layer-by-layer shape table; lesson 05.

Lesson 05 builds and debugs these pieces; lesson 06 trains them. The conventions:

* images are in the model range [-1, 1] (the generator ends with ``tanh``);
* the discriminator returns *logits*, one unnormalised score per image (no sigmoid): the losses apply the
  sigmoid themselves through ``from_logits`` arithmetic, which is exact where a sigmoid would round to 0 or 1;
* both networks keep their outputs in float32, so they also run under the ``mixed_float16`` policy.

The architecture follows the guidelines of Radford, Metz & Chintala (2016), "Unsupervised representation
learning with deep convolutional generative adversarial networks", arXiv:1511.06434, with their N(0, 0.02)
initial weights. Two details come from TensorFlow's DCGAN tutorial instead: the discriminator has no batch
norm, and it has dropout after each block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils.validation import check_positive_int, describe

__all__ = [
    "build_discriminator",
    "build_generator",
    "checkerboard_share",
    "discriminator_loss",
    "generator_loss",
    "layer_shapes",
    "sample_noise",
]

KERNEL = 5  # kernel size of every convolution, as in the DCGAN paper
#: Standard deviation of the zero-mean normal the DCGAN paper draws all weights from (Radford et al., 2016, sec. 4).
INIT_STD = 0.02
#: Dropout rate after each discriminator block. Not in the DCGAN paper: TensorFlow's DCGAN tutorial adds it.
DROPOUT = 0.3


def _initializer(init_std: float | None, seed: int | None = None) -> Callable[[int], Any]:
    """A function giving layer ``i`` its kernel initializer: N(0, init_std), or Glorot uniform when None.

    With a ``seed``, layer ``i`` draws from its own seed (``seed * 1000 + i``), so the same seed builds the same
    weights whatever else used the random generators; without one, Keras' global generator decides.
    """
    if init_std is not None and (
        isinstance(init_std, bool) or not isinstance(init_std, (int, float)) or not init_std > 0
    ):
        raise ValueError(f"init_std must be a positive number such as 0.02, or None; got {describe(init_std)}.")
    if seed is not None:
        seed = check_positive_int("seed", seed, minimum=0)

    def make(index: int) -> Any:
        layer_seed = None if seed is None else seed * 1000 + index
        if init_std is None:
            return keras.initializers.GlorotUniform(seed=layer_seed)
        return keras.initializers.RandomNormal(mean=0.0, stddev=float(init_std), seed=layer_seed)

    return make


def _image_shape(image_shape: Any) -> tuple[int, int, int]:
    """Check ``image_shape`` is (height, width, channels) with height and width divisible by 4."""
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(
            f"image_shape must be (height, width, channels), e.g. (28, 28, 1); got {describe(image_shape)}."
        )
    height = check_positive_int("image_shape[0] (height)", image_shape[0])
    width = check_positive_int("image_shape[1] (width)", image_shape[1])
    channels = check_positive_int("image_shape[2] (channels)", image_shape[2])
    if height % 4 or width % 4:
        raise ValueError(
            f"the DCGAN generator doubles the image size twice, so height and width must be divisible by 4 "
            f"(e.g. 28 or 32); got image_shape {tuple(image_shape)}."
        )
    return height, width, channels


def build_generator(
    *,
    latent_dim: int,
    width: int,
    image_shape: Sequence[int] = (28, 28, 1),
    init_std: float | None = INIT_STD,
    seed: int | None = None,
    name: str = "generator",
) -> keras.Model:
    """The DCGAN generator: noise (latent_dim,) to an image in [-1, 1], doubling the size twice; lesson 05.

    Dense -> (H/4, W/4, 4*width), then three 5x5 transposed convolutions with strides 1, 2, 2 that give
    (H/4, W/4, 2*width) -> (H/2, W/2, width) -> (H, W, channels). Batch norm and ReLU follow every layer but
    the last, which ends with a float32 tanh. Kernels start from N(0, ``init_std``) as in the DCGAN paper
    (None: Keras' default, Glorot uniform); ``seed`` makes them the same on every build.
    """
    init = _initializer(init_std, seed)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    width = check_positive_int("width", width)
    height, side, channels = _image_shape(image_shape)
    rows, cols = height // 4, side // 4
    layers = keras.layers
    noise = keras.Input(shape=(latent_dim,), name="noise")
    x = layers.Dense(rows * cols * 4 * width, use_bias=False, name="project", kernel_initializer=init(0))(noise)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((rows, cols, 4 * width), name="reshape")(x)
    up = {"padding": "same", "use_bias": False}
    x = layers.Conv2DTranspose(2 * width, KERNEL, strides=1, name="up0", kernel_initializer=init(1), **up)(x)
    x = layers.BatchNormalization(name="up0_bn")(x)
    x = layers.ReLU(name="up0_relu")(x)
    x = layers.Conv2DTranspose(width, KERNEL, strides=2, name="up1", kernel_initializer=init(2), **up)(x)
    x = layers.BatchNormalization(name="up1_bn")(x)
    x = layers.ReLU(name="up1_relu")(x)
    x = layers.Conv2DTranspose(channels, KERNEL, strides=2, padding="same", name="up2", kernel_initializer=init(3))(x)
    image = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(noise, image, name=name)


def build_discriminator(
    *,
    width: int,
    image_shape: Sequence[int] = (28, 28, 1),
    init_std: float | None = INIT_STD,
    dropout: float = DROPOUT,
    seed: int | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """The DCGAN discriminator: an image to one float32 logit (no sigmoid), halving the size twice; lesson 05.

    Two 5x5 convolutions with stride 2 (width, then 2*width filters), each followed by LeakyReLU(0.2) and
    Dropout(``dropout``; 0 leaves it out), then Flatten and Dense(1). Kernels start from N(0, ``init_std``) as
    in the DCGAN paper (None: Keras' default); ``seed`` makes them the same on every build. The paper has no
    dropout; TensorFlow's DCGAN tutorial adds it.
    """
    init = _initializer(init_std, seed)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a rate in [0, 1), e.g. 0.3 (0: none); got {describe(dropout)}.")
    width = check_positive_int("width", width)
    height, side, channels = _image_shape(image_shape)
    layers = keras.layers
    image = keras.Input(shape=(height, side, channels), name="image")
    x = layers.Conv2D(width, KERNEL, strides=2, padding="same", name="down0", kernel_initializer=init(0))(image)
    x = layers.LeakyReLU(negative_slope=0.2, name="down0_lrelu")(x)
    if dropout:
        x = layers.Dropout(dropout, name="down0_dropout")(x)
    x = layers.Conv2D(2 * width, KERNEL, strides=2, padding="same", name="down1", kernel_initializer=init(1))(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="down1_lrelu")(x)
    if dropout:
        x = layers.Dropout(dropout, name="down1_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, dtype="float32", name="logit", kernel_initializer=init(2))(x)
    return keras.Model(image, logit, name=name)


# ------------------------------------------------------------------------------------------------ losses


def _logits(name: str, logits: Any) -> tf.Tensor:
    """Check that ``logits`` is a non-empty tensor of numbers and return it as float32."""
    if isinstance(logits, keras.Model) or callable(logits) and not hasattr(logits, "shape"):
        raise TypeError(f"{name} must be the discriminator's outputs (a tensor of logits); got {describe(logits)}.")
    tensor = tf.convert_to_tensor(logits)
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise TypeError(f"{name} must be a tensor of numbers; got {describe(tensor)}.")
    if tensor.shape.rank is not None and tensor.shape.rank > 2 or (tensor.shape.rank == 2 and tensor.shape[-1] != 1):
        raise ValueError(
            f"{name} must hold one logit per image, shaped (N,) or (N, 1); got {describe(tensor)}. "
            f"Did you pass images instead of the discriminator's outputs?"
        )
    tensor = tf.cast(tensor, tf.float32)
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(tensor))):  # in a train step: run.fit
        raise ValueError(f"{name} hold NaN or inf values: the discriminator that made them has diverged.")
    return tensor


def _bce_with_logits(labels: float, logits: tf.Tensor) -> tf.Tensor:
    """Mean binary cross-entropy of sigmoid(logits) against a constant label, computed stably in float32."""
    targets = tf.fill(tf.shape(logits), tf.constant(labels, tf.float32))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits))


def discriminator_loss(real_logits: Any, fake_logits: Any, *, label_smoothing: float = 0.0) -> tf.Tensor:
    """The discriminator's loss: mean BCE of real images against label 1 plus fakes against 0; lesson 05.

    ``label_smoothing`` (one-sided) makes the real label ``1 - label_smoothing``; fake labels stay 0.
    Both inputs are logits; the result is a float32 scalar even for float16 logits.
    """
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), e.g. 0.1; got {label_smoothing!r}.")
    real = _logits("real_logits", real_logits)
    fake = _logits("fake_logits", fake_logits)
    return _bce_with_logits(1.0 - float(label_smoothing), real) + _bce_with_logits(0.0, fake)


def generator_loss(fake_logits: Any, *, saturating: bool = False) -> tf.Tensor:
    """The generator's loss: -mean log D(G(z)) (non-saturating), or mean log(1 - D(G(z))); lesson 05.

    The saturating form is the minimax objective of Goodfellow et al. (2014); its gradient vanishes when the
    discriminator confidently rejects the fakes, which is why the non-saturating form is the default.
    The result is a float32 scalar even for float16 logits.
    """
    fake = _logits("fake_logits", fake_logits)
    if saturating:
        return -_bce_with_logits(0.0, fake)
    return _bce_with_logits(1.0, fake)


# ------------------------------------------------------------------------------------------------ helpers


def layer_shapes(model: keras.Model) -> list[tuple[str, str, tuple]]:
    """(layer name, layer class, output shape) for every layer of a built model, for shape tables; lesson 05."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {describe(model)}.")
    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError) as error:
            raise ValueError(
                f"layer {layer.name!r} of model {model.name!r} has no output shape yet; build the model first "
                f"(call it on a batch or give it a keras.Input)."
            ) from error
        rows.append((layer.name, type(layer).__name__, shape))
    return rows


def sample_noise(n: int, latent_dim: int, *, seed: int | None = None) -> tf.Tensor:
    """``n`` noise vectors of length ``latent_dim`` from a standard normal (same seed, same noise); lesson 05."""
    n = check_positive_int("n", n)
    latent_dim = check_positive_int("latent_dim", latent_dim)
    if seed is None:
        return tf.random.normal((n, latent_dim), dtype=tf.float32)
    seed = check_positive_int("seed", seed, minimum=0)
    return tf.random.stateless_normal((n, latent_dim), seed=(seed, 0), dtype=tf.float32)


def checkerboard_share(images: Any) -> np.ndarray:
    """The share of each image's detail that is a pattern of period 2 (a checkerboard or stripes); lessons 02, 05.

    Each image (``(N, H, W, C)``, any range, even ``H`` and ``W``) loses its mean; the share is the energy of its
    2-D Fourier transform on the Nyquist row and column (vertical, horizontal and diagonal period-2 patterns)
    over the total. A pure checkerboard or stripe pattern gives 1, a flat image 0, white noise about
    (H + W - 1) / (H W - 1), a smooth picture nearly 0. Channels are averaged first.
    """
    array = np.asarray(images, dtype=np.float64)
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(f"images must be a batch shaped (N, H, W, C); got {describe(images)}.")
    height, width = array.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(
            f"A period-2 pattern needs an even height and width (its Fourier row and column at the Nyquist "
            f"frequency); got images of {height}x{width}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("images hold NaN or inf values; the model that made them has diverged.")
    gray = array.mean(axis=-1)
    gray = gray - gray.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(gray)) ** 2
    nyquist = power[:, height // 2, :].sum(axis=1) + power[:, :, width // 2].sum(axis=1)
    nyquist -= power[:, height // 2, width // 2]  # counted in both the row and the column
    total = power.sum(axis=(1, 2))
    return np.divide(nyquist, total, out=np.zeros_like(total), where=total > 0)
