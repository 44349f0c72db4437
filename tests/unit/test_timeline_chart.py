"""Build timeline charts: bars, positions, colours, legend and labels, on synthetic builds."""

from __future__ import annotations

import io

import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

from helpers.ui import charts
from helpers.build import BuildResult, StepResult

MOUNT_BUILD = ("RUN --mount=type=cache,target=/go/pkg/mod     --mount=type=cache,target=/root/"
               ".cache/go-build     CGO_ENABLED=0 GOOS=linux go build -trimpath       "
               "-ldflags=\"-s -w -X main.version=dev\"       -o /out/server ./cmd/server")


def buildkit_cold() -> BuildResult:
    steps = [
        StepResult(1, "FROM docker.io/library/golang:1.22", 0.0, False, "build", 0.2),
        StepResult(2, "WORKDIR /src", 0.0, True, "build", 0.2),
        StepResult(3, "COPY go.mod go.sum ./", 0.0, False, "build", 0.2),
        StepResult(4, "RUN --mount=type=cache,target=/go/pkg/mod     go mod download", 0.2,
                   False, "build", 0.2),
        StepResult(5, "COPY . .", 0.0, False, "build", 0.45),
        StepResult(6, MOUNT_BUILD, 14.7, False, "build", 0.45),
        StepResult(7, "COPY --from=build /out/server /server", 0.0, False, "stage-1", 15.1),
    ]
    return BuildResult("t", "sha256:" + "1" * 64, steps, [], 15.2, "buildkit")


def buildkit_edit() -> BuildResult:
    steps = [
        StepResult(1, "FROM docker.io/library/golang:1.22", 0.0, False, "build", 0.18),
        StepResult(8, "COPY . .", 0.0, False, "build", 0.18),       # printed after step 2..4
        StepResult(2, "WORKDIR /src", 0.0, True, "build", 0.18),
        StepResult(6, MOUNT_BUILD, 0.4, False, "build", 0.19),
        StepResult(7, "COPY --from=build /out/server /server", 0.0, True, "stage-1", 0.6),
    ]
    return BuildResult("t", "sha256:" + "2" * 64, steps, [], 0.65, "buildkit")


def classic_edit() -> BuildResult:
    steps = [
        StepResult(1, "FROM golang:1.22 AS build", 0.0, False, "", 0.05),
        StepResult(2, "RUN go mod download", 0.01, True, "", 0.05),
        StepResult(3, "COPY . .", 0.1, False, "", 0.06),
        StepResult(4, "RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -o /out/server "
                      "./cmd/server", 20.0, False, "", 0.16),
    ]
    return BuildResult("t", "sha256:" + "3" * 64, steps, [], 20.3, "classic")


def labels_top_to_bottom(ax) -> list[str]:
    x = ax.get_xlim()[0]
    ticks = [(ax.transData.transform((x, label.get_position()[1]))[1], label.get_text())
             for label in ax.get_yticklabels()]
    return [text for _, text in sorted(ticks, reverse=True)]


def bars_top_to_bottom(ax):
    return sorted(ax.patches, key=lambda bar: ax.transData.transform(
        (0, bar.get_y() + bar.get_height() / 2))[1], reverse=True)


def legend_texts(fig) -> list[str]:
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def test_one_bar_per_step_at_its_start_and_duration():
    result = buildkit_cold()
    fig = charts.build_timeline(result, "cold build")
    ax = fig.axes[0]
    bars = bars_top_to_bottom(ax)
    assert len(bars) == len(result.steps) == 7
    xmax = ax.get_xlim()[1]
    minimum = xmax * charts.TIMELINE_MIN_FRACTION
    for bar, step in zip(bars, result.steps):  # already in start order
        assert bar.get_x() == pytest.approx(step.started_s)
        assert bar.get_width() == pytest.approx(max(step.duration_s, minimum))
        assert bar.get_width() > 0
    assert bars[5].get_width() == pytest.approx(14.7)
    assert ax.get_xlim()[0] == 0 and xmax >= 15.2


def test_colours_mark_executed_cached_and_from_lines():
    fig = charts.build_timeline(buildkit_cold(), "cold build")
    colors = [to_hex(bar.get_facecolor()) for bar in bars_top_to_bottom(fig.axes[0])]
    executed, cached, base = (charts.TIMELINE_COLORS[k] for k in ("executed", "cached", "base"))
    assert colors == [base, cached, executed, executed, executed, executed, executed]
    assert len({executed, cached, base}) == 3


