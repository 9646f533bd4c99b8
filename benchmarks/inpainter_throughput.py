"""Images per second of the course's inpainter train step (lesson 10) at the cpu and gpu profiles' sizes.

The partial-convolution U-Net (``inpainting.build_inpainter``, depth 3, 3 channels) and its train step
(``inpainting.make_train_step``) at each profile's image size, width and batch size, timed in alternating
blocks on fixed batches of photo crops and masks (the gpu size at a smaller batch, ``--gpu-batch``; median
reported, warm-up not counted), with an estimated FLOP count (3 x 2 x multiply-adds per image, see
common.layer_macs) and its fraction of this CPU's estimated peak and of a measured matrix product. The cpu size
is also timed in ``mixed_bfloat16`` when this CPU has bfloat16 instructions.

    python benchmarks/inpainter_throughput.py
    python benchmarks/inpainter_throughput.py --quick
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

NAME = "inpainter_throughput"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure, print a table, save the JSON; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 blocks of 1 step")
    parser.add_argument("--tiny", action="store_true", help="test sizes: seconds, meaningless numbers")
    parser.add_argument("--blocks", type=int, default=3, help="measured blocks per configuration")
    parser.add_argument("--steps", type=int, default=1, help="train steps per block")
    parser.add_argument(
        "--gpu-batch",
        type=int,
        default=32,
        help="batch at the gpu profile's size (its 256 takes minutes a step on a CPU; images/s barely depends on it)",
    )
    args = parser.parse_args(argv)
    blocks, steps, scale = args.blocks, args.steps, 1
    if args.quick:
        blocks, steps = 2, 1
    if args.tiny:
        blocks, steps, scale = 2, 1, 8

    common.quiet_tensorflow()
    import keras
    import numpy as np
    import tensorflow as tf

    from course_utils import inpainting, standins
    from course_utils.profiles import PROFILES
    from course_utils.runtime import training_policy, training_precision

    info = common.machine()
    variants = [("inpainter@cpu", "cpu", None), ("inpainter@gpu", "gpu", None)]
    if training_policy("mixed_bfloat16") == "mixed_bfloat16":  # this CPU has bfloat16 instructions
        variants.insert(1, ("inpainter@cpu+bf16", "cpu", "mixed_bfloat16"))
    configs: dict[str, dict[str, Any]] = {}
    for label, name, policy in variants:
        profile = PROFILES[name]
        size = max(16, profile.image_size // scale)
        width, batch = max(2, profile.width // scale), max(2, profile.batch_size // scale)
        if name == "gpu":
            batch = max(2, min(batch, args.gpu_batch // scale))
        keras.utils.set_random_seed(0)
        with training_precision(policy):
            model = inpainting.build_inpainter(image_size=size, channels=3, width=width, depth=3)
        photos = standins.photo_crops(batch, size=size, split="train", seed=0).astype(np.float32) / 255.0
        configs[label] = {
            "model": model,
            "step": inpainting.make_train_step(model, keras.optimizers.Adam(inpainting.LEARNING_RATE)),
            "images": tf.constant(photos),
            "masks": tf.constant(inpainting.training_masks(batch, size, seed=0)),
            "image_size": size,
            "width": width,
            "batch_size": batch,
        }

    def runner(config: dict[str, Any]) -> Any:
        def run() -> int:
            for _ in range(steps):
                out = config["step"](config["images"], config["masks"])
            float(out["loss"])
            return steps * config["batch_size"]

        return run

    rates = common.interleaved_rates({k: runner(c) for k, c in configs.items()}, blocks=blocks, warmup=1)
    figures = common.throughput_figures(blocks, steps, tiny=args.tiny)
    peak, matmul = figures["peak_fp32_estimate"], figures["matmul_fp32_measured"]
    rows = []
    for name, config in configs.items():
        per_image = common.train_flops(config["model"])
        images_per_s = rates[name]["median"]
        efficiency = common.rate_figures(per_image, images_per_s, peak, matmul)
        figures["configs"][name] = {
            "image_size": config["image_size"],
            "width": config["width"],
            "batch_size": config["batch_size"],
            "images_per_s": round(images_per_s, 2),
            "images_per_s_range": [round(rates[name]["min"], 2), round(rates[name]["max"], 2)],
            "gflops_per_step_estimate": round(per_image * config["batch_size"] / 1e9, 3),
            **efficiency,
        }
        rows.append(
            (
                name,
                config["image_size"],
                config["width"],
                config["batch_size"],
                round(images_per_s, 1),
                round(per_image * config["batch_size"] / 1e9, 2),
                round(efficiency["achieved_gflops_per_s_estimate"], 1),
                common.percent(efficiency["fraction_of_peak_estimate"]),
                common.percent(efficiency["fraction_of_matmul"]),
            )
        )
    figures["flops_formula"] = "batch x 3 x 2 x MACs(U-Net) per step (estimate)"
    table = common.format_table(
        ["config", "size", "width", "batch", "images/s", "GFLOP/step*", "GFLOP/s*", "of peak*", "of matmul*"], rows
    )
    table += "\n" + common.efficiency_footnote(peak, matmul)
    common.report(NAME, info, table, figures, quick=args.quick or args.tiny)
    return figures


if __name__ == "__main__":
    main()
