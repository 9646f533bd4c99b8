"""The lesson-03 classifier: its shapes, that it learns, saving and loading it, and its plain-words errors."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import classifier as clf
from course_utils.datasets import ImageData
from course_utils.profiles import PROFILES
from course_utils.standins import render_digits

SMALL = PROFILES["smoke"].replace(n_train=480, n_test=120, classifier_epochs=4, width=8, batch_size=32)


@pytest.fixture(scope="module")
def digits() -> ImageData:
    images, labels = render_digits(600, seed=3)
    return ImageData(
        images[:480], labels[:480], images[480:], labels[480:], name="standin-digits", source="Test digits."
    )


@pytest.fixture(scope="module")
def trained(digits: ImageData) -> tuple[keras.Model, dict[str, list[float]]]:
    return clf.train_classifier(digits, epochs=4, batch_size=32, width=8, seed=0, verbose=0)


@pytest.fixture()
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    return tmp_path


def test_shapes_and_features_layer() -> None:
    model = clf.build_classifier(width=4, num_classes=10)
    assert model.output_shape == (None, 10)
    names = [layer.name for layer in model.layers]
    assert names.index("features") == len(names) - 2, names  # the penultimate layer
    assert model.get_layer("conv1").output.shape[1:] == (26, 26, 4)
    assert model.get_layer("pool2").output.shape[1:] == (5, 5, 8)
    assert model.get_layer("logits").activation is keras.activations.linear  # logits, not probabilities
    extractor = clf.feature_extractor(model)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    features = extractor(x).numpy()
    assert features.shape == (3, 128) and features.min() >= 0  # ReLU outputs
    # The extractor shares the classifier's weights: the logits are the last Dense applied to the features.
    dense = model.get_layer("logits")
    np.testing.assert_allclose(model(x).numpy(), features @ dense.kernel.numpy() + dense.bias.numpy(), atol=1e-5)
    assert clf.build_classifier(width=2, num_classes=3, input_shape=(32, 32, 3)).output_shape == (None, 3)


def test_training_learns_the_digits(digits: ImageData, trained: tuple[keras.Model, dict]) -> None:
    model, history = trained
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0]
    accuracy = clf.evaluate_accuracy(model, digits.x_test, digits.y_test)
    assert accuracy > 0.5, f"test accuracy {accuracy:.1%} is not clearly above chance (10%)"
    predictions = clf.predict_classes(model, digits.x_test)
    assert predictions.dtype == np.int64 and predictions.shape == (120,)
    # uint8 pictures and the same pictures in model range give the same answers
    scaled = digits.x_test[..., None].astype(np.float32) / 127.5 - 1
    np.testing.assert_array_equal(clf.predict_classes(model, scaled), predictions)


def test_save_and_load_round_trip(digits: ImageData, trained: tuple[keras.Model, dict], runs: Path) -> None:
    model, _ = trained
    path = clf.save_classifier(model, data=digits, test_accuracy=0.75, epochs=4)
    assert path == runs / "classifier" / "digits.keras" and path.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["digits.json", "digits.keras"]  # no temporary left
    record = clf.read_classifier_record(path)
    assert record is not None
    assert record["test_accuracy"] == 0.75 and record["width"] == 8 and record["source"] == "Test digits."
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(
        clf.predict_logits(loaded, digits.x_test), clf.predict_logits(model, digits.x_test)
    )


def test_load_or_train_trains_when_missing_then_loads(
    digits: ImageData, runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = clf.load_or_train_classifier(SMALL, data=digits, verbose=True)
    out = capsys.readouterr().out
    assert "Training a new classifier because no classifier is saved" in out
    assert clf.classifier_path().exists()

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_or_train_classifier trained although a model was saved")

    monkeypatch.setattr(clf, "train_classifier", no_training)
    again = clf.load_or_train_classifier(SMALL, data=digits, verbose=True)
    out = capsys.readouterr().out
    assert "Loaded the lesson-03 classifier" in out and "test accuracy was" in out
    np.testing.assert_array_equal(clf.predict_logits(again, digits.x_test), clf.predict_logits(model, digits.x_test))


def test_a_corrupt_or_too_small_saved_model_is_retrained(
    digits: ImageData, trained: tuple[keras.Model, dict], runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = clf.save_classifier(trained[0], data=digits, test_accuracy=0.5, epochs=4)
    path.write_bytes(path.read_bytes()[:1000])  # a truncated file, as a killed copy leaves it
    assert clf.read_classifier_record(path) is None  # the record no longer matches the file
    clf.load_or_train_classifier(SMALL.replace(classifier_epochs=1), data=digits, verbose=True)
    out = capsys.readouterr().out
    assert "could not be loaded" in out and "Training a new classifier" in out
    assert clf.read_classifier_record(path)["epochs"] == 1

    clf.load_or_train_classifier(SMALL.replace(classifier_epochs=1, width=9), data=digits, verbose=True)
    out = capsys.readouterr().out
    assert "smaller than the 'smoke' profile asks for (width 8 < 9)" in out


def test_confusion_matrix_matches_tensorflow() -> None:
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    ours = clf.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(ours, tf.math.confusion_matrix(y_true, y_pred, num_classes=10).numpy())
    reference = np.zeros((4, 4), np.int64)
    np.add.at(reference, (y_true % 4, y_pred % 4), 1)
    np.testing.assert_array_equal(clf.confusion_matrix(y_true % 4, y_pred % 4, num_classes=4), reference)
    assert ours.sum() == 500 and ours.dtype == np.int64
    assert clf.confusion_matrix([1, 1], [1, 0], num_classes=2).tolist() == [[0, 0], [1, 1]]  # rows: true classes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: clf.predict_classes(m, np.zeros((2, 32, 32, 1), np.uint8)), "batch shaped (N, 28, 28, 1)"),
        (lambda m: clf.predict_classes(m, np.zeros((28, 28, 1), np.uint8)), "add a batch axis"),
        (lambda m: clf.predict_classes(m, np.full((2, 28, 28), 255.0, np.float32)), "pass uint8 pictures unscaled"),
        (lambda m: clf.predict_classes(m, np.zeros((2, 28, 28), np.int32)), "uint8 in [0, 255] or floating point"),
        (lambda m: clf.confusion_matrix([0, 10], [0, 1]), "y_true must hold class numbers from 0 to 9"),
        (lambda m: clf.confusion_matrix([0, 1], [0]), "y_pred must hold one label per image (2)"),
        (lambda m: clf.build_classifier(width=0), "width must be at least 1"),
        (lambda m: clf.build_classifier(input_shape=(28, 28)), "input_shape must be (height, width, channels)"),
        (lambda m: clf.feature_extractor(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])), "no layer"),
        (lambda m: clf.classifier_path("../x"), "plain file name"),
        (lambda m: clf.save_classifier(m, "model.h5", data=None, test_accuracy=1.0), "end in .keras"),
    ],
)
def test_clear_errors(call, message: str) -> None:
    model = clf.build_classifier(width=2)
    with pytest.raises((ValueError, TypeError)) as caught:
        call(model)
    assert message in str(caught.value)


def test_train_classifier_rejects_bad_arguments(digits: ImageData) -> None:
    unlabelled = ImageData(digits.x_train, None, digits.x_test, None, name="x", source="x")
    with pytest.raises(ValueError, match="has no labels"):
        clf.train_classifier(unlabelled, epochs=1, batch_size=8, width=2)
    with pytest.raises(ValueError, match="validation_fraction must be a fraction"):
        clf.train_classifier(digits, epochs=1, batch_size=8, width=2, validation_fraction=1.5)
    with pytest.raises(TypeError, match="data must be an ImageData"):
        clf.train_classifier(digits.x_train, epochs=1, batch_size=8, width=2)


def test_a_model_trained_on_all_of_a_dataset_smaller_than_the_cap_is_loaded(
    digits: ImageData, runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capped = SMALL.replace(n_train=20_000, classifier_epochs=1)  # the cap is far above the 480 digits given
    clf.load_or_train_classifier(capped, data=digits, verbose=False)

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model trained on every one of the 480 digits was not used")

    monkeypatch.setattr(clf, "train_classifier", no_training)
    clf.load_or_train_classifier(capped, data=digits, verbose=True)
    assert "Loaded the lesson-03 classifier" in capsys.readouterr().out


def test_a_replaced_classifier_is_kept_beside_the_new_one(
    digits: ImageData, trained: tuple[keras.Model, dict], runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = clf.save_classifier(trained[0], data=digits, test_accuracy=0.5, epochs=4)
    old = path.read_bytes()
    clf.load_or_train_classifier(SMALL.replace(classifier_epochs=1, width=9), data=digits, verbose=True)
    out = capsys.readouterr().out
    kept = sorted(p.name for p in path.parent.glob("digits.replaced-*"))
    assert len(kept) == 2 and kept[0].endswith(".json") and kept[1].endswith(".keras"), kept
    assert (path.parent / kept[1]).read_bytes() == old and f"is kept in {path.parent / kept[1]}" in out
    assert clf.read_classifier_record(path)["width"] == 9
