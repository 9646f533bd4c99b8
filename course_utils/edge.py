"""TensorFlow Lite (LiteRT) conversion, quantisation, a Keras-like interpreter wrapper and timing; lesson 16.

* :func:`export_saved_model` writes a Keras model as a TensorFlow SavedModel: a graph of plain TensorFlow
  ops with the weights inside. Custom layers (lesson 10's ``PartialConv2D``) need nothing special: their
  ``call`` is traced into ordinary ops, and the serving signature keeps the Keras input names
  (``image`` and ``mask`` for the inpainter, ``noise`` for the generator).
* :func:`convert` turns a Keras model (exported first) or a SavedModel folder into a ``.tflite`` flatbuffer,
  with no quantisation, dynamic-range (int8 weights), float16 weights, or full-integer int8 quantisation
  calibrated on a representative dataset.
* :class:`TFLiteModel` runs the flatbuffer with ``tf.lite.Interpreter`` and is called like the Keras model:
  ``model(noise)`` or ``model([image, mask])``. It quantises int8 inputs and dequantises int8 outputs.
* :func:`latency` and :func:`latencies` time functions (the second interleaved, so a ratio stays fair on a
  busy machine); :func:`compare` measures how far a converted model's outputs are from the Keras model's.

TensorFlow Lite is now called LiteRT; its interpreter lives in the ``ai_edge_litert`` package, which runs the
same ``.tflite`` files. ``tf.lite.Interpreter`` still works here and warns that it is deprecated.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.runtime import native_stderr_silenced
from course_utils.validation import check_choice, check_positive_int, describe

__all__ = [
    "QUANTISATIONS",
    "Latency",
    "TFLiteModel",
    "compare",
    "convert",
    "export_saved_model",
    "latencies",
    "latency",
    "quantised_weights",
    "save_tflite",
]

#: The quantisation modes of :func:`convert`.
QUANTISATIONS = ("none", "dynamic", "float16", "int8")

#: The interpreter's deprecation warning (LiteRT replaces ``tf.lite.Interpreter``): filtered, the lesson explains it.
_DEPRECATION = r"(?s).*tf\.lite\.Interpreter is deprecated.*"
_FIRST_RUN = [True]  # emptied after the first run of any TFLiteModel in this process


# --------------------------------------------------------------------------- conversion


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the converter's chatter: Python prints, warnings, and the C++ messages on stderr."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        native_stderr_silenced(),
    ):
        warnings.simplefilter("ignore")
        yield


def export_saved_model(model: Any, path: str | Path) -> Path:
    """Write a Keras model as a SavedModel folder (its serving signature keeps the input names); lesson 16."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model; got {describe(model)}.")
    path = Path(path)
    with _quiet():
        model.export(str(path), format="tf_saved_model")
    return path


def _representative(data: Any, names: list[str] | None) -> Callable[[], Iterator[Any]]:
    """A generator function yielding one-example batches for the int8 calibration.

    ``names`` are the model's input names when known (a Keras model); a dict is matched by name, a list of
    arrays is taken in the order of ``names``, and a single array feeds a one-input model.
    """
    if callable(data):
        return data
    if isinstance(data, dict):
        if names is not None and sorted(data) != sorted(names):
            raise ValueError(
                f"representative_data must have the keys {names} (the model's inputs); got {sorted(data)}."
            )
        arrays: dict[str, np.ndarray] | list[np.ndarray] = {k: np.asarray(v, np.float32) for k, v in data.items()}
    elif isinstance(data, (list, tuple)):
        if names is None or len(data) != len(names):
            raise ValueError(
                "give representative_data for a model with several inputs as a dict {input name: array}"
                + (f" with the keys {names}" if names else "")
                + f"; got a {type(data).__name__} of {len(data)} arrays."
            )
        arrays = {name: np.asarray(array, np.float32) for name, array in zip(names, data, strict=True)}
    else:
        if names is not None and len(names) != 1:
            raise ValueError(
                f"this model has {len(names)} inputs {names}: give representative_data as a dict {{input name: array}}."
            )
        arrays = [np.asarray(data, np.float32)]
    values = list(arrays.values()) if isinstance(arrays, dict) else arrays
    counts = {len(array) if array.ndim else 0 for array in values}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(
            "representative_data must hold the same number (at least 1) of examples for every input; got "
            + ", ".join(describe(array) for array in values)
            + "."
        )
    count = counts.pop()

    def generate() -> Iterator[Any]:
        for i in range(count):
            if isinstance(arrays, dict):
                yield {name: array[i : i + 1] for name, array in arrays.items()}
            else:
                yield [array[i : i + 1] for array in arrays]

    return generate


