"""Classifier-free guidance: a class-conditional digit model and the knob that trades diversity for fidelity; lesson 14.

Classifier-free guidance (Ho & Salimans 2022) trains one network both with and without the class: during
training a fraction of the labels is replaced by a "no class" label (:func:`drop_labels`). At sampling time
the two predictions are mixed, unconditional + w * (conditional - unconditional) (``sampling.guided``):
w = 0 ignores the class, w = 1 is the plain conditional model and w > 1 pushes further towards what the
class looks like.

* :func:`load_or_train_conditional` trains (or reloads) lesson 14's class-conditional model of the digits,
  by default with flow matching (velocity prediction on the straight path).
* :func:`balanced_labels` asks for every class equally often.
* :class:`GuidanceExplorer` is the widget: pick a digit and a scale, see the samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from course_utils.validation import check_positive_int, describe
from course_utils.widgets import PictureWidget, _ipywidgets, _Value

__all__ = ["NUM_DIGITS", "GuidanceExplorer", "balanced_labels", "drop_labels", "load_or_train_conditional"]

#: Classes of the digits; the "no class" label of the conditional model is this number.
NUM_DIGITS = 10


def drop_labels(labels: Any, rate: float, null_label: int, *, seed: Any = None) -> tf.Tensor:
    """Replace each label by ``null_label`` with probability ``rate`` (int32, same shape); lesson 14.

    ``seed`` is a ``tf.random.Generator`` or an int (reproducible draws) or None. ``diffusion.make_train_step``
    does the same inside its graph when given ``label_dropout``.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"rate must be a probability in [0, 1], e.g. 0.1; got {describe(rate)}.")
    if isinstance(null_label, bool) or not isinstance(null_label, (int, np.integer)) or null_label < 0:
        raise ValueError(f"null_label must be a label number >= 0 (the 'no class'); got {describe(null_label)}.")
    labels = tf.cast(tf.convert_to_tensor(labels), tf.int32)
    if isinstance(seed, tf.random.Generator):
        generator = seed
    elif seed is None:
        generator = tf.random.Generator.from_non_deterministic_state()
    else:
        generator = tf.random.Generator.from_seed(int(seed))
    drop = generator.uniform(tf.shape(labels)) < rate
    return tf.where(drop, tf.constant(int(null_label), tf.int32), labels)


def balanced_labels(n: int, num_classes: int = NUM_DIGITS) -> np.ndarray:
    """0, 1, ..., num_classes - 1, 0, 1, ... (``n`` int32 labels): every class asked for equally; lesson 14."""
    n = check_positive_int("n", n)
    return (np.arange(n) % check_positive_int("num_classes", num_classes)).astype(np.int32)


def load_or_train_conditional(
    profile: Any,
    *,
    data: Any = None,
    name: str = "flow_digits_conditional",
    label_dropout: float = 0.1,
    schedule: str = "flow",
    prediction: str = "velocity",
    verbose: bool = True,
    sample_every: int | None = None,
) -> Any:
    """Lesson 14's class-conditional digit model (a ``diffusion.Diffusion``), reloaded or trained now; lesson 14.

    The U-Net of lesson 13 with a class embedding; labels are dropped with probability ``label_dropout``
    (label 10 = "no class") so one network learns both predictions guidance needs. It trains for
    ``profile.conditional_steps`` steps (resuming a run that stopped early) on ``data`` (default
    ``datasets.load_digits``), with flow matching unless ``schedule``/``prediction`` say otherwise.
    """
    from course_utils.diffusion import Diffusion

    for knob in ("n_train", "n_test", "conditional_steps", "diffusion_batch_size", "max_steps"):
        if not hasattr(profile, knob):
            raise TypeError(f"profile must be the run profile from cu.setup(); got {describe(profile)}.")
    say = print if verbose else (lambda *args, **kwargs: None)
    options = dict(
        name=name, schedule=schedule, prediction=prediction, num_classes=NUM_DIGITS, label_dropout=label_dropout
    )
    try:
        model = Diffusion(profile, **options)
    except (RuntimeError, ValueError, AssertionError) as error:  # a checkpoint of another network: begin again
        say(f"The saved run {name!r} cannot be used ({str(error)[:160]}...); starting it again.")
        model = Diffusion(profile, resume=False, **options)
    target = profile.conditional_steps
    if profile.max_steps is not None:
        target = min(target, profile.max_steps)
    if model.step >= target:
        say(f"Loaded the conditional model of run {name!r}: trained for {model.step} steps.")
        return model
    if data is None:
        from course_utils.datasets import load_digits

        data = load_digits(n_train=profile.n_train, n_test=profile.n_test, verbose=verbose)
    if data.y_train is None:
        raise ValueError("the conditional model needs labelled digits: data.y_train is None.")
    from course_utils.pipeline import make_dataset

    say(
        f"Training the conditional model of run {name!r} from step {model.step} to {target} "
        f"(batch size {profile.diffusion_batch_size}, width {profile.diffusion_width}, labels dropped "
        f"{label_dropout:.0%} of the time)."
    )
    dataset = make_dataset(data.x_train, data.y_train, batch_size=profile.diffusion_batch_size)
    model.train(dataset, steps=target, max_steps=None, progress=verbose, sample_every=sample_every)
    return model


