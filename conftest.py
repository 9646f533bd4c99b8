"""Settings for every test run, unit tests and notebook runs alike.

Notebooks run in the ``smoke`` profile, never touch the network and keep TensorFlow's native log
quiet; the kernels nbval starts inherit this environment. ``COURSE_PROFILE=cpu make test`` still
runs the notebooks in another profile on purpose.
"""

import os
import shutil
import tempfile

import pytest

os.environ.setdefault("COURSE_PROFILE", "smoke")
os.environ["COURSE_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning in kernels

# What the notebooks write during tests (models, checkpoints) goes to a throw-away folder, so a test run
# never replaces the models a learner trained under runs/. benchmarks/lesson_time.py runs the lessons one
# pytest process each and names, in COURSE_SHARED_RUNS_DIR, a folder they share and keep, as a learner's runs/.
_SHARED_RUNS = os.environ.get("COURSE_SHARED_RUNS_DIR")
_TEST_RUNS = _SHARED_RUNS or tempfile.mkdtemp(prefix="course-test-runs-")
os.environ["COURSE_RUNS_DIR"] = _TEST_RUNS


def pytest_sessionfinish(session, exitstatus):
    if not _SHARED_RUNS:
        shutil.rmtree(_TEST_RUNS, ignore_errors=True)

# The fixture notebooks exist to test the notebook tools (and one is broken on purpose); nbval skips them.
collect_ignore_glob = ["tests/fixtures/*.ipynb"]


@pytest.fixture
def hardware_runs_any_precision(monkeypatch):
    """Pretend this machine runs every precision policy fast, as a GPU with tensor cores does.

    ``runtime.training_precision`` then builds models in whatever policy a profile asks for (float16 included,
    which it never chooses on a CPU), so the gpu code path can be tested here. The global policy is float32
    again afterwards.
    """
    import keras

    from course_utils import runtime

    monkeypatch.setattr(runtime, "choose_precision", lambda requested, gpus, **kwargs: requested or "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")
