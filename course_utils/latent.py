"""Inpainting with a generative prior: search the latent space of a generator for the known pixels; lesson 12.

A trained generator G maps a latent vector z to an image. To fill a hole, look for the z whose image G(z)
agrees with the known pixels (mask == 1) and that stays plausible under the prior z ~ N(0, I); then paste
G(z) into the hole (Yeh et al. 2017, Bora et al. 2017). Masks follow :mod:`course_utils.masks`: 1 = known.

"Plausible" has more than one reading (:data:`PRIORS`): the ||z||² penalty pulls z towards the origin, the
most likely single point, although a d-dimensional Gaussian sample almost never lies near it: its norm
concentrates near √d (lesson 07). The "shell" penalty (||z|| − √d)² and the "sphere" constraint keep z
where the samples are instead.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from course_utils.masks import check_mask
from course_utils.validation import check_choice, check_positive_int, describe

__all__ = [
    "BLENDS",
    "NORMS",
    "PRIORS",
    "LatentInpainting",
    "blend",
    "gradient_step",
    "invert_generator",
    "latent_inpaint",
    "masked_reconstruction_loss",
    "poisson_blend",
    "prior_loss",
    "project_to_sphere",
]

NORMS = ("l2", "l1")  #: the reconstruction losses :func:`invert_generator` knows
BLENDS = ("composite", "poisson")  #: the ways :func:`blend` pastes the generated image into the hole
#: what keeps z plausible: a penalty ("gaussian" ||z||²/d, "shell" (||z|| − √d)²), a constraint ("sphere":
#: ||z|| = √d after every step) or nothing ("none")
PRIORS = ("gaussian", "shell", "sphere", "none")
_PENALTIES = ("gaussian", "shell")  # the priors that add a weighted term to the objective
DEFAULT_PRIOR_WEIGHT = 0.01  #: the weight of a penalty prior when none is given
_BETA1, _BETA2, _EPSILON = 0.9, 0.999, 1e-7  # Adam's constants (Kingma and Ba 2015), as in Keras


# --------------------------------------------------------------------------- the two terms of the objective


def masked_reconstruction_loss(generated: Any, images: Any, masks: Any, *, norm: str = "l2") -> tf.Tensor:
    """Per image, the mean squared (or absolute) error of ``generated`` over the KNOWN pixels only; lesson 12.

    sum(m · |G(z) − x|^p) / (number of known entries), so the hole, whatever it holds, never counts.
    Shapes (N, H, W, C) for the images and (N, H, W, 1) for the masks; returns float32 of shape (N,).
    """
    check_choice("norm", norm, NORMS)
    if tf.executing_eagerly():  # inside the search's tf.function the inputs were checked before it
        shapes = [tuple(tf.convert_to_tensor(v).shape) for v in (generated, images, masks)]
        if shapes[0] != shapes[1] or shapes[2][:3] != shapes[1][:3]:
            raise ValueError(
                f"generated and images must have the same shape (N, H, W, C) and masks (N, H, W, 1); got "
                f"{shapes[0]}, {shapes[1]} and {shapes[2]}."
            )
        check_mask(masks.numpy() if hasattr(masks, "numpy") else masks)  # an inverted mask (1 = hole) warns
    generated = tf.cast(generated, tf.float32)
    images = tf.cast(images, tf.float32)
    masks = tf.cast(masks, tf.float32)
    error = generated - images
    error = tf.square(error) if norm == "l2" else tf.abs(error)
    channels = tf.cast(tf.shape(images)[-1], tf.float32)
    known = tf.reduce_sum(masks, axis=(1, 2, 3)) * channels
    return tf.reduce_sum(masks * error, axis=(1, 2, 3)) / tf.maximum(known, 1.0)


def prior_loss(z: Any, prior: str = "gaussian") -> tf.Tensor:
    """Per latent vector (N, d), the prior's penalty, float32 (N,); lesson 12.

    "gaussian": ||z||² / d, z's negative log-density times 2/d (about 1 for z ~ N(0, I), 0 at the origin).
    "shell": (||z|| − √d)², small where Gaussian samples lie: for large d, ||z|| is close to N(√d, 1/2), so
    this is the negative log-density of ||z|| up to a constant. "sphere" and "none" add no penalty: 0.
    """
    check_choice("prior", prior, PRIORS)
    z = tf.cast(z, tf.float32)
    if prior == "gaussian":
        return tf.reduce_mean(tf.square(z), axis=-1)
    if prior == "shell":
        dim = tf.cast(tf.shape(z)[-1], tf.float32)
        return tf.square(tf.norm(z, axis=-1) - tf.sqrt(dim))
    return tf.zeros(tf.shape(z)[:-1], tf.float32)


def project_to_sphere(z: Any) -> tf.Tensor:
    """Each latent vector (N, d) scaled to norm √d, where Gaussian samples concentrate; lesson 12.

    The direction is kept; a zero vector (no direction) stays zero rather than turning into NaN.
    """
    z = tf.cast(z, tf.float32)
    dim = tf.cast(tf.shape(z)[-1], tf.float32)
    return tf.sqrt(dim) * tf.math.l2_normalize(z, axis=-1, epsilon=1e-12)


def _check_prior(prior: Any, prior_weight: Any) -> tuple[str, float]:
    """The prior's name and its weight (the default for a penalty, 0 for a constraint or none)."""
    if not isinstance(prior, str) or prior not in PRIORS:
        raise ValueError(
            f"prior must be one of {', '.join(repr(p) for p in PRIORS)}; got {prior!r}. 'gaussian' and 'shell' "
            "are penalties weighted by prior_weight, 'sphere' keeps ||z|| = √d, 'none' leaves z free."
        )
    if prior_weight is None:
        return prior, DEFAULT_PRIOR_WEIGHT if prior in _PENALTIES else 0.0
    weight = _check_number("prior_weight", prior_weight, positive=False)
    if prior not in _PENALTIES and weight > 0:
        raise ValueError(
            f"prior={prior!r} adds no penalty term, so prior_weight must be 0 or left out; got {prior_weight!r}. "
            "Choose prior='gaussian' or prior='shell' for a weighted penalty."
        )
    return prior, weight


