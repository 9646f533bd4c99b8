"""Held-out quality of lesson 10's inpainters against training wall time, next to the classical methods.

Four designs train in the same run, interleaved in chunks of steps so that a busy machine slows them alike:
``plain`` (the partial-convolution U-Net), ``fill`` (the same U-Net correcting the smooth fill of
``inpainting.SmoothFill``, ``start_from_fill=True``), ``fill+aug`` (that, on flipped, turned and grey copies of
the photos) and ``fill+aug+teacher`` (that, learning the hole from the fills of a Gaussian prior learned from
the training photos, ``gaussian_prior.GaussianPrior``, as lesson 10 trains it; fitting the prior and filling the
training photos count in its seconds). At a few checkpoints each design's composites of held-out photos are scored
(mean PSNR and hole L1 per mask kind, the same masks for every method) against its training seconds so far. The
classical methods (Telea, Navier-Stokes, biharmonic, mean fill), the smooth fill alone and the Gaussian prior
alone are scored once, on the same photos and masks. Data and sizes are the cpu profile's, in float32
(``--bf16`` trains in mixed_bfloat16).

    python benchmarks/inpainter_quality.py
    python benchmarks/inpainter_quality.py --quick     # 60 steps, 300 held-out photos
    python benchmarks/inpainter_quality.py --designs fill+aug+teacher   # only lesson 10's design
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

NAME = "inpainter_quality"
#: (start_from_fill, augment, teacher)
DESIGNS = {
    "plain": (False, False, False),
    "fill": (True, False, False),
    "fill+aug": (True, True, False),
    "fill+aug+teacher": (True, True, True),
}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, score, print a table, save the JSON; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="train steps per design (default: lesson 10's cpu run)")
    parser.add_argument("--checkpoints", type=int, default=3, help="evaluations per design, evenly spaced")
    parser.add_argument("--n-eval", type=int, default=1000, help="held-out photos per mask kind")
    parser.add_argument("--chunk", type=int, default=20, help="steps per design before switching to the next")
    parser.add_argument("--bf16", action="store_true", help="train in mixed_bfloat16 where the CPU has it")
    parser.add_argument("--quick", action="store_true", help="60 steps, 300 held-out photos")
    parser.add_argument(
        "--designs", nargs="+", choices=list(DESIGNS), default=list(DESIGNS), help="train only these designs"
    )
    parser.add_argument("--tiny", action="store_true", help="test sizes: seconds, meaningless numbers")
    args = parser.parse_args(argv)

    common.quiet_tensorflow()
    import keras
    import numpy as np

    from course_utils import baselines, datasets, inpainting, masks, metrics
    from course_utils.gaussian_prior import GaussianPrior
    from course_utils.profiles import PROFILES
    from course_utils.runtime import float32_copy, training_precision

    profile = PROFILES["cpu"]
    n_train, n_test, width, batch = profile.n_train, profile.n_test, profile.width, profile.batch_size
    steps = args.steps or inpainting.steps_per_run(n_train, batch, profile.photo_inpaint_epochs)
    n_eval, checkpoints, chunk = args.n_eval, args.checkpoints, args.chunk
    if args.quick:
        steps, n_eval = 60, 300
    if args.tiny:
        n_train, n_test, width, batch, steps, n_eval, checkpoints, chunk = 64, 16, 4, 8, 2, 16, 1, 1
    info = common.machine()
    data = datasets.load_natural_images(n_train=n_train, n_test=max(n_test, n_eval), size=32, verbose=False)
    x_train = data.x_train.astype(np.float32) / 255.0
    x_test = data.x_test[:n_eval].astype(np.float32) / 255.0
    pool = inpainting.training_masks(min(len(x_train), 3000), 32, seed=1)
    test_masks = {kind: masks.make_masks(kind, len(x_test), 32, seed=100 + i) for i, kind in enumerate(masks.KINDS)}

    def score(filled_by_kind: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        out = {}
        for kind, filled in filled_by_kind.items():
            per_image = metrics.evaluate(filled, x_test, test_masks[kind])
            out[kind] = {
                "psnr": round(float(np.mean(per_image["psnr"])), 3),
                "hole_l1": round(float(np.mean(per_image["masked_l1"])), 5),
            }
        return out

    classical = {
        method: score({kind: baselines.inpaint(x_test, m, method) for kind, m in test_masks.items()})
        for method in baselines.METHODS
    }
    classical["smooth fill"] = score(
        {kind: inpainting.SmoothFill()((x_test * m, m)).numpy() for kind, m in test_masks.items()}
    )

    start = time.perf_counter()
    prior = GaussianPrior.fit(x_train)
    prior_seconds = time.perf_counter() - start
    learned_alone = {"gaussian prior": score({kind: prior.fill(x_test, m) for kind, m in test_masks.items()})}

    runs: dict[str, dict[str, Any]] = {}
    for name in args.designs:
        start_from_fill, augment, teacher = DESIGNS[name]
        keras.utils.set_random_seed(0)
        with training_precision("mixed_bfloat16" if args.bf16 else None):
            model = inpainting.build_inpainter(image_size=32, width=width, depth=3, start_from_fill=start_from_fill)
            optimizer = keras.optimizers.Adam(inpainting.LEARNING_RATE)
        start = time.perf_counter()
        dataset = inpainting.make_training_dataset(
            x_train, pool, batch_size=batch, augment=augment, teacher=prior if teacher else None
        ).repeat()
        seconds = time.perf_counter() - start + (prior_seconds if teacher else 0.0)
        step = inpainting.make_train_step(model, optimizer)
        runs[name] = {
            "model": model, "step": step, "batches": iter(dataset), "seconds": seconds, "done": 0, "points": []
        }
    marks = sorted({max(1, round(steps * (i + 1) / checkpoints)) for i in range(checkpoints)})
    for mark in marks:
        while any(run["done"] < mark for run in runs.values()):
            for run in runs.values():
                n = min(chunk, mark - run["done"])
                if n <= 0:
                    continue
                start = time.perf_counter()
                for _ in range(n):
                    out = run["step"](*next(run["batches"]))
                float(out["loss"])
                run["seconds"] += time.perf_counter() - start
                run["done"] += n
        for run in runs.values():
            model = float32_copy(run["model"])
            filled = {
                kind: inpainting.composite(x_test, m, inpainting.predict(model, x_test, m))
                for kind, m in test_masks.items()
            }
            run["points"].append({"steps": mark, "train_seconds": round(run["seconds"], 1), **score(filled)})

    best = {kind: min(baselines.METHODS, key=lambda method: classical[method][kind]["hole_l1"]) for kind in masks.KINDS}
    figures: dict[str, Any] = {
        "data": data.name,
        "n_train": len(x_train),
        "n_eval_per_kind": len(x_test),
        "width": width,
        "batch_size": batch,
        "precision": "mixed_bfloat16" if args.bf16 else "float32",
        "classical": classical,
        "learned_without_training_steps": learned_alone,
        "prior_fit_seconds": round(prior_seconds, 1),
        "best_classical_by_hole_l1": best,
        "designs": {name: run["points"] for name, run in runs.items()},
    }
    headers = ["method", "steps", "train s", *(f"{kind} {m}" for kind in masks.KINDS for m in ("PSNR", "L1"))]
    rows = []
    for method, kinds in {**classical, **learned_alone}.items():
        rows.append(
            [method, "-", "-", *(v for kind in masks.KINDS for v in (kinds[kind]["psnr"], kinds[kind]["hole_l1"]))]
        )
    for name, run in runs.items():
        for point in run["points"]:
            rows.append(
                [
                    name,
                    point["steps"],
                    point["train_seconds"],
                    *(v for kind in masks.KINDS for v in (point[kind]["psnr"], point[kind]["hole_l1"])),
                ]
            )
    table = common.format_table(headers, rows)
    final = {name: run["points"][-1] for name, run in runs.items()} | {
        name: {"steps": 0, **kinds} for name, kinds in learned_alone.items()
    }
    verdicts = []
    for name, point in final.items():
        wins = [
            kind
            for kind in masks.KINDS
            if point[kind]["psnr"] > classical[best[kind]][kind]["psnr"]
            and point[kind]["hole_l1"] < classical[best[kind]][kind]["hole_l1"]
        ]
        verdicts.append(
            f"{name}: beats the best classical method (by hole L1) on PSNR and hole L1 for "
            f"{len(wins)} of {len(masks.KINDS)} mask kinds ({', '.join(wins) or 'none'})."
        )
        figures.setdefault("beats_best_classical", {})[name] = wins
    table += "\n" + "\n".join(verdicts)
    common.report(NAME, info, table, figures, quick=args.quick or args.tiny)
    return figures


if __name__ == "__main__":
    main()
