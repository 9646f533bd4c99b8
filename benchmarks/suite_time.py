"""How long the notebook suite takes in the smoke profile, per notebook and in total.

Runs ``pytest --nbval-lax <notebooks> -q --durations=0 --durations-min=0`` in a subprocess with
``COURSE_PROFILE=smoke`` and adds up pytest's per-cell durations (setup, call and teardown) by notebook.

    python benchmarks/suite_time.py                 # every notebook
    python benchmarks/suite_time.py --quick         # only lesson 00 (checks the benchmark itself)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

NAME = "suite_time"
#: One line of pytest's --durations report: "12.34s call     notebooks/06_x.ipynb::Cell 3".
_DURATION = re.compile(r"^\s*(?P<seconds>\d+(?:\.\d+)?)s\s+(?P<phase>setup|call|teardown)\s+(?P<test>\S+)")
#: pytest's closing line, e.g. "== 120 passed, 2 skipped in 95.10s (0:01:35) ==".
_SUMMARY = re.compile(r"(?P<counts>(?:\d+ \w+(?:, )?)+) in (?P<seconds>\d+(?:\.\d+)?)s")


def parse_durations(output: str) -> dict[str, float]:
    """Seconds per notebook (or test file): pytest's --durations lines summed over the cells of each file."""
    per_file: dict[str, float] = defaultdict(float)
    for line in output.splitlines():
        match = _DURATION.match(line)
        if match:
            per_file[match["test"].split("::", 1)[0]] += float(match["seconds"])
    return dict(sorted(per_file.items()))


def parse_summary(output: str) -> tuple[str | None, float | None]:
    """pytest's own counts ("40 passed, 1 failed") and total seconds from its last summary line."""
    for line in reversed(output.splitlines()):
        match = _SUMMARY.search(line)
        if match:
            return match["counts"].strip().rstrip(","), float(match["seconds"])
    return None, None


def run_suite(targets: Sequence[str], *, timeout: float) -> dict[str, Any]:
    """Run the notebooks under pytest in the smoke profile; return per-notebook seconds, totals and the exit code."""
    env = dict(os.environ, COURSE_PROFILE="smoke")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        *targets,
        "-q",
        "-p",
        "no:cacheprovider",
        "--durations=0",
        "--durations-min=0",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=common._ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.perf_counter() - start
    output = done.stdout + done.stderr
    counts, pytest_seconds = parse_summary(output)
    return {
        "command": " ".join(["python", *command[1:]]),
        "returncode": done.returncode,
        "outcome": counts,
        "per_notebook_seconds": {k: round(v, 2) for k, v in parse_durations(output).items()},
        "pytest_seconds": pytest_seconds,
        "wall_seconds": round(wall, 2),
        "tail": output.strip().splitlines()[-5:],
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Time the notebook suite; print a table; save the JSON. Returns the saved record's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time only lesson 00")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    parser.add_argument("targets", nargs="*", help="notebooks or folders (default: notebooks)")
    args = parser.parse_args(argv)
    common.quiet_tensorflow()
    info = common.machine()
    targets = args.targets or (["notebooks/00_welcome_and_setup.ipynb"] if args.quick else ["notebooks"])
    figures = run_suite(targets, timeout=args.timeout)
    rows = [(Path(k).name, v) for k, v in figures["per_notebook_seconds"].items()]
    rows.append(("total (sum of the above)", round(sum(figures["per_notebook_seconds"].values()), 2)))
    rows.append(("pytest wall time (incl. start-up)", figures["wall_seconds"]))
    table = common.format_table(["notebook", "seconds"], rows)
    table += f"\npytest: {figures['outcome']} (exit code {figures['returncode']})"
    common.report(NAME, info, table, figures, quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
