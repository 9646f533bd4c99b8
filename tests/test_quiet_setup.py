"""TensorFlow is first imported by cu.setup(), which silences its native start-up messages.

Anything in a Setup cell that imports TensorFlow before ``cu.setup()`` runs (tensorflow, keras, or a
course_utils module that imports them at the top) would print those messages into the notebook.
"""

import ast
import re
from pathlib import Path

import pytest

from tools import notebooks as nbt

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TF_IMPORT = re.compile(r"^(import|from) (tensorflow|keras)\b", flags=re.M)


def modules_importing_tensorflow() -> set[str]:
    """course_utils modules whose import pulls in TensorFlow (a top-level import of tensorflow or keras)."""
    found = set()
    for path in (ROOT / "course_utils").rglob("*.py"):
        if TF_IMPORT.search(path.read_text(encoding="utf-8")):
            found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def imported_modules(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module:
        return {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return set()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_tensorflow_is_imported_after_setup(path):
    heavy = modules_importing_tensorflow() | {"tensorflow", "keras"}
    nb = nbt.load(path)
    [index] = nbt.setup_cells(nb)
    tree = ast.parse(nbt.source_text(nb["cells"][index]))
    early = []
    for node in tree.body:
        if "setup(" in ast.unparse(node) and isinstance(node, ast.Assign | ast.Expr):
            break
        for module in imported_modules(node):
            if module in heavy or module.split(".")[0] in {"tensorflow", "keras"}:
                early.append(f"line {node.lineno}: {ast.unparse(node)}")
    assert not early, (
        f"{path.name}: the Setup cell imports TensorFlow before `cu.setup()`, so its start-up messages show: "
        + "; ".join(early)
        + ". Move these imports below the setup() call."
    )


def test_the_rule_knows_the_tensorflow_modules():
    assert "course_utils.pipeline" in modules_importing_tensorflow()
