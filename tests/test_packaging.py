"""A regular (non-editable) install of course_utils holds every module and data file the source tree has.

The wheel is built offline from a copy of the package (``pip wheel --no-build-isolation``), unpacked, and every
module is imported from it in a fresh interpreter that cannot see the source tree.
"""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = ("*.json", "*.npz")  # the data patterns pyproject.toml ships with course_utils.checks


def source_modules() -> set[str]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "course_utils").rglob("*.py")
    }


def test_the_wheel_holds_every_module_and_data_file(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "course_utils", source / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, f"building the wheel failed:\n{built.stdout}\n{built.stderr}"
    [wheel] = (tmp_path / "dist").glob("course_utils-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    checks = ROOT / "course_utils" / "checks"
    data = {str(path.relative_to(ROOT)) for pattern in PACKAGE_DATA for path in checks.glob(pattern)}
    assert data <= names, f"the wheel lacks the data files {sorted(data - names)}"
    assert any(name.endswith("licenses/LICENSE") for name in names), "the wheel must carry the licence"
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)

    modules = sorted(source_modules())
    script = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        f"found = {{name: importlib.import_module(name).__file__ for name in {modules!r}}}\n"
        "print(json.dumps(found))\n"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )  # -I: no PYTHONPATH, no current folder on the path
    assert run.returncode == 0, f"importing course_utils from the wheel failed:\n{run.stderr[-3000:]}"
    found = json.loads(run.stdout.strip().splitlines()[-1])
    outside = {name: path for name, path in found.items() if not Path(path).is_relative_to(site)}
    assert not outside, f"these modules were imported from outside the wheel: {outside}"
