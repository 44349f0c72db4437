"""Recorded real runs, for machines where no Docker engine answers (Binder, a laptop without
Docker): the notebooks still teach, from results measured on a real engine, labelled as such.

``python -m helpers record`` builds, measures, runs and checks the exercise's images on a real
engine and stores everything the notebooks show — build steps and logs, sizes, history, the
file-level breakdown, the /health answer, check reports — in ``recordings/recording.json.gz``
with the engine version, the date, the image ids, and a digest of the exercise files it
describes. Nothing is made up: without a recording the engine-less notebooks say so.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
import pandas as pd
from docker.errors import APIError
from requests.exceptions import RequestException

from . import __version__
from .build import BuildEvent, BuildResult, EventHandler, StepResult, build_image
from .build.engineless import basefiles
from .config import EXERCISE_DIR, MB, REPO_ROOT, SOLUTIONS_DIR, image_tag
from .engine.containers import HealthReport, check_health
from .errors import KitError, RunError, engine_error
from .grading.checks import run_checks
from .image import (
    SAVE_CHUNK_SIZE,
    ImageBreakdown,
    ImageSummary,
    file_breakdown,
    get_image,
    history_frame,
    summarize,
)

# The kit's one way to create an inspection container and to read its tar stream.
from .image.files import _ChunkReader, _created_container

RECORDING_PATH = REPO_ROOT / "recordings" / "recording.json.gz"
#: What is recorded: key -> (Dockerfile, build backend).
TARGETS = {
    "original": (EXERCISE_DIR / "Dockerfile", "classic"),
    "starter": (EXERCISE_DIR / "Dockerfile.multistage", "classic"),
    "reference": (SOLUTIONS_DIR / "Dockerfile.multistage", "classic"),
    "cache-mounts": (SOLUTIONS_DIR / "Dockerfile.cache-mounts", "auto"),
}
#: Images whose check report is recorded too.
CHECKED = ("starter", "reference")
BANNER = ("No Docker engine answers here, so these results come from a real run "
          "of the kit on {engine}, recorded {date}. Builds, runs and image checks are replayed, "
          "not measured now; static checks of your Dockerfile still run for real.")


def exercise_files() -> list[Path]:
    """The files a recording describes: the exercise and its solutions (docs excluded)."""
    files = [p for p in sorted((REPO_ROOT / "exercises").rglob("*"))
             if p.is_file() and p.suffix != ".md" and "__pycache__" not in p.parts]
    return files


def exercise_digest() -> str:
    """sha256 over the relative paths and contents of :func:`exercise_files`."""
    digest = hashlib.sha256()
    for path in exercise_files():
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def key_for(dockerfile: str | Path, context: str | Path = EXERCISE_DIR) -> str | None:
    """The recording key of a Dockerfile (as the notebooks name it), or None."""
    path = Path(dockerfile)
    if not path.is_absolute():
        path = Path(context) / path
    for key, (target, _backend) in TARGETS.items():
        if path.resolve() == target.resolve():
            return key
    return None


# --------------------------------------------------------------------------------------------
# Recording on a real engine
# --------------------------------------------------------------------------------------------
def _frame(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def record_image(client: docker.DockerClient, key: str,
                 progress: Callable[[str], EventHandler | None]) -> dict:
    """Build, measure and run one target; everything the notebooks show, as JSON data."""
    dockerfile, backend = TARGETS[key]
    tag = image_tag(f"exercise2-record-{key}")
    # nocache: the replayed build shows what a first build really costs, step by step.
    built = build_image(client, EXERCISE_DIR, tag, dockerfile, on_event=progress(key),
                        backend=backend, nocache=True)
    summary = summarize(client, tag)
    breakdown = file_breakdown(client, tag)
    try:
        health = check_health(client, tag)
        health_data = {"status_code": health.status_code, "body": health.body,
                       "elapsed_s": health.elapsed_s}
    except RunError as exc:
        health_data = {"error": exc.message, "hint": exc.hint, "logs": exc.logs[-4000:]}
    data = {
        "dockerfile": str(dockerfile.relative_to(REPO_ROOT)),
        "dockerfile_sha256": file_digest(dockerfile),
        "image_id": summary.image_id, "size_bytes": summary.size_bytes,
        "layers": summary.layers,
        "build": {"steps": [asdict(step) for step in built.steps], "log": built.log,
                  "duration_s": built.duration_s, "backend": built.backend},
        "history": _frame(history_frame(client, tag)),
        "breakdown": {"layers": _frame(breakdown.layers), "files": _frame(breakdown.files),
                      "total_bytes": breakdown.total_bytes,
                      "final_bytes": breakdown.final_bytes,
                      "wasted_bytes": breakdown.wasted_bytes,
                      "efficiency": breakdown.efficiency},
        "health": health_data,
    }
    if key in CHECKED:
        data["checks"] = run_checks(client, EXERCISE_DIR, dockerfile,
                                    tag=image_tag(f"exercise2-record-{key}-check"),
                                    backend=backend, use_cache=False).to_json()
    for name in (tag, image_tag(f"exercise2-record-{key}-check")):
        try:
            client.images.remove(name, noprune=False)
        except docker.errors.APIError:
            pass
    return data


def record(client: docker.DockerClient,
           progress: Callable[[str], EventHandler | None] = lambda key: None) -> dict:
    """A whole recording: every target of :data:`TARGETS`, with the run's metadata."""
    images = {key: record_image(client, key, progress) for key in TARGETS}
    return {
        "meta": {
            "engine": engine_text(client),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kit_version": __version__,
            "exercise_digest": exercise_digest(),
            "image_ids": {key: image["image_id"] for key, image in images.items()},
        },
        "images": images,
    }