def convert(
    model: Any,
    *,
    quantisation: str = "none",
    representative_data: Any = None,
    int8_io: bool = False,
) -> bytes:
    """Convert a Keras model (or a SavedModel folder) to TensorFlow Lite bytes, optionally quantised; lesson 16.

    The Keras model is first exported as a SavedModel (:func:`export_saved_model`), which traces custom layers
    and several inputs into plain TensorFlow ops; ``TFLiteConverter.from_saved_model`` converts that.
    ``quantisation``: ``"none"`` (float32), ``"dynamic"`` (int8 weights, float activations), ``"float16"``
    (float16 weights) or ``"int8"`` (weights *and* activations int8, calibrated on ``representative_data``:
    an array of input examples, a dict {input name: array} for several inputs, or a generator function as in
    the TensorFlow docs). To convert one model in several modes, export it once and pass the folder.
    With ``int8_io=True`` the int8 model also takes and returns int8 tensors (what a microcontroller wants);
    :class:`TFLiteModel` converts them for you.
    """
    import keras
    import tensorflow as tf

    check_choice("quantisation", quantisation, QUANTISATIONS)
    if quantisation == "int8" and representative_data is None:
        raise ValueError(
            "full-integer (int8) quantisation needs representative_data: a few hundred typical inputs "
            "(training images, noise vectors...) from which the converter measures the range of every "
            "activation to choose its scale and zero point. Pass representative_data=..., or choose "
            "quantisation='dynamic', which quantises only the weights and needs no data."
        )
    if quantisation != "int8" and (representative_data is not None or int8_io):
        raise ValueError(
            f"representative_data and int8_io are only used by quantisation='int8'; got quantisation="
            f"{quantisation!r}. Remove them, or ask for 'int8'."
        )
    is_keras = isinstance(model, keras.Model)
    if not is_keras and not (isinstance(model, (str, Path)) and (Path(model) / "saved_model.pb").is_file()):
        raise TypeError(
            f"model must be a Keras model or the folder of a SavedModel (holding saved_model.pb); "
            f"got {describe(model)}."
        )
    names = [str(t.name) for t in model.inputs] if is_keras else None
    calibration = _representative(representative_data, names) if quantisation == "int8" else None
    with tempfile.TemporaryDirectory(prefix="course_edge_") as scratch:
        saved = export_saved_model(model, Path(scratch) / "saved_model") if is_keras else Path(model)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if quantisation != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantisation == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantisation == "int8":
            converter.representative_dataset = calibration
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if int8_io:
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
        with _quiet():
            return bytes(converter.convert())


def save_tflite(data: bytes, path: str | Path) -> Path:
    """Write TFLite bytes to a file atomically (a relative path goes under runs/edge/); lesson 16."""
    from course_utils.paths import runs_dir

    if not isinstance(data, (bytes, bytearray)) or not data:
        raise TypeError(f"data must be the non-empty bytes convert() returns; got {describe(data)}.")
    path = Path(path)
    if not path.is_absolute():
        path = runs_dir("edge") / path
    if path.suffix != ".tflite":
        path = path.with_name(path.name + ".tflite")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # a reader sees the old file or the whole new one, never half of it
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- the interpreter


