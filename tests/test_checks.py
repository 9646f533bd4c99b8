"""The exercise checks reject wrong answers with a plain-words message and accept right ones."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


class FakeTensor:
    """Stands in for a TensorFlow eager tensor (the checks only use .numpy(), .dtype and .shape)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.dtype, self.shape = array.dtype, array.shape

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array."""
        return self.array


def reference_pad(image: np.ndarray, width: int = 1) -> np.ndarray:
    """Zero-pad ``image`` by ``width`` on every side (the reference of the pad exercise)."""
    return np.pad(image, width)


PAD_CASES = [(np.ones((2, 2), np.float32),), {"image": np.arange(3, dtype=np.float32), "width": 2}]


def not_written(*args: object) -> None:
    """The student stub of any exercise."""
    raise NotImplementedError("Exercise: write your solution here")


def test_check_function_accepts_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_function(lambda image, width=1: np.pad(image, width), reference_pad, PAD_CASES, name="pad")
    assert capsys.readouterr().out == "✔ pad passes all 2 checks.\n"
    checks.check_function(lambda image, width=1: FakeTensor(np.pad(image, width)), reference_pad, PAD_CASES)
    checks.check_function(lambda x: (x, x + 1e-9), lambda x: (x, x), [(1.0,)], name="pair")
    assert "✔ pair passes the check." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`pad` is not written yet: replace the `raise NotImplementedError` line"),
        (None, "`pad` is not written yet"),
        (42, "`pad` should be a function; got int 42"),
        (lambda image, width=1: None, "the result is None; expected float32 array"),
        (lambda image, width=1: np.pad(image, 1), "case 2 of 2: the result has shape (5,); expected shape (7,)"),
        (lambda image, width=1: np.pad(image, width).astype(np.float64), "has dtype float64; expected float32"),
        (lambda image, width=1: np.pad(image, width) * 2, "differs from the expected values at 4 of 16 positions"),
        (lambda image, width=1: image[5], "`pad` raised IndexError: index 5 is out of bounds"),
    ],
)
def test_check_function_rejects_wrong_answers(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_function(fn, reference_pad, PAD_CASES, name="pad")
    assert expected in str(caught.value)


def test_check_function_reports_the_first_failing_case_with_inputs() -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_function(lambda image, width=1: np.pad(image, 1), reference_pad, PAD_CASES, name="pad")
    message = str(caught.value)
    assert "inputs:   image = float32 array [0., 1., 2.], width = 2" in message
    assert "expected: float32 array [0., 0., 0., 1., 2., 0., 0.]" in message
    assert "got:      float32 array [0., 0., 1., 2., 0.]" in message


def test_check_function_keeps_cases_safe_and_names_errors() -> None:
    def in_place(image: np.ndarray, width: int = 1) -> np.ndarray:
        image += 100  # changes the caller's array: the checks pass copies
        return np.pad(image - 100, width)

    checks.check_function(in_place, reference_pad, PAD_CASES)
    assert PAD_CASES[0][0].max() == 1.0
    with pytest.raises(ValueError, match="at least one case"):
        checks.check_function(in_place, reference_pad, [])
    with pytest.raises(TypeError, match=r"write a single argument as \(value,\)"):
        checks.check_function(in_place, reference_pad, [np.ones(2)])
    with pytest.raises(RuntimeError, match="reference for `f` failed on case 1"):
        checks.check_function(lambda x: x, lambda x: 1 / 0, [(1,)], name="f")


def test_check_function_compares_structures() -> None:
    def pair(x: float) -> tuple[float, dict[str, float]]:
        return x, {"double": 2 * x}

    checks.check_function(pair, pair, [(1.5,)])
    with pytest.raises(CheckFailed, match=r"the result\[1\]\['double'\] is 4.0; expected 3.0"):
        checks.check_function(lambda x: (x, {"double": 4.0}), pair, [(1.5,)])
    with pytest.raises(CheckFailed, match="should hold 2 values; got 1"):
        checks.check_function(lambda x: (x,), pair, [(1.5,)])


def test_check_array(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_array(FakeTensor(np.zeros((2, 3), np.float32)), np.zeros((2, 3), np.float32), name="x")
    assert capsys.readouterr().out == "✔ x passes the check.\n"
    with pytest.raises(CheckFailed, match=r"`x` has shape \(3, 2\); expected shape \(2, 3\)"):
        checks.check_array(np.zeros((3, 2), np.float32), np.zeros((2, 3), np.float32), name="x")
    with pytest.raises(CheckFailed, match="`x` has dtype int64; expected float32"):
        checks.check_array(np.zeros(3, np.int64), np.zeros(3, np.float32), name="x")
    with pytest.raises(CheckFailed, match=r"at 1 of 3 positions; the first is at index \(2,\): got 1.0, expected 0.0"):
        checks.check_array(np.array([0, 0, 1.0]), np.zeros(3), name="x")
    with pytest.raises(CheckFailed, match="`x` is not written yet: replace `None`"):
        checks.check_array(None, np.zeros(3), name="x")
    checks.check_array(np.array([1.0 + 1e-8]), np.array([1.0]), name="x")


def test_check_equal() -> None:
    checks.check_equal(42, 42, name="answer")
    checks.check_equal("relu", "relu", name="activation")
    checks.check_equal((28, 28, 1), (28, 28, 1), name="shape")
    with pytest.raises(CheckFailed, match="`answer` is not written yet: replace `None` in the exercise cell"):
        checks.check_equal(None, 42, name="answer")
    with pytest.raises(CheckFailed, match="`answer` is 41; expected 42"):
        checks.check_equal(41, 42, name="answer")
    with pytest.raises(CheckFailed, match="`activation` should be 'relu'; got 'tanh'"):
        checks.check_equal("tanh", "relu", name="activation")
    with pytest.raises(CheckFailed, match=r"`activation` should be 'relu'; got float32 array \[1\., 2\.\]"):
        checks.check_equal(np.array([1, 2], np.float32), "relu", name="activation")
    with pytest.raises(CheckFailed, match=r"`shape`\[2\] is 3; expected 1"):
        checks.check_equal((28, 28, 3), (28, 28, 1), name="shape")


def right_to_model_range(images: np.ndarray) -> np.ndarray:
    """A right answer to the lesson-00 exercise."""
    return images.astype(np.float32) / 127.5 - 1.0


def test_check_to_model_range_accepts_numpy_and_tensors(capsys: pytest.CaptureFixture[str]) -> None:
    checks.check_to_model_range(right_to_model_range)
    checks.check_to_model_range(lambda images: FakeTensor(right_to_model_range(images)))
    checks.check_to_model_range(lambda images: (images / 255.0 * 2.0 - 1.0).astype(np.float32))
    assert capsys.readouterr().out.count("✔ to_model_range passes all 7 checks.") == 3


def mutating(images: np.ndarray) -> np.ndarray:
    """A right result, but the caller's images are overwritten."""
    result = right_to_model_range(images)
    images[...] = 0
    return result


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (not_written, "`to_model_range` is not written yet: replace the `raise NotImplementedError` line"),
        (None, "`to_model_range` is not written yet"),
        (lambda images: None, "returned None: end the function with `return`"),
        (lambda images: images / 127.5 - 1.0, "returns float64 values; the models expect float32"),
        (lambda images: images.astype(np.float32) / 255.0, "maps 0 to 0 and 255 to 1; it should map 0 (black) to -1"),
        (lambda images: images.astype(np.float32).ravel() / 127.5 - 1, "changed the shape from (1, 3) to (3,)"),
        (lambda images: float(images.mean()), "should return an array (NumPy or TensorFlow); got float"),
        (mutating, "changed the images it was given"),
        (lambda images: images.astype(np.float32)[..., ::-1] / 127.5 - 1, "maps 0 to 1 and 255 to -1"),
        (lambda images: images.astype(np.float32) / 127 - 1, "maps 0 to -1 and 255 to 1.008"),
    ],
)
def test_check_to_model_range_rejects_wrong_answers(fn: object, expected: str) -> None:
    with pytest.raises(CheckFailed) as caught:
        checks.check_to_model_range(fn)
    assert expected in str(caught.value)


