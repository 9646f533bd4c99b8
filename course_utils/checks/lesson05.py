"""Checks for lesson 05's exercises (DCGAN architecture, and debugging a broken GAN).

discriminator_loss and generator_output_side compare with stored results (checks/data/lesson05.json),
computed with Keras' BinaryCrossentropy and Conv2DTranspose layers. dcgan_generator and dcgan_discriminator
build the learner's networks at two sizes and judge them by properties (output shapes and ranges, the layers'
kinds, strides, kernels and filters, the initial weights' spread) and by their parameter count, compared with
``gan.build_generator`` and ``gan.build_discriminator`` at the same sizes. checkerboard_experiment
recomputes the learner's measurements from their samples with ``gan.checkerboard_share`` and holds the
conclusion to their own numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.checks.core import _NOT_WRITTEN, CheckFailed, _call, _passed, _show, _to_numpy
from course_utils.checks.stored import stored

__all__ = [
    "check_checkerboard_experiment",
    "check_dcgan_discriminator",
    "check_dcgan_generator",
    "check_discriminator_loss",
    "check_generator_output_side",
    "check_repaired_step",
]


def _require_function(fn: Any, name: str) -> None:
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


# --------------------------------------------------------------------------- the discriminator's loss


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _bce(label: float, logits: np.ndarray) -> np.ndarray:
    """Per-example binary cross-entropy of sigmoid(logits) against a constant label, from logits."""
    return label * _softplus(-logits) + (1.0 - label) * _softplus(logits)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _mistakes(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """What typical wrong discriminator losses give on (real, fake), with a hint for each."""
    clip = 1e-7
    probs = np.clip(real, clip, 1 - clip), np.clip(fake, clip, 1 - clip)
    return {
        "the logits went through a sigmoid before a loss that applies the sigmoid itself (from_logits=True): "
        "a double sigmoid. Pass the logits straight to the loss.": float(
            np.mean(_bce(1.0, _sigmoid(real))) + np.mean(_bce(0.0, _sigmoid(fake)))
        ),
        "the logits were treated as probabilities (a loss with from_logits=False, the default of "
        "keras.losses.BinaryCrossentropy). Build it with from_logits=True.": float(
            np.mean(-np.log(probs[0])) + np.mean(-np.log(1 - probs[1]))
        ),
        "the labels are swapped: real images should be labelled 1 (ones_like) and fakes 0 (zeros_like).": float(
            np.mean(_bce(0.0, real)) + np.mean(_bce(1.0, fake))
        ),
        "only the real term is there: add the fake logits against label 0.": float(np.mean(_bce(1.0, real))),
        "only the fake term is there: add the real logits against label 1.": float(np.mean(_bce(0.0, fake))),
        "the two terms are averaged; the loss is their sum.": float(
            (np.mean(_bce(1.0, real)) + np.mean(_bce(0.0, fake))) / 2
        ),
        "the terms are summed over the batch; take the mean over the images (reduce_mean).": float(
            np.sum(_bce(1.0, real)) + np.sum(_bce(0.0, fake))
        ),
        "both terms use label 1; the fakes must be compared with label 0.": float(
            np.mean(_bce(1.0, real)) + np.mean(_bce(1.0, fake))
        ),
        "both terms use label 0; the real images must be compared with label 1.": float(
            np.mean(_bce(0.0, real)) + np.mean(_bce(0.0, fake))
        ),
    }


def check_discriminator_loss(fn: Any) -> None:
    """Lesson 05: ``fn(real_logits, fake_logits)`` equals ``gan.discriminator_loss`` (BCE from logits, 1 vs 0)."""
    import tensorflow as tf  # imported here so that importing the checks stays fast

    name = "my_discriminator_loss"
    _require_function(fn, name)
    book = stored("lesson05", "discriminator_loss")
    cases = book.cases
    for number, stored_case in enumerate(cases, start=1):
        (real, fake), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (tf.constant(real), tf.constant(fake)), name, book.params))
        shown = f"real_logits = {_show(real)}, fake_logits = {_show(fake)}"
        if got is None:
            raise CheckFailed(f"`{name}` returned None. Did you forget a `return` statement?")
        array = np.asarray(got)
        if not np.issubdtype(array.dtype, np.number):
            raise CheckFailed(f"`{name}` should return one number (a scalar tensor); got {_show(got)}.")
        if array.size != 1:
            raise CheckFailed(
                f"`{name}` returned {_show(got)}, shaped {array.shape}; it should return one number, the mean over "
                f"the batch (use tf.reduce_mean, or a Keras loss, which averages for you)."
                + (" Did you feed it images instead of the discriminator's logits?" if array.ndim >= 3 else "")
            )
        value = float(array.reshape(()))
        if np.isclose(value, expected, rtol=1e-4, atol=1e-5):
            continue
        hint = next(
            (text for text, wrong in _mistakes(real, fake).items() if np.isclose(value, wrong, rtol=1e-4, atol=1e-5)),
            None,
        )
        raise CheckFailed(
            f"`{name}` gives {value:.6g} on case {number} of {len(cases)}; gan.discriminator_loss gives "
            f"{expected:.6g}.\n  inputs: {shown}"
            + (f"\n  Hint: {hint}" if hint else "")
        )
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the generator's output side


def check_generator_output_side(fn: Any) -> None:
    """Lesson 05: ``fn(side, layers)`` is the side after transposed convolutions (kernel, stride, padding), as Keras."""
    name = "generator_output_side"
    _require_function(fn, name)
    book = stored("lesson05", name)
    cases = book.cases
    for stored_case in cases:
        (side, layers), expected = stored_case.args, stored_case.expected
        got = _to_numpy(_call(fn, (side, list(layers)), name, book.params))
        call = f"`{name}({side}, {layers})` returned {_show(got)}"
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise CheckFailed(f"{call}; it should return one whole number of pixels ({expected}).")
        if got == expected:
            continue
        hints = {}
        shrink, all_same, no_max = side, side, side
        for kernel, stride, padding in layers:
            shrink = (shrink + (kernel - 1 if padding == "same" else 0) - kernel) // stride + 1
            all_same = all_same * stride
            no_max = no_max * stride if padding == "same" else (no_max - 1) * stride + kernel
        hints[shrink] = "that is the size after ordinary (downsampling) convolutions; a transposed convolution " \
            "*multiplies* the side by the stride."
        hints.setdefault(all_same, "with 'valid' padding the output is (side - 1) * stride + max(kernel, stride), "
                                   "not side * stride.")
        hints.setdefault(no_max, "with 'valid' padding Keras uses max(kernel, stride), which matters when the "
                                 "stride is larger than the kernel.")
        hints.setdefault(side, "the loop must update `side` after each layer (side = ...), then return it.")
        hint = hints.get(got)
        raise CheckFailed(f"{call}; Keras gives {expected}." + (f" Hint: {hint}" if hint else ""))
    _passed(name, len(cases))


# --------------------------------------------------------------------------- the DCGAN networks, built by the learner

#: The sizes the network checks build at: (latent_dim, width, image_shape).
_SIZES = ((8, 4, (28, 28, 1)), (16, 6, (32, 32, 3)))
_NO = ("MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "UpSampling2D")


def _activation_names(model: Any) -> list[str]:
    """The non-linearities of a model's layers, in order: 'relu', 'leaky_relu', 'tanh', 'sigmoid'..."""
    import keras

    names = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.ReLU):
            names.append("relu")
        elif isinstance(layer, keras.layers.LeakyReLU):
            names.append("leaky_relu")
        elif getattr(layer, "activation", None) is not None:
            name = getattr(layer.activation, "__name__", str(layer.activation))
            if name != "linear":
                names.append(name)
    return names


