"""An image file by file: every layer's files, the final filesystem, the bytes wasted.

:func:`file_breakdown` streams the image's ``docker save`` archive from the engine and walks
every layer's tar, whiteouts included, without keeping file contents
(:mod:`helpers.image.archive` reads every engine's layout). The final filesystem is computed
by stacking the layers as overlayfs does (a ``.wh.NAME`` marker deletes ``NAME`` and
everything below it from lower layers; a ``.wh..wh..opq`` marker hides everything lower
layers had in its directory). The dive-style figures are::

    total_bytes  = sum over layers of the bytes of the regular files in the layer's tar
    final_bytes  = sum of the bytes of the files visible in the final filesystem
    wasted_bytes = total_bytes - final_bytes
                 = bytes of the copies that a later layer overwrote or deleted
    efficiency   = final_bytes / total_bytes            (1.0 for an image without bytes)

A layer's ``wasted_bytes`` are the bytes of its own entries that do not survive to the final
filesystem, so the per-layer figures add up to the image's. A hard link weighs 0 (its bytes
count once, on the file it links to, as ``du`` and the engine count them); symlinks,
directories and whiteouts weigh 0. ``total_bytes`` of the single-stage image is 759,894,064
B, what dive 0.13.1 reports too; overlay2's ``Size`` adds the symlinks' target lengths.

How this differs from dive: dive's "potential wasted space" sums, for every path present in
more than one layer, the sizes of *all* its copies, the surviving top copy included (a
whiteout weighing what it deleted); here only the copies that are really hidden count, so
dive's figure can be larger. Dive's efficiency is ``sum over paths of the smallest copy /
sum over paths of all copies``, which credits a deleted file with one useful copy; here a
deleted file is wasted in full. An image in which no file is overwritten or deleted has
``wasted_bytes == 0`` and ``efficiency == 1.0`` in both.

An export costs seconds on a big image, and an image id names its content, so breakdowns are
kept per (engine, image id).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import docker
import pandas as pd
from docker.errors import APIError
from requests.exceptions import RequestException

from ..errors import KitError, engine_error
from .archive import ArchiveError, ImageExport, merge, read_export
from .inspect import clean_created_by, get_image

#: Bytes asked of the engine per read of the `docker save` stream.
SAVE_CHUNK_SIZE = 1 << 20


@dataclass
class ImageBreakdown:
    """What is inside an image, file by file, from its ``docker save`` archive.

    Attributes:
        tag: The image analysed.
        layers: One row per filesystem layer, oldest first. Columns ``layer`` (1-based),
            ``instruction`` (the Dockerfile instruction that made it), ``size_bytes`` (regular
            files in the layer's tar), ``files`` (regular files, hard links and symlinks),
            ``whiteouts`` (deletion markers), ``wasted_bytes`` (bytes of this layer's files
            that a later layer overwrote or deleted).
        files: The final filesystem: ``path``, ``size_bytes`` and ``layer`` of every regular
            file, hard link and symlink that is visible, sorted by path.
        total_bytes: Sum of ``size_bytes`` over all layers.
        final_bytes: Sum of ``size_bytes`` over ``files`` (what a container sees).
        wasted_bytes: ``total_bytes - final_bytes``.
        efficiency: ``final_bytes / total_bytes`` (1.0 for an image without bytes).
    """

    tag: str
    layers: pd.DataFrame
    files: pd.DataFrame
    total_bytes: int
    final_bytes: int
    wasted_bytes: int
    efficiency: float
    recorded: bool = False  # True when it comes from a recorded run (no engine here)
    layout: str = ""        # how the engine exported it (see helpers.image.archive.ImageExport)
    compression: dict[str, int] = field(default_factory=dict)  # layers per compression


#: Breakdowns of the last images seen, by (engine, image id): an id names the image's content,
#: so an entry never goes stale; a rebuilt tag has a new id.
_BREAKDOWNS: dict[tuple[str, str], ImageBreakdown] = {}
_KEEP_BREAKDOWNS = 8


def forget_breakdowns() -> None:
    """Empty the breakdown cache (tests whose fake images share ids call it)."""
    _BREAKDOWNS.clear()


def file_breakdown(client: docker.DockerClient, tag: str,
                   on_progress: Callable[[int], None] | None = None) -> ImageBreakdown:
    """Every file of every layer of ``tag``, from its ``docker save`` archive, streamed.

    The archive is read once, sequentially, in 1 MiB chunks (:func:`helpers.image.archive.
    read_export`, which reads every engine's layout and compressed layers): it is never held
    in memory nor written to disk, and file contents are skipped. Layers are named after the
    image config's ``history`` entries that made a filesystem layer. Image ids name content,
    so the result is kept per image id and a second call for the same image costs nothing.

    Args:
        client: A connected docker client.
        tag: Image tag or id.
        on_progress: Called with the number of archive bytes read so far, at most once per
            :data:`helpers.image.archive.PROGRESS_EVERY` bytes.

    Returns:
        The :class:`ImageBreakdown`.

    Raises:
        KitError: The image does not exist, or the engine could not export it (or sent an
            export the kit cannot read: the message says what is wrong with it).
    """
    image_id = get_image(client, tag).id  # a missing image -> KitError with a hint
    key = (getattr(client.api, "base_url", ""), image_id)
    if (known := _BREAKDOWNS.get(key)) is not None:
        return dataclasses.replace(known, tag=tag)
    chunks = client.api.get_image(tag, chunk_size=SAVE_CHUNK_SIZE)
    try:
        export = read_export(chunks, on_progress)
    except APIError as exc:  # raised by the first read, when the engine refuses the export
        raise KitError(f"The engine could not export {tag!r}: {exc.explanation or exc}",
                       "`docker save` stages the archive in the engine's data root: check "
                       f"there is free disk space and that `docker save {tag} > /dev/null` "
                       "works.") from None
    except RequestException as exc:
        raise engine_error(exc, f"exporting {tag!r}") from None
    except ArchiveError as exc:
        raise KitError(f"The export the engine sent for {tag!r} cannot be read: {exc}.",
                       f"Retry; if it persists, `docker save {tag} | tar -t` shows what the "
                       "engine writes (please report it with the engine's version).") from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:  # let go of the HTTP response even on an early exit
            close()
    breakdown = breakdown_of(tag, export)
    if len(_BREAKDOWNS) >= _KEEP_BREAKDOWNS:
        _BREAKDOWNS.pop(next(iter(_BREAKDOWNS)))
    _BREAKDOWNS[key] = breakdown
    return breakdown


def breakdown_of(tag: str, export: ImageExport) -> ImageBreakdown:
    """The :class:`ImageBreakdown` of an export read by
    :func:`helpers.image.archive.read_export`."""
    ordered = export.layers
    instructions = [clean_created_by(entry.get("created_by", ""))
                    for entry in export.config.get("history") or []
                    if not entry.get("empty_layer")]
    instructions += ["(unknown)"] * (len(ordered) - len(instructions))
    final, wasted = merge(ordered)
    layers = pd.DataFrame(
        [(number, instruction, sum(table.files.values()), len(table.files), table.whiteouts,
          lost)
         for number, (table, instruction, lost)
         in enumerate(zip(ordered, instructions, wasted), start=1)],
        columns=["layer", "instruction", "size_bytes", "files", "whiteouts", "wasted_bytes"])
    final.sort()
    files = pd.DataFrame(final, columns=["path", "size_bytes", "layer"])
    layers = layers.astype({"layer": "int64", "size_bytes": "int64", "files": "int64",
                            "whiteouts": "int64", "wasted_bytes": "int64"})
    files = files.astype({"size_bytes": "int64", "layer": "int64"})
    total = int(layers["size_bytes"].sum())
    final_bytes = int(files["size_bytes"].sum())
    return ImageBreakdown(tag=tag, layers=layers, files=files, total_bytes=total,
                          final_bytes=final_bytes, wasted_bytes=total - final_bytes,
                          efficiency=final_bytes / total if total else 1.0,
                          layout=export.layout, compression=dict(export.compression))
