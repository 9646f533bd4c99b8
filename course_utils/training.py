"""The training loop plumbing shared by the GAN and inpainting lessons; lesson 06.

The learner writes the interesting part, a ``train_step`` that takes one batch and returns a dict of
scalar losses. :class:`TrainingRun` does the rest::

    run = TrainingRun("dcgan_mnist", generator=g, discriminator=d, g_opt=g_opt, d_opt=d_opt)
    history = run.fit(train_step, dataset, steps=2000, sample_fn=lambda: g(fixed_z, training=False))
    plot_history(history)

Everything a run writes lives in one folder, ``runs/<name>/``::

    checkpoints/   the last few checkpoints, named by step (ckpt-500 holds the state after 500 steps)
    logs/          TensorBoard events: every logged loss, and the sample grids
    samples/       step_000500.png ...: one grid of generated images every ``sample_every`` steps
    history.jsonl  the logged losses, one JSON object per line

``fit(steps=N)`` trains until the run has done N steps *in total*: re-running the same cell after a
disconnect resumes from the last checkpoint and finishes the job instead of starting again.

Why a killed run is not corrupted: TensorFlow writes a checkpoint's data and index files first, and
only then rewrites the small ``checkpoints/checkpoint`` file that names the checkpoints, atomically
(a temporary file renamed over the old one). A save that is killed halfway leaves files that this
state file does not name, and they are ignored. If a named checkpoint still cannot be read (a file
lost by a synced drive, say), :meth:`TrainingRun.restore` says so and falls back to the one before.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from course_utils.paths import runs_dir
from course_utils.runtime import native_stderr_silenced
from course_utils.validation import check_image_batch, check_positive_int, describe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "EMA",
    "History",
    "RunBacked",
    "RunInUse",
    "TrainingDiverged",
    "TrainingRun",
    "check_profile",
    "check_run_name",
    "image_grid",
    "images_used",
    "load_or_train",
    "make_gif",
    "move_run_aside",
    "plot_history",
]

_SAMPLE_NAME = re.compile(r"step_(\d+)\.png")
_CHECKPOINT_INDEX = re.compile(r"ckpt-(\d+)\.index")
#: A run name is one plain folder name under runs/: letters, digits, "_", "-" and "." (not first).
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def check_run_name(name: Any) -> str:
    """Return ``name`` if it is a plain folder name for ``runs/<name>``, else raise ValueError; lesson 06.

    A name with a slash, ``..`` or an absolute path would put (and, with ``resume=False``, delete) files
    outside ``runs/``.
    """
    if not isinstance(name, str) or not _RUN_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            "A run name must be one plain folder name made of letters, digits, '_', '-' and '.', such as "
            f"'dcgan_mnist'; got {name!r}. Runs always live in runs/<name>; to keep them elsewhere, set "
            "COURSE_RUNS_DIR."
        )
    return name


class RunInUse(RuntimeError):
    """Another process is training the same run (its lock file names it); lesson 06."""


#: The run folders this process holds the lock of: run folder -> open lock file (kept open: the lock is the process').
_held_locks: dict[Path, Any] = {}


def _lock_run(run_dir: Path, name: str) -> None:
    """Take the run's lock for this process, or raise :class:`RunInUse` naming the process that holds it.

    The lock belongs to the process, so a notebook may build a second trainer of the same run (to show how
    resuming works); a second process (another notebook, another Colab tab on this machine) is refused. The
    operating system releases it when the process ends, even if it is killed.
    """
    key = run_dir.resolve()
    if key in _held_locks:
        return
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; a second writer is not detected
        return
    path = run_dir / ".lock"
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open for the life of the process
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RunInUse(
            f"The run {name!r} is being trained by {holder}: two processes writing one run would overwrite each "
            "other's checkpoints. Finish or stop that one (restart its kernel), or give this run another name."
        ) from None
    import socket
    import time

    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()} on {socket.gethostname()} (since {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
    handle.flush()
    _held_locks[key] = handle


def _release_run_lock(run_dir: Path) -> None:
    """Let go of this process' lock on a run folder (before the folder is renamed or removed)."""
    handle = _held_locks.pop(run_dir.resolve(), None)
    if handle is not None:
        handle.close()

_DIVERGENCE_ADVICE = (
    "What usually helps: a lower learning rate (try half), checking that the training images are in "
    "[-1, 1] like the generator's tanh output, and a gradient penalty or spectral normalisation (lesson 08)."
)


