"""environment.yml (conda) must list exactly what pyproject.toml asks for, each with its lesson."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject_requirements() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    wanted = {}
    for block in re.findall(r"(?:^dependencies|^dev) = \[(.*?)\]", text, flags=re.S | re.M):
        for requirement in re.findall(r'"([^"]+)"', block):
            name = re.split(r"[<>=!~\[]", requirement, maxsplit=1)[0]
            wanted[name.lower()] = requirement.replace(" ", "")
    return wanted


def conda_pip_lines() -> list[str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    [pip_section] = [item["pip"] for item in environment["dependencies"] if isinstance(item, dict)]
    return pip_section


def test_environment_mirrors_pyproject():
    listed = {}
    for line in conda_pip_lines():
        if line.startswith("-e"):
            continue
        name = re.split(r"[<>=!~\[]", line, maxsplit=1)[0]
        listed[name.lower()] = line.replace(" ", "")
    wanted = pyproject_requirements()
    assert wanted, "no dependencies found in pyproject.toml"
    missing = sorted(set(wanted) - set(listed))
    extra = sorted(set(listed) - set(wanted))
    assert not missing, f"environment.yml lacks {missing}: add them with the same bounds as pyproject.toml"
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not ask for"
    differ = {name: (wanted[name], listed[name]) for name in wanted if wanted[name] != listed[name]}
    assert not differ, f"bounds differ (pyproject.toml, environment.yml): {differ}"


def test_environment_installs_the_course_package():
    assert "-e ." in conda_pip_lines()


def test_every_conda_entry_says_why():
    lines = (ROOT / "environment.yml").read_text().splitlines()
    entries = [line for line in lines if re.match(r"\s+- [a-z]", line) and "<" in line and "python" not in line]
    unexplained = [line.strip() for line in entries if "#" not in line]
    assert not unexplained, f"say which lesson needs: {unexplained}"


def test_python_bounds_agree():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.10,<3.13"' in text
    assert "python>=3.10,<3.13" in (ROOT / "environment.yml").read_text()