def _built(fn: Any, name: str, kwargs: dict[str, Any]) -> Any:
    """Call the learner's builder; it must return a Keras model."""
    import keras

    model = _call(fn, kwargs, name, list(kwargs))
    shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    if model is None:
        raise CheckFailed(f"`{name}({shown})` returned None. Did you forget `return keras.Model(...)`?")
    if not isinstance(model, keras.Model):
        raise CheckFailed(f"`{name}({shown})` returned {_show(model)}; it should return a keras.Model "
                          "(keras.Sequential or keras.Model(inputs, outputs)).")
    return model


def _layers_of(model: Any, kind: str) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ == kind]


def _no_pooling(model: Any, call: str, instead: str) -> None:
    banned = [type(layer).__name__ for layer in model.layers if type(layer).__name__ in _NO]
    if banned:
        raise CheckFailed(f"{call} uses {', '.join(banned)}. A DCGAN has no pooling or fixed upsampling: {instead}")


def _spread(kernel: Any) -> float:
    return float(np.std(np.asarray(kernel.numpy(), dtype=np.float64)))


def _check_spread(model: Any, call: str) -> None:
    """The largest kernel must look drawn from N(0, 0.02): its standard deviation within 30 % of 0.02."""
    kernels = [w for w in model.trainable_weights if len(w.shape) >= 2]
    if not kernels:
        raise CheckFailed(f"{call} has no trainable kernels.")
    biggest = max(kernels, key=lambda w: int(np.prod(w.shape)))
    spread = _spread(biggest)
    if not 0.014 <= spread <= 0.026:
        raise CheckFailed(
            f"{call}: the kernel of shape {tuple(biggest.shape)} starts with standard deviation {spread:.3g}; the "
            "DCGAN paper draws every initial weight from N(0, 0.02). Pass "
            "kernel_initializer=keras.initializers.RandomNormal(stddev=0.02) to every Dense, Conv2D and "
            "Conv2DTranspose layer."
        )