class TFLiteModel:
    """A TFLite model called like the Keras model it came from: ``m(x)`` or ``m([image, mask])``; lesson 16.

    Inputs are matched by name through the model's serving signature (a list is taken in the order of
    ``input_names``, which follows the Keras model's inputs; a dict is matched by name). int8 inputs are
    quantised with q = round(x / scale) + zero_point, clipped to [-128, 127], and int8 outputs dequantised
    with x = scale · (q - zero_point), so the caller always works in float32. Batches larger than
    ``batch_size`` run in chunks.
    """

    def __init__(
        self,
        data: bytes | str | Path,
        *,
        input_names: Iterable[str] | None = None,
        batch_size: int = 64,
        num_threads: int | None = None,
    ) -> None:
        import tensorflow as tf

        if isinstance(data, (str, Path)):
            data = Path(data).read_bytes()
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise TypeError(f"data must be TFLite bytes (from convert()) or a .tflite path; got {describe(data)}.")
        self.data = bytes(data)
        self.batch_size = check_positive_int("batch_size", batch_size)
        # the interpreter's deprecation warning (LiteRT) and C++ messages are hidden; the lesson explains them
        with warnings.catch_warnings(), native_stderr_silenced():
            warnings.filterwarnings("ignore", message=_DEPRECATION)
            self.interpreter = tf.lite.Interpreter(model_content=self.data, num_threads=num_threads)
            signatures = self.interpreter.get_signature_list()
            self.signature = "serving_default" if "serving_default" in signatures else next(iter(signatures), "")
            self._runner = self.interpreter.get_signature_runner(self.signature) if signatures else None
        if self._runner is None:
            raise ValueError("this TFLite model has no signature; convert it with edge.convert().")
        self.input_details: dict[str, dict[str, Any]] = self._runner.get_input_details()
        self.output_details: dict[str, dict[str, Any]] = self._runner.get_output_details()
        names = list(signatures[self.signature]["inputs"]) if input_names is None else list(input_names)
        if sorted(names) != sorted(self.input_details):
            raise ValueError(f"input_names must be the model's inputs {sorted(self.input_details)}; got {names}.")
        self.input_names = names
        self.output_names = list(signatures[self.signature]["outputs"])

    @property
    def size_bytes(self) -> int:
        """The size of the flatbuffer in bytes; lesson 16."""
        return len(self.data)

    def _check(self, name: str, value: Any) -> np.ndarray:
        array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        expected = tuple(int(n) for n in self.input_details[name]["shape_signature"][1:])
        if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected:
            raise ValueError(
                f"input {name!r} must be a batch shaped (N, {', '.join(map(str, expected))}); got {describe(array)}"
                + (" (add a batch axis with x[None])" if tuple(array.shape) == expected else "")
                + "."
            )
        return array.astype(np.float32, copy=False)

    def _inputs(self, inputs: Any) -> dict[str, np.ndarray]:
        if isinstance(inputs, dict):
            unknown = sorted(set(inputs) - set(self.input_names))
            missing = sorted(set(self.input_names) - set(inputs))
            if unknown or missing:
                raise ValueError(f"inputs must be a dict with the keys {self.input_names}; got {sorted(inputs)}.")
            pairs = [(name, inputs[name]) for name in self.input_names]
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) != len(self.input_names):
                raise ValueError(
                    f"this model takes {len(self.input_names)} input(s) {self.input_names}; got {len(inputs)}."
                )
            pairs = list(zip(self.input_names, inputs, strict=True))
        else:
            if len(self.input_names) != 1:
                raise ValueError(f"this model takes the inputs {self.input_names}: pass a list of arrays.")
            pairs = [(self.input_names[0], inputs)]
        arrays = {name: self._check(name, value) for name, value in pairs}
        if len({len(array) for array in arrays.values()}) != 1:
            raise ValueError(
                "every input must hold the same number of examples; got "
                + ", ".join(f"{name}: {describe(array)}" for name, array in arrays.items())
                + "."
            )
        return arrays

    def _quantise(self, name: str, array: np.ndarray) -> np.ndarray:
        details = self.input_details[name]
        if details["dtype"] == np.float32:
            return array
        scale, zero_point = details["quantization"]
        info = np.iinfo(details["dtype"])
        return np.clip(np.round(array / scale) + zero_point, info.min, info.max).astype(details["dtype"])

    def _dequantise(self, name: str, array: np.ndarray) -> np.ndarray:
        details = self.output_details[name]
        if details["dtype"] == np.float32:
            return array
        scale, zero_point = details["quantization"]
        return (scale * (array.astype(np.float32) - zero_point)).astype(np.float32)

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        """Run the model on a batch; ``training`` is accepted (and ignored) so Keras-style calls work; lesson 16."""
        arrays = self._inputs(inputs)
        n = len(next(iter(arrays.values())))
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.output_names}
        for start in range(0, max(n, 1), self.batch_size):
            feed = {name: self._quantise(name, a[start : start + self.batch_size]) for name, a in arrays.items()}
            if _FIRST_RUN:  # the first run in a process prints a C++ note "Created ... XNNPACK delegate"
                with native_stderr_silenced():
                    outputs = self._runner(**feed)
                _FIRST_RUN.clear()
            else:
                outputs = self._runner(**feed)
            for name in self.output_names:
                parts[name].append(self._dequantise(name, np.array(outputs[name])))
        results = {name: np.concatenate(chunks) for name, chunks in parts.items()}
        return results[self.output_names[0]] if len(results) == 1 else results

    def __repr__(self) -> str:
        return f"TFLiteModel({self.size_bytes:,} bytes, inputs {self.input_names}, outputs {self.output_names})"


