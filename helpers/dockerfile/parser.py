"""Reading a Dockerfile into the model, the way Docker (BuildKit) reads it.

The checks' answers must not depend on *how* the learner wrote the solution, so:

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

import io
import json
import re
from pathlib import Path
from typing import Iterator

from dockerfile_parse import DockerfileParser

from ..errors import KitError
from .model import (FLAGGED, KEYWORDS, PLATFORM_ARGS, SUBSTITUTED, CopyFrom, DockerfileModel,
                    Instruction, Stage, StageState, join_path)
from .refs import is_official_golang
from .words import expand, split_flags, split_words, unquote

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=\s*(\\|`)\s*$", re.I)
_SYNTAX_DIRECTIVE = re.compile(r"^\s*#\s*syntax\s*=", re.I)

_HINT_SYNTAX = ("Compare with exercises/solutions/Dockerfile.multistage; the Dockerfile reference "
                "is https://docs.docker.com/reference/dockerfile/.")
_HINT_ARG = "Write `ARG NAME=default`."


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


# ---- text for dockerfile-parse ----------------------------------------------------------

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
        end = _heredoc_end(lines, i, pending)
        if end is not None:  # blank the bodies only if every terminator is found
            out.extend(["# (heredoc)"] * (end - i))
            i = end
        pending = []
    if continuation:
        out.append("")
    return "\n".join(out) + "\n"


def _heredoc_end(lines: list[str], start: int, pending: list[tuple[bool, str]]) -> int | None:
    """Index of the line after the last heredoc body that starts at ``lines[start]``, or None.

    ``pending`` holds ``(strip_tabs, terminator)`` for each heredoc of the instruction, in order
    (``<<-EOF`` strips leading tabs before comparing).
    """
    j = start
    for strip_tabs, word in pending:
        while j < len(lines) and (lines[j].lstrip("\t") if strip_tabs else lines[j]) != word:
            j += 1
        if j >= len(lines):
            return None
        j += 1
    return j


# ---- instructions into stages -----------------------------------------------------------

class _Builder:
    """Walks dockerfile-parse's structure once, building stages and per-line state."""

    def __init__(self, build_args: dict[str, str]) -> None:
        self.build_args = build_args
        self.global_args: dict[str, str | None] = {}
        self.stages: list[Stage] = []
        self.pending_copies: list[tuple[Instruction, int, list[str], str, str]] = []

    def global_scope(self) -> dict[str, str | None]:
        """Variables FROM sees: the global ARGs, and the platform ARGs (unknown unless given)."""
        scope: dict[str, str | None] = {name: None for name in PLATFORM_ARGS}
        scope.update({k: v for k, v in self.build_args.items() if k in PLATFORM_ARGS})
        for name, value in self.global_args.items():
            scope[name] = value if value is not None else (None if name in PLATFORM_ARGS
                                                            else "")
        return scope

    def build(self, entries: list[dict]) -> DockerfileModel:
        """The model of dockerfile-parse's ``structure`` entries (comments removed)."""
        state: StageState | None = None
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
        model = DockerfileModel(None, self.stages, self.global_args, dict(self.build_args))
        for pending in self.pending_copies:  # after every stage: --from may name a later one
            copy = self.resolve_copy(*pending)
            self.stages[copy.stage].copies.append(copy)
        _check_cycles(model)
        return model

    # ---- ARG before FROM ----------------------------------------------------------------
    def global_arg(self, raw: str, line: int) -> None:
        """Record an ARG before the first FROM (each default sees the ARGs before it)."""
        if not raw:
            raise KitError(f"Line {line}: ARG needs a name.", _HINT_ARG)
        for name, has_default, default in _arg_words(raw, line):
            value: str | None = unquote(expand(default, self.global_scope(), closed=True)) \
                if has_default else None
            self.global_args[name] = self.build_args.get(name, value)

    # ---- FROM ---------------------------------------------------------------------------
    def add_stage(self, raw: str, line: int, end_line: int) -> StageState:
        """Start a stage at a FROM; returns the state its first instruction sees."""
        scope = self.global_scope()
        flag_list, rest = split_flags(raw)
        flag_list = [(n, unquote(expand(v, scope, closed=True))) for n, v in flag_list]
        words = split_words(rest)
        name = self.stage_name(words, raw, line)
        base = unquote(expand(words[0], scope, closed=True))
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
        instruction = Instruction("FROM", expand(raw, scope, closed=True), line, flags,
                                  arguments, None, end_line, raw, flag_list)
        stage = Stage(len(self.stages), name, base, base_stage, [], line, flags.get("platform"),
                      instruction)
        self.stages.append(stage)
        if base_stage is not None:
            state = self.stages[base_stage].states[-1].copy()
        else:
            golang = is_official_golang(base)
            state = StageState("/go" if golang else "/", {}, {},
                               {"GOPATH": "/go"} if golang else {})
        stage.states.append(state)
        return state

    def stage_name(self, words: list[str], raw: str, line: int) -> str | None:
        """The checked, lower-cased ``AS`` name of a FROM split into ``words``, or None."""
        if len(words) == 1:
            return None
        if len(words) == 3 and words[1].lower() == "as":
            name = unquote(words[2]).lower()
            if not _STAGE_NAME.match(name):
                raise KitError(f"Line {line}: {name!r} is not a valid stage name.",
                               "Stage names start with a letter and use letters, digits, "
                               "'-', '_' and '.', e.g. `FROM golang:1.22 AS build`.")
            if any(s.name == name for s in self.stages):
                raise KitError(f"Line {line}: a stage named {name!r} already exists.",
                               "Give every stage its own name.")
            return name
        what = "has no image" if not words else f"cannot be read: `FROM {raw}`"
        raise KitError(f"Line {line}: FROM {what}.",
                       "Write `FROM <image>[:tag] [AS <name>]`, e.g. "
                       "`FROM golang:1.22 AS build` or `FROM scratch`.")

    # ---- instructions inside a stage ----------------------------------------------------
    def add_instruction(self, keyword: str, raw: str, line: int, end_line: int,
                        state: StageState) -> StageState:
        """Add one instruction to the current stage; returns the state after it."""
        stage = self.stages[-1]
        scope = state.scope()
        flag_list: list[tuple[str, str]] = []
        rest = raw
        if keyword in FLAGGED:
            flag_list, rest = split_flags(raw)
            flag_list = [(n, unquote(expand(v, scope))) for n, v in flag_list]
        value = expand(raw, scope) if keyword in SUBSTITUTED else raw
        arguments, exec_form = _arguments(keyword, rest, scope, line)
        instruction = Instruction(keyword, value, line, _flag_dict(flag_list), arguments,
                                  exec_form, end_line, raw, flag_list)
        stage.instructions.append(instruction)
        new = self.apply(instruction, state, scope)
        stage.states.append(new)
        return new

    def apply(self, instruction: Instruction, state: StageState,
              scope: dict[str, str | None]) -> StageState:
        """The state after ``instruction`` (``state`` itself when it changes nothing)."""
        keyword, raw, line, arguments = (instruction.keyword, instruction.raw, instruction.line,
                                         instruction.arguments)
        new = state
        if keyword == "WORKDIR":
            new = state.copy()
            new.workdir = join_path(state.workdir, arguments[0])
        elif keyword == "ENV":
            new = state.copy()
            new.env.update(_env_pairs(raw, scope, line))
        elif keyword == "ARG":
            new = state.copy()
            for name, has_default, default in _arg_words(raw, line):
                if name in self.build_args:
                    new.args[name] = self.build_args[name]
                elif has_default:
                    new.args[name] = unquote(expand(default, scope))
                else:
                    new.args[name] = self.global_args.get(name)
        elif keyword in ("COPY", "ADD"):
            if len(arguments) < 2:
                raise KitError(f"Line {line}: {keyword} needs at least a source and a "
                               "destination.", f"Write `{keyword} <source>... <destination>`.")
            if "from" in instruction.flags:
                self.pending_copies.append((instruction, len(self.stages) - 1, arguments[:-1],
                                            arguments[-1], state.workdir))
        return new

    def resolve_copy(self, instruction: Instruction, stage: int, sources: list[str], dest: str,
                     workdir: str) -> CopyFrom:
        """The :class:`CopyFrom` of a ``--from`` instruction, once every stage is known."""
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
        dest_abs = join_path(workdir, dest)
        if (dest.endswith("/") or dest in (".", "./")) and not dest_abs.endswith("/"):
            dest_abs += "/"
        return CopyFrom(stage, source, source_stage, source_stage is None, list(sources), dest,
                        dest_abs, instruction.line, instruction.keyword, dict(instruction.flags))


