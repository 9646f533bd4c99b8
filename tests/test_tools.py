"""The notebook tools: formatter, stamper, student version and the notebook <-> script converter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import colab
from tools import format_notebooks, make_student_version, notebook_source, stamp_notebooks
from tools import notebooks as nbt

FIXTURE = Path(__file__).parent / "fixtures" / "99_fixture_lesson.ipynb"
NOTEBOOKS = sorted(nbt.NOTEBOOKS_DIR.glob("*.ipynb"))
ALL = [FIXTURE, *NOTEBOOKS]


def messy(path: Path) -> str:
    """The notebook as Jupyter might save it after a run: outputs, counts, extra metadata, random ids."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["metadata"]["widgets"] = {"state": {}}
    raw["metadata"]["language_info"]["version"] = "3.11.7"
    raw["nbformat_minor"] = 4
    for number, cell in enumerate(raw["cells"]):
        cell["id"] = f"random-{number * 7919 % 1000}"
        cell["metadata"]["collapsed"] = False
        cell["source"] = "".join(cell["source"]) + "\n\n"
        if cell["cell_type"] == "code":
            cell["execution_count"] = number
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
    return json.dumps(raw, indent=2)


def test_formatter_strips_outputs_and_is_idempotent() -> None:
    text = nbt.format_text(messy(FIXTURE))
    assert text == FIXTURE.read_text(encoding="utf-8")
    assert nbt.format_text(text) == text
    raw = json.loads(text)
    assert raw["metadata"] == {"kernelspec": nbt.KERNELSPEC, "language_info": {"name": "python"}}
    assert (raw["nbformat"], raw["nbformat_minor"]) == (4, 5)
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert all(set(c["metadata"]) <= {"tags"} for c in raw["cells"])
    ids = [c["id"] for c in raw["cells"]]
    assert len(set(ids)) == len(ids)


def test_cell_ids_are_stable_when_a_cell_is_inserted() -> None:
    nb = nbt.load(FIXTURE)
    before = [c["id"] for c in nb["cells"]]
    nb["cells"].insert(3, {"cell_type": "markdown", "metadata": {}, "source": "A new paragraph."})
    after = [c["id"] for c in nbt.normalise(nb)["cells"]]
    assert after[:3] + after[4:] == before
    twins = nbt.normalise({"cells": [{"cell_type": "code", "source": "x"}] * 2, "metadata": {}})
    assert twins["cells"][0]["id"] != twins["cells"][1]["id"]


def test_format_cli_check_and_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / FIXTURE.name
    path.write_text(messy(FIXTURE), encoding="utf-8")
    assert format_notebooks.main(["--check", str(tmp_path)]) == 1
    assert FIXTURE.name in capsys.readouterr().err
    assert format_notebooks.main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == FIXTURE.read_text(encoding="utf-8")
    assert format_notebooks.main(["--check", str(path)]) == 0


def test_stamping_is_idempotent_and_updates_stale_cells(tmp_path: Path) -> None:
    good = nbt.load(FIXTURE)
    assert stamp_notebooks.stamp(good, FIXTURE.name) == good
    stale = nbt.load(FIXTURE)
    stale["cells"][1]["source"] = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](old)"
    setup = stale["cells"][nbt.setup_cells(stale)[0]]
    setup["source"] = setup["source"].replace('"/content/course"', '"/content/old"')
    assert stamp_notebooks.stamp(stale, FIXTURE.name) == good
    path = tmp_path / FIXTURE.name
    path.write_text(nbt.dumps(stale), encoding="utf-8")
    assert stamp_notebooks.main(["--check", str(path)]) == 1
    assert stamp_notebooks.main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == FIXTURE.read_text(encoding="utf-8")
    assert stamp_notebooks.main(["--check", str(path)]) == 0


