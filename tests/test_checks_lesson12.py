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
        (
            lambda g, x, m: (m * np.abs(g - x)).sum(axis=(1, 2, 3)) / np.broadcast_to(m, x.shape).sum(axis=(1, 2, 3)),
            "SQUARED",
        ),
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


# --------------------------------------------------------------------------- one step of the latent search


def make_step(*, sign=1.0, mean=False, prior="right", region="known", training=False, move=True):
    """A gradient step of the latent search, right or wrong in one of the catalogued ways."""
    import tensorflow as tf

    def step(generator, z, images, masks, learning_rate, prior_weight):
        z = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(z)
            generated = generator(z, training=training)
            m = {"known": masks, "hole": 1 - masks, "all": np.ones_like(masks)}[region]
            known = tf.broadcast_to(m, images.shape)
            fit = tf.reduce_sum(known * (generated - images) ** 2, axis=(1, 2, 3)) / tf.reduce_sum(
                known, axis=(1, 2, 3)
            )
            squares = tf.reduce_sum(z**2, axis=1)
            penalty = {"right": squares / z.shape[1], "sum": squares, "norm": tf.sqrt(squares), "none": 0.0 * squares}
            objective = fit + prior_weight * penalty[prior]
            total = tf.reduce_mean(objective) if mean else tf.reduce_sum(objective)
        gradient = tape.gradient(total, z)
        return (z - sign * learning_rate * gradient if move else z).numpy(), objective.numpy()

    return step


def test_latent_gradient_step_accepts_the_solution(capsys):
    checks.check_latent_gradient_step(make_step())
    assert "passes all 3 checks" in capsys.readouterr().out


def test_latent_gradient_step_without_the_prior_in_the_step_is_named():
    def step(generator, z, images, masks, learning_rate, prior_weight):
        z_new, objective = make_step()(generator, z, images, masks, learning_rate, 0.0)
        return z_new, make_step()(generator, z, images, masks, learning_rate, prior_weight)[1]

    with pytest.raises(CheckFailed, match="ignores the prior"):
        checks.check_latent_gradient_step(step)


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (make_step(sign=-1.0), "uphill"),
        (make_step(mean=True), "N times too small"),
        (make_step(move=False), "did not move"),
        (make_step(prior="sum"), "divide the squared norm"),
        (make_step(prior="norm"), "not the norm itself"),
        (make_step(prior="none"), "prior term is missing"),
        (make_step(region="hole"), "HOLE"),
        (make_step(region="all"), "every pixel counts"),
        (make_step(training=True), "training=False"),
        (lambda g, z, x, m, lr, w: make_step()(g, z, x, m, lr, w)[0], "pair \\(z_new, objective\\)"),
        (lambda g, z, x, m, lr, w: (make_step()(g, z, x, m, lr, w)[0], 1.0), "shaped"),
        (lambda g, z, x, m, lr, w: (z * 0.5, make_step()(g, z, x, m, lr, w)[1]), "tf.GradientTape"),
        (lambda g, z, x, m, lr, w: (z, make_step()(g, z, x, m, lr, w)[1] + 0.1), "one value per image"),
    ],
)
def test_latent_gradient_step_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_latent_gradient_step(wrong)


# --------------------------------------------------------------------------- the search-length experiment


@pytest.fixture(scope="module")
def search_problem():
    import tensorflow as tf

    from course_utils import gan

    generator = gan.build_generator(latent_dim=4, width=4, image_shape=(8, 8, 1), init_std=None, seed=5)
    targets = generator(tf.random.stateless_normal((3, 4), seed=(1, 2)), training=False).numpy()
    masks = np.ones((3, 8, 8, 1), np.float32)
    masks[:, :4] = 0
    return generator, targets, masks


def search_fn(generator, targets, masks, *, restarts=1, fixed_steps=None):
    import tensorflow as tf

    from course_utils import latent

    def search_loss(steps):
        z, _ = latent.invert_generator(
            generator, targets, masks, steps=fixed_steps or steps, prior_weight=0.01, restarts=restarts, seed=0
        )
        generated = generator(tf.constant(z), training=False).numpy()
        return {"masked_loss": float(np.mean(loss(generated, targets, masks)))}

    return search_loss


def test_search_runs_accept_a_measured_search_and_the_conclusion_follows_them(search_problem, capsys):
    runs = checks.check_search_runs(search_fn(*search_problem), (1, 4, 8), *search_problem)
    assert sorted(runs) == [1, 4, 8] and "passes" in capsys.readouterr().out
    counts = sorted(runs)
    losses = [runs[s]["masked_loss"] for s in counts]
    answer = {
        "lowest masked loss": counts[int(np.argmin(losses))],
        "falls with every longer search": bool(losses[1] < losses[0] and losses[2] < losses[1]),
    }
    checks.check_search_conclusion(answer, runs)
    assert "passes all 2 checks" in capsys.readouterr().out
    flipped = {**answer, "falls with every longer search": not answer["falls with every longer search"]}
    with pytest.raises(CheckFailed, match="your own numbers say otherwise"):
        checks.check_search_conclusion(flipped, runs)
    with pytest.raises(CheckFailed, match="one of"):
        checks.check_search_conclusion({**answer, "lowest masked loss": 3}, runs)
    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_search_conclusion(None, runs)


@pytest.mark.parametrize(
    "options,hint",
    [
        ({"restarts": 3}, "the search described in the exercise"),
        ({"fixed_steps": 4}, "the search described in the exercise|same masked loss"),
    ],
)
def test_search_runs_reject_another_search(search_problem, options, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_search_runs(search_fn(*search_problem, **options), (1, 4, 8), *search_problem)


def test_search_runs_reject_the_stub_and_odd_results(search_problem):
    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_search_runs(stub, (1, 4), *search_problem)
    with pytest.raises(CheckFailed, match="measured value"):
        checks.check_search_runs(lambda steps: {"masked_loss": -1.0}, (1, 4), *search_problem)
    with pytest.raises(CheckFailed, match="keys"):
        checks.check_search_runs(lambda steps: 0.1, (1, 4), *search_problem)


def test_search_runs_accept_a_search_that_cannot_improve(search_problem, capsys):
    """A barely trained generator may leave the loss where it started: equal losses are then the right answer."""
    import keras

    generator, targets, masks = search_problem
    flat = keras.Sequential([keras.Input((4,)), keras.layers.Dense(64, kernel_initializer="zeros"),
                             keras.layers.Reshape((8, 8, 1)), keras.layers.Activation("tanh")])
    runs = checks.check_search_runs(search_fn(flat, targets, masks), (1, 4, 8), flat, targets, masks)
    assert len({run["masked_loss"] for run in runs.values()}) == 1 and "passes" in capsys.readouterr().out
    checks.check_search_conclusion({"lowest masked loss": 1, "falls with every longer search": False}, runs)
