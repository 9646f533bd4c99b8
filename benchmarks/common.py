"""Shared pieces of the benchmarks: the machine, interleaved timing, FLOP counts, tables and JSON files.

Every benchmark measures the things it compares *in the same run, interleaved* (A, B, A, B, ...), and
reports the median of several blocks, so that a ratio stays meaningful on a busy machine even when the
absolute figures do not. Each result is saved as JSON under ``runs/benchmarks/`` with a description of
the machine (CPU, cores, clock, load average at the start and the end, TensorFlow version).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# The benchmarks are scripts (python benchmarks/x.py): make the repository importable from them.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

# ----------------------------------------------------------------------------------------------- machine


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty off Linux)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the OS does not report them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def cpu_clock_ghz() -> float | None:
    """The clock of the first core as /proc/cpuinfo reports it ("cpu MHz"), in GHz; None when unknown."""
    mhz = _cpuinfo().get("cpu MHz")
    try:
        return float(mhz) / 1000.0 if mhz else None
    except ValueError:
        return None


def fp32_flops_per_cycle() -> tuple[int, str]:
    """An *estimate* of float32 FLOPs one core can issue per cycle, with the reasoning, from /proc/cpuinfo.

    FLOPs/cycle = FMA pipes x float32 lanes per pipe x 2 (a fused multiply-add is two FLOPs):
    * AMD family 25 (Zen 3/Zen 4): two 256-bit FMA pipes; Zen 4 runs AVX-512 as two 256-bit halves,
      so 2 x 8 x 2 = 32;
    * AMD family 26 (Zen 5): two 512-bit FMA pipes, 2 x 16 x 2 = 64;
    * other CPUs with AVX-512: assumed two 512-bit FMA units (Intel Xeon Gold/Platinum), 64;
    * AVX2 with FMA: two 256-bit FMA units, 32; otherwise SSE, 8.
    """
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    vendor, family = info.get("vendor_id", ""), info.get("cpu family", "")
    if vendor == "AuthenticAMD" and family == "25":
        return 32, "AMD Zen 3/4: 2 FMA pipes x 8 fp32 lanes (AVX-512 double-pumped on 256-bit units) x 2"
    if vendor == "AuthenticAMD" and family == "26":
        return 64, "AMD Zen 5: 2 FMA pipes x 16 fp32 lanes x 2"
    if "avx512f" in flags:
        return 64, "AVX-512: assumed 2 FMA units x 16 fp32 lanes x 2"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2: 2 FMA units x 8 fp32 lanes x 2"
    return 8, "SSE: assumed 4 fp32 lanes x 2 (no FMA)"


def peak_fp32_gflops(cores: int | None = None) -> dict[str, Any]:
    """An *estimate* of this machine's float32 peak: cores x GHz x FLOPs/cycle (see fp32_flops_per_cycle)."""
    cores = cores or os.cpu_count() or 1
    ghz = cpu_clock_ghz()
    per_cycle, why = fp32_flops_per_cycle()
    gflops = None if ghz is None else cores * ghz * per_cycle
    return {
        "estimate": True,
        "formula": f"{cores} cores x {ghz} GHz (cpu MHz of /proc/cpuinfo) x {per_cycle} FLOPs/cycle ({why})",
        "cores": cores,
        "ghz": ghz,
        "flops_per_cycle": per_cycle,
        "gflops": None if gflops is None else round(gflops, 1),
    }


def matmul_gflops(size: int = 1024, *, blocks: int = 5, repeats: int = 4, dtype: str = "float32") -> dict[str, Any]:
    """The *measured* GFLOP/s of a large square matrix product on this machine: a practical peak.

    ``repeats`` products of two ``size`` x ``size`` matrices per block (2 x size³ FLOPs each), best of ``blocks``
    after one warm-up block. TensorFlow's matmul (oneDNN on x86) comes close to what the CPU can do, and it
    runs at the clock the CPU really has (turbo included), which the estimate above cannot know.
    """
    import tensorflow as tf

    a = tf.random.uniform((size, size), dtype=dtype, seed=1)
    b = tf.random.uniform((size, size), dtype=dtype, seed=2)
    best = float("inf")
    for block in range(blocks + 1):
        start = time.perf_counter()
        for _ in range(repeats):
            c = tf.linalg.matmul(a, b)
        float(c[0, 0])  # wait for the last product
        if block:  # the first block warms up
            best = min(best, time.perf_counter() - start)
    gflops = 2 * size**3 * repeats / best / 1e9
    return {"measured": True, "size": size, "dtype": dtype, "gflops": round(gflops, 1)}


