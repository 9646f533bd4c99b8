"""Where the course keeps things on disk: the project root, ``runs/`` and the data directory."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's top folder (the one holding ``notebooks/`` and ``course_utils/``).
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def runs_dir(*parts: str) -> Path:
    """Folder under ``runs/`` for everything a lesson writes (models, logs, samples); lesson 00.

    ``COURSE_RUNS_DIR`` overrides the location (the Colab Drive option sets it). The folder is created.
    """
    root = Path(os.environ.get("COURSE_RUNS_DIR") or PROJECT_ROOT / "runs")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
