"""Convert a notebook to a "percent" Python script and back, so a lesson can be written as a .py file.

Usage::

    python tools/notebook_source.py to-py notebooks/00_welcome.ipynb -o lesson.py   # stdout without -o
    python tools/notebook_source.py from-py lesson.py -o notebooks/00_welcome.ipynb   # stamped and formatted

The script format: each cell starts with a header line, ``# %%`` for code, ``# %% [markdown]`` for
markdown and ``# %% [raw]`` for raw cells, optionally followed by ``tags=["setup"]``. Markdown and raw
lines are written as comments (``# `` + line; ``#`` for a blank line). Cells are separated by one blank line.
Converting a formatted notebook to a script and back gives the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import notebooks as nbt  # noqa: E402

HEADER_RE = re.compile(r"^# %%(?: \[(?P<kind>markdown|raw)\])?(?: tags=(?P<tags>\[.*\]))?[ \t]*$")


class SourceFormatError(ValueError):
    """A percent script (or a notebook cell) cannot be converted."""


def notebook_to_py(nb: dict[str, Any]) -> str:
    """The notebook as a percent script."""
    clean = nbt.normalise(nb)
    blocks = []
    for index, cell in enumerate(clean["cells"]):
        header = "# %%" if cell["cell_type"] == "code" else f"# %% [{cell['cell_type']}]"
        tags = nbt.cell_tags(cell)
        if tags:
            header += " tags=" + json.dumps(tags, ensure_ascii=False)
        source = cell["source"]
        if cell["cell_type"] == "code":
            lines = source.splitlines()
        else:
            lines = [f"# {line}" if line else "#" for line in source.splitlines()]
        clash = [line for line in lines if line.startswith("# %%")]
        if clash:
            raise SourceFormatError(
                f"{nbt.describe_cell(clean, index)} has a line that would read as a cell header in the script "
                f"({clash[0]!r}); reword that line."
            )
        body = "\n".join(lines)
        blocks.append(f"{header}\n{body}" if body else header)
    return "\n\n".join(blocks) + "\n"


def py_to_notebook(text: str, *, where: str = "the script") -> dict[str, Any]:
    """The notebook described by a percent script (normalised, not stamped)."""
    cells: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    body: list[str] = []

    def finish() -> None:
        if current is None:
            return
        while body and not body[-1].strip():
            body.pop()
        if current["cell_type"] != "code":
            for offset, line in enumerate(body):
                if not line.startswith("#"):
                    raise SourceFormatError(
                        f"{where}: line {current['line'] + 1 + offset} is inside a {current['cell_type']} cell but "
                        f"does not start with '#': {line!r}. Prefix it with '# ' or start a code cell with '# %%'."
                    )
            lines = [line[2:] if line.startswith("# ") else line[1:] for line in body]
        else:
            lines = body
        cells.append({"cell_type": current["cell_type"], "metadata": current["metadata"], "source": "\n".join(lines)})

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            match = HEADER_RE.match(line)
            if not match:
                raise SourceFormatError(
                    f"{where}: line {number} is not a cell header: {line!r}; expected '# %%', '# %% [markdown]' or "
                    f"'# %% [raw]', optionally followed by tags=[\"a\", \"b\"]."
                )
            finish()
            tags: list[str] = []
            if match.group("tags"):
                try:
                    tags = json.loads(match.group("tags"))
                except json.JSONDecodeError:
                    tags = None  # type: ignore[assignment]
                if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                    raise SourceFormatError(
                        f"{where}: line {number} has tags={match.group('tags')}; expected a JSON list of strings "
                        f'such as tags=["setup"].'
                    )
            current = {"cell_type": match.group("kind") or "code", "metadata": {"tags": tags}, "line": number}
            body = []
        elif current is None:
            if line.strip():
                raise SourceFormatError(
                    f"{where}: line {number} comes before the first cell header: {line!r}; start the file with "
                    f"'# %% [markdown]' (the title cell)."
                )
        else:
            body.append(line)
    finish()
    return nbt.normalise({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def main(argv: list[str] | None = None) -> int:
    """Command line: ``to-py NOTEBOOK [-o SCRIPT]`` or ``from-py SCRIPT [-o NOTEBOOK]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    to_py = commands.add_parser("to-py", help="notebook -> percent script (stdout unless -o)")
    to_py.add_argument("notebook")
    to_py.add_argument("-o", "--output", help="script to write")
    from_py = commands.add_parser("from-py", help="percent script -> stamped, formatted notebook")
    from_py.add_argument("script")
    from_py.add_argument("-o", "--output", help="notebook to write (default: notebooks/<script name>.ipynb)")
    from_py.add_argument("--no-stamp", action="store_true", help="do not stamp the badge and the bootstrap")
    args = parser.parse_args(argv)
    try:
        if args.command == "to-py":
            script = notebook_to_py(nbt.load(args.notebook))
            if args.output:
                Path(args.output).write_text(script, encoding="utf-8")
                print(f"wrote {args.output}", file=sys.stderr)
            else:
                sys.stdout.write(script)
            return 0
        source = Path(args.script)
        nb = py_to_notebook(source.read_text(encoding="utf-8"), where=str(source))
        output = Path(args.output) if args.output else nbt.NOTEBOOKS_DIR / f"{source.stem}.ipynb"
        if not args.no_stamp:
            from tools.stamp_notebooks import stamp

            nb = stamp(nb, output.name)
        changed = nbt.save(nb, output)
        print(f"{'wrote' if changed else 'unchanged'} {nbt.display_path(output)}", file=sys.stderr)
        return 0
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
