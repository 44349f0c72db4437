"""A static model of a learner's Dockerfile: stages, instructions and the facts checks need.

The self-checks (:mod:`helpers.grading.checks`) and the diagnosis of classic mistakes
(:mod:`helpers.grading.mistakes`) ask questions such as "which stage does the final stage copy from?",
"is ``CGO_ENABLED=0`` in effect for ``go build``?" or "is ``go mod download`` run before the
source is copied?". The answers must not depend on *how* the learner wrote the solution, so
this module models the Dockerfile the way Docker (BuildKit) reads it:

* stage names are case-insensitive (lower-cased), ``COPY --from`` takes a name or a numeric
  index, and a ``--from`` that names no stage is an *image* Docker will try to pull;
* ``ARG``/``ENV`` are substituted where Docker substitutes them (``FROM`` with the global ARGs
  only, ``COPY``/``ADD``/``ENV``/``ARG``/``WORKDIR``/``USER``/``LABEL``/``EXPOSE``... with the
  stage's ARGs and ENVs; never inside ``RUN``/``CMD``/``ENTRYPOINT``, which the shell expands);
  ``build_args`` override ARG defaults like ``docker build --build-arg``; a stage built
  ``FROM`` an earlier stage inherits its ENV, ARGs and WORKDIR;
* exec (JSON) and shell forms, leading ``--flags`` (``--from``, ``--chown``, ``--mount``,
  ``--platform``...), line continuations, comments, lower-case keywords and blank lines inside
  continuations are all understood. Heredocs (``RUN <<EOF``) are skipped, not modelled.

Lines come from ``dockerfile-parse`` (``DockerfileParser.structure``); everything else is done
here, because that library only substitutes global ARGs into ``FROM`` and has a few quirks this
module works around (see :func:`_prepare`).

Substitution conventions: a variable the model knows is replaced; a variable declared with
``ARG NAME`` and no value becomes the empty string (as in Docker), except the automatic
platform ARGs (``TARGETARCH``, ``BUILDPLATFORM``...) whose values depend on the builder and
are left as written unless ``build_args`` gives them; a variable the model does not know at
all (it may come from the base image's ENV) is left as written. ``${VAR:-word}`` and
``${VAR:+word}`` (and ``-``/``+``) are supported.

Base-image knowledge: the official ``golang`` images (and the kit's offline stand-in) set
``WORKDIR /go`` and ``GOPATH=/go``, so a stage ``FROM golang:...`` starts in ``/go``; every
other external image (scratch, alpine, distroless...) starts in ``/``.

Every error is a :class:`~helpers.errors.KitError` naming the line, with a hint.
"""

from __future__ import annotations

import fnmatch
import io
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from dockerfile_parse import DockerfileParser

from ..errors import KitError

#: Every instruction keyword Docker knows.
KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
#: Instructions whose arguments Docker expands ARG/ENV variables in.
SUBSTITUTED = frozenset({
    "ADD", "ARG", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
#: Instructions that may carry leading ``--flags``.
FLAGGED = frozenset({"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"})
#: ARGs BuildKit defines automatically; their values depend on the builder.
PLATFORM_ARGS = frozenset({
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
})
#: Programs that are a shell (a HEALTHCHECK or CMD running one needs it in the image).
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "busybox"})

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}"
                  r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.I)
_SYNTAX_DIRECTIVE = re.compile(r"^\s*#\s*syntax\s*=", re.I)
_GO_VALUE_FLAGS = frozenset({
    "o", "ldflags", "gcflags", "asmflags", "gccgoflags", "tags", "mod", "modfile", "p",
    "pkgdir", "buildmode", "compiler", "installsuffix", "overlay", "pgo", "toolexec", "C",
    "covermode", "coverpkg", "exec",
})

_HINT_SYNTAX = ("Compare with exercises/solutions/Dockerfile.multistage; the Dockerfile reference "
                "is https://docs.docker.com/reference/dockerfile/.")


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------

@dataclass
class Instruction:
    """One Dockerfile instruction, continuation lines joined.

    Attributes:
        keyword: Upper-case keyword (``FROM``, ``RUN``, ``COPY``...).
        value: The text after the keyword, continuation lines joined, ARG/ENV variables
            substituted where Docker substitutes them (not in RUN/CMD/ENTRYPOINT/HEALTHCHECK).
        line: 1-based line the instruction starts on.
        flags: Leading ``--name=value`` flags (``{"from": "build", "chown": "65534"}``), values
            unquoted and substituted; a flag without ``=`` (``--link``) has the value
            ``"true"``; a repeated flag (``--mount`` twice) has its values joined with ``"\\n"``.
        arguments: The rest, split: the parsed JSON array for exec form, shell words
            (quotes removed) otherwise. For HEALTHCHECK, the command after ``CMD`` (or
            ``["NONE"]``); for FROM, ``[image]`` or ``[image, "AS", name]``.
        exec_form: For RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD, True for the JSON-array form and
            False for shell form; None for every other instruction (and HEALTHCHECK NONE).
        end_line: 1-based last line of the instruction.
        raw: The text after the keyword exactly as written (continuations joined).
        flag_list: Every leading flag as ``(name, value)``, in order, repeats kept.
    """

    keyword: str
    value: str
    line: int
    flags: dict[str, str]
    arguments: list[str]
    exec_form: bool | None
    end_line: int = 0
    raw: str = ""
    flag_list: list[tuple[str, str]] = field(default_factory=list)

    def mounts(self) -> list[dict[str, str]]:
        """The ``RUN --mount=...`` specs, each as a dict (``{"type": "cache", "target": ...}``).

        A bare key (``readonly``) maps to ``"true"``; a mount without ``type`` is a bind mount,
        as in BuildKit.
        """
        specs = []
        for name, value in self.flag_list:
            if name != "mount":
                continue
            spec: dict[str, str] = {}
            for part in value.split(","):
                key, eq, val = part.strip().partition("=")
                if key:
                    spec[key.lower()] = val if eq else "true"
            spec.setdefault("type", "bind")
            specs.append(spec)
        return specs


@dataclass
class Stage:
    """One build stage: a FROM and the instructions up to the next FROM.

    Attributes:
        index: 0-based position in the file.
        name: The ``AS`` name, lower-cased as Docker does, or None.
        base: The FROM image after global-ARG substitution (``golang:1.22``, ``scratch``), or
            the (lower-case) name of the earlier stage it is built from.
        base_stage: Index of that earlier stage, or None when ``base`` is an image.
        instructions: The stage's instructions after FROM, in order.
        line: 1-based line of the FROM.
        platform: The ``--platform`` value as substituted (``$BUILDPLATFORM`` stays as
            written unless ``build_args`` sets it), or None.
        from_instruction: The FROM instruction itself.
    """

    index: int
    name: str | None
    base: str
    base_stage: int | None
    instructions: list[Instruction]
    line: int
    platform: str | None = None
    from_instruction: Instruction | None = field(default=None, repr=False)