def check_dcgan_generator(fn: Any) -> None:
    """Lesson 05: ``fn(latent_dim=..., width=..., image_shape=...)`` builds the DCGAN generator of the lesson."""
    import tensorflow as tf

    from course_utils import gan

    name = "build_my_generator"
    _require_function(fn, name)
    for latent_dim, width, image_shape in _SIZES:
        height, side, channels = image_shape
        kwargs = {"latent_dim": latent_dim, "width": width, "image_shape": image_shape}
        call = f"`{name}(latent_dim={latent_dim}, width={width}, image_shape={image_shape})`"
        model = _built(fn, name, kwargs)
        _no_pooling(model, call, "let transposed convolutions with stride 2 learn to double the size.")
        z = tf.random.stateless_normal((5, latent_dim), seed=(latent_dim, 1))
        try:
            images = _to_numpy(model(z, training=False))
        except Exception as error:  # the learner's model may fail in any way
            raise CheckFailed(f"{call} fails on a batch of noise shaped (5, {latent_dim}): "
                              f"{type(error).__name__}: {error}") from error
        images = np.asarray(images)
        if images.shape != (5, *image_shape):
            hint = ""
            if images.ndim == 4 and images.shape[1] * 2 == height:
                hint = " The image is half as big: the two last transposed convolutions must both have stride 2."
            elif images.ndim == 4 and images.shape[1] == height and images.shape[-1] != channels:
                hint = f" The last transposed convolution must have {channels} filters, one per colour channel."
            raise CheckFailed(f"{call} turns 5 noise vectors into shape {images.shape}; expected "
                              f"{(5, *image_shape)}.{hint}")
        ups = _layers_of(model, "Conv2DTranspose")
        if len(ups) != 3:
            raise CheckFailed(f"{call} has {len(ups)} Conv2DTranspose layers; the lesson's generator has three "
                              "(strides 1, 2, 2) after the Dense projection.")
        got = [(tuple(u.kernel_size), tuple(u.strides), u.filters, u.padding) for u in ups]
        want = [((5, 5), (1, 1), 2 * width, "same"), ((5, 5), (2, 2), width, "same"),
                ((5, 5), (2, 2), channels, "same")]
        for number, (g, w) in enumerate(zip(got, want, strict=True), start=1):
            if g != w:
                raise CheckFailed(
                    f"{call}: transposed convolution {number} has kernel {g[0]}, strides {g[1]}, {g[2]} filters and "
                    f"padding '{g[3]}'; expected kernel (5, 5), strides {w[1]}, {w[2]} filters (width = {width}) "
                    "and padding 'same'."
                )
        acts = _activation_names(model)
        if "leaky_relu" in acts:
            raise CheckFailed(f"{call} uses LeakyReLU; the DCGAN guidelines put ReLU in the generator "
                              "(LeakyReLU is the discriminator's).")
        if not acts or acts[-1] != "tanh":
            hint = "a sigmoid gives [0, 1], but real images are in [-1, 1]." if acts and acts[-1] == "sigmoid" else (
                "it keeps the output in [-1, 1], the range of the real images.")
            raise CheckFailed(f"{call} does not end with tanh (its last activation is "
                              f"{acts[-1] if acts else 'none'}): {hint}")
        if acts.count("relu") < 3:
            raise CheckFailed(f"{call} has {acts.count('relu')} ReLU activations; a ReLU follows the projection and "
                              "each of the first two transposed convolutions (after their batch norm).")
        if len(_layers_of(model, "BatchNormalization")) != 3:
            raise CheckFailed(f"{call} has {len(_layers_of(model, 'BatchNormalization'))} BatchNormalization layers; "
                              "the generator normalises after the projection and after the first two transposed "
                              "convolutions (every layer but the output).")
        loud = np.asarray(_to_numpy(model(z * 1e4, training=False)))
        if not np.all(np.abs(loud) <= 1.0 + 1e-6):
            raise CheckFailed(f"{call} gives values up to {np.abs(loud).max():.3g} for large noise: the output must "
                              "stay in [-1, 1]. End with a tanh.")
        _check_spread(model, call)
        expected = gan.build_generator(latent_dim=latent_dim, width=width, image_shape=image_shape).count_params()
        count = model.count_params()
        if count != expected:
            rows, cols = height // 4, side // 4
            extra = rows * cols * 4 * width + 2 * width + width
            hint = {
                extra: " The difference is the biases of the layers before batch norm: batch norm subtracts the "
                "mean, so a bias there does nothing; use use_bias=False on the Dense and the first two transposed "
                "convolutions.",
                -channels: " The last transposed convolution needs its bias (it has no batch norm after it).",
            }.get(count - expected, " Compare model.summary() with the layers listed in the exercise.")
            raise CheckFailed(f"{call} has {count:,} parameters; the lesson's generator has {expected:,}.{hint}")
    _passed(name, 2)


