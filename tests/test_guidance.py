"""Classifier-free guidance (lesson 14): label dropout, balanced labels, the guidance widget."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import guidance, profiles, sampling  # noqa: E402


def test_drop_labels_rate_and_kept_labels() -> None:
    labels = np.arange(20_000) % 10
    out = guidance.drop_labels(labels, 0.1, 10, seed=0).numpy()
    dropped = out == 10
    assert abs(dropped.mean() - 0.1) < 4 * np.sqrt(0.1 * 0.9 / len(labels))
    np.testing.assert_array_equal(out[~dropped], labels[~dropped])
    assert np.all(guidance.drop_labels(labels, 0.0, 10, seed=0).numpy() == labels)
    assert np.all(guidance.drop_labels(labels, 1.0, 10, seed=0).numpy() == 10)
    with pytest.raises(ValueError, match="probability"):
        guidance.drop_labels(labels, 1.5, 10)


def test_guided_mix_at_zero_one_and_beyond() -> None:
    rng = np.random.default_rng(0)
    uncond, cond = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(sampling.guided(uncond, cond, 0.0), uncond, rtol=1e-6)
    np.testing.assert_allclose(sampling.guided(uncond, cond, 1.0), cond, rtol=1e-6)
    np.testing.assert_allclose(sampling.guided(uncond, cond, 4.0), uncond + 4 * (cond - uncond), rtol=1e-5, atol=1e-5)


def test_balanced_labels() -> None:
    labels = guidance.balanced_labels(25)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels), [3] * 5 + [2] * 5)


def test_explorer_follows_its_controls_and_caches() -> None:
    calls = []

    def generate(digit, scale):
        calls.append((digit, scale))
        return np.full((3, 8, 8, 1), digit / 10 + scale / 100, np.float32)

    explorer = guidance.GuidanceExplorer(generate, scales=(0.0, 1.0, 3.0), judge=lambda x: np.zeros(len(x)))
    assert calls == [(0, 1.0)]
    explorer.digit.value = 7
    explorer.scale.value = 3.0
    np.testing.assert_allclose(explorer.images, 0.73, rtol=1e-6)
    explorer.scale.value = 1.0  # (7, 1.0) was drawn already
    explorer.digit.value = 0  # and so was (0, 1.0)
    assert calls == [(0, 1.0), (7, 1.0), (7, 3.0)]
    assert explorer.png().startswith(b"\x89PNG")


def test_every_profile_has_the_conditional_knob() -> None:
    for profile in profiles.PROFILES.values():
        assert profile.conditional_steps > 0
