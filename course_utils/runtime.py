"""The Setup cell's one call: seeds, quiet logs, GPU settings and a one-screen report (lesson 00).

``setup()`` is the only place the course touches global state. It chooses the run profile, then switches
on GPU-only settings (memory growth, mixed precision, XLA) only where the hardware supports them, so the
same notebook code runs on Colab's GPU, on a laptop and in the tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from course_utils.paths import PROJECT_ROOT, runs_dir
from course_utils.profiles import Profile, get_profile
from course_utils.validation import check_choice, describe

#: Keras precision policies the course uses. ``None`` means plain float32.
PRECISION_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def native_stderr_silenced():
    """Send what C++ code writes to the process' stderr (file descriptor 2) to /dev/null for a while.

    TensorFlow's native start-up messages ("Could not find cuda drivers", "oneDNN custom operations are
    on"...) are written before its log level applies; they are not errors and only confuse a learner.
    Python exceptions are unaffected: they are raised after the descriptor is restored.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some embedded consoles): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter and turn its loggers down to errors; lesson 00.

    The C++ log level must be set before TensorFlow is first imported; the Python loggers after.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe prints its own messages once

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl ships with TensorFlow; this is only belt and braces
        pass
    warnings.filterwarnings("ignore", module=r"keras(\..*)?")


#: Set to ``0`` to train as on a CPU without bfloat16 instructions (float32), e.g. to test both precisions.
BFLOAT16_ENV_VAR = "COURSE_CPU_BFLOAT16"


def cpu_supports_bfloat16() -> bool:
    """True when this CPU has bfloat16 instructions (AVX512_BF16 or AMX), read from /proc/cpuinfo.

    ``COURSE_CPU_BFLOAT16=0`` in the environment makes the course act as on a CPU without them.
    """
    if os.environ.get(BFLOAT16_ENV_VAR, "").strip() == "0":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def gpu_compute_capability(gpu) -> tuple[int, int] | None:
    """The CUDA compute capability of a TensorFlow GPU device, or None when TensorFlow cannot tell."""
    import tensorflow as tf

    details = tf.config.experimental.get_device_details(gpu)
    capability = details.get("compute_capability")
    return tuple(capability) if capability else None


def choose_precision(requested: str | None, gpus: list, *, bfloat16_cpu: bool | None = None) -> str:
    """The precision policy to use: the profile's request if this hardware runs it fast, else float32.

    ``mixed_float16`` needs a GPU with tensor cores (compute capability 7.0 or newer);
    ``mixed_bfloat16`` needs a GPU of compute capability 8.0+ or a CPU with bfloat16 instructions.
    """
    policy = requested or "float32"
    check_choice("mixed_precision", policy, PRECISION_POLICIES)
    if policy == "float32":
        return policy
    capabilities = [gpu_compute_capability(g) or (0, 0) for g in gpus]
    if policy == "mixed_float16":
        return policy if any(c >= (7, 0) for c in capabilities) else "float32"
    if bfloat16_cpu is None:
        bfloat16_cpu = cpu_supports_bfloat16()
    if any(c >= (8, 0) for c in capabilities) or (not gpus and bfloat16_cpu):
        return policy
    return "float32"


def apply_precision(policy: str) -> str:
    """Set Keras' global precision policy (``float32``, ``mixed_float16`` or ``mixed_bfloat16``); lesson 06.

    Layers built afterwards compute in the low precision and keep float32 weights. Train steps must
    then scale the loss (``keras.optimizers.LossScaleOptimizer``) under ``mixed_float16``. The notebooks
    use :func:`training_precision` instead, which sets the policy only while models are built.
    """
    check_choice("policy", policy, PRECISION_POLICIES)
    import keras

    keras.mixed_precision.set_global_policy(policy)
    return policy


def training_policy(profile_or_policy: Any) -> str:
    """The precision a model should train in: the profile's ``mixed_precision`` if this hardware runs it fast.

    Takes a profile (its ``mixed_precision`` knob) or a policy name (``None`` means float32).
    """
    if profile_or_policy is None or isinstance(profile_or_policy, str):
        requested = profile_or_policy
    elif hasattr(profile_or_policy, "mixed_precision"):
        requested = profile_or_policy.mixed_precision
    else:
        raise TypeError(
            "training_precision takes the profile from cu.setup() or a policy name such as 'mixed_bfloat16'; "
            f"got {describe(profile_or_policy)}."
        )
    import tensorflow as tf

    return choose_precision(requested, tf.config.list_physical_devices("GPU"))


