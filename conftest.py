"""Settings for every test run, unit tests and notebook runs alike.

Notebooks run in the ``smoke`` profile, never touch the network and keep TensorFlow's native log
quiet; the kernels nbval starts inherit this environment. ``COURSE_PROFILE=cpu make test`` still
runs the notebooks in another profile on purpose.
"""

import os

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ["COURSE_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning in kernels

# The fixture notebooks exist to test the notebook tools (and one is broken on purpose); nbval skips them.
collect_ignore_glob = ["tests/fixtures/*.ipynb"]