def test_legend_lists_the_kinds_shown():
    fig = charts.build_timeline(buildkit_cold(), "cold build")
    assert legend_texts(fig) == ["executed (ran)", "cached (reused)",
                                 "FROM (base image / stage)"]
    colors = [to_hex(handle.get_facecolor()) for legend in fig.legends
              for handle in legend.legend_handles]
    assert colors == [charts.TIMELINE_COLORS[k] for k in ("executed", "cached", "base")]
    only_executed = BuildResult("t", "", [StepResult(1, "RUN true", 1.0, False)], [], 1.0)
    assert legend_texts(charts.build_timeline(only_executed, "x")) == ["executed (ran)"]


def test_labels_have_stages_no_mount_flags_and_are_short():
    ax = charts.build_timeline(buildkit_cold(), "cold build").axes[0]
    labels = labels_top_to_bottom(ax)
    assert labels[0] == "[build] FROM docker.io/library/golang:1.22"
    assert labels[3] == "[build] RUN go mod download"
    assert labels[5].startswith("[build] RUN go build -trimpath")
    assert "--mount" not in labels[5] and "CGO_ENABLED" not in labels[5]
    assert labels[6] == "[stage-1] COPY --from=build /out/server /server"
    assert all(len(label) <= charts.TIMELINE_LABEL_CHARS for label in labels)
    assert labels[5].endswith("\u2026")


def test_classic_labels_have_no_stage_prefix():
    labels = labels_top_to_bottom(charts.build_timeline(classic_edit(), "edit").axes[0])
    assert labels[:3] == ["FROM golang:1.22 AS build", "RUN go mod download", "COPY . ."]
    assert labels[3] == "RUN go build -trimpath -o /out/server ./cmd/ser\u2026"
    assert len(labels[3]) == charts.TIMELINE_LABEL_CHARS


def test_steps_are_ordered_by_start_time_then_number():
    labels = labels_top_to_bottom(charts.build_timeline(buildkit_edit(), "edit").axes[0])
    assert labels == ["[build] FROM docker.io/library/golang:1.22", "[build] WORKDIR /src",
                      "[build] COPY . .", labels[3], "[stage-1] COPY --from=build "
                      "/out/server /server"]
    assert labels[3].startswith("[build] RUN go build")


def test_axes_title_annotations_and_end_line():
    fig = charts.build_timeline(classic_edit(), "code-edit rebuild")
    ax = fig.axes[0]
    assert ax.get_title() == "code-edit rebuild"
    assert ax.get_xlabel() == "seconds since build start"
    notes = [text.get_text() for text in ax.texts]
    assert "cached" in notes and "20.0 s" in notes and "0.1 s" in notes
    assert "done 20.3 s" in notes
    assert any(line.get_xdata()[0] == pytest.approx(20.3) for line in ax.get_lines())


def test_stacked_timelines_share_the_x_axis():
    builds = {"(b) reference": classic_edit(), "(c) cache mounts": buildkit_edit()}
    fig = charts.build_timelines(builds, "code-edit rebuild")
    assert len(fig.axes) == 2
    top, bottom = fig.axes
    assert top.get_xlim() == bottom.get_xlim()
    assert top.get_xlim()[1] >= 20.3
    assert top.get_title() == "(b) reference: 20.3 s"
    assert bottom.get_title() == "(c) cache mounts: 0.7 s"
    assert fig._suptitle.get_text() == "code-edit rebuild"
    assert [len(ax.patches) for ax in fig.axes] == [4, 5]
    assert all(ax.get_xlabel() == "seconds since build start" for ax in fig.axes)
    assert legend_texts(fig) == ["executed (ran)", "cached (reused)",
                                 "FROM (base image / stage)"]


def test_bad_input_raises():
    empty = BuildResult("t", "", [], [], 0.0)
    with pytest.raises(ValueError):
        charts.build_timeline(empty, "x")
    with pytest.raises(ValueError):
        charts.build_timelines({}, "x")
    with pytest.raises(ValueError):
        charts.build_timelines({"a": empty}, "x")


@pytest.mark.parametrize("make", [
    lambda: charts.build_timeline(buildkit_cold(), "cold"),
    lambda: charts.build_timelines({"a": buildkit_cold(), "b": classic_edit()}, "both"),
])
def test_renders_to_png_with_readable_fonts(make):
    fig = make()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text() and t.get_fontsize() < 10]
    assert small == []
