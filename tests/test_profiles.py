"""The run profiles: one object of knobs, chosen by name, environment or hardware."""

import dataclasses

import pytest

from course_utils.profiles import ENV_VAR, PROFILES, Profile, get_profile


def test_three_profiles_share_every_knob():
    assert set(PROFILES) == {"smoke", "cpu", "gpu"}
    for name, profile in PROFILES.items():
        assert isinstance(profile, Profile)
        assert profile.name == name


def test_profiles_grow_from_smoke_to_gpu():
    smoke, cpu, gpu = PROFILES["smoke"], PROFILES["cpu"], PROFILES["gpu"]
    for knob in ("n_train", "n_test", "gan_epochs", "width", "n_eval", "toy_steps"):
        assert getattr(smoke, knob) <= getattr(cpu, knob) <= getattr(gpu, knob), knob
    assert smoke.max_steps is not None and smoke.max_steps <= 10
    assert cpu.max_steps is None and gpu.max_steps is None


def test_explicit_name_wins_over_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert get_profile("smoke").name == "smoke"


def test_environment_variable_is_read_case_insensitively(monkeypatch):
    monkeypatch.setenv(ENV_VAR, " GPU ")
    assert get_profile(gpu_available=False).name == "gpu"


@pytest.mark.parametrize("gpu, expected", [(True, "gpu"), (False, "cpu")])
def test_auto_detection_follows_the_hardware(monkeypatch, gpu, expected):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert get_profile(gpu_available=gpu).name == expected


def test_unknown_profile_from_environment_names_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ValueError) as info:
        get_profile(gpu_available=False)
    message = str(info.value)
    assert "'fast'" in message and ENV_VAR in message
    assert all(repr(name) in message for name in PROFILES)


def test_unknown_profile_name_says_so():
    with pytest.raises(ValueError, match="profile name"):
        get_profile("laptop")


def test_replace_changes_a_knob_and_rejects_unknown_ones():
    smoke = PROFILES["smoke"]
    assert smoke.replace(gan_epochs=3).gan_epochs == 3
    assert smoke.gan_epochs == 1  # profiles are immutable
    with pytest.raises(ValueError, match="no knob"):
        smoke.replace(epochs=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        smoke.width = 3  # type: ignore[misc]


def test_summary_lists_every_knob():
    summary = PROFILES["cpu"].summary()
    for field in dataclasses.fields(Profile):
        if field.name not in ("name", "description"):
            assert field.name in summary


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": -5}, "batch_size must be a whole number >= 1; got -5"),
        ({"gan_epochs": 2.5}, "gan_epochs must be a whole number >= 1; got 2.5"),
        ({"n_train": True}, "n_train must be a whole number >= 1; got True"),
        ({"max_steps": 0}, r"max_steps must be a whole number >= 1 or None \(no cap\); got 0"),
        ({"jit_compile": "yes"}, "jit_compile must be True or False"),
    ],
)
def test_a_knob_of_the_wrong_kind_is_refused_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        PROFILES["smoke"].replace(**change)
    assert PROFILES["smoke"].replace(max_steps=None).max_steps is None


def test_a_profile_name_that_is_not_text_is_explained():
    with pytest.raises(TypeError, match="The profile name must be text, one of 'smoke', 'cpu', 'gpu'; got 3"):
        get_profile(3)


def test_restoration_photos_keep_cifar10s_native_side_in_every_profile():
    from course_utils.datasets import CIFAR10_SIDE

    # Upscaled photos hold no more detail and make the restoration scores incomparable with work on CIFAR-10.
    for name, profile in PROFILES.items():
        assert profile.image_size == CIFAR10_SIDE, name
