"""helpers.ui.charts: pure functions, checked on the returned Figure without a daemon.

Layer, category and size charts on synthetic frames, then build timelines on synthetic
builds (bars, positions, colours, legend and labels).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.text import Text

from helpers.build import BuildResult, StepResult
from helpers.ui import charts

BUILD = ("RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /src/server "
         "./cmd/server")
ORIGINAL = pd.DataFrame({
    "instruction": ["(imported base filesystem)", "WORKDIR /src", "COPY go.mod go.sum ./",
                    "RUN go mod download", "COPY . .", BUILD, "EXPOSE map[8080/tcp:{}]",
                    'CMD ["./server"]'],
    "size_bytes": [685_000_000, 0, 42, 0, 17_000, 78_000_000, 0, 0],
})
OPTIMIZED = pd.DataFrame({
    "instruction": ["COPY /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/", "COPY /out/server "
                    "/server", "USER 65532:65532", "EXPOSE map[8080/tcp:{}]",
                    'ENTRYPOINT ["/server"]'],
    "size_bytes": [220_000, 4_850_000, 0, 0, 0],
})
SHORT_BUILD = BUILD[:44] + "\u2026"


def labels_top_to_bottom(ax) -> list[str]:
    """Y tick labels in the order a reader sees them, top first (whatever the axis direction)."""
    x = ax.get_xlim()[0]
    ticks = [(ax.transData.transform((x, label.get_position()[1]))[1], label.get_text())
             for label in ax.get_yticklabels()]
    return [text for _, text in sorted(ticks, reverse=True)]


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def small_fonts(fig) -> list[tuple[str, float]]:
    return [(text.get_text(), text.get_fontsize()) for text in fig.findobj(Text)
            if text.get_visible() and text.get_text() and text.get_fontsize() < 10]


@pytest.mark.parametrize("n, expected", [
    (0, "0 B"), (42, "42 B"), (999, "999 B"), (1000, "1.0 kB"), (12_000, "12 kB"),
    (17_000, "17 kB"), (220_000, "220 kB"), (999_960, "1.0 MB"), (1_500_000, "1.5 MB"),
    (4_850_000, "4.9 MB"), (612_400_000, "612.4 MB"), (2_300_000_000, "2.3 GB"),
    (-1_500, "-1.5 kB"),
])
def test_human_bytes(n, expected):
    assert charts.human_bytes(n) == expected


def test_layer_breakdown_bars_labels_and_annotations():
    fig = charts.layer_breakdown(ORIGINAL, "bytes per step")
    ax = fig.axes[0]
    assert len(ax.patches) == 8
    assert labels_top_to_bottom(ax) == ["(imported base filesystem)", "WORKDIR /src",
                                        "COPY go.mod go.sum ./", "RUN go mod download",
                                        "COPY . .", SHORT_BUILD, "EXPOSE map[8080/tcp:{}]",
                                        'CMD ["./server"]']
    assert len(SHORT_BUILD) == charts.LABEL_MAX_CHARS
    assert ax.get_title() == "bytes per step"
    assert ax.get_xscale() in ("log", "symlog")
    assert "MB" in ax.get_xlabel() and "10^6" in ax.get_xlabel()
    assert "763.0 MB" in ax.get_xlabel()  # sum of the layers
    annotations = texts(ax)
    for expected in ("685.0 MB", "78.0 MB", "17 kB", "42 B"):
        assert expected in annotations
    assert annotations.count("0 B (metadata only)") == 4


def test_layer_breakdown_bar_lengths_and_zero_stubs():
    ax = charts.layer_breakdown(ORIGINAL, "t").axes[0]
    left = ax.get_xlim()[0]
    ends = [bar.get_x() + bar.get_width() for bar in ax.patches]
    assert ends[0] == pytest.approx(685.0)
    assert ends[5] == pytest.approx(78.0)
    assert ends[4] == pytest.approx(0.017)
    stubs = [ends[i] for i in (1, 2, 3, 6, 7)]  # 0 B and 42 B rows
    assert all(end > left * 1.5 for end in stubs)  # visible, not zero-length
    assert len(set(stubs)) == 1 and stubs[0] < ends[4]
    assert ax.patches[1].get_hatch()
    assert not ax.patches[0].get_hatch()


def test_layer_breakdown_highlight_colour():
    layers = ORIGINAL.assign(highlight=ORIGINAL["instruction"] == BUILD)
    ax = charts.layer_breakdown(layers, "t").axes[0]
    colors = [to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert colors[5] == charts.HIGHLIGHT_COLOR
    assert colors.count(charts.HIGHLIGHT_COLOR) == 1
    assert colors[0] == charts.LAYER_COLOR


def test_layer_breakdown_rejects_bad_frames():
    with pytest.raises(ValueError, match="size_bytes"):
        charts.layer_breakdown(pd.DataFrame({"instruction": ["x"]}), "t")
    with pytest.raises(ValueError, match="no rows"):
        charts.layer_breakdown(ORIGINAL.iloc[0:0], "t")


def test_history_side_by_side_shares_the_scale():
    fig = charts.history_side_by_side(ORIGINAL, OPTIMIZED, "single-stage", "multi-stage")
    top, bottom = fig.axes
    assert (top.get_title(), bottom.get_title()) == ("single-stage", "multi-stage")
    assert (len(top.patches), len(bottom.patches)) == (8, 5)
    assert top.get_xlim() == bottom.get_xlim()
    assert top.get_shared_x_axes().joined(top, bottom)
    assert labels_top_to_bottom(bottom) == ["COPY /etc/ssl/certs/ca-certificates.crt /etc\u2026",
                                            *OPTIMIZED["instruction"][1:]]
    assert top.get_position().y0 > bottom.get_position().y1  # left frame drawn first (on top)
    assert labels_top_to_bottom(top)[5] == SHORT_BUILD
    assert "MB" in top.get_xlabel() and "MB" in bottom.get_xlabel()
    assert {"4.9 MB", "220 kB"} <= set(texts(bottom))
    assert texts(bottom).count("0 B (metadata only)") == 3
    assert "685.0 MB" in texts(top)
    # the same byte count lands on the same x in both panels
    assert top.transData.transform((4.85, 0))[0] == pytest.approx(
        bottom.transData.transform((4.85, 0))[0])


CATEGORIES = pd.DataFrame({
    "category": ["Go toolchain", "C compiler", "Debian base", "Go build cache", "Perl",
                 "apt lists", "git", "docs and man pages", "Go module cache", "locales",
                 "the app binary", "app source"],
    "size_bytes": [230_000_000, 150_000_000, 120_000_000, 73_000_000, 48_000_000, 45_000_000,
                   30_000_000, 25_000_000, 12_000_000, 9_000_000, 4_850_000, 17_000],
})


def test_category_breakdown_merges_the_tail_into_other():
    fig = charts.category_breakdown(CATEGORIES, "inside the single-stage image",
                                    total_bytes=763_000_000)
    ax = fig.axes[0]
    assert len(ax.patches) == 10
    labels = labels_top_to_bottom(ax)
    assert labels[:9] == list(CATEGORIES["category"][:9])
    assert labels[9] == "other (3 more)"
    assert ax.get_xscale() == "linear"
    assert "MB" in ax.get_xlabel() and "763.0 MB" in ax.get_xlabel()
    assert ax.get_title() == "inside the single-stage image"
    annotations = texts(ax)
    assert "230.0 MB (30.1%)" in annotations
    assert "13.9 MB (1.8%)" in annotations  # 9 MB + 4.85 MB + 17 kB
    assert ax.patches[0].get_width() == pytest.approx(230.0)
    assert ax.patches[9].get_width() == pytest.approx(13.867)


def test_category_breakdown_small_image_in_kb_and_sorted():
    categories = pd.DataFrame({"category": ["CA bundle", "server binary", "passwd"],
                               "size_bytes": [220_000, 4_850_000, 0]})
    ax = charts.category_breakdown(categories, "inside the multi-stage image").axes[0]
    assert labels_top_to_bottom(ax) == ["server binary", "CA bundle", "passwd"]
    assert {"4.9 MB (95.7%)", "220 kB (4.3%)", "0 B (0.0%)"} <= set(texts(ax))
    tiny = pd.DataFrame({"category": ["CA bundle", "config"], "size_bytes": [220_000, 1_200]})
    ax = charts.category_breakdown(tiny, "tiny").axes[0]
    assert "kB = 10^3 bytes" in ax.get_xlabel()
    assert ax.patches[0].get_width() == pytest.approx(220.0)
    assert "1.2 kB (0.5%)" in texts(ax)


def test_category_breakdown_zero_total_and_long_names():
    long_name = "documentation, man pages and locales under /usr/share (removable)"
    categories = pd.DataFrame({"category": [long_name], "size_bytes": [0]})
    ax = charts.category_breakdown(categories, "empty").axes[0]
    assert texts(ax) == ["0 B (n/a)"]
    assert labels_top_to_bottom(ax) == [long_name[:44] + "\u2026"]


@pytest.mark.parametrize("make", [
    lambda: charts.layer_breakdown(ORIGINAL, "original"),
    lambda: charts.layer_breakdown(OPTIMIZED, "optimized"),
    lambda: charts.history_side_by_side(ORIGINAL, OPTIMIZED, "single", "multi"),
    lambda: charts.category_breakdown(CATEGORIES, "inside"),
], ids=["layers-original", "layers-optimized", "side-by-side", "categories"])
def test_charts_render_to_png_with_readable_fonts(make):
    fig = make()
    assert png_bytes(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    assert small_fonts(fig) == []


# --------------------------------------------------------------------------------------------
# Image size: single-stage vs multi-stage
# --------------------------------------------------------------------------------------------
def test_size_chart_is_log_scaled_with_limit_and_factor():
    fig = charts.size_comparison({"original": 710_000_000, "optimized": 5_130_000})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "MB" in ax.get_xlabel()
    assert any(line.get_xdata()[0] == 15 for line in ax.get_lines())
    texts = [t.get_text() for t in ax.texts]
    assert fig.get_suptitle() == "optimized: 138x smaller than original"
    assert "710.0 MB" in texts and "5.1 MB" in texts


def test_size_chart_texts_do_not_overlap_with_long_namespaced_tags():
    fig = charts.size_comparison({"browser-exercise2-original": 759_920_000,
                                  "browser-exercise2-optimized": 692_600_000,
                                  "browser-exercise2-reference": 5_070_000})
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    boxes = [(t.get_text(), t.get_window_extent(renderer))
             for t in [*ax.texts, ax.title, *fig.texts] if t.get_text()]
    overlapping = [(a, b) for i, (a, box_a) in enumerate(boxes)
                   for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]
    assert overlapping == []
    width = fig.bbox.width
    assert all(0 <= box.x0 and box.x1 <= width for _, box in boxes), "text cut at the edge"


# --------------------------------------------------------------------------------------------
# Build timelines (synthetic BuildKit and classic builds)
# --------------------------------------------------------------------------------------------
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


def test_a_dollar_in_an_instruction_is_drawn_as_written_not_as_maths():
    """golang's GOPATH layer: matplotlib would parse "$GOPATH/src" "$GOPATH" as TeX maths."""
    from helpers.ui.display import figure_png

    gopath = 'RUN mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH"'
    frame = pd.DataFrame({"instruction": [gopath, "COPY . ."], "size_bytes": [0, 17_000]})
    fig = charts.history_side_by_side(frame, OPTIMIZED, "golang:1.22", "yours")
    assert figure_png(fig).startswith(b"\x89PNG")
    assert any("$GOPATH" in text for text in labels_top_to_bottom(fig.axes[0]))
