"""Adversarial inpainting: a PatchGAN discriminator, the combined loss and a sharpness measure; lesson 11.

Conventions (the same as :mod:`course_utils.inpainting`): images are float32 in [0, 1], shaped (N, H, W, C);
masks are float32 in {0, 1}, shaped (N, H, W, 1), with **1 = known pixel** and **0 = hole**.

* :func:`build_patch_discriminator` is a PatchGAN (Isola et al., 2017): strided convolutions and LeakyReLU,
  no normalisation, and one logit per *patch* of the image instead of one per image.
* :func:`receptive_field` counts how many input pixels one of those logits sees.
* :func:`make_adversarial_train_step` trains an inpainter with the context-encoder loss of Pathak et al.
  (2016), L = L_rec + adv_weight·L_adv, and its discriminator on real photos against composites.
* :class:`AdversarialInpainter` runs that step in a resumable :class:`course_utils.training.TrainingRun`.
* :func:`warm_up_discriminator` trains the discriminator alone on real photos against the inpainter's fills,
  so that its verdict means something from the first adversarial step.
* :func:`detail` measures texture per image: the variance of the Laplacian, inside the hole when masks are given.
* :func:`hole_kid` measures realism as a distance between *distributions*: the KID of the fills' hole patterns
  against real ones (Blau & Michaeli's perception axis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils import gan, inpainting
from course_utils.runtime import training_precision
from course_utils.training import RunBacked, TrainingRun, check_profile, loss_scaled
from course_utils.validation import check_positive_int, describe

__all__ = [
    "ADV_WEIGHT",
    "AdversarialInpainter",
    "LAPLACIAN",
    "PIX2PIX_LAYERS",
    "build_patch_discriminator",
    "detail",
    "hole_features",
    "hole_kid",
    "laplacian",
    "make_adversarial_train_step",
    "make_discriminator_step",
    "patch_layers",
    "receptive_field",
    "warm_up_discriminator",
]

#: Weight of the adversarial term next to the reconstruction loss (6·hole + 1·valid). Pathak et al. weight
#: their L2 and adversarial terms 0.999 and 0.001; our reconstruction loss is an L1 about 10 times larger.
ADV_WEIGHT = 0.01
#: The 4-neighbour Laplacian kernel (the one of scipy.ndimage.laplace and cv2.Laplacian with ksize=1).
LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
#: Adam settings of the discriminator (the usual GAN choice of a small beta_1). After 200 warm-up steps on the
#: fills of lesson 10's cpu-profile inpainter, a discriminator that sees the mask told 500 held-out photos from
#: their fills with an AUC of 0.89 on centre holes at 2e-3, 0.84 at 5e-4 (0.70 at 5e-4 without the mask).
D_LEARNING_RATE = 2e-3
D_BETA_1 = 0.5
KERNEL = 4  # kernel of the strided convolutions, as in pix2pix
#: The (kernel, stride) pairs of pix2pix's 70x70 PatchGAN (Isola et al., 2017): C64-C128-C256 with stride 2,
#: C512 with stride 1, then a 4x4 convolution to one logit.
PIX2PIX_LAYERS: tuple[tuple[int, int], ...] = ((4, 2), (4, 2), (4, 2), (4, 1), (4, 1))


# --------------------------------------------------------------------------- the discriminator


def patch_layers(n_layers: int) -> list[tuple[int, int]]:
    """The (kernel, stride) of every convolution of ``build_patch_discriminator(n_layers=...)``; lesson 11."""
    n_layers = check_positive_int("n_layers", n_layers)
    return [(KERNEL, 2)] * n_layers + [(3, 1)]


def build_patch_discriminator(
    *,
    image_size: int,
    channels: int = 3,
    width: int,
    n_layers: int = 3,
    sees_mask: bool = False,
    name: str = "patch_discriminator",
) -> keras.Model:
    """A PatchGAN: image in [0, 1] -> a (H/2^n, W/2^n, 1) grid of float32 logits, one per patch; lesson 11.

    ``n_layers`` 4x4 convolutions with stride 2 (width, 2·width, ... filters, at most 8·width), each followed by
    LeakyReLU(0.2), then a 3x3 convolution to one logit per position. No batch, instance or layer norm: the
    discriminator judges each image on its own. The input is rescaled to [-1, 1] inside the model.

    With ``sees_mask=True`` the input has one more channel, the mask (1 = known, 0 = hole), as the SN-PatchGAN
    of Yu et al. (2019) has: the discriminator is told where the hole is and need not find it. The train steps
    of this module append the mask themselves when a discriminator takes it.
    """
    image_size = check_positive_int("image_size", image_size)
    channels = check_positive_int("channels", channels)
    width = check_positive_int("width", width)
    n_layers = check_positive_int("n_layers", n_layers)
    if not isinstance(sees_mask, bool):
        raise TypeError(f"sees_mask must be True or False; got {describe(sees_mask)}.")
    if image_size % 2**n_layers:
        raise ValueError(
            f"image_size must be divisible by 2**n_layers = {2**n_layers}, because each of the {n_layers} strided "
            f"convolutions halves the image; got image_size={image_size}. Use fewer layers."
        )
    name_in = "image_and_mask" if sees_mask else "image"
    image = keras.Input((image_size, image_size, channels + int(sees_mask)), name=name_in)
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_model_range")(image)
    for level in range(n_layers):
        filters = width * 2 ** min(level, 3)
        x = keras.layers.Conv2D(filters, KERNEL, strides=2, padding="same", name=f"down{level}")(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"down{level}_lrelu")(x)
    logits = keras.layers.Conv2D(1, 3, padding="same", dtype="float32", name="patch_logits")(x)
    return keras.Model(image, logits, name=name)


def receptive_field(spec: keras.Model | Sequence[tuple[int, int]]) -> int:
    """Side in input pixels seen by one output of a stack of convolutions: a model or (kernel, stride) pairs; lesson 11.

    Walking from the input: r = 1 and jump j = 1; each layer adds (kernel − 1)·j to r, then multiplies j by
    its stride (j is the distance in input pixels between neighbouring outputs of the layer).
    """
    if isinstance(spec, keras.Model):
        pairs = []
        for layer in spec.layers:
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
                size = layer.kernel_size if hasattr(layer, "kernel_size") else layer.pool_size
                dilation = getattr(layer, "dilation_rate", (1, 1))[0]
                pairs.append((dilation * (size[0] - 1) + 1, layer.strides[0]))
        if not pairs:
            raise ValueError(f"the model {spec.name!r} has no convolution or pooling layer to count.")
    elif isinstance(spec, (list, tuple)) and spec:
        pairs = []
        for number, pair in enumerate(spec, start=1):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(
                    f"layer {number} must be a (kernel, stride) pair such as (4, 2); got {describe(pair)}."
                )
            pairs.append(
                (
                    check_positive_int(f"kernel of layer {number}", pair[0]),
                    check_positive_int(f"stride of layer {number}", pair[1]),
                )
            )
    else:
        raise TypeError(
            f"spec must be a Keras model or a list of (kernel, stride) pairs such as [(4, 2), (4, 2), (3, 1)]; "
            f"got {describe(spec)}."
        )
    field, jump = 1, 1
    for kernel, stride in pairs:
        field += (kernel - 1) * jump
        jump *= stride
    return field


# --------------------------------------------------------------------------- the training step


def _check_weight(name: str, weight: Any) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not np.isfinite(weight) or weight < 0:
        raise ValueError(f"{name} must be a number >= 0; got {describe(weight)}.")
    return float(weight)


def _flat(logits: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.cast(logits, tf.float32), [-1])  # every patch logit counts as one judgement


def _takes_mask(discriminator: keras.Model, image_shape: tuple) -> bool:
    """Whether ``discriminator`` takes the mask as an extra channel of images shaped ``image_shape`` (H, W, C).

    Raises a clear error when it takes neither the images nor the images with their mask.
    """
    taken = tuple(discriminator.inputs[0].shape[1:])
    if taken == tuple(image_shape):
        return False
    if taken == (*image_shape[:2], image_shape[2] + 1):
        return True
    raise ValueError(
        f"the discriminator takes images shaped {taken} but the inpainter makes {tuple(image_shape)}; build it "
        f"with image_size={image_shape[0]}, channels={image_shape[2]} (and sees_mask=True for the mask channel)."
    )


def _judge(discriminator: keras.Model, images: tf.Tensor, masks: tf.Tensor, with_mask: bool) -> tf.Tensor:
    """The discriminator's patch logits, flattened, for images (with their mask as a channel if it takes one)."""
    if with_mask:
        images = tf.concat([images, masks], axis=-1)
    return _flat(discriminator(images, training=True))


