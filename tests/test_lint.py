"""ruff passes on the package, the tools and the tests (the notebooks are linted by the structure tests)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_passes_on_the_code():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "course_utils", "tools", "tests", "benchmarks", "conftest.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"ruff found problems; fix them or run `ruff check --fix`:\n{result.stdout}"