class TrainingDiverged(RuntimeError):
    """Raised by :meth:`TrainingRun.fit` when a loss or a weight stops being a finite number; lesson 06."""

    def __init__(self, message: str, *, step: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.step = step  #: the step at which the non-finite value appeared
        self.checkpoint = checkpoint  #: the last good checkpoint on disk (None if none was saved)


@dataclass
class History:
    """The losses logged by :meth:`TrainingRun.fit`: a list of steps and one list of values per loss; lesson 06."""

    steps: list[int] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)

    def append(self, step: int, losses: Mapping[str, float]) -> None:
        """Add the losses logged at ``step`` (a loss missing at some steps is NaN there); lesson 06."""
        for name in losses:
            if name not in self.losses:
                self.losses[name] = [math.nan] * len(self.steps)
        for name, values in self.losses.items():
            values.append(float(losses.get(name, math.nan)))
        self.steps.append(int(step))

    def as_dict(self) -> dict[str, list[float]]:
        """The history as plain lists, ``{"step": [...], "d_loss": [...], ...}``; lesson 06."""
        return {"step": list(self.steps), **{name: list(values) for name, values in self.losses.items()}}

    def __getitem__(self, name: str) -> list[float]:
        if name == "step":
            return self.steps
        if name not in self.losses:
            raise KeyError(f"No loss called {name!r} was logged; the logged losses are: {', '.join(self.losses)}.")
        return self.losses[name]

    def __len__(self) -> int:
        return len(self.steps)


