"""Layers, charts, demo tables and config: pure functions, checked without a daemon."""

from __future__ import annotations

import json

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from helpers.ui import charts

from helpers import config

from helpers import demo
from helpers.errors import BuildError, KitError
from helpers.image.layers import clean_created_by, history_frame, summarize
from helpers.ui.progress import bar
from tests.unit.fakes import FakeClient, FakeImage
from tests.unit.test_breakdown import SaveAPI, layer_tar, save_archive


@pytest.mark.parametrize("created_by, expected", [
    ("/bin/sh -c #(nop)  CMD [\"./server\"]", 'CMD ["./server"]'),
    ("/bin/sh -c go build -o server ./cmd/server", "RUN go build -o server ./cmd/server"),
    ("RUN /bin/sh -c go mod download # buildkit", "RUN go mod download"),
    ("COPY /out/server /server # buildkit", "COPY /out/server /server"),
    ("", "(imported base filesystem)"),
    ("/bin/sh -c #(nop) COPY multi:7e0c640d in ./ ", "COPY <several files> ./"),
    ("/bin/sh -c #(nop) COPY dir:1f268c3e in . ", "COPY <folder> ."),
    ("/bin/sh -c #(nop) COPY file:ab12 in /server ", "COPY <file> /server"),
    # the classic builder records HEALTHCHECK as a Go struct (seen in the browser screenshots)
    ("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD\" \"/server\" \"-healthcheck\"] \"10s\" "
     "\"3s\" \"2s\" '\\x03'}",
     'HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 '
     'CMD ["/server","-healthcheck"]'),
    ("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"wget -q -O- localhost\"] \"0s\" "
     "\"0s\" \"0s\" '\\x00'}", "HEALTHCHECK CMD wget -q -O- localhost"),
])
def test_clean_created_by(created_by, expected):
    assert clean_created_by(created_by) == expected


def test_summary_and_history_frame():
    history = [  # docker returns newest first
        {"CreatedBy": "/bin/sh -c #(nop)  ENTRYPOINT [\"/server\"]", "Size": 0},
        {"CreatedBy": "/bin/sh -c #(nop) COPY file:abc in /server ", "Size": 4_900_000},
        {"CreatedBy": "", "Size": 220_000},
    ]
    archive = save_archive([layer_tar([("file", "etc/ca.crt", 220_000)]),
                            layer_tar([("file", "server", 4_900_000)])], [])
    client = FakeClient(images=[FakeImage("opt", 5_150_000, 2, history)])
    client.api = SaveAPI(archive, 1 << 16)
    summary = summarize(client, "opt")
    # The kit's size is the layers' bytes; the engine's own figure is kept beside it.
    assert (summary.size_bytes, summary.layers) == (5_120_000, 2)
    assert summary.engine_size_bytes == 5_150_000  # no list entry: the inspect Size
    assert "overlay2 store" in summary.engine_size_note
    # The containerd store lists content + snapshot: `docker images` is what learners see.
    client.api.listing = [{"Id": client.images.get("opt").id, "Size": 7_350_000}]
    assert summarize(client, "opt").engine_size_bytes == 7_350_000
    assert summary.size_mb == pytest.approx(5.12)
    frame = history_frame(client, "opt")
    assert list(frame["step"]) == [1, 2, 3]
    assert frame.iloc[0]["instruction"] == "(imported base filesystem)"
    assert frame.iloc[2]["empty_layer"]
    assert frame["size_bytes"].sum() == 5_120_000


def test_missing_image_is_a_kit_error():
    with pytest.raises(KitError, match="no image 'nope'"):
        summarize(FakeClient(), "nope")


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


def demo_results():
    return {"exercise2-original": demo.DemoImage(710_000_000, 5, True, 142, 50.0),
            "exercise2-optimized": demo.DemoImage(5_130_000, 2, True, 142, 20.0,
                                                  engine_size_bytes=7_350_000)}


def test_demo_json_shape():
    data = demo.results_json(demo_results())
    assert set(data["images"]["exercise2-optimized"]) == {
        "size_bytes", "engine_size_bytes", "layers", "healthy", "ca_roots"}
    assert data["reduction_factor"] == pytest.approx(138.4)
    json.dumps(data)  # serialisable


def test_demo_table_columns():
    table = demo.results_table(demo_results())
    assert list(table.columns) == ["image", "size (MB)", "docker images (MB)", "layers",
                                   "/health", "CA roots", "reduction"]
    assert table.iloc[1]["reduction"] == "138x"  # from the layer bytes, not the engine's
    assert table.iloc[1]["size (MB)"] == 5.13
    assert table.iloc[1]["docker images (MB)"] == 7.35
    assert table.iloc[0]["docker images (MB)"] == "-"  # not reported


def test_namespace_prefixes_tags(monkeypatch):
    monkeypatch.delenv("KIT_NAMESPACE", raising=False)
    assert config.image_tag("exercise2-original") == "exercise2-original"
    monkeypatch.setenv("KIT_NAMESPACE", " Bob Smith! ")
    assert config.image_tag("exercise2-original") == "bob-smith-exercise2-original"


def test_errors_print_message_then_hint():
    error = BuildError("boom", step=4, instruction="RUN x", hint="fix it")
    assert str(error) == "Step 4 (RUN x) failed: boom\nHint: fix it"


def test_progress_bar():
    assert bar(0, 4, width=4) == "[----]"
    assert bar(2, 4, width=4) == "[##--]"
    assert bar(4, 4, width=4) == "[####]"