@dataclass
class CopyFrom:
    """A ``COPY --from=...`` (or ``ADD --from``): an artifact taken from another stage or image.

    Attributes:
        stage: Index of the stage that does the COPY.
        source: The ``--from`` value as written (after ARG substitution).
        source_stage: Index of the stage it names (by name, case-insensitive, or by number),
            or None when it names no stage of this file.
        source_is_image: True when ``--from`` names no stage: Docker then treats it as an
            image reference and tries to pull it (a typo in a stage name fails the build with
            "pull access denied" / "not found", not with "no such stage").
        sources: The source paths as written (quotes removed, variables substituted); they are
            paths inside the source stage's filesystem, relative to its ``/``.
        dest: The destination as written.
        dest_abs: The destination made absolute against the WORKDIR in effect at that line;
            a trailing ``/`` is kept when the destination is a directory (``./``, ``.``, or a
            path ending in ``/``).
        line: 1-based line of the instruction.
        keyword: ``COPY`` or ``ADD``.
        flags: All the instruction's flags (``from``, ``chown``, ``chmod``, ``link``...).
    """

    stage: int
    source: str
    source_stage: int | None
    source_is_image: bool
    sources: list[str]
    dest: str
    dest_abs: str
    line: int
    keyword: str = "COPY"
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def dest_is_dir(self) -> bool:
        """Whether the destination is a directory (trailing ``/`` or several sources)."""
        return self.dest_abs.endswith("/") or len(self.sources) > 1

    def target_path(self, source: str) -> str:
        """Where the file ``source`` (one of :attr:`sources`) lands in the copying stage."""
        if self.dest_is_dir:
            return _clean(posixpath.join(self.dest_abs, posixpath.basename(source.rstrip("/"))))
        return self.dest_abs


@dataclass
class _State:
    """What a stage has in effect after some instructions (private)."""

    workdir: str
    env: dict[str, str]
    args: dict[str, str | None]
    image_env: dict[str, str]

    def copy(self) -> "_State":
        return _State(self.workdir, dict(self.env), dict(self.args), dict(self.image_env))

    def scope(self) -> dict[str, str | None]:
        """Variables for substitution: image ENV < ARG < ENV (None = leave as written)."""
        scope: dict[str, str | None] = dict(self.image_env)
        for name, value in self.args.items():
            if value is None:
                scope[name] = None if name in PLATFORM_ARGS else ""
            else:
                scope[name] = value
        scope.update(self.env)
        return scope


@dataclass
class DockerfileModel:
    """The parsed Dockerfile.

    Attributes:
        path: The file it was read from, or None for :func:`parse_text`.
        stages: The build stages in file order; the last one is the image that is built.
        global_args: ARGs declared before the first FROM with their values (``build_args``
            override the defaults; None when there is neither).
        build_args: The ``--build-arg`` values the model was parsed with.
    """

    path: Path | None
    stages: list[Stage]
    global_args: dict[str, str | None]
    build_args: dict[str, str] = field(default_factory=dict)
    _copies: list[CopyFrom] = field(default_factory=list, repr=False)
    _initial: dict[int, _State] = field(default_factory=dict, repr=False)
    _after: dict[int, list[_State]] = field(default_factory=dict, repr=False)

    # ---- stages -------------------------------------------------------------------------
    @property
    def final(self) -> Stage:
        """The last stage: the image ``docker build`` produces (without ``--target``)."""
        return self.stages[-1]

    def stage(self, ref: str | int) -> Stage | None:
        """The stage named ``ref`` (case-insensitive) or with index ``ref``, or None."""
        if isinstance(ref, int) or re.fullmatch(r"\d+", str(ref)):
            i = int(ref)
            return self.stages[i] if 0 <= i < len(self.stages) else None
        for stage in self.stages:
            if stage.name == str(ref).lower():
                return stage
        return None

    def chain(self, stage: Stage) -> list[Stage]:
        """``stage`` and the stages it is built FROM, the root (external image) first."""
        chain = [stage]
        while chain[0].base_stage is not None:
            chain.insert(0, self.stages[chain[0].base_stage])
        return chain

    def root_image(self, stage: Stage) -> str:
        """The external image at the bottom of ``stage``'s FROM chain (``golang:1.22``...)."""
        return self.chain(stage)[0].base

    def stage_of_image(self, image: str) -> list[Stage]:
        """Stages whose FROM names the external image ``image``.

        ``docker.io/library/`` prefixes are ignored and a missing tag means ``latest``; an
        ``image`` given without tag or digest (``"golang"``) matches every tag of it.
        """
        want = _normalize_ref(image)
        repo_only = split_ref(image)[1] is None and "@" not in image
        found = []
        for stage in self.stages:
            if stage.base_stage is not None:
                continue
            have = _normalize_ref(stage.base)
            if have == want or (repo_only and split_ref(have)[0] == split_ref(want)[0]):
                found.append(stage)
        return found

    def builder_stages(self) -> list[Stage]:
        """Stages the final stage takes artifacts from, transitively: the build side.

        Starts from the ``COPY --from`` (and ``RUN --mount=from=``) sources of the final stage
        and of the stages it is built FROM, then follows those stages' own FROM chains and
        copies. The final stage itself is never included.
        """
        deps = self._dependencies()
        todo = [i for s in self.chain(self.final) for i in deps[s.index]["copies"]]
        seen: set[int] = set()
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            stage = self.stages[i]
            if stage.base_stage is not None:
                todo.append(stage.base_stage)
            todo.extend(deps[i]["copies"])
        seen.discard(self.final.index)
        return [self.stages[i] for i in sorted(seen)]

    # ---- instructions -------------------------------------------------------------------
    def find(self, keyword: str, stage: Stage | None = None) -> list[Instruction]:
        """Instructions with ``keyword`` (any case) in ``stage``, or in the whole file.

        ``find("FROM")`` returns the stages' FROM instructions.
        """
        keyword = keyword.upper()
        stages = [stage] if stage is not None else self.stages
        found = []
        for st in stages:
            if keyword == "FROM" and st.from_instruction is not None:
                found.append(st.from_instruction)
            found.extend(i for i in st.instructions if i.keyword == keyword)
        return found

    def copies_from(self) -> list[CopyFrom]:
        """Every ``COPY --from`` / ``ADD --from`` in the file, in order."""
        return list(self._copies)

    def final_copies_from(self) -> list[CopyFrom]:
        """The ``COPY --from`` instructions of the final stage."""
        return [c for c in self._copies if c.stage == self.final.index]

    # ---- state in effect ----------------------------------------------------------------
    def _state_at(self, stage: Stage | int, line: int) -> _State:
        index = stage if isinstance(stage, int) else stage.index
        state = self._initial[index]
        for instruction, after in zip(self.stages[index].instructions, self._after[index]):
            if instruction.line < line:
                state = after
        return state

    def workdir_at(self, stage: Stage, line: int) -> str:
        """The absolute WORKDIR the instruction starting at ``line`` in ``stage`` runs in.

        Only instructions that start before ``line`` count (so for a WORKDIR line, the
        directory before it). A stage FROM an earlier stage starts in that stage's final
        WORKDIR; FROM ``golang:*`` starts in ``/go``; any other image in ``/``. A ``line``
        past the stage's end gives its final WORKDIR.
        """
        return self._state_at(stage, line).workdir

    def env_at(self, stage: Stage, line: int) -> dict[str, str]:
        """The Dockerfile ENV in effect for the instruction at ``line`` (values substituted).

        Inherits from the earlier stage when FROM names one; the base image's own ENV
        (e.g. golang's ``GOPATH``) is not included.
        """
        return dict(self._state_at(stage, line).env)

    def args_at(self, stage: Stage, line: int) -> dict[str, str | None]:
        """The ARGs declared in ``stage`` (or inherited from its FROM stage) before ``line``.

        Values after ``build_args``; None when an ARG has no value (for the automatic
        platform ARGs: the value depends on the builder).
        """
        return dict(self._state_at(stage, line).args)

    # ---- what the image runs ------------------------------------------------------------
    def _command_config(self) -> tuple[Instruction | None, Instruction | None]:
        entrypoint = cmd = None
        for stage in self.chain(self.final):
            cmd_set_here = False
            for instruction in stage.instructions:
                if instruction.keyword == "CMD":
                    cmd, cmd_set_here = instruction, True
                elif instruction.keyword == "ENTRYPOINT":
                    entrypoint = instruction
                    if not cmd_set_here:  # Docker: ENTRYPOINT resets an inherited CMD
                        cmd = None
        return entrypoint, cmd

    def entrypoint(self) -> Instruction | None:
        """The last ENTRYPOINT of the final stage, inherited along its FROM-stage chain."""
        return self._command_config()[0]

    def cmd(self) -> Instruction | None:
        """The CMD in effect for the final image (an ENTRYPOINT in a later stage resets it)."""
        return self._command_config()[1]

    def _command(self) -> Instruction | None:
        entrypoint, cmd = self._command_config()
        if entrypoint is not None and entrypoint.arguments:
            return entrypoint
        return cmd if cmd is not None and cmd.arguments else None

    def shell_form(self) -> bool | None:
        """Whether the image's command (ENTRYPOINT, else CMD) is in shell form.

        Shell form runs ``/bin/sh -c "..."``, so the image needs a shell (scratch has none).
        None when the image has no command.
        """
        command = self._command()
        return None if command is None else not command.exec_form

    def command_path(self) -> str | None:
        """The program the final image starts, as an absolute path when it is a path.

        ENTRYPOINT's first word, else CMD's; for shell form the first word of the shell
        command (leading ``VAR=value`` assignments and ``exec`` skipped) — the real process
        is then ``/bin/sh``, see :meth:`shell_form`. A relative path is made absolute with
        the final WORKDIR (``./server`` + ``WORKDIR /app`` -> ``/app/server``). A bare name
        without ``/`` (``server``) is returned unchanged: Docker looks it up in ``PATH``, not
        in the WORKDIR. None when the image has no command.
        """
        command = self._command()
        if command is None:
            return None
        if command.exec_form:
            word = command.arguments[0]
        else:
            commands = _shell_commands(_rest_after_flags(command))
            words = _strip_prefixes(commands[0]) if commands else []
            if not words:
                return None
            word = words[0]
        if "/" not in word:
            return word
        return _join(self.workdir_at(self.final, 1 << 30), word)

    # ---- internals ----------------------------------------------------------------------
    def _dependencies(self) -> dict[int, dict[str, list[int]]]:
        deps: dict[int, dict[str, list[int]]] = {s.index: {"copies": []} for s in self.stages}
        for copy in self._copies:
            if copy.source_stage is not None:
                deps[copy.stage]["copies"].append(copy.source_stage)
        for stage in self.stages:
            for instruction in stage.instructions:
                for mount in instruction.mounts() if instruction.keyword == "RUN" else []:
                    source = self.stage(mount["from"]) if "from" in mount else None
                    if source is not None:
                        deps[stage.index]["copies"].append(source.index)
        return deps


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