@contextlib.contextmanager
def training_precision(profile_or_policy: Any) -> Iterator[str]:
    """Build models (and their optimizers) inside this block to train them in the profile's precision; lesson 06.

    ``with cu.training_precision(profile): generator = gan.build_generator(...)``. Layers built inside compute in
    the profile's policy (``mixed_float16`` on a GPU with tensor cores, ``mixed_bfloat16`` on a CPU with bfloat16
    instructions) and keep float32 weights; layers built outside stay in float32, so a comparison with NumPy
    keeps full precision. The course's trainers (``dcgan.DCGAN``, ``inpainting.Inpainter``...) use it
    themselves. Yields the policy in force; the previous global policy comes back at the end of the block.
    """
    policy = training_policy(profile_or_policy)
    import keras

    previous = keras.mixed_precision.global_policy()
    apply_precision(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_copy(model: Any) -> Any:
    """A copy of a Keras model whose every layer computes in float32, with the same weights; lessons 07, 12, 16.

    A model trained under a mixed policy computes in bfloat16 or float16: fine for training, too coarse for
    a latent-space search or a comparison with a converted model. The weights are float32 already, so the
    copy holds exactly the trained numbers. A model that is float32 throughout is returned as it is.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"float32_copy takes a Keras model; got {describe(model)}.")
    if all(layer.dtype_policy.name == "float32" for layer in _all_layers(model)):
        return model

    def as_float32(layer: Any) -> Any:
        # Keras operations used in a functional model have no policy; layers do, and so do the layers
        # serialised inside a layer's config (a LeakyReLU given as a PartialConv2D's activation).
        return layer.__class__.from_config(_float32_config(layer.get_config()))

    copy = keras.models.clone_model(model, clone_function=as_float32)
    copy.set_weights(model.get_weights())
    return copy


def _float32_config(config: Any) -> Any:
    """A layer config with every precision policy in it, nested ones included, replaced by float32."""
    if isinstance(config, list):
        return [_float32_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    copy = {key: _float32_config(value) for key, value in config.items()}
    if _is_policy(copy.get("dtype")):
        copy["dtype"] = "float32"
    return copy


def _is_policy(value: Any) -> bool:
    if isinstance(value, str):
        return value in PRECISION_POLICIES or value in ("float16", "bfloat16")
    return isinstance(value, dict) and "DTypePolicy" in str(value.get("class_name", ""))


def _all_layers(model: Any) -> list:
    """The layers of a model, those of nested models included."""
    layers = []
    for layer in model.layers:
        layers.extend(_all_layers(layer) if hasattr(layer, "layers") else [layer])
    return layers


def enable_memory_growth(gpus: list) -> list[str]:
    """Let TensorFlow take GPU memory as it needs it instead of all at once; returns what was not changed."""
    import tensorflow as tf

    problems = []
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # the GPU was already initialised by an earlier cell
            problems.append(f"{gpu.name}: {error}")
    return problems


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TensorFlow's ops deterministic (slower); lesson 00."""
    import numpy as np

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0; got {seed!r}.")
    seed = int(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def data_dir() -> Path:
    """The folder datasets are cached in: ``$COURSE_DATA_DIR``, else the repository's ``data/``."""
    return Path(os.environ.get("COURSE_DATA_DIR") or PROJECT_ROOT / "data")


def cpu_name() -> str:
    """A readable name for this machine's processor."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_report(profile: Profile, *, seed: int, deterministic: bool, gpus: list) -> str:
    """The one-screen report the Setup cell prints: versions, device, profile, folders."""
    import keras
    import numpy as np
    import tensorflow as tf

    import course_utils
    from course_utils import colab

    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        device = "GPU: " + ", ".join(names)
    else:
        device = f"CPU only ({os.cpu_count()} cores, {cpu_name()})"
    lines = [
        "Environment",
        f"  Python {platform.python_version()} | TensorFlow {tf.__version__} | Keras {keras.__version__} "
        f"| NumPy {np.__version__} | course_utils {course_utils.__version__}",
        f"  device         : {device}",
        f"  running on     : {'Google Colab' if colab.in_colab() else platform.system()}",
        f"  precision      : {keras.mixed_precision.global_policy().name}; training in "
        f"{profile.mixed_precision or 'float32'}",
        f"  XLA train steps: {'on' if profile.jit_compile else 'off'}",
        f"  seed           : {seed}{' (deterministic ops)' if deterministic else ''}",
        f"  data folder    : {data_dir()}",
        f"  runs folder    : {runs_dir()}",
        f"Profile '{profile.name}': {profile.description}",
        profile.summary(),
    ]
    return "\n".join(lines)


def setup(
    *,
    seed: int = 0,
    profile: str | Profile | None = None,
    deterministic: bool = False,
    report: bool = True,
) -> Profile:
    """Prepare a notebook: pick the profile, seed, quiet TensorFlow, apply GPU settings, print a report; lesson 00.

    On Colab it also switches on the widget manager that interactive cells need.

    Returns the profile actually in force: its ``mixed_precision`` and ``jit_compile`` say what this
    hardware really runs (a ``gpu`` profile on a CPU falls back to float32 without XLA). The global
    precision policy is float32; ``mixed_precision`` applies inside :func:`training_precision`.
    """
    quiet_tensorflow()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    chosen = profile if isinstance(profile, Profile) else get_profile(profile, gpu_available=bool(gpus))
    if chosen.memory_growth:
        for problem in enable_memory_growth(gpus):
            print(f"Note: GPU memory growth could not be set ({problem}); restart the kernel to apply it.")
    seed_everything(seed, deterministic=deterministic)
    from course_utils import colab

    colab.enable_widgets()  # on Colab, sliders and buttons need its custom widget manager
    # Everything computes in float32; the trainers switch to the profile's policy while they build their
    # models (training_precision), so lessons that compare with NumPy keep full precision.
    apply_precision("float32")
    policy = choose_precision(chosen.mixed_precision, gpus)
    in_force = chosen.replace(
        mixed_precision=None if policy == "float32" else policy,
        jit_compile=chosen.jit_compile and bool(gpus),
    )
    if report:
        print(environment_report(in_force, seed=seed, deterministic=deterministic, gpus=gpus))
        sys.stdout.flush()
    return in_force
