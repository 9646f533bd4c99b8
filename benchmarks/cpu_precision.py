"""float32 against mixed_bfloat16 on the CPU: speed and quality of the DCGAN and inpainter train steps.

Both precisions are built in the same process (``runtime.apply_precision``, put back to float32 afterwards)
with the same initial weights, and timed in alternating blocks (median reported). Quality: each precision then
trains from the same start on the same batches with the same noise for a fixed number of steps, and the loss
trajectories are compared; the DCGAN's Digits-FID after that budget is added when a lesson-03 style classifier
is at hand (``runs/benchmarks/digits_classifier.keras``, which time_to_quality.py saves), and the inpainter's
masked L1 on held-out photo crops.

    python benchmarks/cpu_precision.py            # cpu-profile sizes
    python benchmarks/cpu_precision.py --quick    # fewer blocks and steps
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

NAME = "cpu_precision"
POLICIES = ("float32", "mixed_bfloat16")


def _build(policy: str, *, width: int, latent_dim: int, image_size: int, seed: int = 0) -> dict[str, Any]:
    """DCGAN and inpainter models and steps built under ``policy`` (the global policy is restored to float32)."""
    import keras

    from course_utils import inpainting
    from course_utils.runtime import apply_precision

    apply_precision(policy)
    try:
        keras.utils.set_random_seed(seed)
        g, d, gan_step = common.make_course_step(width=width, latent_dim=latent_dim, seed=seed)
        keras.utils.set_random_seed(seed)
        inpainter = inpainting.build_inpainter(image_size=image_size, channels=3, width=width, depth=3)
        inpaint_step = inpainting.make_train_step(inpainter, keras.optimizers.Adam(inpainting.LEARNING_RATE))
    finally:
        apply_precision("float32")
    return {"generator": g, "gan_step": gan_step, "latent_dim": latent_dim, "inpainter": inpainter,
            "inpaint_step": inpaint_step}


def _agreement(a: list[float], b: list[float]) -> dict[str, float]:
    """How closely two loss trajectories agree: mean |a - b|, and the means of their last quarters."""
    import numpy as np

    x, y = np.asarray(a), np.asarray(b)
    tail = max(1, len(x) // 4)
    return {
        "mean_abs_difference": round(float(np.mean(np.abs(x - y))), 4),
        "last_quarter_mean_float32": round(float(np.mean(x[-tail:])), 4),
        "last_quarter_mean_bfloat16": round(float(np.mean(y[-tail:])), 4),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure, print a table, save the JSON; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer blocks and training steps")
    parser.add_argument("--tiny", action="store_true", help="test sizes: seconds, meaningless numbers")
    parser.add_argument("--blocks", type=int, default=5, help="measured blocks per configuration")
    parser.add_argument("--steps", type=int, default=2, help="train steps per block")
    parser.add_argument("--quality-steps", type=int, default=150, help="training steps of the quality comparison")
    args = parser.parse_args(argv)

    common.quiet_tensorflow()
    import numpy as np
    import tensorflow as tf

    from course_utils import datasets, inpainting, standins
    from course_utils.pipeline import to_model_range
    from course_utils.profiles import PROFILES

    cpu = PROFILES["cpu"]
    width, batch, image_size = cpu.width, cpu.batch_size, cpu.image_size
    blocks, steps, quality_steps = args.blocks, args.steps, args.quality_steps
    if args.quick:
        blocks, steps, quality_steps = 3, 1, 30
    if args.tiny:
        width, batch, image_size, blocks, steps, quality_steps = 4, 8, 16, 2, 1, 3
    info = common.machine()
    info["avx512_bf16_per_runtime"] = __import__("course_utils.runtime").runtime.cpu_supports_bfloat16()

    n_data = max(4 * batch, 64)
    n_fid = 64 if args.tiny else 1_000  # FID needs more samples than its 128 features for a full-rank covariance
    digits = datasets.load_digits(n_train=n_data, n_test=n_fid, source="standin", seed=0, verbose=False)
    real = tf.constant(np.asarray(to_model_range(digits.x_train[..., None]), np.float32))
    photos = standins.photo_crops(n_data, size=image_size, split="train", seed=0).astype(np.float32) / 255.0
    held_out = standins.photo_crops(max(64, batch), size=image_size, split="test", seed=1).astype(np.float32) / 255.0
    masks = inpainting.training_masks(n_data, image_size, seed=0)
    held_masks = inpainting.training_masks(len(held_out), image_size, seed=7)

    built = {p: _build(p, width=width, latent_dim=cpu.latent_dim, image_size=image_size) for p in POLICIES}
    gan_batch, photo_batch, mask_batch = real[:batch], tf.constant(photos[:batch]), tf.constant(masks[:batch])

    def gan_runner(policy: str) -> Any:
        def run() -> int:
            for _ in range(steps):
                out = built[policy]["gan_step"](gan_batch)
            float(out["d_loss"])
            return steps * batch

        return run

    def inpaint_runner(policy: str) -> Any:
        def run() -> int:
            for _ in range(steps):
                out = built[policy]["inpaint_step"](photo_batch, mask_batch)
            float(out["loss"])
            return steps * batch

        return run

    runners = {f"dcgan {p}": gan_runner(p) for p in POLICIES} | {f"inpainter {p}": inpaint_runner(p) for p in POLICIES}
    rates = common.interleaved_rates(runners, blocks=blocks, warmup=1)

    # Quality: fresh models from the same start, the same batches in the same order.
    fresh = {p: _build(p, width=width, latent_dim=cpu.latent_dim, image_size=image_size, seed=1) for p in POLICIES}
    trajectories: dict[str, dict[str, list[float]]] = {}
    for p in POLICIES:
        d_losses, g_losses, l1 = [], [], []
        for i in range(quality_steps):
            j = (i * batch) % (n_data - batch + 1)
            out = fresh[p]["gan_step"](real[j : j + batch])
            d_losses.append(float(out["d_loss"]))
            g_losses.append(float(out["g_loss"]))
            out = fresh[p]["inpaint_step"](tf.constant(photos[j : j + batch]), tf.constant(masks[j : j + batch]))
            l1.append(float(out["loss"]))
        trajectories[p] = {"d_loss": d_losses, "g_loss": g_losses, "inpaint_loss": l1}

    quality: dict[str, Any] = {
        key: _agreement(trajectories["float32"][key], trajectories["mixed_bfloat16"][key])
        for key in ("d_loss", "g_loss", "inpaint_loss")
    }
    for p in POLICIES:
        predictions = inpainting.predict(fresh[p]["inpainter"], held_out, held_masks)
        losses = inpainting.inpainting_loss(held_out, predictions, held_masks)
        quality[f"held_out_inpaint_loss_{p}"] = round(float(losses["loss"]), 4)
    from course_utils.paths import runs_dir

    clf_path = runs_dir("benchmarks") / "digits_classifier.keras"
    if clf_path.exists() and not args.tiny:
        import keras

        from course_utils import evaluation

        clf = keras.models.load_model(clf_path)
        real_features = evaluation.digits_features(digits.x_test, clf)
        for p in POLICIES:
            noise = tf.random.stateless_normal((len(digits.x_test), cpu.latent_dim), seed=(3, 4))
            fake = np.asarray(fresh[p]["generator"](noise, training=False), np.float32)
            fid = evaluation.fid_from_features(evaluation.digits_features(fake, clf), real_features)
            quality[f"digits_fid_{p}"] = round(fid, 3)
    else:
        quality["digits_fid"] = f"not measured (no classifier at {clf_path}; run time_to_quality.py first)"

    figures: dict[str, Any] = {
        "width": width,
        "batch_size": batch,
        "image_size": image_size,
        "blocks": blocks,
        "steps_per_block": steps,
        "quality_steps": quality_steps,
        "images_per_s": {k: round(v["median"], 2) for k, v in rates.items()},
        "images_per_s_range": {k: [round(v["min"], 2), round(v["max"], 2)] for k, v in rates.items()},
        "speedup_bf16": {
            m: round(rates[f"{m} mixed_bfloat16"]["median"] / rates[f"{m} float32"]["median"], 3)
            for m in ("dcgan", "inpainter")
        },
        "quality": quality,
    }
    rows = [
        (m, round(rates[f"{m} float32"]["median"], 1), round(rates[f"{m} mixed_bfloat16"]["median"], 1),
         figures["speedup_bf16"][m])
        for m in ("dcgan", "inpainter")
    ]
    table = common.format_table(["step", "float32 img/s", "bf16 img/s", "bf16 / f32"], rows)
    qrows = [
        (k, v["mean_abs_difference"], v["last_quarter_mean_float32"], v["last_quarter_mean_bfloat16"])
        for k, v in quality.items()
        if isinstance(v, dict)
    ]
    table += f"\n\nquality after {quality_steps} steps from the same start (same batches and noise):\n"
    table += common.format_table(["loss", "mean |f32 - bf16|", "last 1/4 f32", "last 1/4 bf16"], qrows)
    table += "\n" + ", ".join(f"{k}: {v}" for k, v in quality.items() if not isinstance(v, dict))
    common.report(NAME, info, table, figures, quick=args.quick or args.tiny)
    return figures


if __name__ == "__main__":
    main()