def parse(path: str | Path, build_args: dict[str, str] | None = None) -> DockerfileModel:
    """Read and model the Dockerfile at ``path``.

    Args:
        path: The Dockerfile.
        build_args: ``--build-arg`` values, overriding ARG defaults.

    Returns:
        The model.

    Raises:
        KitError: The file cannot be read, or is not a valid Dockerfile (the message names
            the line).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise KitError(f"No Dockerfile at {path}.", "Check the path and the file name.") from None
    except IsADirectoryError:
        raise KitError(f"{path} is a directory, not a Dockerfile.",
                       "Give the Dockerfile's path (e.g. exercises/multistage-go/"
                       "Dockerfile.multistage).") from None
    except UnicodeDecodeError as exc:
        raise KitError(f"{path} is not UTF-8 text (byte {exc.start}).",
                       "Save the Dockerfile as UTF-8.") from None
    except OSError as exc:
        raise KitError(f"Cannot read {path}: {exc.strerror}.", "Check the file's permissions.") \
            from None
    model = parse_text(text, build_args)
    model.path = path
    return model


def parse_text(text: str, build_args: dict[str, str] | None = None) -> DockerfileModel:
    """Model a Dockerfile given as text (see :func:`parse`)."""
    prepared = _prepare(text)
    try:
        structure = DockerfileParser(fileobj=io.BytesIO(prepared.encode("utf-8"))).structure
    except Exception as exc:  # defensive: dockerfile-parse should not raise on text input
        raise KitError(f"The Dockerfile could not be read: {exc}.", _HINT_SYNTAX) from None
    entries = [e for e in structure if e["instruction"] != "COMMENT"]
    if not entries:
        raise KitError("The Dockerfile is empty (no instructions, only blank lines or comments).",
                       "Start it with `FROM golang:1.22 AS build`.")
    return _Builder(dict(build_args or {})).build(entries)


def _prepare(text: str) -> str:
    """Text for dockerfile-parse with its quirks neutralised, line numbers unchanged.

    dockerfile-parse (2.0) ends a continued instruction at a blank line (Docker skips blank
    lines inside a continuation), drops the last instruction when the file ends inside a
    continuation or when the last line has no newline and no argument (``WORKDIR`` alone), and
    parses heredoc bodies as instructions. So: CRLF -> LF, a BOM is removed, blank lines inside
    a continuation and heredoc bodies become comment lines, and the text ends with a newline
    (plus a blank line when it ends inside a continuation).
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    escape = "\\"
    directives = True
    continuation = False
    keyword = ""
    pending: list[tuple[bool, str]] = []
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if directives:
            match = _ESCAPE_DIRECTIVE.match(line)
            if match:
                escape = match.group(1)
            elif not _SYNTAX_DIRECTIVE.match(line):
                directives = False
        if re.match(r"^\s*#", line):
            out.append(line)
            continue
        if not line.strip():
            out.append("# (blank line in a continuation)" if continuation else line)
            continue
        if not continuation:
            keyword = line.split(None, 1)[0].upper()
        if keyword in ("RUN", "COPY", "ADD"):
            pending.extend((m.group(1) == "-", m.group(3)) for m in _HEREDOC.finditer(line))
        continuation = line.rstrip().endswith(escape)
        out.append(line)
        if continuation or not pending:
            continue
        # Heredoc bodies follow the instruction; blank them if every terminator is found.
        j, ok = i, True
        for strip_tabs, word in pending:
            while j < len(lines) and (lines[j].lstrip("\t") if strip_tabs else lines[j]) != word:
                j += 1
            if j >= len(lines):
                ok = False
                break
            j += 1
        if ok:
            out.extend(["# (heredoc)"] * (j - i))
            i = j
        pending = []
    if continuation:
        out.append("")
    return "\n".join(out) + "\n"