def engine_text(client: docker.DockerClient) -> str:
    """The engine a recording was made on, in one line (version, API, platform, driver)."""
    version, info = client.version(), client.info()
    return (f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')}, "
            f"{version.get('Os')}/{version.get('Arch')}, {info.get('Driver')})")


def save(recording: dict, path: Path = RECORDING_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No name and mtime=0 in the gzip header: the same recording always gives the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                 mtime=0) as out:
        out.write(json.dumps(recording, indent=1, sort_keys=True).encode())
    return path


# --------------------------------------------------------------------------------------------
# The base image's manifest, for the engine-less build (helpers.build.engineless.basefiles)
# --------------------------------------------------------------------------------------------
#: Files whose bytes a base-image recording keeps: what a learner copies into a scratch image.
BASE_BYTES_FILES = ("/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/services",
                    "/etc/protocols", "/etc/mime.types")
#: Folders whose regular files' bytes are kept too, each whole or not at all, in this order
#: while the kept bytes stay within :data:`BASE_BYTES_BUDGET`.
BASE_BYTES_FOLDERS = ("/etc/ssl/", "/usr/share/ca-certificates/", "/usr/share/zoneinfo/")
BASE_BYTES_BUDGET = 6 * MB
#: What the engine puts in every container's init layer (moby ``daemon/initlayer``): through
#: a container these paths show the engine's placeholders, not the image's own entries.
INIT_LAYER_PATHS = frozenset({"/.dockerenv", "/dev/console", "/dev/pts", "/dev/shm",
                              "/etc/hostname", "/etc/hosts", "/etc/mtab", "/etc/resolv.conf",
                              "/proc", "/sys"})