class TrainingRun:
    """A named training run that checkpoints, logs, draws samples and resumes where it stopped; lesson 06.

    Pass every model, optimizer and variable whose state must survive a restart as a keyword
    argument; the names are the ones stored in the checkpoint. An :class:`EMA` passed this way is
    also updated after every train step. Constructing the run restores its newest checkpoint, if it
    has one. ``resume=False`` deletes the run's previous files instead (:func:`move_run_aside` keeps them).
    """

    def __init__(self, name: str, *, resume: bool = True, max_to_keep: int = 3, **trackables: Any) -> None:
        check_run_name(name)
        if not trackables:
            raise ValueError(
                "TrainingRun needs the models and optimizers to checkpoint, passed by name, e.g. "
                "TrainingRun('dcgan', generator=g, discriminator=d, g_opt=g_opt, d_opt=d_opt)."
            )
        if "step" in trackables:
            raise ValueError("'step' is the name TrainingRun gives its own step counter; call your object otherwise.")
        max_to_keep = check_positive_int("max_to_keep", max_to_keep)

        self.name = name
        self.run_dir = runs_dir(name)
        self.checkpoint_dir = self.run_dir / "checkpoints"
        self.log_dir = self.run_dir / "logs"
        self.sample_dir = self.run_dir / "samples"
        self.history_path = self.run_dir / "history.jsonl"
        _lock_run(self.run_dir, name)
        if not resume:
            self._delete_previous_run()
        for folder in (self.checkpoint_dir, self.log_dir, self.sample_dir):
            folder.mkdir(parents=True, exist_ok=True)

        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        try:
            self.checkpoint = tf.train.Checkpoint(step=self._step, **trackables)
        except (TypeError, ValueError) as error:
            raise TypeError(
                "TrainingRun can only checkpoint models, layers, optimizers and tf.Variables; "
                f"one of {', '.join(trackables)} is something else ({error})."
            ) from None
        self._trackables = dict(trackables)
        #: the weight averages among the trackables: fit updates each after every train step
        self._averages = [obj for obj in trackables.values() if isinstance(obj, EMA)]
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.checkpoint_dir), max_to_keep=max_to_keep)
        self.history = History()
        self.sample_paths: list[Path] = []  #: the sample grids written so far, in step order (for make_gif)
        self._saved_step = 0  # the step of the newest good checkpoint (0 before the first one)
        self._saved_path: Path | None = None  # ...and its path: the one restored or saved last
        self._writer: Any = None
        self.restore()

    @property
    def step(self) -> int:
        """How many training steps the run has done in total (restored ones included); lesson 06."""
        return int(self._step.numpy())

    @property
    def latest_checkpoint(self) -> Path | None:
        """The newest good checkpoint (the one restored or saved last), or None before there is one; lesson 06."""
        return self._saved_path

    # ------------------------------------------------------------------ restore and save

    def restore(self) -> int:
        """Load the newest readable checkpoint and the history up to its step; return that step; lesson 06.

        Called by the constructor. Call it yourself after :class:`TrainingDiverged` to put the
        weights back to the last good checkpoint.
        """
        candidates = [Path(path) for path in reversed(self.manager.checkpoints)]
        recovering = not candidates and bool(self._checkpoint_files())
        if recovering:  # the small state file that lists them was lost (a synced drive does that), not the weights
            candidates = self._checkpoint_files()
            print(
                f"The list of checkpoints ({self._shown(self.checkpoint_dir / 'checkpoint')}) is missing or cannot be "
                f"read, but {len(candidates)} checkpoint file(s) are there: resuming from the newest readable one."
            )
        if not candidates:
            if self.step > 0:
                raise RuntimeError(
                    f"No checkpoint has been saved in {self._shown(self.checkpoint_dir)} yet, so there is nothing "
                    "to go back to; run the cells that build the models again to start from scratch."
                )
            print(f"Starting run {self.name!r} at step 0 (nothing to resume in {self._shown(self.run_dir)})")
            self._load_history(0)
            self._load_samples(0)
            return 0

        problems = []
        for path in candidates:
            try:
                self.checkpoint.restore(str(path)).assert_existing_objects_matched()
            except Exception as error:  # a missing, truncated or mismatched checkpoint: try the one before
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                problems.append(f"{self._shown(path)} ({type(error).__name__}: {first_line[:200]})")
                continue
            for problem in problems:
                print(f"Skipped {problem}: it cannot be read, so the checkpoint before it is used.")
            step = self.step
            print(f"Resumed from step {step} ({self._shown(path)})")
            if recovering:  # save it again under its own number, so the list of checkpoints names it once more
                path = Path(self.manager.save(checkpoint_number=step))
            self._saved_step, self._saved_path = step, path
            self._load_history(step)
            self._load_samples(step)
            return step

        raise RuntimeError(
            f"None of the checkpoints in {self._shown(self.checkpoint_dir)} can be restored into these objects: "
            + "; ".join(problems)
            + ". If you changed a model since they were saved, choose a new run name, keep the old run with "
            f"training.move_run_aside({self.name!r}) and start again, or delete it with "
            f"TrainingRun({self.name!r}, ..., resume=False)."
        )

    def save(self) -> Path:
        """Checkpoint the current step, refusing to write weights that are NaN or infinite; lesson 06."""
        bad = self._non_finite_variables()
        if bad:
            raise TrainingDiverged(
                f"Training diverged by step {self.step}: the losses were finite but these weights hold NaN or "
                f"inf: {', '.join(bad[:5])}. {self._kept_sentence()} {_DIVERGENCE_ADVICE}",
                step=self.step,
                checkpoint=self.latest_checkpoint,
            )
        try:
            path = Path(self.manager.save(checkpoint_number=self.step))
        except (tf.errors.ResourceExhaustedError, tf.errors.UnknownError, OSError) as error:
            if not _disk_is_full(error):
                raise
            raise OSError(
                f"Could not save the checkpoint of step {self.step} in {self._shown(self.checkpoint_dir)}: the disk "
                f"is full ({_free_space(self.checkpoint_dir)} free; a checkpoint of this run takes about "
                f"{_checkpoint_size(self.latest_checkpoint)}). {self._kept_sentence()} Free some space (old runs "
                "under runs/, the Trash) and run the cell again: training resumes from that checkpoint."
            ) from None
        self._saved_step, self._saved_path = self.step, path
        if self._writer is not None:
            self._writer.flush()
        return path

    # ------------------------------------------------------------------ training

    def fit(
        self,
        train_step: Callable[..., Mapping[str, Any]],
        dataset: Iterable[Any],
        steps: int | None = None,
        *,
        epochs: int | None = None,
        max_steps: int | None = None,
        sample_fn: Callable[[], Any] | None = None,
        sample_every: int | None = None,
        checkpoint_every: int = 500,
        log_every: int = 10,
        progress: bool = True,
    ) -> History:
        """Call ``train_step`` on batches of ``dataset`` until the run has done ``steps`` in total; lesson 06.

        ``train_step(batch)`` returns a dict of scalar losses; a batch that is a tuple is unpacked,
        ``train_step(*batch)``. A finite dataset is repeated. Instead of ``steps`` you can give
        ``epochs``, the total number of passes over a dataset of known length; ``max_steps`` caps
        either (pass the profile's ``profile.max_steps``). Every ``log_every`` steps the mean of each loss is
        logged; every ``sample_every`` steps (and at step 0 and at the end) ``sample_fn()`` must
        return images in [-1, 1], which are saved as a grid; every ``checkpoint_every`` steps, at
        the end and on an interrupt the run is checkpointed.
        """
        target = self._target_steps(dataset, steps, epochs, max_steps)
        if not callable(train_step):
            raise TypeError(f"train_step must be a function that takes a batch; got {describe(train_step)}.")
        if sample_fn is not None and not callable(sample_fn):
            raise TypeError(
                f"sample_fn must be a function with no arguments that returns images; got {describe(sample_fn)}."
            )
        checkpoint_every = check_positive_int("checkpoint_every", checkpoint_every)
        log_every = check_positive_int("log_every", log_every)
        if sample_every is not None:
            sample_every = check_positive_int("sample_every", sample_every)

        if self.step >= target:
            print(f"Run {self.name!r} has already done {self.step} of {target} steps; nothing to train.")
            return self.history

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        if sample_fn is not None and self.step == 0:
            self._save_sample(sample_fn)  # the untrained model: also checks sample_fn before any training

        batches = _forever(dataset)
        window: dict[str, list[float]] = {}  # losses since the last log line
        bar = tqdm(total=target, initial=self.step, desc=self.name, unit="step", disable=not progress)
        try:
            first = True
            while self.step < target:
                batch = next(batches)
                if first:  # the call that builds the graph: TensorFlow's graph optimizer may print a harmless
                    with native_stderr_silenced():  # C++ message ("remapper failed") that would only alarm
                        losses = train_step(*batch) if isinstance(batch, tuple) else train_step(batch)
                    first = False
                else:
                    losses = train_step(*batch) if isinstance(batch, tuple) else train_step(batch)
                self._step.assign_add(1)
                for average in self._averages:
                    average.update()
                step = self.step
                for loss_name, value in self._check_losses(losses, step).items():
                    window.setdefault(loss_name, []).append(value)
                bar.update(1)
                if step % log_every == 0 or step == target:
                    self._log(window, bar)
                    window = {}
                if sample_fn is not None and ((sample_every and step % sample_every == 0) or step == target):
                    self._save_sample(sample_fn)
                if step % checkpoint_every == 0:
                    self.save()
        except KeyboardInterrupt:
            bar.close()
            if window:
                self._log(window, bar)
            path = self.save() if self._saved_step != self.step else self.latest_checkpoint
            if path is not None:
                print(f"Interrupted at step {self.step}; saved in {self._shown(path)}. Run the cell again to continue.")
            raise
        finally:
            bar.close()
            self._writer.flush()
        if self._saved_step != self.step:
            self.save()
        return self.history

    # ------------------------------------------------------------------ helpers of fit

    def _target_steps(self, dataset: Any, steps: int | None, epochs: int | None, max_steps: int | None) -> int:
        """The total step count that fit trains up to, from steps or epochs, capped by max_steps."""
        if isinstance(dataset, (np.ndarray, tf.Tensor)) or not isinstance(dataset, (Iterable, tf.data.Dataset)):
            raise TypeError(
                "dataset must give batches, e.g. tf.data.Dataset.from_tensor_slices(images).batch(batch_size); "
                f"got {describe(dataset)}."
            )
        if (steps is None) == (epochs is None):
            given = "both" if steps is not None else "neither"
            raise ValueError(f"Give fit either steps=... (total training steps) or epochs=...; got {given}.")
        if epochs is not None:
            total = check_positive_int("epochs", epochs) * _batches_per_epoch(dataset)
        else:
            total = check_positive_int("steps", steps)
        if max_steps is not None:
            total = min(total, check_positive_int("max_steps", max_steps))
        return total

    def _check_losses(self, losses: Any, step: int) -> dict[str, float]:
        """The losses as floats; TrainingDiverged if one is NaN or infinite."""
        if not isinstance(losses, Mapping) or not losses:
            raise TypeError(
                "train_step must return a dict of scalar losses, e.g. {'d_loss': d_loss, 'g_loss': g_loss}; "
                f"got {describe(losses)}."
            )
        values = {}
        for loss_name, loss in losses.items():
            array = np.asarray(loss)
            if array.size != 1:
                raise ValueError(
                    f"train_step's loss {loss_name!r} must be a single number (reduce it with tf.reduce_mean); "
                    f"got {describe(array)}."
                )
            value = float(array.reshape(()))
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"Training diverged at step {step}: the loss {loss_name!r} is {value}. "
                    f"{self._kept_sentence()} {_DIVERGENCE_ADVICE}",
                    step=step,
                    checkpoint=self.latest_checkpoint,
                )
            values[str(loss_name)] = value
        return values

    def _kept_sentence(self) -> str:
        """What the divergence left on disk, for the TrainingDiverged message."""
        latest = self.latest_checkpoint
        if latest is None:
            return "No checkpoint had been saved yet, so nothing on disk was touched."
        return (
            f"The last good checkpoint (step {self._saved_step}, {self._shown(latest)}) is kept and was not "
            "overwritten; run.restore() puts the weights back to it."
        )

    def _non_finite_variables(self) -> list[str]:
        """Names of the checkpointed floating-point variables holding NaN or inf."""
        bad = []
        for owner, obj in self._trackables.items():
            variables = [obj] if isinstance(obj, tf.Variable) else list(getattr(obj, "variables", []))
            for variable in variables:
                if tf.as_dtype(variable.dtype).is_floating and not bool(tf.reduce_all(tf.math.is_finite(variable))):
                    bad.append(f"{owner}/{getattr(variable, 'path', variable.name)}")
        return bad

    def _log(self, window: Mapping[str, list[float]], bar: Any) -> None:
        """Record the mean of each loss over the window: history, history file, TensorBoard, progress bar."""
        step = self.step
        means = {loss_name: float(np.mean(values)) for loss_name, values in window.items()}
        self.history.append(step, means)
        with open(self.history_path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"step": step, **means}) + "\n")
        with self._writer.as_default():
            for loss_name, value in means.items():
                _scalar_summary(loss_name, value, step)
        bar.set_postfix({loss_name: f"{value:.4g}" for loss_name, value in means.items()}, refresh=False)

    def _save_sample(self, sample_fn: Callable[[], Any]) -> Path:
        """Save sample_fn()'s images as samples/step_XXXXXX.png and to TensorBoard."""
        images = check_image_batch("the images returned by sample_fn()", sample_fn())
        if images.shape[-1] not in (1, 3):
            raise ValueError(
                f"sample_fn() must return images with 1 (grey) or 3 (RGB) channels; got {describe(images)}."
            )
        if not np.all(np.isfinite(images)):
            raise ValueError("sample_fn() returned NaN or inf values: the model that made them has diverged.")
        if np.min(images) < -1 - 1e-3 or np.max(images) > 1 + 1e-3:
            raise ValueError(
                f"sample_fn() must return images in [-1, 1], the range of a tanh output; got {describe(images)}. "
                "If your images are in [0, 1], return images * 2 - 1."
            )
        grid = image_grid(images)
        path = self.sample_dir / f"step_{self.step:06d}.png"
        _write_png(grid, path)
        with self._writer.as_default():
            _image_summary("samples", grid, self.step)
        if path not in self.sample_paths:
            self.sample_paths.append(path)
        return path

    # ------------------------------------------------------------------ files of the run

    def _load_history(self, step: int) -> None:
        """Reload the history up to ``step`` and rewrite the file without the steps after it."""
        self.history = History()
        if not self.history_path.exists():
            return
        records: dict[int, dict[str, float]] = {}
        for line in self.history_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                record_step = int(record.pop("step"))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # the last line of a run killed while writing it
            if record_step <= step:
                records[record_step] = record
        for record_step in sorted(records):
            self.history.append(record_step, records[record_step])
        text = "".join(json.dumps({"step": s, **records[s]}) + "\n" for s in sorted(records))
        temporary = self.history_path.with_suffix(".jsonl.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.history_path)

    def _load_samples(self, step: int) -> None:
        """List the sample grids up to ``step``; delete later ones, which belong to steps being redone."""
        self.sample_paths = []
        for path in sorted(self.sample_dir.glob("step_*.png")):
            match = _SAMPLE_NAME.fullmatch(path.name)
            if match is None:
                continue
            if int(match.group(1)) <= step:
                self.sample_paths.append(path)
            else:
                path.unlink()

    def _checkpoint_files(self) -> list[Path]:
        """The checkpoints on disk (``ckpt-N`` with its index file), newest first, listed or not."""
        found = []
        for index in self.checkpoint_dir.glob("ckpt-*.index"):
            match = _CHECKPOINT_INDEX.fullmatch(index.name)
            if match:
                found.append((int(match.group(1)), self.checkpoint_dir / f"ckpt-{match.group(1)}"))
        return [path for _, path in sorted(found, reverse=True)]

    def _delete_previous_run(self) -> None:
        """Remove what an earlier run of this name wrote (for resume=False)."""
        removed = False
        for folder in (self.checkpoint_dir, self.log_dir, self.sample_dir):
            if folder.exists():
                shutil.rmtree(folder)
                removed = True
        if self.history_path.exists():
            self.history_path.unlink()
            removed = True
        if removed:
            print(f"Deleted the previous run in {self._shown(self.run_dir)} (resume=False)")

    def _shown(self, path: Path | str) -> str:
        """A path as printed for the learner: relative to the folder that holds runs/."""
        path = Path(path)
        try:
            return str(path.relative_to(runs_dir().parent))
        except ValueError:
            return str(path)


def _disk_is_full(error: BaseException) -> bool:
    """True when a failed save failed for want of disk space (TensorFlow says so in words, Python by errno)."""
    import errno

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return isinstance(error, tf.errors.ResourceExhaustedError) or "no space left" in text or "quota" in text


def _free_space(folder: Path) -> str:
    """The free space on the disk holding ``folder``, in words."""
    try:
        return _megabytes(shutil.disk_usage(folder).free)
    except OSError:
        return "an unknown amount"


def _checkpoint_size(checkpoint: Path | None) -> str:
    """The size of a saved checkpoint (its data and index files), in words."""
    if checkpoint is None:
        return "as much as the models and optimizers hold"
    files = checkpoint.parent.glob(checkpoint.name + ".*")
    return _megabytes(sum(f.stat().st_size for f in files if f.is_file()))


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.1f} MB"


