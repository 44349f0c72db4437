"""The image summary and history table (helpers.image summary and inspect), on a fake client."""

from __future__ import annotations

import pytest

from helpers.errors import KitError
from helpers.image import clean_created_by, history_frame, summarize
from tests.unit.fakes import FakeClient, FakeImage
from tests.unit.image.test_breakdown import SaveAPI, layer_tar, save_archive


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
