"""Tests of course_utils.training: resume after a kill, damaged checkpoints, divergence, logs and samples."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from course_utils.training import (  # noqa: E402
    History,
    RunInUse,
    TrainingDiverged,
    TrainingRun,
    image_grid,
    make_gif,
    move_run_aside,
    plot_history,
)
from tests._train_until_killed import CHECKPOINT_EVERY, RUN_NAME, line_problem  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch):
    """Every test writes its runs under its own temporary folder."""
    root = tmp_path / "runs"
    monkeypatch.setenv("COURSE_RUNS_DIR", str(root))
    return root


def weights_of(model) -> np.ndarray:
    return np.concatenate([v.numpy().ravel() for v in model.weights])


def new_run(name="line", **kwargs):
    model, optimizer, train_step, dataset = line_problem()
    run = TrainingRun(name, model=model, optimizer=optimizer, **kwargs)
    return run, model, train_step, dataset


def summaries_in(log_dir: Path) -> dict[str, list]:
    """{tag: [(step, TensorBoard plugin name, value as a NumPy array), ...]} read back from the event files."""
    found: dict[str, list] = {}
    for event_file in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                entry = (event.step, value.metadata.plugin_data.plugin_name, tf.make_ndarray(value.tensor))
                found.setdefault(value.tag, []).append(entry)
    return found


# ---------------------------------------------------------------------- kill and resume


def test_resume_after_sigkill_continues_the_count_without_duplicates(runs_root, tmp_path):
    steps = 60
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    env = dict(os.environ, COURSE_RUNS_DIR=str(runs_root), PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "_train_until_killed.py"), str(weights_dir), str(steps)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    state_file = runs_root / RUN_NAME / "checkpoints" / "checkpoint"
    history_file = runs_root / RUN_NAME / "history.jsonl"
    deadline = time.monotonic() + 120
    try:
        # Kill once a checkpoint exists and the history has run past it, so truncation is exercised.
        while True:
            assert child.poll() is None, f"the training script stopped early:\n{child.stderr.read().decode()}"
            assert time.monotonic() < deadline, "no checkpoint appeared within two minutes"
            if state_file.exists() and history_file.exists():
                if len(history_file.read_text().splitlines()) >= CHECKPOINT_EVERY + 2:
                    break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    logged_before = [json.loads(line)["step"] for line in history_file.read_text().splitlines() if line.endswith("}")]
    run, model, train_step, dataset = new_run(RUN_NAME)
    resumed = run.step
    assert resumed >= CHECKPOINT_EVERY and resumed % CHECKPOINT_EVERY == 0
    assert resumed < steps, "the kill should land mid-run"
    assert max(logged_before) > resumed, "the killed run had logged steps after its last checkpoint"
    np.testing.assert_array_equal(weights_of(model), np.load(weights_dir / f"{resumed}.npy"))
    assert run.history.steps == list(range(1, resumed + 1))

    history = run.fit(train_step, dataset, steps=steps, log_every=1, progress=False)
    assert history.steps == list(range(1, steps + 1))
    on_disk = [json.loads(line)["step"] for line in history_file.read_text().splitlines()]
    assert on_disk == list(range(1, steps + 1))
    assert run.step == steps and run.latest_checkpoint.name == f"ckpt-{steps}"

    # Re-running the same cell on a finished run trains nothing.
    finished = weights_of(model)
    again = run.fit(train_step, dataset, steps=steps, log_every=1, progress=False)
    assert len(again) == steps and run.step == steps
    np.testing.assert_array_equal(weights_of(model), finished)


def test_keyboard_interrupt_saves_the_last_finished_step_and_reraises():
    run, model, train_step, dataset = new_run()
    calls = 0

    def interrupted_at_seventh_call(x, y):
        nonlocal calls
        calls += 1
        if calls == 7:
            raise KeyboardInterrupt
        return train_step(x, y)

    with pytest.raises(KeyboardInterrupt):
        run.fit(interrupted_at_seventh_call, dataset, steps=50, checkpoint_every=100, log_every=4, progress=False)
    assert run.step == 6 and run.latest_checkpoint.name == "ckpt-6"
    assert run.history.steps == [4, 6]
    saved = weights_of(model)

    resumed, model, _, _ = new_run()
    assert resumed.step == 6 and resumed.history.steps == [4, 6]
    np.testing.assert_array_equal(weights_of(model), saved)


def test_progress_bar_starts_at_the_resumed_step(capsys):
    run, _, train_step, dataset = new_run()
    run.fit(train_step, dataset, steps=3, progress=False)
    run, _, train_step, dataset = new_run()
    assert "Resumed from step 3 (runs/line/checkpoints/ckpt-3)" in capsys.readouterr().out
    run.fit(train_step, dataset, steps=5, log_every=1)
    bar = capsys.readouterr().err
    assert "3/5" in bar and "5/5" in bar and "loss=" in bar


# ---------------------------------------------------------------------- damaged checkpoints


def two_checkpoints():
    """A run with checkpoints at steps 5 and 10, and the weights at each."""
    run, model, train_step, dataset = new_run()
    run.fit(train_step, dataset, steps=5, progress=False)
    at_5 = weights_of(model)
    run.fit(train_step, dataset, steps=10, progress=False)
    assert not np.array_equal(weights_of(model), at_5)
    return run.checkpoint_dir, at_5


def test_restore_falls_back_when_the_newest_checkpoint_is_truncated(capsys):
    checkpoint_dir, at_5 = two_checkpoints()
    data = checkpoint_dir / "ckpt-10.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])

    run, model, train_step, dataset = new_run()
    out = capsys.readouterr().out
    assert "Skipped runs/line/checkpoints/ckpt-10" in out and "Resumed from step 5" in out
    assert run.step == 5 and run.history.steps == [5] and run.latest_checkpoint.name == "ckpt-5"
    np.testing.assert_array_equal(weights_of(model), at_5)

    run.fit(train_step, dataset, steps=10, progress=False)  # overwrites the damaged checkpoint
    resumed, _, _, _ = new_run()
    assert resumed.step == 10 and "Skipped" not in capsys.readouterr().out


def test_files_of_a_killed_save_are_ignored():
    checkpoint_dir, _ = two_checkpoints()
    # What a save killed at step 15 can leave: the temporary shard folder, a renamed data file, half an index.
    (checkpoint_dir / "ckpt-15_temp").mkdir()
    (checkpoint_dir / "ckpt-15_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 10)
    (checkpoint_dir / "ckpt-15.data-00000-of-00001").write_bytes(b"\0" * 10)
    (checkpoint_dir / "ckpt-15.index").write_bytes(b"junk")

    run, _, train_step, dataset = new_run()
    assert run.step == 10
    run.fit(train_step, dataset, steps=15, progress=False)
    resumed, _, _, _ = new_run()
    assert resumed.step == 15


def test_restore_explains_when_no_checkpoint_can_be_read():
    checkpoint_dir, _ = two_checkpoints()
    for data in checkpoint_dir.glob("ckpt-*.data-*"):
        data.write_bytes(b"")
    with pytest.raises(RuntimeError, match=r"None of the checkpoints .* resume=False"):
        new_run()


# ---------------------------------------------------------------------- divergence


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint():
    run, model, train_step, dataset = new_run()
    calls = 0

    def nan_at_step_10(x, y):
        nonlocal calls
        calls += 1
        losses = train_step(x, y)
        return {"loss": losses["loss"], "gap": tf.constant(np.nan) if calls == 10 else tf.constant(0.0)}

    with pytest.raises(TrainingDiverged) as caught:
        run.fit(nan_at_step_10, dataset, steps=20, checkpoint_every=5, log_every=1, progress=False)
    message = str(caught.value)
    assert "step 10" in message and "'gap'" in message and "nan" in message
    assert "(step 5, runs/line/checkpoints/ckpt-5)" in message and "learning rate" in message
    assert caught.value.step == 10 and caught.value.checkpoint.name == "ckpt-5"
    assert run.latest_checkpoint.name == "ckpt-5"
    assert not list(run.checkpoint_dir.glob("ckpt-10*")), "step 10 is a checkpoint step, but it diverged"

    assert run.restore() == 5 and run.history.steps == [1, 2, 3, 4, 5]


def test_weights_that_became_nan_are_never_checkpointed():
    run, model, train_step, dataset = new_run()
    run.fit(train_step, dataset, steps=3, progress=False)

    def poisoned(x, y):
        model.layers[0].kernel.assign([[np.nan]])
        return {"loss": tf.constant(1.0)}  # finite, although the weights are not

    with pytest.raises(TrainingDiverged, match=r"weights hold NaN .*model/.*kernel.*\(step 3, "):
        run.fit(poisoned, dataset, steps=6, checkpoint_every=6, progress=False)
    assert run.latest_checkpoint.name == "ckpt-3"
    reader = tf.train.load_checkpoint(str(run.latest_checkpoint))
    for key in reader.get_variable_to_shape_map():
        value = reader.get_tensor(key)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.all(np.isfinite(value)), key


# ---------------------------------------------------------------------- logs and samples


def test_tensorboard_history_and_samples_are_written_at_the_right_steps():
    run, model, train_step, dataset = new_run()
    traces = 0

    @tf.function
    def counted_step(x, y):
        nonlocal traces
        traces += 1  # runs only while TensorFlow traces the function
        return {**train_step(x, y), "half": tf.constant(0.5)}

    fixed = tf.constant(np.linspace(-1, 1, 6, dtype=np.float32)[:, None])

    def sample_fn():
        return tf.tanh(tf.reshape(tf.tile(model(fixed), [1, 16]), (6, 4, 4, 1)))

    history = run.fit(counted_step, dataset, steps=10, sample_fn=sample_fn, sample_every=4, log_every=3, progress=False)
    assert traces == 1, "the tf.function train step must not be retraced"
    assert history.steps == [3, 6, 9, 10] and history["half"] == [0.5] * 4
    assert history.as_dict()["step"] == [3, 6, 9, 10]
    assert [p.name for p in run.sample_paths] == [f"step_{s:06d}.png" for s in (0, 4, 8, 10)]
    assert sorted(p.name for p in run.sample_dir.iterdir()) == [p.name for p in run.sample_paths]
    logged = summaries_in(run.log_dir)
    assert [(step, plugin, float(value)) for step, plugin, value in logged["half"]] == [
        (step, "scalars", 0.5) for step in (3, 6, 9, 10)
    ]
    assert [(step, plugin) for step, plugin, _ in logged["samples"]] == [(s, "images") for s in (0, 4, 8, 10)]
    width, height, png = logged["samples"][-1][2]
    grid = image_grid(sample_fn())
    assert (int(height), int(width)) == grid.shape[:2]
    np.testing.assert_allclose(tf.io.decode_png(png).numpy() / 255, grid, atol=1 / 255)

    import imageio.v3 as iio

    np.testing.assert_allclose(iio.imread(run.sample_paths[-1]) / 255, grid[..., 0], atol=1 / 255)
    gif = make_gif(run.sample_paths, run.run_dir / "training.gif", fps=2)
    assert iio.imread(gif, index=None).shape[0] == 4

    figure = plot_history(history, separate=True)
    assert [ax.get_ylabel() for ax in figure.axes] == ["loss", "half"]
    assert figure.axes[-1].get_xlabel() == "training step"


def test_epochs_and_max_steps_set_the_total():
    run, _, train_step, dataset = new_run()  # 64 points in batches of 16: 4 batches per epoch
    assert len(run.fit(train_step, dataset, epochs=2, log_every=1, progress=False)) == 8
    run.fit(train_step, dataset, epochs=5, max_steps=10, progress=False)
    assert run.step == 10


def test_native_messages_of_the_graph_building_first_step_are_silenced(capfd):
    run, _, train_step, dataset = new_run()

    def noisy_step(*batch):
        os.write(2, b"remapper failed: a harmless C++ message\n")  # what TensorFlow's optimizer may print
        return train_step(*batch)

    run.fit(noisy_step, dataset, steps=3, progress=False)
    assert capfd.readouterr().err.count("remapper failed") == 2  # steps 2 and 3: only the first is hidden
    run.fit(noisy_step, dataset, steps=4, progress=False)
    assert capfd.readouterr().err.count("remapper failed") == 0  # a new fit call builds again: hidden


# ---------------------------------------------------------------------- helpers and argument checks


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid_places_each_image_in_its_tile(channels):
    images = np.linspace(-1, 1, 5 * 4 * 6 * channels, dtype=np.float32).reshape(5, 4, 6, channels)
    grid = image_grid(images, ncols=3, padding=1, pad_value=0.25)
    assert grid.shape == (2 * 4 + 3, 3 * 6 + 4, channels) and grid.dtype == np.float32
    np.testing.assert_allclose(grid[1 + 5 : 1 + 5 + 4, 1 + 7 : 1 + 7 + 6], (images[4] + 1) / 2)  # row 1, col 1
    np.testing.assert_array_equal(grid[6:10, 15:21], 0.25)  # the empty sixth tile
    assert image_grid(images).shape == (2 * 4 + 6, 3 * 6 + 8, channels)  # default: 3 columns for 5 images


def test_image_grid_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match=r"\(N, height, width, channels\)"):
        image_grid(np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="1 \\(grey\\) or 3 \\(RGB\\) channels"):
        image_grid(np.zeros((4, 8, 8, 2)))
    with pytest.raises(ValueError, match="NaN"):
        image_grid(np.full((1, 2, 2, 1), np.nan))


def test_fit_rejects_bad_arguments_before_training():
    run, model, train_step, dataset = new_run()
    for steps in (0, -3):
        with pytest.raises(ValueError, match=f"steps must be at least 1; got {steps}"):
            run.fit(train_step, dataset, steps=steps, progress=False)
    with pytest.raises(ValueError, match="either steps=... .* or epochs=...; got both"):
        run.fit(train_step, dataset, steps=5, epochs=1, progress=False)
    with pytest.raises(ValueError, match="unknown length|endless"):
        run.fit(train_step, dataset.repeat(), epochs=1, progress=False)
    with pytest.raises(TypeError, match="dataset must give batches"):
        run.fit(train_step, np.zeros((8, 1)), steps=5, progress=False)
    with pytest.raises(ValueError, match=r"\[-1, 1\].*images \* 2 - 1"):
        run.fit(train_step, dataset, steps=5, sample_fn=lambda: np.full((2, 4, 4, 1), 255.0), progress=False)
    with pytest.raises(ValueError, match=r"\(N, height, width, channels\).*images\[\.\.\., None\]"):
        run.fit(train_step, dataset, steps=5, sample_fn=lambda: np.zeros((2, 4, 4)), progress=False)
    assert run.step == 0, "nothing may train when an argument is wrong"
    with pytest.raises(TypeError, match="dict of scalar losses"):
        run.fit(lambda x, y: train_step(x, y)["loss"], dataset, steps=5, progress=False)
    with pytest.raises(ValueError, match="single number"):
        run.fit(lambda x, y: {"loss": tf.zeros(3)}, dataset, steps=5, progress=False)


def test_training_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match="models and optimizers to checkpoint"):
        TrainingRun("empty")
    with pytest.raises(ValueError, match="'step' is the name"):
        TrainingRun("clash", step=tf.Variable(0))
    with pytest.raises(TypeError, match="can only checkpoint models"):
        TrainingRun("not_trackable", weights=np.zeros(3))
    with pytest.raises(ValueError, match="one plain folder name"):
        TrainingRun("", v=tf.Variable(0.0))


def test_resume_false_starts_over():
    run, _, train_step, dataset = new_run()
    run.fit(train_step, dataset, steps=3, progress=False)
    fresh, _, _, _ = new_run(resume=False)
    assert fresh.step == 0 and len(fresh.history) == 0 and fresh.latest_checkpoint is None


def test_history_and_plot_history_checks():
    history = History()
    history.append(1, {"d_loss": 1.0})
    history.append(2, {"d_loss": 0.5, "g_loss": 2.0})
    as_dict = history.as_dict()
    assert as_dict["step"] == [1, 2] and as_dict["d_loss"] == [1.0, 0.5]
    np.testing.assert_array_equal(as_dict["g_loss"], [np.nan, 2.0])  # g_loss was not logged at step 1
    with pytest.raises(KeyError, match="the logged losses are: d_loss, g_loss"):
        history["gp"]
    figure = plot_history({"step": [1, 2], "d_loss": [1.0, 0.5], "g_loss": [2.0, 1.0]})
    assert figure.axes[0].get_ylabel() == "loss" and len(figure.axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="history is empty"):
        plot_history(History())
    with pytest.raises(ValueError, match="'step' list"):
        plot_history({"d_loss": [1.0]})


# ---------------------------------------------------------------------- shared trainer machinery


def test_check_profile_names_the_missing_knobs():
    from types import SimpleNamespace

    from course_utils.training import check_profile

    profile = SimpleNamespace(width=4, n_train=8)
    assert check_profile(profile, "width", "n_train") is profile
    with pytest.raises(TypeError, match=r"cu.setup\(\).*has no latent_dim, n_show"):
        check_profile(profile, "width", "latent_dim", "n_show")


def test_images_used_is_the_data_size_capped_by_the_profile():
    from types import SimpleNamespace

    from course_utils.training import images_used

    profile = SimpleNamespace(n_train=20_000)
    assert images_used(profile, 8_000) == 8_000  # a smaller dataset is used whole
    assert images_used(profile, 60_000) == 20_000  # a larger one is capped
    assert images_used(profile, None) == 20_000  # the profile's own data
    with pytest.raises(ValueError, match="number of training images"):
        images_used(profile, 0)


def test_move_run_aside_keeps_every_file(runs_root):
    from course_utils.training import move_run_aside

    run, model, train_step, dataset = new_run()
    run.fit(train_step, dataset, steps=3, progress=False)
    before = sorted(p.relative_to(run.run_dir) for p in run.run_dir.rglob("*"))
    aside = move_run_aside("line")
    assert not run.run_dir.exists() and aside.parent == run.run_dir.parent
    assert aside.name.startswith("line.replaced-") and len(aside.name) == len("line.replaced-YYYYmmdd-HHMMSS")
    assert sorted(p.relative_to(aside) for p in aside.rglob("*")) == before
    run.run_dir.mkdir(parents=True)
    second = move_run_aside("line")  # within the same second: a new name, nothing overwritten
    assert second != aside and aside.exists() and second.exists()
    assert move_run_aside("no_such_run") is None


def _ema_model(weights):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.set_weights([np.asarray(weights, np.float32).reshape(2, 1)])
    return model


def test_ema_matches_the_closed_form_with_warm_up():
    from course_utils.training import EMA

    model = _ema_model([0.0, 0.0])
    ema = EMA(model, decay=0.5)
    assert ema.model is not model and ema.current_decay() == pytest.approx(0.1)
    expected = np.zeros(2)
    rng = np.random.default_rng(0)
    for n in range(10):
        new = rng.normal(size=2)
        model.set_weights([new.astype(np.float32).reshape(2, 1)])
        decay = min(0.5, (1 + n) / (10 + n))  # 0.1, 2/11, 3/12, ... 8/17, then 9/18 = 0.5 from n = 8
        expected = decay * expected + (1 - decay) * new
        ema.update()
        np.testing.assert_allclose(ema.model.get_weights()[0].ravel(), expected, rtol=1e-6)
    assert int(ema.updates.numpy()) == 10 and ema.current_decay() == 0.5
    # the average is a separate model: the trained one is untouched
    np.testing.assert_array_equal(model.get_weights()[0].ravel(), new.astype(np.float32))
    ema.reset()
    np.testing.assert_array_equal(ema.model.get_weights()[0], model.get_weights()[0])
    assert int(ema.updates.numpy()) == 0
    with pytest.raises(ValueError, match=r"decay must be a number in \[0, 1\)"):
        EMA(model, decay=1.0)
    with pytest.raises(TypeError, match="Keras model"):
        EMA("model")


def test_ema_of_a_bfloat16_model_is_a_float32_model(hardware_runs_any_precision):
    import keras

    from course_utils.runtime import training_precision
    from course_utils.training import EMA

    with training_precision("mixed_bfloat16"):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    ema = EMA(model)
    assert model.layers[0].compute_dtype == "bfloat16"
    assert {layer.dtype_policy.name for layer in ema.model.layers} == {"float32"}
    ema.update()
    for average, weight in zip(ema.model.get_weights(), model.get_weights()):
        np.testing.assert_allclose(average, weight, rtol=1e-6)  # the first update already averages equal weights


def test_a_run_updates_its_ema_every_step_and_resume_restores_it():
    from course_utils.training import EMA

    model, optimizer, train_step, dataset = line_problem()
    ema = EMA(model, decay=0.9)
    run = TrainingRun("ema", model=model, optimizer=optimizer, ema=ema)
    expected = [w.copy() for w in model.get_weights()]

    def step_and_track(x, y):  # a replica of the average, updated after each step
        losses = train_step(x, y)
        n = len(seen)
        decay = min(0.9, (1 + n) / (10 + n))
        for i, weight in enumerate(model.get_weights()):
            expected[i] = decay * expected[i] + (1 - decay) * weight
        seen.append(n)
        return losses

    seen: list[int] = []
    run.fit(step_and_track, dataset, steps=7, checkpoint_every=3, progress=False)
    assert int(ema.updates.numpy()) == 7
    for average, value in zip(ema.model.get_weights(), expected):
        np.testing.assert_allclose(average, value, rtol=1e-5, atol=1e-6)

    model2, optimizer2, _, _ = line_problem()
    ema2 = EMA(model2, decay=0.9)
    again = TrainingRun("ema", model=model2, optimizer=optimizer2, ema=ema2)
    assert again.step == 7 and int(ema2.updates.numpy()) == 7
    for restored, saved in zip(ema2.model.get_weights(), ema.model.get_weights()):
        np.testing.assert_array_equal(restored, saved)


def _line_trainer(name="line", units=1):
    """A minimal RunBacked trainer of the line problem (another architecture when units != 1)."""
    import keras

    from course_utils.training import RunBacked

    class LineTrainer(RunBacked):
        def __init__(self):
            from types import SimpleNamespace

            self.profile = SimpleNamespace(max_steps=None)
            model, optimizer, train_step, _ = line_problem()
            if units != 1:  # another architecture: its checkpoints do not fit the first one's
                model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(units), keras.layers.Dense(1)])
                optimizer = keras.optimizers.Adam(0.05)
                optimizer.build(model.trainable_variables)

                @tf.function
                def train_step(x, y):
                    with tf.GradientTape() as tape:
                        loss = tf.reduce_mean(tf.square(model(x) - y))
                    optimizer.apply_gradients(
                        zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
                    )
                    return {"loss": loss}

            self.model, self.train_step = model, train_step
            self.run = TrainingRun(name, model=model, optimizer=optimizer)

    return LineTrainer()


def test_run_backed_train_uses_the_step_and_the_profile_cap():
    trainer = _line_trainer()
    trainer.profile.max_steps = 4
    history = trainer.train(line_problem()[3], epochs=3, progress=False)  # 3 x 4 batches, capped at 4
    assert trainer.step == 4 and history is trainer.history and trainer.history.steps[-1] == 4
    trainer.train(line_problem()[3], steps=6, max_steps=None, progress=False)
    assert trainer.step == 6


def test_load_or_train_trains_then_loads_then_continues(capsys):
    from course_utils.training import load_or_train

    made = []

    def make_dataset():
        made.append(1)
        return line_problem()[3]

    trainer = load_or_train(lambda: _line_trainer(), name="line", target=5, make_dataset=make_dataset, what="the line")
    assert trainer.step == 5 and "Training the line of run 'line' from step 0 to 5." in capsys.readouterr().out
    again = load_or_train(lambda: _line_trainer(), name="line", target=5, make_dataset=make_dataset, what="the line")
    assert again.step == 5 and len(made) == 1  # loaded: the data is not even made
    assert "Loaded the line of run 'line': trained for 5 steps" in capsys.readouterr().out
    longer = load_or_train(lambda: _line_trainer(), name="line", target=8, make_dataset=make_dataset, what="the line")
    assert longer.step == 8 and "from step 5 to 8" in capsys.readouterr().out


def test_load_or_train_keeps_a_run_that_does_not_fit_and_trains_a_new_one(runs_root, capsys):
    from course_utils.training import load_or_train

    old = load_or_train(
        lambda: _line_trainer(),
        name="line",
        target=5,
        make_dataset=lambda: line_problem()[3],
        what="the line",
        verbose=False,
    )
    old_weights = weights_of(old.model)
    capsys.readouterr()
    new = load_or_train(
        lambda: _line_trainer(units=3), name="line", target=4, make_dataset=lambda: line_problem()[3], what="the line"
    )
    out = capsys.readouterr().out
    assert new.step == 4
    kept = [p for p in runs_root.iterdir() if p.name.startswith("line.replaced-")]
    assert len(kept) == 1 and f"so it was kept in {Path('runs') / kept[0].name}" in out
    assert "does not fit these models" in out and "Deleted" not in out
    # the old run is intact: its checkpoint restores the old weights
    model, optimizer, _, _ = line_problem()
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    checkpoint.restore(tf.train.latest_checkpoint(str(kept[0] / "checkpoints"))).expect_partial()
    np.testing.assert_array_equal(weights_of(model), old_weights)


# ---------------------------------------------------------------------- nothing lost, nothing written twice


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_a_lost_list_of_checkpoints_is_rebuilt_from_the_checkpoint_files(damage, capsys):
    checkpoint_dir, _ = two_checkpoints()
    before, _, _, _ = new_run()
    history, samples = before.history.as_dict(), list(before.sample_paths)
    state = checkpoint_dir / "checkpoint"
    if damage == "deleted":
        state.unlink()
    else:
        state.write_text("\x00\x01 not a checkpoint list {{", encoding="utf-8")
    capsys.readouterr()
    run, model, _, _ = new_run()
    out = capsys.readouterr().out
    assert "is missing or cannot be read, but 2 checkpoint file(s) are there" in out and "Resumed from step 10" in out
    assert run.step == 10 and run.history.as_dict() == history and run.sample_paths == samples  # nothing deleted
    again, _, _, _ = new_run()  # the list names the checkpoint again
    assert again.step == 10 and "missing" not in capsys.readouterr().out


_HOLD_RUN = """
import sys, time
from tests._train_until_killed import line_problem
from course_utils.training import TrainingRun
model, optimizer, _, _ = line_problem()
run = TrainingRun("line", model=model, optimizer=optimizer)
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_process_cannot_write_the_same_run(runs_root):
    env = {**os.environ, "COURSE_RUNS_DIR": str(runs_root), "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_RUN], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert any(line.strip() == "holding" for line in iter(holder.stdout.readline, ""))  # the run is held
        with pytest.raises(RunInUse, match=rf"The run 'line' is being trained by process {holder.pid} on "):
            new_run()
    finally:
        holder.kill()
        holder.wait()
    run, _, train_step, dataset = new_run()  # the lock went with the process
    run.fit(train_step, dataset, steps=2, progress=False)
    second, _, _, _ = new_run()  # a second trainer in the same process, as lessons 06 and 10 build
    assert second.step == 2


@pytest.mark.parametrize("name", ["../escape", "/tmp/elsewhere", "a/b", "a\\b", ".hidden", "x/../../y", "c:d", " "])
def test_run_names_cannot_point_outside_runs(name, runs_root):
    with pytest.raises(ValueError, match="one plain folder name"):
        new_run(name)
    with pytest.raises(ValueError, match="one plain folder name"):
        move_run_aside(name)
    assert not (runs_root.parent / "escape").exists()


def test_a_full_disk_keeps_the_last_checkpoint_and_says_what_to_do(monkeypatch):
    run, _, train_step, dataset = new_run()
    run.fit(train_step, dataset, steps=5, progress=False)

    def full(*args, **kwargs):
        message = "runs/line/checkpoints/ckpt-10_temp; No space left on device [Op:SaveV2]"
        raise tf.errors.ResourceExhaustedError(None, None, message)

    monkeypatch.setattr(run.manager, "save", full)
    expected = r"the disk is full \(.* MB free; a checkpoint of this run takes about .* MB\)"
    with pytest.raises(OSError, match=expected) as info:
        run.fit(train_step, dataset, steps=10, progress=False)
    assert "The last good checkpoint (step 5" in str(info.value)
    assert (run.checkpoint_dir / "ckpt-5.index").exists()
