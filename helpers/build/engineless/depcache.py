"""The ``dep-cache`` verdict without an engine, derived from Docker's cache rules.

With an engine, :func:`helpers.grading.evidence.rebuild_after_edit` edits the first Go source of
a copy of the context, rebuilds, and passes when every ``go mod download`` step came from the
cache while a later step re-ran. Without one (Binder) nothing can be rebuilt, so
:func:`derive_dep_cache` gives the same verdict by applying the rules that decide, step by step,
whether a builder reuses its cache, to the learner's Dockerfile and context:

* **The chain.** A step's cache key includes the key of the step before it (the stage's
  previous state is an input of every op, keyed by its cache key, not by content), and a stage
  ``FROM`` another stage starts from that stage's last step: once a step re-runs, every later
  step of the chain re-runs (BuildKit ``solver/llbsolver/ops/file.go`` ``CacheMap`` marks the
  primary input of a copy "invalid" for content hashing; the classic builder probes its cache
  with the parent image id, ``builder/dockerfile/internals.go`` ``probeCache``).
* **COPY/ADD.** The key of a copy is the *content checksum of the files it selects*:
  ``file.go`` ``CacheMap`` adds a selector for each source path of the secondary input and
  sets ``ComputeDigestFunc = opsutils.NewContentHashFunc(...)``; the classic builder puts the
  source hash in the cached command (``performCopy``: ``srcHash := getSourceHashFromInfos``).
  From the context, that is the matched files ``.dockerignore`` lets in; from another stage
  (``COPY --from=<stage>``), the files at the source paths in that stage — so copying the CA
  bundle from a stage whose ``go build`` re-ran still comes from the cache. ``--from=<image>``
  never re-runs (the image does not change between the two builds).
* **RUN.** Its key is the command plus its mounts' inputs: ``solver/llbsolver/ops/exec.go``
  ``getMountDeps`` gives read-only and output-less mounts a content-based hash of their
  selected path (``--mount=type=bind`` is read-only by default and, without ``from``, mounts
  the context: ``frontend/dockerfile/dockerfile2llb/convert_runmount.go``); secret, ssh and
  tmpfs mounts are not inputs, and a cache mount without ``from`` mounts an empty base.
* **Stages.** Only the stages the final stage reaches through its ``FROM`` chain, ``COPY
  --from`` and ``RUN --mount=from`` are built (``dockerfile2llb/convert.go`` ``isReachable``);
  a download in any other stage does not make the image's dependencies cached.

To know whether a ``COPY --from`` reads changed files, each stage records the image paths a
re-run step may have written: a copy's destination, a WORKDIR, and for a RUN of ``go``
(``build``, ``install``, ``mod``...), ``mkdir`` and ``cd`` their outputs, working directory and
Go's caches; any other RUN may have written anywhere. A step the rules cannot decide (``ADD``
of a URL, a ``COPY --exclude``) is "unknown": the verdict is still given when it does not
depend on it, else ``skip`` with the reason.

Where the count of re-run steps may differ from the engine's: it is counted the way the
classic builder (the engine path's default) reports steps — every stage (the classic builder
builds unreachable stages too), the ARGs before the first FROM (printed as steps, never taken
from the cache; counted one per name, so ``ARG A=1 B=2`` on one line counts twice) and one
``LABEL`` step per label the kit puts on an image (:func:`helpers.config.kit_labels`, appended
to the final stage); FROM is not counted. BuildKit reports only reachable RUN/COPY/ADD/WORKDIR
vertices, so its count is lower, and a ``COPY --link`` there does not re-run just because a
step before it did. A step counted as re-run because a file it copies *may* have changed is
reused by both builders when the bytes come out identical (a reproducible ``go build``). The
verdict itself follows BuildKit on reachable stages: the classic builder, building an unused
stage's download too, would pass a Dockerfile whose image does not use that download.

Imports: the Dockerfile model, the context, and two pure layer-0 names (``BuildError``, which
:meth:`BuildContext.matches` raises, and ``kit_labels`` for the count); no engine.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...config import kit_labels
from ...dockerfile import DockerfileModel, Instruction, Stage, build_flags
from ...dockerfile.model import join_path
from ...dockerfile.shell import command_text, shell_commands, strip_prefixes
from ...dockerfile.words import expand
from ...errors import BuildError
from .context import BuildContext

#: A step's fate on the rebuild, ordered: a step is at least as re-run as the one before it.
CACHED, UNKNOWN, RERUN = 0, 1, 2
#: Appended to every derived message, so nobody mistakes it for a measured rebuild.
DERIVED_NOTE = " (Derived from Docker's cache rules without an engine; no image was built.)"
#: "Anything in the stage may have changed": what an unmodelled RUN writes.
_ANYWHERE = "/"
#: COPY/ADD flags that do not change which files are selected.
_COPY_FLAGS = frozenset({"from", "chown", "chmod", "link"})
#: ``go`` subcommands that write only their output, the module folder and Go's caches.
_GO_SUBCOMMANDS = frozenset({"build", "install", "mod", "env", "version", "list", "vet"})
#: Go's environment variables that name where it writes.
_GO_PATH_VARS = ("GOPATH", "GOCACHE", "GOMODCACHE", "GOBIN", "GOTMPDIR", "HOME")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@", re.IGNORECASE)
_GLOB = re.compile(r"[*?\[]")


class _WouldFail(Exception):
    """The rebuild itself would fail (a COPY source that is not there, a mistyped stage)."""


class _CannotTell(Exception):
    """Something the cache rules here do not cover decides the verdict."""


@dataclass
class _StageRun:
    """How one stage fares on the rebuild.

    Attributes:
        steps: Each instruction after FROM with its fate (CACHED, UNKNOWN, RERUN).
        changed: Image path -> the worst fate of a step that may have written under it.
        end: The fate of the last step (a stage FROM this one starts with it).
    """

    steps: list[tuple[Instruction, int]] = field(default_factory=list)
    changed: dict[str, int] = field(default_factory=dict)
    end: int = CACHED


def edited_source(context: Path) -> str | None:
    """The Go source the engine path edits (context-relative, POSIX), or None.

    The same pick as ``rebuild_after_edit``: every ``*.go`` under the context, ignored files
    included, sorted with tests last, then by path.
    """
    sources = sorted(Path(context).rglob("*.go"), key=lambda p: ("_test" in p.name, str(p)))
    return sources[0].relative_to(context).as_posix() if sources else None


def derive_dep_cache(model: DockerfileModel | None,
                     context: BuildContext) -> tuple[str, str]:
    """The ``dep-cache`` verdict of ``rebuild_after_edit``, derived instead of measured.

    Returns:
        (status, message): ``pass`` when every ``go mod download`` step of the stages the image
        is built from stays cached after the edit while some later step re-runs; ``fail`` with
        the engine path's messages otherwise (or when the rebuild itself would fail); ``skip``
        when the Dockerfile could not be read or the verdict hangs on a step the rules here do
        not cover. Every message ends with :data:`DERIVED_NOTE`.
    """
    edited = edited_source(context.path)
    if edited is None:
        return "fail", "No Go source in the context to edit." + DERIVED_NOTE
    if model is None:
        return "skip", "Not derived: the Dockerfile could not be read." + DERIVED_NOTE
    deriver = _Deriver(model, context, edited)
    try:
        status, message = deriver.verdict()
    except _WouldFail as exc:
        return "fail", f"The rebuild after a source edit would fail: {exc}" + DERIVED_NOTE
    except _CannotTell as exc:
        return "skip", f"Not derived: {exc}" + DERIVED_NOTE
    return status, message + DERIVED_NOTE


class _Deriver:
    """Applies the cache rules to every stage once (memoised: stages depend on stages)."""

    def __init__(self, model: DockerfileModel, context: BuildContext, edited: str) -> None:
        self.model = model
        self.context = context
        self.edited = edited
        self.runs: dict[int, _StageRun] = {}
        self.unknown: list[str] = []  # why a step's fate is unknown, in the order met

    # ---- the verdict --------------------------------------------------------------------
    def verdict(self) -> tuple[str, str]:
        """(status, message) over the stages the final stage is built from."""
        reached = {s.index for s in self.model.chain(self.model.final)}
        reached |= {s.index for s in self.model.builder_stages()}
        steps = [step for i in sorted(reached) for step in self.stage(i).steps]
        downloads = [fate for inst, fate in steps
                     if inst.keyword == "RUN" and "go mod download" in inst.raw]
        if not downloads:
            return "fail", "There is no `go mod download` step to reuse."
        if max(downloads) == RERUN:
            return "fail", ("After editing a .go file the `go mod download` step ran again "
                            "instead of coming from the cache.")
        if max(downloads) == UNKNOWN:
            raise _CannotTell(f"whether `go mod download` stays cached depends on "
                              f"{self.unknown[0]}")
        if not any(fate == RERUN for _, fate in steps):
            if self.unknown:
                raise _CannotTell(f"whether anything re-runs depends on {self.unknown[0]}")
            return "fail", "After editing a .go file nothing was rebuilt: is the source copied?"
        return "pass", (f"After editing {self.edited} the download step came from the cache; "
                        f"{self.classic_count()} later step(s) re-ran.")

    def classic_count(self) -> int:
        """Re-run steps as the classic builder reports them (see the module docstring)."""
        count = len(self.model.global_args)
        for stage in self.model.stages:
            try:
                count += sum(fate == RERUN for _, fate in self.stage(stage.index).steps)
            except (_WouldFail, _CannotTell):
                continue  # an unreachable stage the rules cannot follow: not counted
        if self.stage(self.model.final.index).end == RERUN:
            count += len(kit_labels())
        return count

    # ---- stages -------------------------------------------------------------------------
    def stage(self, index: int) -> _StageRun:
        """The fate of every step of stage ``index`` (its FROM chain first)."""
        if index in self.runs:
            return self.runs[index]
        stage = self.model.stages[index]
        run = _StageRun()
        if stage.base_stage is not None:
            base = self.stage(stage.base_stage)
            if any(inst.keyword == "ONBUILD" for inst, _ in base.steps):
                raise _CannotTell(f"the ONBUILD triggers stage {stage.index} inherits "
                                  f"(line {stage.line})")
            run.changed, run.end = dict(base.changed), base.end
        for instruction in stage.instructions:
            own, writes = self.own_fate(stage, instruction)
            fate = max(run.end, own)
            if fate != CACHED:
                for path in writes:
                    run.changed[path] = max(run.changed.get(path, CACHED), fate)
            run.steps.append((instruction, fate))
            run.end = fate
        self.runs[index] = run
        return run

    def own_fate(self, stage: Stage, instruction: Instruction) -> tuple[int, list[str]]:
        """The fate an instruction's own inputs give it, and the image paths it writes."""
        if instruction.keyword in ("COPY", "ADD"):
            return self.copy_fate(stage, instruction)
        if instruction.keyword == "RUN":
            return self.mount_fate(stage, instruction), self.run_writes(stage, instruction)
        if instruction.keyword == "WORKDIR":  # the state after it: the folder it creates
            return CACHED, [stage.states[stage.instructions.index(instruction) + 1].workdir]
        return CACHED, []

    def unknown_step(self, instruction: Instruction, why: str) -> int:
        """Record why ``instruction``'s fate is unknown; UNKNOWN."""
        self.unknown.append(f"line {instruction.line} (`{instruction.keyword} "
                            f"{instruction.raw}`: {why})")
        return UNKNOWN

    # ---- COPY / ADD ---------------------------------------------------------------------
    def copy_fate(self, stage: Stage, instruction: Instruction) -> tuple[int, list[str]]:
        """A copy re-runs when the files it selects may have changed."""
        what = f"{instruction.keyword} {instruction.raw}"
        if len(instruction.arguments) < 2:
            raise _WouldFail(f"line {instruction.line}: {instruction.keyword} needs a source "
                             "and a destination")
        *sources, dest = instruction.arguments
        writes = [join_path(self.model.workdir_at(stage, instruction.line), dest)]
        extra = sorted(set(instruction.flags) - _COPY_FLAGS)
        if extra:
            return self.unknown_step(instruction, f"--{extra[0]} is not modelled"), writes
        source = instruction.flags.get("from")
        if source is not None:
            return self.from_stage_fate(instruction, source, sources), writes
        fate = CACHED
        for src in sources:
            if instruction.keyword == "ADD" and _URL.match(src):
                fate = max(fate, self.unknown_step(instruction, "a remote source"))
            elif not src.startswith("<<"):  # a heredoc is text in the Dockerfile itself
                fate = max(fate, self.context_fate(src, what))
        return fate, writes

    def context_fate(self, source: str, what: str) -> int:
        """RERUN when the context files ``source`` selects include the edited file."""
        try:
            matched = self.context.matches(source, what)
        except BuildError as exc:
            raise _WouldFail(f"`{what}`: {exc.engine_message}") from None
        for rel in matched:
            if rel == self.edited or self.edited in self.context.files_under(rel):
                return RERUN
        return CACHED

    def from_stage_fate(self, instruction: Instruction, source: str,
                        paths: list[str]) -> int:
        """A ``--from`` copy: the worst fate among steps that wrote under ``paths``."""
        other = self.model.stage(source)
        if other is None:
            self.check_image_ref(instruction, source)
            return CACHED  # an image: the same on both builds
        changed = self.stage(other.index).changed
        return max((_touched(changed, join_path("/", p)) for p in paths), default=CACHED)

    def check_image_ref(self, instruction: Instruction, source: str) -> None:
        """A bare ``--from`` name close to a stage name is a typo: the build fails."""
        if re.search(r"[:@/.]", source):
            return  # tagged, pinned or from a registry: meant as an image
        names = [s.name for s in self.model.stages if s.name]
        close = difflib.get_close_matches(source.lower(), names, n=1, cutoff=0.6)
        if close:
            raise _WouldFail(f"line {instruction.line}: --from={source} names no stage of this "
                             f"Dockerfile (did you mean `{close[0]}`?), so Docker looks for an "
                             f"image `{source}`")

    # ---- RUN ----------------------------------------------------------------------------
    def mount_fate(self, stage: Stage, instruction: Instruction) -> int:
        """RERUN when a bind mount's source holds the edited file or a changed stage path."""
        fate = CACHED
        what = f"RUN {instruction.raw}"
        for spec in instruction.mounts():
            if spec["type"] in ("secret", "ssh", "tmpfs"):
                continue  # not an input of the step's cache key
            source = spec.get("source") or spec.get("src") or ""
            if "from" in spec:
                other = self.model.stage(spec["from"])
                if other is not None:
                    changed = self.stage(other.index).changed
                    fate = max(fate, _touched(changed, join_path("/", source)))
            elif spec["type"] == "bind":
                fate = max(fate, self.context_fate(source or ".", what))
        return fate

    def run_writes(self, stage: Stage, instruction: Instruction) -> list[str]:
        """The image paths a RUN may write; ``["/"]`` unless every command is modelled."""
        state = self.model.state_at(stage, instruction.line)
        scope = state.scope()
        if instruction.exec_form:
            commands = [list(instruction.arguments)]
        else:
            commands = shell_commands(expand(command_text(instruction), scope))
        cwd, writes, go_builds = state.workdir, [], 0
        home = "/root" if self.runs_as_root(stage, instruction.line) else None
        for words in commands:
            inline: dict[str, str] = {}
            words = strip_prefixes(words, inline)
            if not words:
                continue
            if any(c in w for w in words for c in "<>$`"):
                return [_ANYWHERE]  # redirections, unexpanded variables, substitutions
            program = posixpath.basename(words[0])
            if program == "cd" and len(words) == 2:
                cwd = join_path(cwd, words[1])
            elif program == "mkdir":
                writes += [join_path(cwd, w) for w in words[1:] if not w.startswith("-")]
            elif program == "go" and len(words) > 1 and words[1] in _GO_SUBCOMMANDS \
                    and home is not None:
                go_builds += words[1] in ("build", "install")
                env = {**{k: v for k, v in scope.items() if v}, **inline}
                writes += [cwd, "/tmp", home, env.get("GOPATH", "/go")]
                writes += [join_path(cwd, env[k]) for k in _GO_PATH_VARS if env.get(k)]
            else:
                return [_ANYWHERE]
        if go_builds:
            output = build_flags(self.model, stage, instruction)["output"] \
                if go_builds == 1 else None
            if output is None:
                return [_ANYWHERE]
            writes.append(output.rstrip("/") or _ANYWHERE)
        return writes

    def runs_as_root(self, stage: Stage, line: int) -> bool:
        """Whether the RUN at ``line`` runs as root (Go's caches are then under /root)."""
        user = None
        for st in self.model.chain(stage):
            for instruction in st.instructions:
                if instruction.keyword == "USER" and (st is not stage or instruction.line < line):
                    user = instruction.arguments[0] if instruction.arguments else None
        return user is None or user.split(":")[0] in ("root", "0")


def _touched(changed: dict[str, int], path: str) -> int:
    """The worst fate among steps that wrote ``path``, inside it, or a folder holding it.

    A glob is cut at its first wildcard component: every path under that prefix may match.
    """
    parts = path.split("/")
    for i, part in enumerate(parts):
        if _GLOB.search(part):
            path = "/".join(parts[:i]) or "/"
            break
    fate = CACHED
    for written, how in changed.items():
        if _overlaps(path, written):
            fate = max(fate, how)
    return fate


def _overlaps(a: str, b: str) -> bool:
    """Whether one of two absolute paths is the other or lies inside it."""
    a, b = a.rstrip("/") or "/", b.rstrip("/") or "/"
    return a == b or a == "/" or b == "/" or a.startswith(b + "/") or b.startswith(a + "/")
