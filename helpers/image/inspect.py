"""What the engine records about an image: the image itself, its listed size, its history.

:func:`get_image` turns a missing image into a KitError that says how to build it; every
engine-facing function of :mod:`helpers.image` looks images up through it. The engine's own
``Size`` counts different things on different stores, so :func:`engine_size_note` says what
in a phrase. :func:`history_frame` shows the history as the Dockerfile instructions a learner
wrote (:func:`clean_created_by` undoes the builders' recording formats).
"""

from __future__ import annotations

import json
import re

import docker
import pandas as pd
from docker.errors import ImageNotFound

from ..config import MB
from ..errors import missing_image


def get_image(client: docker.DockerClient, tag: str):
    """The image ``tag``, or a KitError saying how to build it."""
    try:
        return client.images.get(tag)
    except ImageNotFound:
        raise missing_image(tag) from None


def listed_size(client: docker.DockerClient, image) -> int:
    """The size ``docker images`` shows for ``image`` (the image list's ``Size``).

    Not always the inspect ``Size``: on the containerd image store the list counts the
    compressed content *and* the unpacked snapshot (7.35 MB for the reference image) where
    ``docker image inspect`` counts the compressed content only (2.26 MB).
    """
    for entry in client.api.images():
        if entry.get("Id") == image.id:
            return int(entry.get("Size") or 0)
    return int(image.attrs.get("Size") or 0)


def engine_size_note(store: str) -> str:
    """What the engine's image ``Size`` (``docker images``) counts on ``store``, in a phrase."""
    if store == "containerd":
        return ("the containerd image store counts the compressed layers it keeps plus "
                "their unpacked snapshot; `docker image inspect` shows the compressed part")
    if store == "podman":
        return "Podman counts the layers as its storage records them"
    if store.startswith("graphdriver:"):
        return (f"the {store.split(':', 1)[1]} store counts the unpacked layer folders, "
                "symlinks included")
    return ""


def history_frame(client: docker.DockerClient, tag: str) -> pd.DataFrame:
    """The image history, oldest step first, one row per Dockerfile instruction.

    Columns: ``step`` (1-based), ``instruction`` (cleaned ``CreatedBy``), ``size_bytes``,
    ``size_mb``, ``empty_layer`` (metadata-only steps such as ENV or CMD make no bytes).
    """
    rows = []
    for entry in reversed(get_image(client, tag).history()):
        size = int(entry.get("Size") or 0)
        rows.append({"instruction": clean_created_by(entry.get("CreatedBy", "")),
                     "size_bytes": size, "size_mb": size / MB,
                     "empty_layer": size == 0})
    frame = pd.DataFrame(rows, columns=["instruction", "size_bytes", "size_mb", "empty_layer"])
    frame.insert(0, "step", range(1, len(frame) + 1))
    return frame


#: ``COPY dir:<sha> in /app`` as the classic builder records it, and what each source kind means.
COPY_HASH_RE = re.compile(r"^(COPY|ADD) (file|dir|multi):[0-9a-f]+ in ")
COPY_SOURCE_KINDS = {"file": "file", "dir": "folder", "multi": "several files"}


#: The classic builder records HEALTHCHECK as a Go struct:
#: ``HEALTHCHECK &{["CMD" "/server" "-healthcheck"] "10s" "3s" "2s" '\x03'}``.
HEALTHCHECK_STRUCT_RE = re.compile(
    r'HEALTHCHECK &\{\[(?P<test>.*?)\] "(?P<interval>[^"]*)" "(?P<timeout>[^"]*)" '
    r'"(?P<start>[^"]*)" \'?(?P<retries>[^\'}]*)\'?\}')
_GO_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _healthcheck_instruction(match: re.Match) -> str:
    """The Dockerfile HEALTHCHECK line back from the builder's struct text."""
    test = _GO_QUOTED_RE.findall(match["test"])
    retries = match["retries"]
    if retries.startswith("\\x"):
        retries = str(int(retries[2:], 16))
    options = [f"--{name}={value}" for name, value in (
        ("interval", match["interval"]), ("timeout", match["timeout"]),
        ("start-period", match["start"]), ("retries", retries))
        if value and value not in ("0s", "0")]
    if test[:1] == ["CMD"]:
        command = "CMD " + json.dumps(test[1:], separators=(",", ":"))
    elif test[:1] == ["CMD-SHELL"]:
        command = "CMD " + " ".join(test[1:])
    else:
        command = " ".join(test) or "NONE"
    return " ".join(["HEALTHCHECK", *options, command])


def clean_created_by(created_by: str) -> str:
    """Turn the builder's ``CreatedBy`` text into the Dockerfile instruction a learner wrote.

    ``/bin/sh -c #(nop) COPY dir:3f2a… in /app`` -> ``COPY <folder> /app`` (the classic
    builder records a content hash, not the source names);
    ``/bin/sh -c go build -o server ./cmd/server`` -> ``RUN go build -o server ./cmd/server``;
    BuildKit's ``RUN /bin/sh -c ... # buildkit`` -> ``RUN ...``.
    """
    text = " ".join(created_by.split())
    if not text:
        return "(imported base filesystem)"
    text = text.removesuffix(" # buildkit")
    if text.startswith("/bin/sh -c #(nop) "):
        text = text[len("/bin/sh -c #(nop) "):]
        if (healthcheck := HEALTHCHECK_STRUCT_RE.fullmatch(text)) is not None:
            return _healthcheck_instruction(healthcheck)
        return COPY_HASH_RE.sub(lambda m: f"{m[1]} <{COPY_SOURCE_KINDS[m[2]]}> ", text)
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c "):]
    if text.startswith("RUN /bin/sh -c "):
        return "RUN " + text[len("RUN /bin/sh -c "):]
    return text
