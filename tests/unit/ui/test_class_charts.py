"""helpers.ui.class_charts: the class report's charts, checked on the returned Figure.

The tables come from a real ClassReport over records the kit's writer made, so the charts
are checked against the figures an instructor would read in the table beside them.
"""

from __future__ import annotations

import pytest
from matplotlib.colors import to_hex

from helpers.classroom.classreport import read_class_report
from helpers.grading.checks import REQUIRED
from helpers.ui import class_charts
from tests.unit.classroom.conftest import chosen_report, write_at


@pytest.fixture
def report(tmp_path):
    write_at(tmp_path, "ana", chosen_report(failing=("size",)), 0)
    write_at(tmp_path, "ben", chosen_report(), 1)
    write_at(tmp_path, "carla", chosen_report(failing=("size", "runs"), advice=()), 2)
    return read_class_report(tmp_path)


def test_pass_rate_bars_are_the_shares_with_counts_and_required_colours(report):
    rates = report.pass_rates()
    fig = class_charts.pass_rate_chart(rates)
    ax = fig.axes[0]
    bars = ax.patches
    assert [round(bar.get_width(), 6) for bar in bars] == [round(s, 6) for s in rates["share"]]
    by_label = {label.get_text(): bar for label, bar in
                zip(sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1]), bars)}
    assert by_label["size"].get_width() == pytest.approx(1 / 3)
    assert by_label["runs"].get_width() == pytest.approx(2 / 3)
    assert to_hex(by_label["runs"].get_facecolor()) == class_charts.REQUIRED_COLOR
    assert to_hex(by_label["lint (advice)"].get_facecolor()) == class_charts.ADVICE_COLOR
    counts = [t.get_text() for t in ax.texts]
    assert counts.count("1/3") == 1 and "3/3" in counts
    assert "% of 3 learner(s)" in ax.get_xlabel() and ax.get_title()


def test_the_grid_has_one_cell_per_learner_and_check_coloured_by_status(report):
    statuses = report.statuses(advice=True)
    fig = class_charts.class_grid(statuses)
    ax = fig.axes[0]
    values = ax.images[0].get_array()
    order = list(class_charts.STATUS_COLORS)
    assert values.shape == (3, len(statuses.columns))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ana", "ben", "carla"]
    assert [t.get_text() for t in ax.get_xticklabels()][:len(REQUIRED)] == list(REQUIRED)
    size, runs = statuses.columns.get_loc("size"), statuses.columns.get_loc("runs")
    assert order[values[0, size]] == "fail" and order[values[1, size]] == "pass"
    assert order[values[2, runs]] == "fail"
    lint = statuses.columns.get_loc("lint")
    assert order[values[2, lint]] == "-"  # carla's records never ran the advice checks
    assert len(ax.texts) == statuses.size
    assert "learner" in ax.get_ylabel() and ax.get_title()


def test_no_records_draws_a_titled_empty_chart_not_an_error(tmp_path):
    empty = read_class_report(tmp_path)
    for fig in (class_charts.pass_rate_chart(empty.pass_rates()),
                class_charts.class_grid(empty.statuses())):
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert texts == ["no check records yet"] and fig.axes[0].get_title()
