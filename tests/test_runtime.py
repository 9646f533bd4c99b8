"""setup(): profile choice, seeding, precision and XLA decisions, and the report."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import runtime
from course_utils.profiles import PROFILES


@pytest.fixture(autouse=True)
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_setup_returns_the_requested_profile_and_reports(capsys):
    profile = runtime.setup(profile="smoke", seed=3)
    out = capsys.readouterr().out
    assert profile.name == "smoke"
    for text in ("TensorFlow", "Keras", "device", "Profile 'smoke'", "data folder", "n_train", "seed           : 3"):
        assert text in out


def test_gpu_profile_on_a_cpu_falls_back_to_float32_without_xla(capsys):
    profile = runtime.setup(profile="gpu", report=False)
    assert profile.name == "gpu" and profile.n_train == PROFILES["gpu"].n_train
    assert profile.mixed_precision is None and profile.jit_compile is False
    assert keras.mixed_precision.global_policy().name == "float32"
    assert capsys.readouterr().out == ""


def test_same_seed_same_numbers():
    runtime.seed_everything(7)
    a = (np.random.rand(3), tf.random.uniform([3]).numpy())
    runtime.seed_everything(7)
    b = (np.random.rand(3), tf.random.uniform([3]).numpy())
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_seed_is_explained(bad):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        runtime.seed_everything(bad)


class FakeGPU:
    def __init__(self, capability):
        self.capability = capability


@pytest.fixture
def fake_capability(monkeypatch):
    monkeypatch.setattr(runtime, "gpu_compute_capability", lambda gpu: gpu.capability)


@pytest.mark.parametrize(
    "requested, gpus, bf16_cpu, expected",
    [
        (None, [], False, "float32"),
        ("float32", [FakeGPU((8, 0))], False, "float32"),
        ("mixed_float16", [FakeGPU((7, 5))], False, "mixed_float16"),  # T4
        ("mixed_float16", [FakeGPU((6, 0))], False, "float32"),  # P100: no tensor cores
        ("mixed_float16", [], True, "float32"),  # never float16 on a CPU
        ("mixed_bfloat16", [FakeGPU((9, 0))], False, "mixed_bfloat16"),  # H100
        ("mixed_bfloat16", [FakeGPU((7, 5))], True, "float32"),
        ("mixed_bfloat16", [], True, "mixed_bfloat16"),
        ("mixed_bfloat16", [], False, "float32"),
    ],
)
def test_precision_follows_the_hardware(fake_capability, requested, gpus, bf16_cpu, expected):
    assert runtime.choose_precision(requested, gpus, bfloat16_cpu=bf16_cpu) == expected


def test_unknown_precision_policy_is_explained():
    with pytest.raises(ValueError, match="must be one of"):
        runtime.apply_precision("float8")
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        runtime.choose_precision("half", [])


def test_memory_growth_reports_failures_instead_of_crashing(monkeypatch):
    def refuse(gpu, flag):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", refuse)

    class Device:
        name = "/physical_device:GPU:0"

    assert runtime.enable_memory_growth([]) == []
    [problem] = runtime.enable_memory_growth([Device()])
    assert "GPU:0" in problem and "initialized" in problem


def test_gpu_settings_run_on_the_cpu():
    """The gpu profile's mixed precision + loss scaling + XLA train step, exercised here without a GPU."""
    runtime.apply_precision("mixed_float16")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.add(keras.layers.Activation("linear", dtype="float32"))  # float32 outputs for a stable loss
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2))
    x = tf.random.normal([16, 4])
    y = tf.reduce_sum(x, axis=1, keepdims=True)

    @tf.function(jit_compile=True)
    def train_step():
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = tf.reduce_mean(tf.square(out - y))
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss, out

    for _ in range(2):
        loss, out = train_step()
    assert model.layers[0].compute_dtype == "float16"
    assert model.layers[0].kernel.dtype == "float32"
    assert out.dtype == tf.float32
    assert np.isfinite(loss.numpy())


