"""Checks for the exercises: each prints one success line or raises CheckFailed in plain words (lesson 00).

An exercise cell holds the learner's code; the cell after it calls one of these checks, for example
``checks.check_function(pad_image, reference, cases)`` or ``checks.check_to_model_range(to_model_range)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_utils.checks.stored import stored
from course_utils.validation import describe

__all__ = ["CheckFailed", "check_array", "check_equal", "check_function"]

_NOT_WRITTEN = "replace the `raise NotImplementedError` line in the exercise cell with your solution."


class CheckFailed(AssertionError):
    """An exercise's answer is not right yet; the message says what is wrong.

    In a notebook, IPython shows only the message under a short heading (``_render_traceback_``): the lines
    of the checks' own code would hide the explanation. ``str(error)`` and pytest still see the full message.
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython prints instead of a traceback: a red heading and the message."""
        return ["\x1b[1;31mCheck failed:\x1b[0m", *str(self).splitlines()]


# --------------------------------------------------------------------------- helpers


def _to_numpy(value: Any) -> Any:
    """TensorFlow tensors (anything with ``.numpy()``) become NumPy arrays; other values are returned as they are."""
    if hasattr(value, "numpy") and hasattr(value, "dtype") and hasattr(value, "shape"):
        return value.numpy()
    return value


def _show(value: Any) -> str:
    """A short description of a value: small arrays in full, big ones by dtype, shape and range."""
    value = _to_numpy(value)
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            body = np.array2string(value, separator=", ", precision=6).replace("\n", "")
            return f"{value.dtype} array {body}"
        return describe(value)
    if isinstance(value, np.generic):
        return f"{value.dtype} {value.item()!r}"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_show(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{type(value).__name__} {text}" if isinstance(value, (bool, int, float, complex)) else text


def _copy(value: Any) -> Any:
    """A copy of NumPy arrays (also inside tuples, lists and dicts) so a function cannot change a case's inputs."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _is_numeric(value: Any) -> bool:
    value = _to_numpy(value)
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return True
    return isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.number) or value.dtype == bool)


def _difference(got: Any, expected: Any, rtol: float, atol: float, what: str, check_dtype: bool) -> str | None:
    """Why ``got`` differs from ``expected`` (one sentence), or None when they match."""
    got, expected = _to_numpy(got), _to_numpy(expected)
    if expected is None:
        return None if got is None else f"{what} should be None; got {_show(got)}."
    if got is None:
        return f"{what} is None; expected {_show(expected)}. Did you forget a `return` statement?"
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"{what} should be a {type(expected).__name__} of {len(expected)} values; got {_show(got)}."
        if len(got) != len(expected):
            return f"{what} should hold {len(expected)} values; got {len(got)}."
        for index, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = _difference(g, e, rtol, atol, f"{what}[{index}]", check_dtype)
            if problem:
                return problem
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            keys = sorted(map(str, expected))
            return f"{what} should be a dict with keys {keys}; got {_show(got)}."
        for key in expected:
            problem = _difference(got[key], expected[key], rtol, atol, f"{what}[{key!r}]", check_dtype)
            if problem:
                return problem
        return None
    if not _is_numeric(expected):
        try:
            same = type(got) is type(expected) and bool(got == expected)
        except Exception:  # e.g. an array compared with a string
            same = False
        return None if same else f"{what} should be {_show(expected)}; got {_show(got)}."
    if not _is_numeric(got):
        return f"{what} should be a number or an array of numbers like {_show(expected)}; got {_show(got)}."
    got_array, expected_array = np.asarray(got), np.asarray(expected)
    if got_array.shape != expected_array.shape:
        return f"{what} has shape {got_array.shape}; expected shape {expected_array.shape}."
    strict_dtype = check_dtype and isinstance(expected, (np.ndarray, np.generic))
    if strict_dtype and got_array.dtype != expected_array.dtype:
        return f"{what} has dtype {got_array.dtype}; expected {expected_array.dtype}."
    if expected_array.dtype == bool or got_array.dtype == bool:
        wrong = got_array != expected_array
    else:
        kind = np.complex128 if np.iscomplexobj(got_array) or np.iscomplexobj(expected_array) else np.float64
        close = np.isclose(got_array.astype(kind), expected_array.astype(kind), rtol=rtol, atol=atol, equal_nan=True)
        wrong = ~close
    if not np.any(wrong):
        return None
    if got_array.ndim == 0:
        return f"{what} is {got_array.item()!r}; expected {expected_array.item()!r}."
    where = tuple(int(i) for i in np.argwhere(wrong)[0])
    return (
        f"{what} differs from the expected values at {int(np.sum(wrong))} of {wrong.size} positions; "
        f"the first is at index {where}: got {got_array[where].item()!r}, expected {expected_array[where].item()!r}."
    )


