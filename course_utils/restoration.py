"""One trained diffusion model as a prior for many restorations: RePaint, SDEdit and ILVR; lesson 15.

The three samplers share lesson 13's update (``sampling.sample``) and differ only in

* their **times**: RePaint goes back and forth (resampling jumps, Lugmayr et al. 2022), SDEdit starts part-way
  (Meng et al. 2022), ILVR runs the whole way down (Choi et al. 2021);
* their **starting point**: pure noise, or the damaged image scaled to the noise level it already has;
* the **constraint** applied after each step: the known pixels replaced by the noised originals (RePaint), the
  low-pass content replaced by the noised observation's (ILVR), nothing (SDEdit).

The functions take images in [0, 1] and masks with 1 = known, as lessons 09-12 do, and convert to the model's
[-1, 1] at the boundary. A noise of standard deviation sigma in [0, 1] is 2 * sigma in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from course_utils import masks as masks_lib
from course_utils import sampling
from course_utils.validation import check_positive_int, describe

__all__ = [
    "ilvr",
    "ilvr_constraint",
    "lowpass",
    "lowpass_replace",
    "noise_to_time",
    "renoise",
    "repaint",
    "repaint_constraint",
    "repaint_replace",
    "repaint_times",
    "sdedit",
    "sdedit_denoise",
    "check_factor",
    "downsample",
]


def _unit(images: Any, name: str = "images") -> np.ndarray:
    """``images`` as a float32 (N, H, W, C) batch in [0, 1], with a sentence if they are not."""
    array = np.asarray(images.numpy() if hasattr(images, "numpy") else images)
    if array.ndim != 4 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a batch shaped (N, H, W, C) of numbers; got {describe(array)}.")
    array = array.astype(np.float32)
    if array.size and (array.min() < -1e-6 or array.max() > 1 + 1e-6):
        raise ValueError(
            f"{name} must be in [0, 1] like lessons 09-12's; got values in [{array.min():.3g}, {array.max():.3g}]. "
            "Images in [-1, 1] become [0, 1] with (x + 1) / 2."
        )
    return array


def _to_model(images01: np.ndarray) -> np.ndarray:
    return images01 * 2.0 - 1.0


def _to_unit(images: Any) -> np.ndarray:
    return np.clip((np.asarray(images, np.float32) + 1.0) / 2.0, 0.0, 1.0)


def _eps(shape: tuple[int, ...], seed: int, index: int) -> np.ndarray:
    return np.random.default_rng([int(seed), int(index) + 1]).standard_normal(shape).astype(np.float32)


# --------------------------------------------------------------------------- the three constraints


def repaint_replace(x: Any, reference: Any, mask: Any, signal: float, noise: float, eps: Any) -> Any:
    """RePaint's replacement: known pixels (mask 1) become signal*reference + noise*eps, holes keep x; lesson 15."""
    return mask * (signal * reference + noise * eps) + (1.0 - mask) * x


def check_factor(factor: Any, size: int) -> int:
    """``factor`` as an int that divides the image side ``size``, or a sentence saying why not; lesson 15."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"the scale factor must be a whole number >= 1 such as 2 or 4; got {describe(factor)}.")
    if size % int(factor):
        divisors = [d for d in range(2, size + 1) if size % d == 0]
        raise ValueError(
            f"a scale factor of {factor} does not divide the image side {size}: the low-resolution image would "
            f"not have a whole number of pixels. Factors that divide {size}: {divisors}."
        )
    return int(factor)


def lowpass(images: Any, factor: int) -> tf.Tensor:
    """Average each factor x factor block and spread it back (area down, nearest up): a projection; lesson 15."""
    images = tf.cast(tf.convert_to_tensor(images), tf.float32)
    factor = check_factor(factor, int(images.shape[1]))
    check_factor(factor, int(images.shape[2]))
    small = tf.nn.avg_pool2d(images, factor, factor, "VALID")
    return tf.repeat(tf.repeat(small, factor, axis=1), factor, axis=2)


def downsample(images: Any, factor: int) -> np.ndarray:
    """[0, 1] images shrunk by ``factor`` with block averages (the low-resolution observation); lesson 15."""
    images = _unit(images)
    check_factor(factor, images.shape[1])
    check_factor(factor, images.shape[2])
    return tf.nn.avg_pool2d(images, factor, factor, "VALID").numpy()


def lowpass_replace(x: Any, reference: Any, factor: int) -> tf.Tensor:
    """ILVR's replacement: x - lowpass(x) + lowpass(reference); lesson 15."""
    return tf.cast(x, tf.float32) - lowpass(x, factor) + lowpass(reference, factor)


