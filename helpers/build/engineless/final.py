"""The final stage without an engine: its layers and config, as :class:`EnginelessImage`.

Two shapes are assembled, the ones this exercise produces:

* a final stage whose FROM chain starts at ``scratch``: one layer per ``COPY`` (``--from`` a
  stage or an image, or from the context) and per ``WORKDIR`` that creates a folder, as
  BuildKit and the classic builder make them; every byte is on disk, so the image can be
  written as an archive and loaded on an engine;
* a final stage whose chain starts at a recorded ``golang`` image (the starter, the
  single-stage original): the stage is replayed like a builder stage, its own files form one
  layer on top of the base, which is known from its recorded manifest (names, sizes and a
  few files' bytes): enough to measure it, not to load it.

Anything else (``FROM alpine`` in the final stage, a ``RUN`` in ``scratch``) raises
:class:`~.entries.NeedsEngine`.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ...dockerfile import DockerfileModel, Instruction, Stage
from ...dockerfile.model import join_path
from .context import BuildContext, CopySpec, copy_spec
from .disk import entries_of, materialize
from .entries import FileEntry, NeedsEngine
from .runconfig import stage_config
from .stages import StageFiles

if TYPE_CHECKING:
    from .basefiles import BaseImage

#: Instructions of a scratch final stage that only change the config.
_CONFIG_ONLY = frozenset({"ENV", "ARG", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "HEALTHCHECK",
                          "LABEL", "STOPSIGNAL", "SHELL", "MAINTAINER"})



@dataclass
class EnginelessImage:
    """An image built without an engine: layers above its base, config, recorded base.

    Attributes:
        layers: The entries of each layer the Dockerfile made, oldest first.
        created_by: The instruction that made each layer (the image history).
        config: The run config (``docker inspect``'s ``Config``).
        base: The recorded base image below the layers, or None (``scratch``).
    """

    layers: list[list[FileEntry]]
    created_by: list[str]
    config: dict
    base: "BaseImage | None" = None
    _top: dict[str, FileEntry] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for layer in self.layers:
            self._top.update({e.path: e for e in layer})

    @property
    def complete(self) -> bool:
        """Whether every byte of the image is here (it can be written and loaded)."""
        return self.base is None

    def lookup(self, path: str) -> FileEntry | None:
        """The entry a container sees at ``path`` (the top layer's, else the base's)."""
        path = join_path("/", path)
        if path in self._top:
            return self._top[path]
        return self.base.lookup(path) if self.base is not None else None

    def resolve(self, path: str, depth: int = 0) -> FileEntry | None:
        """:meth:`lookup` with symlinks followed, as ``open()`` in the container would."""
        entry = self.lookup(path)
        if entry is None or entry.kind != "symlink" or depth > 40:
            return entry
        return self.resolve(join_path(posixpath.dirname(join_path("/", path)),
                                      entry.linkname), depth + 1)

    def read(self, path: str) -> bytes | None:
        """The bytes of the file at ``path`` (links followed), or None without them."""
        entry = self.resolve(path)
        if entry is None or entry.kind != "file":
            return None
        if entry.data is not None:
            return entry.data
        return entry.source.read_bytes() if entry.source is not None else None

    def layer_files(self) -> list[dict[str, int]]:
        """Per layer, ``{path: bytes}`` of its regular files, hard links and symlinks."""
        return [{e.path: e.size for e in layer if e.kind != "dir"} for layer in self.layers]

    def materialize(self, root: Path) -> None:
        """Write the image's files under ``root``: what a local run starts from. Of a
        recorded base only the files whose bytes are recorded (``/etc/passwd``, the CA
        bundle...) are written; then the layers, later ones winning."""
        if self.base is not None:
            materialize([e for e in self.base.entries() if e.kind == "file"
                         and e.data is not None], root)
        for layer in self.layers:
            materialize(layer, root)


def assemble_final(model: DockerfileModel, context: BuildContext, work: Path, *,
                   stage_files: StageFiles, load_base: Callable[[str], "BaseImage | None"],
                   run_stage: Callable[[int], Path]) -> EnginelessImage:
    """The final stage of ``model`` as an :class:`EnginelessImage`.

    Args:
        work: An empty folder for the layers copied from the context.
        stage_files: Resolves ``COPY --from`` (see :data:`~.stages.StageFiles`).
        load_base: The recorded manifest of an image reference, or None.
        run_stage: Replays a golang-based final stage (its index) and returns its root.
    """
    final = model.final
    root_image = model.root_image(final)
    if root_image == "scratch":
        layers, created_by = _scratch_layers(model, final, context, work, stage_files)
        return EnginelessImage(layers, created_by, stage_config(model, final))
    base = load_base(root_image)
    if base is None:
        raise NeedsEngine(f"FROM {root_image}", "the final stage can be built without an engine "
                          "only FROM scratch, or FROM a golang image whose manifest is recorded")
    root = run_stage(final.index)
    layer = [e for e in entries_of(root) if not _unchanged_dir(e, base)]
    what = " + ".join(f"{i.keyword} {i.raw}" for st in model.chain(final)
                      for i in st.instructions if i.keyword in ("COPY", "ADD", "RUN"))
    return EnginelessImage([layer] if layer else [], [what] if layer else [],
                           stage_config(model, final, base.config), base)


def _unchanged_dir(entry: FileEntry, base: "BaseImage") -> bool:
    """A folder the base has already (``/go``, ``/root``...): no change of this layer."""
    found = base.lookup(entry.path) if entry.kind == "dir" else None
    return found is not None and found.kind == "dir"


def _scratch_layers(model: DockerfileModel, final: Stage, context: BuildContext, work: Path,
                    stage_files: StageFiles) -> tuple[list[list[FileEntry]], list[str]]:
    """One layer per COPY/ADD and per folder-making WORKDIR along the final chain."""
    layers: list[list[FileEntry]] = []
    created_by: list[str] = []
    folders: set[str] = {"/"}
    for st in model.chain(final):
        for number, instruction in enumerate(st.instructions):
            what = f"{instruction.keyword} {instruction.raw}"
            state = model.state_at(st, instruction.line)
            if instruction.keyword in _CONFIG_ONLY:
                continue
            if instruction.keyword == "WORKDIR":
                path = model.state_at(st, instruction.end_line + 1).workdir
                layer = [FileEntry(path, "dir", 0o755)] if path not in folders else []
            elif instruction.keyword in ("COPY", "ADD"):
                layer = _copy_layer(instruction, state.workdir, context,
                                    work / f"layer-{st.index}-{number}", stage_files)
            else:
                raise NeedsEngine(what, "the final stage has no shell or tools to run it "
                                  "without an engine")
            if layer:
                folders.update(e.path for e in layer if e.kind == "dir")
                layers.append(layer)
                created_by.append(what)
    return layers, created_by


def _copy_layer(instruction: Instruction, workdir: str, context: BuildContext, folder: Path,
                stage_files: StageFiles) -> list[FileEntry]:
    """The entries one COPY/ADD adds, ``--chown``/``--chmod`` applied."""
    spec = copy_spec(instruction)
    if spec.source is not None:
        entries = stage_files(spec.source, spec.sources, spec.dest, workdir)
    else:
        entries = _context_entries(spec, workdir, context, folder)
    owner = dict(zip(("uid", "gid"), spec.owner)) if spec.owner else {}
    return [dataclasses.replace(e, **owner, **({"mode": spec.mode} if spec.mode is not None
                                               and e.kind != "symlink" else {}))
            for e in entries]


def _context_entries(spec: CopySpec, workdir: str, context: BuildContext,
                     folder: Path) -> list[FileEntry]:
    """COPY/ADD from the context, copied into ``folder`` and read back as entries."""
    matched = context.copy_sources(spec)
    target = join_path(workdir, spec.dest)
    into = spec.dest.endswith(("/", "/.")) or spec.dest in (".", "..") or len(matched) > 1
    folder.mkdir(parents=True)
    for rel in matched:
        context.copy_into(folder, rel, target, into)
    return entries_of(folder)  # with the parent folders Docker creates too