def test_native_messages_are_silenced_but_python_errors_are_not():
    code = (
        "import os, sys\n"
        "from course_utils.runtime import native_stderr_silenced\n"
        "with native_stderr_silenced():\n"
        "    os.write(2, b'native noise\\n')\n"
        "os.write(2, b'after\\n')\n"
        "with native_stderr_silenced():\n"
        "    raise ValueError('visible')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=runtime.PROJECT_ROOT)
    assert "native noise" not in result.stderr
    assert "after" in result.stderr
    assert "ValueError: visible" in result.stderr


def test_setup_keeps_float32_globally_and_reports_the_training_precision(capsys, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_supports_bfloat16", lambda: True)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # left over from an earlier cell
    profile = runtime.setup(profile=PROFILES["smoke"].replace(mixed_precision="mixed_bfloat16"), seed=0)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert profile.mixed_precision == "mixed_bfloat16"
    assert "training in mixed_bfloat16" in capsys.readouterr().out


def test_training_precision_applies_inside_the_block_only(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_supports_bfloat16", lambda: True)
    profile = PROFILES["smoke"].replace(mixed_precision="mixed_bfloat16")
    with runtime.training_precision(profile) as policy:
        inside = keras.layers.Dense(2)
        inside.build((None, 3))
    outside = keras.layers.Dense(2)
    outside.build((None, 3))
    assert policy == "mixed_bfloat16"
    assert inside.compute_dtype == "bfloat16" and inside.kernel.dtype == "float32"
    assert outside.compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_training_precision_restores_the_policy_after_an_error_and_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_supports_bfloat16", lambda: False)
    with runtime.training_precision("mixed_bfloat16") as policy:
        assert policy == "float32"  # this "CPU" has no bfloat16 instructions: full precision
    monkeypatch.setattr(runtime, "cpu_supports_bfloat16", lambda: True)
    with pytest.raises(RuntimeError, match="boom"):
        with runtime.training_precision("mixed_bfloat16"):
            assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
            raise RuntimeError("boom")
    assert keras.mixed_precision.global_policy().name == "float32"
    with runtime.training_precision(None) as policy:
        assert policy == "float32"


def test_training_precision_explains_a_wrong_argument():
    with pytest.raises(TypeError, match="profile from cu.setup"):
        with runtime.training_precision(16):
            pass
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        with runtime.training_precision("half"):
            pass


def test_float32_copy_keeps_the_weights_and_computes_in_float32():
    from course_utils import gan, inpainting

    builders = {
        "generator": lambda: gan.build_generator(latent_dim=8, width=4),
        "unet": lambda: inpainting.build_inpainter(image_size=16, width=4, depth=2),
    }
    inputs = {
        "generator": np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32),
        "unet": [np.random.default_rng(1).random((3, 16, 16, 3), np.float32), np.ones((3, 16, 16, 1), np.float32)],
    }
    for name, build in builders.items():
        with runtime.training_precision("mixed_bfloat16"):
            model = build()
        copy = runtime.float32_copy(model)
        assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
        assert "bfloat16" not in json.dumps(copy.get_config())  # nested activations included
        for ours, theirs in zip(copy.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)
        low, full = np.asarray(model(inputs[name])), np.asarray(copy(inputs[name]))
        assert full.dtype == np.float32
        np.testing.assert_allclose(full, low, atol=0.05)  # bfloat16 keeps ~3 significant digits
        reference = build()  # built in float32 from the start, given the same weights
        reference.set_weights(model.get_weights())
        np.testing.assert_allclose(full, np.asarray(reference(inputs[name])), rtol=1e-5, atol=1e-6)
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert runtime.float32_copy(plain) is plain
    with pytest.raises(TypeError, match="Keras model"):
        runtime.float32_copy("generator.keras")


def test_course_cpu_bfloat16_0_makes_the_course_train_as_on_a_float32_cpu(monkeypatch):
    monkeypatch.setenv(runtime.BFLOAT16_ENV_VAR, "0")
    assert runtime.cpu_supports_bfloat16() is False
    assert runtime.choose_precision("mixed_bfloat16", []) == "float32"


def test_a_numpy_integer_seed_is_a_whole_number_too():
    runtime.seed_everything(np.int64(3))
    a = np.random.random(2)
    runtime.seed_everything(3)
    np.testing.assert_array_equal(a, np.random.random(2))
