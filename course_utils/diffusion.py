"""A denoising diffusion model of digits: the U-Net, its loss, an EMA of its weights and a resumable trainer; lesson 13.

* :func:`build_denoiser` is a small Keras U-Net that takes noisy images x_t and their times t in [0, 1] (and,
  for lesson 14, a class label) and predicts the noise (or x0, v, the flow velocity).
* :func:`diffusion_loss` is the simplified objective of Ho et al. (2020): the mean squared error between the
  network's output and its target, at a random time per image.
* :class:`EMA` keeps an exponential moving average of the weights in a float32 copy of the network; samples
  are drawn from it.
* :class:`Diffusion` puts the network, its optimizer and the EMA into a ``training.TrainingRun`` (resume,
  TensorBoard, sample grids, NaN guard); :func:`load_or_train_diffusion` gives later lessons a trained model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils import sampling
from course_utils.runtime import training_precision
from course_utils.schedules import NoiseSchedule, cosine_schedule, flow_path, linear_schedule
from course_utils.training import FROM_PROFILE, History, RunBacked, TrainingRun, loss_scaled, make_gif
from course_utils.validation import check_choice, check_positive_int, describe
from course_utils.widgets import PictureWidget, _ipywidgets, _Value

__all__ = [
    "EMA",
    "Diffusion",
    "ReverseScrubber",
    "build_denoiser",
    "build_toy_denoiser",
    "diffusion_loss",
    "load_or_train_diffusion",
    "make_schedule",
    "make_train_step",
    "time_embedding",
]


# --------------------------------------------------------------------------- the network


def time_embedding(t: Any, dim: int, *, max_period: float = 10_000.0) -> tf.Tensor:
    """Sinusoidal features of times t in [0, 1] (scaled by 1000, as DDPM's step index), shape (N, dim); lesson 13."""
    dim = check_positive_int("dim", dim, minimum=2)
    if dim % 2:
        raise ValueError(f"dim must be even (half sines, half cosines); got {dim}.")
    t = tf.reshape(tf.cast(t, tf.float32), [-1, 1]) * 1000.0
    half = dim // 2
    frequencies = tf.exp(-math.log(max_period) * tf.range(half, dtype=tf.float32) / half)
    angles = t * frequencies[None, :]
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)


