"""The DCGAN trainer that lessons 06, 07, 08 and 12 share: one train step and a resumable run; lesson 06.

:func:`make_train_step` builds the ``tf.function`` that updates both networks on one batch of real
images. :class:`DCGAN` puts a generator, a discriminator, their two Adam optimizers and a fixed noise
batch into a :class:`course_utils.training.TrainingRun`, so training resumes after a restart.
:func:`load_or_train_generator` gives later lessons a trained generator, training one only when
``runs/`` holds none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils import gan, training
from course_utils.runtime import float32_copy, training_precision
from course_utils.training import EMA, RunBacked, TrainingRun, check_profile, loss_scaled, make_gif, steps_per_run
from course_utils.validation import check_pixel_range, check_positive_int, describe

__all__ = ["DCGAN", "load_or_train_generator", "make_train_step", "steps_per_run"]

#: The learning rate and first-moment decay of the DCGAN paper (Radford et al., 2016).
LEARNING_RATE = 2e-4
BETA_1 = 0.5


def _check_model(name: str, model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"{name} must be a Keras model (e.g. from gan.build_{name}(...)); got {describe(model)}.")
    return model


def _check_optimizer(name: str, optimizer: Any) -> Any:
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{name} must be a Keras optimizer such as keras.optimizers.Adam(2e-4); got {describe(optimizer)}."
        )
    return optimizer


def _check_real_images(images: Any, image_shape: tuple[int, ...]) -> None:
    """Static checks of a batch given to the train step: float dtype and the discriminator's image shape."""
    dtype = tf.as_dtype(images.dtype)
    if not dtype.is_floating:
        raise ValueError(
            f"The real images must be float32 in [-1, 1], like the generator's tanh output; got {dtype.name} "
            f"images of shape {tuple(images.shape)}. Call pipeline.to_model_range(images) or use "
            "pipeline.make_dataset(...), which scales them."
        )
    shape = tuple(images.shape)
    if len(shape) != 4 or tuple(shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"The discriminator takes batches of images shaped (N, {', '.join(map(str, image_shape))}); "
            f"got a batch of shape {shape}. Resize the images, or build the models for the images' shape "
            "(the image_shape argument)."
        )


