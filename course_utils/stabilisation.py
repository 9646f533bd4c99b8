"""Stabilising GAN training: the Wasserstein losses, the gradient penalty, spectral norms and TTUR; lesson 08.

* :func:`critic_loss` and :func:`wgan_generator_loss` are the losses of the Wasserstein GAN (Arjovsky et al.,
  2017): the critic gives real images high scores and fakes low ones, with no sigmoid and no log.
* :func:`gradient_penalty` keeps the critic close to 1-Lipschitz the way Gulrajani et al. (2017) do: it
  pushes the norm of the critic's gradient towards 1 at random points between real and fake images.
* :func:`build_critic` is the lesson-05 discriminator without batch norm (a batch-norm critic mixes the
  examples of a batch, which breaks the per-example gradient the penalty needs); it can use layer norm, no
  normalisation, or spectral normalisation (Miyato et al., 2018) through ``keras.layers.SpectralNormalization``.
* :func:`spectral_norm_power_iteration` estimates a kernel's largest singular value by power iteration, the
  from-scratch version of what that Keras layer does.
* :func:`conv_operator_norm` measures how much a convolution really stretches an image, which the largest
  singular value of its reshaped kernel (what spectral normalisation divides by) does not give.
* :func:`make_optimizers` gives the two-time-scale update rule (TTUR, Heusel et al., 2017): a faster critic.
* :func:`make_wgan_gp_train_step` puts it all in one ``tf.function``; with ``fresh_batches=True`` and
  :func:`critic_batches` and :func:`make_wgan_gp_optimizers` it is Algorithm 1 of Gulrajani et al. (2017),
  whose hyper-parameters are :data:`WGAN_GP_PAPER`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from course_utils.training import loss_scaled
from course_utils.validation import check_choice, check_positive_int, describe

__all__ = [
    "NORMALISATIONS",
    "WGAN_GP_PAPER",
    "build_critic",
    "conv_operator_norm",
    "critic_batches",
    "critic_loss",
    "gradient_norms",
    "gradient_penalty",
    "interpolate",
    "kernel_matrix",
    "make_optimizers",
    "make_wgan_gp_optimizers",
    "make_wgan_gp_train_step",
    "sample_alpha",
    "spectral_norm_power_iteration",
    "wgan_generator_loss",
]

NORMALISATIONS = ("layer", "none", "spectral")
KERNEL = 5  # the kernel size of the lesson-05 discriminator

#: Algorithm 1 of Gulrajani et al. (2017): critic updates per generator update, penalty weight, and Adam's
#: learning rate and betas (the same for both networks). Each critic update draws a fresh real batch.
WGAN_GP_PAPER = {"n_critic": 5, "gp_weight": 10.0, "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}


# ------------------------------------------------------------------------------------------------ losses


def _scores(name: str, scores: Any) -> tf.Tensor:
    """Check that ``scores`` holds one critic score per image and return it as float32."""
    if isinstance(scores, keras.Model) or (callable(scores) and not hasattr(scores, "shape")):
        raise TypeError(f"{name} must be the critic's outputs (a tensor of scores); got {describe(scores)}.")
    tensor = tf.convert_to_tensor(scores)
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise TypeError(f"{name} must be a tensor of numbers; got {describe(tensor)}.")
    rank = tensor.shape.rank
    if rank is not None and (rank > 2 or (rank == 2 and tensor.shape[-1] != 1)):
        raise ValueError(
            f"{name} must hold one score per image, shaped (N,) or (N, 1); got {describe(tensor)}. "
            "Did you pass images instead of the critic's outputs?"
        )
    tensor = tf.cast(tensor, tf.float32)
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(tensor))):  # in a train step: run.fit
        raise ValueError(f"{name} hold NaN or inf values: the critic that made them has diverged.")
    return tensor


def critic_loss(real_scores: Any, fake_scores: Any) -> tf.Tensor:
    """The Wasserstein critic's loss, mean D(fake) - mean D(real) (minimised: real scores up); lesson 08.

    Its negative, mean D(real) - mean D(fake), is the critic's estimate of the Wasserstein distance
    (up to the Lipschitz constant), the number worth plotting during training.
    """
    real = _scores("real_scores", real_scores)
    fake = _scores("fake_scores", fake_scores)
    return tf.reduce_mean(fake) - tf.reduce_mean(real)


def wgan_generator_loss(fake_scores: Any) -> tf.Tensor:
    """The Wasserstein generator's loss, -mean D(G(z)): the generator wants high critic scores; lesson 08."""
    return -tf.reduce_mean(_scores("fake_scores", fake_scores))