def check_dcgan_discriminator(fn: Any) -> None:
    """Lesson 05: ``fn(width=..., image_shape=...)`` builds the DCGAN discriminator of the lesson (logits out)."""
    import tensorflow as tf

    from course_utils import gan

    name = "build_my_discriminator"
    _require_function(fn, name)
    for _, width, image_shape in _SIZES:
        kwargs = {"width": width, "image_shape": image_shape}
        call = f"`{name}(width={width}, image_shape={image_shape})`"
        model = _built(fn, name, kwargs)
        _no_pooling(model, call, "let convolutions with stride 2 learn to halve the size.")
        images = tf.random.stateless_uniform((5, *image_shape), seed=(width, 2), minval=-1.0, maxval=1.0)
        try:
            logits = np.asarray(_to_numpy(model(images, training=False)))
        except Exception as error:  # the learner's model may fail in any way
            raise CheckFailed(f"{call} fails on a batch of images shaped {(5, *image_shape)}: "
                              f"{type(error).__name__}: {error}") from error
        if logits.shape != (5, 1):
            raise CheckFailed(f"{call} turns 5 images into shape {logits.shape}; expected (5, 1), one logit per "
                              "image: end with Flatten() and Dense(1).")
        downs = _layers_of(model, "Conv2D")
        got = [(tuple(d.kernel_size), tuple(d.strides), d.filters, d.padding) for d in downs]
        want = [((5, 5), (2, 2), width, "same"), ((5, 5), (2, 2), 2 * width, "same")]
        if len(got) != 2:
            raise CheckFailed(f"{call} has {len(got)} Conv2D layers; the lesson's discriminator has two, each with "
                              "stride 2.")
        for number, (g, w) in enumerate(zip(got, want, strict=True), start=1):
            if g != w:
                raise CheckFailed(
                    f"{call}: convolution {number} has kernel {g[0]}, strides {g[1]}, {g[2]} filters and padding "
                    f"'{g[3]}'; expected kernel (5, 5), strides (2, 2), {w[2]} filters (width = {width}) and "
                    "padding 'same'."
                )
        acts = _activation_names(model)
        if acts and acts[-1] == "sigmoid":
            raise CheckFailed(f"{call} ends with a sigmoid. The discriminator returns *logits*: leave the last Dense "
                              "without activation; the losses apply the sigmoid themselves (from_logits).")
        if "relu" in acts or acts.count("leaky_relu") < 2:
            raise CheckFailed(f"{call} has the activations {acts}; the DCGAN discriminator uses LeakyReLU (slope 0.2) "
                              "after each convolution, never plain ReLU, so that it always passes a gradient back.")
        slopes = [float(layer.negative_slope) for layer in _layers_of(model, "LeakyReLU")]
        if any(not np.isclose(slope, 0.2) for slope in slopes):
            raise CheckFailed(f"{call} has LeakyReLU slopes {slopes}; the DCGAN paper uses 0.2.")
        if _layers_of(model, "BatchNormalization"):
            raise CheckFailed(f"{call} has batch norm; the lesson's discriminator, like TensorFlow's DCGAN tutorial, "
                              "has none.")
        rates = [float(layer.rate) for layer in _layers_of(model, "Dropout")]
        if len(rates) != 2 or any(not np.isclose(rate, 0.3) for rate in rates):
            raise CheckFailed(f"{call} has dropout rates {rates}; the lesson's discriminator has Dropout(0.3) after "
                              "each LeakyReLU.")
        loud = np.asarray(_to_numpy(model(images * 1e3, training=False)))
        if np.all((loud >= 0.0) & (loud <= 1.0)):
            raise CheckFailed(f"{call} keeps its outputs in [0, 1] even for very bright images: it returns "
                              "probabilities. Return logits (no activation on the last Dense).")
        _check_spread(model, call)
        expected = gan.build_discriminator(width=width, image_shape=image_shape).count_params()
        if model.count_params() != expected:
            raise CheckFailed(f"{call} has {model.count_params():,} parameters; the lesson's discriminator has "
                              f"{expected:,}. Compare model.summary() with the layers listed in the exercise.")
    _passed(name, 2)