def make_train_step(
    generator: keras.Model,
    discriminator: keras.Model,
    g_optimizer: Any,
    d_optimizer: Any,
    *,
    latent_dim: int,
    jit_compile: bool = False,
    label_smoothing: float = 0.0,
    seed: int | None = None,
) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """A ``tf.function`` that updates D and G once on a batch of real images in [-1, 1]; lesson 06.

    It returns float32 scalars ``d_loss``, ``g_loss``, ``d_real`` (mean D(x), a probability) and
    ``d_fake`` (mean D(G(z))). Under the ``mixed_float16`` global policy the optimizers are wrapped in
    :class:`keras.optimizers.LossScaleOptimizer` (unless they already are) and the losses are scaled.
    ``seed`` makes the noise the step draws reproducible.
    """
    generator = _check_model("generator", generator)
    discriminator = _check_model("discriminator", discriminator)
    g_optimizer = _check_optimizer("g_optimizer", g_optimizer)
    d_optimizer = _check_optimizer("d_optimizer", d_optimizer)
    if g_optimizer is d_optimizer:
        raise ValueError(
            "g_optimizer and d_optimizer are the same object; each network needs its own optimizer, because an "
            "optimizer keeps per-variable state (Adam's moments) and its own step count."
        )
    latent_dim = check_positive_int("latent_dim", latent_dim)
    if not isinstance(jit_compile, bool):
        raise TypeError(f"jit_compile must be True or False; got {describe(jit_compile)}.")
    if (
        isinstance(label_smoothing, bool)
        or not isinstance(label_smoothing, (int, float))
        or not (0.0 <= label_smoothing < 1.0)
    ):
        raise ValueError(f"label_smoothing must be a number in [0, 1), e.g. 0.1; got {describe(label_smoothing)}.")
    models = (generator, discriminator)  # G's loss runs through D: scale if either computes in float16
    g_optimizer, d_optimizer = loss_scaled(g_optimizer, *models), loss_scaled(d_optimizer, *models)
    image_shape = tuple(discriminator.input_shape[1:])
    if seed is None:
        noise_rng = tf.random.Generator.from_non_deterministic_state()
    else:
        noise_rng = tf.random.Generator.from_seed(check_positive_int("seed", seed, minimum=0))

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        _check_real_images(real_images, image_shape)  # runs once per trace: shapes and dtype are static
        real_images = tf.cast(real_images, tf.float32)
        noise = noise_rng.normal([tf.shape(real_images)[0], latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = generator(noise, training=True)
            real_logits = tf.cast(discriminator(real_images, training=True), tf.float32)
            fake_logits = tf.cast(discriminator(fake_images, training=True), tf.float32)
            d_loss = gan.discriminator_loss(real_logits, fake_logits, label_smoothing=label_smoothing)
            g_loss = gan.generator_loss(fake_logits)
            scaled_d_loss = d_optimizer.scale_loss(d_loss)  # the loss itself unless loss scaling is on
            scaled_g_loss = g_optimizer.scale_loss(g_loss)
        # The gradients are taken after the tapes have stopped recording.
        d_grads = d_tape.gradient(scaled_d_loss, discriminator.trainable_variables)
        g_grads = g_tape.gradient(scaled_g_loss, generator.trainable_variables)
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        return {
            "d_loss": tf.cast(d_loss, tf.float32),
            "g_loss": tf.cast(g_loss, tf.float32),
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

    return train_step


class DCGAN(RunBacked):
    """A generator, a discriminator, their optimizers and a fixed noise batch in one resumable run; lesson 06.

    Sizes come from the profile (``width``, ``latent_dim``, ``n_show``, ``max_steps``, ``jit_compile``), and
    the models compute in the profile's ``mixed_precision`` where the hardware runs it fast. Building a DCGAN
    with the name of an earlier run restores its newest checkpoint, so :meth:`train` continues to the same
    total instead of starting again; ``resume=False`` starts afresh.
    """

    def __init__(
        self,
        profile: Any,
        *,
        name: str = "dcgan_digits",
        image_shape: tuple[int, int, int] = (28, 28, 1),
        label_smoothing: float = 0.0,
        learning_rate: float = LEARNING_RATE,
        seed: int = 0,
        ema_decay: float = training.EMA_DECAY,
        resume: bool = True,
    ) -> None:
        check_profile(profile, "width", "latent_dim", "n_show", "max_steps", "jit_compile")
        if len(tuple(image_shape)) != 3:
            raise ValueError(f"image_shape must be (height, width, channels), e.g. (28, 28, 1); got {image_shape!r}.")
        self.profile = profile
        self.latent_dim = int(profile.latent_dim)
        self.image_shape = tuple(int(n) for n in image_shape)
        with training_precision(profile) as self.precision:  # the profile's mixed precision, if the hardware has it
            # the seed sets the initial weights too, so DCGAN(seed=0) is the same network with or without cu.setup()
            self.generator = gan.build_generator(
                latent_dim=self.latent_dim, width=profile.width, image_shape=image_shape, seed=seed
            )
            self.discriminator = gan.build_discriminator(width=profile.width, image_shape=image_shape, seed=seed + 1)
            self.g_optimizer = loss_scaled(keras.optimizers.Adam(learning_rate, beta_1=BETA_1))
            self.d_optimizer = loss_scaled(keras.optimizers.Adam(learning_rate, beta_1=BETA_1))
        # Build the optimizers' state now, so that a checkpoint restores into it at once.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        #: the average of the generator's weights over the recent steps (float32), updated after every step
        self.ema = EMA(self.generator, decay=ema_decay)
        noise = gan.sample_noise(profile.n_show, self.latent_dim, seed=seed)
        self.fixed_noise = tf.Variable(tf.cast(noise, tf.float32), trainable=False, name="fixed_noise")
        self.train_step = make_train_step(
            self.generator,
            self.discriminator,
            self.g_optimizer,
            self.d_optimizer,
            latent_dim=self.latent_dim,
            jit_compile=bool(profile.jit_compile),
            label_smoothing=label_smoothing,
            seed=seed,
        )
        self.run = TrainingRun(
            name,
            resume=resume,
            generator=self.generator,
            discriminator=self.discriminator,
            g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer,
            fixed_noise=self.fixed_noise,
            generator_ema=self.ema,
        )
        self._checked_range = False

    @property
    def averaged_generator(self) -> keras.Model:
        """The generator with the moving average of its weights (float32), beside the trained one; lesson 06."""
        return self.ema.model

    def samples(self, *, averaged: bool = False) -> np.ndarray:
        """Images for the fixed noise, float32 in [-1, 1], shaped (n_show, H, W, C); lesson 06.

        They come from the generator being trained, or from the average of its weights with ``averaged=True``.
        """
        generator = self.averaged_generator if averaged else self.generator
        return np.asarray(generator(self.fixed_noise, training=False), dtype=np.float32)

    def _checked_step(self, images: Any) -> dict[str, tf.Tensor]:
        """The train step, checking once that the real images are in [-1, 1]."""
        if not self._checked_range:
            _check_real_images(images, self.image_shape)
            low, high = float(tf.reduce_min(images)), float(tf.reduce_max(images))
            if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
                raise ValueError(
                    f"The real images must be in [-1, 1], like the generator's tanh output; got values in "
                    f"[{low:.4g}, {high:.4g}]. Scale uint8 pictures with pipeline.to_model_range or "
                    "pipeline.make_dataset."
                )
            check_pixel_range("the real images", images, "model")  # [0, 1] images: a warning says how to convert
            self._checked_range = True
        return self.train_step(images)  # TrainingRun.fit silences the graph-building first call

    def _step_function(self) -> Callable[[Any], dict[str, tf.Tensor]]:
        return self._checked_step

    def _sample_function(self) -> Callable[[], np.ndarray]:
        return self.samples

    def gif(self, path: str | Path | None = None, *, fps: float = 4.0) -> Path:
        """Join the saved sample grids into a looping GIF (default ``runs/<name>/training.gif``); lesson 06."""
        if not self.run.sample_paths:
            raise ValueError("No sample grids are saved yet: call train(...) first.")
        return make_gif(self.run.sample_paths, self.run.run_dir / "training.gif" if path is None else path, fps=fps)


def load_or_train_generator(
    profile: Any, *, data: Any = None, name: str = "dcgan_digits", averaged: bool = True, verbose: bool = True
) -> keras.Model:
    """The generator of lesson 06's run (from runs/), or of one trained now; lessons 07, 12, 13, 15 and 16.

    A run that stopped early is continued to the profile's total for the data (``profile.n_train`` caps
    the number of images; a smaller dataset is used whole). A run whose models no longer match the profile
    (another width or latent size) is moved aside, never deleted, and a new one is trained. ``data`` defaults
    to ``datasets.load_digits``. The generator returned holds the moving average of the trained weights
    (``DCGAN.averaged_generator``: on the cpu profile's digits its samples score a far lower Digits-FID, see
    ``benchmarks/dcgan_robustness.py``), or with ``averaged=False`` the weights of the last step. It computes
    in float32, whatever precision it trained in.
    """
    if not isinstance(averaged, bool):
        raise TypeError(
            f"averaged must be True (the weight average) or False (the last step's weights); got {describe(averaged)}."
        )
    check_profile(profile, "n_train", "n_test", "batch_size", "gan_epochs", "max_steps", "width")
    n_images = training.images_used(profile, None if data is None else len(data.x_train))
    target = steps_per_run(n_images, profile.batch_size, profile.gan_epochs, max_steps=profile.max_steps)

    def make_dataset() -> Any:
        nonlocal data
        if data is None:
            from course_utils.datasets import load_digits

            data = load_digits(n_train=profile.n_train, n_test=profile.n_test, verbose=verbose)
        from course_utils.pipeline import make_dataset as batches

        return batches(data.x_train[:n_images], batch_size=profile.batch_size)

    model = training.load_or_train(
        lambda: DCGAN(profile, name=name),
        name=name,
        target=target,
        make_dataset=make_dataset,
        what="the generator",
        plan=f"{profile.gan_epochs} epoch(s) at batch size {profile.batch_size}, width {profile.width}",
        verbose=verbose,
    )
    return float32_copy(model.averaged_generator if averaged else model.generator)
