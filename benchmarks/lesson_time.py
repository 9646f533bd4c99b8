"""How long each lesson takes in a run profile (the cpu profile by default), split into training and the rest.

Runs the notebooks one after the other, each in its own ``pytest --nbval-lax`` process (kernel start and the
TensorFlow import included, as a learner pays them), all sharing one fresh runs folder, so a lesson that reuses
a model an earlier lesson saved finds it there, as it would on a learner's machine. A code cell counts as
*training* when it calls a trainer (``.train(``, ``.fit(``, ``load_or_train_...(``, the toy GAN's trainer);
everything else (data, evaluation, plots, exercises) is the rest. ``--float32`` runs as on a CPU without
bfloat16 instructions (``COURSE_CPU_BFLOAT16=0``), which is what most laptops are.

    python benchmarks/lesson_time.py --float32                 # every lesson, cpu profile, float32
    python benchmarks/lesson_time.py --float32 10 11           # lessons 10 and 11 only
    python benchmarks/lesson_time.py --quick                   # lesson 00 in smoke (checks the benchmark itself)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, suite_time  # noqa: E402
from course_utils.paths import runs_dir  # noqa: E402

NAME = "lesson_time"
BUDGET_SECONDS = 300.0  #: what the cpu profile promises each lesson on a quiet 2-core float32 machine
#: A call that trains a model: a trainer's .train / .fit, the course's load_or_train_* helpers, the toy GAN's.
TRAINING_CALL = re.compile(r"(?:\.(?:train|fit)\(|\bload_or_train_\w+\(|\btrain_toy_gan\(|\btimed_fit\()")
#: One --durations line of a notebook cell: "12.34s call     notebooks/06_x.ipynb::Cell 3".
_CELL = re.compile(r"^\s*(?P<seconds>\d+(?:\.\d+)?)s\s+(?:setup|call|teardown)\s+\S+::Cell (?P<index>\d+)\s*$")


def code_cells(notebook: Path) -> list[str]:
    """The sources of a notebook's code cells, in the order nbval numbers them ("Cell 0", "Cell 1", ...)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def is_training(source: str) -> bool:
    """Whether a code cell trains (or may train, when nothing is saved yet) a model."""
    return bool(TRAINING_CALL.search(source))


def cell_seconds(output: str) -> dict[int, float]:
    """Seconds per code cell (setup + call + teardown) from pytest's --durations lines."""
    seconds: dict[int, float] = {}
    for line in output.splitlines():
        cell = _CELL.match(line)
        if cell:
            index = int(cell["index"])
            seconds[index] = seconds.get(index, 0.0) + float(cell["seconds"])
    return seconds


