"""Stamp the repeated cells into every notebook: the Colab badge (cell 1) and the Setup cell's bootstrap.

Usage::

    python tools/stamp_notebooks.py            # stamp and format every notebooks/*.ipynb
    python tools/stamp_notebooks.py --check    # exit 1 naming the notebooks that are out of step
    python tools/stamp_notebooks.py notebooks/03_cnn_classifier.ipynb

The badge and bootstrap text come from ``course_utils.colab``; edit them there (or the repository
address in ``pyproject.toml``), then run this tool. It also refreshes the Colab badges of the course map in
``README.md``, so one edit of the address moves every link.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils import colab  # noqa: E402
from tools import notebooks as nbt  # noqa: E402


class StampError(ValueError):
    """A notebook cannot be stamped (for example it has no Setup cell)."""


def badge_cell(name: str) -> dict[str, Any]:
    """The Colab badge cell for the notebook file called ``name``."""
    return {
        "cell_type": "markdown",
        "metadata": {"tags": [nbt.BADGE_TAG]},
        "source": colab.badge_markdown(f"notebooks/{name}"),
    }


def _looks_like_badge(cell: dict[str, Any]) -> bool:
    text = nbt.source_text(cell)
    return cell["cell_type"] == "markdown" and "colab-badge.svg" in text and len(text.splitlines()) == 1


def stamp_bootstrap(source: str) -> str:
    """``source`` with its bootstrap block replaced by the current one (or the block put on top)."""
    block = colab.bootstrap_source()
    lines = source.splitlines()
    begins = [i for i, line in enumerate(lines) if line.startswith(nbt.BOOTSTRAP_BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.strip() == nbt.BOOTSTRAP_END]
    if not begins and not ends:
        rest = source
    elif len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0]:
        rest = "\n".join(lines[: begins[0]] + lines[ends[0] + 1 :])
    else:
        raise StampError(
            f"the setup cell should hold one bootstrap block from a line starting {nbt.BOOTSTRAP_BEGIN!r} to a "
            f"line {nbt.BOOTSTRAP_END!r}; found {len(begins)} start and {len(ends)} end line(s). Delete the "
            f"broken block and run the tool again: it puts a fresh one on top."
        )
    rest = rest.strip("\n")
    return f"{block}\n\n{rest}" if rest.strip() else block


def stamp(nb: dict[str, Any], name: str) -> dict[str, Any]:
    """A normalised copy of ``nb`` with the current badge (cell 1) and bootstrap; ``name`` is the file name."""
    clean = nbt.normalise(nb)
    cells = clean["cells"]
    tagged = [i for i, c in enumerate(cells) if nbt.BADGE_TAG in nbt.cell_tags(c)]
    for index in reversed(tagged):
        del cells[index]
    if not tagged and len(cells) > 1 and _looks_like_badge(cells[1]):
        del cells[1]
    cells.insert(min(1, len(cells)), badge_cell(name))

    setup = nbt.setup_cells(clean)
    if not setup:
        heading = nbt.find_heading(clean, "Setup")
        after = heading + 1 if heading is not None else None
        if after is not None and after < len(cells) and cells[after]["cell_type"] == "code":
            cells[after].setdefault("metadata", {})["tags"] = nbt.cell_tags(cells[after]) + [nbt.SETUP_TAG]
            setup = [after]
        else:
            raise StampError(
                "it has no Setup cell: expected a markdown '## Setup' heading followed by a code cell "
                f"(tagged {nbt.SETUP_TAG!r}); found none."
            )
    if len(setup) > 1:
        raise StampError(f"it has {len(setup)} code cells tagged {nbt.SETUP_TAG!r} (cells {setup}); expected one.")
    cells[setup[0]]["source"] = stamp_bootstrap(cells[setup[0]]["source"])
    return nbt.normalise(clean)


def stamp_text(text: str, name: str) -> str:
    """Stamped and formatted notebook text for the file called ``name``."""
    return nbt.dumps(stamp(nbt.loads(text, where=name), name))


README = nbt.PROJECT_ROOT / "README.md"
_README_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*/(notebooks/[0-9]{2}_[a-z0-9_]+\.ipynb)\)")


def stamp_readme_text(text: str) -> str:
    """``text`` (the README) with every course-map Colab badge rebuilt from the current repository address."""
    return _README_BADGE.sub(lambda match: colab.badge_markdown(match.group(1)), text)


def main(argv: list[str] | None = None) -> int:
    """Command line: stamp (or with --check, only verify) the given notebooks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of step")
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    try:
        paths = nbt.notebook_paths(args.paths)
    except FileNotFoundError as error:
        parser.error(str(error))
    changed, failed = nbt.rewrite_files(
        paths,
        lambda text, path: stamp_text(text, path.name),
        check=args.check,
        done="stamped",
        exceptions=(StampError, ValueError),
    )
    if not args.paths and README.exists():
        readme_changed, _ = nbt.rewrite_files(
            [README], lambda text, path: stamp_readme_text(text), check=args.check, done="stamped"
        )
        changed += readme_changed
    return nbt.report(
        changed, failed, check=args.check, problem="Out of step", command="python tools/stamp_notebooks.py"
    )


if __name__ == "__main__":
    sys.exit(main())
