"""Turning a trained denoiser into images: output conversions, one update rule, one loop; lessons 13-15.

Two identities make one loop enough for every sampler of the course:

* a DDIM step (Song et al. 2021) with ``eta = 1`` between consecutive times *is* DDPM's ancestral step, a draw
  from the posterior q(x_{t-1} | x_t, x0) with x0 replaced by the network's estimate (Ho et al. 2020);
* a DDIM step with ``eta = 0`` on the flow path x_t = (1 - t) x0 + t eps *is* Euler's step
  x_next = x_t + (t_next - t) * velocity of flow matching.

:func:`step` is that update, :func:`sample` runs it over the (t, t_next) pairs of a schedule, compiled once as a
``tf.function`` with the time as a tensor (the progress bar stays outside the graph). :func:`denoiser` wraps a
Keras model (and classifier-free guidance, lesson 14) into the function the loop calls. An optional
``constrain`` hook after each step is where the restoration samplers of lesson 15 put the known pixels back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from course_utils.validation import check_choice, describe

__all__ = [
    "PREDICTIONS",
    "denoiser",
    "guided",
    "sample",
    "step",
    "to_x0_eps",
    "training_target",
]

#: What a network may be trained to predict: the noise, the clean image, v = signal*eps - noise*x0
#: (Salimans & Ho 2022), or the flow velocity eps - x0 (Lipman et al. 2023).
PREDICTIONS = ("eps", "x0", "v", "velocity")

#: A denoiser: (x_t, t, signal, noise) -> (x0_hat, eps_hat), each of x_t's shape and float32.
Denoise = Callable[[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def _f32(x: Any) -> tf.Tensor:
    return tf.cast(tf.convert_to_tensor(x), tf.float32)


def _per_image(rate: Any, like: tf.Tensor) -> tf.Tensor:
    """A rate (scalar or one per image) shaped to broadcast against a batch like ``like``."""
    rate = _f32(rate)
    if rate.shape.rank == 1:
        rate = tf.reshape(rate, [-1] + [1] * (like.shape.rank - 1))
    return rate


def training_target(x0: Any, eps: Any, signal: Any, noise: Any, *, prediction: str = "eps") -> tf.Tensor:
    """What the network should output for x_t = signal*x0 + noise*eps, for each ``prediction``; lessons 13-14."""
    check_choice("prediction", prediction, PREDICTIONS)
    x0, eps = _f32(x0), _f32(eps)
    signal, noise = _per_image(signal, x0), _per_image(noise, x0)
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "v":
        return signal * eps - noise * x0
    return eps - x0  # velocity: d x_t / dt on the flow path


def to_x0_eps(
    output: Any, x_t: Any, signal: Any, noise: Any, *, prediction: str = "eps"
) -> tuple[tf.Tensor, tf.Tensor]:
    """The network's output (eps, x0, v or velocity) as (x0_hat, eps_hat), float32; lessons 13-14.

    ``v`` assumes signal**2 + noise**2 = 1 (the linear and cosine schedules); ``velocity`` assumes
    signal + noise = 1 (the flow path). ``eps`` and ``x0`` hold for both.
    """
    check_choice("prediction", prediction, PREDICTIONS)
    output, x_t = _f32(output), _f32(x_t)
    if output.shape.rank is not None and x_t.shape.rank is not None and output.shape.rank != x_t.shape.rank:
        raise ValueError(
            f"output and x_t must have the same shape (one prediction per pixel); got {describe(output)} and "
            f"{describe(x_t)}."
        )
    signal, noise = _per_image(signal, x_t), _per_image(noise, x_t)
    # divide_no_nan: at a time with no signal (t = 1 on the flow path) eps says nothing about x0; guess 0.
    if prediction == "eps":
        return tf.math.divide_no_nan(x_t - noise * output, signal), output
    if prediction == "x0":
        return output, tf.math.divide_no_nan(x_t - signal * output, noise)
    if prediction == "v":
        return signal * x_t - noise * output, noise * x_t + signal * output
    return x_t - noise * output, x_t + signal * output


def guided(unconditional: Any, conditional: Any, scale: float) -> tf.Tensor:
    """Classifier-free guidance: unconditional + scale * (conditional - unconditional); lessons 13-14.

    Scale 0 gives the unconditional prediction, 1 the conditional one, above 1 pushes further towards the class.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating)) and not tf.is_tensor(scale):
        raise TypeError(f"scale must be a number such as 0, 1 or 3; got {describe(scale)}.")
    unconditional, conditional = _f32(unconditional), _f32(conditional)
    if unconditional.shape != conditional.shape:
        raise ValueError(
            f"the unconditional and conditional predictions must have the same shape; got {describe(unconditional)} "
            f"and {describe(conditional)}."
        )
    scale = _f32(scale)
    return (1.0 - scale) * unconditional + scale * conditional  # exact at scales 0 and 1


