"""The committed golang:1.22 manifest against the engine's golang:1.22, recorded again now.

Creates one container (never started, removed) and reads the image's export; builds nothing.
"""

from __future__ import annotations

import gzip
import json

import pytest

from helpers import recorded
from helpers.build.engineless.basefiles import from_document, recording_path

REF = "golang:1.22"
RERECORD = "re-record: python -m helpers record --base-only"


@pytest.fixture(scope="module")
def fresh(client) -> dict:
    return recorded.record_base_image(client, REF)


@pytest.fixture(scope="module")
def committed() -> dict:
    path = recording_path(REF)
    assert path.is_file(), f"no {path}; {RERECORD}"
    with gzip.open(path, "rb") as stream:
        return json.loads(stream.read())


def test_the_committed_recording_is_of_this_engines_image(fresh, committed):
    assert fresh["image_id"] == committed["image_id"], (
        f"the engine's {REF} is {fresh['image_id']}, the recording is of "
        f"{committed['image_id']}: {RERECORD}")
    volatile = ("recorded", "engine")
    assert {k: v for k, v in fresh.items() if k not in volatile} \
        == {k: v for k, v in committed.items() if k not in volatile}, RERECORD


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