@keras.saving.register_keras_serializable(package="course_utils")
class TimeEmbedding(keras.layers.Layer):
    """The sinusoidal time features as a Keras layer (float32 in and out); lesson 13."""

    def __init__(self, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dim = dim

    def call(self, t: Any) -> Any:
        return tf.cast(time_embedding(t, self.dim), self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dim": self.dim}


def _residual_block(x: Any, embedding: Any, channels: int, *, norm: bool, name: str) -> Any:
    """conv -> add the time/class embedding -> swish -> conv, plus a skip (1x1 conv if the width changes)."""
    layers = keras.layers
    skip = x if x.shape[-1] == channels else layers.Conv2D(channels, 1, name=f"{name}_skip")(x)
    h = layers.GroupNormalization(groups=min(8, x.shape[-1]), name=f"{name}_norm1")(x) if norm else x
    h = layers.Activation("swish", name=f"{name}_act1")(h)
    h = layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv1")(h)
    shift = layers.Dense(channels, name=f"{name}_time")(embedding)
    h = layers.Add(name=f"{name}_add_time")([h, layers.Reshape((1, 1, channels), name=f"{name}_time_map")(shift)])
    if norm:
        h = layers.GroupNormalization(groups=min(8, channels), name=f"{name}_norm2")(h)
    h = layers.Activation("swish", name=f"{name}_act2")(h)
    h = layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv2")(h)
    return layers.Add(name=f"{name}_out")([skip, h])


def build_denoiser(
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    width: int = 32,
    multipliers: Sequence[int] = (1, 2, 2),
    blocks: int = 1,
    num_classes: int | None = None,
    norm: bool = False,
    name: str = "denoiser",
) -> keras.Model:
    """A small U-Net: [x_t (N, H, W, C), t (N,)] (+ label (N,)) -> a prediction shaped like x_t; lesson 13.

    Args:
        image_shape: (height, width, channels); height and width divisible by 2**(len(multipliers) - 1).
        width: channels at full resolution; level i has width * multipliers[i].
        multipliers: one entry per resolution (each after the first halves the image).
        blocks: residual blocks per level on the way down (one more on the way up).
        num_classes: with a number, a third input takes class labels 0..num_classes, where the last one,
            ``num_classes``, means "no class" (for classifier-free guidance, lesson 14).
        norm: GroupNormalization in the residual blocks (slower on a CPU; off by default).

    The time t in [0, 1] enters every residual block through a sinusoidal embedding and a small MLP. The last
    convolution starts at zero, so the untrained network predicts 0 everywhere. The output is float32.
    """
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(
            f"image_shape must be (height, width, channels), e.g. (28, 28, 1); got {describe(image_shape)}."
        )
    height, cols, channels = (check_positive_int(f"image_shape[{i}]", n) for i, n in enumerate(image_shape))
    width = check_positive_int("width", width)
    blocks = check_positive_int("blocks", blocks)
    if not isinstance(multipliers, (tuple, list)) or not multipliers:
        raise ValueError(f"multipliers must be a non-empty list such as (1, 2, 2); got {describe(multipliers)}.")
    multipliers = [check_positive_int("multipliers[i]", m) for m in multipliers]
    factor = 2 ** (len(multipliers) - 1)
    if height % factor or cols % factor:
        raise ValueError(
            f"{len(multipliers)} levels halve the image {len(multipliers) - 1} time(s), so its height and width must "
            f"be divisible by {factor}; got image_shape {tuple(image_shape)}."
        )
    if num_classes is not None:
        num_classes = check_positive_int("num_classes", num_classes)
    layers = keras.layers
    x_in = keras.Input(tuple(image_shape), name="x_t")
    t_in = keras.Input((), name="t")
    inputs = [x_in, t_in]
    embed_dim = 4 * width
    embedding = TimeEmbedding(width, name="time_features")(t_in)
    embedding = layers.Dense(embed_dim, activation="swish", name="time_mlp1")(embedding)
    embedding = layers.Dense(embed_dim, name="time_mlp2")(embedding)
    if num_classes is not None:
        label_in = keras.Input((), dtype="int32", name="label")
        inputs.append(label_in)
        label_embedding = layers.Embedding(num_classes + 1, embed_dim, name="class_embedding")(label_in)
        embedding = layers.Add(name="time_plus_class")([embedding, label_embedding])
    embedding = layers.Activation("swish", name="embedding_act")(embedding)

    h = layers.Conv2D(width, 3, padding="same", name="stem")(x_in)
    skips = [h]
    for level, multiplier in enumerate(multipliers):
        for block in range(blocks):
            h = _residual_block(h, embedding, width * multiplier, norm=norm, name=f"down{level}_{block}")
            skips.append(h)
        if level < len(multipliers) - 1:
            h = layers.Conv2D(h.shape[-1], 3, strides=2, padding="same", name=f"downsample{level}")(h)
            skips.append(h)
    h = _residual_block(h, embedding, h.shape[-1], norm=norm, name="middle")
    for level in reversed(range(len(multipliers))):
        for block in range(blocks + 1):
            h = layers.Concatenate(name=f"up{level}_{block}_concat")([h, skips.pop()])
            h = _residual_block(h, embedding, width * multipliers[level], norm=norm, name=f"up{level}_{block}")
        if level > 0:
            h = layers.UpSampling2D(2, interpolation="nearest", name=f"upsample{level}")(h)
            h = layers.Conv2D(h.shape[-1], 3, padding="same", name=f"upsample{level}_conv")(h)
    if norm:
        h = layers.GroupNormalization(groups=min(8, h.shape[-1]), name="out_norm")(h)
    h = layers.Activation("swish", name="out_act")(h)
    out = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="out_conv")(h)
    out = layers.Activation("linear", dtype="float32", name="prediction")(out)
    return keras.Model(inputs, out, name=name)


def build_toy_denoiser(*, dim: int = 2, width: int = 128, depth: int = 3, name: str = "toy_denoiser") -> keras.Model:
    """An MLP denoiser for points: [x_t (N, dim), t (N,)] -> a prediction (N, dim); lesson 13's 2-D toy.

    The time enters through the same sinusoidal embedding as the U-Net's, added to every hidden layer.
    """
    dim = check_positive_int("dim", dim)
    width = check_positive_int("width", width)
    depth = check_positive_int("depth", depth)
    layers = keras.layers
    x_in = keras.Input((dim,), name="x_t")
    t_in = keras.Input((), name="t")
    embedding = TimeEmbedding(32, name="time_features")(t_in)
    embedding = layers.Dense(width, activation="swish", name="time_mlp")(embedding)
    h = layers.Dense(width, name="input")(x_in)
    for index in range(depth):
        h = layers.Add(name=f"add_time{index}")([h, layers.Dense(width, name=f"time{index}")(embedding)])
        h = layers.Activation("swish", name=f"act{index}")(h)
        h = layers.Dense(width, name=f"hidden{index}")(h)
    h = layers.Activation("swish", name="out_act")(h)
    out = layers.Dense(dim, kernel_initializer="zeros", dtype="float32", name="prediction")(h)
    return keras.Model([x_in, t_in], out, name=name)


# --------------------------------------------------------------------------- schedule, loss, EMA, train step

_SCHEDULES: dict[str, Callable[[int], NoiseSchedule]] = {
    "linear": linear_schedule,
    "cosine": cosine_schedule,
    "flow": flow_path,
}


def make_schedule(kind: str = "cosine", steps: int = 1000) -> NoiseSchedule:
    """The schedule called ``kind`` ("linear", "cosine" or "flow") with ``steps`` training times; lesson 13."""
    check_choice("kind", kind, tuple(_SCHEDULES))
    return _SCHEDULES[kind](steps)


def _rate_tables(schedule: NoiseSchedule) -> tuple[tf.Tensor, tf.Tensor]:
    """(signal, noise) at t = k / T for k = 0..T as float32 constants, for lookups inside a graph."""
    signal, noise = schedule.rates(np.arange(schedule.steps + 1) / schedule.steps)
    return tf.constant(signal, tf.float32), tf.constant(noise, tf.float32)


def diffusion_loss(
    model: keras.Model,
    x0: Any,
    noise: Any,
    t: Any,
    signal: Any,
    sigma: Any,
    *,
    prediction: str = "eps",
    labels: Any = None,
    training: bool = True,
) -> tf.Tensor:
    """Mean squared error between model([x_t, t]) and its target, x_t = signal*x0 + sigma*noise; lesson 13.

    With ``prediction="eps"`` this is the simplified variational bound of Ho et al. (2020), ||eps - eps_theta||^2;
    t, signal and sigma hold one value per image. Returns a float32 scalar.
    """
    check_choice("prediction", prediction, sampling.PREDICTIONS)
    x0 = tf.cast(x0, tf.float32)
    noise = tf.cast(noise, tf.float32)
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape; got {describe(x0)} and {describe(noise)}.")
    shape = [-1] + [1] * (x0.shape.rank - 1)
    a = tf.reshape(tf.cast(signal, tf.float32), shape)
    s = tf.reshape(tf.cast(sigma, tf.float32), shape)
    x_t = a * x0 + s * noise
    inputs = [x_t, tf.cast(t, tf.float32)] if labels is None else [x_t, tf.cast(t, tf.float32), labels]
    output = tf.cast(model(inputs, training=training), tf.float32)
    target = sampling.training_target(x0, noise, tf.reshape(a, [-1]), tf.reshape(s, [-1]), prediction=prediction)
    return tf.reduce_mean(tf.square(output - target))


class EMA:
    """An exponential moving average of a model's weights, kept in a float32 copy; lesson 13.

    ``ema.model`` is the copy to sample from; ``update()`` (inside a train step) moves each of its weights a
    fraction (1 - decay) towards the trained model's, with a warm-up decay min(decay, (1 + n) / (10 + n)) so
    the early average is not dominated by the random start. Checkpoint ``ema.model`` and ``ema.count``.
    """

    def __init__(self, model: keras.Model, decay: float = 0.999) -> None:
        if not isinstance(model, keras.Model):
            raise TypeError(f"EMA needs a Keras model; got {describe(model)}.")
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1:
            raise ValueError(f"decay must be a number in [0, 1), e.g. 0.999; got {describe(decay)}.")
        from course_utils.runtime import float32_copy

        self.source = model
        self.decay = float(decay)
        copy = float32_copy(model)
        if copy is model:
            copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        self.model = copy
        self.count = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="ema_count")

    def update(self) -> tf.Tensor:
        """Move the average towards the current weights once; returns the decay used; lesson 13."""
        self.count.assign_add(1.0)
        decay = tf.minimum(self.decay, (1.0 + self.count) / (10.0 + self.count))
        for average, weight in zip(self.model.weights, self.source.weights):
            average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))
        return decay