def _batches_per_epoch(dataset: Any) -> int:
    """Number of batches in one pass over a dataset of known, finite length."""
    if isinstance(dataset, tf.data.Dataset):
        count = int(dataset.cardinality())
        if count < 0:
            kind = "endless" if count == int(tf.data.INFINITE_CARDINALITY) else "of unknown length"
            raise ValueError(
                f"epochs= needs a dataset of known length, but this dataset is {kind}; pass steps= instead."
            )
    elif hasattr(dataset, "__len__"):
        count = len(dataset)
    else:
        raise ValueError(f"epochs= needs a dataset of known length; got {describe(dataset)}. Pass steps= instead.")
    if count == 0:
        raise ValueError("The dataset is empty: it gives no batches to train on.")
    return count


def _forever(dataset: Iterable[Any]) -> Iterator[Any]:
    """Yield the dataset's batches endlessly, starting a new pass whenever one ends."""
    if isinstance(dataset, tf.data.Dataset):
        if int(dataset.cardinality()) != int(tf.data.INFINITE_CARDINALITY):
            dataset = dataset.repeat()
        yield from dataset
        raise ValueError("The dataset is empty: it gives no batches to train on.")
    while True:
        count = 0
        for batch in dataset:
            count += 1
            yield batch
        if count == 0:
            raise ValueError(
                "The dataset gave no batches. It is either empty or a one-off iterator that has run out; "
                "pass a tf.data.Dataset or a list of batches, which can be read again and again."
            )