def repaint_constraint(
    reference: Any, mask: Any, schedule: Any, *, seed: int = 0
) -> Callable[[tf.Tensor, tf.Tensor, float], tf.Tensor]:
    """The hook for ``sampling.sample``: known pixels become the reference noised to t_next; lesson 15.

    ``reference`` in the model's range [-1, 1]; ``mask`` with 1 = known. Each call draws fresh noise.
    """
    counter = [0]
    reference, mask = np.asarray(reference, np.float32), np.asarray(mask, np.float32)

    def constrain(x_next: tf.Tensor, x0_hat: tf.Tensor, t_next: float) -> tf.Tensor:
        counter[0] += 1
        signal, noise = (float(r) for r in schedule.rates(t_next))
        eps = _eps(reference.shape, seed, counter[0])
        return tf.convert_to_tensor(repaint_replace(np.asarray(x_next), reference, mask, signal, noise, eps))

    return constrain


def ilvr_constraint(
    reference: Any, factor: int, schedule: Any, *, seed: int = 0
) -> Callable[[tf.Tensor, tf.Tensor, float], tf.Tensor]:
    """The hook for ``sampling.sample``: the low-pass of x_next becomes the noised reference's; lesson 15."""
    counter = [0]
    reference = np.asarray(reference, np.float32)

    def constrain(x_next: tf.Tensor, x0_hat: tf.Tensor, t_next: float) -> tf.Tensor:
        counter[0] += 1
        signal, noise = (float(r) for r in schedule.rates(t_next))
        noised = signal * reference + noise * _eps(reference.shape, seed, counter[0])
        return lowpass_replace(x_next, noised, factor)

    return constrain


# --------------------------------------------------------------------------- times


def repaint_times(n: int, jump_length: int = 10, jump_n_sample: int = 1) -> np.ndarray:
    """RePaint's walk over step indices n..0: down by one, and every ``jump_length`` steps back up; lesson 15.

    With ``jump_n_sample = r`` each stretch of ``jump_length`` steps is walked r times (r - 1 jumps back up);
    r = 1 is the plain walk n, n - 1, ..., 0. Returns the indices (divide by n for times).
    """
    n = check_positive_int("n (the number of steps)", n)
    jump_length = check_positive_int("jump_length", jump_length)
    jump_n_sample = check_positive_int("jump_n_sample", jump_n_sample)
    jumps = {k: jump_n_sample - 1 for k in range(0, n - jump_length + 1, jump_length)}
    k, walk = n, [n]
    while k > 0:
        k -= 1
        walk.append(k)
        if jumps.get(k, 0) > 0 and k + jump_length <= n:
            jumps[k] -= 1
            for _ in range(jump_length):
                k += 1
                walk.append(k)
    return np.asarray(walk, dtype=int)


def renoise(x: Any, rates: tuple[float, float], later_rates: tuple[float, float], eps: Any) -> np.ndarray:
    """Carry x_t forward to a later (noisier) time: q(x_later | x_t) of a variance-preserving path; lesson 15."""
    (signal, noise), (signal_later, noise_later) = rates, later_rates
    ratio = signal_later / max(signal, 1e-12)
    extra = np.sqrt(max(noise_later**2 - (ratio * noise) ** 2, 0.0))
    return ratio * np.asarray(x, np.float32) + extra * np.asarray(eps, np.float32)


def noise_to_time(schedule: Any, sigma: float) -> float:
    """The grid time whose noise/signal ratio is closest to 2*sigma (noise sigma of [0, 1] images); lesson 15.

    SDEdit scales the noisy image by signal(t): signal*(x + 2*sigma*z) = signal*x + noise*z when
    noise/signal = 2*sigma.
    """
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating, np.integer)) or not sigma >= 0:
        raise ValueError(
            f"sigma (the noise's standard deviation in [0, 1]) must be a number >= 0; got {describe(sigma)}."
        )
    grid = np.arange(schedule.steps + 1) / schedule.steps
    signal, noise = schedule.rates(grid)
    with np.errstate(divide="ignore"):
        ratio = noise / signal
    finite = np.isfinite(ratio)
    if 2 * sigma > ratio[finite].max():
        raise ValueError(
            f"noise of sigma {sigma:g} (in [0, 1]; {2 * sigma:g} in the model's [-1, 1]) is beyond this schedule, "
            f"whose noisiest step has noise/signal {ratio[finite].max():.3g}: start from pure noise instead."
        )
    return float(grid[finite][np.argmin(np.abs(ratio[finite] - 2 * sigma))])


# --------------------------------------------------------------------------- the samplers


