"""The course's digit classifier: a small Keras CNN whose "features" layer later measures generators.

Lesson 03 builds and trains it; lessons 07 and 12 reuse it. They call :func:`load_or_train_classifier`,
which loads the model lesson 03 saved under ``runs/classifier/`` or, when there is none (or it cannot be
read, or it is smaller than the current profile asks for), trains one with the profile's numbers.

The model takes images in the model range [-1, 1] (:func:`course_utils.pipeline.to_model_range`) and
returns *logits*, one unnormalised score per class: train it with ``from_logits=True`` and apply a
softmax only when you want probabilities.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from course_utils.datasets import ImageData
from course_utils.paths import runs_dir
from course_utils.pipeline import make_dataset, to_model_range
from course_utils.training import check_profile, images_used
from course_utils.validation import check_positive_int, describe

if TYPE_CHECKING:
    from course_utils.profiles import Profile

__all__ = [
    "FEATURES_LAYER",
    "build_classifier",
    "classifier_path",
    "confusion_matrix",
    "evaluate_accuracy",
    "feature_extractor",
    "load_or_train_classifier",
    "predict_classes",
    "predict_logits",
    "read_classifier_record",
    "save_classifier",
    "train_classifier",
]

#: Name of the penultimate Dense layer whose outputs lessons 07 and 12 use as a feature space.
FEATURES_LAYER = "features"


# ------------------------------------------------------------------------------------------ the model


def build_classifier(
    *,
    width: int = 32,
    num_classes: int = 10,
    input_shape: Sequence[int] = (28, 28, 1),
    feature_units: int = 128,
    dropout: float = 0.5,
) -> keras.Model:
    """The classic Keras CNN, Conv-Pool-Conv-Pool-Flatten-Dropout-Dense("features")-Dense(logits); lesson 03.

    ``width`` filters in the first convolution and twice as many in the second, 3x3 kernels without
    padding, 2x2 max pooling. Inputs are images in [-1, 1]; the output holds ``num_classes`` logits.
    """
    width = check_positive_int("width", width)
    num_classes = check_positive_int("num_classes", num_classes, minimum=2)
    feature_units = check_positive_int("feature_units", feature_units)
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape):
        raise ValueError(f"input_shape must be (height, width, channels), e.g. (28, 28, 1); got {input_shape!r}.")
    if shape[0] < 10 or shape[1] < 10:
        raise ValueError(
            f"input_shape {shape} is too small: two 3x3 convolutions and two 2x2 poolings need images of at "
            "least 10x10 pixels."
        )
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a fraction in [0, 1); got {dropout!r}.")

    inputs = keras.Input(shape=shape, name="images")
    x = keras.layers.Conv2D(width, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(2 * width, 3, activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Dense(feature_units, activation="relu", name=FEATURES_LAYER)(x)
    # float32 logits even under a mixed-precision policy, so the loss is computed accurately.
    logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name="digit_classifier")


def _check_model(model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model (e.g. from build_classifier); got {describe(model)}.")
    return model


def feature_extractor(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights that outputs its "features" layer instead of the logits; lesson 03."""
    model = _check_model(model)
    try:
        layer = model.get_layer(FEATURES_LAYER)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise ValueError(
            f"model has no layer named {FEATURES_LAYER!r} (its layers are: {names}); build it with build_classifier."
        ) from None
    return keras.Model(model.input, layer.output, name=f"{model.name}_features")


# ------------------------------------------------------------------------------------------ predicting


def _model_inputs(model: keras.Model, images: Any) -> np.ndarray:
    """``images`` as a float32 batch in [-1, 1] shaped like the model's input; uint8 images are scaled."""
    array = images.numpy() if tf.is_tensor(images) else np.asarray(images)
    expected = tuple(model.inputs[0].shape[1:])
    if array.ndim == len(expected) and array.shape[1:] == expected[:-1] and expected[-1] == 1:
        array = array[..., None]  # (N, H, W) grey images: add the channel axis
    if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected:
        single = " (a single image: add a batch axis with images[None])" if array.shape == expected else ""
        raise ValueError(
            f"images must be a batch shaped (N, {', '.join(map(str, expected))}) for this model; "
            f"got {describe(array)}{single}."
        )
    if array.dtype == np.uint8:
        return to_model_range(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"images must be uint8 in [0, 255] or floating point in [-1, 1] (model range); got {describe(array)}."
        )
    if array.size and (np.nanmin(array) < -1 - 1e-3 or np.nanmax(array) > 1 + 1e-3):
        raise ValueError(
            f"images must be uint8 in [0, 255] or floating point in [-1, 1] (model range); got {describe(array)}"
            " — pass uint8 pictures unscaled, or scale them with pipeline.to_model_range."
        )
    return array.astype(np.float32, copy=False)