def _describe_inputs(reference: Callable[..., Any] | Sequence[str], case: Any) -> str:
    """The inputs of a case as ``name = value`` pairs, named after the reference's parameters (or given names)."""
    args, kwargs = (tuple(case), {}) if not isinstance(case, dict) else ((), dict(case))
    try:
        if callable(reference):
            bound = inspect.signature(reference).bind(*args, **kwargs).arguments
            pairs = [(str(k), v) for k, v in bound.items()]
        else:
            names = list(reference)
            if len(args) > len(names):
                raise TypeError("more inputs than parameter names")
            pairs = [*zip(names, args), *kwargs.items()]
    except (TypeError, ValueError):
        pairs = [(f"argument {i + 1}", v) for i, v in enumerate(args)] + list(kwargs.items())
    shown = [(k, repr(v) if isinstance(v, (bool, int, float, str)) else _show(v)) for k, v in pairs]
    return ", ".join(f"{k} = {v}" for k, v in shown) or "no inputs"


def _require_written(value: Any, name: str) -> None:
    """Fail when an answer is still the student stub (None)."""
    if value is None:
        raise CheckFailed(f"`{name}` is not written yet: replace `None` in the exercise cell with your answer.")


def _call(
    fn: Callable[..., Any], case: Any, name: str, reference: Callable[..., Any] | Sequence[str], *, copy: bool = True
) -> Any:
    """Call the learner's ``fn`` on a case, turning its exceptions into CheckFailed messages."""
    args, kwargs = (tuple(case), {}) if not isinstance(case, dict) else ((), dict(case))
    if copy:
        args, kwargs = _copy(args), _copy(kwargs)
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}") from None
    except Exception as error:  # the learner's code may raise anything: report it in plain words
        raise CheckFailed(
            f"`{name}` raised {type(error).__name__}: {error}\n"
            f"  inputs: {_describe_inputs(reference, case)}"
        ) from error


def _cases(cases: Sequence[Any]) -> list[Any]:
    cases = list(cases)
    if not cases:
        raise ValueError("cases must hold at least one case (a tuple of arguments or a dict of keyword arguments).")
    for case in cases:
        if not isinstance(case, (tuple, dict)):
            raise TypeError(
                f"each case must be a tuple of arguments or a dict of keyword arguments; got {_show(case)} "
                f"(write a single argument as (value,))."
            )
    return cases


def _run_cases(
    fn: Any,
    reference: Callable[..., Any],
    cases: Sequence[Any],
    *,
    name: str,
    rtol: float,
    atol: float,
    check_dtype: bool,
) -> int:
    """Compare ``fn`` with ``reference`` on every case; raise CheckFailed at the first failing one."""
    cases = _cases(cases)
    _require_callable(fn, name)
    pairs = []
    for number, case in enumerate(cases, start=1):
        args, kwargs = (tuple(case), {}) if not isinstance(case, dict) else ((), dict(case))
        try:
            expected = reference(*_copy(args), **_copy(kwargs))
        except Exception as error:
            raise RuntimeError(f"The reference for `{name}` failed on case {number}: {error!r}") from error
        pairs.append((case, expected))
    return _run_expected(fn, pairs, reference, name=name, rtol=rtol, atol=atol, check_dtype=check_dtype)


