"""Format notebooks deterministically: no outputs or execution counts, sorted keys, indent 1, stable cell ids.

Usage::

    python tools/format_notebooks.py            # format every notebooks/*.ipynb in place
    python tools/format_notebooks.py --check    # exit 1 naming the notebooks that are not formatted
    python tools/format_notebooks.py path/to/a.ipynb path/to/folder
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import notebooks as nbt  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Command line: format (or with --check, only verify) the given notebooks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is not formatted")
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    try:
        paths = nbt.notebook_paths(args.paths)
    except FileNotFoundError as error:
        parser.error(str(error))
    changed, failed = nbt.rewrite_files(
        paths,
        lambda text, path: nbt.format_text(text, where=nbt.display_path(path)),
        check=args.check,
        done="formatted",
    )
    return nbt.report(
        changed, failed, check=args.check, problem="Not formatted", command="python tools/format_notebooks.py"
    )


if __name__ == "__main__":
    sys.exit(main())