def rate_figures(flops_per_image: float, images_per_s: float, peak: dict, matmul: dict) -> dict[str, Any]:
    """Achieved GFLOP/s (from the FLOP estimate) and its fraction of the estimated peak and of the matmul rate."""
    gflops = flops_per_image * images_per_s / 1e9
    return {
        "achieved_gflops_per_s_estimate": round(gflops, 2),
        "fraction_of_peak_estimate": None if peak["gflops"] is None else round(gflops / peak["gflops"], 4),
        "fraction_of_matmul": round(gflops / matmul["gflops"], 4),
    }


def throughput_figures(blocks: int, steps: int, *, tiny: bool = False) -> dict[str, Any]:
    """The head of a throughput benchmark's figures: blocks, steps, the estimated peak and the measured matmul."""
    return {
        "blocks": blocks,
        "steps_per_block": steps,
        "peak_fp32_estimate": peak_fp32_gflops(),
        "matmul_fp32_measured": matmul_gflops(size=256 if tiny else 1024),
        "configs": {},
    }


def percent(fraction: float | None) -> str:
    """A fraction as a table cell: 0.153 -> '15.3%', None -> '?'."""
    return "?" if fraction is None else f"{fraction:.1%}"


def efficiency_footnote(peak: dict, matmul: dict) -> str:
    """The footnote of a throughput table: how the estimated peak and the measured matmul rate were found."""
    return (
        f"* estimates: FLOPs from the layer shapes; peak = {peak['formula']} = {peak['gflops']} GFLOP/s at the "
        f"nominal clock (turbo can exceed it). matmul = a measured {matmul['size']}x{matmul['size']} "
        f"{matmul['dtype']} matrix product on this machine: {matmul['gflops']} GFLOP/s."
    )


def machine() -> dict[str, Any]:
    """A description of the machine a figure was taken on: CPU, cores, clock, flags, load, versions."""
    import keras
    import tensorflow as tf

    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": info.get("model name") or platform.processor() or platform.machine(),
        "cpu_family_model": f"{info.get('cpu family', '?')}/{info.get('model', '?')}",
        "cores": os.cpu_count(),
        "clock_ghz": cpu_clock_ghz(),
        "avx512f": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
        "gpus": [g.name for g in gpus],
        "load_average_start": load_average(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
    }


def machine_line(info: dict[str, Any]) -> str:
    """The machine in one line, for the head of a printed table."""
    return (
        f"{info['cpu']} (family/model {info['cpu_family_model']}), {info['cores']} cores @ {info['clock_ghz']} GHz, "
        f"GPUs: {info['gpus'] or 'none'}, TF {info['tensorflow']}, Keras {info['keras']}, "
        f"load average at start {info['load_average_start']}"
    )


# ----------------------------------------------------------------------------------------------- timing


def interleaved_rates(
    runners: dict[str, Callable[[], int]],
    *,
    blocks: int,
    warmup: int = 1,
) -> dict[str, dict[str, Any]]:
    """Items/s of several workloads measured in alternating blocks A, B, A, B, ...; the median is reported.

    Each runner does one block of work and returns how many items (images) it processed. ``warmup`` blocks
    of each (tracing, compiling, caches) run first and are not counted. Alternating the blocks exposes every
    workload to the same background load, so the ratio of two medians is fair on a busy machine.
    """
    if blocks < 1:
        raise ValueError(f"blocks must be >= 1; got {blocks}.")
    if not runners:
        raise ValueError("runners is empty: give at least one workload to time.")
    from course_utils.runtime import native_stderr_silenced

    for _ in range(warmup):
        for run in runners.values():
            with native_stderr_silenced():  # tracing may print harmless graph-optimizer messages
                run()
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(blocks):
        for name, run in runners.items():
            start = time.perf_counter()
            items = run()
            rates[name].append(items / (time.perf_counter() - start))
    return {
        name: {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "blocks": [round(v, 2) for v in values],
        }
        for name, values in rates.items()
    }


