"""Noise schedules of diffusion models and the flow-matching path, in NumPy; lesson 13.

A schedule says how much of the clean image x0 and how much Gaussian noise eps make the noisy image at time
``t`` in [0, 1]::

    x_t = signal(t) * x0 + noise(t) * eps

* ``linear_schedule`` is DDPM's (Ho et al. 2020): beta rising linearly over ``T`` steps, alpha_bar = prod(1 - beta);
  signal = sqrt(alpha_bar), noise = sqrt(1 - alpha_bar), so signal**2 + noise**2 = 1 ("variance preserving").
* ``cosine_schedule`` is Nichol & Dhariwal's (2021) alpha_bar(t) = cos((t + s) / (1 + s) * pi / 2)**2, which
  destroys the image more gently at the start.
* ``flow_path`` is the straight line of flow matching (Lipman et al. 2023; Liu et al. 2023):
  x_t = (1 - t) * x0 + t * eps.

Time is continuous: the ``T`` steps sit at t = k / T (k = 0..T), and between them log alpha_bar is
interpolated linearly, so a sampler may use any number of steps. Everything here is plain NumPy; the
models and samplers (``course_utils.diffusion``, ``course_utils.sampling``) read the rates from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.validation import check_positive_int, describe

__all__ = [
    "NoiseSchedule",
    "cosine_schedule",
    "flow_path",
    "linear_schedule",
]

_KINDS = ("linear", "cosine", "flow")


def _times(t: Any) -> np.ndarray:
    """``t`` as a float64 array of times in [0, 1], with a clear error otherwise."""
    array = np.asarray(t.numpy() if hasattr(t, "numpy") else t, dtype=np.float64)
    if array.size and (not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0):
        raise ValueError(
            f"diffusion time t must be in [0, 1] (0 = the clean image, 1 = pure noise); got {describe(array)}. "
            "A step index k of a T-step schedule is the time k / T."
        )
    return array


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    """How much signal and noise make x_t at each time t in [0, 1]; lesson 13.

    Build one with :func:`linear_schedule`, :func:`cosine_schedule` or :func:`flow_path`. ``alpha_bars`` holds
    the T + 1 values of signal(t)**2 at t = k / T (the flow path keeps its own rates, (1 - t, t)).
    """

    kind: str  #: "linear", "cosine" or "flow"
    steps: int  #: T, the number of discrete steps (training times are k / T, k = 1..T)
    alpha_bars: np.ndarray  #: signal**2 at t = 0, 1/T, ..., 1 (shape (T + 1,))

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, _KINDS))}; got {self.kind!r}.")
        check_positive_int("steps", self.steps)
        bars = np.asarray(self.alpha_bars, dtype=np.float64)
        if bars.shape != (self.steps + 1,):
            raise ValueError(f"alpha_bars must hold steps + 1 = {self.steps + 1} values; got {describe(bars)}.")
        object.__setattr__(self, "alpha_bars", bars)
        bars.setflags(write=False)

    @property
    def variance_preserving(self) -> bool:
        """True when signal**2 + noise**2 = 1 (linear and cosine), False on the flow path; lesson 13."""
        return self.kind != "flow"

    def rates(self, t: Any) -> tuple[np.ndarray, np.ndarray]:
        """(signal(t), noise(t)) as float64 arrays shaped like ``t`` (times in [0, 1]); lesson 13."""
        t = _times(t)
        if self.kind == "flow":
            return 1.0 - t, t.copy()
        grid = np.linspace(0.0, 1.0, self.steps + 1)
        log_bar = np.interp(t, grid, np.log(self.alpha_bars))
        alpha_bar = np.exp(log_bar)
        return np.sqrt(alpha_bar), np.sqrt(1.0 - alpha_bar)

    def alpha_bar(self, t: Any) -> np.ndarray:
        """signal(t)**2: the fraction of x0's variance left at time t; lesson 13."""
        return self.rates(t)[0] ** 2

    def snr(self, t: Any) -> np.ndarray:
        """The signal-to-noise ratio signal(t)**2 / noise(t)**2 (inf at t = 0); lesson 13."""
        signal, noise = self.rates(t)
        with np.errstate(divide="ignore"):
            return signal**2 / noise**2

    def noised(self, x0: Any, noise: Any, t: Any) -> np.ndarray:
        """x_t = signal(t) * x0 + noise(t) * eps, one time per image (t shaped (N,)) or one for all; lesson 13.

        This is q(x_t | x0) in closed form; not to be confused with ``masks.add_noise``, the degradation of
        lesson 09.
        """
        x0 = np.asarray(x0, dtype=np.float64)
        eps = np.asarray(noise, dtype=np.float64)
        if x0.shape != eps.shape:
            raise ValueError(
                f"x0 and noise must have the same shape (one noise value per pixel); got {describe(x0)} and "
                f"{describe(eps)}."
            )
        signal, sigma = self.rates(t)
        if signal.ndim == 1 and x0.ndim >= 1 and len(signal) == len(x0):
            shape = (-1,) + (1,) * (x0.ndim - 1)
            signal, sigma = signal.reshape(shape), sigma.reshape(shape)
        elif signal.ndim > 0:
            raise ValueError(
                f"t must be one time, or one time per image (shape ({len(x0) if x0.ndim else 1},)); got "
                f"{describe(np.asarray(t))} for x0 of shape {x0.shape}."
            )
        return signal * x0 + sigma * eps

    def timesteps(self, n: int, *, start: float = 1.0, end: float = 0.0) -> np.ndarray:
        """``n`` sampler steps as (t, t_next) pairs going from ``start`` down to ``end``, shape (n, 2); lesson 13.

        The times are evenly spaced and, on the linear and cosine schedules, snapped to the k / T grid the
        model trained on (so n = T gives DDPM's consecutive steps). SDEdit-like samplers start below 1.
        """
        n = check_positive_int("n (the number of sampling steps)", n)
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a time in [0, 1]; got {describe(value)}.")
        if not start > end:
            raise ValueError(f"start must be later than end (sampling runs from noise to data); got {start}, {end}.")
        times = np.linspace(start, end, n + 1)
        if self.kind != "flow":
            ticks = np.round(times * self.steps).astype(int)
            if len(np.unique(ticks)) != n + 1:
                raise ValueError(
                    f"{n} steps from t = {start} to t = {end} do not fit on this schedule's grid of "
                    f"{self.steps} steps; ask for at most {int(round((start - end) * self.steps))}."
                )
            times = ticks / self.steps
        return np.stack([times[:-1], times[1:]], axis=1)

    def replace(self, **changes: Any) -> NoiseSchedule:
        """A copy with some fields changed; lesson 13."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        return f"NoiseSchedule(kind={self.kind!r}, steps={self.steps})"


def linear_schedule(steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:
    """DDPM's schedule: beta_k rising linearly from beta_start to beta_end over ``steps``; lesson 13.

    The defaults are Ho et al.'s (2020) for T = 1000. For another T the betas are rescaled by 1000 / T so that
    the image is still destroyed by the end (alpha_bar(1) stays near zero).
    """
    steps = check_positive_int("steps", steps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"{name} must be a number in (0, 1), e.g. 1e-4 or 0.02; got {describe(value)}.")
    if beta_end < beta_start:
        raise ValueError(f"beta_end ({beta_end}) must be at least beta_start ({beta_start}): the noise grows.")
    scale = 1000.0 / steps
    betas = np.linspace(beta_start * scale, min(beta_end * scale, 0.999), steps)
    return NoiseSchedule("linear", steps, np.concatenate([[1.0], np.cumprod(1.0 - betas)]))


def cosine_schedule(steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:
    """Nichol & Dhariwal's cosine schedule, alpha_bar(t) = cos((t + s)/(1 + s) * pi/2)**2 / alpha_bar(0); lesson 13.

    As in the paper each step's beta is capped at ``max_beta``, so alpha_bar(1) is small but not zero.
    """
    steps = check_positive_int("steps", steps)
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s < 1:
        raise ValueError(f"s (the small offset) must be a number in [0, 1), e.g. 0.008; got {describe(s)}.")
    t = np.linspace(0.0, 1.0, steps + 1)
    f = np.cos((t + s) / (1 + s) * np.pi / 2) ** 2
    bars = f / f[0]
    betas = np.clip(1.0 - bars[1:] / bars[:-1], 0.0, max_beta)
    return NoiseSchedule("cosine", steps, np.concatenate([[1.0], np.cumprod(1.0 - betas)]))


def flow_path(steps: int = 1000) -> NoiseSchedule:
    """The straight path of flow matching, x_t = (1 - t) x0 + t eps; lessons 13 and 14.

    ``steps`` is the training grid; samplers may use any times in [0, 1].
    """
    steps = check_positive_int("steps", steps)
    t = np.linspace(0.0, 1.0, steps + 1)
    return NoiseSchedule("flow", steps, (1.0 - t) ** 2)
