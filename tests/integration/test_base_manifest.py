"""The committed golang:1.22 manifest against the engine's golang:1.22, recorded again now.

Creates one container (never started, removed) and reads the image's export; builds nothing.
"""

from __future__ import annotations

import gzip
import json

import pytest

from helpers import recorded
from helpers.build.engineless.basefiles import from_document, recording_path
from helpers.config import STAND_IN_LABEL

REF = "golang:1.22"
RERECORD = "re-record: python -m helpers record --base-only"
#: Where a build of the stand-in writes logs whose bytes differ from one build to the next.
BUILD_LOGS = ("/var/log/",)


@pytest.fixture(scope="module")
def fresh(client) -> dict:
    return recorded.record_base_image(client, REF)


@pytest.fixture(scope="module")
def committed() -> dict:
    path = recording_path(REF)
    assert path.is_file(), f"no {path}; {RERECORD}"
    with gzip.open(path, "rb") as stream:
        return json.loads(stream.read())


def _without_build_logs(document: dict) -> tuple[dict, int]:
    """The recording with the sizes of the build's own logs blanked, and those logs' bytes.

    Two builds of the stand-in from the same script and packages give the same files with
    the same bytes, except the logs apt writes while building (``/var/log/apt/eipp.log.xz``
    holds the run's timestamps: 10,676 vs 10,688 bytes measured on two machines). The image
    id differs with them, so the id cannot say whether the recording is still of the image
    scripts/base-images.sh builds; the content can.
    """
    size = document["columns"].index("size")
    entries, log_bytes = [], 0
    for entry in document["entries"]:
        if entry[0].startswith(BUILD_LOGS) and entry[1] == "file":
            log_bytes += entry[size]
            entry = [*entry[:size], None, *entry[size + 1:]]
        entries.append(entry)
    layers = [{k: v for k, v in layer.items() if k != "size_bytes"}
              for layer in document["layers"]]
    volatile = ("recorded", "engine", "image_id", "engine_size_bytes", "total_bytes")
    kept = {k: v for k, v in document.items() if k not in volatile}
    return {**kept, "entries": entries, "layers": layers}, log_bytes


def test_the_committed_recording_is_of_this_engines_image(fresh, committed):
    """The recording holds what this engine's golang:1.22 holds: the same config, files,
    modes, owners, links and layers, and the same bytes but for the build's logs."""
    if committed["image_id"] == fresh["image_id"]:
        volatile = ("recorded", "engine")
        assert {k: v for k, v in fresh.items() if k not in volatile} \
            == {k: v for k, v in committed.items() if k not in volatile}, RERECORD
        return
    if STAND_IN_LABEL not in (fresh["config"].get("Labels") or {}):
        pytest.skip(f"this engine's {REF} ({fresh['image_id'][:19]}) is not the kit's "
                    "stand-in; the recording is of the stand-in")
    fresh_view, fresh_logs = _without_build_logs(fresh)
    committed_view, committed_logs = _without_build_logs(committed)
    assert fresh_view == committed_view, (
        f"the engine's {REF} ({fresh['image_id'][:19]}) holds other files than the "
        f"recording of {committed['image_id'][:19]}: {RERECORD}")
    assert fresh["total_bytes"] - committed["total_bytes"] == fresh_logs - committed_logs


def test_the_recording_matches_what_the_engine_reads(client, fresh):
    """The recorder's view agrees with the kit's own readers of the live image."""
    from helpers.image import file_breakdown, find_ca_bundle

    image = from_document(fresh)
    breakdown = file_breakdown(client, REF)
    assert image.file_layers() == list(breakdown.files.itertuples(index=False, name=None))
    assert image.total_bytes == breakdown.total_bytes
    bundle = find_ca_bundle(client, REF)
    entry = image.files(bundle.path)[0]
    assert entry.has_bytes and len(entry.data) == bundle.size_bytes