def image_grid(images: Any, ncols: int | None = None, *, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile a batch ``(N, H, W, C)`` of images in [-1, 1] into one float32 image in [0, 1]; lesson 06.

    ``C`` is 1 (grey) or 3 (RGB) and is kept; ``ncols`` defaults to a square-ish grid, and
    ``padding`` pixels of ``pad_value`` separate the tiles.
    """
    array = check_image_batch("images", images).astype(np.float32)
    if array.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 (grey) or 3 (RGB) channels; got {describe(array)}.")
    if array.shape[0] == 0:
        raise ValueError("images is an empty batch: there is nothing to put in a grid.")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise ValueError(
            f"images hold {bad} NaN or inf values (of {array.size}): the model that made them has diverged."
        )
    count, height, width, channels = array.shape
    ncols = math.ceil(math.sqrt(count)) if ncols is None else check_positive_int("ncols", ncols)
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    padding = check_positive_int("padding", padding, minimum=0)

    unit = np.clip((array + 1.0) / 2.0, 0.0, 1.0)
    grid = np.full(
        (nrows * height + (nrows + 1) * padding, ncols * width + (ncols + 1) * padding, channels),
        pad_value,
        dtype=np.float32,
    )
    for index, image in enumerate(unit):
        row, col = divmod(index, ncols)
        top = padding + row * (height + padding)
        left = padding + col * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


# TensorBoard's tf.summary.scalar and tf.summary.image come with the tensorboard package, which
# TensorFlow no longer installs. These two write the very same records with the core op
# tf.summary.write, so logging never needs it; only viewing the logs does (pip install tensorboard).


def _scalar_summary(tag: str, value: float, step: int) -> None:
    """Log one number, as TensorBoard's Scalars tab expects it."""
    metadata = tf.compat.v1.SummaryMetadata(
        plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars"), data_class="DATA_CLASS_SCALAR"
    )
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=metadata)