def make_train_step(
    model: keras.Model,
    optimizer: Any,
    schedule: NoiseSchedule,
    *,
    prediction: str = "eps",
    ema: EMA | None = None,
    label_dropout: float = 0.0,
    null_label: int | None = None,
    jit_compile: bool = False,
    seed: int | None = None,
) -> Callable[[Any], dict[str, tf.Tensor]]:
    """A ``tf.function`` that takes images in [-1, 1] (or (images, labels)) and trains on them once; lesson 13.

    Args:
        model, optimizer: the denoiser and its optimizer.
        schedule: the noise schedule; each image gets a random time k / T, k = 1..T.
        prediction: what the model learns to output ("eps", "x0", "v" or "velocity").
        ema: updated after every step when given.
        label_dropout, null_label: for a class-conditional model, the fraction of labels replaced by
            ``null_label`` ("no class"), which classifier-free guidance needs (lesson 14).
        jit_compile: XLA-compile the step.
        seed: makes the times and noise reproducible.

    Returns {"loss": float32 scalar}.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model from build_denoiser(...); got {describe(model)}.")
    check_choice("prediction", prediction, sampling.PREDICTIONS)
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a schedules.NoiseSchedule; got {describe(schedule)}.")
    if not 0.0 <= float(label_dropout) < 1.0:
        raise ValueError(f"label_dropout must be in [0, 1), e.g. 0.1; got {describe(label_dropout)}.")
    if label_dropout > 0 and null_label is None:
        raise ValueError("label_dropout > 0 needs null_label=, the label that means 'no class'.")
    optimizer = loss_scaled(optimizer, model)
    signals, sigmas = _rate_tables(schedule)
    total = schedule.steps
    rng = (
        tf.random.Generator.from_non_deterministic_state()
        if seed is None
        else tf.random.Generator.from_seed(check_positive_int("seed", seed, minimum=0))
    )
    conditional = len(model.inputs) == 3

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def compiled_step(images: tf.Tensor, labels: Any) -> dict[str, tf.Tensor]:
        if conditional:
            labels = tf.cast(labels, tf.int32)
            if label_dropout > 0:
                drop = rng.uniform(tf.shape(labels)) < label_dropout
                labels = tf.where(drop, tf.cast(null_label, tf.int32), labels)
        x0 = tf.cast(images, tf.float32)
        n = tf.shape(x0)[0]
        k = rng.uniform([n], 1, total + 1, dtype=tf.int32)
        noise = rng.normal(tf.shape(x0))
        t = tf.cast(k, tf.float32) / float(total)
        with tf.GradientTape() as tape:
            loss = diffusion_loss(
                model, x0, noise, t, tf.gather(signals, k), tf.gather(sigmas, k), prediction=prediction, labels=labels
            )
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if ema is not None:
            ema.update()
        return {"loss": loss}

    def train_step(images: Any, labels: Any = None) -> dict[str, tf.Tensor]:
        if conditional and labels is None:
            raise ValueError("This model is class-conditional: train it on (images, labels) batches.")
        return compiled_step(images, labels if conditional else None)

    return train_step


# --------------------------------------------------------------------------- the trainer


class Diffusion(RunBacked):
    """A denoiser, its optimizer, an EMA copy and fixed sampling noise in one resumable run; lesson 13.

    Sizes come from the profile (``diffusion_width``, ``n_show``, ``sampling_steps``, ``max_steps``,
    ``jit_compile``); the denoiser trains in the profile's mixed precision where the hardware runs it fast, the
    EMA copy stays float32. Building a Diffusion with the name of an earlier run restores it.
    """

    def __init__(
        self,
        profile: Any,
        *,
        name: str = "diffusion_digits",
        image_shape: tuple[int, int, int] = (28, 28, 1),
        schedule: str = "cosine",
        prediction: str = "eps",
        num_classes: int | None = None,
        label_dropout: float = 0.0,
        learning_rate: float | None = None,
        ema_decay: float | None = None,
        seed: int = 0,
        resume: bool = True,
    ) -> None:
        for knob in ("diffusion_width", "n_show", "sampling_steps", "max_steps", "jit_compile"):
            if not hasattr(profile, knob):
                raise TypeError(f"profile must be the run profile from cu.setup(); got {describe(profile)}.")
        self.profile = profile
        self.image_shape = tuple(int(n) for n in image_shape)
        self.schedule = make_schedule(schedule)
        self.prediction = check_choice("prediction", prediction, sampling.PREDICTIONS)
        self.num_classes = num_classes
        learning_rate = profile.diffusion_learning_rate if learning_rate is None else learning_rate
        ema_decay = profile.ema_decay if ema_decay is None else ema_decay
        with training_precision(profile) as self.precision:
            self.model = build_denoiser(
                image_shape=self.image_shape, width=profile.diffusion_width, num_classes=num_classes
            )
            self.optimizer = loss_scaled(keras.optimizers.Adam(learning_rate))
        self.optimizer.build(self.model.trainable_variables)
        self.ema = EMA(self.model, ema_decay)
        self._denoisers: dict[tuple[bool, float | None], sampling.Denoise] = {}
        self._fixed_denoiser: sampling.Denoise | None = None
        noise = tf.random.stateless_normal((profile.n_show, *self.image_shape), seed=[seed, 13])
        self.fixed_noise = tf.Variable(noise, trainable=False, name="fixed_noise")
        self.fixed_labels = (
            None if num_classes is None else tf.constant(np.arange(profile.n_show) % num_classes, tf.int32)
        )
        self.train_step = make_train_step(
            self.model,
            self.optimizer,
            self.schedule,
            prediction=self.prediction,
            ema=self.ema,
            label_dropout=label_dropout,
            null_label=num_classes,
            jit_compile=bool(profile.jit_compile),
            seed=seed,
        )
        #: wall-clock seconds spent in train() over the whole run, restored with it
        self.train_seconds = tf.Variable(0.0, trainable=False, dtype=tf.float64, name="train_seconds")
        self.run = TrainingRun(
            name,
            resume=resume,
            train_seconds=self.train_seconds,
            model=self.model,
            optimizer=self.optimizer,
            ema_model=self.ema.model,
            ema_count=self.ema.count,
            fixed_noise=self.fixed_noise,
        )

    def denoiser(self, *, ema: bool = True, labels: Any = None, guidance: float | None = None) -> sampling.Denoise:
        """The (x0_hat, eps_hat) function of the EMA weights (or the trained ones), for sampling.sample; lesson 13.

        Without labels the function is kept and reused, so its compiled sampling graph is traced only once.
        """
        key = (bool(ema), guidance)
        if labels is None and key in self._denoisers:
            return self._denoisers[key]
        denoise = sampling.denoiser(
            self.ema.model if ema else self.model,
            prediction=self.prediction,
            labels=labels,
            guidance=guidance,
            null_label=self.num_classes,
        )
        if labels is None:
            self._denoisers[key] = denoise
        return denoise

    def generate(
        self,
        n: int,
        *,
        steps: int | None = None,
        eta: float = 0.0,
        seed: int = 0,
        labels: Any = None,
        guidance: float | None = None,
        ema: bool = True,
        batch_size: int = 500,
        progress: bool = True,
    ) -> np.ndarray:
        """``n`` new images in [-1, 1] with ``steps`` DDIM (eta=0) or DDPM-like (eta=1) steps; lesson 13.

        ``steps`` defaults to the profile's ``sampling_steps``; images are made ``batch_size`` at a time.
        """
        n = check_positive_int("n", n)
        steps = self.profile.sampling_steps if steps is None else check_positive_int("steps", steps)
        batch_size = check_positive_int("batch_size", batch_size)
        pairs = self.schedule.timesteps(steps)
        out = []
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            x_start = tf.random.stateless_normal((count, *self.image_shape), seed=[seed, start])
            chunk_labels = None if labels is None else np.asarray(labels)[start : start + count]
            denoise = self.denoiser(ema=ema, labels=chunk_labels, guidance=guidance)
            out.append(
                sampling.sample(denoise, self.schedule, x_start, pairs, eta=eta, seed=seed + start, progress=progress)
            )
        return np.concatenate(out)

    def samples(self) -> np.ndarray:
        """The EMA model's images for the fixed noise, with the profile's sampling steps; lesson 13."""
        if self._fixed_denoiser is None:  # kept, so the grids during training reuse one compiled graph
            self._fixed_denoiser = self.denoiser(labels=self.fixed_labels)
        pairs = self.schedule.timesteps(self.profile.sampling_steps)
        return sampling.sample(self._fixed_denoiser, self.schedule, self.fixed_noise, pairs, progress=False)

    def train(
        self,
        dataset: Iterable[Any],
        *,
        steps: int | None = None,
        sample_every: int | None = None,
        checkpoint_every: int = 500,
        max_steps: int | None = FROM_PROFILE,
        progress: bool = True,
    ) -> History:
        """Train until the run has done ``steps`` in total (default: the profile's diffusion_steps); lesson 13."""
        steps = self.profile.diffusion_steps if steps is None else steps
        start, first_step = time.perf_counter(), self.step
        history = self._fit(
            self.train_step,
            dataset,
            steps,
            max_steps=max_steps,
            sample_fn=self.samples,
            sample_every=sample_every,
            checkpoint_every=checkpoint_every,
            progress=progress,
        )
        if self.step > first_step:  # keep the training time with the last checkpoint
            self.train_seconds.assign_add(time.perf_counter() - start)
            self.run.save()
        return history

    def gif(self, path: str | Path | None = None, *, fps: float = 4.0) -> Path:
        """Join the saved sample grids into a looping GIF (default ``runs/<name>/training.gif``); lesson 13."""
        if not self.run.sample_paths:
            raise ValueError("No sample grids are saved yet: call train(...) first.")
        return make_gif(self.run.sample_paths, self.run.run_dir / "training.gif" if path is None else path, fps=fps)


def load_or_train_diffusion(
    profile: Any, *, data: Any = None, name: str = "diffusion_digits", verbose: bool = True, **options: Any
) -> Diffusion:
    """The diffusion model lesson 13 trained (from runs/), or one trained now with the profile's numbers; lessons 13-15.

    A run that stopped early is continued to ``profile.diffusion_steps``; one whose network no longer matches
    the profile is started again. ``data`` defaults to ``datasets.load_digits``; ``options`` go to
    :class:`Diffusion` (e.g. ``prediction="v"``).
    """
    for knob in ("n_train", "n_test", "diffusion_steps", "diffusion_batch_size"):
        if not hasattr(profile, knob):
            raise TypeError(f"profile must be the run profile from cu.setup(); got {describe(profile)}.")
    say = print if verbose else (lambda *args, **kwargs: None)
    try:
        model = Diffusion(profile, name=name, **options)
    except (RuntimeError, ValueError, AssertionError) as error:  # a checkpoint of another network: begin again
        say(f"The saved run {name!r} cannot be used ({str(error)[:160]}...); starting it again.")
        model = Diffusion(profile, name=name, resume=False, **options)
    target = profile.diffusion_steps if profile.max_steps is None else min(profile.diffusion_steps, profile.max_steps)
    if model.step >= target:
        say(f"Loaded the diffusion model of run {name!r}: trained for {model.step} steps (the profile asks {target}).")
        return model
    say(
        f"Training the diffusion model of run {name!r} from step {model.step} to {target} "
        f"(batch size {profile.diffusion_batch_size}, width {profile.diffusion_width})."
    )
    if data is None:
        from course_utils.datasets import load_digits

        data = load_digits(n_train=profile.n_train, n_test=profile.n_test, verbose=verbose)
    from course_utils.pipeline import make_dataset

    dataset = make_dataset(data.x_train, batch_size=profile.diffusion_batch_size)
    model.train(dataset, steps=target, max_steps=None, progress=verbose)
    return model


# --------------------------------------------------------------------------- a widget over the reverse process


class ReverseScrubber(PictureWidget):
    """A slider over the steps of a reverse process: x_t and the model's x0 estimate at each step; lesson 13.

    Build it from ``sampling.sample(..., keep_path=True)``'s paths and the (t, t_next) pairs. ``slider.value``
    is the step index (set it in code; works without a browser) and ``show()`` displays the current picture.
    """

    def __init__(self, x_path: Sequence[Any], x0_path: Sequence[Any], pairs: Any, *, n: int = 6, dpi: int = 72) -> None:
        if len(x_path) == 0 or len(x_path) != len(x0_path):
            raise ValueError(
                "x_path and x0_path must be the same non-empty lists of images, as sampling.sample(..., "
                f"keep_path=True) returns; got lengths {len(x_path)} and {len(x0_path)}."
            )
        pairs = np.asarray(pairs, dtype=np.float64)
        if pairs.shape != (len(x_path), 2):
            raise ValueError(f"pairs must hold one (t, t_next) row per step ({len(x_path)}); got {describe(pairs)}.")
        self.x_path = [np.asarray(x)[:n] for x in x_path]
        self.x0_path = [np.asarray(x)[:n] for x in x0_path]
        self.pairs = pairs
        self.dpi = check_positive_int("dpi", dpi)
        self._ipw = _ipywidgets()
        last = len(self.x_path) - 1
        if self._ipw is not None:
            self.slider = self._ipw.IntSlider(
                value=0, min=0, max=last, step=1, description="step", continuous_update=False
            )
            self.picture = self._ipw.Image(format="png")
        else:
            self.slider = _Value(0, tuple(range(last + 1)))
            self.picture = None
        self.slider.observe(lambda change: self._refresh(), names="value")
        self._box = None
        self._refresh()

    def figure(self) -> Any:
        """The current step: the noisy images x_t on top, the model's x0 estimates below."""
        import matplotlib.pyplot as plt

        index = int(self.slider.value)
        rows = (self.x_path[index], self.x0_path[index])
        count = len(rows[0])
        fig, axes = plt.subplots(2, count, figsize=(1.3 * count, 2.9), squeeze=False)
        for row, (images, label) in enumerate(zip(rows, ("x after the step", "x0 estimate"))):
            for col in range(count):
                ax = axes[row, col]
                ax.imshow(np.clip(images[col, ..., 0], -1, 1), cmap="gray", vmin=-1, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[row, 0].set_ylabel(label, fontsize=8)
        t, t_next = self.pairs[index]
        fig.suptitle(f"step {index + 1} of {len(self.pairs)}: t = {t:.3f} -> {t_next:.3f}", fontsize=10)
        fig.tight_layout()
        return fig

    def _build_widget(self) -> Any:
        return self._ipw.VBox([self.slider, self.picture])

    def _describe(self) -> str:
        return f"ReverseScrubber({len(self.pairs)} steps, at step {int(self.slider.value) + 1})"