def quantised_weights(data: bytes) -> list[dict[str, Any]]:
    """The int8 constant tensors of a TFLite model: name, values, scales, zero points, axis; lesson 16."""
    import tensorflow as tf

    if not isinstance(data, (bytes, bytearray)) or not data:
        raise TypeError(f"data must be TFLite bytes from convert(); got {describe(data)}.")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DEPRECATION)
        interpreter = tf.lite.Interpreter(
            model_content=bytes(data),
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    interpreter.allocate_tensors()
    found = []
    for details in interpreter.get_tensor_details():
        parameters = details["quantization_parameters"]
        if details["dtype"] != np.int8 or len(details["shape"]) < 2 or not len(parameters["scales"]):
            continue
        try:
            values = interpreter.get_tensor(details["index"])
        except ValueError:  # an activation: no stored values
            continue
        found.append(
            {
                "name": details["name"],
                "values": np.array(values),
                "scales": np.array(parameters["scales"]),
                "zero_points": np.array(parameters["zero_points"]),
                "axis": int(parameters["quantized_dimension"]),
            }
        )
    return found


# --------------------------------------------------------------------------- timing and agreement


@dataclass(frozen=True)
class Latency:
    """Timings of one function in milliseconds: the median, the 10th and 90th percentiles; lesson 16."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    times_ms: tuple[float, ...]

    def __str__(self) -> str:
        return f"{self.median_ms:.2f} ms (10-90%: {self.p10_ms:.2f}-{self.p90_ms:.2f})"


def _summary(times: list[float]) -> Latency:
    ms = np.asarray(times) * 1e3
    p10, median, p90 = np.percentile(ms, [10, 50, 90])
    return Latency(float(median), float(p10), float(p90), tuple(float(t) for t in ms))


def latencies(
    fns: dict[str, Callable[[Any], Any]], inputs: Any, *, repeats: int = 20, warmup: int = 3
) -> dict[str, Latency]:
    """Time several functions on the same inputs, interleaved call by call so a busy machine slows all alike; lesson 16.

    Each function is called ``warmup`` times untimed (tracing, memory allocation), then ``repeats`` rounds in
    which every function runs once; returns their :class:`Latency` by name.
    """
    if not isinstance(fns, dict) or not fns or not all(callable(fn) for fn in fns.values()):
        raise TypeError(f"fns must be a non-empty dict {{name: function}}; got {describe(fns)}.")
    repeats = check_positive_int("repeats", repeats)
    warmup = check_positive_int("warmup", warmup, minimum=0)
    for fn in fns.values():
        for _ in range(warmup):
            fn(inputs)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            result = fn(inputs)
            if hasattr(result, "numpy"):
                result.numpy()  # wait for the answer itself, not just its promise
            times[name].append(time.perf_counter() - start)
    return {name: _summary(values) for name, values in times.items()}


def latency(fn: Callable[[Any], Any], inputs: Any, *, repeats: int = 20, warmup: int = 3) -> Latency:
    """The median (and 10th/90th percentile) time of ``fn(inputs)`` after ``warmup`` untimed calls; lesson 16."""
    if not callable(fn):
        raise TypeError(f"fn must be a function; got {describe(fn)}.")
    return latencies({"fn": fn}, inputs, repeats=repeats, warmup=warmup)["fn"]


def compare(keras_model: Any, tflite_model: Any, inputs: Any) -> dict[str, float]:
    """How far a converted model's outputs are from the Keras model's: max and mean |difference|; lesson 16.

    ``range`` is max - min of the Keras outputs, the scale against which a quantisation error should be read.
    """
    if not callable(keras_model) or not callable(tflite_model):
        raise TypeError("keras_model and tflite_model must both be callable models.")
    expected = np.asarray(keras_model(inputs, training=False), np.float64)
    got = np.asarray(tflite_model(inputs), np.float64)
    if got.shape != expected.shape:
        raise ValueError(f"the two models disagree on the output shape: {expected.shape} vs {got.shape}.")
    difference = np.abs(got - expected)
    return {
        "max_abs": float(difference.max()),
        "mean_abs": float(difference.mean()),
        "range": float(expected.max() - expected.min()),
    }
