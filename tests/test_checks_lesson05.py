"""Lesson 05's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import checks, conv
from course_utils.checks import CheckFailed


def not_written(*args: object, **kwargs: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- discriminator loss

BCE = keras.losses.BinaryCrossentropy(from_logits=True)


def d_loss(real, fake):
    return BCE(tf.ones_like(real), real) + BCE(tf.zeros_like(fake), fake)


def d_loss_nn(real, fake):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(real), real)) + tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(fake), fake)
    )


def test_discriminator_loss_accepts_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_discriminator_loss(d_loss)
    checks.check_discriminator_loss(d_loss_nn)
    checks.check_discriminator_loss(lambda r, f: float(d_loss(r, f)))
    assert capsys.readouterr().out.count("✔ my_discriminator_loss passes all 4 checks.") == 3


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (not_written, "not written yet"),
        (None, "not written yet"),
        (lambda r, f: d_loss(tf.sigmoid(r), tf.sigmoid(f)), "double sigmoid"),
        (
            lambda r, f: keras.losses.BinaryCrossentropy()(tf.ones_like(r), r)
            + keras.losses.BinaryCrossentropy()(tf.zeros_like(f), f),
            "from_logits=True",
        ),
        (lambda r, f: d_loss(f, r), "swapped"),
        (lambda r, f: BCE(tf.ones_like(r), r), "only the real term"),
        (lambda r, f: d_loss(r, f) / 2, "averaged"),
        (lambda r, f: BCE(tf.ones_like(r), r) + BCE(tf.ones_like(f), f), "both terms use label 1"),
        (
            lambda r, f: tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(r), r)
            + tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(f), f),
            "one number",
        ),
        (lambda r, f: d_loss(r, f) + 0.1, "gan.discriminator_loss gives"),
        (lambda r, f: None, "return"),
    ],
)
def test_discriminator_loss_rejects_mistakes(fn, words: str) -> None:
    with pytest.raises(CheckFailed) as info:
        checks.check_discriminator_loss(fn)
    assert words in str(info.value), str(info.value)


def test_swapped_labels_are_told_apart_from_others() -> None:
    with pytest.raises(CheckFailed) as info:
        checks.check_discriminator_loss(lambda r, f: BCE(tf.zeros_like(r), r) + BCE(tf.ones_like(f), f))
    assert "swapped" in str(info.value)


# --------------------------------------------------------------------------- generator output side


def side_solution(side, layers):
    for kernel, stride, padding in layers:
        side = side * stride if padding == "same" else (side - 1) * stride + max(kernel, stride)
    return side


def test_reference_agrees_with_keras() -> None:
    for side, layers in [(7, [(5, 1, "same"), (5, 2, "same"), (5, 2, "same")]), (5, [(2, 3, "valid"), (5, 2, "same")])]:
        x = keras.Input((side, side, 1))
        y = x
        for kernel, stride, padding in layers:
            y = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)(y)
        expected = side
        for kernel, stride, padding in layers:
            expected = conv.transposed_output_size(expected, kernel, stride=stride, padding=padding)
        assert y.shape[1] == expected == side_solution(side, layers)


def test_generator_output_side_accepts_solution(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_generator_output_side(side_solution)
    checks.check_generator_output_side(lambda s, layers: np.int64(side_solution(s, layers)))
    assert capsys.readouterr().out.count("✔ generator_output_side passes all 6 checks.") == 2


def _shrinking(side, layers):
    for kernel, stride, padding in layers:
        side = conv.conv_output_size(side, kernel, stride=stride, padding=padding)
    return side


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (not_written, "not written yet"),
        (_shrinking, "multiplies"),
        (lambda s, layers: s * int(np.prod([stride for _, stride, _ in layers])), "(side - 1) * stride + max"),
        (
            lambda s, layers: [s := (s * st if p == "same" else (s - 1) * st + k) for k, st, p in layers][-1],
            "max(kernel, stride)",
        ),
        (lambda s, layers: s, "update `side`"),
        (lambda s, layers: str(side_solution(s, layers)), "whole number"),
        (lambda s, layers: side_solution(s, layers) + 1, "Keras gives"),
    ],
)
def test_generator_output_side_rejects_mistakes(fn, words: str) -> None:
    with pytest.raises(CheckFailed) as info:
        checks.check_generator_output_side(fn)
    assert words in str(info.value), str(info.value)


# --------------------------------------------------------------------------- the DCGAN networks

keras = pytest.importorskip("keras")
L = keras.layers


def _normal(std=0.02):
    return keras.initializers.RandomNormal(stddev=std)


def make_generator(*, bias=False, last="tanh", act="relu", strides=(1, 2, 2), kernel=5, bn=True, std=0.02,
                   pool=False):
    """A generator builder with one chosen mistake (all defaults: right)."""

    def build(latent_dim, width, image_shape):
        h, w, c = image_shape
        act_layer = L.ReLU if act == "relu" else (lambda: L.LeakyReLU(0.2))
        norm = (lambda: [L.BatchNormalization()]) if bn else (lambda: [])
        start = h // 4 if strides[0] == 1 else h // 8
        body = [keras.Input((latent_dim,)), L.Dense(start * start * 4 * width, use_bias=bias,
                                                    kernel_initializer=_normal(std)),
                *norm(), act_layer(), L.Reshape((start, start, 4 * width))]
        for filters, stride in ((2 * width, strides[0]), (width, strides[1])):
            body += [L.Conv2DTranspose(filters, kernel, strides=stride, padding="same", use_bias=bias,
                                       kernel_initializer=_normal(std)), *norm(), act_layer()]
        if pool:
            body += [L.MaxPooling2D(1)]
        body += [L.Conv2DTranspose(c, kernel, strides=strides[2], padding="same", kernel_initializer=_normal(std),
                                   activation=last)]
        return keras.Sequential(body)

    return build


def make_discriminator(*, last=None, act="leaky", bn=False, dropout=0.3, std=0.02, filters=(1, 2), pool=False,
                       flatten=True):
    """A discriminator builder with one chosen mistake (all defaults: right)."""

    def build(width, image_shape):
        act_layer = (lambda: L.LeakyReLU(0.2)) if act == "leaky" else (
            L.ReLU if act == "relu" else (lambda: L.LeakyReLU(0.01)))
        body = [keras.Input(tuple(image_shape))]
        for factor in filters:
            body += [L.Conv2D(factor * width, 5, strides=2, padding="same", kernel_initializer=_normal(std))]
            body += [L.BatchNormalization()] if bn else []
            body += [act_layer()] + ([L.Dropout(dropout)] if dropout else [])
        body += [L.MaxPooling2D(2)] if pool else []
        body += [L.Flatten()] if flatten else []
        body += [L.Dense(1, kernel_initializer=_normal(std), activation=last)]
        return keras.Sequential(body)

    return build


def test_dcgan_generator_accepts_a_right_answer(capsys):
    checks.check_dcgan_generator(make_generator())
    assert "✔ build_my_generator passes all 2 checks." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "not written yet"),
        (lambda **k: None, "returned None"),
        (lambda **k: 3, "should return a keras.Model"),
        (make_generator(pool=True), "no pooling"),
        (not_written, "not written yet"),
        (make_generator(strides=(2, 2, 2)), "expected \\(5, 28, 28, 1\\)"),
        (make_generator(kernel=4), "kernel \\(4, 4\\)"),
        (make_generator(last="sigmoid"), "\\[0, 1\\]"),
        (make_generator(last=None), "does not end with tanh"),
        (make_generator(act="leaky"), "ReLU in the generator"),
        (make_generator(bn=False), "BatchNormalization"),
        (make_generator(std=0.2), "N\\(0, 0.02\\)"),
        (make_generator(bias=True), "biases of the layers before batch norm"),
    ],
)
def test_dcgan_generator_rejects_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_dcgan_generator(answer)


def test_dcgan_discriminator_accepts_a_right_answer(capsys):
    checks.check_dcgan_discriminator(make_discriminator())
    assert "✔ build_my_discriminator passes all 2 checks." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "not written yet"),
        (not_written, "not written yet"),
        (make_discriminator(pool=True), "no pooling"),
        (make_discriminator(flatten=False), "expected \\(5, 1\\)"),
        (make_discriminator(filters=(1, 1)), "expected kernel \\(5, 5\\), strides \\(2, 2\\), 8 filters"),
        (make_discriminator(last="sigmoid"), "logits"),
        (make_discriminator(act="relu"), "LeakyReLU"),
        (make_discriminator(act="small"), "slopes"),
        (make_discriminator(bn=True), "batch norm"),
        (make_discriminator(dropout=0), "Dropout\\(0.3\\)"),
        (make_discriminator(std=0.05), "N\\(0, 0.02\\)"),
    ],
)
def test_dcgan_discriminator_rejects_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_dcgan_discriminator(answer)


# --------------------------------------------------------------------------- the broken step, repaired


def make_step_factory(*, inference=False, fake_label=False, real_on_fakes=False, alternating=False, swap=False):
    """A simultaneous DCGAN step factory with the chosen bugs (none: a right repair)."""

    def factory(generator, discriminator, g_optimizer, d_optimizer):
        bce = keras.losses.BinaryCrossentropy(from_logits=True)

        def step(images, noise):
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fakes = generator(noise, training=not inference)
                real_out, fake_out = discriminator(images, training=True), discriminator(fakes, training=True)
                g_loss = bce(tf.zeros_like(fake_out) if fake_label else tf.ones_like(fake_out), fake_out)
                d_loss = bce(tf.ones_like(real_out), fake_out if real_on_fakes else real_out) + bce(
                    tf.zeros_like(fake_out), fake_out)
            d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
            if alternating:
                with tf.GradientTape() as g_tape:
                    logits = discriminator(generator(noise, training=True), training=True)
                    g_loss = bce(tf.ones_like(logits), logits)
            g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
            g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
            return (d_loss, g_loss) if swap else (g_loss, d_loss)

        return step

    return factory


def test_repaired_step_accepts_a_right_repair(capsys):
    checks.check_repaired_step(make_step_factory())
    checks.check_repaired_step(lambda *a: tf.function(make_step_factory()(*a)))
    assert capsys.readouterr().out.count("✔ make_repaired_step passes the check.") == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "not written yet"),
        (not_written, "not written yet"),
        (make_step_factory(inference=True, fake_label=True, real_on_fakes=True), "training=False"),
        (make_step_factory(fake_label=True, real_on_fakes=True), "computed on fake_logits"),
        (make_step_factory(fake_label=True), "compares fake_logits with zeros"),
        (make_step_factory(alternating=True), "alternating"),
        (make_step_factory(swap=True), "\\(g_loss, d_loss\\)"),
    ],
)
def test_repaired_step_names_the_first_bug_left(answer, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_repaired_step(answer)


# --------------------------------------------------------------------------- the checkerboard experiment


def _checkerboard_runs(n: int = 6):
    """Samples of two 'generators': smooth digits-like blobs, one with a faint checkerboard added."""
    from course_utils import gan

    rng = np.random.default_rng(0)
    i, j = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    smooth = np.tanh(rng.normal(size=(n, 1, 1, 1)) + np.sin(i / 5.0)[None, ..., None])
    board = 0.2 * ((-1.0) ** (i + j))[None, ..., None]
    samples = {4: smooth.astype(np.float32), 5: np.clip(smooth + board, -1, 1).astype(np.float32)}
    shares = {k: {"before": 0.3, "after": float(gan.checkerboard_share(v).mean())} for k, v in samples.items()}
    return shares, samples


def test_checkerboard_experiment_accepts_measured_numbers_and_their_conclusion(capsys):
    shares, samples = _checkerboard_runs()
    checks.check_checkerboard_experiment(shares, samples, 5, n_samples=6)
    assert "conclusion follows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        (lambda s, x: (s, x, 4), "Your numbers say otherwise"),
        (lambda s, x: ({**s, 4: {"before": 0.3, "after": 0.5}}, x, 5), "Measure the same images"),
        (lambda s, x: ({**s, 5: {"before": s[5]["after"], "after": s[5]["after"]}}, x, 5), "did not change"),
        (lambda s, x: (s, {**x, 4: x[4][:3]}, 5), "shaped"),
        (lambda s, x: (s, {**x, 4: x[4] * 3}, 5), r"in \[-1, 1\]"),
        (lambda s, x: (s, {4: x[5], 5: x[5]}, 5), "identical"),
        (lambda s, x: ({4: s[4]}, x, 5), "keys 4 and 5"),
        (lambda s, x: (s, x, "5"), "the kernel 4 or 5"),
        (lambda s, x: ({**s, 4: {"after": 0.1}}, x, 5), '"before": number'),
    ],
)
def test_checkerboard_experiment_names_the_mistake(change, hint):
    shares, samples = _checkerboard_runs()
    with pytest.raises(checks.CheckFailed, match=hint):
        checks.check_checkerboard_experiment(*change(shares, samples), n_samples=6)
