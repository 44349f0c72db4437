"""The Dockerfile model: stages, instructions, ``COPY --from`` and the state each line runs in.

Plain data that :mod:`.parser` builds once and everything else only reads, so the checks can
ask "which stage does the final stage copy from?" or "which WORKDIR does this line run in?"
without caring how the learner wrote the file. Stage names are lower-cased as Docker does,
so lookups by name are case-insensitive. This module also holds the Dockerfile vocabulary
(keywords, which instructions take flags or get variables substituted) and Docker's rule for
resolving a path against the WORKDIR.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

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
#: A line number past every instruction: ask for the state "at the end of the stage".
PAST_END = 1 << 30


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
class StageState:
    """What is in effect at one point of a stage, for substitution and for the shell.

    Attributes:
        workdir: The absolute WORKDIR.
        env: The Dockerfile ENV (values substituted), inherited from a FROM stage; the base
            image's own ENV is in ``image_env``.
        args: The ARGs declared in the stage (or inherited from its FROM stage), values after
            ``build_args``; None when an ARG has no value (for the automatic platform ARGs:
            the value depends on the builder).
        image_env: The ENV the model knows the external base image sets (golang's ``GOPATH``).
    """

    workdir: str
    env: dict[str, str]
    args: dict[str, str | None]
    image_env: dict[str, str]

    def copy(self) -> StageState:
        """An independent copy (the parser derives each line's state from the one before)."""
        return StageState(self.workdir, dict(self.env), dict(self.args), dict(self.image_env))

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
        states: The state in effect before the first instruction, then after each one
            (``len(instructions) + 1`` entries); see :meth:`DockerfileModel.state_at`.
        copies: The stage's ``COPY --from``/``ADD --from``, in order.
    """

    index: int
    name: str | None
    base: str
    base_stage: int | None
    instructions: list[Instruction]
    line: int
    platform: str | None = None
    from_instruction: Instruction | None = field(default=None, repr=False)
    states: list[StageState] = field(default_factory=list, repr=False)
    copies: list[CopyFrom] = field(default_factory=list, repr=False)


@dataclass
class DockerfileModel:
    """The parsed Dockerfile.

    Attributes:
        path: The file it was read from, or None for :func:`~.parser.parse_text`.
        stages: The build stages in file order; the last one is the image that is built.
        global_args: ARGs declared before the first FROM with their values (``build_args``
            override the defaults; None when there is neither).
        build_args: The ``--build-arg`` values the model was parsed with.
    """

    path: Path | None
    stages: list[Stage]
    global_args: dict[str, str | None]
    build_args: dict[str, str] = field(default_factory=dict)

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

    def builder_stages(self) -> list[Stage]:
        """Stages the final stage takes artifacts from, transitively: the build side.

        Starts from the ``COPY --from`` (and ``RUN --mount=from=``) sources of the final stage
        and of the stages it is built FROM, then follows those stages' own FROM chains and
        copies. The final stage itself is never included.
        """
        deps = self.copied_from()
        todo = [i for s in self.chain(self.final) for i in deps[s.index]]
        seen: set[int] = set()
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            stage = self.stages[i]
            if stage.base_stage is not None:
                todo.append(stage.base_stage)
            todo.extend(deps[i])
        seen.discard(self.final.index)
        return [self.stages[i] for i in sorted(seen)]

    def copied_from(self) -> dict[int, list[int]]:
        """For each stage index, the stages it takes files from, repeats kept.

        ``COPY --from``/``ADD --from`` first, then ``RUN --mount=from=``; a source that names
        no stage (an image) is left out. FROM is not a copy: see :meth:`chain`.
        """
        deps: dict[int, list[int]] = {s.index: [] for s in self.stages}
        for copy in self.copies_from():
            if copy.source_stage is not None:
                deps[copy.stage].append(copy.source_stage)
        for stage in self.stages:
            for instruction in stage.instructions:
                for mount in instruction.mounts() if instruction.keyword == "RUN" else []:
                    source = self.stage(mount["from"]) if "from" in mount else None
                    if source is not None:
                        deps[stage.index].append(source.index)
        return deps

    # ---- COPY --from --------------------------------------------------------------------
    def copies_from(self) -> list[CopyFrom]:
        """Every ``COPY --from`` / ``ADD --from`` in the file, in order."""
        return [copy for stage in self.stages for copy in stage.copies]

    def final_copies_from(self) -> list[CopyFrom]:
        """The ``COPY --from`` instructions of the final stage."""
        return list(self.final.copies)

    # ---- state in effect ----------------------------------------------------------------
    def state_at(self, stage: Stage, line: int) -> StageState:
        """The WORKDIR, ENV and ARGs the instruction starting at ``line`` in ``stage`` sees.

        Only instructions that start before ``line`` count (so for an ENV line, the ENV
        before it); a ``line`` past the stage's end gives its final state. A stage FROM an
        earlier stage starts with that stage's final state. Returns a copy.
        """
        state = stage.states[0]
        for instruction, after in zip(stage.instructions, stage.states[1:]):
            if instruction.line < line:
                state = after
        return state.copy()

    def workdir_at(self, stage: Stage, line: int) -> str:
        """The absolute WORKDIR the instruction starting at ``line`` in ``stage`` runs in.

        Only instructions that start before ``line`` count (so for a WORKDIR line, the
        directory before it). A stage FROM an earlier stage starts in that stage's final
        WORKDIR; FROM ``golang:*`` starts in ``/go``; any other image in ``/``. A ``line``
        past the stage's end gives its final WORKDIR.
        """
        return self.state_at(stage, line).workdir


def _clean(path: str) -> str:
    path = posixpath.normpath(path)
    return re.sub(r"^/+", "/", path)


def join_path(base: str, path: str) -> str:
    """``path`` made absolute against the directory ``base`` (Docker's WORKDIR rule)."""
    return _clean(posixpath.join(base or "/", path)) if path else _clean(base or "/")
