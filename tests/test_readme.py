"""The README's promises: two commands, CI running the test one, a course map with working badges."""

import re
from pathlib import Path

import pytest

from course_utils import colab

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_two_commands_are_documented():
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", README, flags=re.S)
    assert block, "README needs a '## Two commands' section with a bash block"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make lab", "make test"]


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, flags=re.M), ".ci/run must run exactly `make test`"


def test_makefile_has_both_targets_with_setup():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: setup$", makefile, flags=re.M)
    assert re.search(r"^test: setup$", makefile, flags=re.M)
    assert "--nbval-lax" in makefile


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_course_map_links_every_notebook_with_its_badge(notebook):
    relative = f"notebooks/{notebook.name}"
    rows = [line for line in README.splitlines() if line.startswith(f"| {notebook.name[:2]} |")]
    assert rows, f"README's course map has no row for {notebook.name}"
    assert f"]({relative})" in rows[0], f"README's row for {notebook.name} should link {relative}"
    assert colab.badge_markdown(relative) in rows[0], (
        f"README's Colab badge for {notebook.name} is out of date: run `python tools/stamp_notebooks.py`"
    )