def step(
    x_t: Any,
    x0_hat: Any,
    eps_hat: Any,
    rates: tuple[Any, Any],
    next_rates: tuple[Any, Any],
    *,
    eta: float = 0.0,
    noise: Any = None,
) -> tf.Tensor:
    """One DDIM update from time t to t_next; eta = 1 between consecutive times is DDPM's step; lesson 13.

    Args:
        x_t: the current images (only their shape is used: the update is written with x0_hat and eps_hat).
        x0_hat, eps_hat: the denoiser's estimates of the clean image and of the noise in x_t.
        rates, next_rates: (signal, noise) at t and at t_next.
        eta: 0 is deterministic DDIM (and Euler on the flow path); 1 adds DDPM's posterior noise.
        noise: the fresh Gaussian noise for eta > 0 (shape of x_t); drawn when None.

    x_next = signal' x0_hat + sqrt(noise'^2 - sigma^2) eps_hat + sigma z, with
    sigma = eta * (noise' / noise) * sqrt(1 - signal^2 / signal'^2)  (Song et al. 2021, eq. 16).
    """
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating)) or eta < 0:
        raise ValueError(f"eta must be a number >= 0 (0 = DDIM, 1 = DDPM); got {describe(eta)}.")
    x_t, x0_hat, eps_hat = _f32(x_t), _f32(x0_hat), _f32(eps_hat)
    signal, sigma_t = (_per_image(r, x_t) for r in rates)
    signal_next, sigma_next = (_per_image(r, x_t) for r in next_rates)
    x_next = signal_next * x0_hat
    if eta == 0:
        return x_next + sigma_next * eps_hat
    ratio = tf.clip_by_value(signal**2 / tf.maximum(signal_next**2, 1e-12), 0.0, 1.0)
    sigma = eta * sigma_next / tf.maximum(sigma_t, 1e-12) * tf.sqrt(1.0 - ratio)
    sigma = tf.minimum(sigma, sigma_next)
    if noise is None:
        noise = tf.random.normal(tf.shape(x_t))
    return x_next + tf.sqrt(tf.maximum(sigma_next**2 - sigma**2, 0.0)) * eps_hat + sigma * _f32(noise)


