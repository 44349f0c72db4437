"""The headline figures of an image: its size, the engine's own size figure, its layers.

One size, the same on every engine: the **uncompressed bytes of the files in the image's
layers** (a hard link counted once, symlinks and directories 0), read from the image's
export. That is what the brief's "under 15 MB" means and what a container's filesystem is
made of. The engine's own ``Size`` (``docker images``) is shown beside it, because it counts
different things on different stores: on Docker's classic overlay2 store the unpacked layer
folders (symlink targets included, a few kB more on the single-stage image); on the
containerd image store (Docker Desktop, Docker >= 25 new installs) the compressed layers
*plus* the unpacked snapshot (7.35 MB for a 5.07 MB image); on Podman its storage's own
records. MB means 10**6 bytes everywhere in the kit.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker

from ..config import MB
from ..engine.probe import image_store
from .breakdown import file_breakdown
from .inspect import engine_size_note, get_image, listed_size


@dataclass
class ImageSummary:
    """Headline figures of one image.

    ``size_bytes`` is the kit's one size, the same on every engine: the uncompressed bytes of
    the files in the image's layers (what a container's filesystem is made of; a hard link
    counted once), read from the image's export. ``engine_size_bytes`` is what ``docker
    images`` shows on this engine, which counts other things on other stores
    (:func:`engine_size_note`).
    """

    tag: str
    image_id: str
    size_bytes: int
    layers: int
    recorded: bool = False  # True when it comes from a recorded run (no engine here)
    engine_size_bytes: int | None = None
    engine_size_note: str = ""

    @property
    def size_mb(self) -> float:
        return self.size_bytes / MB


def summarize(client: docker.DockerClient, tag: str) -> ImageSummary:
    """Size (uncompressed layer bytes), the engine's own figure, and the layer count of ``tag``.

    The size comes from :func:`file_breakdown` (one export per image, then kept), the layer
    count from ``RootFS.Layers``.
    """
    image = get_image(client, tag)
    layers = image.attrs.get("RootFS", {}).get("Layers") or []
    breakdown = file_breakdown(client, tag)
    return ImageSummary(tag, image.id, breakdown.total_bytes, len(layers),
                        engine_size_bytes=listed_size(client, image),
                        engine_size_note=engine_size_note(image_store(client)))