def _image_summary(tag: str, image: np.ndarray, step: int) -> None:
    """Log one float image (H, W, C) in [0, 1], as TensorBoard's Images tab expects it: [width, height, png]."""
    png = tf.image.encode_png(tf.image.convert_image_dtype(image, tf.uint8, saturate=True))
    height, width = image.shape[:2]
    metadata = tf.compat.v1.SummaryMetadata(
        plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="images"),
        data_class="DATA_CLASS_BLOB_SEQUENCE",
    )
    tf.summary.write(tag, tf.stack([str(width), str(height), png]), step=step, metadata=metadata)


def _write_png(grid: np.ndarray, path: Path) -> None:
    """Save a float image in [0, 1] (H, W, 1 or 3) as an 8-bit PNG."""
    import imageio.v3 as iio

    pixels = np.round(np.clip(grid, 0.0, 1.0) * 255).astype(np.uint8)
    iio.imwrite(path, pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def make_gif(paths: Sequence[str | Path], out_path: str | Path, fps: float = 4.0) -> Path:
    """Join PNG frames (e.g. ``run.sample_paths``) into a looping GIF at ``out_path``; lesson 06."""
    import imageio.v3 as iio

    if isinstance(paths, (str, Path)) or not paths:
        raise ValueError(
            f"paths must be a non-empty list of image files, such as run.sample_paths; got {describe(paths)}."
        )
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        raise ValueError(f"fps (frames per second) must be a positive number; got {describe(fps)}.")
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise FileNotFoundError(f"These frames do not exist: {', '.join(missing[:3])}.")
    frames = [iio.imread(path) for path in paths]
    shapes = {frame.shape for frame in frames}
    if len(shapes) > 1:
        raise ValueError(f"All frames of a GIF must have the same shape; these have {sorted(shapes)}.")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out_path, np.stack(frames), duration=1000.0 / fps, loop=0)  # duration: milliseconds per frame
    return out_path


def plot_history(history: History | Mapping[str, Sequence[float]], *, separate: bool = False) -> Figure:
    """Plot the logged losses against the training step, on one axes or one each (``separate``); lesson 06."""
    import matplotlib.pyplot as plt

    data = history.as_dict() if isinstance(history, History) else {key: list(value) for key, value in history.items()}
    if "step" not in data:
        raise ValueError(f"history must hold a 'step' list, as run.fit(...) returns; got keys {sorted(data)}.")
    steps = data.pop("step")
    if not steps or not data:
        raise ValueError("history is empty: train for a few steps (run.fit) before plotting it.")
    for loss_name, values in data.items():
        if len(values) != len(steps):
            raise ValueError(f"history[{loss_name!r}] has {len(values)} values but there are {len(steps)} steps.")

    count = len(data) if separate else 1
    fig, axes = plt.subplots(count, 1, figsize=(7, 2.6 * count + 0.6), sharex=True, squeeze=False)
    for index, (loss_name, values) in enumerate(data.items()):
        ax = axes[index if separate else 0, 0]
        ax.plot(steps, values, label=loss_name)
        ax.set_ylabel(loss_name if separate else "loss")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        if not separate:
            ax.legend()
    axes[-1, 0].set_xlabel("training step")
    axes[0, 0].set_title("Training losses")
    fig.tight_layout()
    return fig


