"""A GAN on the real line: densities, the optimal discriminator, Jensen-Shannon, and a toy GAN (lesson 04).

Everything one-dimensional can be computed exactly on a grid of points, so this module holds both the
theory (``optimal_discriminator``, ``value_on_grid``, ``jsd_on_grid``) and a small GAN whose generator
and discriminator can be drawn as curves while it trains (``train_toy_gan``, ``plot_snapshot``,
``SnapshotScrubber``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils.validation import check_choice, check_positive_int, describe
from course_utils.widgets import PictureWidget, _ipywidgets, _Value

__all__ = [
    "GENERATOR_LOSSES",
    "Mixture",
    "SnapshotScrubber",
    "Snapshot",
    "ToyRun",
    "alternating_step",
    "build_toy_discriminator",
    "build_toy_generator",
    "discriminator_loss",
    "generator_loss",
    "grid_weights",
    "jsd_on_grid",
    "kde_on_grid",
    "modes_covered",
    "normal_pdf",
    "optimal_discriminator",
    "plot_snapshot",
    "share_on_modes",
    "train_toy_gan",
    "value_on_grid",
]

#: The two generator losses of Goodfellow et al. (2014): minimise log(1 - D(G(z))) or -log D(G(z)).
GENERATOR_LOSSES = ("saturating", "non-saturating")


# --------------------------------------------------------------------------- densities


def normal_pdf(x: Any, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """The density of N(mean, std²) at the points ``x``; lesson 04."""
    if not std > 0:
        raise ValueError(f"std must be a positive number; got {std!r}.")
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


class Mixture:
    """A mixture of Gaussians on the real line (one Gaussian when given one mean); lesson 04."""

    def __init__(self, means: Sequence[float], stds: Sequence[float] | float, weights: Sequence[float] | None = None):
        self.means = np.atleast_1d(np.asarray(means, dtype=np.float64))
        if self.means.ndim != 1 or self.means.size == 0:
            raise ValueError(f"means must be a list of at least one number; got {describe(self.means)}.")
        k = self.means.size
        self.stds = np.asarray(stds, dtype=np.float64)
        if self.stds.ndim == 0:
            self.stds = np.full(k, float(self.stds))
        if self.stds.shape != (k,) or not np.all(self.stds > 0):
            raise ValueError(f"stds must be one positive number or {k} positive numbers; got {describe(self.stds)}.")
        raw = np.ones(k) if weights is None else np.asarray(weights, dtype=np.float64)
        if raw.shape != (k,) or np.any(raw < 0) or raw.sum() <= 0:
            raise ValueError(f"weights must be {k} non-negative numbers, not all zero; got {describe(raw)}.")
        self.weights = raw / raw.sum()

    def __repr__(self) -> str:
        weights = self.weights.round(3).tolist()
        return f"Mixture(means={self.means.tolist()}, stds={self.stds.tolist()}, weights={weights})"

    @property
    def n_modes(self) -> int:
        """How many Gaussians the mixture has."""
        return int(self.means.size)

    @property
    def mean(self) -> float:
        """The mixture's mean, sum_k w_k mu_k."""
        return float(np.sum(self.weights * self.means))

    @property
    def variance(self) -> float:
        """The mixture's variance, sum_k w_k (sigma_k² + mu_k²) - mean²."""
        return float(np.sum(self.weights * (self.stds**2 + self.means**2)) - self.mean**2)

    def pdf(self, x: Any) -> np.ndarray:
        """The mixture's density at the points ``x``."""
        x = np.asarray(x, dtype=np.float64)
        return sum(w * normal_pdf(x, m, s) for w, m, s in zip(self.weights, self.means, self.stds))

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` samples (float32): pick a component with probability w_k, then draw from its Gaussian."""
        n = check_positive_int("n", n)
        rng = np.random.default_rng(rng)
        which = rng.choice(self.n_modes, size=n, p=self.weights)
        return (self.means[which] + self.stds[which] * rng.standard_normal(n)).astype(np.float32)

    def grid(self, n_points: int = 801, margin: float = 4.0) -> np.ndarray:
        """Evenly spaced points covering every component to ``margin`` standard deviations."""
        lo = float(np.min(self.means - margin * self.stds))
        hi = float(np.max(self.means + margin * self.stds))
        return np.linspace(lo, hi, check_positive_int("n_points", n_points, minimum=2))


# --------------------------------------------------------------------------- theory on a grid


def _grid_and_densities(x: Any, *densities: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError(f"x must be an increasing 1-D grid of at least 2 points; got {describe(x)}.")
    out = []
    for d in densities:
        d = np.asarray(d, dtype=np.float64)
        if d.shape != x.shape:
            raise ValueError(f"each density must hold one value per grid point, shape {x.shape}; got {describe(d)}.")
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise ValueError(f"densities must be finite and non-negative; got {describe(d)}.")
        out.append(d)
    return x, out


def grid_weights(x: Any) -> np.ndarray:
    """Trapezoid-rule weights of a 1-D grid: ``sum(weights * f)`` approximates the integral of f; lesson 04."""
    x, _ = _grid_and_densities(x)
    w = np.zeros_like(x)
    gaps = np.diff(x)
    w[:-1] += gaps / 2
    w[1:] += gaps / 2
    return w


def _masses(x: np.ndarray, density: np.ndarray) -> np.ndarray:
    """The probability of each grid cell, normalised to sum to 1."""
    mass = density * grid_weights(x)
    total = mass.sum()
    if total <= 0:
        raise ValueError("a density is zero everywhere on the grid: widen the grid to cover it.")
    return mass / total


def optimal_discriminator(p_data: Any, p_g: Any) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g), and 0.5 where both densities are 0; lesson 04."""
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must have the same shape; got {describe(p_data)} and {describe(p_g)}.")
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def _xlogy(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """a * log(y) with 0 * log(0) = 0."""
    return np.where(a > 0, a * np.log(np.where(a > 0, y, 1.0)), 0.0)


def value_on_grid(d: Any, x: Any, p_data: Any, p_g: Any) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 - D) dx on a grid (densities normalised on it); lesson 04."""
    x, (p_data, p_g) = _grid_and_densities(x, p_data, p_g)
    d = np.asarray(d, dtype=np.float64)
    if d.shape != x.shape or np.any(d < 0) or np.any(d > 1):
        raise ValueError(f"d must hold one probability in [0, 1] per grid point, shape {x.shape}; got {describe(d)}.")
    a, b = _masses(x, p_data), _masses(x, p_g)
    with np.errstate(divide="ignore"):
        return float(np.sum(_xlogy(a, d)) + np.sum(_xlogy(b, 1.0 - d)))


def jsd_on_grid(x: Any, p: Any, q: Any) -> float:
    """Jensen-Shannon divergence (natural log, so at most log 2) of two densities sampled on a grid; lesson 04."""
    x, (p, q) = _grid_and_densities(x, p, q)
    a, b = _masses(x, p), _masses(x, q)
    m = 0.5 * (a + b)
    kl = lambda u: float(np.sum(_xlogy(u, np.divide(u, m, out=np.ones_like(u), where=m > 0))))
    return max(0.5 * kl(a) + 0.5 * kl(b), 0.0)


def kde_on_grid(samples: Any, x: Any, bandwidth: float) -> np.ndarray:
    """A Gaussian kernel density estimate of ``samples`` at the points ``x``; lesson 04."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if samples.size == 0:
        raise ValueError("samples must hold at least one number.")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be a positive number; got {bandwidth!r}.")
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for chunk in np.array_split(samples, max(1, samples.size // 512)):  # extra: bounded memory
        out += normal_pdf(x[:, None] - chunk[None, :], 0.0, bandwidth).sum(axis=1)
    return out / samples.size


def modes_covered(samples: Any, mixture: Mixture, *, n_std: float = 3.0, min_fraction: float = 0.5) -> np.ndarray:
    """Which modes the samples cover: True where the share of samples within ``n_std`` standard deviations
    of that mode is at least ``min_fraction`` of the mode's weight; lesson 04."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if samples.size == 0:
        raise ValueError("samples must hold at least one number.")
    near = np.abs(samples[:, None] - mixture.means[None, :]) <= n_std * mixture.stds[None, :]
    return near.mean(axis=0) >= min_fraction * mixture.weights


def share_on_modes(samples: Any, mixture: Mixture, *, n_std: float = 3.0) -> float:
    """The share of samples within ``n_std`` standard deviations of some mode ("on the data"); lesson 04."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if samples.size == 0:
        raise ValueError("samples must hold at least one number.")
    near = np.abs(samples[:, None] - mixture.means[None, :]) <= n_std * mixture.stds[None, :]
    return float(near.any(axis=1).mean())


# --------------------------------------------------------------------------- losses and models


def discriminator_loss(real_logits: Any, fake_logits: Any) -> tf.Tensor:
    """-V estimated on a batch: binary cross-entropy with label 1 for real, 0 for fake (from logits); lesson 04."""
    real = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(real_logits), logits=real_logits)
    fake = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.reduce_mean(real) + tf.reduce_mean(fake)


def generator_loss(fake_logits: Any, kind: str = "non-saturating") -> tf.Tensor:
    """The generator's loss from D's logits on fakes: 'saturating' mean log(1 - D), 'non-saturating'
    mean -log D; lesson 04."""
    check_choice("kind", kind, GENERATOR_LOSSES)
    if kind == "saturating":  # log(1 - sigmoid(l)) = -softplus(l), written stably
        return -tf.reduce_mean(tf.nn.softplus(fake_logits))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(fake_logits), logits=fake_logits))


def _mlp(inputs: int, width: int, outputs: int, name: str, seed: int) -> keras.Model:
    init = lambda k: keras.initializers.GlorotUniform(seed=seed * 10 + k)
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(width, activation="leaky_relu", kernel_initializer=init(1), name="hidden1"),
            keras.layers.Dense(width, activation="leaky_relu", kernel_initializer=init(2), name="hidden2"),
            keras.layers.Dense(outputs, kernel_initializer=init(3), name="out"),
        ],
        name=name,
    )


def build_toy_generator(latent_dim: int = 4, width: int = 32, seed: int = 0) -> keras.Model:
    """G: noise z of size latent_dim -> one number, an MLP with two hidden layers of ``width``; lesson 04."""
    return _mlp(check_positive_int("latent_dim", latent_dim), check_positive_int("width", width), 1, "generator", seed)


def build_toy_discriminator(width: int = 32, seed: int = 0) -> keras.Model:
    """D: one number -> one logit (no sigmoid), an MLP with two hidden layers of ``width``; lesson 04."""
    return _mlp(1, check_positive_int("width", width), 1, "discriminator", seed + 1)


# --------------------------------------------------------------------------- training


def alternating_step(
    generator: Any,
    discriminator: Any,
    g_optimizer: Any,
    d_optimizer: Any,
    real: Any,
    d_noise: Any,
    g_noise: Any,
    *,
    loss: str = "non-saturating",
) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of Goodfellow et al.'s Algorithm 1: D ascends V on ``real`` and G(d_noise), then G descends
    its loss on G(g_noise) against the updated D; returns (d_loss, g_loss), each before its own update;
    lesson 04 (lesson 06 checks the DCGAN version with it).

    Works eagerly and inside a ``tf.function``, for any generator and discriminator that returns logits.
    """
    check_choice("loss", loss, GENERATOR_LOSSES)
    with tf.GradientTape() as tape:  # 1. the discriminator ascends V (descends its cross-entropy)
        fake = generator(d_noise, training=True)
        d_loss = discriminator_loss(discriminator(real, training=True), discriminator(fake, training=True))
    d_variables = discriminator.trainable_variables
    d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_variables), d_variables))
    with tf.GradientTape() as tape:  # 2. the generator descends its loss, against the discriminator just updated
        g_loss = generator_loss(discriminator(generator(g_noise, training=True), training=True), loss)
    g_variables = generator.trainable_variables
    g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_variables), g_variables))
    return d_loss, g_loss


@dataclass
class Snapshot:
    """What the toy GAN looked like at one training step; lesson 04."""

    step: int
    samples: np.ndarray  #: generator samples G(z), shape (n,)
    d_grid: np.ndarray  #: D(x) = sigmoid(logit) on the run's grid
    d_loss: float  #: mean discriminator loss over the steps since the previous snapshot (nan at step 0)
    g_loss: float  #: mean generator loss over the same steps


@dataclass
class ToyRun:
    """A trained toy GAN: its data, grid, snapshots, per-step losses and the two models; lesson 04."""

    data: Mixture
    grid: np.ndarray
    loss: str
    snapshots: list[Snapshot]
    d_losses: np.ndarray
    g_losses: np.ndarray
    generator: Any = field(repr=False)
    discriminator: Any = field(repr=False)
    latent_dim: int = 4

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` fresh samples from the trained generator."""
        z = tf.random.stateless_normal((check_positive_int("n", n), self.latent_dim), seed=(seed, 7))
        return self.generator(z, training=False).numpy().ravel()


def train_toy_gan(
    data: Mixture,
    *,
    steps: int,
    batch_size: int = 128,
    loss: str = "non-saturating",
    width: int = 32,
    latent_dim: int = 4,
    learning_rate: float = 1e-3,
    n_snapshots: int = 12,
    n_samples: int = 2000,
    grid: Any = None,
    seed: int = 0,
    progress: bool = True,
) -> ToyRun:
    """Train a toy GAN on samples of ``data`` for ``steps`` steps (one D update, one G update each) and
    record ``n_snapshots`` snapshots, the first before training; lesson 04."""
    if not isinstance(data, Mixture):
        raise TypeError(f"data must be a toygan.Mixture (e.g. Mixture([0.0], 1.0)); got {type(data).__name__}.")
    steps = check_positive_int("steps", steps)
    batch_size = check_positive_int("batch_size", batch_size)
    check_choice("loss", loss, GENERATOR_LOSSES)
    n_snapshots = check_positive_int("n_snapshots", n_snapshots, minimum=2)
    generator = build_toy_generator(latent_dim, width, seed)
    discriminator = build_toy_discriminator(width, seed)
    g_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    d_opt = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    rng = tf.random.Generator.from_seed(seed)
    log_w = tf.constant(np.log(data.weights)[None, :], tf.float32)
    means = tf.constant(data.means, tf.float32)
    stds = tf.constant(data.stds, tf.float32)

    @tf.function
    def train_step() -> tuple[tf.Tensor, tf.Tensor]:
        which = tf.random.stateless_categorical(log_w, batch_size, seed=rng.make_seeds(1)[:, 0])[0]
        real = tf.gather(means, which) + tf.gather(stds, which) * rng.normal((batch_size,))
        d_noise = rng.normal((batch_size, latent_dim))  # drawn in this order: the runs stay as they were
        g_noise = rng.normal((batch_size, latent_dim))
        return alternating_step(generator, discriminator, g_opt, d_opt, real[:, None], d_noise, g_noise, loss=loss)

    z_fixed = tf.random.stateless_normal((n_samples, latent_dim), seed=(seed, 1))  # the same z at every snapshot
    if grid is None:  # the data's range, widened to show where the untrained generator starts
        start = generator(z_fixed, training=False).numpy().ravel()
        lo, hi = data.grid()[[0, -1]]
        lo, hi = min(lo, float(np.percentile(start, 1)) - 0.5), max(hi, float(np.percentile(start, 99)) + 0.5)
        grid = np.linspace(lo, hi, 801)
    grid = np.asarray(grid, dtype=np.float64)
    x_grid = tf.constant(grid[:, None], tf.float32)

    def snapshot(step: int, d_mean: float, g_mean: float) -> Snapshot:
        samples = generator(z_fixed, training=False).numpy().ravel()
        d_grid = tf.sigmoid(discriminator(x_grid, training=False)).numpy().ravel().astype(np.float64)
        return Snapshot(step, samples, d_grid, d_mean, g_mean)

    at = set(np.unique(np.linspace(0, steps, n_snapshots).round().astype(int)).tolist())
    snaps = [snapshot(0, math.nan, math.nan)]
    d_losses, g_losses = np.zeros(steps), np.zeros(steps)
    from tqdm.auto import tqdm

    last = 0
    for step in tqdm(range(1, steps + 1), desc=f"toy GAN ({loss})", unit="step", disable=not progress):
        d_loss, g_loss = train_step()
        d_losses[step - 1], g_losses[step - 1] = float(d_loss), float(g_loss)
        if step in at:
            snaps.append(snapshot(step, float(d_losses[last:step].mean()), float(g_losses[last:step].mean())))
            last = step
    return ToyRun(data, grid, loss, snaps, d_losses, g_losses, generator, discriminator, latent_dim)


# --------------------------------------------------------------------------- pictures


def plot_snapshot(run: ToyRun, index: int = -1, ax: Any = None, *, bandwidth: float | None = None) -> Any:
    """Draw p_data, the generator's density (histogram + KDE) and D(x) for one snapshot; lesson 04."""
    from matplotlib.figure import Figure

    snap = run.snapshots[index]
    if ax is None:
        fig = Figure(figsize=(7.5, 3.2))
        ax = fig.subplots()
    x = run.grid
    p_data = run.data.pdf(x)
    h = bandwidth or 0.25 * float(np.min(run.data.stds))
    p_g = kde_on_grid(snap.samples, x, h)
    ax.fill_between(x, p_data, color="tab:blue", alpha=0.25, label="p_data")
    inside = snap.samples[(snap.samples >= x[0]) & (snap.samples <= x[-1])]
    bin_width = (x[-1] - x[0]) / 80
    ax.hist(inside, bins=80, range=(x[0], x[-1]), weights=np.full(inside.size, 1.0 / (snap.samples.size * bin_width)),
            color="tab:orange", alpha=0.3)
    ax.plot(x, p_g, color="tab:orange", lw=1.8, label="p_g (samples, KDE)")
    top = 1.15 * max(p_data.max(), min(p_g.max(), 3 * p_data.max()))
    ax.set_ylim(0, top)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    right = ax.twinx()
    right.plot(x, snap.d_grid, color="tab:green", lw=1.5, label="D(x)")
    right.axhline(0.5, color="tab:green", lw=0.8, ls=":")
    right.set_ylim(0, 1.05)
    right.set_ylabel("D(x)", color="tab:green")
    jsd = jsd_on_grid(x, p_data, p_g + 1e-300)
    covered = int(modes_covered(snap.samples, run.data).sum())
    on = share_on_modes(snap.samples, run.data)
    ax.set_title(f"{run.loss} loss, step {snap.step}: JSD(p_data, p_g) ≈ {jsd:.3f}, "
                 f"modes covered {covered}/{run.data.n_modes}, {on:.0%} of samples on a mode", fontsize=9)
    handles = ax.get_legend_handles_labels()[0][-2:] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.8)
    return ax.figure