def record_base_image(client: docker.DockerClient, ref: str = "golang:1.22") -> dict:
    """The manifest of base image ``ref`` on this engine, as the data file stores it.

    Every path of the image's final filesystem comes from one created (never started)
    container's ``/``, streamed as a tar (the engine merges the layers, whiteouts included),
    except :data:`INIT_LAYER_PATHS`, which are read from the image's own layers (its
    ``docker save`` stream); the layer of each visible file and the layers table come from
    :func:`helpers.image.file_breakdown`, and the two must list the same files. Device
    nodes and fifos are listed under ``special`` (the engine-less build never copies them).

    Bytes are kept (base64) only for the small files a learner copies into a scratch image:
    :data:`BASE_BYTES_FILES` that exist, and every regular file under each of
    :data:`BASE_BYTES_FOLDERS` (CA certificates, time zones) as long as the kept bytes stay
    within :data:`BASE_BYTES_BUDGET` (6 MB uncompressed; the golang image needs about 1.8).
    Every other file keeps only its size. The document is canonical: re-recording the same
    image gives the same document but for ``recorded`` (see :func:`save_base_image`).

    Raises:
        KitError: The image is missing, the engine failed, or the container's and the
            image's file lists disagree.
    """
    image = get_image(client, ref)
    breakdown = file_breakdown(client, ref)
    visible = {path: (int(size), int(layer))
               for path, size, layer in breakdown.files.itertuples(index=False)}
    rows, data, special = _container_filesystem(client, ref)
    _restore_init_layer(client, ref, rows, visible)
    files = {path for path, row in rows.items() if row[1] != "dir"}
    for path in sorted(files - visible.keys()):
        del rows[path]  # an engine's extra (a placeholder without an image entry)
    if missing := sorted(visible.keys() - files):
        raise KitError(f"{ref}: the image lists {len(missing)} file(s) its container does "
                       f"not show ({', '.join(missing[:3])}...).",
                       "Re-record on another engine and report the engine's version.")
    _match_hard_links(rows, visible)
    for path, (_size, layer) in visible.items():
        rows[path][7] = layer
    attrs, config = image.attrs, image.attrs.get("Config") or {}
    return {
        "format": basefiles.FORMAT, "columns": list(basefiles.COLUMNS),
        "ref": basefiles.canonical_ref(ref), "image_id": image.id,
        "repo_digests": sorted(attrs.get("RepoDigests") or []),
        "engine": engine_text(client), "recorded": dt.date.today().isoformat(),
        "config": {key: config.get(key) for key in basefiles.CONFIG_KEYS},
        "os": attrs.get("Os") or "linux", "architecture": attrs.get("Architecture") or "",
        "layers": _frame(breakdown.layers), "total_bytes": int(breakdown.total_bytes),
        "engine_size_bytes": int(attrs.get("Size") or 0),
        "entries": [rows[path] for path in sorted(rows)],
        "data": {path: base64.b64encode(data[path]).decode("ascii")
                 for path in sorted(data) if path in rows},
        "special": sorted(special),
    }


def _match_hard_links(rows: dict[str, list], visible: dict[str, tuple[int, int]]) -> None:
    """Make the same path of each group of hard links the regular file as the image's layer
    does (in place). Which name of one inode a tar stores as the file depends on the order
    the engine walks the tree; the layer's choice is the one :func:`file_breakdown` (and
    so :attr:`helpers.image.ImageBreakdown.files`) counts the bytes on."""
    groups: dict[str, list[str]] = {}
    for path, row in rows.items():
        if row[1] == "hardlink" and row[6] in rows:
            groups.setdefault(row[6], []).append(path)
    for target, links in groups.items():
        names = [target, *links]
        chosen = next((p for p in names if visible.get(p, (0, 0))[0] > 0), target)
        if chosen == target:
            continue
        file_row = rows[target]
        for path in names:
            rows[path] = ([path, *file_row[1:]] if path == chosen
                          else [path, "hardlink", *file_row[2:5], 0, chosen, 0])


def _tar_path(name: str) -> str:
    """A tar member's name as an absolute path (``./etc/`` and ``/etc`` -> ``/etc``)."""
    name = name.removeprefix("./")
    return posixpath.normpath("/" + name.strip("/")) if name.strip("/") else "/"


def _row(member: tarfile.TarInfo) -> list | None:
    """``[path, kind, mode, uid, gid, size, linkname, layer]`` of a member; None for a device
    or fifo. A hard link's target is made absolute, a symlink's kept as written."""
    kind = ("dir" if member.isdir() else "symlink" if member.issym()
            else "hardlink" if member.islnk() else "file" if member.isreg() else None)
    if kind is None:
        return None
    link = (member.linkname if kind == "symlink"
            else _tar_path(member.linkname) if kind == "hardlink" else "")
    return [_tar_path(member.name), kind, member.mode & 0o7777, member.uid, member.gid,
            member.size if kind == "file" else 0, link, 0]


class _KeptBytes:
    """The bytes of :data:`BASE_BYTES_FILES` and of each :data:`BASE_BYTES_FOLDERS` folder,
    gathered while the filesystem streams by; a folder over the budget is dropped at once."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, bytes]] = {"": {}}
        self.groups.update({folder: {} for folder in BASE_BYTES_FOLDERS})
        self.over: set[str] = set()

    def group_of(self, path: str, size: int) -> str | None:
        """The group ``path``'s bytes belong to, or None when they are not wanted."""
        group = "" if path in BASE_BYTES_FILES else next(
            (f for f in BASE_BYTES_FOLDERS if path.startswith(f)), None)
        if group is None or group in self.over:
            return None
        if sum(map(len, self.groups[group].values())) + size > BASE_BYTES_BUDGET:
            self.over.add(group)
            self.groups[group] = {}
            return None
        return group

    def kept(self) -> dict[str, bytes]:
        """The groups that fit, in order, within the budget all together."""
        kept: dict[str, bytes] = {}
        for group, files in self.groups.items():
            size = sum(map(len, files.values()))
            if group not in self.over and sum(map(len, kept.values())) + size \
                    <= BASE_BYTES_BUDGET:
                kept.update(files)
        return kept