def steps_per_run(n_images: int, batch_size: int, epochs: int, *, max_steps: int | None = None) -> int:
    """Training steps of ``epochs`` passes over ``n_images`` in whole batches (drop_remainder), capped; lesson 06."""
    n_images = check_positive_int("n_images", n_images)
    batch_size = check_positive_int("batch_size", batch_size)
    epochs = check_positive_int("epochs", epochs)
    if batch_size > n_images:
        raise ValueError(f"batch_size ({batch_size}) is larger than n_images ({n_images}): not one whole batch.")
    steps = epochs * (n_images // batch_size)
    return steps if max_steps is None else min(steps, check_positive_int("max_steps", max_steps))


def loss_scaled(optimizer: Any, *models: Any) -> Any:
    """``optimizer`` wrapped in a LossScaleOptimizer when the models compute in float16; lesson 06.

    float16 gradients of small losses underflow to zero; scaling the loss up before differentiating and the
    gradients down afterwards keeps them representable. bfloat16 and float32 need no scaling. Without
    models, the global policy decides (as it does for models built inside ``cu.training_precision``).
    """
    import keras

    if models:
        float16 = any(layer.compute_dtype == "float16" for model in models for layer in model.layers)
    else:
        float16 = keras.mixed_precision.global_policy().compute_dtype == "float16"
    if float16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


#: Default of the trainers' ``max_steps``: use the profile's cap.
FROM_PROFILE: Any = object()

#: The largest decay :class:`EMA` uses by default: an average over roughly the last 1/(1 - 0.999) = 1,000 steps.
EMA_DECAY = 0.999


def check_profile(profile: Any, *knobs: str) -> Any:
    """``profile`` itself if it has every knob named, else a TypeError saying which are missing; lesson 06."""
    missing = [knob for knob in knobs if not hasattr(profile, knob)]
    if missing:
        raise TypeError(
            f"profile must be the run profile from cu.setup() (it needs {', '.join(knobs)}); got {describe(profile)}"
            f", which has no {', '.join(missing)}."
        )
    return profile


def images_used(profile: Any, data_size: int | None) -> int:
    """How many training images a run uses: the data's size, capped by the profile's ``n_train``; lessons 03-10.

    ``profile.n_train`` is a cap: a smaller dataset is used whole, so a model trained on 8,000 digits under a
    20,000-image profile is complete. ``data_size`` None means the profile's own data, which has ``n_train``.
    """
    cap = check_positive_int("profile.n_train", check_profile(profile, "n_train").n_train)
    return cap if data_size is None else min(cap, check_positive_int("the number of training images", data_size))


def move_run_aside(name: str) -> Path | None:
    """Rename ``runs/<name>`` to ``runs/<name>.replaced-<YYYYmmdd-HHMMSS>`` and return the new path; lesson 06.

    Nothing is deleted: the old run's checkpoints, samples and logs stay readable in the renamed folder.
    Returns None when there is no such run.
    """
    import time

    run_dir = runs_dir() / check_run_name(name)
    if not run_dir.exists():
        return None
    _release_run_lock(run_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}")
    suffix = 1
    while target.exists():  # two replacements within one second
        suffix += 1
        target = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}-{suffix}")
    os.replace(run_dir, target)
    return target


class EMA(tf.Module):
    """An exponential moving average of a model's weights, kept in a float32 copy of the model; lesson 06.

    After every train step, :meth:`update` moves each averaged weight toward the model's current one,
    ``average = d * average + (1 - d) * weight``, with the warm-up decay ``d = min(decay, (1 + n) / (10 + n))``
    after ``n`` earlier updates (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``), so the
    average follows the first steps closely and smooths over about ``1 / (1 - decay)`` steps later on.
    ``ema.model`` is the averaged model, computing in float32 whatever precision the trained model uses; it
    is outside any optimizer. Pass the EMA to :class:`TrainingRun` to have it updated, saved and restored.
    Every weight is averaged, BatchNorm's moving statistics included (non-float weights are copied).
    """

    def __init__(self, model: Any, *, decay: float = EMA_DECAY, name: str = "ema") -> None:
        import keras

        from course_utils.runtime import float32_copy

        super().__init__(name=name)
        if not isinstance(model, keras.Model):
            raise TypeError(f"EMA averages the weights of a Keras model; got {describe(model)}.")
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be a number in [0, 1), e.g. 0.999; got {describe(decay)}.")
        self.decay = float(decay)
        self.source = model
        copy = float32_copy(model)
        if copy is model:  # float32 already: float32_copy returns the model itself, and the average needs its own
            copy = keras.models.clone_model(model)
            copy.set_weights(model.get_weights())
        self.model = copy
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="updates")
        if len(self.model.weights) != len(model.weights):
            raise ValueError("The float32 copy of the model has other weights than the model; EMA cannot pair them.")

    @property
    def variables(self) -> list[tf.Variable]:
        """The averaged weights and the update counter (what a checkpoint stores)."""
        return [*self.model.weights, self.updates]

    def current_decay(self) -> float:
        """The decay the next :meth:`update` uses, ``min(decay, (1 + n) / (10 + n))``; lesson 06."""
        n = float(self.updates.numpy())
        return min(self.decay, (1.0 + n) / (10.0 + n))

    def update(self) -> None:
        """Move the average one step toward the model's current weights; lesson 06."""
        self._update()

    @tf.function
    def _update(self) -> None:
        n = tf.cast(self.updates, tf.float32)
        decay = tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + n) / (10.0 + n))
        for average, weight in zip(self.model.weights, self.source.weights):
            value = tf.convert_to_tensor(weight)
            if value.dtype.is_floating:
                average.assign(decay * average + (1.0 - decay) * tf.cast(value, tf.float32))
            else:
                average.assign(tf.cast(value, average.dtype))
        self.updates.assign_add(1)

    def reset(self) -> None:
        """Make the average equal to the model's current weights and forget the updates so far; lesson 06."""
        self.model.set_weights(self.source.get_weights())
        self.updates.assign(0)


