"""Lesson 06's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def not_written(*args: object) -> None:
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