# ------------------------------------------------------------------------------------------------ gradient penalty


def _images(name: str, images: Any) -> tf.Tensor:
    tensor = tf.convert_to_tensor(images)
    if not tensor.dtype.is_floating:
        raise TypeError(f"{name} must be float images in [-1, 1]; got {describe(tensor)}.")
    if tensor.shape.rank is not None and tensor.shape.rank < 2:
        raise ValueError(f"{name} must be a batch (N, ...) of images; got {describe(tensor)}.")
    return tf.cast(tensor, tf.float32)


def sample_alpha(n: Any, *, rank: int = 4, seed: int | None = None) -> tf.Tensor:
    """One interpolation weight per example, alpha ~ U(0, 1), shaped (n, 1, 1, 1) for images; lesson 08.

    The trailing ones (``rank - 1`` of them) broadcast alpha over every pixel of its own example.
    ``seed`` makes the draw reproducible.
    """
    rank = check_positive_int("rank", rank, minimum=2)
    if not tf.is_tensor(n):  # a tensor is the batch size of a traced step; anything else must be a count
        n = check_positive_int("n", n, minimum=0)
    shape = tf.concat([tf.reshape(tf.cast(n, tf.int32), [1]), tf.ones([rank - 1], tf.int32)], axis=0)
    if seed is None:
        return tf.random.uniform(shape, 0.0, 1.0, dtype=tf.float32)
    seed = check_positive_int("seed", seed, minimum=0)
    return tf.random.stateless_uniform(shape, seed=(seed, 1), minval=0.0, maxval=1.0, dtype=tf.float32)


def interpolate(real: Any, fake: Any, alpha: Any) -> tf.Tensor:
    """The points x_hat = alpha * real + (1 - alpha) * fake between real and fake images; lesson 08."""
    real = _images("real", real)
    fake = _images("fake", fake)
    if real.shape.is_fully_defined() and fake.shape.is_fully_defined() and real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape (one fake per real image); got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}."
        )
    alpha = tf.cast(tf.convert_to_tensor(alpha), tf.float32)
    return alpha * real + (1.0 - alpha) * fake


def gradient_norms(gradients: Any, *, epsilon: float = 1e-12) -> tf.Tensor:
    """The L2 norm of each example's gradient, sqrt(sum of squares + epsilon), shaped (N,); lesson 08.

    ``epsilon`` sits *inside* the square root: the derivative of sqrt(s) is 1 / (2 sqrt(s)), infinite at
    s = 0, so without it a zero gradient (real == fake, or a flat critic) makes the update NaN.
    """
    if float(epsilon) < 0:
        raise ValueError(f"epsilon must be >= 0 (a tiny positive number such as 1e-12); got {epsilon!r}.")
    g = tf.cast(tf.convert_to_tensor(gradients), tf.float32)
    if g.shape.rank is not None and g.shape.rank < 2:
        raise ValueError(f"gradients must be a batch (N, ...) of per-example gradients; got {describe(g)}.")
    squares = tf.reduce_sum(tf.reshape(tf.square(g), [tf.shape(g)[0], -1]), axis=1)
    return tf.sqrt(squares + float(epsilon))