class GuidanceExplorer(PictureWidget):
    """Pick a digit and a guidance scale and see what the conditional model draws; lesson 14.

    ``generate(digit, scale)`` returns images in [-1, 1] (N, H, W, 1); results are kept, so moving back to a
    setting is instant. Controls: ``digit`` and ``scale`` (set their ``.value`` in code too); ``show()``
    displays the current picture.
    """

    def __init__(
        self,
        generate: Callable[[int, float], Any],
        *,
        scales: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 5.0),
        digits: tuple[int, ...] = tuple(range(NUM_DIGITS)),
        judge: Callable[[np.ndarray], np.ndarray] | None = None,
        dpi: int = 72,
    ) -> None:
        if not callable(generate):
            raise TypeError(f"generate must be a function (digit, scale) -> images; got {describe(generate)}.")
        if not scales or not digits:
            raise ValueError("scales and digits must each hold at least one value.")
        self.generate, self.judge, self.dpi = generate, judge, check_positive_int("dpi", dpi)
        self._cache: dict[tuple[int, float], np.ndarray] = {}
        self._ipw = _ipywidgets()
        scales = tuple(float(s) for s in scales)
        digits = tuple(int(d) for d in digits)
        if self._ipw is not None:
            self.digit = self._ipw.Dropdown(options=digits, value=digits[0], description="digit")
            self.scale = self._ipw.SelectionSlider(
                options=scales, value=scales[min(1, len(scales) - 1)], description="scale w", continuous_update=False
            )
            self.picture = self._ipw.Image(format="png")
        else:
            self.digit = _Value(digits[0], digits)
            self.scale = _Value(scales[min(1, len(scales) - 1)], scales)
            self.picture = None
        for control in (self.digit, self.scale):
            control.observe(lambda change: self._refresh(), names="value")
        self._box = None
        self._refresh()

    @property
    def images(self) -> np.ndarray:
        """The samples for the current digit and scale."""
        key = (int(self.digit.value), float(self.scale.value))
        if key not in self._cache:
            self._cache[key] = np.asarray(self.generate(*key), dtype=np.float32)
        return self._cache[key]

    def figure(self) -> Any:
        """The current samples in a row, titled with the share the judge recognises as the digit."""
        import matplotlib.pyplot as plt

        images = self.images
        fig, axes = plt.subplots(1, len(images), figsize=(1.1 * len(images), 1.5), squeeze=False)
        for ax, image in zip(axes[0], images):
            ax.imshow(np.clip(image[..., 0], -1, 1), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        title = f"digit {self.digit.value}, guidance scale w = {self.scale.value:g}"
        if self.judge is not None:
            hits = float(np.mean(np.asarray(self.judge(images)) == int(self.digit.value)))
            title += f": {hits:.0%} recognised as {self.digit.value}"
        fig.suptitle(title, fontsize=9)
        return fig

    def _build_widget(self) -> Any:
        return self._ipw.VBox([self._ipw.HBox([self.digit, self.scale]), self.picture])

    def _describe(self) -> str:
        return f"GuidanceExplorer(digit={self.digit.value}, scale={self.scale.value:g})"