# ----------------------------------------------------------------------------------------------- FLOPs


def _pairs(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def layer_macs(layer: Any) -> int:
    """Multiply-adds of one forward pass of ``layer`` for ONE input example, from its weight and output shapes.

    * Dense: inputs x units;
    * Conv2D (and the course's PartialConv2D): H_out x W_out x k_h x k_w x C_in x C_out
      (PartialConv2D's window count of the mask is a one-channel convolution, counted too);
    * Conv2DTranspose: H_in x W_in x k_h x k_w x C_in x C_out (every input pixel scatters a k x k x C_out patch).
    Other layers (batch norm, activations, dropout, reshapes) are counted as 0: they are element-wise.
    """
    import keras

    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, h_in, w_in, _ = layer.input.shape
        kh, kw, c_out, c_in = layer.kernel.shape  # Conv2DTranspose keeps (k, k, out, in)
        return int(h_in) * int(w_in) * int(kh) * int(kw) * int(c_in) * int(c_out)
    if isinstance(layer, keras.layers.Conv2D):
        _, h_out, w_out, _ = layer.output.shape
        kh, kw, c_in, c_out = layer.kernel.shape
        return int(h_out) * int(w_out) * int(kh) * int(kw) * int(c_in) * int(c_out)
    if kind == "PartialConv2D":
        out = layer.output[0] if isinstance(layer.output, (tuple, list)) else layer.output
        _, h_out, w_out, _ = out.shape
        kh, kw, c_in, c_out = layer.kernel.shape
        return int(h_out) * int(w_out) * int(kh) * int(kw) * (int(c_in) * int(c_out) + 1)
    return 0


def model_macs(model: Any) -> int:
    """Multiply-adds of one forward pass of a (functional) Keras model for one example: the sum over its layers."""
    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers") and not hasattr(layer, "kernel"):  # a nested model
            total += model_macs(layer)
        else:
            total += layer_macs(layer)
    return total


def forward_flops(model: Any) -> int:
    """FLOPs of one forward pass for one example: 2 x multiply-adds."""
    return 2 * model_macs(model)


def train_flops(model: Any) -> int:
    """FLOPs of forward + backward for one example, estimated as 3 x forward (backward ~ 2 x forward)."""
    return 3 * forward_flops(model)


def gan_step_flops(generator: Any, discriminator: Any, batch_size: int) -> int:
    """Estimated FLOPs of one GAN train step: batch x 3 x 2 x (MACs(G) + 2 x MACs(D)).

    G runs forward and backward once per image; D twice (a real and a fake image). 2 FLOPs per multiply-add,
    backward ~ 2 x forward. The backward of D on the fakes happens for both losses, so this slightly undercounts.
    """
    return int(batch_size) * 3 * 2 * (model_macs(generator) + 2 * model_macs(discriminator))


# ----------------------------------------------------------------------------------------------- output


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns; floats get 3 significant digits (or 1 decimal when >= 100)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3g}"
        return str(value)

    text = [[cell(h) for h in headers]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in text]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def save_result(name: str, info: dict[str, Any], figures: dict[str, Any], *, quick: bool) -> Path:
    """Write ``runs/benchmarks/<name>[_quick].json`` with name, date, machine (end load added) and figures."""
    from course_utils.paths import runs_dir

    info = dict(info, load_average_end=load_average())
    record = {
        "name": name,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": info,
        "figures": figures,
    }
    path = runs_dir("benchmarks") / f"{name}{'_quick' if quick else ''}.json"
    path.write_text(json.dumps(record, indent=2, default=float) + "\n", encoding="utf-8")
    return path