def failure_lines(output: str, *, keep: int = 40) -> list[str]:
    """The last lines of pytest's report of a failed cell (nbval's traceback), so a failure can be read later."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("_") and "Cell" in line]
    if not starts:
        return []
    block = lines[starts[0] : starts[0] + 400]
    ends = [i for i, line in enumerate(block) if line.startswith("=") and "durations" in line]
    return block[: ends[0]][-keep:] if ends else block[-keep:]


def first_line(source: str) -> str:
    """The first line of a cell that is not a comment, shortened, to name the cell in a table."""
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:60]
    return source.strip()[:60]


def time_lesson(notebook: Path, *, profile: str, float32: bool, runs: Path, timeout: float) -> dict[str, Any]:
    """Run one notebook in its own pytest process; its wall time, training/other seconds and slowest cells."""
    env = dict(os.environ, COURSE_PROFILE=profile, COURSE_SHARED_RUNS_DIR=str(runs), COURSE_OFFLINE="1")
    if float32:
        env["COURSE_CPU_BFLOAT16"] = "0"
    command = [sys.executable, "-m", "pytest", "--nbval-lax", str(notebook), "-q", "-p", "no:cacheprovider"]
    command += ["--durations=0", "--durations-min=0"]
    load_before = common.load_average()
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=common._ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        output, returncode = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as stopped:
        output = (stopped.stdout or b"").decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
        returncode = "timeout"
    wall = time.perf_counter() - start
    sources = code_cells(notebook)
    seconds = cell_seconds(output)
    training = sum(s for i, s in seconds.items() if i < len(sources) and is_training(sources[i]))
    slowest = sorted(seconds.items(), key=lambda item: -item[1])[:3]
    return {
        "notebook": notebook.name,
        "returncode": returncode,
        "outcome": suite_time.parse_summary(output)[0],
        "wall_seconds": round(wall, 1),
        "cells_seconds": round(sum(seconds.values()), 1),
        "training_seconds": round(training, 1),
        "other_seconds": round(sum(seconds.values()) - training, 1),
        "cell_seconds": {str(i): round(s, 2) for i, s in sorted(seconds.items())},
        "slowest_cells": [
            {"cell": i, "seconds": round(s, 1), "training": is_training(sources[i]), "starts": first_line(sources[i])}
            for i, s in slowest
            if i < len(sources)
        ],
        "load_average_before": load_before,
        "load_average_after": common.load_average(),
        "tail": output.strip().splitlines()[-3:],
        "errors": failure_lines(output),
    }


def select(notebooks: Sequence[Path], wanted: Sequence[str]) -> list[Path]:
    """The notebooks whose number (``"06"`` or ``"6"``) or file name is in ``wanted``; all when it is empty."""
    if not wanted:
        return list(notebooks)
    keys = {w.zfill(2) if w.isdigit() else w for w in wanted}
    chosen = [nb for nb in notebooks if nb.name[:2] in keys or nb.name in keys]
    if not chosen:
        raise SystemExit(f"No notebook matches {list(wanted)}; give lesson numbers such as 06 or 10.")
    return chosen


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Time the lessons; print a table; save the JSON. Returns the saved record's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: every notebook)")
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    parser.add_argument("--float32", action="store_true", help="train in float32 even on a bfloat16 CPU")
    parser.add_argument("--runs-dir", type=Path, help="runs folder to share (default: a new one per run)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up on a lesson after this many s")
    parser.add_argument("--quick", action="store_true", help="lesson 00 in the smoke profile only")
    args = parser.parse_args(argv)
    common.quiet_tensorflow()
    info = common.machine()
    profile = "smoke" if args.quick else args.profile
    notebooks = sorted((common._ROOT / "notebooks").glob("*.ipynb"))
    notebooks = select(notebooks, ["00"] if args.quick else args.lessons)
    runs = args.runs_dir or runs_dir("benchmarks", f"{NAME}-{profile}-{time.strftime('%Y%m%d-%H%M%S')}")
    runs.mkdir(parents=True, exist_ok=True)
    bf16 = bool(info["avx512_bf16"]) and not args.float32 and profile != "gpu"
    precision = "mixed_bfloat16" if bf16 else "float32"
    lessons = []
    for notebook in notebooks:
        print(f"{notebook.name} ...", flush=True)
        lessons.append(time_lesson(notebook, profile=profile, float32=args.float32, runs=runs, timeout=args.timeout))
        print(f"  {lessons[-1]['wall_seconds']} s, {lessons[-1]['outcome']}", flush=True)
    rows = []
    for lesson in lessons:
        slowest = lesson["slowest_cells"][0] if lesson["slowest_cells"] else None
        within = "yes" if lesson["wall_seconds"] <= BUDGET_SECONDS else "NO"
        rows.append(
            (
                lesson["notebook"][:2],
                lesson["wall_seconds"],
                lesson["training_seconds"],
                lesson["other_seconds"],
                within,
                f"cell {slowest['cell']} ({slowest['seconds']} s): {slowest['starts']}" if slowest else "-",
                lesson["outcome"] or str(lesson["returncode"]),
            )
        )
    total = round(sum(lesson["wall_seconds"] for lesson in lessons), 1)
    rows.append(("all", total, round(sum(x["training_seconds"] for x in lessons), 1), "", "", "", ""))
    headers = ["lesson", "wall s", "training s", "other s", f"<= {BUDGET_SECONDS:.0f} s", "slowest cell", "pytest"]
    table = common.format_table(headers, rows)
    table += f"\nprofile {profile}, trained in {precision}; runs folder {runs}"
    figures = {"profile": profile, "precision": precision, "runs_dir": str(runs), "lessons": lessons, "total": total}
    common.report(NAME, info, table, figures, quick=args.quick)
    return figures


if __name__ == "__main__":
    main()