def denoiser(
    model: Any,
    *,
    prediction: str = "eps",
    clip: bool = True,
    labels: Any = None,
    guidance: float | None = None,
    null_label: int | None = None,
) -> Denoise:
    """Wrap a Keras denoiser (inputs [x_t, t] or [x_t, t, label]) as the (x0_hat, eps_hat) function; lessons 13-14.

    Args:
        model: the network; its output is read as ``prediction`` ("eps", "x0", "v" or "velocity").
        clip: keep x0_hat in the image range [-1, 1] and recompute eps_hat from it (steadier short samplers).
        labels: class labels (N,) for a class-conditional model, else None.
        guidance: classifier-free guidance scale (lesson 14); needs ``labels`` and ``null_label``.
        null_label: the label the model was trained with when the class was dropped.
    """
    check_choice("prediction", prediction, PREDICTIONS)
    if not callable(model):
        raise TypeError(f"model must be a Keras model (from diffusion.build_denoiser); got {describe(model)}.")
    if guidance is not None and (labels is None or null_label is None):
        raise ValueError(
            "classifier-free guidance needs labels= (the classes wanted) and null_label= (the 'no class')."
        )
    label_tensor = None if labels is None else tf.convert_to_tensor(np.asarray(labels), tf.int32)

    def predict(x_t: tf.Tensor, t: tf.Tensor, label: Any) -> tf.Tensor:
        times = tf.fill([tf.shape(x_t)[0]], _f32(t)) if _f32(t).shape.rank == 0 else _f32(t)
        inputs = [x_t, times] if label is None else [x_t, times, label]
        return _f32(model(inputs, training=False))

    def denoise(x_t: tf.Tensor, t: tf.Tensor, signal: tf.Tensor, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if guidance is None:
            output = predict(x_t, t, label_tensor)
        else:
            null = tf.fill(tf.shape(label_tensor), null_label)
            output = guided(predict(x_t, t, null), predict(x_t, t, label_tensor), guidance)
        x0_hat, eps_hat = to_x0_eps(output, x_t, signal, noise, prediction=prediction)
        if clip:
            x0_hat = tf.clip_by_value(x0_hat, -1.0, 1.0)
            noise_ = _per_image(noise, x_t)
            eps_hat = tf.where(
                noise_ > 1e-6, (x_t - _per_image(signal, x_t) * x0_hat) / tf.maximum(noise_, 1e-6), eps_hat
            )
        return x0_hat, eps_hat

    return denoise


def _compiled_update(denoise: Denoise, eta: float) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
    """The denoise-then-step update as one tf.function, kept on ``denoise`` so later calls reuse its graph."""
    cache = getattr(denoise, "_compiled_updates", None)
    if cache is None:
        cache = {}
        try:
            denoise._compiled_updates = cache  # type: ignore[attr-defined]
        except AttributeError:  # a callable that takes no attributes: compile afresh each call
            pass
    if eta not in cache:

        @tf.function(autograph=False, reduce_retracing=True)
        def update(x, t, a, s, a_next, s_next, z):
            x0_hat, eps_hat = denoise(x, t, a, s)
            noise = None if eta == 0 else z
            return step(x, x0_hat, eps_hat, (a, s), (a_next, s_next), eta=eta, noise=noise), x0_hat

        cache[eta] = update
    return cache[eta]


def sample(
    denoise: Denoise,
    schedule: Any,
    x_start: Any,
    pairs: Any,
    *,
    eta: float = 0.0,
    constrain: Callable[[tf.Tensor, tf.Tensor, float], tf.Tensor] | None = None,
    noises: Sequence[Any] | None = None,
    seed: int = 0,
    keep_path: bool = False,
    progress: bool = True,
) -> Any:
    """Run the update over ``pairs`` of (t, t_next) from ``x_start``; return the final images; lessons 13-15.

    Args:
        denoise: (x_t, t, signal, noise) -> (x0_hat, eps_hat), e.g. ``denoiser(model)``.
        schedule: the ``schedules.NoiseSchedule`` the model was trained with.
        x_start: the starting images, e.g. Gaussian noise at t = pairs[0][0] = 1.
        pairs: (t, t_next) rows from ``schedule.timesteps(n)``.
        eta: 0 for DDIM (Euler on the flow path), 1 for DDPM's ancestral sampling.
        constrain: optional ``constrain(x_next, x0_hat, t_next) -> x_next`` applied after each step (lesson 15).
        noises: the fresh noise of each step for eta > 0 (one array per pair); drawn from ``seed`` when None.
        keep_path: also return the list of x0_hat and x_t after every step, as NumPy arrays.
        progress: show a progress bar.

    Returns float32 NumPy images, or (images, x_path, x0_path) with ``keep_path``.
    """
    if not callable(denoise):
        raise TypeError(f"denoise must be a function such as sampling.denoiser(model); got {describe(denoise)}.")
    if not hasattr(schedule, "rates"):
        raise TypeError(f"schedule must be a schedules.NoiseSchedule; got {describe(schedule)}.")
    pairs = np.asarray(pairs, dtype=np.float64)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
        raise ValueError(f"pairs must be (t, t_next) rows as schedule.timesteps(n) gives; got {describe(pairs)}.")
    if np.any(pairs[:, 1] >= pairs[:, 0]):
        raise ValueError("each pair must go back in time (t_next < t): sampling runs from noise to data.")
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating)) or eta < 0:
        raise ValueError(f"eta must be a number >= 0 (0 = DDIM, 1 = DDPM); got {describe(eta)}.")
    if eta > 0 and not getattr(schedule, "variance_preserving", True):
        raise ValueError("eta > 0 is DDPM's noise for the variance-preserving schedules; on the flow path use eta=0.")
    if noises is not None and len(noises) != len(pairs):
        raise ValueError(f"noises must hold one array per step ({len(pairs)}); got {len(noises)}.")
    x = _f32(x_start)
    signals, sigmas = schedule.rates(pairs)
    generator = tf.random.Generator.from_seed(int(seed))

    update = _compiled_update(denoise, float(eta))
    x_path, x0_path = [], []
    zero = tf.zeros_like(x)
    for index in tqdm(range(len(pairs)), desc="sampling", disable=not progress, leave=False):
        t, t_next = pairs[index]
        if eta == 0:
            z = zero
        elif noises is None:
            z = generator.normal(tf.shape(x))
        else:
            z = _f32(noises[index])
        x, x0_hat = update(
            x,
            tf.constant(t, tf.float32),
            tf.constant(signals[index, 0], tf.float32),
            tf.constant(sigmas[index, 0], tf.float32),
            tf.constant(signals[index, 1], tf.float32),
            tf.constant(sigmas[index, 1], tf.float32),
            z,
        )
        if constrain is not None:
            x = _f32(constrain(x, x0_hat, float(t_next)))
        if keep_path:
            x_path.append(x.numpy())
            x0_path.append(x0_hat.numpy())
    images = x.numpy()
    return (images, x_path, x0_path) if keep_path else images