class _Builder:
    """Walks dockerfile-parse's structure once, building stages and per-line state."""

    def __init__(self, build_args: dict[str, str]) -> None:
        self.build_args = build_args
        self.global_args: dict[str, str | None] = {}
        self.stages: list[Stage] = []
        self.initial: dict[int, _State] = {}
        self.after: dict[int, list[_State]] = {}
        self.pending_copies: list[tuple[Instruction, int, list[str], str, str]] = []

    def global_scope(self) -> dict[str, str | None]:
        scope: dict[str, str | None] = {name: None for name in PLATFORM_ARGS}
        scope.update({k: v for k, v in self.build_args.items() if k in PLATFORM_ARGS})
        for name, value in self.global_args.items():
            scope[name] = value if value is not None else (None if name in PLATFORM_ARGS
                                                            else "")
        return scope

    def build(self, entries: list[dict]) -> DockerfileModel:
        state: _State | None = None
        for entry in entries:
            keyword = entry["instruction"].upper().rstrip("\\`")
            line = entry["startline"] + 1
            end_line = entry["endline"] + 1
            raw = (entry["value"] or "").strip()
            if keyword not in KEYWORDS:
                raise KitError(f"Line {line}: unknown instruction {keyword!r}.",
                               "Check the spelling (FROM, RUN, COPY, WORKDIR, ENV, ARG, USER, "
                               "EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD...); a command that goes "
                               "on the next line needs a `\\` at the end of the previous line.")
            if keyword == "FROM":
                state = self.add_stage(raw, line, end_line)
                continue
            if state is None:
                if keyword == "ARG":
                    self.global_arg(raw, line)
                    continue
                raise KitError(f"Line {line}: {keyword} comes before the first FROM; only ARG "
                               "may.", "Start the Dockerfile with `FROM <image> AS <name>` "
                               "(e.g. `FROM golang:1.22 AS build`).")
            state = self.add_instruction(keyword, raw, line, end_line, state)
        if not self.stages:
            raise KitError("The Dockerfile has no FROM instruction, so it builds nothing.",
                           "Add `FROM golang:1.22 AS build` at the top.")
        model = DockerfileModel(None, self.stages, self.global_args, dict(self.build_args),
                                _initial=self.initial, _after=self.after)
        model._copies = [self.resolve_copy(*pending) for pending in self.pending_copies]
        _check_cycles(model)
        return model

    # ---- ARG before FROM ----------------------------------------------------------------
    def global_arg(self, raw: str, line: int) -> None:
        if not raw:
            raise KitError(f"Line {line}: ARG needs a name.", "Write `ARG NAME=default`.")
        for word in _lex(raw):
            name, eq, default = word.partition("=")
            name = _dequote(name)
            if not name:
                raise KitError(f"Line {line}: ARG {raw!r} has no name.",
                               "Write `ARG NAME=default`.")
            value: str | None = _dequote(_expand(default, self.global_scope(), closed=True)) \
                if eq else None
            self.global_args[name] = self.build_args.get(name, value)

    # ---- FROM ---------------------------------------------------------------------------
    def add_stage(self, raw: str, line: int, end_line: int) -> _State:
        scope = self.global_scope()
        flag_list, rest = _split_flags(raw)
        flag_list = [(n, _dequote(_expand(v, scope, closed=True))) for n, v in flag_list]
        words = _lex(rest)
        if len(words) == 1:
            name = None
        elif len(words) == 3 and words[1].lower() == "as":
            name = _dequote(words[2]).lower()
            if not _STAGE_NAME.match(name):
                raise KitError(f"Line {line}: {name!r} is not a valid stage name.",
                               "Stage names start with a letter and use letters, digits, "
                               "'-', '_' and '.', e.g. `FROM golang:1.22 AS build`.")
            if any(s.name == name for s in self.stages):
                raise KitError(f"Line {line}: a stage named {name!r} already exists.",
                               "Give every stage its own name.")
        else:
            what = "has no image" if not words else f"cannot be read: `FROM {raw}`"
            raise KitError(f"Line {line}: FROM {what}.",
                           "Write `FROM <image>[:tag] [AS <name>]`, e.g. "
                           "`FROM golang:1.22 AS build` or `FROM scratch`.")
        base = _dequote(_expand(words[0], scope, closed=True))
        if not base:
            raise KitError(f"Line {line}: the FROM image {words[0]!r} is empty after ARG "
                           "substitution.", "Give the ARG a default before the first FROM: "
                           "`ARG GO_VERSION=1.22`.")
        base_stage = None
        for earlier in self.stages:
            if earlier.name is not None and earlier.name == base.lower():
                base_stage, base = earlier.index, earlier.name
        flags = _flag_dict(flag_list)
        arguments = [base] + (["AS", name] if name else [])
        instruction = Instruction("FROM", _expand(raw, scope, closed=True), line, flags,
                                  arguments, None, end_line, raw, flag_list)
        index = len(self.stages)
        stage = Stage(index, name, base, base_stage, [], line, flags.get("platform"), instruction)
        self.stages.append(stage)
        if base_stage is not None:
            state = self.after[base_stage][-1].copy() if self.after[base_stage] \
                else self.initial[base_stage].copy()
        else:
            golang = _is_official_golang(base)
            state = _State("/go" if golang else "/", {}, {},
                           {"GOPATH": "/go"} if golang else {})
        self.initial[index] = state
        self.after[index] = []
        return state

    # ---- instructions inside a stage ----------------------------------------------------
    def add_instruction(self, keyword: str, raw: str, line: int, end_line: int,
                        state: _State) -> _State:
        stage = self.stages[-1]
        scope = state.scope()
        flag_list: list[tuple[str, str]] = []
        rest = raw
        if keyword in FLAGGED:
            flag_list, rest = _split_flags(raw)
            flag_list = [(n, _dequote(_expand(v, scope))) for n, v in flag_list]
        substitute = keyword in SUBSTITUTED
        value = _expand(raw, scope) if substitute else raw
        exec_form: bool | None = None
        if keyword in ("RUN", "CMD", "ENTRYPOINT"):
            arguments, exec_form = _command_arguments(rest)
        elif keyword == "HEALTHCHECK":
            words = _lex(rest)
            if words and words[0].upper() == "CMD":
                arguments, exec_form = _command_arguments(rest.lstrip()[3:])
            elif words and words[0].upper() == "NONE":
                arguments = ["NONE"]
            else:
                raise KitError(f"Line {line}: HEALTHCHECK needs `CMD <command>` or `NONE`.",
                               'Write `HEALTHCHECK CMD ["/server", "-healthcheck"]`.')
        elif keyword in ("COPY", "ADD", "VOLUME", "SHELL") and _json_list(rest) is not None:
            arguments = [_expand(a, scope) if substitute else a for a in _json_list(rest)]
        else:
            arguments = [_dequote(_expand(w, scope) if substitute else w) for w in _lex(rest)]
        if not arguments and keyword != "HEALTHCHECK" and not (exec_form and keyword in
                                                                ("CMD", "ENTRYPOINT")):
            raise KitError(f"Line {line}: {keyword} has no arguments.", _HINT_SYNTAX)
        instruction = Instruction(keyword, value, line, _flag_dict(flag_list), arguments,
                                  exec_form, end_line, raw, flag_list)
        stage.instructions.append(instruction)

        new = state
        if keyword == "WORKDIR":
            new = state.copy()
            new.workdir = _join(state.workdir, arguments[0])
        elif keyword == "ENV":
            new = state.copy()
            new.env.update(_env_pairs(raw, scope, line))
        elif keyword == "ARG":
            new = state.copy()
            for word in _lex(raw):
                name, eq, default = word.partition("=")
                name = _dequote(name)
                if not name:
                    raise KitError(f"Line {line}: ARG {raw!r} has no name.",
                                   "Write `ARG NAME=default`.")
                if name in self.build_args:
                    new.args[name] = self.build_args[name]
                elif eq:
                    new.args[name] = _dequote(_expand(default, scope))
                else:
                    new.args[name] = self.global_args.get(name)
        elif keyword in ("COPY", "ADD"):
            if len(arguments) < 2:
                raise KitError(f"Line {line}: {keyword} needs at least a source and a "
                               "destination.", f"Write `{keyword} <source>... <destination>`.")
            if "from" in instruction.flags:
                self.pending_copies.append((instruction, stage.index, arguments[:-1],
                                            arguments[-1], state.workdir))
        self.after[stage.index].append(new)
        return new

    def resolve_copy(self, instruction: Instruction, stage: int, sources: list[str], dest: str,
                     workdir: str) -> CopyFrom:
        source = instruction.flags["from"]
        source_stage: int | None = None
        if re.fullmatch(r"[+-]?\d+", source):
            index = int(source)
            if not 0 <= index < len(self.stages):
                raise KitError(f"Line {instruction.line}: {instruction.keyword} --from={source} "
                               f"names stage index {index}, but the Dockerfile has "
                               f"{len(self.stages)} stage(s) (0 to {len(self.stages) - 1}).",
                               "Stages are numbered from 0 in file order; better, name the "
                               "stage (`FROM golang:1.22 AS build`) and use --from=build.")
            source_stage = index
        else:
            for candidate in self.stages:
                if candidate.name == source.lower():
                    source_stage = candidate.index
        dest_abs = _join(workdir, dest)
        if (dest.endswith("/") or dest in (".", "./")) and not dest_abs.endswith("/"):
            dest_abs += "/"
        return CopyFrom(stage, source, source_stage, source_stage is None, list(sources), dest,
                        dest_abs, instruction.line, instruction.keyword, dict(instruction.flags))


