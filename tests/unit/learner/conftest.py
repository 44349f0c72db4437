"""Learner state goes to a temporary folder: tests never write under the repository's out/."""

import pytest


@pytest.fixture(autouse=True)
def learner_out(tmp_path, monkeypatch):
    monkeypatch.setattr("helpers.learner.state.OUT_DIR", tmp_path / "out")
    monkeypatch.setenv("KIT_NAMESPACE", "alice")
    return tmp_path / "out"
