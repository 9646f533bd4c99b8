"""Lesson 04's exercise checks reject the stub and classic mistakes, with hints, and accept right answers."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed

tf = pytest.importorskip("tensorflow")


def stub(*args):
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