def report(name: str, info: dict[str, Any], table: str, figures: dict[str, Any], *, quick: bool) -> Path:
    """Print the machine, the table and where the JSON went; save the JSON; return its path."""
    path = save_result(name, info, figures, quick=quick)
    print(f"\n== {name}{' (quick)' if quick else ''} ==")
    print(machine_line(info) + f"; load average at end {load_average()}")
    print(table)
    print(f"saved {path}")
    return path


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up chatter silenced (the course's own helper)."""
    from course_utils.runtime import quiet_tensorflow as _quiet

    _quiet()


# ----------------------------------------------------------------------------------------------- the reference


#: The settings of TensorFlow's DCGAN tutorial (https://www.tensorflow.org/tutorials/generative/dcgan).
TUTORIAL = {"batch_size": 256, "latent_dim": 100, "learning_rate": 1e-4}


def build_tutorial_models(latent_dim: int = 100, *, scale: int = 1) -> tuple[Any, Any]:
    """The generator and discriminator of TensorFlow's DCGAN tutorial, as it writes them (28x28x1 images).

    G: Dense 7*7*256 (no bias) -> BN -> LeakyReLU -> reshape -> Conv2DTranspose 128 (5x5, stride 1) -> BN ->
    LeakyReLU -> Conv2DTranspose 64 (stride 2) -> BN -> LeakyReLU -> Conv2DTranspose 1 (stride 2, tanh).
    D: Conv2D 64 (5x5, stride 2) -> LeakyReLU -> Dropout 0.3 -> Conv2D 128 -> LeakyReLU -> Dropout 0.3 ->
    Flatten -> Dense 1 (logits). ``scale`` divides every width (only for tiny test runs).
    """
    import keras
    from keras import layers

    w = max(1, 64 // scale)
    generator = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 4 * w, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 4 * w)),
            layers.Conv2DTranspose(2 * w, (5, 5), strides=(1, 1), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(w, (5, 5), strides=(2, 2), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"),
        ],
        name="tutorial_generator",
    )
    discriminator = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(w, (5, 5), strides=(2, 2), padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(2 * w, (5, 5), strides=(2, 2), padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="tutorial_discriminator",
    )
    return generator, discriminator


def make_tutorial_step(generator: Any, discriminator: Any, *, batch_size: int, latent_dim: int = 100) -> Any:
    """The tutorial's train step: two tapes, BCE from logits, Adam(1e-4) for each network, one tf.function."""
    import keras
    import tensorflow as tf

    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt = keras.optimizers.Adam(TUTORIAL["learning_rate"])
    d_opt = keras.optimizers.Adam(TUTORIAL["learning_rate"])

    @tf.function
    def train_step(images: Any) -> dict[str, Any]:
        noise = tf.random.normal([batch_size, latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return {"d_loss": disc_loss, "g_loss": gen_loss}

    return train_step


def make_course_step(
    *, width: int, latent_dim: int, jit_compile: bool = False, seed: int = 0, policy: str | None = None
) -> tuple[Any, Any, Any]:
    """The course's DCGAN (gan.py models, dcgan.make_train_step, Adam 2e-4 with beta_1 0.5): (G, D, step).

    ``policy`` (e.g. a profile's ``mixed_precision``) is applied as the trainers apply it, through
    ``runtime.training_precision``: only where this hardware runs it fast; None means float32.
    """
    import keras

    from course_utils import dcgan, gan
    from course_utils.runtime import training_precision

    with training_precision(policy):
        generator = gan.build_generator(latent_dim=latent_dim, width=width)
        discriminator = gan.build_discriminator(width=width)
    step = dcgan.make_train_step(
        generator,
        discriminator,
        keras.optimizers.Adam(dcgan.LEARNING_RATE, beta_1=dcgan.BETA_1),
        keras.optimizers.Adam(dcgan.LEARNING_RATE, beta_1=dcgan.BETA_1),
        latent_dim=latent_dim,
        jit_compile=jit_compile,
        seed=seed,
    )
    return generator, discriminator, step
