"""Lesson 04's exercise checks reject the stub and classic mistakes, with hints, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed

tf = pytest.importorskip("tensorflow")


def stub(*args, **kwargs):
    raise NotImplementedError


# --------------------------------------------------------------------------- optimal discriminator


def d_star(p_data, p_g):
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5, dtype=float), where=total > 0)


def test_optimal_discriminator_accepts_solutions(capsys):
    checks.check_optimal_discriminator(d_star)
    checks.check_optimal_discriminator(lambda a, b: np.where(a + b > 0, a / np.where(a + b > 0, a + b, 1), 0.5))
    assert "✔ optimal_discriminator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (lambda a, b: d_star(b, a), "p_data goes on top"),
        (lambda a, b: a / b, "ratio"),
        (lambda a, b: a / (a + b), "both 0"),
        (lambda a, b: d_star(a, b) + 0.01, "wrong result"),
    ],
)
def test_optimal_discriminator_rejects_mistakes(answer, message):
    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match=message):
        checks.check_optimal_discriminator(answer)


# --------------------------------------------------------------------------- value estimate


def value(d, real, fake):
    return np.mean(np.log(d(real))) + np.mean(np.log(1 - d(fake)))


def test_value_estimate_accepts_solutions(capsys):
    checks.check_value_estimate(value)
    checks.check_value_estimate(lambda d, r, f: tf.reduce_mean(tf.math.log(d(r))) + tf.reduce_mean(
        tf.math.log(1 - d(f))))
    assert "✔ value_estimate" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (stub, "not written yet"),
        (lambda d, r, f: -value(d, r, f), "sign is flipped"),
        (lambda d, r, f: np.mean(np.log(d(r))) + np.mean(np.log(d(f))), r"log\(1 − D\(fake\)\)"),
        (lambda d, r, f: value(d, f, r), "swapped"),
        (lambda d, r, f: np.sum(np.log(d(r))) + np.sum(np.log(1 - d(f))), "summed"),
        (lambda d, r, f: np.mean(np.concatenate([np.log(d(r)), np.log(1 - d(f))])), "separately"),
        (lambda d, r, f: np.mean(d(r)) + np.mean(1 - d(f)), "logarithms are missing"),
        (lambda d, r, f: value(d, r, f) + 0.1, "wrong result"),
    ],
)
def test_value_estimate_rejects_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_value_estimate(answer)


# --------------------------------------------------------------------------- non-saturating generator loss


def ns_loss(logits):
    logits = tf.convert_to_tensor(logits, tf.float32)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(logits), logits=logits))


def test_generator_loss_accepts_solutions(capsys):
    checks.check_generator_loss_ns(ns_loss)
    checks.check_generator_loss_ns(lambda g: float(np.mean(np.logaddexp(0.0, -np.asarray(g, np.float64)))))
    assert "✔ generator_loss_ns" in capsys.readouterr().out


def naive(g):
    return -tf.reduce_mean(tf.math.log(tf.sigmoid(tf.convert_to_tensor(g, tf.float32))))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (stub, "not written yet"),
        (lambda g: -ns_loss(g), "sign is flipped"),
        (lambda g: tf.reduce_mean(tf.math.log(1 - tf.sigmoid(g))), "saturating"),
        (lambda g: tf.reduce_mean(tf.nn.softplus(g)), "label 0"),
        (lambda g: ns_loss(tf.sigmoid(g)), "already logits"),
        (lambda g: -np.mean(np.log(np.abs(g))), "as probabilities"),
        (lambda g: tf.nn.softplus(-tf.convert_to_tensor(g)), "one value per sample"),
        (naive, "stably"),
        (lambda g: ns_loss(g) * 1.01, "wrong result"),
    ],
)
def test_generator_loss_rejects_mistakes(answer, message):
    with np.errstate(all="ignore"), pytest.raises(CheckFailed, match=message):
        checks.check_generator_loss_ns(answer)


# --------------------------------------------------------------------------- one alternating step


def _d_loss(real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def _g_loss(logits, saturating):
    return -tf.reduce_mean(tf.nn.softplus(logits)) if saturating else tf.reduce_mean(tf.nn.softplus(-logits))


def make_step(*, d_sign=1.0, g_sign=1.0, flip_loss=False, simultaneous=False, g_uses_d_noise=False,
              d_uses_g_noise=False, skip_d=False, skip_g=False, d_sum=False, bad_return=False):
    """An alternating step with one chosen mistake (all off: a right answer written with Keras' BCE)."""

    def step(generator, discriminator, g_opt, d_opt, real, d_noise, g_noise, saturating=False):
        sat = saturating != flip_loss
        noise_d = g_noise if d_uses_g_noise else d_noise
        noise_g = d_noise if g_uses_d_noise else g_noise
        with tf.GradientTape() as tape:
            fake = discriminator(generator(noise_d))
            real_logits = discriminator(real)
            if d_sum:
                d_loss = tf.reduce_sum(tf.nn.softplus(-real_logits)) + tf.reduce_sum(tf.nn.softplus(fake))
            else:
                d_loss = _d_loss(real_logits, fake)
            signed_d = d_sign * d_loss
        with tf.GradientTape() as early:
            early_loss = _g_loss(discriminator(generator(noise_g)), sat)
        if simultaneous:
            g_grads = early.gradient(early_loss, generator.trainable_variables)
        if not skip_d:
            grads = tape.gradient(signed_d, discriminator.trainable_variables)
            d_opt.apply_gradients(zip(grads, discriminator.trainable_variables))
        with tf.GradientTape() as tape:
            g_loss = _g_loss(discriminator(generator(noise_g)), sat)
            signed_g = g_sign * g_loss
        if not simultaneous:
            g_grads = tape.gradient(signed_g, generator.trainable_variables)
        if not skip_g:
            g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        if bad_return:
            return d_loss
        return d_loss, (early_loss if simultaneous else g_loss)

    return step


def keras_step(generator, discriminator, g_opt, d_opt, real, d_noise, g_noise, saturating=False):
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        real_logits, fake_logits = discriminator(real), discriminator(generator(d_noise))
        d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
    d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                              discriminator.trainable_variables))
    with tf.GradientTape() as tape:
        logits = discriminator(generator(g_noise))
        g_loss = -bce(tf.zeros_like(logits), logits) if saturating else bce(tf.ones_like(logits), logits)
    g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
    return float(d_loss), float(g_loss)


