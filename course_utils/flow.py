"""Flow matching: sampling by integrating a velocity field along nearly straight paths; lesson 14.

A flow-matching model (Lipman et al. 2023; Liu et al. 2023's rectified flow) is trained on the straight path
x_t = (1 - t) x0 + t eps (``schedules.flow_path``) to predict its velocity d x_t / dt = eps - x0
(``sampling.training_target(..., prediction="velocity")``). Sampling integrates the ODE dx/dt = v(x, t) from
noise at t = 1 back to data at t = 0:

* :func:`euler_step` moves along the current velocity; :func:`heun_step` averages it with the velocity at the
  end of that move (second order, two network calls);
* :func:`integrate` runs either over a grid of times; :func:`model_velocity` makes a Keras model (with
  classifier-free guidance when asked) into the velocity function it calls.

For the 2-D toy, :class:`GaussianMixture2D` gives the *exact* velocity of any path x_t = a(t) x0 + s(t) eps,
E[a'(t) x0 + s'(t) eps | x_t], so trajectories of the ideal model can be drawn and their curvature measured
(:func:`straightness`) without training anything.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from course_utils.validation import check_choice, check_positive_int, describe

__all__ = [
    "METHODS",
    "TOY_PATHS",
    "GaussianMixture2D",
    "euler_step",
    "generate",
    "heun_step",
    "integrate",
    "model_velocity",
    "network_calls",
    "straightness",
    "time_grid",
]

#: The ODE solvers :func:`integrate` knows.
METHODS = ("euler", "heun")

#: The paths x_t = a(t) x0 + s(t) eps of the toy: the straight flow path and the variance-preserving arc
#: a = cos(pi t / 2), s = sin(pi t / 2) (the cosine schedule without its small offset).
TOY_PATHS = ("flow", "vp")

#: A velocity field: (x, t) -> dx/dt, with t a scalar time in [0, 1].
Velocity = Callable[[Any, Any], Any]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number (a time in [0, 1]); got {describe(value)}.")
    return float(value)


def euler_step(x: Any, velocity: Any, t: float, t_next: float) -> Any:
    """Euler's step of dx/dt = v: x + (t_next - t) * velocity (t_next < t when sampling); lesson 14."""
    t, t_next = _number("t", t), _number("t_next", t_next)
    if np.shape(x) != np.shape(velocity):
        raise ValueError(
            f"x and velocity must have the same shape (one velocity per value); got {describe(x)} and "
            f"{describe(velocity)}."
        )
    return x + (t_next - t) * velocity


def heun_step(velocity_fn: Velocity, x: Any, t: float, t_next: float) -> Any:
    """Heun's step: an Euler step, then the average of the velocities at both ends; lesson 14.

    Two calls of ``velocity_fn(x, t)``; the error per step shrinks as (t_next - t)**3 instead of Euler's **2.
    """
    if not callable(velocity_fn):
        raise TypeError(f"velocity_fn must be a function (x, t) -> velocity; got {describe(velocity_fn)}.")
    t, t_next = _number("t", t), _number("t_next", t_next)
    v_start = velocity_fn(x, t)
    x_euler = euler_step(x, v_start, t, t_next)
    v_end = velocity_fn(x_euler, t_next)
    return x + (t_next - t) * 0.5 * (v_start + v_end)


def time_grid(steps: int, *, start: float = 1.0, end: float = 0.0) -> np.ndarray:
    """``steps`` + 1 evenly spaced times from ``start`` (noise) to ``end`` (data); lesson 14."""
    steps = check_positive_int("steps", steps)
    start, end = _number("start", start), _number("end", end)
    if not 0 <= end < start <= 1:
        raise ValueError(f"need 0 <= end < start <= 1 (sampling runs from noise to data); got {start}, {end}.")
    return np.linspace(start, end, steps + 1)


def network_calls(method: str, steps: int) -> int:
    """How many velocity evaluations ``integrate`` makes: ``steps`` for Euler, 2 * ``steps`` for Heun; lesson 14."""
    check_choice("method", method, METHODS)
    steps = check_positive_int("steps", steps)
    return steps if method == "euler" else 2 * steps


