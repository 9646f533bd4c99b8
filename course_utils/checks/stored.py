"""Expected results of the exercise checks, stored as data so that no check carries a solution (lesson 00).

The student handout ships ``course_utils``, so a check must not compare an answer with a written-out
reference. Where neither a property nor an independent library can judge an answer, the check compares it
with results stored in ``checks/data/lessonNN.json``: for each exercise, the names of its parameters and a
list of cases, each with its inputs (``args``), the expected result and optional named ``extra`` values
(e.g. what a typical mistake gives). ``tools/make_check_data.py``, which is not part of the handout, computes
and writes these files; ``tests/test_check_data.py`` fails when a stored value no longer matches it.

    cases = stored("lesson09", "compose").cases
    for case in cases:
        got = fn(*case.args)   # compare with case.expected
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATA_DIR = Path(__file__).resolve().with_name("data")

__all__: list[str] = []  # nothing here is for the notebooks


@dataclass(frozen=True)
class Case:
    """One stored case: the inputs, the expected result and named extra values."""

    args: tuple[Any, ...]
    expected: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredExercise:
    """The stored cases of one exercise and the names of its function's parameters."""

    params: tuple[str, ...]
    cases: tuple[Case, ...]


def encode(value: Any) -> Any:
    """A JSON-ready form of ``value``: NumPy arrays and scalars keep their dtype and shape, tuples stay tuples."""
    if isinstance(value, np.ndarray):
        return {"__array__": value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}
    if isinstance(value, np.generic):
        return {"__array__": value.dtype.str, "shape": None, "data": [value.item()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if any(not isinstance(k, str) or k.startswith("__") for k in value):
            raise TypeError(f"stored dicts need string keys that do not start with '__'; got {list(value)}")
        return {k: encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as check data: {value!r}")


def decode(value: Any) -> Any:
    """The value that :func:`encode` stored (arrays come back with their dtype and shape)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            array = np.array(value["data"], dtype=np.dtype(value["__array__"]))
            return array[0] if value["shape"] is None else array.reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        return {k: decode(v) for k, v in value.items()}
    return value


@functools.cache
def _lesson_file(lesson: str) -> dict[str, Any]:
    path = DATA_DIR / f"{lesson}.json"
    if not path.is_file():
        raise RuntimeError(
            f"The checks' stored results for {lesson} are missing ({path}). Reinstall the course's helper package, "
            "or, in the course's repository, run: python tools/make_check_data.py"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def stored(lesson: str, exercise: str) -> StoredExercise:
    """The stored cases of ``exercise`` in ``lesson`` (e.g. "lesson09", "compose"), as fresh arrays each call."""
    book = _lesson_file(lesson)
    if exercise not in book:
        raise RuntimeError(
            f"{lesson}.json holds no stored cases for {exercise!r} (it has {sorted(book)}); run "
            "python tools/make_check_data.py in the course's repository."
        )
    entry = copy.deepcopy(book[exercise])
    cases = tuple(
        Case(tuple(decode(c["args"])), decode(c["expected"]), decode(c.get("extra", {}))) for c in entry["cases"]
    )
    return StoredExercise(tuple(entry["params"]), cases)