def test_alternating_step_accepts_right_answers(capsys):
    checks.check_alternating_step(make_step())
    checks.check_alternating_step(keras_step)
    checks.check_alternating_step(tf.function(make_step()))
    assert capsys.readouterr().out.count("✔ alternating_step passes all 2 checks.") == 3


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (42, "should be a function"),
        (make_step(bad_return=True), r"\(d_loss, g_loss\)"),
        (make_step(skip_d=True), "discriminator's weights did not move"),
        (make_step(d_sign=-1.0), "wrong way: it must \\*ascend\\* V"),
        (make_step(d_uses_g_noise=True), "made its fakes from g_noise"),
        (make_step(d_sum=True), "the mean \\(not the sum\\)"),
        (make_step(skip_g=True), "generator's weights did not move"),
        (make_step(g_sign=-1.0), "must \\*minimise\\* its loss"),
        (make_step(flip_loss=True), "that is the saturating loss"),
        (make_step(simultaneous=True), "simultaneous"),
        (make_step(g_uses_d_noise=True), "reused d_noise"),
    ],
)
def test_alternating_step_rejects_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_alternating_step(answer)


# --------------------------------------------------------------------------- the loss experiment


def test_loss_experiment_accepts_a_conclusion_that_follows_the_numbers(capsys):
    sat, ns = [4.0, 3.99, 3.98], [4.0, 3.5, 3.0]
    checks.check_loss_experiment({"saturating": sat, "non-saturating": ns}, "non-saturating", g_steps=2)
    checks.check_loss_experiment({"saturating": ns, "non-saturating": sat}, "saturating", g_steps=2)
    tied = [4.0, 3.9, 3.5]
    checks.check_loss_experiment({"saturating": tied, "non-saturating": [4.0, 3.8, 3.5]}, "saturating", g_steps=2)
    checks.check_loss_experiment({"saturating": np.array(sat), "non-saturating": tf.constant(ns)},
                                 "non-saturating", g_steps=2)
    assert capsys.readouterr().out.count("✔ conclusion follows") == 4


@pytest.mark.parametrize(
    ("distances", "conclusion", "message"),
    [
        (None, None, "not written yet"),
        ({"saturating": [4.0, 3.9, 3.8], "non-saturating": [4.0, 3.0, 2.0]}, None, "not written yet"),
        ({"saturating": [4.0, 3.9, 3.8], "non-saturating": [4.0, 3.0, 2.0]}, "NS", "should be one of"),
        ({"sat": [4.0, 3.9, 3.8], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "keys"),
        ({"saturating": [4.0, 3.9], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "expected 3"),
        ({"saturating": [4.0, np.nan, 3.8], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "NaN"),
        ({"saturating": ["a", "b", "c"], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "list of numbers"),
        ({"saturating": [4.0, -3.9, 3.8], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "negative"),
        ({"saturating": [3.0, 2.9, 2.8], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "start at different"),
        ({"saturating": [4.0, 3.0, 2.0], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "same distances"),
        ({"saturating": [4.0, 3.9, 3.8], "non-saturating": [4.0, 3.0, 2.0]}, "saturating", "numbers say otherwise"),
        ({"saturating": [4.0, 3.0, 2.0], "non-saturating": [4.0, 3.9, 3.8]}, "non-saturating", "say otherwise"),
    ],
)
def test_loss_experiment_rejects_runs_that_do_not_support_the_conclusion(distances, conclusion, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_loss_experiment(distances, conclusion, g_steps=2)