def _container_filesystem(client: docker.DockerClient, ref: str
                          ) -> tuple[dict[str, list], dict[str, bytes], list[str]]:
    """Rows of every path of a created container of ``ref`` (by path), the kept bytes, and
    the paths of devices and fifos, from one stream of its ``/``."""
    rows: dict[str, list] = {}
    kept, special = _KeptBytes(), []
    with _created_container(client, ref) as container:
        try:
            chunks, _stat = container.get_archive("/")
        except APIError as exc:
            raise engine_error(exc, f"reading the filesystem of {ref!r}") from None
        try:
            with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks), 1 << 16),
                              mode="r|") as tar:
                for member in tar:
                    row = _row(member)
                    if row is None:
                        special.append(_tar_path(member.name))
                        continue
                    rows[row[0]] = row
                    group = kept.group_of(row[0], row[5]) if row[1] == "file" else None
                    if group is not None:
                        kept.groups[group][row[0]] = tar.extractfile(member).read()
        except tarfile.TarError as exc:
            raise KitError(f"The engine sent a damaged archive of {ref!r}: {exc}",
                           "Retry; if it persists, restart the engine.") from None
        except RequestException as exc:
            raise engine_error(exc, f"reading the filesystem of {ref!r}") from None
        finally:
            getattr(chunks, "close", lambda: None)()
    return rows, kept.kept(), special


def _restore_init_layer(client: docker.DockerClient, ref: str, rows: dict[str, list],
                        visible: dict[str, tuple[int, int]]) -> None:
    """Put the image's own entries at :data:`INIT_LAYER_PATHS` in ``rows`` (in place).

    A file or link comes from the layer :func:`file_breakdown` says shows it; a folder from
    the newest layer holding it (a later layer's whiteout of such a folder, which no base
    image does, is not looked for); a path the image lacks is left out.
    """
    for path in INIT_LAYER_PATHS:
        rows.pop(path, None)
    layers = _layer_rows(client, ref, INIT_LAYER_PATHS)
    for path in INIT_LAYER_PATHS:
        if path in visible:
            row = layers[visible[path][1] - 1].get(path)
        else:
            row = next((layer[path] for layer in reversed(layers)
                        if layer.get(path, [None, ""])[1] == "dir"), None)
        if row is not None:
            rows[path] = row