def repaint(
    denoise: Any,
    schedule: Any,
    images: Any,
    mask: Any,
    *,
    steps: int = 25,
    jump_length: int = 5,
    jump_n_sample: int = 1,
    eta: float = 1.0,
    seed: int = 0,
    keep_path: bool = False,
    progress: bool = True,
) -> Any:
    """Inpaint ``images`` (in [0, 1]) where ``mask`` is 0, RePaint-style; returns [0, 1] images; lesson 15.

    Args:
        denoise: ``sampling.denoiser(model)`` or ``Diffusion.denoiser()``.
        schedule: the schedule the model trained with.
        images, mask: the damaged images in [0, 1] and their masks (1 = known, 0 = hole).
        steps: the number of reverse steps from t = 1 to 0.
        jump_length, jump_n_sample: RePaint's resampling (``repaint_times``); jump_n_sample = 1 is no jump.
        eta: 1 for DDPM-like stochastic steps (RePaint's), 0 for DDIM.
        seed, keep_path, progress: noise seed; also return the x0 estimates after each down step; a progress bar.

    Known pixels of the result equal the input's exactly (the composite m*x + (1 - m)*sample).
    """
    images = _unit(images)
    mask = masks_lib.check_mask(mask, images)
    if mask.ndim == 3:
        mask = mask[None]
    reference = _to_model(images)
    walk = repaint_times(steps, jump_length, jump_n_sample)
    times = walk / steps
    constrain = repaint_constraint(reference, mask, schedule, seed=seed)
    x = _eps(reference.shape, seed, -1)
    path = []
    moves = list(zip(times[:-1], times[1:]))
    from tqdm.auto import tqdm

    for index, (t, t_next) in enumerate(tqdm(moves, desc="RePaint", disable=not progress, leave=False)):
        if t_next < t:
            out = sampling.sample(
                denoise,
                schedule,
                x,
                [[t, t_next]],
                eta=eta,
                constrain=constrain,
                seed=seed * 100_003 + index,
                keep_path=keep_path,
                progress=False,
            )
            if keep_path:
                out, _, x0_path = out
                path.append(_to_unit(mask * reference + (1 - mask) * x0_path[-1]))
            x = out
        else:
            rates = tuple(float(r) for r in schedule.rates(t))
            later = tuple(float(r) for r in schedule.rates(t_next))
            x = renoise(x, rates, later, _eps(reference.shape, seed + 7, index))
    restored = (mask * images + (1 - mask) * _to_unit(x)).astype(np.float32)
    return (restored, path) if keep_path else restored


def sdedit_denoise(
    denoise: Any,
    schedule: Any,
    noisy: Any,
    sigma: float,
    *,
    steps: int = 10,
    eta: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """Denoise [0, 1] images carrying Gaussian noise ``sigma`` by starting the reverse process at its level; lesson 15.

    The start time is ``noise_to_time(schedule, sigma)``; at t = 0 (sigma = 0) the input comes back unchanged.
    ``steps`` is capped by the grid steps between that time and 0; steps = 1 returns the network's x0 estimate.
    """
    noisy = _unit(noisy, "noisy")
    start = noise_to_time(schedule, sigma)
    if start == 0.0:
        return noisy.copy()
    steps = min(check_positive_int("steps", steps), int(round(start * schedule.steps)))
    signal, _ = schedule.rates(start)
    x_start = float(signal) * _to_model(noisy)
    pairs = schedule.timesteps(steps, start=start)
    out = sampling.sample(denoise, schedule, x_start, pairs, eta=eta, seed=seed, progress=progress)
    return _to_unit(out)


#: a shorter name for the same sampler
sdedit = sdedit_denoise


def ilvr(
    denoise: Any,
    schedule: Any,
    low_res: Any,
    factor: int,
    *,
    steps: int = 25,
    eta: float = 1.0,
    seed: int = 0,
    progress: bool = False,
    clip: bool = True,
) -> np.ndarray:
    """Super-resolve [0, 1] images ``low_res`` (N, h, w, C) by ``factor``, ILVR-style; returns [0, 1]; lesson 15.

    The observation is block-upsampled to full size; after every step the sample's block averages are replaced
    by the noised observation's, so the result's block averages equal the low-resolution input (exactly with
    ``clip=False``; clipping to [0, 1] may move them).
    """
    low_res = _unit(low_res, "low_res")
    size = int(low_res.shape[1]) * check_positive_int("factor", factor)
    factor = check_factor(factor, size)
    reference = _to_model(np.repeat(np.repeat(low_res, factor, axis=1), factor, axis=2))
    constrain = ilvr_constraint(reference, factor, schedule, seed=seed)
    x_start = _eps(reference.shape, seed, -1)
    out = sampling.sample(
        denoise,
        schedule,
        x_start,
        schedule.timesteps(steps),
        eta=eta,
        constrain=constrain,
        seed=seed,
        progress=progress,
    )
    out = (np.asarray(out, np.float32) + 1.0) / 2.0
    return np.clip(out, 0.0, 1.0) if clip else out  # clip=False keeps the exact block averages
