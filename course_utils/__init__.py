"""Helpers shared by the notebooks of *Deep Learning for Image Generation and Restoration*.

Importing the package is cheap and has no side effects: TensorFlow is imported only by the
modules that need it, and seeding, logging and plot style happen when a notebook calls
:func:`course_utils.setup` in its Setup cell.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "get_profile", "setup", "training_precision"]


def __getattr__(name: str):
    # Lazy re-exports keep `import course_utils` fast (no TensorFlow import).
    if name == "setup":
        from course_utils.runtime import setup

        return setup
    if name == "training_precision":
        from course_utils.runtime import training_precision

        return training_precision
    if name == "get_profile":
        from course_utils.profiles import get_profile

        return get_profile
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
