"""Settings for every test run, unit tests and notebook runs alike.

Notebooks run in the ``smoke`` profile, never touch the network and keep TensorFlow's native log
quiet; the kernels nbval starts inherit this environment. ``COURSE_PROFILE=cpu make test`` still
runs the notebooks in another profile on purpose.
"""

import os
import shutil
import tempfile

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ["COURSE_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning in kernels

# What the notebooks write during tests (models, checkpoints) goes to a throw-away folder, so a test run
# never replaces the models a learner trained under runs/.
_TEST_RUNS = tempfile.mkdtemp(prefix="course-test-runs-")
os.environ["COURSE_RUNS_DIR"] = _TEST_RUNS


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TEST_RUNS, ignore_errors=True)

# The fixture notebooks exist to test the notebook tools (and one is broken on purpose); nbval skips them.
collect_ignore_glob = ["tests/fixtures/*.ipynb"]
