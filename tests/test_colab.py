"""Colab support, exercised with a fake ``google.colab`` module (the real one exists only on Colab)."""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from course_utils import colab


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """Install a fake google.colab with the two services the course uses, recording their calls."""
    calls = []
    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    output = types.ModuleType("google.colab.output")
    drive = types.ModuleType("google.colab.drive")
    output.enable_custom_widget_manager = lambda: calls.append("widgets")

    def mount(point):
        calls.append(("mount", point))
        Path(point, "MyDrive").mkdir(parents=True, exist_ok=True)

    drive.mount = mount
    google.colab = google_colab
    google_colab.output = output
    google_colab.drive = drive
    for name, module in {
        "google": google,
        "google.colab": google_colab,
        "google.colab.output": output,
        "google.colab.drive": drive,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(colab, "DRIVE_MOUNT_POINT", str(tmp_path / "drive"))
    monkeypatch.delenv("COURSE_RUNS_DIR", raising=False)
    return calls


def test_repository_url_comes_from_pyproject():
    text = (colab.PROJECT_ROOT / "pyproject.toml").read_text()
    url = colab.repository_url()
    assert url.startswith("https://github.com/")
    assert f'Repository = "{url}"' in text


def test_badge_links_the_notebook_on_colab():
    badge = colab.badge_markdown("notebooks/00_welcome_and_setup.ipynb")
    owner_repo = colab.repository_url().removeprefix("https://github.com/")
    assert badge.startswith("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]")
    assert f"github/{owner_repo}/blob/main/notebooks/00_welcome_and_setup.ipynb)" in badge


def test_not_colab_by_default():
    assert not colab.in_colab()
    assert colab.enable_widgets() is False
    assert colab.use_drive_for_runs() is None


def test_widgets_and_drive_on_fake_colab(fake_colab, tmp_path):
    assert colab.in_colab()
    assert colab.enable_widgets() is True
    folder = colab.use_drive_for_runs("course/runs")
    assert folder == tmp_path / "drive" / "MyDrive" / "course" / "runs"
    assert folder.is_dir()
    assert os.environ["COURSE_RUNS_DIR"] == str(folder)
    assert fake_colab == ["widgets", ("mount", str(tmp_path / "drive"))]


@pytest.mark.parametrize("bad", ["", "/abs/path", None])
def test_drive_folder_must_be_relative(bad):
    with pytest.raises(ValueError, match="inside your Drive"):
        colab.use_drive_for_runs(bad)


def test_bootstrap_clones_and_installs_on_colab(fake_colab, monkeypatch):
    commands, options, moves = [], [], []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: commands.append(cmd) or options.append(kw))
    monkeypatch.setattr(os, "chdir", moves.append)
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: False if p == colab.COLAB_COURSE_DIR else real_isdir(p))
    exec(compile(colab.bootstrap_source(), "<bootstrap>", "exec"), {})
    assert commands[0] == ["git", "clone", "--depth", "1", colab.repository_url(), colab.COLAB_COURSE_DIR]
    assert commands[1][1:] == ["-m", "pip", "install", "-q", "--no-deps", "-e", colab.COLAB_COURSE_DIR]
    assert all(kw.get("check") is True for kw in options), "a failed clone or install must stop the notebook"
    assert moves == [f"{colab.COLAB_COURSE_DIR}/notebooks"]


def test_bootstrap_stops_when_the_install_fails(fake_colab, monkeypatch):
    def run(cmd, check=False, **kw):
        if "pip" in cmd and check:
            raise subprocess.CalledProcessError(1, cmd)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(os, "chdir", lambda path: None)
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: False if p == colab.COLAB_COURSE_DIR else real_isdir(p))
    with pytest.raises(subprocess.CalledProcessError):
        exec(compile(colab.bootstrap_source(), "<bootstrap>", "exec"), {})


def test_bootstrap_does_nothing_but_find_the_helpers_elsewhere(monkeypatch, tmp_path):
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: commands.append(cmd))
    monkeypatch.chdir(colab.PROJECT_ROOT / "notebooks")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(colab.PROJECT_ROOT)])
    exec(compile(colab.bootstrap_source(), "<bootstrap>", "exec"), {})
    assert commands == []
    assert str(colab.PROJECT_ROOT) in sys.path


def test_setup_switches_on_colab_widgets(fake_colab):
    from course_utils import runtime

    runtime.setup(profile="smoke", report=False)
    assert "widgets" in fake_colab
