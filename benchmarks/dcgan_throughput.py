"""Images per second of the course's DCGAN train step against TensorFlow's DCGAN tutorial, same run, interleaved.

Configurations (28x28x1 digits; the batches are fixed random tensors in [-1, 1], so only the step is timed):

* ``course@cpu`` - gan.py models at the cpu profile's width/latent/batch, dcgan.make_train_step;
* ``course@cpu+bf16`` - the same in ``mixed_bfloat16``, when this CPU has bfloat16 instructions;
* ``course@gpu`` - the same at the gpu profile's width/latent/batch (no XLA: on a CPU setup() turns it off);
* ``tutorial``   - the tutorial's models and train step, written here as the tutorial writes them (batch 256).

The blocks alternate (course@cpu, course@gpu, tutorial, course@cpu, ...); warm-up blocks are not counted and
the median block is reported. FLOPs per step are an estimate from the layer shapes (see common.gan_step_flops),
and the fractions use an estimated float32 peak of this CPU (common.peak_fp32_gflops) and the measured rate of
a large float32 matrix product (common.matmul_gflops).

    python benchmarks/dcgan_throughput.py            # the full measurement
    python benchmarks/dcgan_throughput.py --quick    # fewer, shorter blocks
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

NAME = "dcgan_throughput"


def build_configs(*, scale: int = 1) -> dict[str, dict[str, Any]]:
    """The configurations: models, train step, batch size and a fixed batch of real images."""
    import tensorflow as tf

    from course_utils.profiles import PROFILES
    from course_utils.runtime import training_policy

    variants = [("course@cpu", "cpu", None), ("course@gpu", "gpu", None)]
    if training_policy("mixed_bfloat16") == "mixed_bfloat16":  # this CPU has bfloat16 instructions
        variants.insert(1, ("course@cpu+bf16", "cpu", "mixed_bfloat16"))
    configs: dict[str, dict[str, Any]] = {}
    for name, profile_name, policy in variants:
        profile = PROFILES[profile_name]
        width = max(1, profile.width // scale)
        batch = max(2, profile.batch_size // scale)
        g, d, step = common.make_course_step(width=width, latent_dim=profile.latent_dim, policy=policy)
        configs[name] = {
            "generator": g,
            "discriminator": d,
            "step": step,
            "batch_size": batch,
            "width": width,
            "latent_dim": profile.latent_dim,
        }
    batch = max(2, common.TUTORIAL["batch_size"] // scale)
    g, d = common.build_tutorial_models(common.TUTORIAL["latent_dim"], scale=scale)
    configs["tutorial"] = {
        "generator": g,
        "discriminator": d,
        "step": common.make_tutorial_step(g, d, batch_size=batch, latent_dim=common.TUTORIAL["latent_dim"]),
        "batch_size": batch,
        "width": 64 // scale,
        "latent_dim": common.TUTORIAL["latent_dim"],
    }
    for config in configs.values():
        config["images"] = tf.random.uniform((config["batch_size"], 28, 28, 1), -1.0, 1.0, seed=0)
    return configs


def _runner(config: dict[str, Any], steps: int) -> Any:
    def run() -> int:
        for _ in range(steps):
            out = config["step"](config["images"])
        float(out["d_loss"])  # wait for the last step to finish
        return steps * config["batch_size"]

    return run


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure, print a table, save the JSON; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 blocks of 1 step")
    parser.add_argument("--tiny", action="store_true", help="test sizes (widths and batches / 8): seconds")
    parser.add_argument("--blocks", type=int, default=5, help="measured blocks per configuration")
    parser.add_argument("--steps", type=int, default=2, help="train steps per block")
    args = parser.parse_args(argv)
    blocks, steps, scale = args.blocks, args.steps, 1
    if args.quick:
        blocks, steps = 3, 1
    if args.tiny:
        blocks, steps, scale = 2, 1, 8

    common.quiet_tensorflow()
    info = common.machine()
    configs = build_configs(scale=scale)
    rates = common.interleaved_rates({k: _runner(c, steps) for k, c in configs.items()}, blocks=blocks, warmup=1)
    reference = rates["tutorial"]["median"]
    figures = common.throughput_figures(blocks, steps, tiny=args.tiny)
    peak, matmul = figures["peak_fp32_estimate"], figures["matmul_fp32_measured"]
    rows = []
    for name, config in configs.items():
        flops = common.gan_step_flops(config["generator"], config["discriminator"], config["batch_size"])
        images_per_s = rates[name]["median"]
        efficiency = common.rate_figures(flops / config["batch_size"], images_per_s, peak, matmul)
        figures["configs"][name] = {
            "width": config["width"],
            "latent_dim": config["latent_dim"],
            "batch_size": config["batch_size"],
            "images_per_s": round(images_per_s, 2),
            "images_per_s_range": [round(rates[name]["min"], 2), round(rates[name]["max"], 2)],
            "ratio_to_tutorial": round(images_per_s / reference, 3),
            "gflops_per_step_estimate": round(flops / 1e9, 3),
            **efficiency,
        }
        rows.append(
            (
                name,
                config["width"],
                config["batch_size"],
                round(images_per_s, 1),
                round(images_per_s / reference, 2),
                round(flops / 1e9, 2),
                round(efficiency["achieved_gflops_per_s_estimate"], 1),
                common.percent(efficiency["fraction_of_peak_estimate"]),
                common.percent(efficiency["fraction_of_matmul"]),
            )
        )
    figures["flops_formula"] = "batch x 3 x 2 x (MACs(G) + 2 x MACs(D)) per step (estimate)"
    table = common.format_table(
        ["config", "width", "batch", "images/s", "x tutorial", "GFLOP/step*", "GFLOP/s*", "of peak*", "of matmul*"],
        rows,
    )
    table += "\n" + common.efficiency_footnote(peak, matmul)
    common.report(NAME, info, table, figures, quick=args.quick or args.tiny)
    return figures


if __name__ == "__main__":
    main()
