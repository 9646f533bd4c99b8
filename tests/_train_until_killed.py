"""A slow training run for tests/test_training.py to kill with SIGKILL halfway through.

Usage: ``COURSE_RUNS_DIR=<dir> python tests/_train_until_killed.py <weights_dir> <steps>``.
It trains the line-fitting problem below, sleeping a little each step, and after every step
writes the weights to ``<weights_dir>/<step>.npy`` so the test can compare them with a checkpoint.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

RUN_NAME = "line"
CHECKPOINT_EVERY = 5


def line_problem():
    """A Dense(1) model, its optimizer, a tf.function train step and a dataset of y = 3x + 1."""
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(0.05)
    x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    dataset = tf.data.Dataset.from_tensor_slices((x, 3 * x + 1)).batch(16)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return {"loss": loss}

    return model, optimizer, train_step, dataset


def main() -> None:
    from course_utils.training import TrainingRun

    weights_dir, steps = Path(sys.argv[1]), int(sys.argv[2])
    model, optimizer, train_step, dataset = line_problem()
    run = TrainingRun(RUN_NAME, model=model, optimizer=optimizer)
    done = run.step

    def slow_step(x, y):
        nonlocal done
        losses = train_step(x, y)
        done += 1
        np.save(weights_dir / f"{done}.npy", np.concatenate([v.numpy().ravel() for v in model.weights]))
        time.sleep(0.05)
        return losses

    run.fit(slow_step, dataset, steps=steps, checkpoint_every=CHECKPOINT_EVERY, log_every=1, progress=False)


if __name__ == "__main__":
    main()