def test_stamped_cells_keep_their_ids_when_the_stamp_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    good = nbt.load(FIXTURE)
    ids = [c["id"] for c in good["cells"]]
    monkeypatch.setattr(colab, "repository_url", lambda: "https://github.com/someone-else/a-fork")
    stamped = stamp_notebooks.stamp(good, FIXTURE.name)
    badge, setup = stamped["cells"][1], stamped["cells"][nbt.setup_cells(stamped)[0]]
    assert "someone-else/a-fork" in badge["source"] and "someone-else/a-fork" in setup["source"]
    assert [c["id"] for c in stamped["cells"]] == ids  # new badge and bootstrap, same cells
    assert nbt.normalise(stamped) == stamped  # and the formatter agrees
    edited = nbt.load(FIXTURE)
    edited["cells"][nbt.setup_cells(edited)[0]]["source"] += "\nimport math"
    assert nbt.normalise(edited)["cells"][nbt.setup_cells(edited)[0]]["id"] != ids[nbt.setup_cells(edited)[0]]


def test_stamping_inserts_a_missing_badge_and_bootstrap() -> None:
    good = nbt.load(FIXTURE)
    bare = nbt.load(FIXTURE)
    del bare["cells"][1]
    setup = bare["cells"][nbt.setup_cells(bare)[0]]
    setup["source"] = setup["source"].split(nbt.BOOTSTRAP_END)[1].strip()
    setup["metadata"] = {}
    assert setup["source"].startswith("import numpy")
    stamped = stamp_notebooks.stamp(bare, FIXTURE.name)
    assert stamped == good
    assert stamped["cells"][1]["source"] == colab.badge_markdown(f"notebooks/{FIXTURE.name}")


def test_stamping_refuses_a_broken_bootstrap_and_a_missing_setup() -> None:
    nb = nbt.load(FIXTURE)
    setup = nb["cells"][nbt.setup_cells(nb)[0]]
    setup["source"] = setup["source"].replace(nbt.BOOTSTRAP_END, "")
    with pytest.raises(stamp_notebooks.StampError, match="found 1 start and 0 end"):
        stamp_notebooks.stamp(nb, FIXTURE.name)
    nb = nbt.load(FIXTURE)
    nb["cells"] = [c for c in nb["cells"] if c["source"] != "## Setup" and not nbt.cell_tags(c) == ["setup"]]
    with pytest.raises(stamp_notebooks.StampError, match="no Setup cell"):
        stamp_notebooks.stamp(nb, FIXTURE.name)


SOLUTION = """\
def scale(x):
    \"\"\"Doc.\"\"\"
    ### BEGIN SOLUTION
    y = x * 2
    return y
    ### END SOLUTION


### BEGIN SOLUTION (stub: answer = None)
answer = 42
### END SOLUTION
print(answer)"""

STUDENT = """\
def scale(x):
    \"\"\"Doc.\"\"\"
    # YOUR CODE HERE
    raise NotImplementedError("Exercise: write your solution here")


answer = None  # YOUR CODE HERE
print(answer)"""


def test_student_source_replaces_regions_keeping_indentation() -> None:
    assert nbt.student_source(SOLUTION) == STUDENT
    assert nbt.student_source("x = 1") == "x = 1"
    assert nbt.student_source("\t### BEGIN SOLUTION\n\tx = 1\n\t### END SOLUTION") == (
        '\t# YOUR CODE HERE\n\traise NotImplementedError("Exercise: write your solution here")'
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", "line 1 opens ### BEGIN SOLUTION but no ### END SOLUTION"),
        ("x = 1\n### END SOLUTION", "line 2 has ### END SOLUTION without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2 opens a second"),
        ("## BEGIN SOLUTION\nx = 1\n### END SOLUTION", "line 1 looks like a solution marker"),
    ],
)
def test_student_source_rejects_unbalanced_markers(source: str, message: str) -> None:
    with pytest.raises(nbt.MarkerError, match=message):
        nbt.student_source(source)


def test_make_student_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "student"
    assert make_student_version.main(["--out", str(out), str(FIXTURE)]) == 0
    assert f"({len(nbt.exercises(nbt.load(FIXTURE)))} exercises)" in capsys.readouterr().out
    written = out / "notebooks" / FIXTURE.name
    student = nbt.load(written)
    assert written.read_text(encoding="utf-8") == nbt.dumps(student)
    text = "\n".join(c["source"] for c in student["cells"])
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text and "6 * 7" not in text
    assert text.count("raise NotImplementedError") == 2 and "answer = None  # YOUR CODE HERE" in text
    assert (out / "course_utils" / "checks" / "__init__.py").is_file()
    assert (out / "data" / "registry.json").is_file(), "the handout needs the dataset registry"
    original = nbt.load(FIXTURE)
    assert len(student["cells"]) == len(original["cells"])


