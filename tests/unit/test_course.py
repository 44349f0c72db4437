"""Course, on a fake client: engine loss and Ctrl-C end in short messages, not tracebacks."""

from __future__ import annotations

import pytest
import requests

from helpers.course import Course, engine_calls
from helpers.errors import Interrupted, KitError
from helpers.ui.widgets import install_error_display
from tests.unit.fakes import FakeClient


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