def _require_callable(fn: Any, name: str) -> None:
    """Fail when the learner's function is still the stub or is not a function."""
    if fn is None:
        raise CheckFailed(f"`{name}` is not written yet: {_NOT_WRITTEN}")
    if not callable(fn):
        raise CheckFailed(f"`{name}` should be a function; got {_show(fn)}.")


def _run_expected(
    fn: Any,
    pairs: Sequence[tuple[Any, Any]],
    params: Callable[..., Any] | Sequence[str],
    *,
    name: str,
    rtol: float,
    atol: float,
    check_dtype: bool,
) -> int:
    """Compare ``fn(*case)`` with the expected result of each ``(case, expected)`` pair, e.g. stored data.

    ``params`` names the inputs in messages: a function with the same parameters, or the parameter names.
    """
    _require_callable(fn, name)
    for number, (case, expected) in enumerate(pairs, start=1):
        got = _call(fn, case, name, params)
        problem = _difference(got, expected, rtol, atol, "the result", check_dtype)
        if problem:
            raise CheckFailed(
                f"`{name}` gives a wrong result for case {number} of {len(pairs)}: {problem}\n"
                f"  inputs:   {_describe_inputs(params, case)}\n"
                f"  expected: {_show(expected)}\n"
                f"  got:      {_show(got)}"
            )
    return len(pairs)


def _run_stored(
    fn: Any, lesson: str, exercise: str, *, name: str, rtol: float, atol: float, check_dtype: bool
) -> int:
    """Compare ``fn`` with the results stored for ``exercise`` (see ``checks.stored``) on every stored case."""
    book = stored(lesson, exercise)
    pairs = [(case.args, case.expected) for case in book.cases]
    return _run_expected(fn, pairs, book.params, name=name, rtol=rtol, atol=atol, check_dtype=check_dtype)


def _passed(name: str, count: int) -> None:
    print(f"✔ {name} passes all {count} checks." if count != 1 else f"✔ {name} passes the check.")


# --------------------------------------------------------------------------- generic checks


def check_function(
    fn: Any,
    reference: Callable[..., Any],
    cases: Sequence[Any],
    *,
    name: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    check_dtype: bool = True,
) -> None:
    """Check the learner's ``fn`` against ``reference`` on ``cases`` (tuples of arguments or dicts of keywords).

    Results may be arrays, tensors, numbers or tuples/lists/dicts of them. NumPy results must also have the
    reference's dtype unless ``check_dtype=False``.
    """
    name = name or getattr(fn, "__name__", None) or getattr(reference, "__name__", "your function")
    _passed(name, _run_cases(fn, reference, cases, name=name, rtol=rtol, atol=atol, check_dtype=check_dtype))


def check_array(got: Any, expected: Any, *, name: str = "the result", rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """Check an array (or tensor, number, tuple of arrays) ``got`` against ``expected``: shape, dtype and values."""
    _require_written(got, name)
    problem = _difference(got, expected, rtol, atol, f"`{name}`", True)
    if problem:
        raise CheckFailed(f"{problem}\n  expected: {_show(expected)}\n  got:      {_show(got)}")
    _passed(name, 1)


def check_equal(got: Any, expected: Any, *, name: str = "the answer") -> None:
    """Check that ``got == expected`` exactly (numbers, strings, tuples...); arrays must match element by element."""
    _require_written(got, name)
    problem = _difference(got, expected, 0.0, 0.0, f"`{name}`", True)
    if problem:
        raise CheckFailed(problem)
    _passed(name, 1)


# --------------------------------------------------------------------------- lesson 00
