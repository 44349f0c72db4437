"""Build progress parsing and error naming, on a fake client (no daemon)."""

from __future__ import annotations

import itertools
import tarfile

import pytest

from helpers import build
from helpers.build import build_image, drop_superseded, hint_for_build_error
from helpers.errors import BuildError, KitError
from tests.unit.fakes import FakeClient

OK_CHUNKS = [
    {"stream": "Step 1/3 : FROM golang:1.22\n"},
    {"stream": " ---> 1111aaaa2222\n"},
    {"stream": "Step 2/3 : COPY go.mod go.sum ./\n ---> Using cache\n"},
    {"stream": " ---> 3333bbbb4444\nStep 3/3 : RUN go build"},   # a line split across chunks
    {"stream": " -o server ./cmd/server\n"},
    {"stream": " ---> Running in 5555cccc6666\n"},
    {"aux": {"ID": "sha256:" + "cd" * 32}},
    {"stream": "Successfully built cdcdcdcdcdcd\n"},
]


def ticking_clock():
    """A clock that advances one second per call, so durations are predictable."""
    counter = itertools.count()
    return lambda: float(next(counter))


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def test_steps_are_parsed_with_cache_and_durations(context):
    events = []
    result = build_image(FakeClient(OK_CHUNKS), context, "t:1", on_event=events.append,
                         clock=ticking_clock())
    assert [s.instruction for s in result.steps] == [
        "FROM golang:1.22", "COPY go.mod go.sum ./", "RUN go build -o server ./cmd/server"]
    assert [s.cached for s in result.steps] == [False, True, False]
    assert all(s.duration_s > 0 for s in result.steps)
    assert result.image_id == "sha256:" + "cd" * 32
    assert result.cached_steps == 1
    kinds = [e.kind for e in events]
    assert kinds.count("step") == 3 and kinds.count("step-done") == 3
    assert kinds[-1] == "done"
    assert [e.total for e in events if e.kind == "step"] == [3, 3, 3]


def test_kit_labels_and_forcerm_are_sent(context):
    client = FakeClient(OK_CHUNKS)
    build_image(client, context, "t:1")
    kwargs = client.api.build_kwargs
    assert kwargs["labels"]["com.multistage-kit.managed"] == "true"
    assert kwargs["forcerm"] is True and kwargs["rm"] is True
    assert kwargs["custom_context"] is True and kwargs["dockerfile"] == "Dockerfile"


def test_a_dockerfile_outside_the_context_travels_inside_the_tar(context, tmp_path_factory):
    """Podman reads the ``dockerfile`` parameter's last value: it must be one plain name."""
    outside = tmp_path_factory.mktemp("elsewhere") / "Dockerfile.multistage"
    outside.write_text("FROM scratch\nCOPY server /server\n")
    (context / ".dockerignore").write_text("# comment\nsecret.txt\n")
    (context / "secret.txt").write_text("no")
    archive, name = build.context_archive(context, outside)
    with tarfile.open(fileobj=archive) as tar:
        names = tar.getnames()
        assert tar.extractfile(name).read() == outside.read_bytes()
    assert name.startswith(".dockerfile.") and "secret.txt" not in names
    assert "Dockerfile" in names


def test_failing_step_is_named(context):
    chunks = OK_CHUNKS[:5] + [
        {"stream": "go: cannot find main module\n"},
        {"errorDetail": {"code": 1, "message": "The command '/bin/sh -c go build' returned "
                                               "a non-zero code: 1"},
         "error": "The command '/bin/sh -c go build' returned a non-zero code: 1"}]
    events = []
    with pytest.raises(BuildError) as info:
        build_image(FakeClient(chunks), context, "t:1", on_event=events.append)
    error = info.value
    assert error.step == 3
    assert error.instruction.startswith("RUN go build")
    assert "Step 3 (RUN go build" in error.message
    assert "RUN step failed" in error.hint or "command in this RUN step" in error.hint
    assert "go: cannot find main module" in error.log
    assert events[-1].kind == "error"


