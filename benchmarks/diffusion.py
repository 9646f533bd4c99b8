"""Lesson 13's diffusion model: training images/s, sampling images/s against steps, and time to quality vs the DCGAN.

Three measurements, each of the cpu profile's configurations (or the gpu profile's with ``--profile gpu``):

1. **Training throughput**: images/s of the diffusion train step (U-Net, Adam, EMA update) and of the course's
   DCGAN step, measured in alternating blocks so both see the same background load.
2. **Sampling throughput**: images/s of the sampling loop against the number of steps, for DDIM (eta = 0),
   DDPM-style ancestral sampling (eta = 1), flow-matching Euler steps (eta = 0 on the flow path) and Heun steps
   (lesson 14's second-order solver, two network calls a step); the cost per step does not depend on the
   weights, so an untrained float32 network is timed.
3. **Time to quality**: Digits-FID against training wall time for the diffusion model and the DCGAN, trained
   *interleaved* in one run: each trains until its own accumulated training time reaches the next checkpoint,
   is evaluated (not timed: the diffusion model samples with the profile's DDIM steps from its EMA weights),
   then the other does the same. The report gives the DCGAN's FID at the end of the budget and when the
   diffusion model first reaches it.

    python benchmarks/diffusion.py --budget 600        # 10 training minutes each
    python benchmarks/diffusion.py --quick             # a few minutes in all
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from benchmarks.time_to_quality import FRACTIONS, first_time_at_or_below  # noqa: E402

NAME = "diffusion"
SAMPLING_STEPS = (5, 10, 25, 50, 100)


class _Trainer:
    """One model under training: its step, batches, sampler and the training time spent so far."""

    def __init__(self, name: str, step: Any, sampler: Any, images: Any, batch_size: int, seed: int = 0) -> None:
        import tensorflow as tf

        self.name, self.step, self.sampler, self.batch_size = name, step, sampler, batch_size
        ds = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed).repeat()
        self.batches = iter(ds.batch(batch_size, drop_remainder=True).prefetch(2))
        self.seconds, self.steps = 0.0, 0

    def train_until(self, seconds: float) -> None:
        """Take train steps until the accumulated training time reaches ``seconds`` (at least one step)."""
        first = True
        while first or self.seconds < seconds:
            first = False
            batch = next(self.batches)
            start = time.perf_counter()
            out = self.step(batch)
            float(next(iter(out.values())))  # wait for the step to finish before stopping the clock
            self.seconds += time.perf_counter() - start
            self.steps += 1


def _diffusion_parts(profile: Any, policy: str | None, seed: int) -> tuple[Any, Any, Any]:
    """(model, ema, train step) of lesson 13's trainer at the profile's sizes."""
    import keras

    from course_utils import diffusion
    from course_utils.runtime import training_precision

    with training_precision(policy):
        model = diffusion.build_denoiser(width=profile.diffusion_width)
        optimizer = keras.optimizers.Adam(profile.diffusion_learning_rate)
    ema = diffusion.EMA(model, profile.ema_decay)
    schedule = diffusion.make_schedule("cosine")
    step = diffusion.make_train_step(model, optimizer, schedule, ema=ema, seed=seed)
    return model, ema, step


def _generate(denoise: Any, schedule: Any, n: int, steps: int, *, eta: float = 0.0, seed: int = 0) -> Any:
    """n images from noise with ``steps`` sampler steps, 500 at a time."""
    import numpy as np
    import tensorflow as tf

    from course_utils import sampling

    pairs = schedule.timesteps(steps)
    out = []
    for start in range(0, n, 500):
        count = min(500, n - start)
        x = tf.random.stateless_normal((count, 28, 28, 1), seed=(seed, start))
        out.append(sampling.sample(denoise, schedule, x, pairs, eta=eta, seed=seed + start, progress=False))
    return np.concatenate(out)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the three measurements; print a table; save the JSON. Returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds for each model")
    parser.add_argument("--quick", action="store_true", help="a few minutes in all (small data, 60 s budget)")
    parser.add_argument("--tiny", action="store_true", help="test sizes: seconds, meaningless numbers")
    parser.add_argument("--profile", default="cpu", choices=("cpu", "gpu"), help="whose sizes to measure")
    parser.add_argument("--n-train", type=int, default=20_000, help="training digits (the cpu profile's n_train)")
    parser.add_argument("--n-eval", type=int, default=2_000, help="samples and real digits per FID")
    parser.add_argument("--n-sample", type=int, default=200, help="images per timed sampling run")
    parser.add_argument("--source", default="auto", choices=("auto", "mnist", "standin"), help="digits source")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, noise and batch order")
    parser.add_argument(
        "--precision",
        default="profile",
        choices=("profile", "float32", "mixed_bfloat16"),
        help="training precision of both models; default: the profile's, where this hardware runs it",
    )
    args = parser.parse_args(argv)

    common.quiet_tensorflow()
    import keras
    import numpy as np

    from course_utils import classifier, datasets, diffusion, evaluation, flow, sampling, schedules
    from course_utils.paths import runs_dir
    from course_utils.pipeline import to_model_range
    from course_utils.profiles import PROFILES
    from course_utils.runtime import training_policy

    profile = PROFILES[args.profile]
    budget, n_train, n_eval, n_sample, blocks = args.budget, args.n_train, args.n_eval, args.n_sample, 5
    sampling_steps, clf_epochs = SAMPLING_STEPS, PROFILES["cpu"].classifier_epochs
    if args.quick:
        budget, n_train, n_eval, n_sample, clf_epochs = 60.0, 3_000, 500, 100, 2
    if args.tiny:
        budget, n_train, n_eval, n_sample, blocks, sampling_steps, clf_epochs = 1.0, 300, 64, 4, 1, (2, 4), 1
        profile = profile.replace(diffusion_width=4, width=4, sampling_steps=2, diffusion_batch_size=8, batch_size=8)
    info = common.machine()
    keras.utils.set_random_seed(args.seed)
    requested = profile.mixed_precision if args.precision == "profile" else args.precision
    policy = training_policy(requested)

    data = datasets.load_digits(n_train=n_train, n_test=max(n_eval, 100), source=args.source, seed=0)
    images = np.asarray(to_model_range(data.x_train[..., None]), dtype=np.float32)

    # 1. training throughput, interleaved
    unet, ema, diffusion_step = _diffusion_parts(profile, policy, args.seed)
    generator, _, gan_step = common.make_course_step(
        width=profile.width, latent_dim=profile.latent_dim, seed=args.seed, policy=policy
    )
    diff_batch = images[: min(profile.diffusion_batch_size, len(images))]
    gan_batch = images[: min(profile.batch_size, len(images))]

    def diffusion_block() -> int:
        for _ in range(3):
            float(diffusion_step(diff_batch)["loss"])
        return 3 * len(diff_batch)

    def gan_block() -> int:
        for _ in range(3):
            float(gan_step(gan_batch)["d_loss"])
        return 3 * len(gan_batch)

    train_rates = common.interleaved_rates({"diffusion": diffusion_block, "dcgan": gan_block}, blocks=blocks)
    print(
        f"  training images/s: diffusion {train_rates['diffusion']['median']:.1f}, "
        f"DCGAN {train_rates['dcgan']['median']:.1f}",
        flush=True,
    )

    # 2. sampling throughput against steps (a float32 network; the cost per step does not depend on the weights)
    fresh = diffusion.build_denoiser(width=profile.diffusion_width)
    samplers = {
        "DDIM": (schedules.cosine_schedule(), 0.0, sampling.denoiser(fresh, prediction="eps")),
        "DDPM": (schedules.cosine_schedule(), 1.0, sampling.denoiser(fresh, prediction="eps")),
        "flow Euler": (schedules.flow_path(), 0.0, sampling.denoiser(fresh, prediction="velocity")),
        "flow Heun": (schedules.flow_path(), None, fresh),  # lesson 14's ODE solver: two network calls a step
    }
    sampling_rates: dict[str, dict[str, float]] = {name: {} for name in samplers}

    def draw(schedule: Any, eta: float | None, denoise: Any, n: int, steps: int) -> Any:
        if eta is None:
            return flow.generate(denoise, n, steps=steps, method="heun")
        return _generate(denoise, schedule, n, steps, eta=eta)

    for steps in sampling_steps:
        for name, (schedule, eta, denoise) in samplers.items():
            draw(schedule, eta, denoise, n_sample, 1)  # trace at this batch shape before timing
            start = time.perf_counter()
            draw(schedule, eta, denoise, n_sample, steps)
            sampling_rates[name][str(steps)] = round(n_sample / (time.perf_counter() - start), 2)
        print(
            f"  sampling images/s at {steps} steps: "
            + ", ".join(f"{name} {rates[str(steps)]:.1f}" for name, rates in sampling_rates.items()),
            flush=True,
        )

    # 2b. the restoration samplers of lesson 15 with the same untrained network: images/s against steps
    from course_utils import restoration

    cosine_fresh, ddim_fresh = samplers["DDIM"][0], samplers["DDIM"][2]
    clean01 = (images[:n_sample] + 1.0) / 2.0
    hole = np.ones_like(clean01)
    hole[:, 7:21, 7:21] = 0
    restorers = {
        "RePaint r=1": lambda k: restoration.repaint(
            ddim_fresh, cosine_fresh, clean01, hole, steps=k, jump_length=max(1, k // 5), progress=False
        ),
        "RePaint r=2": lambda k: restoration.repaint(
            ddim_fresh,
            cosine_fresh,
            clean01,
            hole,
            steps=k,
            jump_length=max(1, k // 5),
            jump_n_sample=2,
            progress=False,
        ),
        "SDEdit s=0.2": lambda k: restoration.sdedit_denoise(ddim_fresh, cosine_fresh, clean01, 0.2, steps=k),
        "ILVR x4": lambda k: restoration.ilvr(ddim_fresh, cosine_fresh, restoration.downsample(clean01, 4), 4, steps=k),
    }
    restoration_rates: dict[str, dict[str, float]] = {name: {} for name in restorers}
    for steps in sampling_steps:
        for name, restore in restorers.items():
            start = time.perf_counter()
            restore(steps)
            restoration_rates[name][str(steps)] = round(n_sample / (time.perf_counter() - start), 2)
        print(
            f"  restoration images/s at {steps} steps: "
            + ", ".join(f"{name} {rates[str(steps)]:.1f}" for name, rates in restoration_rates.items()),
            flush=True,
        )

    # 3. time to quality, interleaved
    clf_profile = PROFILES["cpu"].replace(
        n_train=n_train, n_test=max(n_eval, 100), classifier_epochs=clf_epochs, width=4 if args.tiny else 32
    )
    clf_path = runs_dir("benchmarks") / f"digits_classifier{'_tiny' if args.tiny else ''}.keras"
    clf = classifier.load_or_train_classifier(clf_profile, data=data, path=clf_path, verbose=False)
    real_features = evaluation.digits_features(data.x_test[:n_eval], clf)
    unet, ema, diffusion_step = _diffusion_parts(profile, policy, args.seed)  # fresh models for the race
    generator, _, gan_step = common.make_course_step(
        width=profile.width, latent_dim=profile.latent_dim, seed=args.seed, policy=policy
    )
    cosine = diffusion.make_schedule("cosine")
    ema_denoise = sampling.denoiser(ema.model)

    def diffusion_samples(n: int) -> Any:
        return _generate(ema_denoise, cosine, n, profile.sampling_steps, seed=1)

    def gan_samples(n: int) -> Any:
        import tensorflow as tf

        noise = tf.random.stateless_normal((n, profile.latent_dim), seed=(1, 2))
        return np.concatenate([np.asarray(generator(noise[i : i + 500], training=False)) for i in range(0, n, 500)])

    trainers = [
        _Trainer("diffusion", diffusion_step, diffusion_samples, images, profile.diffusion_batch_size, args.seed),
        _Trainer("dcgan", gan_step, gan_samples, images, profile.batch_size, args.seed),
    ]
    for trainer in trainers:  # trace and run one step each before any clock starts
        trainer.train_until(0.0)
        trainer.seconds, trainer.steps = 0.0, 0
    curves: dict[str, list[dict[str, float]]] = {t.name: [] for t in trainers}
    wall_start = time.perf_counter()
    for fraction in FRACTIONS:
        for trainer in trainers:
            trainer.train_until(fraction * budget)
            fake = evaluation.digits_features(trainer.sampler(n_eval), clf)
            fid = evaluation.fid_from_features(fake, real_features)
            point = {"seconds": round(trainer.seconds, 2), "steps": trainer.steps, "fid": round(fid, 3)}
            curves[trainer.name].append(point)
            print(
                f"  {trainer.name:<9} t={point['seconds']:8.1f}s steps={point['steps']:6d} FID={fid:9.3f}", flush=True
            )

    target = curves["dcgan"][-1]["fid"]
    reached = first_time_at_or_below(curves["diffusion"], target)
    figures = {
        "profile": profile.name,
        "precision": policy,
        "budget_seconds": budget,
        "seed": args.seed,
        "data": data.name,
        "n_train": n_train,
        "n_eval": n_eval,
        "diffusion_config": {
            "width": profile.diffusion_width,
            "parameters": int(unet.count_params()),
            "batch_size": profile.diffusion_batch_size,
            "learning_rate": profile.diffusion_learning_rate,
            "ema_decay": profile.ema_decay,
            "sampling_steps": profile.sampling_steps,
        },
        "dcgan_config": {"width": profile.width, "latent_dim": profile.latent_dim, "batch_size": profile.batch_size},
        "training_images_per_s": {name: round(rate["median"], 2) for name, rate in train_rates.items()},
        "training_rates": train_rates,
        "sampling_images_per_s": sampling_rates,
        "restoration_images_per_s": restoration_rates,
        "curves": curves,
        "dcgan_final_fid": target,
        "diffusion_final_fid": curves["diffusion"][-1]["fid"],
        "diffusion_seconds_to_dcgan_final_fid": reached,
        "wall_seconds": round(time.perf_counter() - wall_start, 1),
    }
    rows = [
        (f"{fraction:.3f}", d["seconds"], d["steps"], d["fid"], g["seconds"], g["steps"], g["fid"])
        for fraction, d, g in zip(FRACTIONS, curves["diffusion"], curves["dcgan"])
    ]
    table = common.format_table(
        ["budget", "diffusion s", "steps", "diffusion FID", "DCGAN s", "steps", "DCGAN FID"], rows
    )
    table += "\n\nsampling images/s by steps\n" + common.format_table(
        ["sampler", *map(str, sampling_steps)],
        [(name, *(rates[str(s)] for s in sampling_steps)) for name, rates in sampling_rates.items()],
    )
    table += "\n\nrestoration images/s by steps (lesson 15; SDEdit's steps are capped by its start)\n"
    table += common.format_table(
        ["restorer", *map(str, sampling_steps)],
        [(name, *(rates[str(s)] for s in sampling_steps)) for name, rates in restoration_rates.items()],
    )
    verdict = "never, within the budget" if reached is None else f"after {reached:.1f} s of training"
    table += (
        f"\nTraining images/s in {policy}: diffusion {figures['training_images_per_s']['diffusion']}, DCGAN "
        f"{figures['training_images_per_s']['dcgan']}. The DCGAN's final Digits-FID is {target:.3f}; the "
        f"diffusion model ({profile.sampling_steps} DDIM steps, EMA weights) reaches it {verdict}."
    )
    common.report(
        NAME if args.seed == 0 else f"{NAME}_seed{args.seed}", info, table, figures, quick=args.quick or args.tiny
    )
    return figures


if __name__ == "__main__":
    main()