def _check_cycles(model: DockerfileModel) -> None:
    """Raise KitError for a stage that depends on itself (BuildKit's circular dependency)."""
    deps = model._dependencies()
    edges = {s.index: set(deps[s.index]["copies"]) | ({s.base_stage} - {None})
             for s in model.stages}
    for start in model.stages:
        todo, seen = list(edges[start.index]), set()
        while todo:
            i = todo.pop()
            if i == start.index:
                where = next((c.line for c in model.copies_from() if c.stage == start.index
                              and c.source_stage is not None), start.line)
                label = start.name or str(start.index)
                raise KitError(f"Line {where}: stage {label!r} copies from itself (directly or "
                               "through other stages); Docker reports a circular dependency.",
                               "COPY --from must name a different stage, usually the builder.")
            if i not in seen:
                seen.add(i)
                todo.extend(edges[i])


# --------------------------------------------------------------------------------------------
# Words, quotes, variables
# --------------------------------------------------------------------------------------------

_OPERATORS = ("&&", "||", ";;", ";", "|", "&", "\n")


def _lex(text: str, operators: bool = False) -> list[str]:
    """Split shell-like text into raw words (quotes kept), optionally at shell operators.

    With ``operators``, ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines outside quotes are
    returned as their own tokens (newline as ``;``).
    """
    tokens: list[str] = []
    word: list[str] = []
    quote = None
    i, n = 0, len(text)

    def flush() -> None:
        if word:
            tokens.append("".join(word))
            word.clear()

    while i < n:
        ch = text[i]
        if quote == "'":
            word.append(ch)
            quote = None if ch == "'" else quote
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            word.append(text[i:i + 2])
            i += 2
            continue
        if quote == '"':
            word.append(ch)
            quote = None if ch == '"' else quote
            i += 1
            continue
        if ch in "'\"":
            quote = ch
            word.append(ch)
            i += 1
            continue
        if operators:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is not None:
                flush()
                tokens.append(";" if op == "\n" else op)
                i += len(op)
                continue
        if ch.isspace():
            flush()
        else:
            word.append(ch)
        i += 1
    flush()
    return tokens


def _dequote(word: str) -> str:
    """Remove quotes and backslash escapes from one word, POSIX-shell style."""
    out: list[str] = []
    quote = None
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                out.append(ch)
            i += 1
        elif quote == '"':
            if ch == "\\" and i + 1 < n and word[i + 1] in '$`"\\\n':
                out.append(word[i + 1])
                i += 2
            else:
                if ch == '"':
                    quote = None
                else:
                    out.append(ch)
                i += 1
        elif ch == "\\" and i + 1 < n:
            if word[i + 1] != "\n":
                out.append(word[i + 1])
            i += 2
        elif ch in "'\"":
            quote = ch
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _expand(text: str, scope: dict[str, str | None], closed: bool = False) -> str:
    """Substitute ``$VAR`` / ``${VAR}`` / ``${VAR:-word}`` / ``${VAR:+word}`` in ``text``.

    Quotes and escapes are kept (``\\$`` and single-quoted text are not expanded). A name
    mapped to None, or absent from ``scope``, is left as written; with ``closed`` (FROM: only
    global ARGs exist), an absent name counts as unset, so ``${X:-1.22}`` gives ``1.22``.
    """
    out: list[str] = []
    quote = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote == "'":
            out.append(ch)
            quote = None if ch == "'" else quote
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            out.append(text[i:i + 2])
            i += 2
            continue
        if ch == "$":
            match = _VAR.match(text, i)
            if match:
                replacement = _resolve(match, scope, closed)
                out.append(match.group(0) if replacement is None else replacement)
                i = match.end()
                continue
        if ch == '"':
            quote = None if quote == '"' else '"'
        elif ch == "'" and quote is None:
            quote = "'"
        out.append(ch)
        i += 1
    return "".join(out)


def _resolve(match: re.Match, scope: dict[str, str | None], closed: bool) -> str | None:
    name = match.group("braced") or match.group("plain")
    op, word = match.group("op"), match.group("word") or ""
    declared = name in scope
    value = scope.get(name)
    if op is None:
        return value
    if declared and value is None:
        return None  # a platform ARG: unknown here
    if not declared and not closed:
        return None  # maybe the base image's ENV: unknown here
    if op in (":-", "-"):
        if value is None or (op == ":-" and value == ""):
            return _expand(word, scope, closed)
        return value
    if value is None or (op == ":+" and value == ""):
        return ""
    return _expand(word, scope, closed)