# --------------------------------------------------------------------------- checks


def _generator_shapes(generator: Any) -> tuple[int, tuple[int, ...]]:
    """The latent size and the image shape (H, W, C) of a Keras generator, or a TypeError in plain words."""
    if not isinstance(generator, keras.Model):
        raise TypeError(
            f"generator must be a Keras model mapping z (N, latent_dim) to images (N, H, W, C), such as the "
            f"DCGAN generator of lesson 06; got {describe(generator)}."
        )
    in_shape, out_shape = tuple(generator.input_shape), tuple(generator.output_shape)
    if len(in_shape) != 2 or in_shape[1] is None or len(out_shape) != 4:
        raise ValueError(
            f"generator must take z shaped (N, latent_dim) and return images (N, H, W, C); this one takes "
            f"{in_shape} and returns {out_shape}."
        )
    return int(in_shape[1]), tuple(int(s) for s in out_shape[1:])


def _check_number(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {describe(value)}.")
    if (positive and not value > 0) or value < 0 or not np.isfinite(value):
        raise ValueError(f"{name} must be a number {'> 0' if positive else '>= 0'}; got {value!r}.")
    return float(value)


def _check_targets(images: Any, masks: Any, image_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W, C) of the generator's shape and one mask (N, H, W, 1) per image (1 = known)."""
    array = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if array.ndim == 3 and tuple(array.shape) == image_shape:
        array = array[None]
    if array.ndim != 4 or tuple(array.shape[1:]) != image_shape:
        raise ValueError(
            f"images must be a batch shaped (N, {', '.join(map(str, image_shape))}), the generator's output "
            f"shape; got {describe(array)}."
        )
    if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
        raise ValueError(f"images must be finite floats in the generator's range; got {describe(array)}.")
    if array.size and array.max() > 1.5 and np.all(array == np.round(array)):  # whole numbers beyond 1: pixels
        raise ValueError(
            f"images hold whole numbers up to {array.max():g}, which look like 0-255 pixel values; the course's "
            "generators make [-1, 1] images. Convert uint8 pictures with pipeline.to_model_range first."
        )
    mask = check_mask(masks, array)
    if mask.ndim == 2:
        mask = mask[..., None]
    if mask.ndim == 3:
        mask = mask[None]
    mask = np.broadcast_to(mask, (len(array), *image_shape[:2], 1)).astype(np.float32)
    return array.astype(np.float32), mask


# --------------------------------------------------------------------------- the search
_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # traced Adam steps, per generator


def _adam_step(generator: keras.Model, discriminator: keras.Model | None, norm: str, prior: str) -> Any:
    """One traced Adam update of z for this generator (reused across calls, so it is traced once per shape)."""
    key = (None if discriminator is None else id(discriminator), norm, prior)
    cache = _STEPS.setdefault(generator, {})
    if key in cache:
        return cache[key]
    generator_ref = weakref.ref(generator)  # a strong reference here would keep the generator alive forever

    @tf.function(reduce_retracing=True)
    def adam_step(
        z: tf.Tensor, m: tf.Tensor, v: tf.Tensor, t: tf.Tensor, targets: tf.Tensor, masks: tf.Tensor, weights: tf.Tensor
    ) -> tuple[tf.Tensor, ...]:
        learning_rate, prior_weight, perceptual_weight = weights[0], weights[1], weights[2]
        with tf.GradientTape() as tape:
            tape.watch(z)
            generated = tf.cast(generator_ref()(z, training=False), tf.float32)
            reconstruction = masked_reconstruction_loss(generated, targets, masks, norm=norm)
            penalty = prior_loss(z, prior)
            total = reconstruction + prior_weight * penalty
            if discriminator is not None:
                logits = tf.reshape(tf.cast(discriminator(generated, training=False), tf.float32), (-1,))
                total += perceptual_weight * tf.nn.softplus(-logits)
            summed = tf.reduce_sum(total)  # images are independent: each z gets its own image's gradient
        grad = tape.gradient(summed, z)
        m = _BETA1 * m + (1.0 - _BETA1) * grad
        v = _BETA2 * v + (1.0 - _BETA2) * tf.square(grad)
        m_hat = m / (1.0 - _BETA1**t)
        v_hat = v / (1.0 - _BETA2**t)
        z = z - learning_rate * m_hat / (tf.sqrt(v_hat) + _EPSILON)
        if prior == "sphere":  # projected gradient descent: back onto the sphere after every step
            z = project_to_sphere(z)
        return z, m, v, total, reconstruction, penalty

    cache[key] = adam_step
    return adam_step




def invert_generator(
    generator: keras.Model,
    images: Any,
    masks: Any,
    *,
    steps: int,
    learning_rate: float = 0.05,
    prior_weight: float | None = None,
    prior: str = "gaussian",
    discriminator: keras.Model | None = None,
    perceptual_weight: float = 0.0,
    restarts: int = 1,
    seed: int = 0,
    norm: str = "l2",
    initial_z: Any = None,
    log_every: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Find z per image so G(z) matches its known pixels and z stays plausible (Adam, restarts); lesson 12.

    Minimises, per image, masked_reconstruction_loss(G(z), x, m) + prior_weight · prior_loss(z, prior)
    (+ perceptual_weight · softplus(−D(G(z))), the discriminator's "is it real?" loss of Yeh et al., when a
    ``discriminator`` is given). ``prior`` is one of :data:`PRIORS`: the penalties "gaussian" (||z||²/d, the
    default) and "shell" ((||z|| − √d)²) take ``prior_weight`` (default 0.01); "sphere" projects z onto
    ||z|| = √d after every step and "none" leaves z free, both without a weight.

    ``images`` are in the generator's range ((N, H, W, C), e.g. [-1, 1] for a tanh generator). Each of
    ``restarts`` random starts z ~ N(0, I) is optimised at once; per image the one with the lowest final
    objective is kept. Returns z (N, latent_dim) float32 and a history dict:
    "step" (L,), "loss"/"reconstruction"/"prior"/"radius" (L, restarts) averaged over images (radius is
    ||z||/√d: about 1 for Gaussian samples), "final_loss" (N, restarts) and "best_restart" (N,).
    """
    latent_dim, image_shape = _generator_shapes(generator)
    targets, mask = _check_targets(images, masks, image_shape)
    steps = check_positive_int("steps", steps)
    restarts = check_positive_int("restarts", restarts)
    seed = check_positive_int("seed", seed, minimum=0)
    learning_rate = _check_number("learning_rate", learning_rate, positive=True)
    prior, prior_weight = _check_prior(prior, prior_weight)
    perceptual_weight = _check_number("perceptual_weight", perceptual_weight, positive=False)
    check_choice("norm", norm, NORMS)
    log_every = max(1, steps // 50) if log_every is None else check_positive_int("log_every", log_every)
    if perceptual_weight > 0 and discriminator is None:
        raise ValueError("perceptual_weight > 0 needs a discriminator (the realism term asks it about G(z)).")
    if discriminator is not None:
        if not isinstance(discriminator, keras.Model):
            raise TypeError(f"discriminator must be a Keras model or None; got {describe(discriminator)}.")
        if tuple(discriminator.input_shape[1:]) != image_shape:
            raise ValueError(
                f"the discriminator takes images shaped {tuple(discriminator.input_shape[1:])}, but the generator "
                f"makes {image_shape}: they must be a pair trained together."
            )
    n = len(targets)
    z0 = tf.random.stateless_normal((restarts, n, latent_dim), seed=(seed, 12), dtype=tf.float32).numpy()
    if initial_z is not None:
        start = initial_z.numpy() if hasattr(initial_z, "numpy") else np.asarray(initial_z, np.float32)
        if start.shape != (n, latent_dim):
            raise ValueError(
                f"initial_z must hold one latent vector per image, shaped ({n}, {latent_dim}) for this generator "
                f"(latent size {latent_dim}); got {describe(start)}."
            )
        z0[0] = start
    if prior == "sphere":
        z0 = project_to_sphere(z0.reshape(-1, latent_dim)).numpy().reshape(z0.shape)
    # all restarts of all images form one batch: row r * n + i is restart r of image i
    tiled_targets = tf.constant(np.tile(targets, (restarts, 1, 1, 1)))
    tiled_masks = tf.constant(np.tile(mask, (restarts, 1, 1, 1)))
    use_d = discriminator is not None and perceptual_weight > 0
    adam_step = _adam_step(generator, discriminator if use_d else None, norm, prior)
    weights = tf.constant([learning_rate, prior_weight, perceptual_weight], tf.float32)

    z = tf.constant(z0.reshape(restarts * n, latent_dim))
    m_state, v_state = tf.zeros_like(z), tf.zeros_like(z)
    logged: dict[str, list] = {"step": [], "loss": [], "reconstruction": [], "prior": [], "radius": []}
    root_d = float(np.sqrt(latent_dim))
    for step in range(1, steps + 1):
        before = z
        z, m_state, v_state, total, reconstruction, penalty = adam_step(
            z, m_state, v_state, tf.constant(float(step)), tiled_targets, tiled_masks, weights
        )
        if step == 1 or step % log_every == 0 or step == steps:
            logged["step"].append(step - 1)  # the losses are those of z before this update
            radius = tf.norm(before, axis=-1) / root_d
            for key, value in (("loss", total), ("reconstruction", reconstruction), ("prior", penalty),
                               ("radius", radius)):
                logged[key].append(value.numpy().reshape(restarts, n).mean(axis=1))
    final = adam_step(z, m_state, v_state, tf.constant(1.0), tiled_targets, tiled_masks, weights)[3]
    final = final.numpy().reshape(restarts, n)  # the objective at the final z (its update is discarded)
    best = np.argmin(final, axis=0)
    z_all = z.numpy().reshape(restarts, n, latent_dim)
    history = {key: np.asarray(value, np.float64) for key, value in logged.items()}
    history["step"] = history["step"].astype(np.int64)
    history["final_loss"] = final.T.astype(np.float64)
    history["best_restart"] = best.astype(np.int64)
    return z_all[best, np.arange(n)].astype(np.float32), history


def gradient_step(
    generator: keras.Model,
    z: Any,
    images: Any,
    masks: Any,
    *,
    learning_rate: float,
    prior_weight: float | None = None,
    prior: str = "gaussian",
) -> tuple[np.ndarray, np.ndarray]:
    """One plain gradient-descent step of the latent search: (z − lr·∇objective, objective per image); lesson 12.

    The objective of image i is masked_reconstruction_loss(G(z_i), x_i, m_i) + prior_weight · prior_loss(z_i),
    the one :func:`invert_generator` minimises with Adam; the gradient is that of the sum over the images, so
    each z_i moves by its own image's gradient; ``prior`` and ``prior_weight`` mean what they mean there (the
    "sphere" prior projects the moved z back onto ||z|| = √d). G runs in inference mode (``training=False``). ``z`` is
    (N, latent_dim), ``images`` (N, H, W, C) in the generator's range, ``masks`` (N, H, W, 1) with 1 = known.
    Returns the new z (N, latent_dim) and the objective at the old z (N,), both float32.
    """
    latent_dim, image_shape = _generator_shapes(generator)
    targets, mask = _check_targets(images, masks, image_shape)
    learning_rate = _check_number("learning_rate", learning_rate, positive=True)
    prior, prior_weight = _check_prior(prior, prior_weight)
    start = z.numpy() if hasattr(z, "numpy") else np.asarray(z)
    if start.shape != (len(targets), latent_dim) or not np.issubdtype(start.dtype, np.floating):
        raise ValueError(
            f"z must hold one latent vector per image, float (N, latent_dim) = ({len(targets)}, {latent_dim}); "
            f"got {describe(start)}."
        )
    position = tf.constant(start, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(position)
        generated = tf.cast(generator(position, training=False), tf.float32)
        objective = masked_reconstruction_loss(generated, tf.constant(targets), tf.constant(mask))
        objective += prior_weight * prior_loss(position, prior)
        summed = tf.reduce_sum(objective)
    moved = position - learning_rate * tape.gradient(summed, position)
    if prior == "sphere":
        moved = project_to_sphere(moved)
    return moved.numpy().astype(np.float32), objective.numpy().astype(np.float32)


# --------------------------------------------------------------------------- pasting into the hole


def poisson_blend(images: Any, masks: Any, generated: Any) -> np.ndarray:
    """Fill each hole with the function whose Laplacian is G's and whose border values are the image's; lesson 12.

    Solves the discrete Poisson equation of Pérez et al. (2003) on the hole pixels (4-neighbour Laplacian),
    so the fill keeps G's shapes but shifts smoothly to meet the known pixels with no visible seam.
    Known pixels stay exactly as they were. Arrays (N, H, W, C), masks (N, H, W, 1).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    x, m, g = _blend_inputs(images, masks, generated)
    out = x.copy()
    height, width = x.shape[1:3]
    offsets = ((-1, 0), (1, 0), (0, -1), (0, 1))
    for i in range(len(x)):
        hole = m[i, ..., 0] == 0
        if not hole.any():
            continue
        index = -np.ones((height, width), np.int64)
        rows, cols = np.nonzero(hole)
        index[rows, cols] = np.arange(len(rows))
        entries_r, entries_c, values = [], [], []
        rhs = np.zeros((len(rows), x.shape[-1]), np.float64)
        degree = np.zeros(len(rows))
        for dr, dc in offsets:
            r2, c2 = rows + dr, cols + dc
            inside = (r2 >= 0) & (r2 < height) & (c2 >= 0) & (c2 < width)
            k = np.nonzero(inside)[0]
            degree[k] += 1
            rhs[k] += g[i, rows[k], cols[k]] - g[i, r2[k], c2[k]]  # G's Laplacian: the guidance field
            neighbour = index[r2[k], c2[k]]
            unknown = neighbour >= 0
            entries_r += list(k[unknown])
            entries_c += list(neighbour[unknown])
            values += [-1.0] * int(unknown.sum())
            known = k[~unknown]
            rhs[known] += x[i, r2[known], c2[known]]  # the border: known pixels of the image
        entries_r += list(range(len(rows)))
        entries_c += list(range(len(rows)))
        values += list(degree)
        system = coo_matrix((values, (entries_r, entries_c)), shape=(len(rows), len(rows))).tocsc()
        solution = spsolve(system, rhs)
        out[i, rows, cols] = np.asarray(solution).reshape(len(rows), -1)
    return out.astype(np.float32)


def _blend_inputs(images: Any, masks: Any, generated: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    g = generated.numpy() if hasattr(generated, "numpy") else np.asarray(generated)
    if x.ndim != 4:
        raise ValueError(f"images must be a batch shaped (N, H, W, C); got {describe(x)}.")
    if g.shape != x.shape:
        raise ValueError(f"generated must have the images' shape {x.shape}; got {describe(g)}.")
    m = check_mask(masks, x)
    if m.ndim != 4:
        raise ValueError(f"masks must be a batch shaped (N, H, W, 1) like the images; got {describe(m)}.")
    m = np.broadcast_to(m, (*x.shape[:3], 1))
    return x.astype(np.float64), m.astype(np.float64), g.astype(np.float64)


def blend(images: Any, masks: Any, generated: Any, *, method: str = "composite") -> np.ndarray:
    """Paste ``generated`` into the holes: "composite" m·x + (1 − m)·G(z), or "poisson" (seamless); lesson 12."""
    check_choice("method", method, BLENDS)
    if method == "poisson":
        return poisson_blend(images, masks, generated)
    x, m, g = _blend_inputs(images, masks, generated)
    return (m * x + (1.0 - m) * g).astype(np.float32)


# --------------------------------------------------------------------------- all in one


class LatentInpainting(NamedTuple):
    """What :func:`latent_inpaint` returns: the restored and generated images in [0, 1], z and the history."""

    restored: np.ndarray
    generated: np.ndarray
    z: np.ndarray
    history: dict[str, np.ndarray]


def latent_inpaint(
    generator: keras.Model,
    images: Any,
    masks: Any,
    *,
    steps: int,
    learning_rate: float = 0.05,
    prior_weight: float | None = None,
    prior: str = "gaussian",
    restarts: int = 1,
    seed: int = 0,
    blend_method: str = "composite",
    discriminator: keras.Model | None = None,
    perceptual_weight: float = 0.0,
) -> LatentInpainting:
    """Fill the holes of unit-range ``images`` with a tanh generator's best G(z), then blend; lesson 12.

    The search is :func:`invert_generator`'s (``prior`` and ``prior_weight`` as there).
    """
    check_choice("blend_method", blend_method, BLENDS)
    array = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if array.ndim != 4 or not np.issubdtype(array.dtype, np.floating) or array.min() < 0 or array.max() > 1:
        raise ValueError(
            f"images must be a float batch (N, H, W, C) in [0, 1]; got {describe(array)} "
            "(uint8 digits: divide by 255)."
        )
    z, history = invert_generator(
        generator,
        array * 2.0 - 1.0,
        masks,
        steps=steps,
        learning_rate=learning_rate,
        prior_weight=prior_weight,
        prior=prior,
        discriminator=discriminator,
        perceptual_weight=perceptual_weight,
        restarts=restarts,
        seed=seed,
    )
    generated = np.asarray(generator(tf.constant(z), training=False), np.float32)
    generated = np.clip((generated + 1.0) / 2.0, 0.0, 1.0)
    restored = np.clip(blend(array, masks, generated, method=blend_method), 0.0, 1.0).astype(np.float32)
    return LatentInpainting(restored, generated, z, history)
