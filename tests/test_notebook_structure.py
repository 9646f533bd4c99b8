"""Structure of every notebook: title, badge, overview, Setup, Summary/Exercises, clean files, exercises.

Each check returns a list of problems that name the notebook and the cell; the tests run every check on
every ``notebooks/*.ipynb`` and prove on the fixture notebook that each check passes and can fail.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from course_utils import colab
from tools import notebooks as nbt
from tools.stamp_notebooks import stamp

FIXTURE = Path(__file__).parent / "fixtures" / "99_fixture_lesson.ipynb"
NOTEBOOKS = sorted(nbt.NOTEBOOKS_DIR.glob("*.ipynb"))
NAME_RE = re.compile(r"^(?P<number>\d{2})_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
CHECK_CALL_RE = re.compile(r"\bchecks\.\w+\s*\(")


def _cell(nb: dict, index: int) -> str:
    return nbt.describe_cell(nb, index)


def _h2_cells(nb: dict) -> list[tuple[int, str]]:
    return [(i, title) for i, cell in enumerate(nb["cells"]) for level, title in nbt.headings(cell) if level == 2]


# --------------------------------------------------------------------------- the checks


def check_title(path: Path, nb: dict) -> list[str]:
    """Cell 0 is markdown starting with the notebook's only H1."""
    problems = []
    cells = nb["cells"]
    if not cells or cells[0]["cell_type"] != "markdown" or not re.match(r"^# \S", cells[0]["source"]):
        shown = _cell(nb, 0) if cells else "the notebook has no cells"
        problems.append(f"{path.name}: cell 0 must be markdown whose first line is the title '# Title'; found {shown}.")
    h1 = [i for i, cell in enumerate(cells) for level, _ in nbt.headings(cell) if level == 1]
    if len(h1) > 1:
        where = ", ".join(_cell(nb, i) for i in h1)
        problems.append(f"{path.name}: expected exactly one H1 title; found {len(h1)} in {where}.")
    return problems


def check_badge(path: Path, nb: dict) -> list[str]:
    """Cell 1 is the tagged Colab badge for this notebook."""
    expected = colab.badge_markdown(f"notebooks/{path.name}")
    cells = nb["cells"]
    if len(cells) < 2:
        return [f"{path.name}: expected the Colab badge in cell 1; the notebook has {len(cells)} cell(s)."]
    cell = cells[1]
    if cell["cell_type"] != "markdown" or cell["source"] != expected or nbt.BADGE_TAG not in nbt.cell_tags(cell):
        return [
            f"{path.name}: {_cell(nb, 1)} should be the markdown badge {expected!r} tagged {nbt.BADGE_TAG!r} "
            f"(tags found: {nbt.cell_tags(cell)}); run `python tools/stamp_notebooks.py`."
        ]
    return []


def check_overview(path: Path, nb: dict) -> list[str]:
    """'What you will learn' and 'What you need' come, in that order, before the Setup heading."""
    h2 = _h2_cells(nb)
    titles = [title for _, title in h2]
    setup = titles.index("Setup") if "Setup" in titles else len(titles)
    problems = []
    for title in ("What you will learn", "What you need"):
        if title not in titles[:setup]:
            problems.append(
                f"{path.name}: expected a '## {title}' heading before '## Setup'; found H2 headings {titles}."
            )
    if not problems and titles.index("What you will learn") > titles.index("What you need"):
        problems.append(f"{path.name}: '## What you will learn' should come before '## What you need'.")
    return problems


def check_setup(path: Path, nb: dict) -> list[str]:
    """A '## Setup' heading followed by the one code cell tagged 'setup', which starts with the current bootstrap."""
    heading = nbt.find_heading(nb, "Setup")
    if heading is None:
        return [f"{path.name}: expected a markdown '## Setup' heading; found none."]
    tagged = nbt.setup_cells(nb)
    after = heading + 1
    if len(tagged) != 1 or tagged[0] != after:
        found = _cell(nb, after) if after < len(nb["cells"]) else "the end of the notebook"
        return [
            f"{path.name}: the '## Setup' heading ({_cell(nb, heading)}) must be followed by the one code cell "
            f"tagged 'setup'; found {found}; cells tagged 'setup': {tagged}."
        ]
    source = nb["cells"][after]["source"]
    block = colab.bootstrap_source()
    if not source.startswith(block) or (source != block and not source.startswith(block + "\n\n")):
        return [
            f"{path.name}: {_cell(nb, after)} must begin with the current course bootstrap followed by a blank line; "
            f"run `python tools/stamp_notebooks.py`."
        ]
    return []