def _split_flags(text: str) -> tuple[list[tuple[str, str]], str]:
    """Leading ``--name[=value]`` words of ``text`` (values raw) and the text after them."""
    flags = []
    rest = text.lstrip()
    while rest.startswith("--"):
        words = _lex(rest)
        word = words[0]
        name, eq, value = word[2:].partition("=")
        flags.append((name.lower(), value if eq else "true"))
        rest = rest[len(word):].lstrip()
    return flags, rest


def _flag_dict(flag_list: list[tuple[str, str]]) -> dict[str, str]:
    flags: dict[str, str] = {}
    for name, value in flag_list:
        flags[name] = f"{flags[name]}\n{value}" if name in flags else value
    return flags


def _json_list(text: str) -> list[str] | None:
    """The JSON array of strings ``text`` holds (Docker's exec form), or None."""
    text = text.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _command_arguments(rest: str) -> tuple[list[str], bool]:
    """(arguments, exec_form) of a RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD body."""
    as_json = _json_list(rest)
    if as_json is not None:
        return as_json, True
    return [_dequote(w) for w in _lex(rest)], False


def _rest_after_flags(instruction: Instruction) -> str:
    rest = _split_flags(instruction.raw)[1] if instruction.keyword in FLAGGED else instruction.raw
    if instruction.keyword == "HEALTHCHECK" and rest[:3].upper() == "CMD":
        rest = rest[3:]
    return rest


def _env_pairs(raw: str, scope: dict[str, str | None], line: int) -> dict[str, str]:
    """ENV ``k=v k2=v2`` or legacy ``ENV k value``; every value sees the scope before it."""
    words = _lex(raw)
    if not words:
        raise KitError(f"Line {line}: ENV needs a name and a value.", "Write `ENV NAME=value`.")
    pairs: dict[str, str] = {}
    if "=" in words[0]:
        for word in words:
            key, eq, value = word.partition("=")
            if not eq:
                raise KitError(f"Line {line}: ENV {word!r} has no `=`.",
                               "Write every variable as `NAME=value` (quote values with "
                               'spaces: `NAME="a b"`).')
            pairs[_dequote(key)] = _dequote(_expand(value, scope))
        return pairs
    rest = raw[len(words[0]):].strip()
    if not rest:
        raise KitError(f"Line {line}: ENV {words[0]} has no value.", "Write `ENV NAME=value`.")
    pairs[_dequote(words[0])] = _dequote(_expand(rest, scope))
    return pairs


def _clean(path: str) -> str:
    path = posixpath.normpath(path)
    return re.sub(r"^/+", "/", path)


def _join(base: str, path: str) -> str:
    """``path`` made absolute against the directory ``base`` (Docker's WORKDIR rule)."""
    return _clean(posixpath.join(base or "/", path)) if path else _clean(base or "/")


def split_ref(image: str) -> tuple[str, str | None]:
    """(repository, tag or None) of an image reference; a digest is dropped."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, None


def _normalize_ref(image: str) -> str:
    image = image.strip().lower()
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if image.startswith(prefix):
            image = image[len(prefix):]
    if image.startswith("library/"):
        image = image[len("library/"):]
    if "@" in image:
        return image
    repo, tag = split_ref(image)
    return f"{repo}:{tag or 'latest'}"


def _is_official_golang(image: str) -> bool:
    return split_ref(_normalize_ref(image))[0] == "golang"


# --------------------------------------------------------------------------------------------
# Shell commands (what a RUN does)
# --------------------------------------------------------------------------------------------

def _shell_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell string, each as its list of unquoted words."""
    commands: list[list[str]] = [[]]
    for token in _lex(text, operators=True):
        if token in _OPERATORS or token == ";":
            if commands[-1]:
                commands.append([])
        else:
            commands[-1].append(_dequote(token))
    return [c for c in commands if c]