def test_missing_copy_source_gets_context_hint(context):
    chunks = [{"stream": "Step 1/2 : FROM scratch\n"},
              {"stream": "Step 2/2 : COPY nope /nope\n"},
              {"error": "COPY failed: file not found in build context or excluded by "
                        ".dockerignore: stat nope: file does not exist"}]
    with pytest.raises(BuildError) as info:
        build_image(FakeClient(chunks), context, "t:1")
    assert info.value.step == 2
    assert "build context" in info.value.hint


def test_an_offline_from_image_is_said_in_the_learners_words(context):
    """Docker 20.10's classic builder names the image only by its FROM step (measured)."""
    chunks = [{"stream": "Step 1/2 : FROM alpine:3.19\n"},
              {"errorDetail": {"message": 'Get "https://registry-1.docker.io/v2/": dial tcp: '
                               "lookup registry-1.docker.io on 10.255.255.53:53: no such host"}}]
    with pytest.raises(BuildError) as info:
        build_image(FakeClient(chunks), context, "t:1")
    assert info.value.step == 1
    assert "The base image alpine:3.19 is not on this engine" in str(info.value)
    assert "registry-1.docker.io" in info.value.engine_message
    assert "FROM scratch" in info.value.hint


def test_missing_dockerfile_is_a_kit_error(tmp_path):
    with pytest.raises(KitError, match="No Dockerfile"):
        build_image(FakeClient(), tmp_path, "t:1", "Dockerfile.nope")


def test_missing_context_is_a_kit_error(tmp_path):
    with pytest.raises(KitError, match="not a folder"):
        build_image(FakeClient(), tmp_path / "absent", "t:1")


def test_engine_gone_during_a_buildkit_build_gets_a_restart_hint():
    hint = hint_for_build_error("ERROR: Cannot connect to the Docker daemon at "
                                "unix:///var/run/docker.sock. Is the docker daemon running?")
    assert "make engine" in hint


class Image:
    def __init__(self, image_id, tags=(), labels=None):
        self.id, self.tags, self.labels = image_id, list(tags), labels or {}


class Images:
    """Images by id, recording removals."""

    def __init__(self, *images):
        self.by_id = {image.id: image for image in images}
        self.removed = []

    def get(self, image_id):
        from docker.errors import ImageNotFound
        if image_id not in self.by_id:
            raise ImageNotFound(image_id)
        return self.by_id[image_id]

    def remove(self, image_id, noprune=False):
        self.removed.append((image_id, noprune))


KIT = {"com.multistage-kit.managed": "true"}


@pytest.mark.parametrize("old, removed", [
    (Image("sha256:old", labels=KIT), [("sha256:old", False)]),     # superseded: removed
    (Image("sha256:old", tags=["other:tag"], labels=KIT), []),      # still tagged elsewhere
    (Image("sha256:old"), []),                                     # not the kit's image
    (Image("sha256:new", labels=KIT), []),                         # rebuild gave the same id
])
def test_rebuild_removes_only_the_kit_image_it_superseded(old, removed):
    client = FakeClient()
    client.images = Images(old)
    drop_superseded(client, old.id, "sha256:new")
    assert client.images.removed == removed


def test_nothing_to_drop_on_a_first_build():
    client = FakeClient()
    client.images = Images()
    drop_superseded(client, None, "sha256:new")
    assert client.images.removed == []


def test_podman_buildah_log_of_a_rebuild_after_a_source_edit():
    """Recorded from Podman 4.3's compat API: per-stage ``[1/2] STEP n/m:`` lines."""
    from pathlib import Path

    from helpers.build.classic import _StepTracker

    tracker = _StepTracker(None, itertools.count().__next__)
    log = Path(__file__).parents[2] / "fixtures" / "progress" / "podman-rebuild.txt"
    for line in log.read_text().splitlines():
        tracker.feed(line)
    tracker.finish_step()
    steps = {step.instruction.split()[0] + " " + step.instruction.split()[1]: step
             for step in tracker.steps}
    assert [s.number for s in tracker.steps] == list(range(1, 17)) and tracker.total == 16
    assert steps["RUN go"].cached and steps["COPY go.mod"].cached  # the download reused
    assert not steps["COPY ."].cached                              # the edit re-ran
    assert [s.stage for s in tracker.steps[:2]] == ["1", "1"] and tracker.steps[-1].stage == "2"
