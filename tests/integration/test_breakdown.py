"""File-level breakdown of both exercise images, streamed from the real engine's `docker save`.

Reads only: creates no image and no container.
"""

from __future__ import annotations

import pytest

from helpers.config import MB
from helpers.errors import KitError
from helpers.image import category_sizes, directory_sizes, file_breakdown, summarize


def test_optimized_holds_exactly_the_ca_bundle_and_the_binary(client, optimized):
    breakdown = file_breakdown(client, optimized.tag)
    summary = summarize(client, optimized.tag)
    assert sorted(breakdown.files["path"]) == ["/etc/ssl/certs/ca-certificates.crt", "/server"]
    assert abs(breakdown.final_bytes - summary.size_bytes) <= 0.01 * summary.size_bytes, \
        f"final {breakdown.final_bytes} B vs engine Size {summary.size_bytes} B"
    assert breakdown.efficiency == 1.0 and breakdown.wasted_bytes == 0
    assert len(breakdown.layers) == summary.layers == 2
    assert breakdown.layers["instruction"].str.startswith("COPY").all()
    assert breakdown.layers["wasted_bytes"].tolist() == [0, 0]
    print(f"\n{optimized.tag}: final_bytes {breakdown.final_bytes:,} B, engine Size "
          f"{summary.size_bytes:,} B")
    assert set(category_sizes(breakdown.files)["category"]) == {"CA certificates",
                                                                "the server binary"}


def test_original_is_mostly_the_go_toolchain(client, original):
    progress: list[int] = []
    breakdown = file_breakdown(client, original.tag, on_progress=progress.append)
    summary = summarize(client, original.tag)
    print(f"\n{original.tag}: breakdown total_bytes {breakdown.total_bytes:,} B, engine Size "
          f"{summary.size_bytes:,} B ({breakdown.total_bytes / summary.size_bytes - 1:+.2%}); "
          f"final {breakdown.final_bytes:,} B, wasted {breakdown.wasted_bytes:,} B, "
          f"efficiency {breakdown.efficiency:.6f}")
    assert abs(breakdown.total_bytes - summary.size_bytes) <= 0.02 * summary.size_bytes, \
        f"total {breakdown.total_bytes} B vs engine Size {summary.size_bytes} B"

    categories = category_sizes(breakdown.files).set_index("category")["size_bytes"]
    print(categories.div(MB).round(1).to_string())
    assert categories["Go toolchain (/usr/local/go)"] > 150 * MB
    paths = set(breakdown.files["path"])
    assert "/app/server" in paths and "/usr/local/go/bin/go" in paths

    assert len(breakdown.layers) == summary.layers
    assert breakdown.layers["layer"].tolist() == list(range(1, summary.layers + 1))
    assert breakdown.layers["instruction"].iloc[-1].startswith("RUN go build")
    # Most bytes come with the base image's own layers (golang:1.22: Debian, apt, Go).
    base_layers = summarize(client, "golang:1.22").layers
    from_base = breakdown.layers["size_bytes"].iloc[:base_layers].sum()
    assert from_base > 0.8 * breakdown.total_bytes, (from_base, breakdown.total_bytes)
    assert breakdown.layers["wasted_bytes"].sum() == breakdown.wasted_bytes
    assert 0.0 < breakdown.efficiency <= 1.0

    directories = directory_sizes(breakdown.files)
    assert directories["size_bytes"].is_monotonic_decreasing
    assert "/usr/local" in set(directories["directory"].head(3))

    assert progress and progress == sorted(progress)
    assert all(later - earlier >= 10 * MB for earlier, later in zip(progress, progress[1:]))


def test_missing_image_is_a_kit_error(client):
    with pytest.raises(KitError, match="no image"):
        file_breakdown(client, "itest-no-such-image-for-breakdown")
