"""Image sizes and layer history, as numbers and pandas DataFrames.

Sizes come from the engine's image inspect ``Size`` field: the uncompressed size of all the
image's layers in the engine's image store (with the classic overlay2 graph driver, the bytes
on disk; ``docker images`` shows the same figure). MB means 10**6 bytes everywhere in the kit.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
import pandas as pd
from docker.errors import ImageNotFound

from .config import MB
from .errors import KitError


@dataclass
class ImageSummary:
    """Headline figures of one image."""

    tag: str
    image_id: str
    size_bytes: int
    layers: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / MB


def get_image(client: docker.DockerClient, tag: str):
    """The image ``tag``, or a KitError saying how to build it."""
    try:
        return client.images.get(tag)
    except ImageNotFound:
        raise KitError(f"There is no image {tag!r} on this engine.",
                       "Build it first (the build cell above, or `python -m helpers demo`).") \
            from None


def summarize(client: docker.DockerClient, tag: str) -> ImageSummary:
    """Size (inspect ``Size``) and number of filesystem layers (``RootFS.Layers``) of ``tag``."""
    image = get_image(client, tag)
    layers = image.attrs.get("RootFS", {}).get("Layers") or []
    return ImageSummary(tag, image.id, int(image.attrs["Size"]), len(layers))


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


def clean_created_by(created_by: str) -> str:
    """Turn the builder's ``CreatedBy`` text into the Dockerfile instruction a learner wrote.

    ``/bin/sh -c #(nop) COPY dir:abc in /app`` -> ``COPY dir:abc in /app``;
    ``/bin/sh -c go build -o server ./cmd/server`` -> ``RUN go build -o server ./cmd/server``;
    BuildKit's ``RUN /bin/sh -c ... # buildkit`` -> ``RUN ...``.
    """
    text = " ".join(created_by.split())
    if not text:
        return "(imported base filesystem)"
    text = text.removesuffix(" # buildkit")
    if text.startswith("/bin/sh -c #(nop) "):
        return text[len("/bin/sh -c #(nop) "):]
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c "):]
    if text.startswith("RUN /bin/sh -c "):
        return "RUN " + text[len("RUN /bin/sh -c "):]
    return text