def _check_cycles(model: DockerfileModel) -> None:
    """Raise KitError for a stage that depends on itself (BuildKit's circular dependency)."""
    deps = model.copied_from()
    edges = {s.index: set(deps[s.index]) | ({s.base_stage} - {None}) for s in model.stages}
    for start in model.stages:
        todo, seen = list(edges[start.index]), set()
        while todo:
            i = todo.pop()
            if i == start.index:
                where = next((c.line for c in start.copies if c.source_stage is not None),
                             start.line)
                label = start.name or str(start.index)
                raise KitError(f"Line {where}: stage {label!r} copies from itself (directly or "
                               "through other stages); Docker reports a circular dependency.",
                               "COPY --from must name a different stage, usually the builder.")
            if i not in seen:
                seen.add(i)
                todo.extend(edges[i])


# ---- arguments --------------------------------------------------------------------------

def _arguments(keyword: str, rest: str, scope: dict[str, str | None],
               line: int) -> tuple[list[str], bool | None]:
    """(arguments, exec_form) of an instruction inside a stage, ``rest`` after its flags."""
    substitute = keyword in SUBSTITUTED
    exec_form: bool | None = None
    if keyword in ("RUN", "CMD", "ENTRYPOINT"):
        arguments, exec_form = _command_arguments(rest)
    elif keyword == "HEALTHCHECK":
        words = split_words(rest)
        if words and words[0].upper() == "CMD":
            arguments, exec_form = _command_arguments(rest.lstrip()[3:])
        elif words and words[0].upper() == "NONE":
            arguments = ["NONE"]
        else:
            raise KitError(f"Line {line}: HEALTHCHECK needs `CMD <command>` or `NONE`.",
                           'Write `HEALTHCHECK CMD ["/server", "-healthcheck"]`.')
    elif keyword in ("COPY", "ADD", "VOLUME", "SHELL") and _json_list(rest) is not None:
        arguments = [expand(a, scope) if substitute else a for a in _json_list(rest)]
    else:
        arguments = [unquote(expand(w, scope) if substitute else w) for w in split_words(rest)]
    if not arguments and keyword != "HEALTHCHECK" and not (exec_form and keyword in
                                                            ("CMD", "ENTRYPOINT")):
        raise KitError(f"Line {line}: {keyword} has no arguments.", _HINT_SYNTAX)
    return arguments, exec_form


def _flag_dict(flag_list: list[tuple[str, str]]) -> dict[str, str]:
    """Flags by name; a repeated flag's values joined with a newline."""
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
    return [unquote(w) for w in split_words(rest)], False


def _arg_words(raw: str, line: int) -> Iterator[tuple[str, bool, str]]:
    """(name, has a default, default as written) for each word of an ARG instruction."""
    for word in split_words(raw):
        name, eq, default = word.partition("=")
        name = unquote(name)
        if not name:
            raise KitError(f"Line {line}: ARG {raw!r} has no name.", _HINT_ARG)
        yield name, bool(eq), default


def _env_pairs(raw: str, scope: dict[str, str | None], line: int) -> dict[str, str]:
    """ENV ``k=v k2=v2`` or legacy ``ENV k value``; every value sees the scope before it."""
    words = split_words(raw)
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
            pairs[unquote(key)] = unquote(expand(value, scope))
        return pairs
    rest = raw[len(words[0]):].strip()
    if not rest:
        raise KitError(f"Line {line}: ENV {words[0]} has no value.", "Write `ENV NAME=value`.")
    pairs[unquote(words[0])] = unquote(expand(rest, scope))
    return pairs