def make_adversarial_train_step(
    inpainter: keras.Model,
    discriminator: keras.Model,
    g_opt: Any,
    d_opt: Any,
    *,
    adv_weight: float = ADV_WEIGHT,
    hole_weight: float = inpainting.HOLE_WEIGHT,
    valid_weight: float = inpainting.VALID_WEIGHT,
    jit_compile: bool = False,
) -> Callable[..., dict[str, tf.Tensor]]:
    """A ``tf.function`` updating inpainter and discriminator once on clean images and masks; lesson 11.

    The inpainter sees the image with its holes zeroed; the composite m·x + (1 − m)·ŷ goes to the discriminator
    as a fake, the photo as a real one, every patch logit judged with binary cross-entropy (a discriminator
    built with ``sees_mask=True`` gets the mask as well). The inpainter's loss is rec_loss + adv_weight·adv_loss,
    with rec_loss = hole_weight·hole L1 + valid_weight·valid L1 and adv_loss the non-saturating GAN loss of the
    composite. Called as ``train_step(images, masks, targets)`` with a teacher's fills (the batches of
    ``inpainting.make_training_dataset(..., teacher=...)``), the hole L1 is measured against ``targets``
    instead of the photo: the reconstruction term keeps teaching what lesson 10 taught. The discriminator
    always sees the real photos. Returns float32 {"d_loss", "g_loss", "rec_loss", "adv_loss"}.
    """
    for name, model in (("inpainter", inpainter), ("discriminator", discriminator)):
        if not isinstance(model, keras.Model):
            raise TypeError(f"{name} must be a Keras model; got {describe(model)}.")
    for name, optimizer in (("g_opt", g_opt), ("d_opt", d_opt)):
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"{name} must be a Keras optimizer such as keras.optimizers.Adam(1e-3); got {describe(optimizer)}."
            )
    if g_opt is d_opt:
        raise ValueError("g_opt and d_opt must be two optimizers: each keeps its own state for its own network.")
    adv_weight = _check_weight("adv_weight", adv_weight)
    hole_weight = _check_weight("hole_weight", hole_weight)
    valid_weight = _check_weight("valid_weight", valid_weight)
    if not isinstance(jit_compile, bool):
        raise TypeError(f"jit_compile must be True or False; got {describe(jit_compile)}.")
    image_shape = tuple(inpainter.inputs[0].shape[1:])
    with_mask = _takes_mask(discriminator, image_shape)
    g_opt = loss_scaled(g_opt, inpainter, discriminator)
    d_opt = loss_scaled(d_opt, inpainter, discriminator)

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(images: tf.Tensor, masks: tf.Tensor, targets: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        images, masks = inpainting.step_inputs(images, masks, image_shape)
        wanted = images if targets is None else masks * images + (1.0 - masks) * tf.cast(targets, tf.float32)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            predictions = inpainter([images * masks, masks], training=True)
            filled = masks * images + (1.0 - masks) * tf.cast(predictions, tf.float32)
            real_logits = _judge(discriminator, images, masks, with_mask)
            fake_logits = _judge(discriminator, filled, masks, with_mask)
            d_loss = gan.discriminator_loss(real_logits, fake_logits)
            rec_loss = inpainting.inpainting_loss(
                wanted, predictions, masks, hole_weight=hole_weight, valid_weight=valid_weight
            )["loss"]
            adv_loss = gan.generator_loss(fake_logits)
            g_loss = rec_loss + adv_weight * adv_loss
            g_scaled = g_opt.scale_loss(g_loss)
            d_scaled = d_opt.scale_loss(d_loss)
        g_grads = g_tape.gradient(g_scaled, inpainter.trainable_variables)
        d_grads = d_tape.gradient(d_scaled, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, inpainter.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        losses = {"d_loss": d_loss, "g_loss": g_loss, "rec_loss": rec_loss, "adv_loss": adv_loss}
        return {name: tf.cast(value, tf.float32) for name, value in losses.items()}

    return train_step


class AdversarialInpainter(RunBacked):
    """A copy of an inpainter, a PatchGAN and their optimizers in one resumable TrainingRun; lesson 11.

    The inpainter starts from ``start_from``'s weights (lesson 10's model) when the run is new; a run with
    checkpoints resumes instead. Sizes come from the profile (``image_size``, ``width``, ``max_steps``,
    ``jit_compile``); ``n_layers`` sets the discriminator's depth, ``sees_mask`` whether it is given the mask
    (:func:`build_patch_discriminator`). Batches are (images, masks) or, with a teacher's fills, (images,
    masks, fills): see :func:`make_adversarial_train_step`.
    """

    def __init__(
        self,
        profile: Any,
        start_from: keras.Model,
        *,
        name: str = "inpainter_adversarial",
        n_layers: int = 2,
        sees_mask: bool = True,
        adv_weight: float = ADV_WEIGHT,
        learning_rate: float = inpainting.LEARNING_RATE,
        resume: bool = True,
    ) -> None:
        check_profile(profile, "image_size", "width", "max_steps", "jit_compile")
        if not isinstance(start_from, keras.Model):
            raise TypeError(f"start_from must be the trained inpainter (a Keras model); got {describe(start_from)}.")
        self.profile = profile
        channels = int(start_from.inputs[0].shape[-1])
        with training_precision(profile) as self.precision:  # the profile's mixed precision, if the hardware has it
            self.model = inpainting.rebuild_inpainter(start_from)  # a copy: lesson 10's model stays as it was
            self.discriminator = build_patch_discriminator(
                image_size=profile.image_size,
                channels=channels,
                width=profile.width,
                n_layers=n_layers,
                sees_mask=sees_mask,
            )
            self.g_opt = loss_scaled(keras.optimizers.Adam(learning_rate), self.model, self.discriminator)
            self.d_opt = loss_scaled(
                keras.optimizers.Adam(D_LEARNING_RATE, beta_1=D_BETA_1), self.model, self.discriminator
            )
        self.g_opt.build(self.model.trainable_variables)
        self.d_opt.build(self.discriminator.trainable_variables)
        self.train_step = make_adversarial_train_step(
            self.model,
            self.discriminator,
            self.g_opt,
            self.d_opt,
            adv_weight=adv_weight,
            jit_compile=bool(profile.jit_compile),
        )
        self.run = TrainingRun(
            name, resume=resume, model=self.model, discriminator=self.discriminator, g_opt=self.g_opt, d_opt=self.d_opt
        )

    # train(dataset, steps=...) is RunBacked.train: batches of (images, masks[, fills]), capped by max_steps.


# --------------------------------------------------------------------------- warming up the discriminator


def make_discriminator_step(
    inpainter: keras.Model, discriminator: keras.Model, d_opt: Any
) -> Callable[..., dict[str, tf.Tensor]]:
    """A ``tf.function`` that updates only the discriminator: real photos against the inpainter's composites; lesson 11.

    The inpainter is used as it is (not trained), so the step is cheap. Returns float32 {"d_loss", "real",
    "fake"}: the loss and the mean probability the discriminator gives to the real and the filled photos.
    """
    for name, model in (("inpainter", inpainter), ("discriminator", discriminator)):
        if not isinstance(model, keras.Model):
            raise TypeError(f"{name} must be a Keras model; got {describe(model)}.")
    if not isinstance(d_opt, keras.optimizers.Optimizer):
        raise TypeError(f"d_opt must be a Keras optimizer such as keras.optimizers.Adam(5e-4); got {describe(d_opt)}.")
    d_opt = loss_scaled(d_opt, discriminator)
    image_shape = tuple(inpainter.inputs[0].shape[1:])
    with_mask = _takes_mask(discriminator, image_shape)

    @tf.function(reduce_retracing=True)
    def step(images: tf.Tensor, masks: tf.Tensor, targets: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        del targets  # batches with a teacher's fills work too; the discriminator judges the inpainter's own fills
        images, masks = inpainting.step_inputs(images, masks, image_shape)
        predictions = tf.cast(inpainter([images * masks, masks], training=False), tf.float32)
        filled = masks * images + (1.0 - masks) * predictions
        with tf.GradientTape() as tape:
            real_logits = _judge(discriminator, images, masks, with_mask)
            fake_logits = _judge(discriminator, filled, masks, with_mask)
            d_loss = gan.discriminator_loss(real_logits, fake_logits)
            scaled = d_opt.scale_loss(d_loss)
        grads = tape.gradient(scaled, discriminator.trainable_variables)
        d_opt.apply_gradients(zip(grads, discriminator.trainable_variables))
        return {
            "d_loss": tf.cast(d_loss, tf.float32),
            "real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

    return step


def warm_up_discriminator(
    trainer: Any, dataset: Iterable[Any], *, steps: int, progress: bool = True
) -> dict[str, np.ndarray]:
    """Train an :class:`AdversarialInpainter`'s discriminator alone for ``steps`` batches; lesson 11.

    A fresh discriminator guesses, so for its first hundreds of steps its gradient tells the inpainter
    nothing useful. Warmed up on real photos against the inpainter's current fills, it starts the
    adversarial fine-tuning already knowing what gives a fill away. Returns the per-step {"d_loss", "real",
    "fake"} as arrays. Call it before the run's first adversarial step (``trainer.step == 0``).
    """
    for attribute in ("model", "discriminator", "d_opt"):
        if not hasattr(trainer, attribute):
            raise TypeError(f"trainer must be an adversarial.AdversarialInpainter; got {describe(trainer)}.")
    steps = check_positive_int("steps", steps)
    step = make_discriminator_step(trainer.model, trainer.discriminator, trainer.d_opt)
    logs: dict[str, list[float]] = {"d_loss": [], "real": [], "fake": []}
    batches = iter(dataset)
    from tqdm.auto import tqdm

    for _ in tqdm(range(steps), desc="warming up D", disable=not progress):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(dataset)
            batch = next(batches)
        for name, value in step(*batch[:2]).items():  # (images, masks), with or without a teacher's fills
            logs[name].append(float(value))
    return {name: np.asarray(values) for name, values in logs.items()}


# --------------------------------------------------------------------------- detail and realism


def _gray(images: Any) -> np.ndarray:
    array = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if array.ndim == 3:
        raise ValueError(
            f"images must be a batch shaped (N, height, width, channels); got {describe(array)}. "
            "Add a batch axis with image[None]."
        )
    if array.ndim != 4 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"images must be float images shaped (N, height, width, channels); got {describe(array)}.")
    if min(array.shape[1:3]) < 3:
        raise ValueError(f"images must be at least 3x3 pixels for a 3x3 Laplacian; got {describe(array)}.")
    return array.astype(np.float64).mean(axis=-1)  # grey = mean of the channels


def laplacian(images: Any) -> np.ndarray:
    """The 4-neighbour Laplacian of each image's grey level (mean of channels), mirrored at the border; lesson 11."""
    gray = _gray(images)
    p = np.pad(gray, ((0, 0), (1, 1), (1, 1)), mode="symmetric")  # d c b a | a b c d, as scipy's "reflect"
    return p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:] - 4.0 * p[:, 1:-1, 1:-1]


def detail(images: Any, masks: Any = None) -> np.ndarray:
    """Variance of the Laplacian per image (N,), over the hole pixels only when masks are given; lesson 11.

    A flat or blurred region has a small Laplacian everywhere, edges and texture a large one (a classic focus
    measure). It scores one image at a time, so it says how much detail a fill has, not whether fills look
    like photos: noise scores high too. Compare it with the same number on the real photos, and use
    :func:`hole_kid` for realism.
    """
    lap = laplacian(images)
    if masks is None:
        return lap.reshape(len(lap), -1).var(axis=1)
    mask = masks.numpy() if hasattr(masks, "numpy") else np.asarray(masks)
    if mask.ndim != 4 or mask.shape[:3] != lap.shape or mask.shape[3] != 1:
        raise ValueError(
            f"masks must be shaped (N, H, W, 1) like the images, {lap.shape + (1,)}, with 1 = known and 0 = hole; "
            f"got {describe(mask)}."
        )
    if not np.all(np.isin(np.unique(mask), (0.0, 1.0))):
        raise ValueError(f"masks must hold only 0 (hole) and 1 (known pixel); got {describe(mask)}.")
    hole = mask[..., 0] == 0
    values = np.zeros(len(lap))
    for i in range(len(lap)):
        if hole[i].sum() > 1:
            values[i] = lap[i][hole[i]].var()
    return values


def hole_features(images: Any, masks: Any) -> np.ndarray:
    """One feature vector per image: its grey level (less its mean) and Laplacian over the hole's box; lesson 11.

    Every mask must have the same hole (centre holes, say), so that the vectors line up pixel by pixel. The
    grey-level part describes the structure of the fill, the Laplacian part its detail.
    """
    mask = masks.numpy() if hasattr(masks, "numpy") else np.asarray(masks)
    grey = _gray(images)
    if mask.ndim != 4 or mask.shape[:3] != grey.shape or mask.shape[3] != 1:
        raise ValueError(
            f"masks must be shaped (N, H, W, 1) like the images, {grey.shape + (1,)}, with 1 = known and 0 = hole; "
            f"got {describe(mask)}."
        )
    hole = mask[..., 0] == 0
    if not hole[0].any() or not np.all(hole == hole[0]):
        raise ValueError(
            "hole_features compares the same hole across photos: give masks that all have one identical, non-empty "
            "hole, such as masks.make_masks('center', n, size)."
        )
    rows, cols = np.nonzero(hole[0].any(axis=1))[0], np.nonzero(hole[0].any(axis=0))[0]
    box = (slice(None), slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    level = grey[box] - grey[box].mean(axis=(1, 2), keepdims=True)
    return np.concatenate([level.reshape(len(grey), -1), laplacian(images)[box].reshape(len(grey), -1)], axis=1)


def hole_kid(
    fills: Any,
    real: Any,
    masks: Any,
    *,
    real_masks: Any = None,
    subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID × 1000 between the hole patterns of ``fills`` and of ``real`` photos, and its std; lesson 11.

    A distance between two *distributions*, not a score per image: Blau & Michaeli's perception axis. The
    features of :func:`hole_features` are scaled so that the real ones have unit variance in each half
    (level, Laplacian), then compared by ``evaluation.kid_from_features``. Use different photos for ``real``
    and ``fills`` (two halves of a held-out set) and measure real against real for the floor. The std says
    something only with a ``subset_size`` smaller than both sets: subsets as large as the sets are the sets.
    """
    from course_utils.evaluation import kid_from_features

    real_masks = masks if real_masks is None else real_masks
    f_fill = hole_features(fills, masks)
    f_real = hole_features(real, real_masks)
    if f_fill.shape[1] != f_real.shape[1]:
        raise ValueError(
            f"fills and real photos must have holes of the same size; got features {f_fill.shape} and {f_real.shape}."
        )
    half = f_real.shape[1] // 2
    for part in (slice(0, half), slice(half, None)):
        scale = max(float(f_real[:, part].std()), 1e-12)
        f_fill[:, part] /= scale
        f_real[:, part] /= scale
    mean, std = kid_from_features(f_fill, f_real, subsets=subsets, subset_size=subset_size, seed=seed)
    return 1000.0 * mean, 1000.0 * std
