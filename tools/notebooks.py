"""Shared code of the notebook tools: the deterministic file format, sections, the setup cell and exercises.

A notebook is handled as a plain dict (the nbformat 4 JSON) whose cell sources are strings.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
BADGE_TAG = "colab-badge"
SETUP_TAG = "setup"
BOOTSTRAP_BEGIN = "# --- course bootstrap"
BOOTSTRAP_END = "# --- end of course bootstrap ---"

BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?:[ \t]*\(stub:[ \t]*(?P<stub>.*?)\))?[ \t]*$")
END_RE = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
_MARKER_LIKE_RE = re.compile(r"^[ \t]*#.*\b(BEGIN|END)[ _]SOLUTION", re.IGNORECASE)
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t#]*$")
_FENCE_RE = re.compile(r"^[ \t]*(```|~~~)")

STUDENT_TODO = "# YOUR CODE HERE"
STUDENT_RAISE = 'raise NotImplementedError("Exercise: write your solution here")'


class MarkerError(ValueError):
    """The ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers of a cell do not pair up."""


# --------------------------------------------------------------------------- the file format


def source_text(cell: dict[str, Any]) -> str:
    """A cell's source as one string, whether it is stored as a string or as a list of lines."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def first_line(cell: dict[str, Any]) -> str:
    """The first non-blank line of a cell, shortened, to name the cell in messages."""
    for line in source_text(cell).splitlines():
        if line.strip():
            return line.strip() if len(line.strip()) <= 60 else line.strip()[:57] + "..."
    return "<empty cell>"


def describe_cell(nb: dict[str, Any], index: int) -> str:
    """Name a cell for a message, e.g. ``cell 7 (code: "def f(x):")``."""
    cell = nb["cells"][index]
    return f'cell {index} ({cell.get("cell_type", "?")}: "{first_line(cell)}")'