class SnapshotScrubber(PictureWidget):
    """A slider over a toy GAN's snapshots that redraws p_data, p_g and D(x); lesson 04.

    ``slider.value`` is the snapshot index: set it in code to move it (works without a browser), and
    ``show()`` displays the current picture. Displaying the scrubber gives the interactive version.
    """

    def __init__(self, run: ToyRun, *, dpi: int = 72) -> None:

        if not isinstance(run, ToyRun) or not run.snapshots:
            raise TypeError(f"run must be a ToyRun returned by train_toy_gan; got {type(run).__name__}.")
        self.run = run
        self.dpi = check_positive_int("dpi", dpi)
        self._ipw = _ipywidgets()
        last = len(run.snapshots) - 1
        if self._ipw is not None:
            self.slider = self._ipw.IntSlider(value=0, min=0, max=last, step=1, description="snapshot",
                                              continuous_update=False)
            self.picture = self._ipw.Image(format="png")
        else:
            self.slider = _Value(0, tuple(range(last + 1)))
            self.picture = None
        self.slider.observe(lambda change: self._refresh(), names="value")
        self._box: Any = None
        self._refresh()

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot the slider points at."""
        return self.run.snapshots[int(self.slider.value)]

    def figure(self) -> Any:
        """The current snapshot as a matplotlib figure."""
        return plot_snapshot(self.run, int(self.slider.value))

    def _build_widget(self) -> Any:
        return self._ipw.VBox([self.slider, self.picture])

    def _describe(self) -> str:
        return f"SnapshotScrubber({len(self.run.snapshots)} snapshots, at step {self.snapshot.step})"