def gradient_penalty(
    critic: Callable[..., Any],
    real: Any,
    fake: Any,
    *,
    weight: float = 10.0,
    epsilon: float = 1e-12,
    alpha: Any = None,
    seed: int | None = None,
) -> tf.Tensor:
    """WGAN-GP's penalty weight * mean((||grad D(x_hat)||_2 - 1)^2) at x_hat between real and fake; lesson 08.

    alpha ~ U(0, 1) is drawn per example (or given, shaped (N, 1, 1, 1)); ``seed`` makes the draw
    reproducible. The norm is sqrt(sum g^2 + epsilon), see :func:`gradient_norms`. The critic must treat
    each example on its own (no batch norm), so that the gradient of the summed scores is per example.
    """
    if not callable(critic):
        raise TypeError(f"critic must be a model or function from images to scores; got {describe(critic)}.")
    if float(weight) < 0:
        raise ValueError(f"weight must be >= 0 (Gulrajani et al. use 10); got {weight!r}.")
    real = _images("real", real)
    fake = _images("fake", fake)
    if alpha is None:
        alpha = sample_alpha(tf.shape(real)[0], rank=real.shape.rank or 4, seed=seed)
    x_hat = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = tf.cast(critic(x_hat, training=True), tf.float32)
    # Summing the scores is fine: example i's score depends only on x_hat[i], so row i is its own gradient.
    gradients = tape.gradient(scores, x_hat)
    if gradients is None:
        raise ValueError("the critic's scores do not depend on its input images, so there is no gradient to penalise.")
    norms = gradient_norms(gradients, epsilon=epsilon)
    return float(weight) * tf.reduce_mean(tf.square(norms - 1.0))


# ------------------------------------------------------------------------------------------------ the critic


def build_critic(
    *,
    width: int,
    image_shape: Sequence[int] = (28, 28, 1),
    normalisation: str = "layer",
    name: str = "critic",
) -> keras.Model:
    """The lesson-05 discriminator without batch norm or dropout: an image to one float32 score; lesson 08.

    Two 5x5 stride-2 convolutions (``width`` then ``2 * width`` filters) with LeakyReLU(0.2), then Dense(1).
    ``normalisation`` is ``"layer"`` (layer norm after each convolution, as in WGAN-GP), ``"none"``, or
    ``"spectral"`` (every convolution and the dense layer wrapped in ``keras.layers.SpectralNormalization``).
    """
    width = check_positive_int("width", width)
    check_choice("normalisation", normalisation, NORMALISATIONS)
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(
            f"image_shape must be (height, width, channels), e.g. (28, 28, 1); got {describe(image_shape)}."
        )
    shape = tuple(check_positive_int(f"image_shape[{i}]", n) for i, n in enumerate(image_shape))
    layers = keras.layers

    def weighted(layer: keras.layers.Layer) -> keras.layers.Layer:
        if normalisation == "spectral":
            return layers.SpectralNormalization(layer, name=f"{layer.name}_sn")
        return layer

    image = keras.Input(shape=shape, name="image")
    x = image
    for index, filters in enumerate((width, 2 * width)):
        x = weighted(layers.Conv2D(filters, KERNEL, strides=2, padding="same", name=f"down{index}"))(x)
        if normalisation == "layer":
            x = layers.LayerNormalization(axis=[1, 2, 3], name=f"down{index}_ln")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"down{index}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    score = weighted(layers.Dense(1, name="score"))(x)
    score = layers.Activation("linear", dtype="float32", name="score_float32")(score)
    return keras.Model(image, score, name=name)


# ------------------------------------------------------------------------------------------------ spectral norm


def kernel_matrix(kernel: Any) -> np.ndarray:
    """A layer's kernel reshaped to 2-D, (everything but the last axis, output channels), as Keras does; lesson 08."""
    array = np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel, dtype=np.float64)
    if array.ndim < 2:
        raise ValueError(f"kernel must have at least 2 axes (a Dense or Conv2D kernel); got {describe(array)}.")
    return array.reshape(-1, array.shape[-1])


def spectral_norm_power_iteration(w: Any, iterations: int = 20, seed: int = 0) -> float:
    """The largest singular value sigma of ``w`` (a kernel, reshaped to 2-D) by power iteration; lesson 08.

    Start from a random u; repeat v = W u / ||W u||, u = W^T v / ||W^T v||; then sigma = v . W u.
    Each round multiplies the error by (sigma_2 / sigma_1)^2, so a few rounds usually suffice.
    """
    iterations = check_positive_int("iterations", iterations)
    seed = check_positive_int("seed", seed, minimum=0)
    matrix = kernel_matrix(w)
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"w holds NaN or inf values; got {describe(matrix)}.")
    u = np.random.default_rng(seed).normal(size=matrix.shape[1])
    u /= np.linalg.norm(u)
    v = np.zeros(matrix.shape[0])
    for _ in range(iterations):
        wu = matrix @ u
        if not np.any(wu):
            return 0.0  # a zero matrix (or u in its null space): no stretch at all
        v = wu / np.linalg.norm(wu)
        wtv = matrix.T @ v
        u = wtv / np.linalg.norm(wtv)
    return float(v @ matrix @ u)