def predict_logits(model: keras.Model, images: Any, *, batch_size: int = 256) -> np.ndarray:
    """The model's logits (N, num_classes) for uint8 images or images in [-1, 1]; lesson 03."""
    model = _check_model(model)
    batch_size = check_positive_int("batch_size", batch_size)
    x = _model_inputs(model, images)
    if len(x) == 0:
        return np.zeros((0, *model.outputs[0].shape[1:]), np.float32)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def predict_classes(model: keras.Model, images: Any, *, batch_size: int = 256) -> np.ndarray:
    """The predicted class of each image (uint8, or float in [-1, 1]), as an int64 array; lesson 03."""
    return np.argmax(predict_logits(model, images, batch_size=batch_size), axis=-1).astype(np.int64)


def _check_labels(name: str, labels: Any, count: int | None = None) -> np.ndarray:
    array = labels.numpy() if tf.is_tensor(labels) else np.asarray(labels)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise ValueError(f"{name} must be a 1-D array of whole-number class labels; got {describe(array)}.")
    if count is not None and len(array) != count:
        raise ValueError(f"{name} must hold one label per image ({count}); got {describe(array)}.")
    return array.astype(np.int64)


def evaluate_accuracy(model: keras.Model, images: Any, labels: Any, *, batch_size: int = 256) -> float:
    """The fraction of ``images`` whose predicted class equals ``labels``; lesson 03."""
    labels = _check_labels("labels", labels, len(images))
    if len(labels) == 0:
        raise ValueError("images is empty: there is nothing to measure the accuracy on.")
    return float(np.mean(predict_classes(model, images, batch_size=batch_size) == labels))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int = 10) -> np.ndarray:
    """Counts C[i, j] of images of true class i predicted as class j, in NumPy (int64); lesson 03."""
    num_classes = check_positive_int("num_classes", num_classes)
    y_true = _check_labels("y_true", y_true)
    y_pred = _check_labels("y_pred", y_pred, len(y_true))
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"{name} must hold class numbers from 0 to {num_classes - 1}; got values in "
                f"[{values.min()}, {values.max()}]."
            )
    # Each (true, predicted) pair gets one number, true * K + predicted; counting those numbers fills the matrix.
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


# ------------------------------------------------------------------------------------------ training