def test_check_to_model_range_catches_errors_off_the_probe() -> None:
    def clipped(images: np.ndarray) -> np.ndarray:
        out = right_to_model_range(images)
        return np.where((images > 0) & (images < 255), 0.0, out).astype(np.float32)

    with pytest.raises(CheckFailed, match="gives a wrong result for case 1 of 3"):
        checks.check_to_model_range(clipped)


def test_check_failed_is_an_assertion_error() -> None:
    assert issubclass(CheckFailed, AssertionError)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, b: n / b, "decimal number"),
        (lambda n, b: -(-n // b), "incomplete batch"),
        (lambda n, b: max(1, n // b), "expected: int 0"),
        (None, "not written yet"),
    ],
)
def test_steps_per_epoch_check_explains_mistakes(wrong, message):
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_steps_per_epoch(wrong)


def test_steps_per_epoch_check_accepts_floor_division(capsys):
    checks.check_steps_per_epoch(lambda n, b: n // b)
    assert "passes" in capsys.readouterr().out


# --------------------------------------------------------------------------- what a student sees in a notebook


def test_check_failed_renders_as_its_message_alone() -> None:
    error = CheckFailed("`f` gives 3; expected 4.\n  Hint: add one.")
    lines = error._render_traceback_()
    assert "Check failed:" in lines[0]
    assert lines[1:] == ["`f` gives 3; expected 4.", "  Hint: add one."]
    assert str(error) == "`f` gives 3; expected 4.\n  Hint: add one."


def test_a_failed_check_in_a_notebook_shows_the_message_and_no_traceback(tmp_path) -> None:
    import os

    import nbformat
    from nbclient import NotebookClient

    from tools import notebooks as nbt

    cells = [
        f"import sys\nsys.path.insert(0, {str(nbt.PROJECT_ROOT)!r})\nfrom course_utils import checks",
        "checks.check_steps_per_epoch(lambda n_images, batch_size: n_images / batch_size)",
        "checks.check_steps_per_epoch(lambda n_images, batch_size: n_images // (batch_size - batch_size))",
        "checks.check_steps_per_epoch(lambda n_images, batch_size: n_images // batch_size)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True, resources={
        "metadata": {"path": str(tmp_path)}}).execute(env=env)
    wrong, crashing, right = (nb.cells[i].outputs for i in (1, 2, 3))
    for outputs, message in [(wrong, "decimal number"), (crashing, "raised ZeroDivisionError")]:
        errors = [o for o in outputs if o.output_type == "error"]
        assert len(errors) == 1 and errors[0].ename == "CheckFailed", outputs
        assert message in errors[0].evalue
        shown = "\n".join(errors[0].traceback)
        assert "Check failed:" in shown and message in shown, shown
        for trace_mark in ("Traceback", "core.py", "lesson00.py", ".py", "File ", "line ", "----", "site-packages"):
            assert trace_mark not in shown, f"{trace_mark!r} in what the student sees:\n{shown}"
        assert not re.search(r"(/|\\)\w+(/|\\)", shown), f"a file path in what the student sees:\n{shown}"
    assert [o.output_type for o in right] == ["stream"] and "passes" in right[0].text
