from helpers.learner.state import clear_learner_state, learner_dir, read_state, write_state


def test_each_namespace_has_its_own_folder(learner_out, monkeypatch):
    assert learner_dir() == learner_out / "learners" / "alice"
    monkeypatch.setenv("KIT_NAMESPACE", "")
    assert learner_dir() == learner_out / "learners" / "default"


def test_write_then_read_back_and_no_temporary_file_left(tmp_path):
    path = tmp_path / "deep" / "hints.json"
    write_state(path, {"files": {"a": {"size": {"failures": 2}}}})
    assert read_state(path) == {"files": {"a": {"size": {"failures": 2}}}}
    assert [p.name for p in path.parent.iterdir()] == ["hints.json"]


def test_missing_damaged_or_foreign_state_reads_as_empty(tmp_path):
    assert read_state(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert read_state(tmp_path / "bad.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_state(tmp_path / "list.json") == {}


def test_clear_removes_only_this_learners_folder(learner_out, monkeypatch):
    write_state(learner_dir() / "hints.json", {"x": 1})
    monkeypatch.setenv("KIT_NAMESPACE", "bob")
    write_state(learner_dir() / "hints.json", {"y": 1})
    monkeypatch.setenv("KIT_NAMESPACE", "alice")
    assert clear_learner_state() is True
    assert not (learner_out / "learners" / "alice").exists()
    assert (learner_out / "learners" / "bob" / "hints.json").exists()
    assert clear_learner_state() is False