def train_classifier(
    data: ImageData,
    *,
    epochs: int,
    batch_size: int,
    width: int,
    validation_fraction: float = 0.1,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 1,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build and ``fit`` a classifier on ``data.x_train``, holding out a validation split; lesson 03.

    The last ``validation_fraction`` of a seeded shuffle of the training images is kept for validation.
    ``seed`` also sets the initial weights and the batch order. Returns the model and the per-epoch
    history (loss, accuracy, val_loss, val_accuracy).
    """
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData from datasets.load_digits(...); got {describe(data)}.")
    if data.y_train is None:
        raise ValueError(f"data {data.name!r} has no labels; a classifier needs labelled images.")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    width = check_positive_int("width", width)
    seed = check_positive_int("seed", seed, minimum=0)
    if not isinstance(validation_fraction, (int, float)) or not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be a fraction between 0 and 1; got {validation_fraction!r}.")
    images = np.asarray(data.x_train)
    labels = _check_labels("data.y_train", data.y_train, len(images))
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"data.x_train must be uint8 images shaped (N, H, W) or (N, H, W, C); got {describe(images)}.")
    if images.ndim == 3:
        images = images[..., None]
    n_val = int(round(validation_fraction * len(images)))
    if n_val < 1 or len(images) - n_val < 1:
        raise ValueError(
            f"{len(images)} training images cannot be split with validation_fraction={validation_fraction}: "
            "both parts need at least one image."
        )
    num_classes = max(10, int(labels.max()) + 1)

    order = np.random.default_rng(seed).permutation(len(images))
    train_rows, val_rows = order[:-n_val], order[-n_val:]
    train_ds = make_dataset(
        images[train_rows], labels[train_rows], batch_size=batch_size, seed=seed, drop_remainder=False
    )
    val_ds = make_dataset(
        images[val_rows], labels[val_rows], batch_size=batch_size, shuffle=False, drop_remainder=False
    )

    keras.utils.set_random_seed(seed)  # the initial weights and dropout masks
    model = build_classifier(width=width, num_classes=num_classes, input_shape=images.shape[1:])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    # shuffle=False: the dataset already shuffles itself, a new order each epoch.
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, shuffle=False, verbose=verbose)
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}


# ------------------------------------------------------------------------------------------ saving and loading


def classifier_path(name: str = "digits") -> Path:
    """Where the classifier called ``name`` is saved: ``runs/classifier/<name>.keras``; lesson 03."""
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\:") or name.startswith("."):
        raise ValueError(f"name must be a plain file name such as 'digits'; got {name!r}.")
    return runs_dir("classifier") / f"{name}.keras"


def _record_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_keras_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path ending in .keras; got {describe(path)}.")
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras (Keras' model format); got {str(path)!r}.")
    return path


def save_classifier(
    model: keras.Model,
    path: str | os.PathLike | None = None,
    *,
    data: ImageData,
    test_accuracy: float,
    epochs: int | None = None,
) -> Path:
    """Save ``model`` atomically, with a JSON record of its data, test accuracy and width; lesson 03.

    The model is written to a temporary file in the same folder and moved over ``path`` in one step, so a
    reader never sees a half-written file. ``path`` defaults to :func:`classifier_path`.
    """
    model = _check_model(model)
    path = classifier_path() if path is None else _check_keras_path(path)
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be the ImageData the model was trained on; got {describe(data)}.")
    if isinstance(test_accuracy, bool) or not isinstance(test_accuracy, (int, float, np.floating)):
        raise TypeError(f"test_accuracy must be a number between 0 and 1; got {describe(test_accuracy)}.")
    if not 0 <= float(test_accuracy) <= 1:
        raise ValueError(f"test_accuracy must be a fraction between 0 and 1; got {test_accuracy!r}.")
    if epochs is not None:
        epochs = check_positive_int("epochs", epochs)
    path.parent.mkdir(parents=True, exist_ok=True)
    conv1 = next((layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)), None)

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".keras")
    os.close(handle)
    record_temporary = Path(temporary).with_suffix(".json")
    try:
        model.save(temporary)
        record = {
            "data": data.name,
            "source": data.source,
            "n_train": int(len(data.x_train)),
            "test_accuracy": float(test_accuracy),
            "width": None if conv1 is None else int(conv1.filters),
            "epochs": epochs,
            "input_shape": list(model.inputs[0].shape[1:]),
            "keras_version": keras.__version__,
            "model_sha256": _sha256(Path(temporary)),
        }
        record_temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)
        os.replace(record_temporary, _record_path(path))
    finally:
        for leftover in (Path(temporary), record_temporary):
            leftover.unlink(missing_ok=True)
    return path


def read_classifier_record(path: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The JSON record saved next to a classifier, or None when it is missing, unreadable or stale; lesson 07."""
    path = classifier_path() if path is None else _check_keras_path(path)
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("model_sha256") != _sha256(path):
            return None  # describes another model file (e.g. a save interrupted between the two files)
    except (OSError, ValueError):
        return None
    return record


def _move_aside(path: Path) -> Path:
    """Rename a saved classifier and its record to ``<name>.replaced-<YYYYmmdd-HHMMSS>.keras/.json``."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.replaced-{stamp}{path.suffix}")
    suffix = 1
    while target.exists():
        suffix += 1
        target = path.with_name(f"{path.stem}.replaced-{stamp}-{suffix}{path.suffix}")
    os.replace(path, target)
    if _record_path(path).exists():
        os.replace(_record_path(path), target.with_suffix(".json"))
    return target


def _load(path: Path) -> keras.Model:
    """Load a saved classifier and check that it is one (an image input and a "features" layer)."""
    model = keras.models.load_model(path, compile=False)
    feature_extractor(model)  # raises when the layer is missing
    if len(model.inputs[0].shape) != 4:
        raise ValueError(f"the saved model's input is shaped {tuple(model.inputs[0].shape)}, not a batch of images")
    return model


def _why_retrain(record: dict[str, Any] | None, profile: Profile, data: ImageData | None) -> str | None:
    """Why a loadable saved classifier should not be used with this profile and data (None: use it)."""
    if record is None:
        return None
    if data is not None and record.get("data") not in (None, data.name):
        return f"it was trained on {record['data']!r} but the data given is {data.name!r}"
    smaller = []
    for knob, saved, wanted in (
        ("width", record.get("width"), profile.width),
        ("epochs", record.get("epochs"), profile.classifier_epochs),
        # profile.n_train is a cap: a dataset smaller than it is used whole, so compare with what the data gives
        ("training images", record.get("n_train"), images_used(profile, None if data is None else len(data.x_train))),
    ):
        if isinstance(saved, int) and saved < wanted:
            smaller.append(f"{knob} {saved} < {wanted}")
    if smaller:
        return f"it is smaller than the '{profile.name}' profile asks for ({', '.join(smaller)})"
    return None


def load_or_train_classifier(
    profile: Profile,
    *,
    data: ImageData | None = None,
    path: str | os.PathLike | None = None,
    verbose: bool = True,
) -> keras.Model:
    """Load the classifier lesson 03 saved, or train and save one with the profile's numbers; lessons 07 and 12.

    A saved model that cannot be read, or that is smaller (width, epochs, training images) than ``profile``
    asks for, is replaced by a new one; the old files are kept beside it, renamed ``<name>.replaced-<time>``.
    ``profile.n_train`` is a cap: a model trained on all of a smaller dataset is complete. ``data`` defaults
    to ``datasets.load_digits`` with the profile's sizes.
    """
    check_profile(profile, "width", "classifier_epochs", "batch_size", "n_train", "n_test")
    if data is not None and not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData from datasets.load_digits(...) or None; got {describe(data)}.")
    if data is not None and (data.y_train is None or data.y_test is None):
        raise ValueError(f"data {data.name!r} has no labels; a classifier is trained and tested on labelled images.")
    path = classifier_path() if path is None else _check_keras_path(path)
    say = print if verbose else (lambda *args, **kwargs: None)

    if path.exists():
        try:
            model = _load(path)
        except Exception as error:  # a truncated file, another Keras version, not a classifier at all...
            message = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            why = f"the saved classifier at {path} could not be loaded ({type(error).__name__}: {message})"
        else:
            record = read_classifier_record(path)
            why = _why_retrain(record, profile, data)
            if why is None:
                if record is None:
                    say(f"Loaded the classifier saved at {path} (no record of its data or accuracy was found).")
                else:
                    accuracy, n_train = record.get("test_accuracy"), record.get("n_train")
                    say(
                        f"Loaded the lesson-03 classifier from {path}: width {record.get('width')}, trained on "
                        + (f"{n_train:,}" if isinstance(n_train, int) else "an unknown number of")
                        + f" images of {record.get('source')} Its test accuracy was "
                        + (f"{accuracy:.2%}." if isinstance(accuracy, (int, float)) else "not recorded.")
                    )
                return model
            why = f"the saved classifier at {path} is not used: {why}"
    else:
        why = f"no classifier is saved at {path} yet (lesson 03 saves one)"

    say(
        f"Training a new classifier because {why}: {profile.classifier_epochs} epoch(s), width {profile.width}, "
        f"batch size {profile.batch_size}."
    )
    if path.exists():
        aside = _move_aside(path)
        say(f"The classifier it replaces is kept in {aside}.")
    if data is None:
        from course_utils.datasets import load_digits

        data = load_digits(n_train=profile.n_train, n_test=profile.n_test, verbose=verbose)
    model, _ = train_classifier(
        data,
        epochs=profile.classifier_epochs,
        batch_size=profile.batch_size,
        width=profile.width,
        verbose=1 if verbose else 0,
    )
    accuracy = evaluate_accuracy(model, data.x_test, data.y_test)
    save_classifier(model, path, data=data, test_accuracy=accuracy, epochs=profile.classifier_epochs)
    say(f"Saved it to {path}; test accuracy {accuracy:.2%} on {len(data.x_test):,} images of {data.source}")
    return model
