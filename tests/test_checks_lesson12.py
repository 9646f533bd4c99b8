"""The lesson-12 checks reject the stub and the usual mistakes with a targeted hint, and accept the solution."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def stub(*args):
    raise NotImplementedError


def loss(generated, images, masks):
    known = np.broadcast_to(masks, images.shape)
    return (known * (generated - images) ** 2).sum(axis=(1, 2, 3)) / known.sum(axis=(1, 2, 3))


def test_masked_reconstruction_loss_accepts_the_solution(capsys):
    checks.check_masked_reconstruction_loss(loss)
    assert "passes all 3 checks" in capsys.readouterr().out


def test_masked_reconstruction_loss_accepts_a_tensorflow_answer(capsys):
    import tensorflow as tf

    def tf_loss(generated, images, masks):
        known = tf.broadcast_to(tf.constant(masks), images.shape)
        return tf.reduce_sum(known * (generated - images) ** 2, axis=(1, 2, 3)) / tf.reduce_sum(known, axis=(1, 2, 3))

    checks.check_masked_reconstruction_loss(tf_loss)
    assert "passes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (lambda g, x, m: loss(g, x, 1 - m + (m.sum() == m.size)), "HOLE"),
        (lambda g, x, m: ((g - x) ** 2).mean(axis=(1, 2, 3)), "every pixel counts"),
        (lambda g, x, m: (m * (g - x) ** 2).mean(axis=(1, 2, 3)), "number of KNOWN entries"),
        (lambda g, x, m: (m * np.abs(g - x)).sum(axis=(1, 2, 3)) / np.broadcast_to(m, x.shape).sum(axis=(1, 2, 3)),
         "SQUARED"),
        (lambda g, x, m: (m * (g - x) ** 2).sum(axis=(1, 2, 3)) / m.sum(axis=(1, 2, 3)), "over the channels"),
        (lambda g, x, m: float(loss(g, x, m).mean()), "one number per image"),
        (lambda g, x, m: loss(g, x, m) + 0.1, "sum\\(m"),
    ],
)
def test_masked_reconstruction_loss_rejects_mistakes(wrong, hint):
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(CheckFailed, match=hint):
        checks.check_masked_reconstruction_loss(wrong)


def blend(images, masks, generated):
    return masks * images + (1 - masks) * generated


def test_latent_blend_accepts_the_solution(capsys):
    checks.check_latent_blend(blend)
    assert "passes all 2 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda x, m, g: blend(x, 1 - m, g), "swapped"),
        (lambda x, m, g: g, "G\\(z\\) everywhere"),
        (lambda x, m, g: m * x, "damaged image"),
        (lambda x, m, g: (1 - m) * g, "known pixels are lost"),
        (lambda x, m, g: blend(x, m, g)[..., :1], "shaped"),
        (lambda x, m, g: blend(x, m, g) * 0.9, "are NOT"),
    ],
)
def test_latent_blend_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_latent_blend(wrong)