class RunBacked:
    """Base of the course's trainers (DCGAN, Inpainter...), whose state lives in ``self.run``; lesson 06.

    A subclass sets ``self.profile``, ``self.run`` and ``self.train_step`` (or overrides :meth:`_step_function`)
    and may override :meth:`_sample_function`; :meth:`train` is then the same for every trainer.
    """

    run: TrainingRun
    profile: Any
    train_step: Callable[..., Any]

    @property
    def step(self) -> int:
        """Training steps done so far, restored ones included."""
        return self.run.step

    @property
    def history(self) -> History:
        """The logged losses of the whole run, restored ones included."""
        return self.run.history

    def _step_function(self) -> Callable[..., Any]:
        """The function train() calls on each batch (the train step, with any checks of the subclass)."""
        return self.train_step

    def _sample_function(self) -> Callable[[], Any] | None:
        """A function returning images in [-1, 1] to save as sample grids, or None for no grids."""
        return None

    def train(
        self,
        dataset: Iterable[Any],
        *,
        steps: int | None = None,
        epochs: int | None = None,
        sample_every: int | None = None,
        checkpoint_every: int = 500,
        max_steps: int | None = FROM_PROFILE,
        progress: bool = True,
    ) -> History:
        """Train until the run has done ``steps`` (or ``epochs`` passes) in total, capped by max_steps; lesson 06.

        ``max_steps`` defaults to the profile's cap (None: no cap). When the trainer draws samples, a grid is
        saved at the start, every ``sample_every`` steps and at the end (see ``run.sample_paths``); a
        checkpoint is saved every ``checkpoint_every`` steps and at the end.
        """
        return self._fit(
            self._step_function(),
            dataset,
            steps,
            epochs=epochs,
            max_steps=max_steps,
            sample_fn=self._sample_function(),
            sample_every=sample_every,
            checkpoint_every=checkpoint_every,
            progress=progress,
        )

    def _fit(
        self, train_step: Callable[..., Any], dataset: Iterable[Any], steps: int | None, **options: Any
    ) -> History:
        """``run.fit`` with ``max_steps`` taken from the profile unless the caller gave it (None: no cap)."""
        if options.get("max_steps", FROM_PROFILE) is FROM_PROFILE:
            options["max_steps"] = self.profile.max_steps
        return self.run.fit(train_step, dataset, steps, **options)


def load_or_train(
    build: Callable[[], RunBacked],
    *,
    name: str,
    target: int,
    make_dataset: Callable[[], Iterable[Any]],
    what: str,
    plan: str = "",
    verbose: bool = True,
) -> RunBacked:
    """The trainer of run ``name`` trained to ``target`` steps: loaded, continued or trained anew; lessons 07-15.

    ``build()`` makes the trainer, which restores the run's newest checkpoint. If the run has done
    ``target`` steps or more it is returned as it is; if fewer, training continues to ``target`` on
    ``make_dataset()`` (called only then). A run whose checkpoints cannot be restored into the models
    ``build`` makes (another profile's width, say) is never deleted: it is moved aside with
    :func:`move_run_aside`, and a new run is trained. ``what`` names the model in messages ("the generator"),
    ``plan`` says how it is trained ("10 epoch(s) at batch size 128").
    """
    if not callable(build) or not callable(make_dataset):
        raise TypeError(
            f"build and make_dataset must be functions without arguments; got {describe(build)} and "
            f"{describe(make_dataset)}."
        )
    target = check_positive_int("target", target)
    say = print if verbose else (lambda *args, **kwargs: None)
    try:
        trainer = build()
    except RunInUse:  # another process is training it: leave its files alone
        raise
    except RuntimeError as error:  # checkpoints of other models: keep them, start a new run beside them
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        aside = move_run_aside(name)
        shown = aside if aside is None else _shown_path(aside)
        say(
            f"The saved run {name!r} does not fit these models, so it was kept in {shown} and {what} is "
            f"trained anew (the reason: {reason[:200]})."
        )
        trainer = build()
    if trainer.step >= target:
        say(f"Loaded {what} of run {name!r}: trained for {trainer.step} steps (the profile asks for {target}).")
        return trainer
    say(
        f"Training {what} of run {name!r} from step {trainer.step} to {target}" + (f" ({plan})." if plan else ".")
    )
    trainer.train(make_dataset(), steps=target, max_steps=None, progress=verbose)
    return trainer


def _shown_path(path: Path) -> str:
    """A path as printed for the learner: relative to the folder that holds runs/."""
    try:
        return str(path.relative_to(runs_dir().parent))
    except ValueError:
        return str(path)
