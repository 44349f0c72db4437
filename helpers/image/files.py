"""Files read out of an image without running it: one file, and the CA bundle Go would load.

:func:`read_file` *creates* a container (never starts it) and asks the engine for one path as
a tar archive, the API behind ``docker cp``; that works for a ``FROM scratch`` image that has
no shell, no ``cat`` and no ``ls``. The container carries the kit's labels and is removed on
every path out. :func:`find_ca_bundle` reads Go's candidate bundles the same way, in one
container.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import uuid
from contextlib import contextmanager
from typing import Collection, Iterable, Iterator

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from requests.exceptions import RequestException

from ..config import MB, image_tag, kit_labels
from ..errors import KitError, engine_error, missing_image
from .certs import GO_CERT_FILES, CaBundle, first_ca_bundle

#: The entrypoint given to the inspection container: it is never started, so it need not exist;
#: it only lets the engine create a container from an image that has no ENTRYPOINT/CMD.
_NEVER_RUN = ["/nonexistent"]
#: Default size limit of :func:`read_file`.
DEFAULT_MAX_BYTES = 64 * MB


@contextmanager
def _created_container(client: docker.DockerClient, image: str) -> Iterator[object]:
    """A created, never started, kit-labelled container of ``image``; removed on exit."""
    container = None
    try:
        try:
            container = client.containers.create(
                image, entrypoint=_NEVER_RUN, command=[], labels=kit_labels(),
                name=image_tag(f"kit-inspect-{uuid.uuid4().hex[:8]}"),
                network_disabled=True)
        except ImageNotFound:
            raise missing_image(image) from None
        except APIError as exc:
            raise engine_error(exc, f"creating a container of {image!r}") from None
        yield container
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except NotFound:
                pass


class _ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of ``bytes`` chunks (for ``tarfile`` "r|")."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _fetch(container, path: str, max_bytes: int) -> tuple[str, bytes | str] | None:
    """One ``get_archive`` round: ``("file", bytes)``, ``("symlink", target)`` or None."""
    try:
        chunks, stat = container.get_archive(path)
    except NotFound:
        return None
    except APIError as exc:
        raise engine_error(exc, f"reading {path} from the image") from None
    try:
        if stat and int(stat.get("mode") or 0) & (1 << 27) == 0 \
                and int(stat.get("size") or 0) > max_bytes:  # 1<<27: Go's os.ModeSymlink
            raise _too_big(path, int(stat["size"]), max_bytes)
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks), 1 << 16),
                          mode="r|") as archive:
            member = archive.next()
            if member is None:
                return None
            if member.issym():
                return "symlink", member.linkname
            if member.islnk():  # a hard link to a file outside the archive: not expected
                raise KitError(f"{path} came back as a hard link to {member.linkname}.",
                               "Read the link's target path instead.")
            if not member.isfile():
                raise KitError(f"{path} is not a regular file in the image "
                               f"({'a directory' if member.isdir() else 'a special file'}).",
                               "Pass the path of a file.")
            if member.size > max_bytes:
                raise _too_big(path, member.size, max_bytes)
            data = archive.extractfile(member).read()
            for _ in archive:  # the rest of the stream (padding): let the response finish
                pass
            return "file", data
    except tarfile.TarError as exc:
        raise KitError(f"The engine sent a damaged archive for {path}: {exc}",
                       "Retry; if it persists, restart the engine.") from None
    except RequestException as exc:
        raise engine_error(exc, f"reading {path}") from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _too_big(path: str, size: int, max_bytes: int) -> KitError:
    return KitError(f"{path} is {size:,} bytes, more than the {max_bytes:,} bytes read_file "
                    "accepts.", "Pass a larger max_bytes if you really need it.")


def _read_in(container, path: str, max_bytes: int) -> bytes | None:
    """:func:`read_file` on an already created container."""
    if not path.startswith("/"):
        raise ValueError(f"read_file needs an absolute path, not {path!r}")
    found = _fetch(container, path, max_bytes)
    if found is not None and found[0] == "symlink":  # follow one level, as documented
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), found[1]))
        found = _fetch(container, target, max_bytes)
        if found is not None and found[0] == "symlink":
            return None  # a chain of links: not followed further
    return found[1] if found is not None else None


def read_file(client: docker.DockerClient, image: str, path: str,
              max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """The contents of one file of ``image``, without running the image.

    A container is created (never started; its entrypoint is overridden with a path that does
    not exist, so even an image without ENTRYPOINT/CMD can be created), the engine's archive
    API returns ``path`` as a tar stream, the member's bytes are extracted, and the container
    is removed (``force=True``) on every path out. Works on ``FROM scratch`` images.

    A symlink is followed one level: its target is resolved relative to the link's directory
    (an absolute target is taken inside the image) and fetched again. If that target is a
    symlink too, the chain is not followed and the result is None. Symlinked parent
    directories are resolved by the engine itself.

    Args:
        client: A connected docker client.
        image: Image tag or id.
        path: Absolute path of the file inside the image.
        max_bytes: Refuse files larger than this.

    Returns:
        The file's bytes, or None if the path (or the link's target) does not exist.

    Raises:
        KitError: The image does not exist, the path is a directory or special file, the file
            is larger than ``max_bytes``, or the engine failed.
        ValueError: ``path`` is not absolute.
    """
    with _created_container(client, image) as container:
        return _read_in(container, path, max_bytes)


def find_ca_bundle(client: docker.DockerClient, image: str,
                   files: Collection[str] | None = None) -> CaBundle:
    """The CA bundle Go would load in ``image`` (first readable file of :data:`GO_CERT_FILES`).

    Go stops at the first file it can read, so this does too; a dangling symlink counts as
    missing. Not looked at, though Go honours them too: the directories whose every file Go
    also loads (``/etc/ssl/certs``, ``/etc/pki/tls/certs``; the scratch image has none, and in
    Debian they hold the bundle's certificates again, which Go de-duplicates) and the
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` variables.

    Args:
        client: A connected docker client.
        image: Image tag or id.
        files: The paths of the image's final filesystem, if the caller already has them
            (``set(file_breakdown(client, tag).files["path"])``): then only paths in it are
            fetched. Otherwise each candidate is asked of the engine in turn (one container
            for all of them).

    Returns:
        The :class:`CaBundle`; ``path`` None if the image has none of the files.

    Raises:
        KitError: The image does not exist, or the engine failed.
    """
    known = None if files is None else set(files)
    if known is not None and not known.intersection(GO_CERT_FILES):
        return first_ca_bundle(lambda path: None)  # no container is needed
    with _created_container(client, image) as container:
        return first_ca_bundle(lambda path: None if known is not None and path not in known
                               else _read_in(container, path, DEFAULT_MAX_BYTES))
