"""The package metadata, the conda environment and the README stay in agreement."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower().replace("_", "-")


def pyproject_requirements() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"]) + list(meta["optional-dependencies"]["test"])
    return {_normalise(r) for r in reqs}


def environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml: expected exactly one `pip:` section"
    return {_normalise(r) for r in pip_sections[0]}


def test_environment_yml_matches_pyproject():
    in_pyproject, in_env = pyproject_requirements(), environment_requirements()
    assert in_pyproject - in_env == set(), f"in pyproject.toml but not environment.yml: {sorted(in_pyproject - in_env)}"
    assert in_env - in_pyproject == set(), f"in environment.yml but not pyproject.toml: {sorted(in_env - in_pyproject)}"


def test_environment_yml_pins_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_torch_is_a_range_not_a_pin():
    assert any(r.startswith("torch>=") for r in pyproject_requirements())
    assert not any(r.startswith("torch==") for r in pyproject_requirements())


def readme_commands() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    found = dict(re.findall(r"<!-- (open|test)-command -->\s*```(?:bash|sh)?\n(.+?)\n```", text, flags=re.S))
    return found


def test_readme_gives_exactly_two_commands():
    commands = readme_commands()
    assert set(commands) == {"open", "test"}, "README.md must mark the open-command and test-command blocks"
    for name, command in commands.items():
        assert "\n" not in command.strip(), f"the {name} command must be one line"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command test" in ci, ".ci/run must run the test command read from README.md"


def test_nbgrader_config_points_at_solutions_and_exercises():
    text = (ROOT / "nbgrader_config.py").read_text()
    assert 'source_directory = "solutions"' in text
    assert 'release_directory = "exercises"' in text


def test_console_entry_point_lists_commands():
    out = subprocess.run([sys.executable, "-m", "course_lib", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    for command in ("doctor", "progress", "export-anki"):
        assert command in out.stdout