def conv_operator_norm(
    kernel: Any, input_shape: Sequence[int], *, strides: int = 1, padding: str = "same", seed: int = 0
) -> float:
    """How much a Conv2D with ``kernel`` can stretch an input of ``input_shape`` (H, W, C_in); lesson 08.

    That is the layer's Lipschitz constant (bias aside): the largest singular value of the whole convolution
    written as a matrix (lesson 02), not of the reshaped kernel that spectral normalisation divides by. It is
    found by ARPACK (``scipy.sparse.linalg.svds``, a Lanczos cousin of power iteration) from the convolution
    and its transpose, without building the matrix. ``kernel`` is (KH, KW, C_in, C_out), or (KH, KW) for one
    channel in and out; ``strides`` and ``padding`` ("same" or "valid") are those of the layer.
    """
    import scipy.sparse.linalg

    w = np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel, dtype=np.float64)
    if w.ndim == 2:
        w = w[:, :, None, None]
    if w.ndim != 4 or not np.all(np.isfinite(w)):
        raise ValueError(
            f"kernel must be a finite Conv2D kernel (KH, KW, C_in, C_out), or (KH, KW) for one channel; "
            f"got {describe(w)}."
        )
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels) of one input; got {describe(input_shape)}.")
    shape = tuple(check_positive_int(f"input_shape[{i}]", n) for i, n in enumerate(shape))
    if shape[2] != w.shape[2]:
        raise ValueError(
            f"the input has {shape[2]} channel(s) but the kernel expects {w.shape[2]} (its third axis); "
            f"got input_shape {shape} and kernel {w.shape}."
        )
    strides = check_positive_int("strides", strides)
    check_choice("padding", padding, ("same", "valid"))
    seed = check_positive_int("seed", seed, minimum=0)
    w_tf = tf.constant(w)
    x_shape = (1, *shape)

    def forward(x: np.ndarray) -> tf.Tensor:
        return tf.nn.conv2d(tf.reshape(tf.constant(x, tf.float64), x_shape), w_tf, strides, padding.upper())

    y_shape = tuple(forward(np.zeros(x_shape)).shape)
    n_in, n_out = int(np.prod(x_shape)), int(np.prod(y_shape))
    if n_out == 0:
        raise ValueError(f"a kernel {w.shape[:2]} with padding 'valid' does not fit an input of {shape[:2]} pixels.")

    def adjoint(y: np.ndarray) -> np.ndarray:  # the transposed convolution: lesson 02
        y_tf = tf.reshape(tf.constant(y, tf.float64), y_shape)
        return tf.nn.conv2d_transpose(y_tf, w_tf, x_shape, strides, padding.upper()).numpy().ravel()

    if min(n_in, n_out) <= 2:  # too small for ARPACK: build the matrix, one column per input pixel
        columns = [forward(e).numpy().ravel() for e in np.eye(n_in)]
        return float(np.linalg.norm(np.stack(columns, axis=1), 2))
    operator = scipy.sparse.linalg.LinearOperator(
        (n_out, n_in), matvec=lambda x: forward(x).numpy().ravel(), rmatvec=adjoint, dtype=np.float64
    )
    start = np.random.default_rng(seed).normal(size=min(n_in, n_out))
    sigma = scipy.sparse.linalg.svds(operator, k=1, v0=start, return_singular_vectors=False)
    return float(sigma[0])


# ------------------------------------------------------------------------------------------------ training