def test_make_student_version_refuses_unbalanced_markers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = nbt.load(FIXTURE)
    cell = next(c for c in nb["cells"] if "answer = 6 * 7" in c["source"])
    cell["source"] = cell["source"].replace("### END SOLUTION", "")
    path = tmp_path / FIXTURE.name
    path.write_text(nbt.dumps(nb), encoding="utf-8")
    out = tmp_path / "student"
    assert make_student_version.main(["--out", str(out), str(path)]) == 1
    err = capsys.readouterr().err
    assert "No student version written" in err and "answer = 6 * 7" not in err and "no ### END SOLUTION" in err, err
    assert f"{FIXTURE.name}: cell" in err
    assert not out.exists()


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_script_round_trip_is_exact(path: Path) -> None:
    script = notebook_source.notebook_to_py(nbt.load(path))
    assert nbt.dumps(notebook_source.py_to_notebook(script)) == path.read_text(encoding="utf-8")
    assert notebook_source.notebook_to_py(notebook_source.py_to_notebook(script)) == script


def test_script_format() -> None:
    script = notebook_source.notebook_to_py(nbt.load(FIXTURE))
    assert script.startswith("# %% [markdown]\n# # A fixture lesson")
    assert '\n\n# %% [markdown] tags=["colab-badge"]\n' in script
    assert '\n\n# %% tags=["setup"]\n# --- course bootstrap' in script
    assert "\n#\n" in script  # blank markdown lines


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("x = 1\n# %%\ny = 2\n", "line 1 comes before the first cell header"),
        ("# %% [markdown]\n# Title\nnot a comment\n", "line 3 is inside a markdown cell"),
        ("# %% [latex]\nx\n", "line 1 is not a cell header"),
        ('# %% tags=["a", 1]\nx\n', "expected a JSON list of strings"),
    ],
)
def test_script_errors_say_what_is_wrong(script: str, message: str) -> None:
    with pytest.raises(notebook_source.SourceFormatError, match=message):
        notebook_source.py_to_notebook(script)


@pytest.mark.parametrize(("kind", "source"), [("code", "x = 1\n# %% not a cell"), ("markdown", "Use\n%%time")])
def test_scripts_cannot_hide_a_cell_header_in_a_cell(kind: str, source: str) -> None:
    nb = {"cells": [{"cell_type": kind, "source": source}], "metadata": {}}
    with pytest.raises(notebook_source.SourceFormatError, match="cell 0 .* would read as a cell header"):
        notebook_source.notebook_to_py(nb)


def test_script_cli_builds_a_stamped_formatted_notebook(tmp_path: Path) -> None:
    script = tmp_path / "lesson.py"
    bare = nbt.load(FIXTURE)
    del bare["cells"][1]  # no badge: from-py stamps it
    script.write_text(notebook_source.notebook_to_py(bare), encoding="utf-8")
    target = tmp_path / FIXTURE.name
    command = [sys.executable, "tools/notebook_source.py", "from-py", str(script), "-o", str(target)]
    result = subprocess.run(command, cwd=nbt.PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == FIXTURE.read_text(encoding="utf-8")
    command = [sys.executable, "tools/notebook_source.py", "to-py", str(FIXTURE)]
    result = subprocess.run(command, cwd=nbt.PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == notebook_source.notebook_to_py(nbt.load(FIXTURE))


def test_readme_badges_follow_the_repository_address(monkeypatch):
    from tools import stamp_notebooks

    stale = (
        "| 00 | [Welcome](notebooks/00_welcome_and_setup.ipynb) | x | [![Open In Colab]"
        "(https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/"
        "old-owner/old-repo/blob/main/notebooks/00_welcome_and_setup.ipynb) |\n"
    )
    stamped = stamp_notebooks.stamp_readme_text(stale)
    assert "old-owner" not in stamped
    assert colab.badge_markdown("notebooks/00_welcome_and_setup.ipynb") in stamped
    assert stamp_notebooks.stamp_readme_text(stamped) == stamped