class _Prefixed:
    """A read-only stream: ``head`` (already read), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(size)
        if size < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data


def _layer_rows(client: docker.DockerClient, ref: str, paths: frozenset[str]
                ) -> list[dict[str, list]]:
    """For each layer of ``ref`` (oldest first), the rows of those of ``paths`` it holds,
    from its ``docker save`` stream (plain or gzip layers, any layout with a
    ``manifest.json``: Docker, Docker >= 25, Podman)."""
    tables: dict[str, dict[str, list]] = {}
    documents: dict[str, bytes] = {}
    links: dict[str, str] = {}
    chunks = client.api.get_image(ref, chunk_size=SAVE_CHUNK_SIZE)
    try:
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks), 1 << 16),
                          mode="r|") as outer:
            for member in outer:
                name = _tar_path(member.name)
                if member.issym() or member.islnk():
                    base = "/" if member.islnk() else posixpath.dirname(name)
                    links[name] = _tar_path(posixpath.join(base, member.linkname))
                elif member.isreg() and member.size:
                    stream = outer.extractfile(member)
                    head = stream.read(512)
                    if head[:1] in (b"{", b"["):
                        documents[name] = head + stream.read()
                        continue
                    try:
                        with tarfile.open(fileobj=_Prefixed(head, stream), mode="r|*") as inner:
                            tables[name] = {row[0]: row for m in inner
                                            if _tar_path(m.name) in paths and (row := _row(m))}
                    except tarfile.TarError:
                        continue  # not a layer
    except (tarfile.TarError, APIError, RequestException) as exc:
        raise KitError(f"Cannot read the export of {ref!r}: {exc}",
                       f"Check that `docker save {ref} | tar -t` works.") from None
    finally:
        getattr(chunks, "close", lambda: None)()

    def resolve(name: str) -> str:
        for _ in range(8):
            name = links.get(name, name)
        return name

    try:
        names = json.loads(documents["/manifest.json"])[0]["Layers"]
        return [tables[resolve(_tar_path(layer))] for layer in names]
    except (KeyError, IndexError, ValueError) as exc:
        raise KitError(f"The export of {ref!r} has no readable manifest.json or layer "
                       f"({exc}).", "Record on an engine whose `docker save` writes "
                       "manifest.json (Docker, Podman).") from None


def save_base_image(doc: dict, path: Path | None = None) -> Path:
    """Write a :func:`record_base_image` document to ``path`` (default: where
    :func:`~helpers.build.engineless.basefiles.load_base_image` finds it).

    gzip without name and mtime, canonical JSON (sorted keys, no spaces): the same document
    gives the same bytes. A file already there recording the same thing (equal but for
    ``recorded`` and ``engine``) is left as it is, so re-recording the same image on the
    same kit changes nothing in git.
    """
    path = path or basefiles.recording_path(doc["ref"])
    if path.is_file():
        with gzip.open(path, "rb") as stream:
            old = json.loads(stream.read())
        volatile = ("recorded", "engine")
        if {k: v for k, v in old.items() if k not in volatile} \
                == {k: v for k, v in doc.items() if k not in volatile}:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                 mtime=0) as out:
        out.write(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    return path


# --------------------------------------------------------------------------------------------
# Replaying
# --------------------------------------------------------------------------------------------
@dataclass
class Recording:
    """A loaded recording: results rebuilt as the kit's own types, marked ``recorded``."""

    data: dict

    @property
    def meta(self) -> dict:
        return self.data["meta"]

    def banner(self) -> str:
        return BANNER.format(engine=self.meta["engine"], date=self.meta["date"])

    def is_current(self) -> bool:
        """Whether the exercise files are those the recording describes."""
        return self.meta["exercise_digest"] == exercise_digest()

    def image(self, key: str) -> dict:
        if key not in self.data["images"]:
            raise KitError(f"The recording has no run of {key!r}.",
                           "Re-record with `python -m helpers record` on a machine with Docker.")
        return self.data["images"][key]

    def build_result(self, key: str, tag: str) -> BuildResult:
        build = self.image(key)["build"]
        steps = [StepResult(**step) for step in build["steps"]]
        return BuildResult(tag, self.image(key)["image_id"], steps, build["log"],
                           build["duration_s"], build["backend"], recorded=True)

    def replay_build(self, key: str, tag: str, on_event: EventHandler | None) -> BuildResult:
        """Send the recorded build's events to ``on_event`` (at once), return its result."""
        result = self.build_result(key, tag)
        if on_event is not None:
            total = len(result.steps)
            for step in result.steps:
                on_event(BuildEvent("step", step.started_s, step=step.number, total=total,
                                    instruction=step.instruction))
                on_event(BuildEvent("step-done", step.started_s + step.duration_s,
                                    step=step.number, total=total,
                                    instruction=step.instruction, result=step))
            on_event(BuildEvent("done", result.duration_s, total=total, result=result))
        return result

    def summary(self, key: str, tag: str) -> ImageSummary:
        image = self.image(key)
        return ImageSummary(tag, image["image_id"], image["size_bytes"], image["layers"],
                            recorded=True)

    def history(self, key: str) -> pd.DataFrame:
        return pd.DataFrame(self.image(key)["history"])

    def breakdown(self, key: str, tag: str) -> ImageBreakdown:
        data = self.image(key)["breakdown"]
        return ImageBreakdown(tag, pd.DataFrame(data["layers"]), pd.DataFrame(data["files"]),
                              data["total_bytes"], data["final_bytes"], data["wasted_bytes"],
                              data["efficiency"], recorded=True)

    def health(self, key: str) -> HealthReport:
        data = self.image(key)["health"]
        if "error" in data:
            raise RunError(data["error"], logs=data.get("logs", ""), hint=data.get("hint", ""))
        return HealthReport(data["status_code"], data["body"], data["elapsed_s"], recorded=True)


def load(path: Path = RECORDING_PATH) -> Recording | None:
    """The stored recording, or None if there is none."""
    if not path.is_file():
        return None
    with gzip.open(path, "rb") as stream:
        return Recording(json.loads(stream.read()))