def make_optimizers(
    *,
    g_learning_rate: float = 1e-4,
    d_learning_rate: float = 4e-4,
    beta_1: float = 0.5,
    beta_2: float = 0.999,
) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    """Two Adam optimizers (generator, critic); the defaults are TTUR's faster critic (4e-4 vs 1e-4); lesson 08.

    Equal rates give the usual one-time-scale training; WGAN-GP's paper uses 1e-4 for both with
    ``beta_1=0.0, beta_2=0.9``.
    """
    for name, rate in (("g_learning_rate", g_learning_rate), ("d_learning_rate", d_learning_rate)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
            raise ValueError(f"{name} must be a small positive number such as 1e-4; got {describe(rate)}.")
    for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta < 1:
            raise ValueError(f"{name} must be a number in [0, 1), e.g. 0.5; got {describe(beta)}.")
    g_opt = keras.optimizers.Adam(g_learning_rate, beta_1=beta_1, beta_2=beta_2)
    d_opt = keras.optimizers.Adam(d_learning_rate, beta_1=beta_1, beta_2=beta_2)
    return g_opt, d_opt


def make_wgan_gp_optimizers() -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    """Two Adam(1e-4, beta_1=0, beta_2=0.9) optimizers (generator, critic), as Gulrajani et al. (2017); lesson 08."""
    paper = WGAN_GP_PAPER
    return make_optimizers(
        g_learning_rate=paper["learning_rate"],
        d_learning_rate=paper["learning_rate"],
        beta_1=paper["beta_1"],
        beta_2=paper["beta_2"],
    )


def critic_batches(dataset: Any, n_critic: int) -> tf.data.Dataset:
    """The real batches of ``dataset`` grouped ``n_critic`` at a time, (n_critic, N, H, W, C); lesson 08.

    One element feeds one step of ``make_wgan_gp_train_step(..., fresh_batches=True)``: each critic update
    gets its own real batch, as in Gulrajani et al. (2017), so one generator step sees ``n_critic`` batches.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"dataset must be a tf.data.Dataset of real image batches (pipeline.make_dataset); got {describe(dataset)}."
        )
    n_critic = check_positive_int("n_critic", n_critic)
    spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec) or spec.shape.rank != 4:
        raise ValueError(
            f"dataset must yield image batches (N, H, W, C) without labels; its elements are {spec}. "
            "Make it with pipeline.make_dataset(images, batch_size=...) and no labels."
        )
    if spec.shape[0] is None:
        raise ValueError(
            "dataset's batches have no fixed size, so they cannot be stacked; make it with drop_remainder=True "
            "(pipeline.make_dataset's default)."
        )
    return dataset.batch(n_critic, drop_remainder=True)


def _check_critic_inputs(real: tf.Tensor, n_critic: int, fresh_batches: bool) -> None:
    """Raise a clear error when the real images do not fit the step: one batch, or n_critic stacked batches."""
    rank = real.shape.rank
    if not fresh_batches and rank == 5:
        raise ValueError(
            f"real_images is a stack of batches {tuple(real.shape)}; pass fresh_batches=True to "
            "make_wgan_gp_train_step to give each critic update its own batch, or feed single batches."
        )
    if fresh_batches and (rank != 5 or real.shape[0] != n_critic):
        raise ValueError(
            f"with fresh_batches=True each step takes {n_critic} real batches stacked as (n_critic, N, H, W, C), "
            f"one per critic update (critic_batches(dataset, {n_critic}) makes them); got shape {tuple(real.shape)}."
        )


def make_wgan_gp_train_step(
    generator: keras.Model,
    critic: keras.Model,
    g_opt: Any,
    c_opt: Any,
    *,
    latent_dim: int,
    n_critic: int = 5,
    gp_weight: float = 10.0,
    epsilon: float = 1e-12,
    seed: int | None = None,
    jit_compile: bool = False,
    fresh_batches: bool = False,
) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """A ``tf.function``: ``n_critic`` critic updates with the gradient penalty, then one generator update; lesson 08.

    With ``fresh_batches=False`` the step takes one real batch (N, H, W, C) and every critic update reuses it,
    with fresh noise and alpha. With ``fresh_batches=True`` it takes ``n_critic`` batches stacked as
    (n_critic, N, H, W, C) (see :func:`critic_batches`) and critic update i uses batch i: Algorithm 1 of
    Gulrajani et al. (2017), whose hyper-parameters are :data:`WGAN_GP_PAPER` (optimizers:
    :func:`make_wgan_gp_optimizers`). It returns float32 scalars from the last critic update: ``critic_loss``
    (Wasserstein loss + penalty), ``gp``, ``wasserstein`` (mean D(real) - mean D(fake)), and the generator's
    ``g_loss``. Pass optimizers from :func:`make_optimizers` for TTUR.
    """
    for label, model in (("generator", generator), ("critic", critic)):
        if not isinstance(model, keras.Model):
            raise TypeError(f"{label} must be a Keras model; got {describe(model)}.")
    for label, opt in (("g_opt", g_opt), ("c_opt", c_opt)):
        if not isinstance(opt, keras.optimizers.Optimizer):
            raise TypeError(
                f"{label} must be a Keras optimizer such as keras.optimizers.Adam(1e-4); got {describe(opt)}."
            )
    if g_opt is c_opt:
        raise ValueError(
            "g_opt and c_opt are the same object; each network needs its own optimizer (Adam keeps per-variable state)."
        )
    if any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers):
        raise ValueError(
            "the critic has batch normalisation, which mixes the examples of a batch, so the gradient penalty is no "
            "longer per example; build it with build_critic(normalisation='layer') instead."
        )
    latent_dim = check_positive_int("latent_dim", latent_dim)
    n_critic = check_positive_int("n_critic", n_critic)
    if not isinstance(fresh_batches, bool):
        raise TypeError(f"fresh_batches must be True or False; got {describe(fresh_batches)}.")
    if float(gp_weight) < 0:
        raise ValueError(f"gp_weight must be >= 0 (Gulrajani et al. use 10); got {gp_weight!r}.")
    g_opt, c_opt = loss_scaled(g_opt, generator, critic), loss_scaled(c_opt, generator, critic)
    for opt, model in ((g_opt, generator), (c_opt, critic)):
        if not opt.built:  # its variables must exist before the graph loop over critic updates
            opt.build(model.trainable_variables)
    if seed is None:
        rng = tf.random.Generator.from_non_deterministic_state()
    else:
        rng = tf.random.Generator.from_seed(check_positive_int("seed", seed, minimum=0))

    def critic_update(real: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        batch = tf.shape(real)[0]
        noise = rng.normal([batch, latent_dim])
        alpha = rng.uniform([batch, 1, 1, 1], 0.0, 1.0)
        with tf.GradientTape() as tape:
            fake = tf.cast(generator(noise, training=True), tf.float32)
            real_scores = tf.cast(critic(real, training=True), tf.float32)
            fake_scores = tf.cast(critic(fake, training=True), tf.float32)
            w_loss = critic_loss(real_scores, fake_scores)
            gp = gradient_penalty(critic, real, fake, weight=gp_weight, epsilon=epsilon, alpha=alpha)
            loss = w_loss + gp
            scaled = c_opt.scale_loss(loss)
        grads = tape.gradient(scaled, critic.trainable_variables)
        c_opt.apply_gradients(zip(grads, critic.trainable_variables))
        return loss, gp, -w_loss

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def train_step(real_images: tf.Tensor) -> dict[str, tf.Tensor]:
        real = tf.cast(real_images, tf.float32)
        _check_critic_inputs(real, n_critic, fresh_batches)
        loss = gp = wasserstein = tf.constant(0.0)
        for i in tf.range(n_critic):  # a graph loop: the critic update is traced once, whatever n_critic
            loss, gp, wasserstein = critic_update(real[i] if fresh_batches else real)
        noise = rng.normal([tf.shape(real)[1 if fresh_batches else 0], latent_dim])
        with tf.GradientTape() as tape:
            fake_scores = tf.cast(critic(generator(noise, training=True), training=True), tf.float32)
            g_loss = wgan_generator_loss(fake_scores)
            scaled = g_opt.scale_loss(g_loss)
        grads = tape.gradient(scaled, generator.trainable_variables)
        g_opt.apply_gradients(zip(grads, generator.trainable_variables))
        return {"critic_loss": loss, "g_loss": g_loss, "gp": gp, "wasserstein": wasserstein}

    return train_step
