"""Every exercise check rejects the student stub and accepts the solution, run in a real kernel.

For each notebook one kernel runs the Setup cell, then walks the Exercises section: ordinary cells run as
they are; each solution cell runs first in its student version (must not fail), then its check cell (must
raise CheckFailed), then the solution (must not fail) and the check again (must pass).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from tools import notebooks as nbt

FIXTURE = Path(__file__).parent / "fixtures" / "99_fixture_lesson.ipynb"
NOTEBOOKS = sorted(nbt.NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; the smoke profile keeps every cell far below this


@dataclass
class Result:
    """What one cell did: the error name and message when it failed, and its printed text."""

    ename: str | None = None
    evalue: str = ""
    text: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The error as ``Name: message``, or the output when there was no error."""
        if self.ename:
            return f"{self.ename}: {self.evalue}"
        printed = "".join(self.text).strip()
        return f"it printed {printed[:300]!r}" if printed else "it printed nothing"


class Kernel:
    """A Python kernel in a notebook's folder, offline, in the smoke profile unless COURSE_PROFILE is set."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ)
        env.setdefault("COURSE_PROFILE", "smoke")  # COURSE_PROFILE=cpu pytest ... tries a bigger profile
        env.update(COURSE_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(nbt.PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd), env=env, extra_arguments=["--HistoryManager.enabled=False"])
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=60)
        except Exception:
            self.close()
            raise

    def run(self, code: str) -> Result:
        """Execute ``code`` and collect its error and printed text."""
        result = Result()

        def hook(message: dict) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                result.text.append(content["text"])
            elif kind == "error":
                result.ename, result.evalue = content["ename"], content["evalue"]

        reply = self.client.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=hook, allow_stdin=False)
        if reply["content"]["status"] == "error" and result.ename is None:
            result.ename, result.evalue = reply["content"]["ename"], reply["content"]["evalue"]
        return result

    def close(self) -> None:
        """Stop the kernel."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def exercise_problems(path: Path, nb: dict | None = None) -> list[str]:
    """Run the Setup cell and the Exercises section of a notebook; return what went wrong, in words."""
    nb = nbt.load(path) if nb is None else nb
    name = path.name
    setup = nbt.setup_cells(nb)
    section = nbt.section_cells(nb, "Exercises")
    if len(setup) != 1 or not section:
        return [f"{name}: needs one cell tagged 'setup' and a '## Exercises' section; found setup cells {setup}."]
    pairs = {e.solution: e.check for e in nbt.exercises(nb) if e.solution in section}
    checks = {check for check in pairs.values() if check is not None}
    problems: list[str] = []
    kernel = Kernel(path.parent)
    try:
        result = kernel.run(nb["cells"][setup[0]]["source"])
        if result.ename:
            return [f"{name}: the setup {nbt.describe_cell(nb, setup[0])} failed: {result.summary}"]
        for index in section:
            cell = nb["cells"][index]
            where = f"{name}: exercise {nbt.describe_cell(nb, index)}"
            if cell["cell_type"] != "code" or index in checks:
                continue
            if index not in pairs:
                result = kernel.run(cell["source"])
                if result.ename:
                    problems.append(f"{name}: {nbt.describe_cell(nb, index)} in Exercises failed: {result.summary}")
                continue
            check = pairs[index]
            if check is None:
                problems.append(f"{where} has no check cell after it.")
                continue
            check_code = nb["cells"][check]["source"]
            result = kernel.run(nbt.student_source(cell["source"]))
            if result.ename:
                problems.append(f"{where}: the student version must run without error; it raised {result.summary}")
                continue
            result = kernel.run(check_code)
            if result.ename is None:
                problems.append(f"{where}: check cell {check} accepted the unsolved stub ({result.summary}).")
            elif result.ename != "CheckFailed":
                problems.append(
                    f"{where}: on the stub, check cell {check} should raise CheckFailed; it raised {result.summary}"
                )
            elif not result.evalue.strip():
                problems.append(f"{where}: on the stub, check cell {check} raised CheckFailed without a message.")
            result = kernel.run(cell["source"])
            if result.ename:
                problems.append(f"{where}: the solution raised {result.summary}")
                continue
            result = kernel.run(check_code)
            if result.ename:
                problems.append(f"{where}: check cell {check} rejected the solution: {result.summary}")
    finally:
        kernel.close()
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_exercises(path: Path) -> None:
    problems = exercise_problems(path)
    assert not problems, "\n".join(problems)


def test_fixture_exercises_pass() -> None:
    problems = exercise_problems(FIXTURE)
    assert not problems, "\n".join(problems)


def test_broken_fixture_exercises_are_reported() -> None:
    nb = copy.deepcopy(nbt.load(FIXTURE))

    def cell(text: str) -> dict:
        return next(c for c in nb["cells"] if text in c["source"])

    # 1: the check accepts anything; 2: the solution is wrong; 3: the stub fails outside a function body.
    cell("checks.check_to_model_range(")["source"] = 'checks.check_equal(1, 1, name="one")'
    cell("answer = 6 * 7")["source"] = cell("answer = 6 * 7")["source"].replace("6 * 7", "6 * 8")
    double = cell("def double(x):")
    double["source"] = "### BEGIN SOLUTION\ndef double(x):\n    return x * 2\n### END SOLUTION\n\ndouble(1)"
    problems = exercise_problems(FIXTURE, nb)
    text = "\n".join(problems)
    assert len(problems) == 3, text
    assert "accepted the unsolved stub" in problems[0] and "def to_model_range" in problems[0], text
    assert "rejected the solution" in problems[1] and "`answer`" in problems[1], text
    assert "student version must run without error" in problems[2] and "NotImplementedError" in problems[2], text
    assert all(p.startswith(f"{FIXTURE.name}: exercise cell ") for p in problems), text

