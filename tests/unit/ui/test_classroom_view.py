"""helpers.ui.classroom_view: the class report under a Refresh button, and without a folder.

The displays are captured (no kernel here): what the notebook would show is what was handed
to ``display`` and ``show_figure``. The nbclient and browser runs of the instructor's
notebook are in tests/notebooks and tests/browser.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.figure import Figure

from helpers.classroom import records
from helpers.classroom.classreport import class_report_text, read_class_report
from helpers.ui import classroom_view
from tests.unit.classroom.conftest import chosen_report, write_at


@pytest.fixture
def room(tmp_path):
    folder = tmp_path / "room"
    folder.mkdir()
    write_at(folder, "ana", chosen_report(failing=("size",)), 0)
    (folder / "stray.txt").write_text("not a record")
    return folder


def test_text_mode_prints_the_class_report_and_refresh_reads_the_folder_again(room):
    out = io.StringIO()
    view = classroom_view.ClassroomView(room, frontend="text", stream=out)
    assert out.getvalue().strip() == class_report_text(read_class_report(room))
    write_at(room, "ben", chosen_report(), 5)
    view.button.click()  # what the button does in JupyterLab
    assert view.report.learners() == ["ana", "ben"]
    assert "2 learner(s)" in out.getvalue().split("class report of")[-1]


def test_without_kit_results_dir_it_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv(records.RESULTS_ENV, raising=False)
    out = io.StringIO()
    view = classroom_view.ClassroomView(frontend="text", stream=out)
    assert "KIT_RESULTS_DIR is not set" in out.getvalue()
    assert "how to set it:" in out.getvalue() and "KIT_RESULTS_DIR=" in out.getvalue()
    assert view.problem is not None and view.report.gradebook().empty


class Captured:
    """Everything the view hands to the notebook, in order."""

    def __init__(self, monkeypatch):
        self.shown = []
        monkeypatch.setattr(classroom_view, "display", lambda obj, **kw: self.shown.append(obj))
        monkeypatch.setattr(classroom_view, "show_figure", self.shown.append)
        monkeypatch.setattr(classroom_view, "show_notice",
                            lambda text, title: self.shown.append(f"[{title}] {text}"))
        monkeypatch.setattr("helpers.ui.widgets.display", lambda *a, **kw: None)

    def of(self, kind):
        return [obj for obj in self.shown if isinstance(obj, kind)]


def test_notebook_mode_shows_the_table_both_charts_and_the_skipped_files(room, monkeypatch,
                                                                         capsys):
    captured = Captured(monkeypatch)
    view = classroom_view.ClassroomView(room, frontend="notebook")
    (table,) = captured.of(pd.DataFrame)
    assert list(table.index) == ["ana"] and table.loc["ana", "size"] == "fail"
    titles = [fig.axes[0].get_title() for fig in captured.of(Figure)]
    assert titles == ["Learners passing each check", "Latest status: learners x checks"]
    assert "stray.txt: foreign file" in capsys.readouterr().out
    assert "1 learner(s)" in view.text_summary()


def test_notebook_mode_without_a_folder_shows_a_notice(tmp_path, monkeypatch):
    captured = Captured(monkeypatch)
    classroom_view.ClassroomView(tmp_path / "missing", frontend="notebook")
    (notice,) = [obj for obj in captured.shown if isinstance(obj, str)]
    assert notice.startswith("[No results folder]") and "does not exist" in notice
