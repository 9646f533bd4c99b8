"""The lesson-11 checks reject the stub and the usual mistakes with a targeted hint, and accept the solution."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


def stub(*args):
    raise NotImplementedError


def field(layers):
    r, j = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * j
        j *= stride
    return r


def no_jump(layers):
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def stride_first(layers):
    r, j = 1, 1
    for kernel, stride in layers:
        j *= stride
        r += (kernel - 1) * j
    return r


def test_receptive_field_accepts_the_solution(capsys):
    checks.check_receptive_field(field)
    assert "passes all 7 checks" in capsys.readouterr().out


def test_receptive_field_agrees_with_the_package():
    from course_utils import adversarial

    for n_layers in (1, 2, 3, 4):
        spec = adversarial.patch_layers(n_layers)
        assert field(spec) == adversarial.receptive_field(spec)


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (no_jump, "never multiplied by the jump"),
        (stride_first, "before adding that layer"),
        (lambda layers: int(np.prod([k for k, _ in layers])), "do not multiply"),
        (lambda layers: field(layers) - 1, "start from a field of 1"),
        (lambda layers: [field(layers)] * 2, "one whole number"),
        (lambda layers: 70, "r = 1 and j = 1"),
    ],
)
def test_receptive_field_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_receptive_field(wrong)


def fill(completions, loss):
    return np.mean(completions, axis=0) if loss == "l2" else np.median(completions, axis=0)


def test_best_fill_accepts_the_solution(capsys):
    checks.check_best_fill(fill)
    assert "passes all 7 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda c, loss: np.mean(c, axis=0), "MEDIAN, not the mean"),
        (lambda c, loss: fill(c, "l1" if loss == "l2" else "l2"), "swapped the two"),
        (lambda c, loss: c[0], "one of the completions"),
        (lambda c, loss: np.mean(c), "axis=0"),
        (lambda c, loss: np.mean(c, axis=0) + 0.1, "the per-pixel mean of the completions"),
        (lambda c, loss: "mean", "array of pixel values"),
    ],
)
def test_best_fill_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_best_fill(wrong)


# --------------------------------------------------------------------------- the context-encoder losses


def softplus(x):
    return np.logaddexp(0.0, x)


def rec_loss(x, y, m, hole=6.0, valid=1.0):
    error = np.abs(y - x)
    return hole * np.mean((1 - m) * error) + valid * np.mean(m * error)


def losses(x, y, m, real, fake, w):
    g = rec_loss(x, y, m) + w * np.mean(softplus(-fake))
    d = np.mean(softplus(-real)) + np.mean(softplus(fake))
    return g, d


def test_adversarial_losses_accepts_the_solution(capsys):
    checks.check_adversarial_losses(losses)
    assert "passes all 4 checks" in capsys.readouterr().out


def test_adversarial_losses_accepts_tensorflow_answers(capsys):
    import tensorflow as tf

    def tf_losses(x, y, m, real, fake, w):
        from course_utils import inpainting

        g = inpainting.inpainting_loss(x, y, m)["loss"] + w * tf.reduce_mean(tf.nn.softplus(-fake))
        d = tf.reduce_mean(tf.nn.softplus(-real)) + tf.reduce_mean(tf.nn.softplus(fake))
        return g, d

    checks.check_adversarial_losses(tf_losses)
    assert "passes" in capsys.readouterr().out


def d_only(x, y, m, real, fake, w):
    return losses(x, y, m, real, fake, w)[1]


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (None, "not written yet"),
        (
            lambda x, y, m, r, f, w: (rec_loss(x, y, m) - w * np.mean(softplus(-f)), d_only(x, y, m, r, f, w)),
            "sign of the adversarial term",
        ),
        (
            lambda x, y, m, r, f, w: (rec_loss(x, y, m) + w * np.mean(softplus(f)), d_only(x, y, m, r, f, w)),
            "call its composites REAL",
        ),
        (
            lambda x, y, m, r, f, w: (rec_loss(x, y, m) + w * np.mean(softplus(-r)), d_only(x, y, m, r, f, w)),
            "REAL photos; it must use fake_logits",
        ),
        (
            lambda x, y, m, r, f, w: (w * rec_loss(x, y, m) + np.mean(softplus(-f)), d_only(x, y, m, r, f, w)),
            "multiplies only the adversarial term",
        ),
        (
            lambda x, y, m, r, f, w: (
                (1 - w) * rec_loss(x, y, m) + w * np.mean(softplus(-f)),
                d_only(x, y, m, r, f, w),
            ),
            "reconstruction weight at 1",
        ),
        (
            lambda x, y, m, r, f, w: (rec_loss(x, y, m) + np.mean(softplus(-f)), d_only(x, y, m, r, f, w)),
            "not added with weight 1",
        ),
        (
            lambda x, y, m, r, f, w: (w * np.mean(softplus(-f)), d_only(x, y, m, r, f, w)),
            "reconstruction loss is missing",
        ),
        (
            lambda x, y, m, r, f, w: (
                rec_loss(x, y, m, 1.0, 6.0) + w * np.mean(softplus(-f)),
                d_only(x, y, m, r, f, w),
            ),
            "hole and valid are swapped",
        ),
        (
            lambda x, y, m, r, f, w: (rec_loss(x, y, m) + w * np.sum(softplus(-f)), d_only(x, y, m, r, f, w)),
            "average the adversarial loss",
        ),
        (
            lambda x, y, m, r, f, w: (losses(x, y, m, r, f, w)[0], np.mean(softplus(r)) + np.mean(softplus(-f))),
            "labels are swapped",
        ),
        (lambda x, y, m, r, f, w: (losses(x, y, m, r, f, w)[0], d_only(x, y, m, r, f, w) / 2), "SUM of the two"),
        (lambda x, y, m, r, f, w: (losses(x, y, m, r, f, w)[0], w * d_only(x, y, m, r, f, w)), "not weighted"),
        (lambda x, y, m, r, f, w: losses(x, y, m, r, f, w)[0], "pair \\(g_loss, d_loss\\)"),
        (lambda x, y, m, r, f, w: (np.ones(2), 0.0), "one number"),
        (lambda x, y, m, r, f, w: (losses(x, y, m, r, f, w)[0] + 0.1, 0.0), "g_loss = 6"),
        (lambda x, y, m, r, f, w: (losses(x, y, m, r, f, w)[0], d_only(x, y, m, r, f, w) + 0.1), "each mean over"),
    ],
)
def test_adversarial_losses_rejects_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_adversarial_losses(wrong)


# --------------------------------------------------------------------------- the adversarial-weight experiment


def fake_run(weight, steps, *, shift=0.0, mix=True, held=None):
    """Numbers shaped like a measured run (no training: the check judges only their consistency)."""
    rng = np.random.default_rng(int(weight * 100) + 1)
    rec = 0.2 + 0.01 * rng.random(steps)
    adv = 0.7 + 0.01 * rng.random(steps)
    rec[0], adv[0] = 0.25 + shift, 0.69
    d = 1.38 + 0.01 * rng.random(steps)
    d[0] = 1.386
    g = rec + weight * adv if mix else rec + adv
    hole_l1, detail = held if held is not None else (0.05 + weight, 0.002 * (1 + weight))
    return {
        "d_loss": list(d),
        "g_loss": list(g),
        "rec_loss": list(rec),
        "adv_loss": list(adv),
        "held_out_hole_l1": hole_l1,
        "held_out_detail": detail,
    }


def test_adv_weight_runs_accept_consistent_numbers_and_the_conclusion_follows_them(capsys):
    runs = checks.check_adv_weight_runs(fake_run, (0.0, 0.1), 3)
    assert sorted(runs) == [0.0, 0.1] and "passes" in capsys.readouterr().out
    checks.check_adv_weight_conclusion({"more detail in the hole": 0.1, "lower hole L1": 0.0}, runs)
    assert "passes all 2 checks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (stub, "not written yet"),
        (lambda w, s: fake_run(w, s, mix=False), "adv_weight=adv_weight"),
        (lambda w, s: fake_run(w, s, shift=w), "did not start alike"),
        (lambda w, s: fake_run(w, s, held=(0.1, 0.01)), "exactly the same held-out numbers"),
        (lambda w, s: fake_run(w, s - 1), "one per training step"),
        (lambda w, s: {**fake_run(w, s), "held_out_detail": float("nan")}, "measured value"),
        (lambda w, s: {"g_loss": [1.0] * s}, "keys"),
    ],
)
def test_adv_weight_runs_reject_numbers_that_were_not_measured(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_adv_weight_runs(wrong, (0.0, 0.1), 3)


@pytest.mark.parametrize(
    "answer,hint",
    [
        (None, "not written yet"),
        ({"more detail in the hole": 0.0, "lower hole L1": 0.0}, "your own numbers say otherwise"),
        ({"more detail in the hole": 0.1, "lower hole L1": 0.1}, "your own numbers say otherwise"),
        ({"more detail in the hole": 0.5, "lower hole L1": 0.0}, "one of"),
        ({"more detail": 0.1}, "keys"),
    ],
)
def test_adv_weight_conclusion_must_follow_the_numbers(answer, hint):
    runs = checks.check_adv_weight_runs(fake_run, (0.0, 0.1), 3)
    with pytest.raises(CheckFailed, match=hint):
        checks.check_adv_weight_conclusion(answer, runs)