# --------------------------------------------------------------------------- the second broken train step, repaired


def _dcgan_pair(seed: int) -> Any:
    """A builder of identical small DCGAN networks (12x12 grey images, Glorot weights, no dropout)."""
    from course_utils import gan

    def build() -> tuple[Any, Any]:
        generator = gan.build_generator(latent_dim=6, width=4, image_shape=(12, 12, 1), init_std=None, seed=seed)
        discriminator = gan.build_discriminator(width=4, image_shape=(12, 12, 1), init_std=None, dropout=0.0,
                                                seed=seed + 1)
        return generator, discriminator

    return build


def _real_term_on_fakes(build: Any, noise: Any) -> np.ndarray:
    """How far D moves when its loss compares the *fake* logits with both labels (a catalogued mistake)."""
    import tensorflow as tf

    from course_utils.checks import steps

    generator, discriminator = build()
    before = steps.weights(discriminator)
    with tf.GradientTape() as tape:
        fake_logits = discriminator(generator(noise, training=True), training=True)
        wrong = tf.reduce_mean(tf.nn.softplus(-fake_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
    variables = discriminator.trainable_variables
    steps.sgd().apply_gradients(zip(tape.gradient(wrong, variables), variables))
    return steps.delta(discriminator, before)


def check_repaired_step(fn: Any) -> None:
    """Lesson 05: ``fn(generator, discriminator, g_optimizer, d_optimizer)`` returns ``step(images, noise)`` that
    updates both networks simultaneously from one forward pass and returns (g_loss, d_loss), as the lesson's fixed
    step; the check reports the first bug of the exercise's broken step still there."""
    from course_utils.checks import steps

    name = "make_repaired_step"
    _require_function(fn, name)
    build = _dcgan_pair(seed=3)
    rng = np.random.default_rng(3)
    images = rng.uniform(-1.0, 1.0, (6, 12, 12, 1)).astype(np.float32)
    noise = rng.standard_normal((6, 6)).astype(np.float32)
    generator, discriminator = build()
    g_before, d_before = steps.weights(generator), steps.weights(discriminator)
    params = ("generator", "discriminator", "g_optimizer", "d_optimizer")
    step = _call(fn, (generator, discriminator, steps.sgd(), steps.sgd()), name, params)
    if not callable(step):
        raise CheckFailed(f"`{name}(...)` returned {_show(step)}; it should return the train step function.")
    out = _call(step, (images, noise), "the repaired step", ("images", "noise"))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"The repaired step returned {_show(out)}; it should return (g_loss, d_loss).")
    losses = [np.asarray(_to_numpy(v)) for v in out]
    if any(not np.issubdtype(v.dtype, np.number) or v.size != 1 for v in losses):
        raise CheckFailed(f"The repaired step returned {_show(out)}; g_loss and d_loss should be one number each.")
    g_loss, d_loss = (float(v.reshape(())) for v in losses)
    moving = [layer.moving_mean for layer in generator.layers if type(layer).__name__ == "BatchNormalization"]
    if moving and all(np.allclose(np.asarray(w.numpy()), 0.0) for w in moving):
        raise CheckFailed("Bug still there: the generator runs with training=False inside the train step, so batch "
                          "norm uses its (untrained) running statistics instead of the batch's, and never updates "
                          "them. Call the networks with training=True while training.")
    d_delta, g_delta = steps.delta(discriminator, d_before), steps.delta(generator, g_before)
    right = steps.reference(build, images, noise, noise, loss="non-saturating")  # D's update is the same
    frozen = steps.reference(build, images, noise, noise, loss="non-saturating", d_learning_rate=0.0)
    if not steps.close(d_delta, right.d_delta):
        if steps.close(d_delta, _real_term_on_fakes(build, noise)):
            hint = ("Bug still there: the 'real' term of the discriminator's loss is computed on fake_logits. "
                    "Compare real_logits with ones and fake_logits with zeros.")
        elif np.allclose(d_delta, 0.0, atol=1e-12):
            hint = "The discriminator did not move: apply d_optimizer to d_grads and D's variables."
        else:
            hint = ("The discriminator's update differs from the lesson's fixed step: its loss is the mean BCE of the "
                    "real logits against 1 plus the mean BCE of the fake logits against 0, its gradients are taken "
                    "with d_tape with respect to discriminator.trainable_variables, and d_optimizer applies them.")
        raise CheckFailed(hint)
    if not steps.close(g_delta, frozen.g_delta):
        saturating = steps.reference(build, images, noise, noise, loss="saturating", d_learning_rate=0.0)
        if steps.close(g_delta, -saturating.g_delta):
            hint = ("Bug still there: the generator's loss compares fake_logits with zeros, which trains G to make "
                    "D say 'fake'. The generator wants D to say 'real': use tf.ones_like(fake_logits).")
        elif steps.close(g_delta, right.g_delta):
            hint = ("The generator was updated against the discriminator after its update (an alternating step). "
                    "This exercise repairs the simultaneous step: both gradients come from the one forward pass.")
        elif np.allclose(g_delta, 0.0, atol=1e-12):
            hint = "The generator did not move: apply g_optimizer to g_grads and G's variables."
        else:
            hint = ("The generator's update differs from the lesson's fixed step: its loss is the BCE of the fake "
                    "logits against 1, differentiated with g_tape with respect to generator.trainable_variables.")
        raise CheckFailed(hint)
    for label, value, expected in (("g_loss", g_loss, frozen.g_loss), ("d_loss", d_loss, right.d_loss)):
        if not np.isclose(value, expected, rtol=1e-4, atol=1e-5):
            raise CheckFailed(f"Both updates are right, but the step returns {label} = {value:.6g}; the lesson's "
                              f"fixed step gives {expected:.6g}. Return (g_loss, d_loss) in that order.")
    _passed(name, 1)


def check_checkerboard_experiment(shares: Any, samples: Any, conclusion: Any, *, n_samples: int) -> None:
    """Lesson 05's experiment: ``shares[kernel]`` holds the mean checkerboard share of a generator's samples
    ``"before"`` and ``"after"`` training, ``samples[kernel]`` the ``n_samples`` images it drew after, for
    kernels 4 and 5; ``conclusion`` is the kernel whose trained generator drew the stronger checkerboard."""
    from course_utils import gan

    kernels = (4, 5)
    if not isinstance(shares, dict) or sorted(shares) != list(kernels):
        raise CheckFailed(f"`shares` must be a dict with the keys 4 and 5 (one per kernel); got {_show(shares)}.")
    if not isinstance(samples, dict) or sorted(samples) != list(kernels):
        raise CheckFailed(f"`samples` must be a dict with the keys 4 and 5 (one per kernel); got {_show(samples)}.")
    first, second = (np.asarray(_to_numpy(samples[k])) for k in kernels)
    if first.shape == second.shape and first.dtype != object and np.allclose(first, second):
        raise CheckFailed("The two kernels' samples are identical: build each run's generator with its own kernel.")
    for kernel in kernels:
        entry = shares[kernel]
        if not isinstance(entry, dict) or set(entry) != {"before", "after"}:
            raise CheckFailed(f'`shares[{kernel}]` must be {{"before": number, "after": number}}; got {_show(entry)}.')
        for when, value in entry.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
                raise CheckFailed(
                    f'`shares[{kernel}]["{when}"]` must be one number in [0, 1] (a mean share, a float); got '
                    f"{_show(value)}. Take `float(gan.checkerboard_share(images).mean())`."
                )
        try:
            images = np.asarray(_to_numpy(samples[kernel]), dtype=np.float64)
        except (TypeError, ValueError):
            images = np.zeros(0)
        if images.shape != (n_samples, 28, 28, 1):
            raise CheckFailed(
                f"`samples[{kernel}]` must be the {n_samples} digits the trained generator drew from `probe`, shaped "
                f"({n_samples}, 28, 28, 1); got {_show(samples[kernel])}."
            )
        if not np.all(np.isfinite(images)) or images.min() < -1 - 1e-5 or images.max() > 1 + 1e-5:
            raise CheckFailed(
                f"`samples[{kernel}]` must hold the generator's outputs, finite and in [-1, 1] (its tanh); got values "
                f"in [{np.nanmin(images):.3g}, {np.nanmax(images):.3g}]."
            )
        measured = float(gan.checkerboard_share(images).mean())
        if not np.isclose(entry["after"], measured, rtol=1e-3, atol=1e-6):
            raise CheckFailed(
                f'`shares[{kernel}]["after"]` is {entry["after"]:.5g}, but `gan.checkerboard_share` of '
                f"`samples[{kernel}]` gives {measured:.5g} on average. Measure the same images you store: draw them "
                "once from `probe` after training (training=False) and score those."
            )
        if np.isclose(entry["before"], entry["after"], rtol=1e-6, atol=1e-9):
            raise CheckFailed(
                f"For kernel {kernel} the share did not change with training ({entry['before']:.5g} before and "
                "after). Did the run train: does your loop call the train step on the real batches, and did you "
                "measure before the first step and after the last?"
            )
    answer = conclusion
    if isinstance(answer, bool) or answer not in kernels:
        raise CheckFailed(f"`conclusion` must be the kernel 4 or 5 (a number); got {_show(conclusion)}.")
    stronger = max(kernels, key=lambda k: shares[k]["after"])
    if answer != stronger and not np.isclose(shares[4]["after"], shares[5]["after"], rtol=1e-3):
        raise CheckFailed(
            f"Your numbers say otherwise: after training the checkerboard share is {shares[4]['after']:.4g} with "
            f"kernel 4 and {shares[5]['after']:.4g} with kernel 5, so kernel {stronger} drew the stronger "
            "checkerboard. Read the conclusion from your own measurements."
        )
    print(
        f"✔ conclusion follows from your measurements: checkerboard share after training {shares[4]['after']:.3g} "
        f"(kernel 4) and {shares[5]['after']:.3g} (kernel 5)."
    )
