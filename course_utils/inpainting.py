"""A CNN inpainter: partial convolutions, a U-Net, the hole/valid loss and a resumable trainer; lesson 10.

Conventions (the same as :mod:`course_utils.masks`): images are float32 in [0, 1], shaped (N, H, W, C);
masks are float32 in {0, 1}, shaped (N, H, W, 1), with **1 = known pixel** and **0 = hole**.

* :class:`PartialConv2D` (Liu et al., 2018) convolves only the known pixels, rescales the result by how many
  of them the window saw, and returns an updated mask: the hole shrinks layer by layer.
* :func:`build_inpainter` stacks them into a U-Net that takes (masked image, mask) and predicts every pixel;
  :func:`composite` keeps the known pixels and pastes the prediction into the hole.
* :func:`inpainting_loss` is the L1 loss of Liu et al. with separate weights for hole and valid pixels.
* :class:`Inpainter` trains the U-Net in a :class:`course_utils.training.TrainingRun`, so training resumes
  after a restart; :func:`load_or_train_inpainter` gives lessons 11, 12 and 16 a trained model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils import training
from course_utils.masks import check_mask
from course_utils.runtime import float32_copy, training_precision
from course_utils.training import RunBacked, TrainingRun, check_profile, loss_scaled, steps_per_run
from course_utils.validation import check_positive_int, describe

__all__ = [
    "GREY_SHARE",
    "GatedConv2D",
    "HOLE_WEIGHT",
    "SmoothFill",
    "Inpainter",
    "PartialConv2D",
    "VALID_WEIGHT",
    "augment_photos",
    "build_inpainter",
    "rebuild_inpainter",
    "composite",
    "digit_training_masks",
    "distillation_loss",
    "inpainting_loss",
    "load_or_train_digit_inpainter",
    "load_or_train_inpainter",
    "make_train_step",
    "make_training_dataset",
    "step_inputs",
    "predict",
    "steps_per_run",
    "training_masks",
]

#: The weights of the hole and valid L1 terms in Liu et al. (2018), eq. 7.
HOLE_WEIGHT = 6.0
VALID_WEIGHT = 1.0
#: Adam's learning rate. Liu et al. use 2e-4 for days of GPU training; the short runs of this course learn
#: faster with 1e-3.
LEARNING_RATE = 1e-3
#: How far from 0 and 1 the smooth fill is kept before its logit is taken (start_from_fill=True).
_FILL_CLIP = 1e-3


# --------------------------------------------------------------------------- argument checks


def _as_numpy(value: Any) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _check_images(name: str, images: Any) -> np.ndarray:
    """Images as a float array (N, H, W, C) in [0, 1], or a ValueError saying what was given."""
    array = _as_numpy(images)
    if array.ndim != 4:
        hint = " (add a batch axis with image[None])" if array.ndim == 3 else ""
        raise ValueError(
            f"{name} must be a batch of images shaped (N, height, width, channels); got {describe(array)}{hint}."
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name} must be float32 in [0, 1]; got {describe(array)}. Divide uint8 pictures by 255 first."
        )
    if array.size and (np.nanmin(array) < -1e-3 or np.nanmax(array) > 1 + 1e-3):
        raise ValueError(f"{name} must hold values in [0, 1] (the unit range of lesson 09); got {describe(array)}.")
    return array


def _check_masks(masks: Any, images: np.ndarray | None = None, *, name: str = "masks") -> np.ndarray:
    """Masks as float (N, H, W, 1 or C) in {0, 1} matching ``images``, or a ValueError in plain words."""
    array = _as_numpy(masks)
    convention = "float32, 1 = known pixel, 0 = hole, shaped (N, H, W, 1)"
    if array.ndim == 3 and images is not None and array.shape == images.shape[:3]:
        raise ValueError(f"{name} must be {convention}; got {describe(array)}. Add the channel axis: masks[..., None].")
    if array.ndim != 4:
        raise ValueError(f"{name} must be {convention}; got {describe(array)}.")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be {convention}; got {describe(array)}. Convert with masks.astype('float32').")
    values = np.unique(array)
    if not np.all(np.isin(values, (0.0, 1.0))):
        hint = " (divide a 0/255 mask by 255)" if array.size and np.nanmax(array) > 1 else ""
        raise ValueError(f"{name} must hold only 0 (hole) and 1 (known pixel); got {describe(array)}{hint}.")
    check_mask(array[..., :1])  # mostly hole: probably inverted (1 = hole), which warns, or refused past 90 %
    if images is not None:
        if array.shape[:3] != images.shape[:3] or array.shape[3] not in (1, images.shape[3]):
            raise ValueError(
                f"{name} must match the images: shape {images.shape[:3] + (1,)}; got {describe(array)} "
                f"for images of shape {images.shape}."
            )
    return array


# --------------------------------------------------------------------------- the layers


class PartialConv2D(keras.layers.Layer):
    """A convolution that sees only the known pixels and updates the mask (Liu et al., 2018); lesson 10.

    Called on ``(x, mask)``, where ``mask`` has one channel (shared by all of x's channels) or as many
    channels as ``x``, with 1 = known and 0 = hole. For each window position, with X the window of the
    input, M the same window of the mask (broadcast to X's channels), W the kernel and b the bias:

        x' = W^T (X ⊙ M) · sum(1) / sum(M) + b     where sum(M) > 0
        x' = 0                                      where sum(M) = 0

        m' = 1 where sum(M) > 0, else 0

    ``sum(1)`` is the number of entries in a window, kernel_h × kernel_w × channels. The factor
    sum(1)/sum(M) scales the result up as if the missing entries had been average ones, so the output
    does not get darker near a hole. As in the paper, the zero padding of ``padding='same'`` counts as
    hole: on an all-ones mask the layer equals a ``Conv2D`` with the same weights in the interior, and at
    the border its sum is scaled by sum(1)/(entries inside the image). The updated mask ``m'`` has one
    channel; ``strides`` and ``padding`` mean what they mean for ``Conv2D``. Returns ``(x', m')``.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        *,
        strides: int | tuple[int, int] = 1,
        padding: str = "same",
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "he_normal",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _set_conv_arguments(self, filters, kernel_size, strides, padding, activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: Any) -> None:
        x_shape, mask_shape = _split_shapes(input_shape)
        channels = x_shape[-1]
        if channels is None:
            raise ValueError("PartialConv2D needs to know the number of channels of x when it is built.")
        if mask_shape[-1] not in (1, channels, None):
            raise ValueError(
                f"PartialConv2D's mask must have 1 channel or as many as x ({channels}); got shape {tuple(mask_shape)}."
            )
        self.in_channels = int(channels)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.in_channels, self.filters),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None

    def call(self, inputs: Any) -> tuple[Any, Any]:
        x, mask = inputs
        x = tf.cast(x, self.compute_dtype)
        mask = tf.cast(mask, tf.float32)
        # sum(M) per window: count the known entries of every channel (padding counts as hole).
        per_pixel = mask * (self.in_channels if mask.shape[-1] == 1 else 1.0)
        per_pixel = tf.reduce_sum(per_pixel, axis=-1, keepdims=True)
        ones = tf.ones((*self.kernel_size, 1, 1), tf.float32)
        known = tf.nn.conv2d(per_pixel, ones, strides=self.strides, padding=self.padding.upper())
        new_mask = tf.cast(known > 0.5, tf.float32)
        window = float(self.kernel_size[0] * self.kernel_size[1] * self.in_channels)  # sum(1)
        ratio = window * _reciprocal(tf.maximum(known, 1.0)) * new_mask
        raw = tf.nn.conv2d(
            x * tf.cast(mask, x.dtype),
            tf.cast(self.kernel, x.dtype),
            strides=self.strides,
            padding=self.padding.upper(),
        )
        out = raw * tf.cast(ratio, x.dtype)
        if self.bias is not None:
            out = out + tf.cast(self.bias, x.dtype)
        out = out * tf.cast(new_mask, x.dtype)  # 0 where the window saw no known pixel
        return self.activation(out), new_mask

    def compute_output_shape(self, input_shape: Any) -> tuple[tuple, tuple]:
        x_shape, _ = _split_shapes(input_shape)
        spatial = [
            _conv_size(n, k, s, self.padding)
            for n, k, s in zip(x_shape[1:3], self.kernel_size, self.strides, strict=True)
        ]
        return (x_shape[0], *spatial, self.filters), (x_shape[0], *spatial, 1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


class GatedConv2D(keras.layers.Layer):
    """A gated convolution (Yu et al., 2019): features times a learned soft mask in (0, 1); lesson 10.

    Two convolutions of the same input: ``features = act(W_f * x)`` and ``gate = sigmoid(W_g * x)``;
    the output is ``features ⊙ gate``. Instead of a hard 0/1 mask updated by a rule, the network learns
    per pixel and per channel how much each feature should pass. Feed it the image with the mask as an
    extra channel. ``strides`` and ``padding`` mean what they mean for ``Conv2D``.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        *,
        strides: int | tuple[int, int] = 1,
        padding: str = "same",
        activation: Any = "elu",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _set_conv_arguments(self, filters, kernel_size, strides, padding, activation)
        options = dict(kernel_size=self.kernel_size, strides=self.strides, padding=padding, dtype=self.dtype_policy)
        self.feature_conv = keras.layers.Conv2D(self.filters, name="features", **options)
        self.gate_conv = keras.layers.Conv2D(self.filters, activation="sigmoid", name="gate", **options)

    def build(self, input_shape: Any) -> None:
        self.feature_conv.build(input_shape)
        self.gate_conv.build(input_shape)

    def gate(self, x: Any) -> Any:
        """The soft mask sigmoid(W_g * x), in (0, 1); lesson 10."""
        return self.gate_conv(x)

    def call(self, x: Any) -> Any:
        return self.activation(self.feature_conv(x)) * self.gate_conv(x)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self.feature_conv.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=keras.activations.serialize(self.activation),
        )
        return config


def _pair(name: str, value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return check_positive_int(f"{name}[0]", value[0]), check_positive_int(f"{name}[1]", value[1])
    value = check_positive_int(name, value)
    return value, value


def _set_conv_arguments(
    layer: Any, filters: Any, kernel_size: Any, strides: Any, padding: Any, activation: Any
) -> None:
    """Check a convolution layer's arguments as Conv2D would, and keep them on the layer."""
    layer.filters = check_positive_int("filters", filters)
    layer.kernel_size = _pair("kernel_size", kernel_size)
    layer.strides = _pair("strides", strides)
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', as for Conv2D; got {padding!r}.")
    layer.padding = padding
    layer.activation = keras.activations.get(activation)


def _reciprocal(x: tf.Tensor) -> tf.Tensor:
    """1 / x for x > 0, as exp(-log x): TensorFlow Lite's int8 division fails whenever the stored int8 code of the
    divisor is 0, even though the number it stands for is not (lesson 15 quantises these layers)."""
    return tf.exp(-tf.math.log(x))


def _split_shapes(input_shape: Any) -> tuple[tuple, tuple]:
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 2
        or not isinstance(input_shape[0], (tuple, list))
    ):
        raise ValueError(
            f"PartialConv2D is called on a pair (x, mask) of 4-D tensors; got input shape {input_shape!r}."
        )
    x_shape, mask_shape = (tuple(s) for s in input_shape)
    if len(x_shape) != 4 or len(mask_shape) != 4:
        raise ValueError(f"PartialConv2D's x and mask must be 4-D (N, H, W, C); got shapes {x_shape} and {mask_shape}.")
    return x_shape, mask_shape


def _conv_size(n: int | None, kernel: int, stride: int, padding: str) -> int | None:
    if n is None:
        return None
    return -(-n // stride) if padding == "same" else (n - kernel) // stride + 1


class SmoothFill(keras.layers.Layer):
    """A classical fill inside the network: the hole solved as a smooth membrane (Laplace's equation); lesson 10.

    Called on ``(masked image, mask)`` (1 = known), it returns a float32 image whose known pixels are the
    input's and whose hole holds the *harmonic* interpolation of the hole's border: every hole pixel is the
    mean of its four neighbours (at the image border, of the neighbours that exist). The equation is solved
    coarse to fine: a pyramid of masked averages (each coarser pixel the mean of the known pixels under
    it) gives a first guess at 1/2, 1/4... of the size, and ``iterations`` Jacobi sweeps (replace every hole
    pixel by its neighbours' mean) refine it at each size, so the fill costs a few cheap convolutions. It
    has no weights: it is the classical method the network starts from. A photo with no known pixel is
    filled with grey 0.5.
    """

    def __init__(self, iterations: int = 8, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.iterations = check_positive_int("iterations", iterations, minimum=0)

    def _neighbour_mean(self, u: tf.Tensor) -> tf.Tensor:
        # Edge padding makes a missing outside neighbour equal the pixel itself: the mean of the neighbours
        # that exist (the reflecting, Neumann, border of Laplace's equation).
        padded = tf.pad(u, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
        return 0.25 * (padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:])

    def call(self, inputs: Any) -> tf.Tensor:
        image, mask = inputs
        image = tf.cast(image, tf.float32)
        mask = tf.cast(mask, tf.float32)
        # The pyramid: premultiplied sums and known fractions, halved until one side is odd or 1 pixel.
        values, weights = [image * mask], [mask]
        while values[-1].shape[1] % 2 == 0 and values[-1].shape[2] % 2 == 0 and values[-1].shape[1] > 1:
            values.append(tf.nn.avg_pool2d(values[-1], 2, 2, "VALID"))
            weights.append(tf.nn.avg_pool2d(weights[-1], 2, 2, "VALID"))
        guess = None
        for level in range(len(values) - 1, -1, -1):
            weight = weights[level]
            known = mask if level == 0 else tf.cast(weight > 0, tf.float32)
            # The mean of the known pixels under each coarse pixel (weight + 1 - known: weight if known, else 1).
            value = values[level] * _reciprocal(weight + (1.0 - known)) if level else image * mask
            if guess is None:  # the coarsest level: what is not known at all becomes grey
                guess = known * value + (1.0 - known) * 0.5
            else:
                size = (value.shape[1], value.shape[2])
                guess = known * value + (1.0 - known) * tf.image.resize(guess, size, method="bilinear")
            for _ in range(self.iterations):
                guess = known * value + (1.0 - known) * self._neighbour_mean(guess)
        return guess

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(iterations=self.iterations)
        return config


# --------------------------------------------------------------------------- the U-Net


def build_inpainter(
    *, image_size: int, channels: int = 3, width: int, depth: int = 3, start_from_fill: bool = False
) -> keras.Model:
    """A U-Net of partial convolutions: (masked image, mask) -> predicted image in [0, 1]; lesson 10.

    The encoder halves the size ``depth`` times with stride-2 partial convolutions (ReLU); the decoder
    doubles it back with nearest-neighbour upsampling, concatenates the encoder's features *and masks* of
    the same size (the skip connections), and applies a partial convolution (LeakyReLU 0.2), as in Liu et al.
    The last layer also sees the input image and mask; a sigmoid gives float32 pixels in [0, 1].

    With ``start_from_fill=True`` the network starts where a classical method ends: a :class:`SmoothFill`
    layer fills the hole smoothly, the U-Net sees that fill as three more channels (known everywhere), and
    its last layer, initialised to zero, predicts a *correction*: the output is sigmoid(logit(fill) + r),
    which is the smooth fill itself before training.
    """
    if not isinstance(start_from_fill, bool):
        raise TypeError(f"start_from_fill must be True or False; got {describe(start_from_fill)}.")
    image_size = check_positive_int("image_size", image_size)
    channels = check_positive_int("channels", channels)
    width = check_positive_int("width", width)
    depth = check_positive_int("depth", depth)
    if image_size % 2**depth:
        raise ValueError(
            f"image_size must be divisible by 2**depth = {2**depth}, because the U-Net halves the image {depth} "
            f"times and doubles it back; got image_size={image_size}. Use depth={_largest_depth(image_size)} "
            "or another size."
        )
    image = keras.Input((image_size, image_size, channels), name="image")
    mask = keras.Input((image_size, image_size, 1), name="mask")

    def filters(level: int) -> int:
        return width * 2 ** min(level, 3)

    x_in, m_in, last = image, mask, [(image, mask, channels)]
    if start_from_fill:
        fill = SmoothFill(name="smooth_fill")((image, mask))
        everywhere = keras.ops.ones_like(mask)
        x_in = keras.layers.Concatenate(name="with_fill")([image, fill])
        m_in = _stack_masks([(mask, channels), (everywhere, channels)])
        last.append((fill, everywhere, channels))
    h, m = PartialConv2D(width, 5, activation="relu", name="enc0")((x_in, m_in))
    skips = [(h, m)]
    for level in range(1, depth + 1):
        h, m = PartialConv2D(filters(level), 3, strides=2, activation="relu", name=f"enc{level}")((h, m))
        skips.append((h, m))
    h, m = PartialConv2D(filters(depth), 3, activation="relu", name="bottleneck")((h, m))
    for level in range(depth - 1, -1, -1):
        skip_h, skip_m = skips[level]
        h = keras.layers.UpSampling2D(2, name=f"up{level}")(h)
        m = keras.layers.UpSampling2D(2, name=f"up{level}_mask")(m)
        h = keras.layers.Concatenate(name=f"cat{level}")([h, skip_h])
        m = _stack_masks([(m, filters(level + 1)), (skip_m, skip_h.shape[-1])])
        h, m = PartialConv2D(filters(level), 3, activation=keras.layers.LeakyReLU(0.2), name=f"dec{level}")((h, m))
    h = keras.layers.Concatenate(name="cat_input")([h, *(x for x, _, _ in last)])
    m = _stack_masks([(m, filters(0)), *((mask_, count) for _, mask_, count in last)])
    h, _ = PartialConv2D(channels, 3, kernel_initializer="zeros" if start_from_fill else "he_normal", name="to_pixels")(
        (h, m)
    )
    if start_from_fill:  # the correction r is added to the fill's logit, so r = 0 gives the fill back
        start = keras.ops.clip(fill, _FILL_CLIP, 1.0 - _FILL_CLIP)
        h = keras.ops.cast(h, "float32") + keras.ops.log(start) - keras.ops.log(1.0 - start)
    output = keras.layers.Activation("sigmoid", dtype="float32", name="prediction")(h)
    name = "fill_correcting_unet" if start_from_fill else "partial_conv_unet"
    return keras.Model([image, mask], output, name=name)


def rebuild_inpainter(model: keras.Model) -> keras.Model:
    """A new :func:`build_inpainter` U-Net shaped like ``model``, with its weights, in the current policy; lesson 11.

    Build it inside ``cu.training_precision(profile)`` to fine-tune a float32 model in the profile's precision.
    """
    try:
        image_size, channels = int(model.inputs[0].shape[1]), int(model.inputs[0].shape[-1])
        width = int(model.get_layer("enc0").filters)
        depth = sum(1 for layer in model.layers if layer.name.startswith("enc")) - 1
    except (AttributeError, IndexError, TypeError, ValueError) as error:
        raise TypeError(
            f"rebuild_inpainter takes a U-Net made by build_inpainter (layers enc0, enc1...); got {describe(model)}."
        ) from error
    start_from_fill = any(layer.name == "smooth_fill" for layer in model.layers)
    copy = build_inpainter(
        image_size=image_size, channels=channels, width=width, depth=depth, start_from_fill=start_from_fill
    )
    try:
        copy.set_weights(model.get_weights())
    except ValueError as error:
        raise TypeError(
            f"rebuild_inpainter takes a U-Net made by build_inpainter; {model.name!r} has other weights ({error})."
        ) from error
    return copy


def _stack_masks(parts: list[tuple[Any, int]]) -> Any:
    """One mask channel per feature channel: each one-channel mask repeated to its features' channels."""
    return keras.ops.concatenate(
        [keras.ops.repeat(keras.ops.cast(mask, "float32"), int(count), axis=-1) for mask, count in parts], axis=-1
    )


def _largest_depth(size: int) -> int:
    depth = 0
    while size % 2 ** (depth + 1) == 0 and depth < 6:
        depth += 1
    return max(depth, 1)


def composite(images: Any, masks: Any, predictions: Any) -> np.ndarray:
    """m·x + (1 − m)·ŷ: the known pixels of the photo, the prediction only in the hole; lesson 10."""
    images = _check_images("images", images)
    predictions = _check_images("predictions", predictions)
    if predictions.shape != images.shape:
        raise ValueError(f"predictions must have the images' shape {images.shape}; got {describe(predictions)}.")
    masks = _check_masks(masks, images)
    return (masks * images + (1.0 - masks) * predictions).astype(np.float32)


def predict(model: keras.Model, images: Any, masks: Any, *, batch_size: int = 256) -> np.ndarray:
    """The model's raw prediction ŷ for images (their holes are zeroed first) and masks; lesson 10."""
    images = _check_images("images", images).astype(np.float32)
    masks = _check_masks(masks, images)
    batch_size = check_positive_int("batch_size", batch_size)
    parts = [
        np.asarray(
            model([images[i : i + batch_size] * masks[i : i + batch_size], masks[i : i + batch_size]], training=False)
        )
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


# --------------------------------------------------------------------------- the loss


def inpainting_loss(
    images: Any,
    predictions: Any,
    masks: Any,
    *,
    hole_weight: float = HOLE_WEIGHT,
    valid_weight: float = VALID_WEIGHT,
    tv_weight: float = 0.0,
) -> dict[str, tf.Tensor]:
    """The weighted L1 loss of Liu et al.: ``{"loss", "hole", "valid", "tv"}`` as float32 scalars; lesson 10.

    hole = mean((1 − m)·|ŷ − x|), valid = mean(m·|ŷ − x|), both averaged over *all* entries (N·H·W·C) as
    in the paper, so a prediction wrong only in the hole by d everywhere there has loss
    hole_weight × mean|ŷ − x|. tv is the mean absolute difference between neighbouring pixels of the
    composite m·x + (1 − m)·ŷ (it discourages checkerboard and noise in the hole).
    loss = valid_weight·valid + hole_weight·hole + tv_weight·tv.
    """
    for name, weight in (("hole_weight", hole_weight), ("valid_weight", valid_weight), ("tv_weight", tv_weight)):
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ValueError(f"{name} must be a number >= 0; got {describe(weight)}.")
    if not tf.is_symbolic_tensor(tf.convert_to_tensor(images)) and tf.executing_eagerly():
        checked = _check_images("images", images)
        _check_masks(masks, checked)
        if tuple(np.shape(predictions)) != checked.shape:
            raise ValueError(f"predictions must have the images' shape {checked.shape}; got {describe(predictions)}.")
    images = tf.cast(images, tf.float32)
    predictions = tf.cast(predictions, tf.float32)
    masks = tf.cast(masks, tf.float32)
    error = tf.abs(predictions - images)
    hole = tf.reduce_mean((1.0 - masks) * error)
    valid = tf.reduce_mean(masks * error)
    filled = masks * images + (1.0 - masks) * predictions
    tv = tf.reduce_mean(tf.abs(filled[:, 1:, :, :] - filled[:, :-1, :, :])) + tf.reduce_mean(
        tf.abs(filled[:, :, 1:, :] - filled[:, :, :-1, :])
    )
    loss = valid_weight * valid + hole_weight * hole + tv_weight * tv
    return {"loss": loss, "hole": hole, "valid": valid, "tv": tv}


#: Added to each photo's squared error before its logarithm is taken in :func:`distillation_loss`: errors
#: below it (a PSNR above 80 dB) no longer count.
DISTILL_EPSILON = 1e-8


def distillation_loss(
    images: Any, targets: Any, predictions: Any, masks: Any, *, valid_weight: float = VALID_WEIGHT
) -> dict[str, tf.Tensor]:
    """The loss of a network learning from a teacher's fills: ``{"loss", "log_mse", "hole", "valid", "tv"}``; lesson 10.

    log_mse is the mean over photos of log(mean((1 − m)·(ŷ − t)²) + ε), with t the teacher's fill and
    ε = :data:`DISTILL_EPSILON`: each photo counts by its *relative* error, as PSNR does, so a photo the
    teacher fills almost exactly (a nearly flat one) must be filled almost exactly too, however little its
    absolute error weighs. valid is the L1 error on the known pixels against the photo, as in
    :func:`inpainting_loss`. loss = log_mse + valid_weight·valid. hole (the L1 error in the hole against the
    teacher, averaged over all entries) and tv are reported, not minimised.
    """
    if isinstance(valid_weight, bool) or not isinstance(valid_weight, (int, float)) or valid_weight < 0:
        raise ValueError(f"valid_weight must be a number >= 0; got {describe(valid_weight)}.")
    images, targets = tf.cast(images, tf.float32), tf.cast(targets, tf.float32)
    predictions, masks = tf.cast(predictions, tf.float32), tf.cast(masks, tf.float32)
    reported = inpainting_loss(masks * images + (1.0 - masks) * targets, predictions, masks)
    squared = tf.reduce_mean((1.0 - masks) * tf.square(predictions - targets), axis=[1, 2, 3])
    log_mse = tf.reduce_mean(tf.math.log(squared + DISTILL_EPSILON))
    return {
        "loss": log_mse + valid_weight * reported["valid"],
        "log_mse": log_mse,
        "hole": reported["hole"],
        "valid": reported["valid"],
        "tv": reported["tv"],
    }


# --------------------------------------------------------------------------- training


def make_train_step(
    model: keras.Model,
    optimizer: Any,
    *,
    hole_weight: float = HOLE_WEIGHT,
    valid_weight: float = VALID_WEIGHT,
    tv_weight: float = 0.0,
    jit_compile: bool = False,
) -> Callable[[tf.Tensor, tf.Tensor], dict[str, tf.Tensor]]:
    """A ``tf.function`` that updates the inpainter once on clean images in [0, 1] and their masks; lesson 10.

    The step zeroes the holes itself, so the model never sees the missing pixels. It returns the float32
    scalars of :func:`inpainting_loss`. Called as ``train_step(images, masks, targets)`` with a teacher's
    fills (:func:`make_training_dataset` with a ``teacher``), it minimises :func:`distillation_loss` instead,
    which scores the hole against ``targets``: the network learns to fill as the teacher does (knowledge
    distillation). ``hole_weight`` and ``tv_weight`` then play no part. Under the ``mixed_float16`` policy the
    optimizer is wrapped in a :class:`keras.optimizers.LossScaleOptimizer` (unless it already is).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model from build_inpainter(...); got {describe(model)}.")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"optimizer must be a Keras optimizer such as keras.optimizers.Adam(2e-4); got {describe(optimizer)}."
        )
    if not isinstance(jit_compile, bool):
        raise TypeError(f"jit_compile must be True or False; got {describe(jit_compile)}.")
    inpainting_loss(
        np.zeros((1, 2, 2, 1), np.float32),
        np.zeros((1, 2, 2, 1), np.float32),
        np.ones((1, 2, 2, 1), np.float32),
        hole_weight=hole_weight,
        valid_weight=valid_weight,
        tv_weight=tv_weight,
    )  # checks the weights
    optimizer = loss_scaled(optimizer, model)
    image_shape = tuple(model.inputs[0].shape[1:])

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(images: tf.Tensor, masks: tf.Tensor, targets: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        images, masks = step_inputs(images, masks, image_shape)
        with tf.GradientTape() as tape:
            predictions = model([images * masks, masks], training=True)
            if targets is None:
                losses = inpainting_loss(
                    images, predictions, masks, hole_weight=hole_weight, valid_weight=valid_weight, tv_weight=tv_weight
                )
            else:  # a teacher's fills (make_training_dataset(..., teacher=...)): the hole is scored against them
                losses = distillation_loss(
                    images, tf.cast(targets, tf.float32), predictions, masks, valid_weight=valid_weight
                )
            scaled = optimizer.scale_loss(losses["loss"])  # the loss itself unless loss scaling is on
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return {name: tf.cast(value, tf.float32) for name, value in losses.items()}

    return train_step


def step_inputs(images: Any, masks: Any, image_shape: tuple) -> tuple[tf.Tensor, tf.Tensor]:
    """A train step's (images, masks) as float32, after checking their shapes against the model's; lessons 10-11."""
    if tuple(images.shape[1:]) != tuple(image_shape) or masks.shape[-1] != 1:
        raise ValueError(
            f"The train step takes images shaped (N, {', '.join(map(str, image_shape))}) and masks shaped "
            f"(N, {', '.join(map(str, image_shape[:2]))}, 1); got {tuple(images.shape)} and {tuple(masks.shape)}."
        )
    return tf.cast(images, tf.float32), tf.cast(masks, tf.float32)


def make_training_dataset(
    images: Any, masks: Any, *, batch_size: int, seed: int = 0, augment: bool = False, teacher: Any = None
) -> tf.data.Dataset:
    """Shuffled batches of (image in [0, 1], mask), masks drawn anew from the pool for every pass; lesson 10.

    ``images`` may be uint8 (divided by 255) or float in [0, 1]. ``masks`` is a pool of masks (N_m, H, W, 1)
    of any size; each epoch pairs every image with a different random mask. Incomplete batches are dropped.
    ``augment=True`` shows every photo in one of its eight orientations (:func:`augment_photos`), a quarter of
    them in grey, each time it comes round: the same photos look like more, different ones.

    With a ``teacher`` (a :class:`course_utils.gaussian_prior.GaussianPrior`) every image is paired with one
    mask of the pool, once, the teacher fills its hole, and the batches are triples (image, mask, teacher's
    fill) for :func:`make_train_step`. Augmenting turns or greys the three together, which gives the teacher's
    fill of the turned or grey pair exactly, because the prior treats every orientation and channel alike.
    """
    if not isinstance(augment, bool):
        raise TypeError(f"augment must be True or False; got {describe(augment)}.")
    array = _as_numpy(images)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = _check_images("images", array).astype(np.float32)
    pool = _check_masks(masks).astype(np.float32)
    if pool.shape[1:3] != array.shape[1:3] or pool.shape[3] != 1:
        raise ValueError(
            f"masks must be shaped (N, {array.shape[1]}, {array.shape[2]}, 1) like the images; got {describe(pool)}."
        )
    batch_size = check_positive_int("batch_size", batch_size)
    if batch_size > len(array):
        raise ValueError(f"batch_size ({batch_size}) is larger than the number of images ({len(array)}).")
    seed = check_positive_int("seed", seed, minimum=0)
    if teacher is not None:
        return _teacher_dataset(array, pool, teacher, batch_size=batch_size, seed=seed, augment=augment)
    image_ds = tf.data.Dataset.from_tensor_slices(array).shuffle(len(array), seed=seed, reshuffle_each_iteration=True)
    if augment:
        image_ds = image_ds.batch(batch_size).map(augment_photos, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    mask_ds = (
        tf.data.Dataset.from_tensor_slices(pool)
        .shuffle(len(pool), seed=seed + 1, reshuffle_each_iteration=True)
        .repeat()
    )
    return tf.data.Dataset.zip((image_ds, mask_ds)).batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _teacher_dataset(
    images: np.ndarray, pool: np.ndarray, teacher: Any, *, batch_size: int, seed: int, augment: bool
) -> tf.data.Dataset:
    """Batches of (image, mask, teacher's fill): each image with one mask of the pool, filled once."""
    if not callable(getattr(teacher, "fill", None)):
        raise TypeError(
            f"teacher must be a fitted prior with a fill(images, masks) method, such as "
            f"gaussian_prior.GaussianPrior.fit(x_train); got {describe(teacher)}."
        )
    paired = pool[np.random.default_rng(seed).integers(0, len(pool), size=len(images))]
    fills = teacher.fill(images, paired)
    channels = images.shape[-1]
    triples = tf.data.Dataset.from_tensor_slices((images, paired, fills))
    ds = triples.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)
    if augment:

        def together(image: tf.Tensor, mask: tf.Tensor, fill: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            stacked = _augment(tf.concat([image, fill, mask], axis=-1), grey_channels=(channels, channels))
            return stacked[..., :channels], stacked[..., 2 * channels :], stacked[..., channels : 2 * channels]

        ds = ds.map(together, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


#: The share of photos :func:`augment_photos` turns grey.
GREY_SHARE = 0.25


def augment_photos(images: Any) -> tf.Tensor:
    """Each photo of a batch in a random one of its 8 orientations (flips, quarter turns), a quarter in grey; lesson 10.

    The eight orientations are the symmetries of a square: no pixel is invented or lost. Grey photos are the
    mean of the three channels, repeated, so the batch keeps its shape. Works on (N, H, W, C) tensors with
    H = W, in a ``tf.data`` pipeline or eagerly (``tf.random.set_seed`` fixes the draws).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    return _augment(images, grey_channels=(images.shape[-1] or 1,))


def _augment(images: tf.Tensor, *, grey_channels: tuple[int, ...]) -> tf.Tensor:
    """augment_photos for a stack of channel groups: the first groups (their sizes) greyed, the rest only turned."""
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank != 4 or (images.shape[1] is not None and images.shape[1] != images.shape[2]):
        raise ValueError(f"augment_photos takes square photos shaped (N, H, H, C); got shape {tuple(images.shape)}.")
    draws = tf.random.uniform((tf.shape(images)[0], 4))
    flipped = tf.where((draws[:, 0] < 0.5)[:, None, None, None], tf.reverse(images, axis=[2]), images)
    turned = tf.where((draws[:, 1] < 0.5)[:, None, None, None], tf.transpose(flipped, [0, 2, 1, 3]), flipped)
    upside = tf.where((draws[:, 2] < 0.5)[:, None, None, None], tf.reverse(turned, axis=[1]), turned)
    parts, start = [], 0
    for count in grey_channels:
        group = upside[..., start : start + count]
        parts.append(tf.repeat(tf.reduce_mean(group, axis=-1, keepdims=True), count, axis=-1))
        start += count
    grey = tf.concat([*parts, upside[..., start:]], axis=-1)
    return tf.where((draws[:, 3] < GREY_SHARE)[:, None, None, None], grey, upside)


def _sample_panel(model: keras.Model, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Rows of damaged / prediction / composite / truth for each image, in [0, 1]."""
    predictions = predict(model, images, masks)
    rows = [images * masks, predictions, composite(images, masks, predictions), images]
    return np.stack(rows, axis=1).reshape(-1, *images.shape[1:]).astype(np.float32)


class Inpainter(RunBacked):
    """The U-Net, its Adam optimizer and a fixed sample batch in one resumable :class:`TrainingRun`; lesson 10.

    Sizes come from the profile (``image_size``, ``width``, ``max_steps``, ``jit_compile``), and the model
    computes in the profile's ``mixed_precision`` where the hardware runs it fast. Building an
    Inpainter with the name of an earlier run restores its newest checkpoint, so :meth:`train` continues
    to the same total; ``resume=False`` starts afresh. ``sample_images`` and ``sample_masks`` (up to 4)
    are drawn every ``sample_every`` steps as rows of damaged / prediction / composite / truth.
    ``start_from_fill`` chooses the U-Net that corrects a smooth classical fill (the default) or the plain one
    (see :func:`build_inpainter`).
    """

    def __init__(
        self,
        profile: Any,
        *,
        name: str = "inpainter_photos",
        channels: int = 3,
        depth: int = 3,
        sample_images: Any = None,
        sample_masks: Any = None,
        hole_weight: float = HOLE_WEIGHT,
        valid_weight: float = VALID_WEIGHT,
        tv_weight: float = 0.0,
        learning_rate: float = LEARNING_RATE,
        start_from_fill: bool = True,
        resume: bool = True,
    ) -> None:
        check_profile(profile, "image_size", "width", "max_steps", "jit_compile")
        self.profile = profile
        with training_precision(profile) as self.precision:  # the profile's mixed precision, if the hardware has it
            self.model = build_inpainter(
                image_size=profile.image_size,
                channels=channels,
                width=profile.width,
                depth=depth,
                start_from_fill=start_from_fill,
            )
            self.optimizer = loss_scaled(keras.optimizers.Adam(learning_rate), self.model)
            self.optimizer.build(self.model.trainable_variables)  # so a checkpoint restores into it at once
        self.train_step = make_train_step(
            self.model,
            self.optimizer,
            hole_weight=hole_weight,
            valid_weight=valid_weight,
            tv_weight=tv_weight,
            jit_compile=bool(profile.jit_compile),
        )
        self.sample_images: np.ndarray | None = None
        self.sample_masks: np.ndarray | None = None
        if sample_images is not None:
            images = _check_images("sample_images", sample_images)[:4].astype(np.float32)
            if sample_masks is None:
                raise ValueError("Give sample_masks together with sample_images (one mask per image).")
            self.sample_images = images
            self.sample_masks = _check_masks(_as_numpy(sample_masks)[: len(images)], images).astype(np.float32)
        self.run = TrainingRun(name, resume=resume, model=self.model, optimizer=self.optimizer)

    def samples(self) -> np.ndarray:
        """The sample rows (damaged, prediction, composite, truth) in [0, 1]; lesson 10."""
        if self.sample_images is None:
            raise ValueError("This Inpainter has no sample_images: pass sample_images= and sample_masks=.")
        return _sample_panel(self.model, self.sample_images, self.sample_masks)

    def _sample_function(self) -> Callable[[], np.ndarray] | None:
        return None if self.sample_images is None else (lambda: self.samples() * 2.0 - 1.0)


def training_masks(n: int, size: int, *, seed: int = 0) -> np.ndarray:
    """A pool of ``n`` training masks, a third of each kind (center, boxes, free_form), shuffled; lesson 10."""
    from course_utils import masks as masks_module

    n = check_positive_int("n", n, minimum=3)
    kinds = masks_module.KINDS
    parts = [
        masks_module.make_masks(kind, n // len(kinds) + (i < n % len(kinds)), size, seed=seed + i)
        for i, kind in enumerate(kinds)
    ]
    pool = np.concatenate(parts)
    return pool[np.random.default_rng(seed).permutation(len(pool))]


def load_or_train_inpainter(
    profile: Any, *, data: Any = None, name: str = "inpainter_photos", verbose: bool = True
) -> keras.Model:
    """The U-Net lesson 10 trained (from runs/), or a new one trained with the profile's numbers; lessons 11, 12 and 16.

    It is trained as lesson 10 trains it: on augmented photos, with the hole scored against the fills of a
    Gaussian prior learned from the same training photos (:class:`course_utils.gaussian_prior.GaussianPrior`),
    for the profile's ``photo_inpaint_epochs``. A run that stopped early is continued to the profile's total
    for the data (``profile.n_train`` caps the number of images; a smaller dataset is used whole). A run whose
    model no longer matches the profile (another width or image size) is moved aside, never deleted, and a new
    one is trained. ``data`` defaults to ``datasets.load_natural_images`` with the profile's sizes. The model is
    returned computing in float32 (``runtime.float32_copy``), whatever precision it trained in.
    """
    check_profile(
        profile, "n_train", "n_test", "batch_size", "photo_inpaint_epochs", "image_size", "width", "max_steps"
    )
    n_images = training.images_used(profile, None if data is None else len(data.x_train))
    target = steps_per_run(n_images, profile.batch_size, profile.photo_inpaint_epochs, max_steps=profile.max_steps)

    def make_dataset() -> Any:
        nonlocal data
        from course_utils.gaussian_prior import GaussianPrior

        if data is None:
            from course_utils.datasets import load_natural_images

            data = load_natural_images(
                n_train=profile.n_train, n_test=profile.n_test, size=profile.image_size, verbose=verbose
            )
        images = _as_numpy(data.x_train[:n_images])
        images = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
        pool = training_masks(min(len(images), 3000), images.shape[1], seed=1)
        teacher = GaussianPrior.fit(images)
        return make_training_dataset(images, pool, batch_size=profile.batch_size, augment=True, teacher=teacher)

    inpainter = training.load_or_train(
        lambda: Inpainter(profile, name=name),
        name=name,
        target=target,
        make_dataset=make_dataset,
        what="the inpainter",
        plan=f"{profile.photo_inpaint_epochs} epoch(s) at batch size {profile.batch_size}, width {profile.width}, "
        "taught by a Gaussian prior",
        verbose=verbose,
    )
    return float32_copy(inpainter.model)


def digit_training_masks(size: int = 28) -> np.ndarray:
    """The digit inpainter's mask pool: 1,000 of :func:`training_masks` and 500 of each large hole; lessons 12, 15.

    The large holes (``masks.large_hole``: the top half, a centre square) are the ones lessons 12 and 15 fill.
    """
    from course_utils import masks as masks_module

    size = check_positive_int("size", size, minimum=8)
    return np.concatenate(
        [
            training_masks(1000, size, seed=1),
            *(masks_module.large_hole(kind, 500, size) for kind in masks_module.LARGE_HOLE_KINDS),
        ]
    )


def load_or_train_digit_inpainter(
    profile: Any, images: Any, *, name: str = "inpainter_digits", verbose: bool = True
) -> keras.Model:
    """Lesson 10's U-Net trained on digits, with the large holes among its masks (from runs/ if saved); lessons 12, 15.

    ``images`` are the training digits, float in [0, 1] shaped (N, 28, 28, 1). The U-Net has depth 2 (28 -> 14 -> 7:
    28 is divisible by 4, not by 8) and trains for the profile's ``inpaint_epochs`` over the digits (``n_train``
    caps how many) on :func:`digit_training_masks`, at the profile's batch size; a saved run that stopped early is
    continued, one of other sizes is moved aside (never deleted). Returned computing in float32.
    """
    check_profile(profile, "n_train", "batch_size", "inpaint_epochs", "width", "max_steps", "jit_compile")
    digits = _as_numpy(images)
    digits = _check_images("images", digits) if digits.ndim == 4 else digits
    if digits.shape[1:] != (28, 28, 1):
        raise ValueError(
            f"images must be digits shaped (N, 28, 28, 1) in [0, 1]; got {describe(digits)}. "
            "Add the channel axis with x[..., None] and divide uint8 digits by 255."
        )
    n_images = training.images_used(profile, len(digits))
    if n_images < profile.batch_size:
        raise ValueError(f"Give at least batch_size = {profile.batch_size} digits; got {n_images}.")
    target = steps_per_run(n_images, profile.batch_size, profile.inpaint_epochs, max_steps=profile.max_steps)
    digit_profile = profile.replace(image_size=28)
    inpainter = training.load_or_train(
        lambda: Inpainter(digit_profile, name=name, channels=1, depth=2),
        name=name,
        target=target,
        make_dataset=lambda: make_training_dataset(
            digits[:n_images].astype(np.float32), digit_training_masks(28), batch_size=profile.batch_size
        ),
        what="the digit inpainter",
        plan=f"{profile.inpaint_epochs} epoch(s) of {n_images:,} digits at batch size {profile.batch_size}",
        verbose=verbose,
    )
    return float32_copy(inpainter.model)
