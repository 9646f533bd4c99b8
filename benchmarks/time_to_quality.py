"""Digits-FID against training wall time: the course's DCGAN configuration vs TensorFlow's tutorial.

Both train on the same digits, on the same machine, in the same run, *interleaved*: each trains until its
own accumulated training time reaches the next checkpoint, is evaluated (not timed), and then the other one
does the same. FID is lesson 07's Digits-FID (``evaluation.fid_from_features`` on
``evaluation.digits_features``, i.e. in the feature space of a lesson-03 classifier) of ``n_eval`` samples
against ``n_eval`` held-out real digits. The report gives the time at which the course configuration first
reaches the tutorial's FID at the end of the budget, and that time as a fraction of the budget.

The course configuration is what the cpu profile trains: its width, latent size and batch, in its training
precision (``mixed_bfloat16`` where the CPU has bfloat16 instructions, through ``runtime.training_precision``;
``--course-precision float32`` turns that off). The tutorial is float32, as the tutorial writes it.

    python benchmarks/time_to_quality.py --budget 480            # 8 training minutes each
    python benchmarks/time_to_quality.py --quick                  # about a minute in all
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

NAME = "time_to_quality"
#: Checkpoints as fractions of the budget: dense early, so that "within 1/3 of the time" can be resolved.
FRACTIONS = (1 / 24, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 5 / 6, 1.0)


class _Trainer:
    """One configuration: its generator, train step, batches, and the training time spent so far."""

    def __init__(
        self, name: str, generator: Any, step: Any, images: Any, batch_size: int, latent_dim: int, seed: int = 0
    ) -> None:
        import tensorflow as tf

        self.name, self.generator, self.step, self.latent_dim = name, generator, step, latent_dim
        self.batch_size = batch_size
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
            float(out["d_loss"])  # wait for the step to finish before stopping the clock
            self.seconds += time.perf_counter() - start
            self.steps += 1

    def samples(self, n: int) -> Any:
        import numpy as np
        import tensorflow as tf

        noise = tf.random.stateless_normal((n, self.latent_dim), seed=(1, 2))
        return np.concatenate(
            [np.asarray(self.generator(noise[i : i + 500], training=False)) for i in range(0, n, 500)]
        )


def first_time_at_or_below(curve: list[dict[str, float]], target: float) -> float | None:
    """The training time of the first checkpoint whose FID is at most ``target``, or None if none is."""
    for point in curve:
        if point["fid"] <= target:
            return point["seconds"]
    return None


def time_staying_at_or_below(curve: list[dict[str, float]], target: float) -> float | None:
    """The training time of the first checkpoint from which every later FID is at most ``target``, or None."""
    since = None
    for point in curve:
        if point["fid"] <= target:
            since = point["seconds"] if since is None else since
        else:
            since = None
    return since


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the comparison; print a table; save the JSON. Returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=480.0, help="training seconds for each configuration")
    parser.add_argument("--quick", action="store_true", help="a ~1 minute version (small data, 20 s budget)")
    parser.add_argument("--tiny", action="store_true", help="test sizes: seconds, meaningless numbers")
    parser.add_argument("--n-train", type=int, default=20_000, help="training digits (the cpu profile's n_train)")
    parser.add_argument("--n-eval", type=int, default=2_000, help="samples and real digits per FID")
    parser.add_argument("--source", default="auto", choices=("auto", "mnist", "standin"), help="digits source")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, noise and batch order")
    parser.add_argument("--course-width", type=int, default=None, help="default: the cpu profile's width")
    parser.add_argument(
        "--course-precision",
        default="profile",
        choices=("profile", "float32", "mixed_bfloat16"),
        help="the course configuration's training precision; default: the cpu profile's, as the trainers apply it",
    )
    args = parser.parse_args(argv)

    common.quiet_tensorflow()
    import keras
    import numpy as np

    from course_utils import classifier, datasets, evaluation
    from course_utils.paths import runs_dir
    from course_utils.pipeline import to_model_range
    from course_utils.profiles import PROFILES
    from course_utils.runtime import training_policy

    cpu = PROFILES["cpu"]
    budget, n_train, n_eval, scale, clf_epochs = args.budget, args.n_train, args.n_eval, 1, cpu.classifier_epochs
    if args.quick:
        budget, n_train, n_eval, clf_epochs = 20.0, 3_000, 500, 2
    if args.tiny:
        budget, n_train, n_eval, scale, clf_epochs = 1.0, 300, 64, 8, 1
    course_width = args.course_width or max(1, cpu.width // scale)
    info = common.machine()
    keras.utils.set_random_seed(args.seed)

    data = datasets.load_digits(n_train=n_train, n_test=max(n_eval, 100), source=args.source, seed=0)
    clf_profile = cpu.replace(
        n_train=n_train, n_test=max(n_eval, 100), classifier_epochs=clf_epochs, width=max(4, cpu.width // scale)
    )
    clf_path = runs_dir("benchmarks") / f"digits_classifier{'_tiny' if args.tiny else ''}.keras"
    clf = classifier.load_or_train_classifier(clf_profile, data=data, path=clf_path, verbose=False)
    real_features = evaluation.digits_features(data.x_test[:n_eval], clf)
    images = np.asarray(to_model_range(data.x_train[..., None]), dtype=np.float32)

    requested = cpu.mixed_precision if args.course_precision == "profile" else args.course_precision
    course_policy = training_policy(requested)  # what this hardware runs; the tutorial stays float32
    g_c, _, step_c = common.make_course_step(
        width=course_width, latent_dim=cpu.latent_dim, seed=args.seed, policy=course_policy
    )
    g_t, d_t = common.build_tutorial_models(common.TUTORIAL["latent_dim"], scale=scale)
    tut_batch = min(common.TUTORIAL["batch_size"], n_train)
    step_t = common.make_tutorial_step(g_t, d_t, batch_size=tut_batch, latent_dim=common.TUTORIAL["latent_dim"])
    trainers = [
        _Trainer("course", g_c, step_c, images, min(cpu.batch_size, n_train), cpu.latent_dim, args.seed),
        _Trainer("tutorial", g_t, step_t, images, tut_batch, common.TUTORIAL["latent_dim"], args.seed),
    ]
    for trainer in trainers:  # trace and run one step each before any clock starts
        trainer.train_until(0.0)
        trainer.seconds, trainer.steps = 0.0, 0

    curves: dict[str, list[dict[str, float]]] = {t.name: [] for t in trainers}
    wall_start = time.perf_counter()
    for fraction in FRACTIONS:
        for trainer in trainers:
            trainer.train_until(fraction * budget)
            fid = evaluation.fid_from_features(evaluation.digits_features(trainer.samples(n_eval), clf), real_features)
            point = {
                "seconds": round(trainer.seconds, 2),
                "steps": trainer.steps,
                "images_seen": trainer.steps * trainer.batch_size,
                "fid": round(fid, 3),
            }
            curves[trainer.name].append(point)
            print(
                f"  {trainer.name:<8} t={point['seconds']:8.1f}s steps={point['steps']:6d} FID={fid:9.3f}", flush=True
            )

    target = curves["tutorial"][-1]["fid"]
    t_course = first_time_at_or_below(curves["course"], target)
    t_course_stays = time_staying_at_or_below(curves["course"], target)
    t_tutorial = curves["tutorial"][-1]["seconds"]
    fraction = None if t_course is None else round(t_course / t_tutorial, 3)
    fraction_stays = None if t_course_stays is None else round(t_course_stays / t_tutorial, 3)
    real_vs_real = None
    if len(data.x_test) >= 2 * 50 and n_eval >= 100:  # a floor for the FID: two halves of the real digits
        half = n_eval // 2
        real_vs_real = round(evaluation.fid_from_features(real_features[:half], real_features[half:]), 3)
    figures = {
        "budget_seconds": budget,
        "seed": args.seed,
        "data": data.name,
        "n_train": n_train,
        "n_eval": n_eval,
        "course_config": {
            "width": course_width,
            "latent_dim": cpu.latent_dim,
            "batch_size": trainers[0].batch_size,
            "adam": "2e-4, beta_1 0.5",
            "precision": course_policy,
        },
        "tutorial_config": {
            "width": 64 // scale,
            "latent_dim": 100,
            "batch_size": tut_batch,
            "adam": "1e-4",
            "precision": "float32",
        },
        "curves": curves,
        "tutorial_final_fid": target,
        "course_seconds_to_tutorial_final_fid": t_course,
        "fraction_of_tutorial_time": fraction,
        "course_seconds_staying_at_or_below": t_course_stays,
        "fraction_staying_at_or_below": fraction_stays,
        "goal_fraction": round(1 / 3, 3),
        "goal_met": fraction is not None and fraction <= 1 / 3 + 1e-9,
        "real_vs_real_fid_half_sets": real_vs_real,
        "wall_seconds": round(time.perf_counter() - wall_start, 1),
    }
    rows = []
    for i, fraction_i in enumerate(FRACTIONS):
        c, t = curves["course"][i], curves["tutorial"][i]
        rows.append((f"{fraction_i:.3f}", c["seconds"], c["steps"], c["fid"], t["seconds"], t["steps"], t["fid"]))
    table = common.format_table(
        ["budget", "course s", "steps", "course FID", "tutorial s", "steps", "tutorial FID"], rows
    )
    verdict = (
        "never reached within the budget"
        if t_course is None
        else f"reached after {t_course:.1f} s = {fraction:.3f} of the tutorial's {t_tutorial:.1f} s"
    )
    table += (
        f"\nCourse configuration in {course_policy}, tutorial in float32 (as written)."
        f"\nTutorial's final Digits-FID {target:.3f}; the course configuration {verdict} "
        f"(goal <= 1/3: {'met' if figures['goal_met'] else 'NOT met'}); it stays at or below it from "
        f"{t_course_stays} s = {fraction_stays} of the budget on. Real-vs-real FID floor: {real_vs_real}."
    )
    name = NAME if args.seed == 0 else f"{NAME}_seed{args.seed}"
    common.report(name, info, table, figures, quick=args.quick or args.tiny)
    return figures


if __name__ == "__main__":
    main()
