"""Google Colab support: detection, the bootstrap that installs the course, widgets and Drive (lesson 00).

The repository's address is written in one place, ``[project.urls] Repository`` in ``pyproject.toml``;
the Colab badges and the bootstrap stamped into every notebook are built from it here.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from course_utils.paths import PROJECT_ROOT

#: Where the bootstrap clones the course on a Colab machine.
COLAB_COURSE_DIR = "/content/course"
#: Where Google Drive is mounted on Colab.
DRIVE_MOUNT_POINT = "/content/drive"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository_url() -> str:
    """The course repository's address, read from ``pyproject.toml`` (the one place it is written)."""
    pyproject = PROJECT_ROOT / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    match = re.search(r'^\s*Repository\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
    if not match:
        raise RuntimeError(f"{pyproject} has no 'Repository = \"...\"' line under [project.urls].")
    return match.group(1).rstrip("/")


def colab_url(notebook: str | Path, *, branch: str = "main") -> str:
    """The address that opens ``notebook`` (a path inside the repository) in Google Colab."""
    relative = Path(notebook)
    if relative.is_absolute():
        relative = relative.resolve().relative_to(PROJECT_ROOT)
    owner_repo = re.sub(r"^https://github\.com/", "", repository_url())
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{relative.as_posix()}"


def badge_markdown(notebook: str | Path) -> str:
    """The *Open in Colab* badge for ``notebook``, as Markdown."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook)})"


def bootstrap_source() -> str:
    """Plain Python stamped at the top of every Setup cell: on Colab it clones and installs the course.

    It must run before ``course_utils`` can be imported, so it uses nothing but the standard library.
    Elsewhere it only makes sure the repository's top folder is importable.
    """
    url = repository_url()
    return f'''\
# --- course bootstrap (stamped by tools/stamp_notebooks.py: edit the tool, not this block) ---
import os
import subprocess
import sys

COURSE_REPOSITORY = "{url}"
if "google.colab" in sys.modules:  # on Colab: fetch the course once, then work inside it
    if not os.path.isdir("{COLAB_COURSE_DIR}"):
        subprocess.run(["git", "clone", "--depth", "1", COURSE_REPOSITORY, "{COLAB_COURSE_DIR}"], check=True)
        # Colab already has TensorFlow and the other libraries: install only the course's helpers.
        install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "{COLAB_COURSE_DIR}"]
        subprocess.run(install, check=True)  # a failed install stops here, with pip's message above
    os.chdir("{COLAB_COURSE_DIR}/notebooks")
if os.path.isdir("../course_utils") and os.path.abspath("..") not in sys.path:
    sys.path.insert(0, os.path.abspath(".."))  # the course's helpers, even without `pip install -e .`
# --- end of course bootstrap ---'''


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def enable_widgets() -> bool:
    """Switch on Colab's custom widget manager so ipywidgets sliders work; a no-op elsewhere."""
    if not in_colab():
        return False
    from google.colab import output  # type: ignore[import-not-found]

    output.enable_custom_widget_manager()
    return True


def use_drive_for_runs(folder: str = "dl-image-course/runs") -> Path | None:
    """On Colab, mount Google Drive and keep ``runs/`` (checkpoints, logs) there so they survive a disconnect.

    Returns the Drive folder, or None outside Colab (where ``runs/`` stays in the repository).
    """
    if not isinstance(folder, str) or not folder.strip() or Path(folder).is_absolute():
        raise ValueError(
            f"folder must be a path inside your Drive such as 'dl-image-course/runs'; got {folder!r}."
        )
    if not in_colab():
        return None
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount(DRIVE_MOUNT_POINT)
    target = Path(DRIVE_MOUNT_POINT) / "MyDrive" / folder
    target.mkdir(parents=True, exist_ok=True)
    os.environ["COURSE_RUNS_DIR"] = str(target)
    return target