def integrate(
    velocity_fn: Velocity,
    x_start: Any,
    times: Any,
    *,
    method: str = "euler",
    keep_path: bool = False,
    progress: bool = False,
) -> Any:
    """Solve dx/dt = v(x, t) from ``x_start`` at ``times[0]`` through ``times``; lesson 14.

    Args:
        velocity_fn: (x, t) -> velocity, e.g. ``model_velocity(model)`` or a toy's exact field.
        x_start: the starting points, e.g. Gaussian noise at t = 1.
        times: decreasing times, e.g. ``time_grid(steps)``.
        method: "euler" or "heun".
        keep_path: also return the list of x at every time (the start included).
        progress: show a progress bar.

    Returns the final x (a NumPy array), or (x, path) with ``keep_path``.
    """
    if not callable(velocity_fn):
        raise TypeError(f"velocity_fn must be a function (x, t) -> velocity; got {describe(velocity_fn)}.")
    check_choice("method", method, METHODS)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 2:
        raise ValueError(f"times must be at least two times in a row, e.g. time_grid(10); got {describe(times)}.")
    if np.any(np.diff(times) >= 0):
        raise ValueError("times must decrease (sampling runs from noise at t = 1 to data at t = 0).")
    x = np.asarray(x_start.numpy() if hasattr(x_start, "numpy") else x_start, dtype=np.float32)
    path = [x]
    for t, t_next in tqdm(zip(times[:-1], times[1:]), total=len(times) - 1, desc=method, disable=not progress,
                          leave=False):
        if method == "euler":
            x = euler_step(x, np.asarray(velocity_fn(x, float(t)), np.float32), float(t), float(t_next))
        else:
            x = heun_step(lambda y, s: np.asarray(velocity_fn(y, s), np.float32), x, float(t), float(t_next))
        x = np.asarray(x, dtype=np.float32)
        if keep_path:
            path.append(x)
    return (x, path) if keep_path else x


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_calls(model: Any) -> dict[str, Callable[..., tf.Tensor]]:
    """The model's plain, conditional and guided calls as tf.functions, compiled once per model."""
    from course_utils.sampling import guided

    if model in _COMPILED:
        return _COMPILED[model]

    def times(x: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
        return tf.fill([tf.shape(x)[0]], t)

    @tf.function(autograph=False, reduce_retracing=True)
    def plain(x: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
        return tf.cast(model([x, times(x, t)], training=False), tf.float32)

    @tf.function(autograph=False, reduce_retracing=True)
    def conditional(x: tf.Tensor, t: tf.Tensor, label: tf.Tensor) -> tf.Tensor:
        return tf.cast(model([x, times(x, t), label], training=False), tf.float32)

    @tf.function(autograph=False, reduce_retracing=True)
    def guided_call(x: tf.Tensor, t: tf.Tensor, label: tf.Tensor, null: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
        both = tf.cast(model([tf.concat([x, x], 0), times(tf.concat([x, x], 0), t), tf.concat([null, label], 0)],
                             training=False), tf.float32)  # one batch holds both predictions
        unconditioned, conditioned = tf.split(both, 2, axis=0)
        return guided(unconditioned, conditioned, scale)

    calls = {"plain": plain, "conditional": conditional, "guided": guided_call}
    try:
        _COMPILED[model] = calls
    except TypeError:  # an object that takes no weak references: compile afresh each time
        pass
    return calls


def model_velocity(
    model: Any, *, labels: Any = None, guidance: float | None = None, null_label: int | None = None
) -> Velocity:
    """A Keras velocity model as (x, t) -> velocity (NumPy, float32), with classifier-free guidance; lesson 14.

    Args:
        model: a network trained with ``prediction="velocity"`` on the flow path (inputs [x_t, t] or
            [x_t, t, label]).
        labels: the class of each image (N,) for a class-conditional model; ``null_label`` alone for its
            unconditional output.
        guidance: the guidance scale w: the output is v(x, null) + w * (v(x, label) - v(x, null)).
        null_label: the label the model was trained with when the class was dropped.

    The network calls are compiled once per model (``tf.function`` with the time and scale as tensors).
    """
    if not callable(model):
        raise TypeError(f"model must be a Keras model (diffusion.build_denoiser); got {describe(model)}.")
    if guidance is not None and (labels is None or null_label is None):
        raise ValueError("guidance needs labels= (the classes wanted) and null_label= (the 'no class' label).")
    conditional = labels is not None
    calls = _compiled_calls(model)
    label_array = None if labels is None else np.asarray(labels, dtype=np.int32)

    def velocity(x: Any, t: Any) -> np.ndarray:
        x = tf.convert_to_tensor(x, tf.float32)
        t = tf.constant(float(t), tf.float32)
        if not conditional:
            return calls["plain"](x, t).numpy()
        label = tf.constant(np.broadcast_to(label_array, (int(x.shape[0]),)), tf.int32)
        if guidance is None:
            return calls["conditional"](x, t, label).numpy()
        null = tf.fill([int(x.shape[0])], int(null_label))
        return calls["guided"](x, t, label, null, tf.constant(float(guidance), tf.float32)).numpy()

    return velocity


def generate(
    model: Any,
    n: int,
    *,
    steps: int,
    method: str = "euler",
    labels: Any = None,
    guidance: float | None = None,
    null_label: int | None = None,
    seed: int = 0,
    image_shape: tuple[int, ...] = (28, 28, 1),
    batch_size: int = 500,
) -> np.ndarray:
    """``n`` images in [-1, 1] from a velocity model: noise at t = 1 integrated to t = 0; lesson 14.

    Args:
        model: a network trained with ``prediction="velocity"`` on the flow path.
        n: how many images; they are made ``batch_size`` at a time, each batch from its own seeded noise.
        steps: solver steps (Heun calls the network twice per step).
        method: "euler" or "heun".
        labels, guidance, null_label: as for :func:`model_velocity` (``labels`` holds one label per image).
        seed: the noise; the same seed gives the same starting noise for any method or step count.
        image_shape: the shape of one image.
        batch_size: images per batch.

    The last step lands on the model's estimate of the clean image; values are clipped to [-1, 1].
    """
    n = check_positive_int("n", n)
    batch_size = check_positive_int("batch_size", batch_size)
    if labels is not None and len(np.asarray(labels)) != n:
        raise ValueError(f"labels must hold one label per image ({n}); got {describe(np.asarray(labels))}.")
    times = time_grid(steps)
    out = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        noise = tf.random.stateless_normal((count, *image_shape), seed=[int(seed), start]).numpy()
        chunk = None if labels is None else np.asarray(labels)[start : start + count]
        velocity = model_velocity(model, labels=chunk, guidance=guidance, null_label=null_label)
        out.append(integrate(velocity, noise, times, method=method))
    return np.clip(np.concatenate(out), -1.0, 1.0)


# --------------------------------------------------------------------------- the 2-D toy with exact fields


def _toy_rates(path: str, t: float) -> tuple[float, float, float, float]:
    """(a, s, a', s') of the toy path at time t."""
    if path == "flow":
        return 1.0 - t, t, -1.0, 1.0
    angle = 0.5 * np.pi * t
    return np.cos(angle), np.sin(angle), -0.5 * np.pi * np.sin(angle), 0.5 * np.pi * np.cos(angle)


@dataclass(frozen=True)
class GaussianMixture2D:
    """Equal-weight isotropic Gaussians in the plane, with the exact denoiser and velocity; lesson 14."""

    means: np.ndarray  #: (K, 2) centres
    std: float  #: the standard deviation of every component

    def __post_init__(self) -> None:
        means = np.asarray(self.means, dtype=np.float64)
        if means.ndim != 2 or means.shape[1] != 2 or len(means) == 0:
            raise ValueError(f"means must be K centres in the plane, shape (K, 2); got {describe(means)}.")
        if isinstance(self.std, bool) or not isinstance(self.std, (int, float)) or not self.std > 0:
            raise ValueError(f"std must be a positive number, e.g. 0.1; got {describe(self.std)}.")
        object.__setattr__(self, "means", means)

    @classmethod
    def ring(cls, modes: int = 8, radius: float = 2.0, std: float = 0.1) -> GaussianMixture2D:
        """``modes`` Gaussians evenly spaced on a circle of ``radius``; lesson 14."""
        modes = check_positive_int("modes", modes)
        angles = 2 * np.pi * np.arange(modes) / modes
        return cls(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), float(std))

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` points of the mixture (float64, (n, 2)); lesson 14."""
        rng = np.random.default_rng(seed)
        which = rng.integers(0, len(self.means), check_positive_int("n", n))
        return self.means[which] + self.std * rng.standard_normal((n, 2))

    def posterior_mean(self, x_t: Any, signal: float, noise: float) -> np.ndarray:
        """E[x0 | x_t] for x_t = signal * x0 + noise * eps (Bayes over the components); lesson 14."""
        x_t = np.asarray(x_t, dtype=np.float64)
        variance = signal**2 * self.std**2 + noise**2  # of x_t given the component
        diff = x_t[:, None, :] - signal * self.means[None]  # (N, K, 2)
        log_w = -0.5 * np.sum(diff**2, axis=-1) / variance
        weights = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        per_component = self.means[None] + (signal * self.std**2 / variance) * diff
        return np.einsum("nk,nkd->nd", weights, per_component)

    def velocity(self, x_t: Any, t: float, *, path: str = "flow") -> np.ndarray:
        """The exact velocity E[a'(t) x0 + s'(t) eps | x_t] of the ``path`` ("flow" or "vp"); lesson 14.

        It is what a perfectly trained velocity model would output; at t = 1 on the "vp" path (no signal
        left) the limit is used.
        """
        check_choice("path", path, TOY_PATHS)
        t = _number("t", t)
        if not 0 <= t <= 1:
            raise ValueError(f"t must be in [0, 1]; got {t}.")
        x_t = np.asarray(x_t, dtype=np.float64)
        a, s, da, ds = _toy_rates(path, t)
        x0_hat = self.posterior_mean(x_t, a, s)
        if s == 0:  # t = 0: x_t is the data itself and E[eps | x_t] tends to 0
            return da * x_t
        eps_hat = (x_t - a * x0_hat) / s
        return da * x0_hat + ds * eps_hat


def straightness(path: Sequence[Any]) -> np.ndarray:
    """Per trajectory, start-to-end distance over the length travelled (1 = a straight line); lesson 14.

    ``path`` is the list of positions (each (N, ...)) that ``integrate(..., keep_path=True)`` returns.
    """
    points = np.stack([np.asarray(p, dtype=np.float64).reshape(len(p), -1) for p in path])  # (T+1, N, D)
    if points.shape[0] < 2:
        raise ValueError("path must hold at least two positions (a start and an end).")
    travelled = np.linalg.norm(np.diff(points, axis=0), axis=-1).sum(axis=0)
    chord = np.linalg.norm(points[-1] - points[0], axis=-1)
    return np.divide(chord, travelled, out=np.ones_like(chord), where=travelled > 0)
