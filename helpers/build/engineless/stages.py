"""Run one Go builder stage of the learner's Dockerfile locally, in a folder standing for ``/``.

Without an engine the builder stage is replayed with the real Go toolchain and the final stage
takes its files through :meth:`StageResult.files`. Only the exercise's subset is replayed;
anything else raises :class:`~.entries.NeedsEngine` naming the instruction (a check then
reports ``skip``, never a result the real build would not give):

* ``FROM golang:<version>`` (Debian variants, the local Go's minor version; a stage FROM such
  a stage replays the chain), ``WORKDIR``, ``ENV``, ``ARG`` (with BuildKit's platform ARGs
  for this machine), metadata (``LABEL``, ``EXPOSE``, ``CMD``...);
* ``COPY``/``ADD`` of context paths, ``.dockerignore`` honoured, and ``COPY --from`` of an
  earlier stage's files; ``--chown``/``--chmod`` recorded; ``RUN`` of ``go mod
  download|verify``, ``go build``, ``mkdir``, ``cd`` joined by ``&&``, with
  ``--mount=type=cache|bind|tmpfs``; ``USER`` (only a later ``RUN`` needs it to be root).

cgo follows the golang image, which has gcc: an unset ``CGO_ENABLED`` means cgo on (a dynamic
binary when ``net`` is used), so without a local C compiler the stage is refused, never
silently built static.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Callable, Iterator

from ...dockerfile import DockerfileModel, Instruction, parse
from ...dockerfile.go import GO_VALUE_FLAGS
from ...dockerfile.model import PAST_END, StageState, join_path
from ...dockerfile.refs import is_official_golang, split_ref
from ...dockerfile.shell import command_text, shell_commands, strip_prefixes
from ...dockerfile.words import OPERATORS, expand, split_words
from ...errors import BuildError
from . import toolchain
from .context import BuildContext, CopySpec, copy_spec
from .disk import host_path, materialize
from .entries import FileEntry, NeedsEngine

Lines = Callable[[str], None]
BaseFiles = Callable[[str], "list[FileEntry] | None"]
#: ``(--from value, sources, dest, workdir) -> entries``: what a ``COPY --from`` brings.
StageFiles = Callable[[str, "list[str]", str, str], "list[FileEntry]"]

#: Instructions that change nothing in the stage's filesystem.
_METADATA = frozenset({"LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL",
                       "MAINTAINER", "ONBUILD", "ENV", "ARG"})
#: ``go build`` flags whose value is a path (mapped into the stage's root when absolute).
_PATH_FLAGS = frozenset({"o", "C", "modfile", "overlay", "pkgdir", "pgo"})
#: The golang image's Debian variants (alpine has no gcc, windows is another OS).
_TAG = re.compile(r"^(?P<minor>\d+\.\d+)(?P<patch>\.\d+)?(?:-(?:bookworm|bullseye|trixie))?$")
#: The golang image's PATH (its ENV), kept in :attr:`StageResult.env`.
_IMAGE_PATH = ("/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
               ":/sbin:/bin")


@dataclass
class StageResult:
    """What a builder stage left behind, for the final stage's ``COPY --from``.

    Attributes:
        root: The folder standing for the stage's ``/``.
        env: The stage's environment in image terms: the golang image's ENV, then the
            Dockerfile's ENV.
        workdir: The stage's final WORKDIR.
        owners: ``--chown`` of COPY/ADD, by image path: ``(uid, gid)``; everything else is
            root's, as every RUN of the stage ran as root.
        modes: ``--chmod`` of COPY/ADD, by image path.
        base_files: Resolves a path the stage did not produce to the base image's entries
            (a recorded ``golang:1.22`` manifest), or None when the image lacks it.
    """

    root: Path
    env: dict[str, str]
    workdir: str
    owners: dict[str, tuple[int, int]] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    base_files: BaseFiles | None = None

    def files(self, sources: list[str], dest: str, *, workdir: str = "/") -> list[FileEntry]:
        """The entries ``COPY --from=<this stage> <sources> <dest>`` adds to another stage.

        Docker's rules: ``sources`` are paths from this stage's ``/`` (globs allowed); a
        file goes to ``dest`` itself unless ``dest`` ends in ``/`` (or is ``.``) or there
        are several sources, then inside it; a folder's contents go into ``dest``; a source
        that is a symlink is followed, symlinks inside a folder are kept; modes are kept.
        ``dest`` is made absolute against ``workdir`` (the copying stage's). Parent folders
        of ``dest`` are not included. Regular files name their file on disk (``source``).

        Raises:
            NeedsEngine: a source this stage did not produce and :attr:`base_files` cannot
                provide.
        """
        matched = [m for s in sources for m in self._match(s)]
        into = dest.endswith(("/", "/.")) or dest in (".", "..") or len(matched) > 1
        target = join_path(workdir, dest)
        entries: list[FileEntry] = []
        for path, found in matched:
            if isinstance(found, list):
                entries += self._rebase(found, path, target, into)
                continue
            real = self._follow(path)
            disk = host_path(self.root, real)
            if disk.is_dir():
                entries += self._folder(real, target)
            else:
                at = join_path(target, posixpath.basename(path)) if into else target
                entries.append(self._entry(real, disk, at))
        return entries

    # ---- helpers of files() -------------------------------------------------------------
    def _match(self, source: str) -> list[tuple[str, list[FileEntry] | None]]:
        """``(image path, base entries or None when produced)`` for one source."""
        path = join_path("/", source)
        if re.search(r"[*?\[]", path):
            found = _glob(self.root, path)
            if found:
                return [(p, None) for p in found]
        elif os.path.lexists(host_path(self.root, path)):
            return [(path, None)]
        base = self.base_files(path) if self.base_files is not None else None
        if base is None:
            raise NeedsEngine(f"COPY --from {source}", "the builder stage did not produce it; "
                              "it would come from the base image, and no manifest of it is "
                              "recorded here")
        return [(path, base)]

    def _follow(self, path: str) -> str:
        """``path`` with symlinks resolved the way they resolve inside the stage."""
        for _ in range(40):
            disk = host_path(self.root, path)
            if not disk.is_symlink():
                return path
            path = join_path(posixpath.dirname(path), os.readlink(disk))
        raise BuildError(f"too many levels of symbolic links: {path}")

    def _entry(self, path: str, disk: Path, at: str) -> FileEntry:
        """The entry for ``path`` (on ``disk``) placed at ``at``."""
        st = disk.lstat()
        uid, gid = self.owners.get(path, (0, 0))
        mode = self.modes.get(path, st.st_mode & 0o7777)
        if disk.is_symlink():
            return FileEntry(at, "symlink", 0o777, uid, gid, linkname=os.readlink(disk))
        if disk.is_dir():
            return FileEntry(at, "dir", mode, uid, gid)
        return FileEntry(at, "file", mode, uid, gid, source=disk)

    def _folder(self, path: str, target: str) -> list[FileEntry]:
        """The folder ``path``'s contents (and the folder itself) placed at ``target``."""
        top = host_path(self.root, path)
        entries = [self._entry(path, top, target)]
        for here, dirs, names in os.walk(top):
            dirs.sort()
            for name in sorted(dirs + names):
                disk = Path(here) / name
                rel = disk.relative_to(top).as_posix()
                entries.append(self._entry(join_path(path, rel), disk, join_path(target, rel)))
        return entries

    @staticmethod
    def _rebase(found: list[FileEntry], path: str, target: str, into: bool) -> list[FileEntry]:
        """Base-image entries of ``path`` moved to where the COPY puts them."""
        top = next((e for e in found if e.path == path), None)
        if top is not None and top.kind != "dir":
            at = join_path(target, posixpath.basename(path)) if into else target
            return [_moved(top, at)]
        return [_moved(e, join_path(target, posixpath.relpath(e.path, path)))
                for e in found if e.path == path or e.path.startswith(path.rstrip("/") + "/")]


def _moved(entry: FileEntry, path: str) -> FileEntry:
    return dataclasses.replace(entry, path=path)  # bytes, size and links kept


def _glob(root: Path, pattern: str) -> list[str]:
    """Image paths under ``root`` matching ``pattern`` segment by segment (Go's filepath.Match:
    ``*`` never crosses ``/``)."""
    found = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        found = [join_path(base, name) for base in found
                 if host_path(root, base).is_dir()
                 for name in sorted(os.listdir(host_path(root, base)))
                 if fnmatchcase(name, part)]
    return found


# ---- running the stage ------------------------------------------------------------------

def run_builder_stage(model: DockerfileModel, stage_index: int, context: Path, root: Path, *,
                      go: Path, cache: Path, on_line: Lines | None = None,
                      base_files: BaseFiles | None = None,
                      stage_files: StageFiles | None = None,
                      caches_in_image: bool = False) -> StageResult:
    """Replay builder stage ``stage_index`` (and the stages it is FROM) into ``root``.

    Args:
        model: The parsed Dockerfile (re-read with this machine's platform ARGs when it
            came from a file).
        stage_index: The stage to run; its FROM chain must start at ``golang:<version>``.
        context: The build context (its ``.dockerignore`` is honoured).
        root: An empty (or missing) folder standing for the stage's ``/``.
        go: The Go toolchain (:func:`~.toolchain.go_toolchain`).
        cache: Where Go's build and module caches live between builds (warm rebuilds).
        on_line: Receives build-log lines: each instruction and the output of each command.
        base_files: See :attr:`StageResult.base_files`.
        caches_in_image: Keep Go's build and module caches inside the root, where the image
            has them (a final stage on golang ships them), instead of the warm caches kept
            between builds; a cache mount at their path still keeps them out.
        stage_files: Resolves a ``COPY --from`` (another stage's or an image's files);
            without it such a COPY needs an engine.

    Raises:
        NeedsEngine: an instruction outside the supported subset (see the module docs).
        BuildError: a command failed, or a COPY source is not in the context.
    """
    runner = _Runner(Path(go), Path(context), Path(root), Path(cache), on_line or (lambda _: None))
    runner.stage_files = stage_files
    runner.caches_in_image = caches_in_image
    model = runner.with_platform(model)
    stage = model.stages[stage_index]
    chain = model.chain(stage)
    runner.check_from(chain[0])
    runner.prepare_root()
    runner.log(f"[{stage.name or stage.index}] FROM {chain[0].base} (local {runner.info.version})")
    total = sum(len(s.instructions) for s in chain)
    step = 0
    for st in chain:
        for instruction in st.instructions:
            step += 1
            runner.log(f"[{stage.name or stage.index} {step}/{total}] "
                       f"{instruction.keyword} {instruction.raw}")
            runner.apply(instruction, model.state_at(st, instruction.line))
    final = model.state_at(stage, PAST_END)
    env = {"PATH": _IMAGE_PATH, "GOLANG_VERSION": runner.version,
           "GOTOOLCHAIN": "local", **final.image_env, **final.env}
    return StageResult(runner.root, env, final.workdir, runner.owners, runner.modes, base_files)


class _Runner:
    """The state of one replay: paths, the context's files, recorded ownership and modes."""

    def __init__(self, go: Path, context: Path, root: Path, cache: Path, log: Lines) -> None:
        self.go, self.root, self.cache, self.log = go, root, cache, log
        self.context = BuildContext(context)
        self.owners: dict[str, tuple[int, int]] = {}
        self.modes: dict[str, int] = {}
        self.stage_files: StageFiles | None = None
        self.caches_in_image = False
        self.user: str | None = None  # a non-root USER in effect
        self.cache_mounts: set[str] = set()
        self.info = toolchain.go_info(go)
        self.version = self.info.version.removeprefix("go")

    # ---- before the first instruction ---------------------------------------------------
    def with_platform(self, model: DockerfileModel) -> DockerfileModel:
        """``model`` re-read with the platform ARGs, so COPY/WORKDIR/ENV see them too."""
        if self.info.os != "linux":
            raise NeedsEngine("FROM golang", f"the golang image is Linux; this is {self.info.os}")
        args = {**self.info.platform_args(), **model.build_args}
        return model if model.path is None else parse(model.path, args)

    def check_from(self, first) -> None:
        """Refuse a base other than the local Go's ``golang`` image for this platform."""
        what = f"FROM {first.from_instruction.raw if first.from_instruction else first.base}"
        repo, tag = split_ref(first.base)
        match = _TAG.match(tag or "") if is_official_golang(first.base) else None
        if match is None:
            raise NeedsEngine(what, "only golang:<version> (Debian) stages are run without "
                              "an engine")
        wanted = match["minor"] + (match["patch"] or "")
        if not (self.version == wanted or not match["patch"]
                and self.version.startswith(wanted + ".")):
            raise NeedsEngine(what, f"the local Go is {self.info.version}")
        plat = first.platform
        if plat and plat not in (self.info.platform, "$BUILDPLATFORM"):
            raise NeedsEngine(what, f"platform {plat} is not this machine's")

    def prepare_root(self) -> None:
        """What the golang image has that the stage's commands rely on: /go, /root, /tmp."""
        self.root.mkdir(parents=True, exist_ok=True)
        if any(self.root.iterdir()):
            raise BuildError(f"{self.root} is not empty; the stage needs an empty root")
        for path, mode in (("go", 0o1777), ("go/bin", 0o1777), ("go/src", 0o1777),
                           ("root", 0o700), ("tmp", 0o1777)):
            (self.root / path).mkdir()
            os.chmod(self.root / path, mode)
        for folder in ("go-build", "mod"):
            (self.cache / folder).mkdir(parents=True, exist_ok=True)

    # ---- instructions -------------------------------------------------------------------
    def apply(self, instruction: Instruction, state: StageState) -> None:
        """Replay one instruction, with the ``state`` it runs in."""
        keyword = instruction.keyword
        if keyword in _METADATA:
            return
        if keyword == "WORKDIR":
            host_path(self.root, join_path(state.workdir, instruction.arguments[0])).mkdir(
                parents=True, exist_ok=True)
        elif keyword in ("COPY", "ADD"):
            self.copy(instruction, state)
        elif keyword == "RUN":
            if self.user is not None:  # the kit's commands run as this machine's user
                raise NeedsEngine(f"RUN {instruction.raw}", f"it runs as USER {self.user}")
            self.run(instruction, state)
        elif keyword == "USER":
            # COPY ignores USER (files stay root's unless --chown); only a later RUN cares
            user = instruction.arguments[0]
            self.user = None if user in ("root", "0", "0:0", "root:root") else user
        else:
            raise NeedsEngine(f"{keyword} {instruction.raw}")

    # ---- COPY / ADD from the context ----------------------------------------------------
    def copy(self, instruction: Instruction, state: StageState) -> None:
        """A COPY/ADD of context paths or of another stage's files (``--from``);
        ``--chown``/``--chmod`` recorded, not applied."""
        spec = copy_spec(instruction)
        if spec.source is not None:
            copied = self.copy_from_stage(spec, state)
        else:
            copied = self.copy_context(spec, state)
        self.owners.update(dict.fromkeys(copied, spec.owner) if spec.owner else {})
        self.modes.update(dict.fromkeys(copied, spec.mode) if spec.mode is not None else {})
        self.log(f"  copied {len(copied)} path(s)"
                 + (f" from {spec.source}" if spec.source else " from the context"))

    def copy_context(self, spec: CopySpec, state: StageState) -> list[str]:
        """COPY/ADD from the build context into the root; the image paths written."""
        matched = self.context.copy_sources(spec)
        target = join_path(state.workdir, spec.dest)
        into = (spec.dest.endswith(("/", "/.")) or spec.dest in (".", "..")
                or len(matched) > 1 or host_path(self.root, target).is_dir())
        copied: list[str] = []
        for rel in matched:
            copied += self.context.copy_into(self.root, rel, target, into)
        return copied

    def copy_from_stage(self, spec: CopySpec, state: StageState) -> list[str]:
        """COPY --from=<stage or image>: the other stage's entries, put on disk here."""
        if self.stage_files is None:
            raise NeedsEngine(spec.what, "COPY --from inside a builder stage is not replayed")
        entries = self.stage_files(spec.source, spec.sources, spec.dest, state.workdir)
        for entry in entries:
            self.owners[entry.path] = (entry.uid, entry.gid)
        return materialize(entries, self.root, spec.what)

    # ---- RUN ----------------------------------------------------------------------------
    def run(self, instruction: Instruction, state: StageState) -> None:
        """A RUN of the supported commands, with its mounts, in the stage's environment."""
        what = f"RUN {instruction.raw}"
        image_env = self.image_env(state)
        commands = _commands(instruction, image_env, what)
        cwd = state.workdir
        for words in (strip_prefixes(c) for c in commands):  # refuse before running any
            if words and not _supported(words):
                raise NeedsEngine(what, f"`{' '.join(words)}` is not replayed")
        self.cache_mounts = {join_path(state.workdir, m.get("target") or m.get("dst")
                                       or m.get("destination") or "")
                             for m in instruction.mounts() if m["type"] == "cache"}
        with self.mounts(instruction, state.workdir, what):
            for words in commands:
                inline: dict[str, str] = {}
                words = strip_prefixes(words, inline)
                if not words:
                    continue  # `X=1 && ...`: a shell variable, not exported
                program = posixpath.basename(words[0])
                if program == "cd" and len(words) == 2:
                    cwd = join_path(cwd, words[1])
                    if not host_path(self.root, cwd).is_dir():
                        raise BuildError(f"cd: {words[1]}: No such file or directory",
                                         instruction=what)
                elif program == "mkdir":
                    self.mkdir(words[1:], cwd, what)
                else:
                    self.run_go(words, {**image_env, **inline}, cwd, what)

    def image_env(self, state: StageState) -> dict[str, str]:
        """The environment a RUN sees, in image terms: image ENV < ARG < ENV."""
        env = {"PATH": _IMAGE_PATH, "HOME": "/root", "GOTOOLCHAIN": "local",
               "GOLANG_VERSION": self.version, **state.image_env}
        env.update({k: v for k, v in state.args.items() if v is not None})
        env.update(state.env)
        return env

    def mkdir(self, args: list[str], cwd: str, what: str) -> None:
        """``mkdir [-p] DIR...`` inside the root (modes from the umask, as in the image)."""
        parents = "-p" in args
        for path in [a for a in args if a != "-p"]:
            if path.startswith("-"):
                raise NeedsEngine(what, f"mkdir {path} is not replayed")
            try:
                host_path(self.root, join_path(cwd, path)).mkdir(parents=parents,
                                                                 exist_ok=parents)
            except OSError as exc:
                raise BuildError(f"mkdir: cannot create directory '{path}': {exc.strerror}",
                                 instruction=what) from None

    def run_go(self, words: list[str], env: dict[str, str], cwd: str, what: str) -> None:
        """One ``go`` command with the real toolchain, paths mapped into the root."""
        host_env = toolchain.go_env(self.go, env, lambda p: host_path(self.root, p), self.cache,
                                    cgo=words[1] == "build", what=what)
        if self.caches_in_image:  # the image keeps what go writes there (no cache mount)
            gopath = (env.get("GOPATH") or "/go").split(":")[0]
            for name, default in (("GOCACHE", env.get("HOME", "/root") + "/.cache/go-build"),
                                  ("GOMODCACHE", gopath + "/pkg/mod")):
                path = join_path("/", env.get(name) or default)
                if path not in self.cache_mounts:
                    host_env[name] = str(host_path(self.root, path))
        args = [str(self.go), words[1], *self.map_go_args(words[2:])]
        self.log("  + " + " ".join(words))
        proc = subprocess.Popen(args, cwd=host_path(self.root, cwd), env=host_env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            self.log(lines[-1])
        if proc.wait() != 0:
            raise BuildError(f"process \"{' '.join(words)}\" did not complete successfully: "
                             f"exit code: {proc.returncode}: " + "\n".join(lines[-20:]),
                             instruction=what, log=lines)

    def map_go_args(self, args: list[str]) -> list[str]:
        """``go`` arguments with absolute paths (``-o /out/server``) mapped into the root."""
        out, i = [], 0
        while i < len(args):
            arg = args[i]
            name, eq, value = arg.lstrip("-").partition("=")
            if arg.startswith("-") and name in _PATH_FLAGS:
                if eq:
                    arg = f"{arg.split('=', 1)[0]}={self.mapped(value)}"
                elif i + 1 < len(args):
                    out.append(arg)
                    i, arg = i + 1, self.mapped(args[i + 1])
            elif arg.startswith("-") and not eq and name in GO_VALUE_FLAGS and i + 1 < len(args):
                out.append(arg)
                i, arg = i + 1, args[i + 1]
            elif arg.startswith("/"):
                arg = self.mapped(arg)
            out.append(arg)
            i += 1
        return out

    def mapped(self, path: str) -> str:
        """An absolute image path as a host path (relative ones stay: cwd is mapped)."""
        tail = "/" if path.endswith("/") else ""
        return str(host_path(self.root, path)) + tail if path.startswith("/") else path

    # ---- RUN --mount --------------------------------------------------------------------
    @contextmanager
    def mounts(self, instruction: Instruction, workdir: str, what: str) -> Iterator[None]:
        """Put each ``--mount`` in place for the RUN, and take it away after."""
        placed: list[tuple[Path, Path | None]] = []
        try:
            for spec in instruction.mounts():
                self.mount(spec, workdir, what, placed)
            yield
        finally:
            for disk, aside in reversed(placed):
                if disk.is_dir() and not disk.is_symlink():
                    shutil.rmtree(disk)
                else:
                    disk.unlink(missing_ok=True)
                if aside is not None:
                    aside.rename(disk)

    def mount(self, spec: dict[str, str], workdir: str, what: str,
              placed: list[tuple[Path, Path | None]]) -> None:
        """One mount: a cache folder (Go's caches are already outside the root), the
        context (bind), or an empty folder (tmpfs)."""
        kind = spec["type"]
        target = join_path(workdir, spec.get("target") or spec.get("dst")
                           or spec.get("destination") or "")
        if kind not in ("cache", "bind", "tmpfs") or "from" in spec:
            raise NeedsEngine(what, f"--mount=type={kind} is not replayed")
        if kind == "cache" and target in ("/go/pkg/mod", "/root/.cache/go-build"):
            return  # GOMODCACHE / GOCACHE point at the kept caches already
        disk = host_path(self.root, target)
        aside = None
        if os.path.lexists(disk):
            aside = disk.with_name(disk.name + ".engineless-aside")
            disk.rename(aside)
        disk.parent.mkdir(parents=True, exist_ok=True)
        placed.append((disk, aside))
        if kind == "cache":
            name = spec.get("id") or target
            folder = self.cache / "mounts" / re.sub(r"[^A-Za-z0-9_.-]", "_", name.strip("/"))
            folder.mkdir(parents=True, exist_ok=True)
            disk.symlink_to(folder, target_is_directory=True)
        elif kind == "tmpfs":
            disk.mkdir()
        else:
            source = spec.get("source") or spec.get("src") or "."
            rel = self.context.matches(source, what)[0]
            self.context.copy_into(self.root, rel, target, into=False)


# ---- small readers ----------------------------------------------------------------------

def _commands(instruction: Instruction, env: dict[str, str], what: str) -> list[list[str]]:
    """The simple commands of a RUN, expanded as the shell would; only ``&&`` may join them."""
    if instruction.exec_form:
        return [list(instruction.arguments)]
    text = expand(command_text(instruction), _Unset(env))
    others = {t for t in split_words(text, operators=True) if t in OPERATORS or t == ";"}
    if others - {"&&"}:
        raise NeedsEngine(what, f"`{sorted(others - {'&&'})[0]}` between commands is not "
                          "replayed; join them with &&")
    return shell_commands(text)


class _Unset(dict):
    """A scope where every unknown variable is set and empty, as in the shell."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key, default=None):
        return super().get(key, "")


def _supported(words: list[str]) -> bool:
    """``cd DIR``, ``mkdir``, ``go build``, ``go mod download``, ``go mod verify``."""
    program, sub = posixpath.basename(words[0]), words[1:3]
    if program != "go":
        return program == "mkdir" or program == "cd" and len(words) == 2
    return bool(sub) and (sub[0] == "build" or sub in (["mod", "download"], ["mod", "verify"]))
