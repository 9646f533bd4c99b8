"""Write the student version of the notebooks: solutions replaced by placeholders, outputs stripped.

Usage::

    python tools/make_student_version.py                  # every notebook -> student/notebooks/
    python tools/make_student_version.py --out handout notebooks/01_convolution_from_scratch.ipynb

Each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` and
``raise NotImplementedError(...)`` (or the stub written as ``### BEGIN SOLUTION (stub: answer = None)``).
The course's helper package is copied next to the notebooks so that the handout runs on its own; it holds no
solution (the checks judge by properties, libraries and stored results; tests/test_handout.py searches the
handout for every solution). Nothing from tools/ or tests/ is copied.
Nothing is written when any notebook's markers do not pair up.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import notebooks as nbt  # noqa: E402


def copy_package(out: Path) -> Path:
    """Copy ``course_utils`` and the dataset registry into ``out`` so the handout runs on its own.

    The notebooks' bootstrap finds ``../course_utils``; the package finds its dataset registry (and the
    cache folder for staged data) in ``../data``. Staged downloads are not copied: point
    ``COURSE_DATA_DIR`` at a shared folder, or copy them in.
    """
    target = out / "course_utils"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(nbt.PROJECT_ROOT / "course_utils", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in ("registry.json", "README.md"):
        shutil.copy2(nbt.PROJECT_ROOT / "data" / name, data / name)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: write the student notebooks into ``<out>/notebooks/``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="student", help="output folder (default: student)")
    parser.add_argument("--no-package", action="store_true", help="do not copy course_utils into the output")
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    try:
        paths = nbt.notebook_paths(args.paths)
    except FileNotFoundError as error:
        parser.error(str(error))
    made, errors = [], []
    for path in paths:
        try:
            made.append((path, *nbt.student_notebook(nbt.load(path))))
        except ValueError as error:
            errors.append(f"{nbt.display_path(path)}: {error}")
    if errors:
        print("No student version written; fix these first:", file=sys.stderr)
        for message in errors:
            print(f"  {message}", file=sys.stderr)
        return 1
    out = Path(args.out)
    for path, student, count in made:
        target = out / "notebooks" / path.name
        nbt.save(student, target)
        print(f"wrote {target} ({count} exercise{'s' if count != 1 else ''})")
    if made and not args.no_package:
        print(f"copied the helper package to {copy_package(out)}")
    if not made:
        print("no notebooks found; nothing written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
