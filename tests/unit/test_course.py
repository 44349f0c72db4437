"""Course, on a fake client: engine loss and Ctrl-C end in short messages, not tracebacks."""

from __future__ import annotations

import pytest
import requests

from helpers.config import SOLUTIONS_DIR
from helpers.course import Course, engine_calls
from helpers.errors import Interrupted, KitError
from helpers.lessons import cache_lab
from helpers.ui.widgets import BuildProgress, install_error_display, show_error
from tests.unit.fakes import FakeClient
from tests.unit.test_recorded import synthetic


class VanishingImages:
    """``client.images`` of an engine that stopped answering."""

    def list(self, **kwargs):
        raise requests.exceptions.ConnectionError("Connection refused")

    def get(self, name):
        raise requests.exceptions.ConnectionError("Connection refused")


def test_engine_gone_mid_session_returns_none_and_says_so(capsys):
    client = FakeClient()
    client.images = VanishingImages()
    kit = Course(client)
    assert kit.image_exists("exercise2-optimized") is False
    assert kit.summary("exercise2-optimized") is None
    shown = capsys.readouterr().err
    assert shown.count("stopped answering") == 2
    assert "rerun this cell" in shown and "Traceback" not in shown


def test_ctrl_c_becomes_interrupted_with_a_short_message():
    with pytest.raises(Interrupted) as caught:
        with engine_calls("build"):
            raise KeyboardInterrupt
    assert "build was interrupted" in caught.value.message
    assert isinstance(caught.value, KitError)


def test_interrupted_is_not_swallowed_by_course_methods():
    class InterruptingImages:
        def get(self, name):
            raise KeyboardInterrupt

    client = FakeClient()
    client.images = InterruptingImages()
    with pytest.raises(Interrupted):
        Course(client).summary("exercise2-optimized")


def test_error_display_is_installed_only_in_a_kernel(monkeypatch):
    installed = {}

    class Shell:
        def set_custom_exc(self, types, handler):
            installed["types"], installed["handler"] = types, handler

    monkeypatch.setattr("helpers.ui.widgets.get_ipython", lambda: None)
    assert install_error_display() is False
    monkeypatch.setattr("helpers.ui.widgets.get_ipython", lambda: Shell())
    assert install_error_display() is True
    assert installed["types"] == (KitError,)
    error = Interrupted("Stopped: the build was interrupted.", "Rerun the cell.")
    assert installed["handler"](None, Interrupted, error, None) == []


def test_cache_lab_goes_through_course_with_its_widgets(monkeypatch):
    """Notebook 04 calls Course, which brings the widget factory and the error box."""
    calls = []
    monkeypatch.setattr(cache_lab, "notebook_matrix",
                        lambda client, variants, context, **display:
                        calls.append((client, variants, display)) or ["measured"])
    client = FakeClient()
    assert Course(client).cache_matrix() == ["measured"]
    [(used, variants, display)] = calls
    assert used is client and variants == cache_lab.VARIANTS
    assert display == {"progress": BuildProgress, "on_error": show_error}


def test_cache_lab_without_an_engine_says_so_and_measures_nothing(capsys):
    assert Course(None).cache_matrix() == []
    assert "no Docker engine" in capsys.readouterr().out


@pytest.mark.parametrize("failure, raised", [
    (requests.exceptions.ConnectionError("Connection refused"), None),
    (KeyboardInterrupt(), Interrupted),
])
def test_cache_lab_engine_loss_and_stop_behave_as_everywhere(monkeypatch, capsys, failure,
                                                             raised):
    def run(*args, **kwargs):
        raise failure

    monkeypatch.setattr(cache_lab, "notebook_matrix", run)
    if raised is None:
        assert Course(FakeClient()).cache_matrix() == []  # the tables below still render
        assert "stopped answering" in capsys.readouterr().err
    else:
        with pytest.raises(raised, match="cache lab was interrupted"):
            Course(FakeClient()).cache_matrix()


def test_replayed_results_come_through_the_same_dispatch(capsys):
    kit = Course(None, synthetic())
    assert kit.summary("never-built") is None
    assert "was not built in this session" in capsys.readouterr().out
    assert kit.build(SOLUTIONS_DIR / "Dockerfile.multistage", "ref") is not None
    assert kit.summary("ref").recorded and kit.breakdown("ref").recorded
    assert list(kit.history("ref")["instruction"]) == ["COPY <file> /server"]
    assert kit.health("ref").recorded


def test_a_replayed_run_failure_shows_the_error_and_the_logs(capsys):
    kit = Course(None, synthetic())
    kit.build("Dockerfile.multistage", "starter")  # the synthetic starter's run failed
    capsys.readouterr()
    assert kit.health("starter") is None
    shown = capsys.readouterr()
    assert "exit code 1" in shown.err
    assert "container logs:\nexec /server: no such file" in shown.out