def _strip_prefixes(words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """``words`` without leading ``VAR=value`` (collected into ``env``), ``exec``/``env``..."""
    words = list(words)
    while words:
        if _ASSIGNMENT.match(words[0]):
            key, _, value = words.pop(0).partition("=")
            if env is not None:
                env[key] = value
        elif words[0] in ("exec", "command", "time", "nohup"):
            words.pop(0)
        elif posixpath.basename(words[0]) == "env":
            words.pop(0)
            while words and (words[0].startswith("-") or _ASSIGNMENT.match(words[0])):
                flag = words.pop(0)
                if flag in ("-u", "--unset", "-C", "--chdir") and words:
                    words.pop(0)
                elif _ASSIGNMENT.match(flag) and env is not None:
                    key, _, value = flag.partition("=")
                    env[key] = value
        else:
            break
    return words


@dataclass
class _GoCall:
    subcommand: str
    args: list[str]
    env: dict[str, str]
    cwd: str
    go_env_w: dict[str, str]


@dataclass
class _RunFacts:
    go_calls: list[_GoCall] = field(default_factory=list)
    mod_download: bool = False
    go_env_w: dict[str, str] = field(default_factory=dict)


def _run_facts(instruction: Instruction, cwd: str, scope: dict[str, str | None] | None = None,
               go_env_w: dict[str, str] | None = None) -> _RunFacts:
    """The ``go`` invocations, ``go mod download`` and ``go env -w`` of one RUN.

    With ``scope``, the command is expanded with the stage's ARG/ENV first, as the shell
    would (unknown variables are left as written).
    """
    facts = _RunFacts(go_env_w=dict(go_env_w or {}))
    if instruction.keyword != "RUN":
        return facts
    if instruction.exec_form:
        commands = [list(instruction.arguments)]
    else:
        text = _split_flags(instruction.raw)[1]
        commands = _shell_commands(_expand(text, scope) if scope is not None else text)
    _walk(commands, {}, {}, cwd, facts, scope)
    return facts


def _walk(commands: Iterable[list[str]], exported: dict[str, str], shell_vars: dict[str, str],
          cwd: str, facts: _RunFacts, scope: dict[str, str | None] | None) -> None:
    for words in commands:
        inline: dict[str, str] = {}
        words = _strip_prefixes(words, inline)
        if not words:
            shell_vars.update(inline)  # `X=1; go build` does not export X
            continue
        program = posixpath.basename(words[0])
        if program == "export":
            for word in words[1:]:
                key, eq, value = word.partition("=")
                if eq:
                    exported[key] = value
                elif key in shell_vars:
                    exported[key] = shell_vars[key]
        elif program == "cd" and len(words) > 1:
            cwd = _join(cwd, words[1])
        elif program in SHELLS and "-c" in words[:-1]:
            script = words[words.index("-c") + 1]
            script = _expand(script, scope) if scope is not None else script
            _walk(_shell_commands(script), {**exported, **inline}, dict(shell_vars), cwd, facts,
                  scope)
        elif program == "go" and len(words) > 1:
            sub = words[1]
            if sub in ("build", "install"):
                facts.go_calls.append(_GoCall(sub, words[2:], {**exported, **inline}, cwd,
                                              dict(facts.go_env_w)))
            elif sub == "mod" and len(words) > 2 and words[2] == "download":
                facts.mod_download = True
            elif sub == "env" and "-w" in words[2:]:
                for word in words[2:]:
                    key, eq, value = word.partition("=")
                    if eq:
                        facts.go_env_w[key] = value


def _stage_go_env_w(model: DockerfileModel, stage: Stage, line: int) -> dict[str, str]:
    """``go env -w`` settings made by RUNs before ``line`` in ``stage`` and its FROM chain."""
    settings: dict[str, str] = {}
    for st in model.chain(stage):
        for instruction in st.instructions:
            if instruction.keyword == "RUN" and (st is not stage or instruction.line < line):
                settings.update(_run_facts(instruction, "/").go_env_w)
    return settings


# --------------------------------------------------------------------------------------------
# Static-fact helpers for the checks and the diagnosis
# --------------------------------------------------------------------------------------------

def go_build_commands(model: DockerfileModel) -> list[tuple[Stage, Instruction]]:
    """RUN instructions that invoke ``go build`` or ``go install``, in file order.

    Found in shell form (after ``&&``/``;``/``|``, ``VAR=value`` prefixes, ``env``, ``cd``,
    ``sh -c "..."``) and exec form (``RUN ["go", "build", ...]``); ``/usr/local/go/bin/go``
    counts as ``go``.
    """
    found = []
    for stage in model.stages:
        for instruction in stage.instructions:
            if instruction.keyword == "RUN" and _run_facts(instruction, "/").go_calls:
                found.append((stage, instruction))
    return found


def build_flags(model: DockerfileModel, stage: Stage, instruction: Instruction) -> dict:
    """What the (first) ``go build``/``go install`` of a RUN instruction is asked to do.

    Variables are resolved as the shell would see them: inline ``VAR=value`` prefixes and
    ``export`` in the same RUN, then the stage's ENV, then its ARGs (an ARG is an environment
    variable of RUN), then ``go env -w`` settings from earlier RUNs. ``GOFLAGS`` flags count,
    overridden by the command line (the last ``-ldflags`` wins, as in Go).

    Args:
        model: The parsed Dockerfile.
        stage: The stage holding ``instruction``.
        instruction: A RUN instruction (from :func:`go_build_commands`).

    Returns:
        A dict with:

        * ``cgo_disabled``: True if ``CGO_ENABLED=0`` is in effect, False if ``=1``, None if
          not set (Go's default then depends on the platform and on a C compiler being
          present).
        * ``ldflags``: the ``-ldflags`` value with the shell's quotes removed and the ARG/ENV
          variables the model knows expanded, as the shell would
          (``-X main.version=${VERSION}`` -> ``-X main.version=dev``), or None.
        * ``strip``: True when ldflags contain both ``-s`` and ``-w``.
        * ``trimpath``: True when ``-trimpath`` is set.
        * ``goos``/``goarch``: the GOOS/GOARCH values (``$TARGETARCH`` left as written when
          the builder decides), or None.
        * ``output``: the binary's absolute path: ``-o`` resolved against the WORKDIR (and
          ``cd``/``-C``); without ``-o``, ``go build ./cmd/server`` -> ``<cwd>/server`` and
          ``go install`` -> ``$GOBIN`` or ``$GOPATH/bin`` (``/go/bin``); None when unknown
          (e.g. ``go build .``, whose name comes from go.mod).
        * ``subcommand``: ``"build"`` or ``"install"`` (None if the RUN runs neither);
          ``packages``: the package arguments.
    """
    result = {"cgo_disabled": None, "ldflags": None, "strip": False, "trimpath": False,
              "goos": None, "goarch": None, "output": None, "subcommand": None, "packages": []}
    state = model._state_at(stage, instruction.line)
    facts = _run_facts(instruction, state.workdir, state.scope(),
                       _stage_go_env_w(model, stage, instruction.line))
    if not facts.go_calls:
        return result
    call = facts.go_calls[0]
    env: dict[str, str] = dict(call.go_env_w)
    env.update({k: v for k, v in state.args.items() if v is not None})
    env.update(state.env)
    env.update(call.env)

    cgo = env.get("CGO_ENABLED")
    result["cgo_disabled"] = True if cgo == "0" else False if cgo == "1" else None
    result["goos"], result["goarch"] = env.get("GOOS"), env.get("GOARCH")

    goflags = [_dequote(w) for w in _lex(env.get("GOFLAGS", ""))]
    flags, packages = _go_flags(goflags)
    cli_flags, packages = _go_flags(call.args)
    flags.update(cli_flags)
    result["subcommand"], result["packages"] = call.subcommand, packages

    ldflags = flags.get("ldflags")
    result["ldflags"] = ldflags
    if ldflags is not None:
        body = re.sub(r"^[^-\s][^=\s]*=", "", ldflags)  # -ldflags=all=-s -w (per-package form)
        words = {_dequote(w) for w in _lex(body)}
        result["strip"] = "-s" in words and "-w" in words
    result["trimpath"] = flags.get("trimpath", "false").lower() in ("true", "1", "t")

    cwd = call.cwd
    if "C" in flags:
        cwd = _join(cwd, flags["C"])
    name = _binary_name(packages)
    output = flags.get("o")
    if output is not None and call.subcommand == "build":
        path = _join(cwd, output)
        if output.endswith("/"):
            path = _join(path, name) if name else path + "/"
        result["output"] = path
    elif call.subcommand == "install" and name:
        gopath = env.get("GOPATH") or state.image_env.get("GOPATH") or "/go"
        result["output"] = _join(env.get("GOBIN") or _join(gopath, "bin"), name)
    elif name:
        result["output"] = _join(cwd, name)
    return result


def _go_flags(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Go's flag parsing: ``-f``, ``--f``, ``-f=v``, ``-f v`` (value flags); stops at a non-flag."""
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.lstrip("-").partition("=")
        if not eq:
            if name in _GO_VALUE_FLAGS:
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            else:
                value = "true"
        flags[name] = value
        i += 1
    return flags, args[i:]


def _binary_name(packages: list[str]) -> str | None:
    """The file name ``go build`` gives one package (``./cmd/server`` -> ``server``)."""
    if not packages:
        return None
    if all(p.endswith(".go") for p in packages):
        return posixpath.basename(packages[0])[:-3] or None
    if len(packages) != 1:
        return None
    parts = [p for p in packages[0].split("@", 1)[0].rstrip("/").split("/") if p]
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts.pop()
    if not parts or parts[-1] in (".", "..") or "..." in parts[-1]:
        return None
    return parts[-1]


def dependency_order(model: DockerfileModel) -> dict:
    """Whether Go modules are downloaded in their own cached step before the source is copied.

    The build stage is the first stage running ``go build``/``go install`` that the final
    stage uses (one of :meth:`DockerfileModel.builder_stages`, or the final stage itself);
    else the first stage that runs it at all. That stage and the stages it is built FROM are
    searched.

    Returns:
        A dict with:

        * ``stage``: index of the build stage, or None when nothing runs ``go build``.
        * ``download_line``: line of the first RUN with ``go mod download`` (also
          ``go mod download -x``, ``go mod download && go mod verify``), or None.
        * ``copies_go_mod`` / ``copies_go_sum``: True when a COPY/ADD from the build context
          names the file (directly or by a glob such as ``go.*``) before the download (anywhere
          when there is no download), or the download's RUN bind-mounts it
          (``--mount=type=bind,source=go.mod,...``).
        * ``copy_all_line``: line of the first COPY/ADD of the whole context (``COPY . .``,
          ``COPY ./ ./``, ``ADD . .``, ``COPY . /src``), or None.
        * ``source_copy_line``: line of the first context COPY/ADD that copies anything
          other than go.mod/go.sum (``COPY cmd/ cmd/`` too), or None.
        * ``download_before_source``: True when there is a download and it comes before
          ``copy_all_line`` (or there is no whole-context copy).
    """
    result = {"stage": None, "download_line": None, "copies_go_mod": False,
              "copies_go_sum": False, "copy_all_line": None, "source_copy_line": None,
              "download_before_source": False}
    builds = go_build_commands(model)
    if not builds:
        return result
    used = {s.index for s in model.builder_stages()} | {model.final.index}
    stage = next((s for s, _ in builds if s.index in used), builds[0][0])
    result["stage"] = stage.index
    instructions = [i for s in model.chain(stage) for i in s.instructions]

    download = next((i for i in instructions if i.keyword == "RUN"
                     and _run_facts(i, "/").mod_download), None)
    limit = download.line if download is not None else 1 << 30
    for instruction in instructions:
        if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
            continue
        sources = [posixpath.normpath(s) for s in instruction.arguments[:-1]]
        if result["copy_all_line"] is None and any(s in (".", "*") for s in sources):
            result["copy_all_line"] = instruction.line
        if result["source_copy_line"] is None and not all(
                fnmatch.fnmatch("go.mod", s) or fnmatch.fnmatch("go.sum", s) for s in sources):
            result["source_copy_line"] = instruction.line
        if instruction.line < limit:
            result["copies_go_mod"] |= any(fnmatch.fnmatch("go.mod", s) for s in sources)
            result["copies_go_sum"] |= any(fnmatch.fnmatch("go.sum", s) for s in sources)
    if download is not None:
        result["download_line"] = download.line
        for mount in download.mounts():
            if mount["type"] == "bind" and "from" not in mount:
                source = posixpath.normpath(mount.get("source", mount.get("src", ".")))
                result["copies_go_mod"] |= fnmatch.fnmatch("go.mod", source) or source == "."
                result["copies_go_sum"] |= fnmatch.fnmatch("go.sum", source) or source == "."
        copy_all = result["copy_all_line"]
        result["download_before_source"] = copy_all is None or download.line < copy_all
    return result


def uses_latest_or_unpinned(model: DockerfileModel) -> list[tuple[Stage, str]]:
    """Stages FROM an image with no tag or the ``latest`` tag.

    ``scratch`` and stage references are excluded; a digest (``@sha256:...``) counts as
    pinned; a base still holding an unresolved variable (``golang:$GO_VERSION`` with no
    value) is not judged.
    """
    found = []
    for stage in model.stages:
        base = stage.base
        if stage.base_stage is not None or base.lower() == "scratch" or "@" in base \
                or "$" in base:
            continue
        tag = split_ref(base)[1]
        if tag is None or tag == "latest":
            found.append((stage, base))
    return found


#: Image names (last path component) that are build toolchains.
_TOOLCHAIN_NAMES = frozenset({"go", "tinygo", "go-toolset", "gcc", "rust", "buildpack-deps",
                              "maven", "gradle", "openjdk", "sdk"})


def is_toolchain_image(image: str) -> bool:
    """Whether ``image`` is a build toolchain image, not a runtime base.

    True for ``golang:*`` (any registry, any variant such as ``golang:1.22-alpine``), names
    containing ``golang`` or ``sdk``, ``buildpack-deps``, ``cgr.dev/chainguard/go``,
    ``tinygo``, ``go-toolset``, ``gcc``, ``rust``... False for ``scratch``, ``alpine``,
    ``busybox``, ``debian``, ``gcr.io/distroless/*`` and other runtime bases.
    """
    repo = split_ref(image.strip().lower())[0]
    if not repo or repo == "scratch":
        return False
    parts = repo.split("/")
    if "distroless" in parts:
        return False
    if any("golang" in p or "sdk" in p or "buildpack-deps" in p for p in parts):
        return True
    return parts[-1] in _TOOLCHAIN_NAMES


def healthcheck_commands(model: DockerfileModel) -> Instruction | None:
    """The HEALTHCHECK in effect for the final image (inherited along its FROM-stage chain).

    ``HEALTHCHECK NONE`` is returned too (``arguments == ["NONE"]``); None when there is none.
    """
    found = None
    for stage in model.chain(model.final):
        for instruction in stage.instructions:
            if instruction.keyword == "HEALTHCHECK":
                found = instruction
    return found


def healthcheck_tools(model: DockerfileModel) -> dict:
    """What the final image's HEALTHCHECK needs from the image.

    Returns:
        A dict with ``instruction`` (or None), ``disabled`` (HEALTHCHECK NONE), ``exec_form``,
        ``program`` (the first word; absolute when it is a relative path), ``uses_shell``
        (shell form runs ``/bin/sh -c``, or the program is a shell), ``uses_curl`` and
        ``uses_wget`` (curl/wget is run anywhere in the command, ``sh -c "..."`` included).
    """
    instruction = healthcheck_commands(model)
    result = {"instruction": instruction, "disabled": False, "exec_form": None, "program": None,
              "uses_shell": False, "uses_curl": False, "uses_wget": False}
    if instruction is None:
        return result
    if instruction.arguments == ["NONE"] and instruction.exec_form is None:
        result["disabled"] = True
        return result
    result["exec_form"] = instruction.exec_form
    if instruction.exec_form:
        commands = [list(instruction.arguments)]
    else:
        commands = _shell_commands(_rest_after_flags(instruction))
        result["uses_shell"] = True
    programs: list[str] = []

    def collect(cmds: list[list[str]]) -> None:
        for words in cmds:
            words = _strip_prefixes(words)
            if not words:
                continue
            programs.append(words[0])
            if posixpath.basename(words[0]) in SHELLS and "-c" in words[:-1]:
                collect(_shell_commands(words[words.index("-c") + 1]))

    collect(commands)
    if programs:
        first = programs[0]
        result["program"] = first if "/" not in first else \
            _join(model.workdir_at(model.final, 1 << 30), first)
    names = {posixpath.basename(p) for p in programs}
    result["uses_shell"] |= bool(names & SHELLS)
    result["uses_curl"] = "curl" in names
    result["uses_wget"] = "wget" in names
    return result


def invalid_exec_forms(model: DockerfileModel) -> list[tuple[Stage, Instruction]]:
    """RUN/CMD/ENTRYPOINT/HEALTHCHECK written like a JSON array that is not valid JSON.

    ``CMD ['./server']`` (single quotes) or ``ENTRYPOINT ["/server",]`` is silently taken as
    *shell form* by Docker, so the shell tries to run a program called ``['./server']``.
    """
    found = []
    for stage in model.stages:
        for instruction in stage.instructions:
            if instruction.exec_form is False and \
                    _rest_after_flags(instruction).lstrip().startswith("["):
                found.append((stage, instruction))
    return found
