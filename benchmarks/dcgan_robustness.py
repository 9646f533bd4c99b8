"""How robust the cpu profile's DCGAN is across seeds: the paper's initialisation and a weight average (EMA).

For each seed, two DCGANs of the cpu profile's sizes train on the same digits, interleaved in blocks of
steps so that machine load falls on both alike:

* ``glorot``: the layers' Keras default initialisation (Glorot uniform), as the course had it before;
* ``normal02``: every convolution and dense kernel drawn from N(0, 0.02), as in Radford et al. (2016).

Both keep an exponential moving average of the generator's weights (``training.EMA``, the decay the
trainer uses), so each run is judged twice: sampling from the generator as trained (``raw``) and from
the averaged one (``ema``). Each is judged by lesson 07's measures in the feature space of a lesson-03
classifier: Digits-FID against held-out digits, precision/recall, the share of samples the classifier
is unsure of (top probability below 0.7) and the class histogram (smallest class share, modes covered).

    COURSE_CPU_BFLOAT16=0 python benchmarks/dcgan_robustness.py --seeds 0 1 2     # float32, 1,560 steps each
    python benchmarks/dcgan_robustness.py --quick                                  # a minute or two
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

NAME = "dcgan_robustness"
INITS = ("glorot", "normal02")
#: A sample counts as "unsure" when the classifier's top probability is below this (as in the report of a run
#: on real MNIST that motivated this benchmark).
UNSURE_BELOW = 0.7


class _Run:
    """One DCGAN configuration: its models, train step, EMA of the generator and batches."""

    def __init__(self, init: str, *, profile: Any, images: Any, seed: int, policy: str | None) -> None:
        import keras
        import tensorflow as tf

        from course_utils import dcgan, gan
        from course_utils.runtime import training_precision
        from course_utils.training import EMA

        keras.utils.set_random_seed(seed)
        init_std = None if init == "glorot" else 0.02
        with training_precision(policy):
            self.generator = gan.build_generator(latent_dim=profile.latent_dim, width=profile.width, init_std=init_std)
            discriminator = gan.build_discriminator(width=profile.width, init_std=init_std)
            g_opt = keras.optimizers.Adam(dcgan.LEARNING_RATE, beta_1=dcgan.BETA_1)
            d_opt = keras.optimizers.Adam(dcgan.LEARNING_RATE, beta_1=dcgan.BETA_1)
        self.step = dcgan.make_train_step(
            self.generator, discriminator, g_opt, d_opt, latent_dim=profile.latent_dim, seed=seed
        )
        self.ema = EMA(self.generator)
        ds = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed).repeat()
        self.batches = iter(ds.batch(profile.batch_size, drop_remainder=True).prefetch(2))
        self.init, self.latent_dim, self.steps, self.seconds = init, profile.latent_dim, 0, 0.0

    def train(self, steps: int) -> None:
        start = time.perf_counter()
        for _ in range(steps):
            out = self.step(next(self.batches))
            self.ema.update()
            self.steps += 1
        float(out["d_loss"])  # wait for the last step before stopping the clock
        self.seconds += time.perf_counter() - start

    def samples(self, n: int, averaged: bool) -> Any:
        import numpy as np
        import tensorflow as tf

        generator = self.ema.model if averaged else self.generator
        noise = tf.random.stateless_normal((n, self.latent_dim), seed=(1, 2))
        return np.concatenate([np.asarray(generator(noise[i : i + 500], training=False)) for i in range(0, n, 500)])


def judge(images: Any, clf: Any, real_features: Any) -> dict[str, float]:
    """Digits-FID, precision/recall, unsure share and class histogram of generated digits in [-1, 1]."""
    import numpy as np

    from course_utils import classifier, evaluation

    features = evaluation.digits_features(images, clf)
    fid = evaluation.fid_from_features(features, real_features)
    pr = evaluation.precision_recall(real_features, features)
    logits = classifier.predict_logits(clf, images)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    coverage = evaluation.mode_coverage(np.argmax(logits, axis=1).astype(np.int64), 10)
    return {
        "fid": round(fid, 2),
        "precision": round(pr.precision, 3),
        "recall": round(pr.recall, 3),
        "unsure": round(float(np.mean(probabilities.max(axis=1) < UNSURE_BELOW)), 3),
        "smallest_class": round(float(coverage.fractions.min()), 3),
        "kl_to_uniform": round(coverage.kl_to_uniform, 3),
        "modes_covered": int(coverage.modes_covered),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, judge, print a table of means and spreads; save the JSON. Returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="default: the cpu profile's 10 epochs of n_train")
    parser.add_argument("--block", type=int, default=50, help="steps per block of the interleaving")
    parser.add_argument("--n-train", type=int, default=20_000, help="training digits (the cpu profile's n_train)")
    parser.add_argument("--n-eval", type=int, default=2_000, help="samples and real digits per measure")
    parser.add_argument("--source", default="auto", choices=("auto", "mnist", "standin"), help="digits source")
    parser.add_argument("--quick", action="store_true", help="small data, 200 steps, 2 seeds")
    parser.add_argument("--tiny", action="store_true", help="test sizes: seconds, meaningless numbers")
    args = parser.parse_args(argv)

    common.quiet_tensorflow()
    import numpy as np

    from course_utils import classifier, datasets, evaluation
    from course_utils.paths import runs_dir
    from course_utils.pipeline import to_model_range
    from course_utils.profiles import PROFILES
    from course_utils.runtime import training_policy
    from course_utils.training import steps_per_run

    profile = PROFILES["cpu"]
    n_train, n_eval, seeds = args.n_train, args.n_eval, list(args.seeds)
    clf_profile = profile
    if args.quick:
        n_train, n_eval, seeds = 3_000, 500, seeds[:2]
    if args.tiny:
        n_train, n_eval, seeds = 256, 64, seeds[:1]
        profile = profile.replace(width=4, latent_dim=8, batch_size=32)
        clf_profile = profile.replace(classifier_epochs=1)
    steps = args.steps or steps_per_run(n_train, profile.batch_size, profile.gan_epochs)
    if args.quick and not args.steps:
        steps = 200
    if args.tiny:
        steps = 4
    info = common.machine()
    policy = training_policy(profile.mixed_precision)  # float32 unless this CPU runs bfloat16 (and it is allowed)

    data = datasets.load_digits(n_train=n_train, n_test=max(n_eval, 100), source=args.source, seed=0)
    clf_path = runs_dir("benchmarks") / f"digits_classifier{'_tiny' if args.tiny else ''}.keras"
    clf = classifier.load_or_train_classifier(
        clf_profile.replace(n_train=n_train, n_test=max(n_eval, 100)), data=data, path=clf_path, verbose=False
    )
    real = data.x_test[:n_eval]
    real_features = evaluation.digits_features(real, clf)
    images = np.asarray(to_model_range(data.x_train[..., None]), dtype=np.float32)
    floor = None
    if n_eval >= 100:  # two halves of the real digits: the FID of a perfect generator at this sample size
        half = n_eval // 2
        floor = round(evaluation.fid_from_features(real_features[:half], real_features[half:]), 2)
    real_judged = judge(np.asarray(to_model_range(real[..., None]), dtype=np.float32), clf, real_features)

    results: list[dict[str, Any]] = []
    wall_start = time.perf_counter()
    for seed in seeds:
        runs = [_Run(init, profile=profile, images=images, seed=seed, policy=policy) for init in INITS]
        for run in runs:  # trace the step once before any clock starts (not counted)
            run.train(1)
            run.steps, run.seconds = 0, 0.0
            run.ema.reset()
        done = 0
        while done < steps:
            block = min(args.block, steps - done)
            for run in runs:
                run.train(block)
            done += block
            if done % (10 * args.block) == 0 or done == steps:
                rates = ", ".join(f"{run.init} {run.steps / max(run.seconds, 1e-9):.1f} steps/s" for run in runs)
                print(f"  seed {seed}: {done} of {steps} steps ({rates})", flush=True)
        for run in runs:
            for averaged in (False, True):
                figures = judge(run.samples(n_eval, averaged), clf, real_features)
                row = {"seed": seed, "init": run.init, "sampled_from": "ema" if averaged else "raw", **figures}
                row["train_seconds"] = round(run.seconds, 1)
                results.append(row)
                print(
                    f"  seed {seed} {run.init:<8} {row['sampled_from']:<3} FID {figures['fid']:7.2f} "
                    f"P/R {figures['precision']:.2f}/{figures['recall']:.2f} unsure {figures['unsure']:.1%} "
                    f"smallest class {figures['smallest_class']:.1%} ({run.seconds:.0f} s)",
                    flush=True,
                )

    summary = []
    for init in INITS:
        for sampled in ("raw", "ema"):
            rows = [r for r in results if r["init"] == init and r["sampled_from"] == sampled]
            entry: dict[str, Any] = {"init": init, "sampled_from": sampled}
            for key in ("fid", "precision", "recall", "unsure", "smallest_class"):
                values = [r[key] for r in rows]
                entry[key] = {
                    "mean": round(statistics.fmean(values), 3),
                    "min": min(values),
                    "max": max(values),
                    "values": values,
                }
            summary.append(entry)
    table_rows = [
        (
            e["init"],
            e["sampled_from"],
            f"{e['fid']['mean']:.1f} ({e['fid']['min']:.1f}-{e['fid']['max']:.1f})",
            f"{e['precision']['mean']:.2f}/{e['recall']['mean']:.2f}",
            f"{e['unsure']['mean']:.1%} (max {e['unsure']['max']:.1%})",
            f"{e['smallest_class']['mean']:.1%} (min {e['smallest_class']['min']:.1%})",
        )
        for e in summary
    ]
    table = common.format_table(
        ["init", "sampled from", "Digits-FID mean (range)", "precision/recall", "unsure", "smallest class"],
        table_rows,
    )
    table += (
        f"\n{len(seeds)} seed(s), {steps} steps each at batch {profile.batch_size}, width {profile.width}, "
        f"in {policy or 'float32'}; {n_eval} samples vs {n_eval} held-out {data.name} digits. Real digits: "
        f"unsure {real_judged['unsure']:.1%}, smallest class {real_judged['smallest_class']:.1%}; "
        f"real-vs-real FID floor {floor}."
    )
    figures_out = {
        "seeds": seeds,
        "steps": steps,
        "data": data.name,
        "n_train": n_train,
        "n_eval": n_eval,
        "precision": policy or "float32",
        "config": {"width": profile.width, "latent_dim": profile.latent_dim, "batch_size": profile.batch_size},
        "real_digits": real_judged,
        "real_vs_real_fid_half_sets": floor,
        "runs": results,
        "summary": summary,
        "wall_seconds": round(time.perf_counter() - wall_start, 1),
    }
    name = NAME if seeds == [0, 1, 2] or args.tiny or args.quick else f"{NAME}_seed{'-'.join(map(str, seeds))}"
    common.report(name, info, table, figures_out, quick=args.quick or args.tiny)
    return figures_out


if __name__ == "__main__":
    main()
