"""Layer and category charts: pure functions, checked on the returned Figure without a daemon."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

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
