"""Lesson 06's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def not_written(*args: object, **kwargs: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- training_steps


def training_steps(n_images, batch_size, epochs):
    return epochs * (n_images // batch_size)


def test_training_steps_accepts_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_training_steps(training_steps)
    checks.check_training_steps(lambda n, b, e: np.int64(training_steps(n, b, e)))
    checks.check_training_steps(lambda n, b, e: float(training_steps(n, b, e)))
    assert capsys.readouterr().out.count("✔ training_steps passes all 6 checks.") == 3


def test_training_steps_reference_agrees_with_tf_data() -> None:
    tf = pytest.importorskip("tensorflow")
    from course_utils.dcgan import steps_per_run

    for n, batch, epochs in [(100, 7, 3), (64, 64, 2), (1000, 300, 2)]:
        ds = tf.data.Dataset.range(n).batch(batch, drop_remainder=True).repeat(epochs)
        assert int(ds.cardinality()) == training_steps(n, batch, epochs) == steps_per_run(n, batch, epochs)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`training_steps` is not written yet"),
        (None, "`training_steps` is not written yet"),
        (lambda n, b, e: e * math.ceil(n / b), "counts the last, smaller batch too"),
        (lambda n, b, e: e * n / b, "a step trains on one *whole* batch"),
        (lambda n, b, e: n // b, "that is one epoch"),
        (lambda n, b, e: e * n, "that counts images, not batches"),
        (lambda n, b, e: e * n // b, "in *every* epoch"),
        (lambda n, b, e: (e + 1) * (n // b), "`training_steps(20000, 128, 5)` returned int 936; expected 780"),
        (lambda n, b, e: str(e * (n // b)), "it should return one whole number of steps"),
        (lambda n, b, e: None, "it should return one whole number of steps"),
    ],
)
def test_training_steps_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_training_steps(fn)
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- fixed_noise


def fixed_noise(n, latent_dim, seed=0):
    return np.random.default_rng(seed).normal(size=(n, latent_dim)).astype(np.float32)


def test_fixed_noise_accepts_numpy_and_tensorflow_answers(capsys: pytest.CaptureFixture[str]) -> None:
    tf = pytest.importorskip("tensorflow")
    from course_utils import gan

    checks.check_fixed_noise(fixed_noise)
    checks.check_fixed_noise(lambda n, d, seed=0: tf.random.stateless_normal((n, d), seed=(seed, 0)))
    checks.check_fixed_noise(lambda n, d, seed=0: gan.sample_noise(n, d, seed=seed))
    assert capsys.readouterr().out.count("✔ fixed_noise passes all 5 checks.") == 3


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`fixed_noise` is not written yet"),
        (None, "`fixed_noise` is not written yet"),
        (lambda n, d, seed=0: None, "forget a `return` statement"),
        (lambda n, d, seed=0: np.random.normal(size=(n, d)).astype(np.float32), "gave different noise"),
        (lambda n, d, seed=0: fixed_noise(n, d, 42), "the seed argument is ignored"),
        (lambda n, d, seed=0: np.random.default_rng(seed).random((n, d)).astype(np.float32), "a uniform draw"),
        (lambda n, d, seed=0: fixed_noise(n, d, seed) * 0.5, "standard deviation 0.499"),
        (lambda n, d, seed=0: fixed_noise(n, d, seed) + 1, "mean 1.00"),
        (lambda n, d, seed=0: fixed_noise(d, n, seed), "expected (512, 64)"),
        (lambda n, d, seed=0: np.random.default_rng(seed).normal(size=(n, d)), "return float32"),
        (lambda n, d, seed=0: np.random.default_rng(seed).integers(0, 5, (n, d)), "floating point"),
        (lambda n, d, seed=0: fixed_noise(n, d, seed)[:, :, None], "shape (512, 64, 1)"),
    ],
)
def test_fixed_noise_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_fixed_noise(fn)
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- the alternating train step

tf = pytest.importorskip("tensorflow")


def make_factory(*, graph=True, simultaneous=False, flip_loss=False, no_sigmoid=False, eval_mode=False,
                 skip_d=False, keys=("d_loss", "g_loss", "d_fake")):
    """A make_alternating_train_step with one chosen mistake (all off: a right answer)."""

    def factory(generator, discriminator, g_optimizer, d_optimizer, saturating=False):
        sat = saturating != flip_loss
        bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)

        def step(real_images, d_noise, g_noise):
            with tf.GradientTape() as d_tape:
                real_logits = discriminator(real_images, training=True)
                fake_logits = discriminator(generator(d_noise, training=not eval_mode), training=True)
                d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
            with tf.GradientTape() as early_tape:
                early_logits = discriminator(generator(g_noise, training=True), training=True)
                early = -bce(tf.zeros_like(early_logits), early_logits) if sat else bce(
                    tf.ones_like(early_logits), early_logits)
            if not skip_d:
                d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
                d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
            with tf.GradientTape() as g_tape:
                logits = discriminator(generator(g_noise, training=True), training=True)
                g_loss = -bce(tf.zeros_like(logits), logits) if sat else bce(tf.ones_like(logits), logits)
            tape, loss = (early_tape, early) if simultaneous else (g_tape, g_loss)
            g_grads = tape.gradient(loss, generator.trainable_variables)
            g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
            d_fake = tf.reduce_mean(logits) if no_sigmoid else tf.reduce_mean(tf.sigmoid(logits))
            values = {"d_loss": d_loss, "g_loss": loss, "d_fake": d_fake}
            return {key: values[key] for key in keys}

        return tf.function(step) if graph else step

    return factory


def test_alternating_train_step_accepts_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_alternating_train_step(make_factory())
    assert "✔ make_alternating_train_step passes all 2 checks." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (not_written, "not written yet"),
        (None, "not written yet"),
        (lambda *a, **k: None, "returned None"),
        (make_factory(graph=False), "@tf.function"),
        (make_factory(keys=("d_loss", "g_loss")), "keys"),
        (make_factory(skip_d=True), "did not move"),
        (make_factory(eval_mode=True), "discriminator's update differs"),
        (make_factory(flip_loss=True), "that is the saturating loss"),
        (make_factory(simultaneous=True), "simultaneous"),
        (make_factory(no_sigmoid=True), "mean logit"),
    ],
)
def test_alternating_train_step_rejects_mistakes(answer, message: str) -> None:
    with pytest.raises(CheckFailed, match=message):
        checks.check_alternating_train_step(answer)


# --------------------------------------------------------------------------- the saturating-loss experiment


def losses_for(d_fake, spread=0.0):
    """Generator losses that fit the d_fake curves (every logit equal, so Jensen's bound holds with equality)."""
    return {"saturating": [float(np.log1p(-d)) - spread for d in d_fake["saturating"]],
            "non-saturating": [float(-np.log(d)) + spread for d in d_fake["non-saturating"]]}


def test_saturating_experiment_accepts_a_conclusion_that_follows_the_numbers(capsys) -> None:
    low, high = [0.5, 0.3, 0.1, 0.05], [0.5, 0.4, 0.35, 0.3]
    for d_fake, answer in (({"saturating": low, "non-saturating": high}, "non-saturating"),
                           ({"saturating": high, "non-saturating": low}, "saturating"),
                           ({"saturating": [0.5, 0.3, 0.2, 0.2], "non-saturating": [0.5, 0.4, 0.2, 0.2]}, "saturating"),
                           ({"saturating": high, "non-saturating": high}, "saturating")):
        checks.check_saturating_experiment(d_fake, losses_for(d_fake, spread=0.01), answer, steps=4)
    assert capsys.readouterr().out.count("✔ conclusion follows") == 4


GOOD = {"saturating": [0.5, 0.3, 0.1, 0.05], "non-saturating": [0.5, 0.4, 0.3, 0.3]}


@pytest.mark.parametrize(
    ("d_fake", "g_losses", "conclusion", "message"),
    [
        (None, None, None, "not written yet"),
        (GOOD, losses_for(GOOD), None, "not written yet"),
        (GOOD, None, "saturating", "not written yet"),
        ({"saturating": [0.5, 0.3, 0.1], "non-saturating": GOOD["non-saturating"]}, losses_for(GOOD), "saturating",
         "expected 4"),
        ({"saturating": [0.5, 3.0, 0.1, 0.05], "non-saturating": GOOD["non-saturating"]}, losses_for(GOOD),
         "saturating", "probability"),
        (GOOD, {"saturating": losses_for(GOOD)["non-saturating"], "non-saturating": losses_for(GOOD)["saturating"]},
         "non-saturating", "wrong signs"),
        (GOOD, {"saturating": [-0.1] * 4, "non-saturating": [0.1] * 4}, "non-saturating", "do not belong together"),
        ({"saturating": [0.4, 0.3, 0.1, 0.05], "non-saturating": GOOD["non-saturating"]},
         losses_for({"saturating": [0.4, 0.3, 0.1, 0.05], "non-saturating": GOOD["non-saturating"]}), "saturating",
         "first step"),
        (GOOD, losses_for(GOOD), "saturating", "otherwise"),
    ],
)
def test_saturating_experiment_rejects_runs_that_do_not_support_the_conclusion(d_fake, g_losses, conclusion,
                                                                               message) -> None:
    with pytest.raises(CheckFailed, match=message):
        checks.check_saturating_experiment(d_fake, g_losses, conclusion, steps=4)
