"""Lesson 03's exercise checks reject the stub and typical mistakes in plain words, and accept right answers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


# --------------------------------------------------------------------------- conv_params


def conv_params(kernel, c_in, c_out):
    return kernel * kernel * c_in * c_out + c_out


def test_conv_params_accepts_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_conv_params(conv_params)
    checks.check_conv_params(lambda k, c_in, c_out: float(conv_params(k, c_in, c_out)))
    checks.check_conv_params(lambda k, c_in, c_out: np.int64(conv_params(k, c_in, c_out)))
    assert capsys.readouterr().out.count("✔ conv_params passes all 5 checks.") == 3


def test_conv_params_formula_agrees_with_keras() -> None:
    for kernel, c_in, c_out in [(3, 1, 32), (3, 32, 64), (5, 3, 8)]:
        layer = keras.layers.Conv2D(c_out, kernel)
        layer.build((None, 28, 28, c_in))
        assert layer.count_params() == conv_params(kernel, c_in, c_out)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`conv_params` is not written yet"),
        (None, "`conv_params` is not written yet"),
        (lambda k, i, o: k * k * i * o, "counts the weights but not the biases"),
        (lambda k, i, o: k * k * o + o, "spans *all* c_in input channels"),
        (lambda k, i, o: k * i * o + o, "square the kernel size"),
        (lambda k, i, o: (k * k + 1) * i * o, "one bias per filter"),
        (lambda k, i, o: k * k * i * o + i, "`conv_params(3, 1, 32)` returned int 289; Keras counts 320."),
        (lambda k, i, o: None, "it should return one whole number"),
        (lambda k, i, o: "320", "it should return one whole number"),
    ],
)
def test_conv_params_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_conv_params(fn)
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- conv_pool_output_size


def conv_pool_output_size(size, kernel=3, pool=2):
    for _ in range(2):
        size = (size - kernel + 1) // pool
    return size


def test_conv_pool_output_size_accepts_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_conv_pool_output_size(conv_pool_output_size)
    assert "✔ conv_pool_output_size passes all 6 checks." in capsys.readouterr().out


def test_conv_pool_stored_results_agree_with_a_keras_model() -> None:
    from course_utils.checks.stored import stored

    for stored_case in stored("lesson03", "conv_pool_output_size").cases:
        size, kernel, pool = stored_case.args
        model = keras.Sequential(
            [
                keras.Input((size, size, 1)),
                keras.layers.Conv2D(1, kernel),
                keras.layers.MaxPooling2D(pool),
                keras.layers.Conv2D(1, kernel),
                keras.layers.MaxPooling2D(pool),
            ]
        )
        assert model.output_shape[1] == conv_pool_output_size(size, kernel, pool) == stored_case.expected


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`conv_pool_output_size` is not written yet"),
        (lambda s, k=3, p=2: ((s - k + 1) / p - k + 1) / p, "not a whole number of pixels"),
        (lambda s, k=3, p=2: s // (p * p), "the size with padding='same'"),
        (lambda s, k=3, p=2: s - 2 * (k - 1), "the two convolutions without the pooling"),
        (lambda s, k=3, p=2: -(-(-(-(s - k + 1) // p) - k + 1) // p), "the pooling rounds up"),
        (lambda s, k=3, p=2: ((s - k + 1) // 2 - k + 1) // 2, "case 6 of 6"),  # pool size ignored
    ],
)
def test_conv_pool_output_size_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_conv_pool_output_size(fn)
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- accuracy_from_logits


def accuracy_from_logits(logits, labels):
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


def test_accuracy_from_logits_accepts_right_answers(capsys: pytest.CaptureFixture[str]) -> None:
    import tensorflow as tf

    checks.check_accuracy_from_logits(accuracy_from_logits)
    checks.check_accuracy_from_logits(  # with TensorFlow, through a softmax: still the same answer
        lambda logits, labels: tf.reduce_mean(
            tf.cast(tf.argmax(tf.nn.softmax(logits), axis=1) == tf.cast(labels, tf.int64), tf.float32)
        )
    )
    assert capsys.readouterr().out.count("✔ accuracy_from_logits passes all 9 checks.") == 2


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`accuracy_from_logits` is not written yet"),
        (lambda logits, labels: np.sum(np.argmax(logits, axis=1) == labels), "divide by the number of images"),
        (lambda logits, labels: np.mean(np.argmin(logits, axis=1) == labels), "the *largest* logit"),
        (lambda logits, labels: np.argmax(logits, axis=1) == labels, "it should return one number"),
        (lambda logits, labels: np.mean(np.argmax(logits, axis=0) == labels), "raised ValueError"),
        (lambda logits, labels: np.mean(np.argmax(logits, axis=0) == labels[: logits.shape[1]]), "case"),
    ],
)
def test_accuracy_from_logits_rejects_mistakes(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_accuracy_from_logits(fn)
    assert expected in str(caught.value)
