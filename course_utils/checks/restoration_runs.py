"""Shared pieces of the experiment checks of lessons 10-12: run the learner's experiment, judge its numbers.

An experiment exercise asks the learner for a function that trains (or optimises) with one setting and
returns what it measured. The check calls it once per setting, makes sure the numbers were really measured
(finite, the right count, the logged loss made of its terms with the setting's weight, the runs different)
and returns them; a second check compares the learner's conclusion with *those* numbers, never with a fixed
answer (in the smoke profile the results mean nothing, and on real data they vary with the seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_utils.checks.core import CheckFailed, _call, _require_function, _require_written, _show, _to_numpy

__all__: list[str] = []  # nothing here is for the notebooks


def run_settings(
    fn: Any,
    settings: Sequence[Any],
    *,
    name: str,
    param: str,
    steps: int | None,
    series: Sequence[str],
    scalars: dict[str, tuple[float, float]],
) -> dict[Any, dict[str, Any]]:
    """Call ``fn(setting, steps)`` (``fn(setting)`` when steps is None) for every setting; check each result.

    A result is a dict of per-step ``series`` (one value per step) and ``scalars``.
    ``scalars`` maps a key to the (low, high) range its value must lie in. Returns {setting: result}, with the
    series as float64 arrays and the scalars as floats.
    """
    _require_function(fn, name)
    results: dict[Any, dict[str, Any]] = {}
    for setting in settings:
        if steps is None:
            call = f"`{name}({param}={setting!r})`"
            got = _call(fn, (setting,), name, (param,))
        else:
            call = f"`{name}({param}={setting!r}, steps={steps})`"
            got = _call(fn, (setting, steps), name, (param, "steps"))
        keys = [*series, *scalars]
        if not isinstance(got, dict) or set(got) != set(keys):
            have = sorted(map(str, got)) if isinstance(got, dict) else _show(got)
            raise CheckFailed(f"{call} should return a dict with the keys {keys}; got {have}.")
        result: dict[str, Any] = {}
        for key in series:
            values = _to_numpy(got[key])
            try:
                array = np.asarray([float(_to_numpy(v)) for v in values], np.float64)
            except (TypeError, ValueError):
                raise CheckFailed(
                    f"{call}[{key!r}] should be a list of {steps} numbers, one per training step; got {_show(values)}."
                ) from None
            if len(array) != steps:
                raise CheckFailed(
                    f"{call}[{key!r}] holds {len(array)} values; expected one per training step, {steps}. "
                    "Append the train step's value after every step."
                )
            if not np.all(np.isfinite(array)):
                raise CheckFailed(f"{call}[{key!r}] holds NaN or inf: {_show(array)}. The training diverged.")
            result[key] = array
        for key, (low, high) in scalars.items():
            value = _to_numpy(got[key])
            if isinstance(value, np.ndarray) and value.size == 1:
                value = value.reshape(()).item()
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise CheckFailed(f"{call}[{key!r}] should be one number; got {_show(value)}.")
            if not np.isfinite(value) or not low <= value <= high:
                raise CheckFailed(f"{call}[{key!r}] is {value!r}; a measured value lies in [{low:g}, {high:g}].")
            result[key] = float(value)
        results[setting] = result
    return results


def check_mix(
    results: dict[Any, dict[str, Any]],
    total: str,
    parts: Callable[[Any, dict[str, Any]], np.ndarray],
    *,
    call: str,
    hint: str,
    rtol: float = 1e-3,
    atol: float = 1e-6,
) -> None:
    """Every run's logged ``total`` must equal ``parts(setting, run)``: the setting was really used."""
    for setting, run in results.items():
        expected = parts(setting, run)
        if not np.allclose(run[total], expected, rtol=rtol, atol=atol):
            raise CheckFailed(
                f"{call}: with {setting!r} the logged {total!r} is {np.round(run[total][:3], 5)}..., but its terms "
                f"give {np.round(expected[:3], 5)}... Hint: {hint}"
            )


def best(results: dict[Any, dict[str, Any]], key: str, *, lowest: bool = True) -> set[Any]:
    """The settings whose ``key`` is the lowest (or highest) of all runs; ties give several."""
    values = {setting: run[key] for setting, run in results.items()}
    target = min(values.values()) if lowest else max(values.values())
    return {setting for setting, value in values.items() if value == target}


def check_choices(answer: Any, name: str, questions: dict[str, tuple[set[Any], str, Sequence[Any]]]) -> None:
    """``answer`` must be a dict answering every question with one of its choices, as the numbers say.

    ``questions`` maps a key to (the right choices by the learner's numbers, the sentence that shows those
    numbers, the choices allowed).
    """
    _require_written(answer, name)
    if not isinstance(answer, dict) or set(answer) != set(questions):
        raise CheckFailed(f"`{name}` should be a dict with the keys {list(questions)}; got {_show(answer)}.")
    for key, (right, numbers, choices) in questions.items():
        given = _to_numpy(answer[key])
        if isinstance(given, np.ndarray) and given.size == 1:
            given = given.reshape(()).item()
        if not any(_same(given, choice) for choice in choices):
            raise CheckFailed(f"`{name}[{key!r}]` should be one of {list(choices)}; got {_show(given)}.")
        if not any(_same(given, choice) for choice in right):
            raise CheckFailed(
                f"`{name}[{key!r}]` is {given!r}, but your own numbers say otherwise: {numbers} Read the answer off "
                "your measurements (they differ from run to run, so there is no fixed answer)."
            )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float, np.integer, np.floating)) and isinstance(b, (int, float, np.integer, np.floating)):
        return float(a) == float(b)
    return bool(a == b) if type(a) is type(b) else False