def cell_tags(cell: dict[str, Any]) -> list[str]:
    """The tags of a cell (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def _stamp_free(source: str, tags: list[str]) -> str:
    """What identifies a cell: its source without the parts tools/stamp_notebooks.py writes.

    The badge cell is all stamp, and the bootstrap block of the Setup cell is too; leaving them out keeps a
    stamped cell's id when the stamp changes (a new repository address, a new bootstrap).
    """
    if BADGE_TAG in tags:
        return BADGE_TAG
    lines = source.splitlines()
    begins = [i for i, line in enumerate(lines) if line.startswith(BOOTSTRAP_BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.strip() == BOOTSTRAP_END]
    if len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0]:
        return "\n".join([BOOTSTRAP_BEGIN] + lines[: begins[0]] + lines[ends[0] + 1 :]).strip()
    return source


def _cell_id(cell_type: str, source: str, seen: dict[str, int], tags: list[str] | None = None) -> str:
    identity = _stamp_free(source, tags or [])
    digest = hashlib.sha1(f"{cell_type}\n{identity}".encode()).hexdigest()[:8]
    count = seen.get(digest, 0)
    seen[digest] = count + 1
    return digest if count == 0 else f"{digest}-{count}"


def normalise(nb: dict[str, Any]) -> dict[str, Any]:
    """A clean copy of ``nb``: no outputs or counts, reduced metadata, trimmed sources, deterministic ids."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"Expected a notebook (a JSON object with a 'cells' list); got {type(nb).__name__}.")
    if nb.get("nbformat", 4) != 4:
        raise ValueError(f"Expected an nbformat 4 notebook; found nbformat {nb.get('nbformat')}.")
    cells = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb["cells"]):
        cell_type = cell.get("cell_type")
        if cell_type not in ("code", "markdown", "raw"):
            raise ValueError(f"Cell {index} has cell_type {cell_type!r}; expected 'code', 'markdown' or 'raw'.")
        source = source_text(cell).rstrip()
        metadata: dict[str, Any] = {}
        tags = cell_tags(cell)
        if tags:
            metadata["tags"] = tags
        clean: dict[str, Any] = {
            "cell_type": cell_type,
            "id": _cell_id(cell_type, source, seen, tags),
            "metadata": metadata,
            "source": source,
        }
        if cell_type == "code":
            clean["execution_count"] = None
            clean["outputs"] = []
        elif cell.get("attachments"):
            clean["attachments"] = cell["attachments"]
        cells.append(clean)
    return {
        "cells": cells,
        "metadata": {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dumps(nb: dict[str, Any]) -> str:
    """The notebook as text in the course's deterministic format (normalised, sorted keys, indent 1)."""
    clean = normalise(nb)
    for cell in clean["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(clean, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str, *, where: str = "the notebook") -> dict[str, Any]:
    """Parse notebook JSON text into a normalised notebook whose cell sources are strings."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where} is not valid JSON: {error}.") from error
    return normalise(raw)


def load(path: str | Path) -> dict[str, Any]:
    """Read a notebook file into a normalised notebook whose cell sources are strings."""
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), where=str(path))


def save(nb: dict[str, Any], path: str | Path) -> bool:
    """Write ``nb`` in the deterministic format; return True when the file changed."""
    path = Path(path)
    text = dumps(nb)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def format_text(text: str, *, where: str = "the notebook") -> str:
    """The deterministic formatting of notebook JSON ``text``."""
    return dumps(loads(text, where=where))


def notebook_paths(paths: list[str] | None = None) -> list[Path]:
    """The notebooks named by ``paths`` (files or folders), or every ``notebooks/*.ipynb`` when none are given."""
    if not paths:
        return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(path.glob("*.ipynb")))
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"Expected a .ipynb file or a folder of notebooks; found no such thing: {name}")
    return found


def display_path(path: Path) -> str:
    """``path`` relative to the project when it is inside it, for messages."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- sections


def headings(cell: dict[str, Any]) -> list[tuple[int, str]]:
    """The Markdown headings of a markdown cell as ``(level, title)`` pairs (code fences are skipped)."""
    if cell.get("cell_type") != "markdown":
        return []
    found = []
    in_fence = False
    for line in source_text(cell).splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING_RE.match(line)
        if match:
            found.append((len(match.group("hashes")), match.group("title")))
    return found


def find_heading(nb: dict[str, Any], title: str, level: int = 2) -> int | None:
    """Index of the first markdown cell holding the heading ``title`` at ``level``, or None."""
    for index, cell in enumerate(nb["cells"]):
        if (level, title) in headings(cell):
            return index
    return None


def section_cells(nb: dict[str, Any], title: str, level: int = 2) -> range:
    """Indices of the cells after the heading ``title`` up to the next heading of the same or a higher level."""
    start = find_heading(nb, title, level)
    if start is None:
        return range(0)
    end = len(nb["cells"])
    for index in range(start + 1, len(nb["cells"])):
        if any(lvl <= level for lvl, _ in headings(nb["cells"][index])):
            end = index
            break
    return range(start + 1, end)


def setup_cells(nb: dict[str, Any]) -> list[int]:
    """Indices of the code cells tagged ``setup``."""
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and SETUP_TAG in cell_tags(c)]


# --------------------------------------------------------------------------- exercises


def has_solution(source: str) -> bool:
    """True when ``source`` holds a ``### BEGIN SOLUTION`` marker line."""
    return any(BEGIN_RE.match(line) for line in source.splitlines())


def student_source(source: str) -> str:
    """``source`` with every solution region (markers included) replaced by the student's placeholder."""
    out: list[str] = []
    begin: int | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin_match = BEGIN_RE.match(line)
        if begin_match:
            if begin is not None:
                raise MarkerError(
                    f"line {number} opens a second ### BEGIN SOLUTION before the one on line {begin} is closed "
                    f"by ### END SOLUTION."
                )
            begin = number
            indent, stub = begin_match.group("indent"), begin_match.group("stub")
            if stub is not None and stub.strip():
                out.append(f"{indent}{stub.strip()}  {STUDENT_TODO}")
            else:
                out.extend([f"{indent}{STUDENT_TODO}", f"{indent}{STUDENT_RAISE}"])
        elif END_RE.match(line):
            if begin is None:
                raise MarkerError(f"line {number} has ### END SOLUTION without a ### BEGIN SOLUTION before it.")
            begin = None
        elif _MARKER_LIKE_RE.match(line):
            raise MarkerError(
                f"line {number} looks like a solution marker but is not one: {line.strip()!r}; write exactly "
                f"'### BEGIN SOLUTION', '### BEGIN SOLUTION (stub: name = None)' or '### END SOLUTION'."
            )
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise MarkerError(f"line {begin} opens ### BEGIN SOLUTION but no ### END SOLUTION follows it.")
    return "\n".join(out)


@dataclass(frozen=True)
class Exercise:
    """A solution cell and the check cell that follows it (``check`` is None when there is none)."""

    solution: int
    check: int | None


def solution_cells(nb: dict[str, Any]) -> list[int]:
    """Indices of the code cells that hold a solution region."""
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and has_solution(source_text(c))]


def exercises(nb: dict[str, Any]) -> list[Exercise]:
    """Every solution cell with the index of the next code cell (its check), in notebook order."""
    found = []
    cells = nb["cells"]
    for index in solution_cells(nb):
        check = next((j for j in range(index + 1, len(cells)) if cells[j]["cell_type"] == "code"), None)
        found.append(Exercise(index, check))
    return found


def student_notebook(nb: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The student version of ``nb`` (solutions replaced, outputs stripped) and its number of exercises.

    Raises MarkerError naming the cell when a cell's markers do not pair up.
    """
    clean = normalise(nb)
    count = 0
    for index, cell in enumerate(clean["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        try:
            student = student_source(source)
        except MarkerError as error:
            raise MarkerError(f"{describe_cell(clean, index)}: {error}") from None
        if student != source:
            count += 1
            cell["source"] = student
    return normalise(clean), count


def rewrite_files(
    paths: list[Path],
    transform: Callable[[str, Path], str],
    *,
    check: bool,
    done: str,
    exceptions: tuple[type[Exception], ...] = (ValueError,),
) -> tuple[list[str], list[str]]:
    """Apply ``transform(text, path)`` to each file; write the changed ones unless ``check``.

    Returns the files that were (or, with ``check``, would be) changed and the messages of those that
    could not be transformed. Each written file is reported as ``"<done> <path>"``.
    """
    changed, failed = [], []
    for path in paths:
        shown = display_path(path)
        text = path.read_text(encoding="utf-8")
        try:
            new_text = transform(text, path)
        except exceptions as error:
            failed.append(f"{shown}: cannot be {done}: {error}")
            continue
        if new_text != text:
            changed.append(shown)
            if not check:
                path.write_text(new_text, encoding="utf-8")
                print(f"{done} {shown}")
    return changed, failed


def report(changed: list[str], failed: list[str], *, check: bool, problem: str, command: str) -> int:
    """Print what went wrong and return the exit status of a notebook tool (1 on failure or, with check, change)."""
    for message in failed:
        print(message, file=sys.stderr)
    if check and changed:
        print(f"{problem} (run `{command}`): " + ", ".join(changed), file=sys.stderr)
        return 1
    return 1 if failed else 0