def check_ending(path: Path, nb: dict) -> list[str]:
    """The last H2 headings are Summary, Exercises and optionally Further reading, each once."""
    titles = [title for _, title in _h2_cells(nb)]
    ends = (["Summary", "Exercises"], ["Summary", "Exercises", "Further reading"])
    problems = [
        f"{path.name}: '## {title}' appears {titles.count(title)} times; expected once."
        for title in ("Summary", "Exercises")
        if titles.count(title) > 1
    ]
    if titles[-2:] != ends[0] and titles[-3:] != ends[1]:
        problems.append(
            f"{path.name}: the notebook must end with '## Summary' then '## Exercises' (then optionally "
            f"'## Further reading'); its last H2 headings are {titles[-3:]}."
        )
    return problems


def check_no_outputs(path: Path, nb: dict) -> list[str]:
    """The stored file has no outputs and no execution counts."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for index, cell in enumerate(raw.get("cells", [])):
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(
                f"{path.name}: {nbt.describe_cell(raw, index)} has stored outputs or an execution count; "
                f"run `python tools/format_notebooks.py`."
            )
    return problems


def check_formatting(path: Path, nb: dict) -> list[str]:
    """The file is valid nbformat 4 and byte for byte what the formatter writes."""
    text = path.read_text(encoding="utf-8")
    try:
        nbformat.validate(nbformat.reads(text, as_version=nbformat.NO_CONVERT))
    except nbformat.ValidationError as error:
        return [f"{path.name}: not a valid notebook file: {error.message}."]
    if nbt.format_text(text, where=path.name) != text:
        return [f"{path.name}: not in the course's deterministic format; run `python tools/format_notebooks.py`."]
    return []


def check_stamping(path: Path, nb: dict) -> list[str]:
    """The badge and the bootstrap are what the stamping tool writes today."""
    stamped = stamp(nb, path.name)
    if stamped != nbt.normalise(nb):
        changed = [i for i, (a, b) in enumerate(zip(stamped["cells"], nb["cells"], strict=False)) if a != b]
        where = _cell(nb, changed[0]) if changed and changed[0] < len(nb["cells"]) else "the cell list"
        return [f"{path.name}: stamped cells are out of date (first difference: {where}); "
                f"run `python tools/stamp_notebooks.py`."]
    return []


def check_ruff(path: Path, nb: dict) -> list[str]:
    """``ruff check`` passes on the notebook (with the project's configuration)."""
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", str(path)]
    result = subprocess.run(command, cwd=nbt.PROJECT_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        return [f"{path.name}: ruff found problems (ruff counts cells from 1):\n{result.stdout}{result.stderr}"]
    return []


def check_exercises(path: Path, nb: dict) -> list[str]:
    """At least one exercise; markers pair up; each solution cell is in Exercises and followed by a check cell."""
    problems = []
    section = nbt.section_cells(nb, "Exercises")
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            try:
                nbt.student_source(cell["source"])
            except nbt.MarkerError as error:
                problems.append(f"{path.name}: {_cell(nb, index)}: {error}")
    found = nbt.exercises(nb)
    if not found:
        problems.append(f"{path.name}: expected at least one exercise (a code cell with ### BEGIN SOLUTION in "
                        f"'## Exercises' followed by a check cell); found none.")
    for exercise in found:
        where = _cell(nb, exercise.solution)
        if exercise.solution not in section:
            problems.append(f"{path.name}: {where} holds a solution but is not in the '## Exercises' section.")
        check = exercise.check
        if check is None or check not in section:
            problems.append(f"{path.name}: {where} is a solution cell with no check cell after it in '## Exercises'.")
            continue
        source = nb["cells"][check]["source"]
        if nbt.has_solution(source) or not CHECK_CALL_RE.search(source):
            problems.append(
                f"{path.name}: {_cell(nb, check)} follows solution {where} and must call a check from "
                f"course_utils.checks (e.g. `checks.check_function(...)`)."
            )
    return problems


CHECKS: dict[str, Callable[[Path, dict], list[str]]] = {
    "title": check_title,
    "badge": check_badge,
    "overview": check_overview,
    "setup": check_setup,
    "ending": check_ending,
    "no_outputs": check_no_outputs,
    "formatting": check_formatting,
    "stamping": check_stamping,
    "ruff": check_ruff,
    "exercises": check_exercises,
}


def numbering_problems(names: list[str]) -> list[str]:
    """Problems with notebook file names: the NN_snake_case pattern, and numbers 00, 01... without gaps or repeats."""
    problems = [f"{n}: expected a name like 03_snake_case.ipynb." for n in names if not NAME_RE.match(n)]
    numbers = sorted(int(NAME_RE.match(n).group("number")) for n in names if NAME_RE.match(n))
    if numbers != list(range(len(numbers))):
        problems.append(f"notebook numbers must run 00, 01, 02... without gaps or repeats; found {numbers}.")
    return problems


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook(path: Path, check: str) -> None:
    problems = CHECKS[check](path, nbt.load(path))
    assert not problems, "\n".join(problems)


def test_numbering() -> None:
    problems = numbering_problems([p.name for p in NOTEBOOKS])
    assert not problems, "\n".join(problems)


def test_numbering_rejects_gaps_repeats_and_bad_names() -> None:
    assert numbering_problems(["00_a.ipynb", "01_b_c.ipynb"]) == []
    assert "found [0, 2]" in numbering_problems(["00_a.ipynb", "02_b.ipynb"])[0]
    assert "found [0, 1, 1]" in numbering_problems(["00_a.ipynb", "01_b.ipynb", "01_c.ipynb"])[0]
    assert "03_snake_case" in numbering_problems(["00_a.ipynb", "1_Bad-Name.ipynb"])[0]


@pytest.mark.parametrize("check", list(CHECKS))
def test_fixture_passes(check: str) -> None:
    problems = CHECKS[check](FIXTURE, nbt.load(FIXTURE))
    assert not problems, "\n".join(problems)


def _index(nb: dict, text: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if text in c["source"])


def _broken(nb: dict, how: str) -> dict:
    nb = copy.deepcopy(nb)
    cells = nb["cells"]
    if how == "second_h1":
        cells[_index(nb, "## Scale an image")]["source"] = "# Scale an image"
    elif how == "stale_badge":
        cells[1]["source"] = cells[1]["source"].replace("/blob/main/", "/blob/old/")
    elif how == "no_overview":
        del cells[_index(nb, "## What you will learn")]
    elif how == "untagged_setup":
        cells[_index(nb, "# --- course bootstrap")]["metadata"] = {}
    elif how == "stale_bootstrap":
        setup = cells[_index(nb, "# --- course bootstrap")]
        setup["source"] = setup["source"].replace("import subprocess\n", "")
    elif how == "no_summary":
        cells[_index(nb, "## Summary")]["source"] = "## Recap"
    elif how == "exercises_first":
        summary, exercises = _index(nb, "## Summary"), _index(nb, "## Exercises")
        cells[summary]["source"], cells[exercises]["source"] = cells[exercises]["source"], cells[summary]["source"]
    elif how == "check_without_checks":
        cells[_index(nb, "check_equal(answer")]["source"] = "assert answer == 42"
    elif how == "unbalanced":
        cell = cells[_index(nb, "answer = 6 * 7")]
        cell["source"] = cell["source"].replace("### END SOLUTION", "")
    elif how == "no_exercise":
        for index in reversed(nbt.solution_cells(nb)):
            del cells[index]
    elif how == "lint":
        cells[_index(nb, "pixels = np.array")]["source"] += "\nimport json"
    return nb


BROKEN = {
    "second_h1": ("title", "expected exactly one H1"),
    "stale_badge": ("badge", "stamp_notebooks.py"),
    "no_overview": ("overview", "## What you will learn"),
    "untagged_setup": ("setup", "tagged 'setup'"),
    "stale_bootstrap": ("setup", "stamp_notebooks.py"),
    "no_summary": ("ending", "must end with '## Summary'"),
    "exercises_first": ("ending", "must end with '## Summary'"),
    "check_without_checks": ("exercises", "must call a check"),
    "unbalanced": ("exercises", "no ### END SOLUTION"),
    "no_exercise": ("exercises", "at least one exercise"),
    "lint": ("ruff", "F401"),
}


@pytest.mark.parametrize("how", list(BROKEN))
def test_checks_catch_a_broken_fixture(how: str, tmp_path: Path) -> None:
    check, expected = BROKEN[how]
    path = tmp_path / FIXTURE.name
    path.write_text(nbt.dumps(_broken(nbt.load(FIXTURE), how)), encoding="utf-8")
    problems = CHECKS[check](path, nbt.load(path))
    assert problems, f"the {check!r} check did not notice {how!r}"
    assert expected in problems[0] and problems[0].startswith(FIXTURE.name), problems


def test_stale_stamping_and_outputs_are_caught(tmp_path: Path) -> None:
    nb = _broken(nbt.load(FIXTURE), "stale_bootstrap")
    raw = json.loads(nbt.dumps(nb))
    code = next(c for c in raw["cells"] if c["cell_type"] == "code" and "pixels" in "".join(c["source"]))
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["[0. 0.5 1.]\n"]}]
    code["execution_count"] = 3
    path = tmp_path / FIXTURE.name
    path.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    loaded = nbt.load(path)
    outputs = check_no_outputs(path, loaded)
    assert outputs and "pixels = np.array" in outputs[0] and "cell 6" in outputs[0], outputs
    assert "format_notebooks.py" in check_formatting(path, loaded)[0]
    stamping = check_stamping(path, loaded)
    assert stamping and "stamp_notebooks.py" in stamping[0] and "course bootstrap" in stamping[0], stamping
