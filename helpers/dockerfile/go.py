"""What the Go build in a Dockerfile does: ``go build`` flags and the module-download order.

The checks ask whether ``CGO_ENABLED=0`` is in effect, whether ``-ldflags "-s -w"`` strips
the binary, where it is written, and whether ``go mod download`` runs in its own cached step
before the source is copied. Learners write this in many ways (inline ``VAR=value``,
``export``, ENV, ARG, ``go env -w``, ``GOFLAGS``, ``sh -c``, exec form, cache and bind
mounts), so each RUN is read like the shell would run it (:mod:`.shell`), with the stage's
WORKDIR, ENV and ARGs from the model.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterable

from .model import PAST_END, DockerfileModel, Instruction, Stage, StageState, join_path
from .shell import SHELLS, command_text, shell_commands, strip_prefixes
from .words import expand, split_words, unquote

#: Go build flags that take a value (``-o out`` as well as ``-o=out``).
GO_VALUE_FLAGS = frozenset({
    "o", "ldflags", "gcflags", "asmflags", "gccgoflags", "tags", "mod", "modfile", "p",
    "pkgdir", "buildmode", "compiler", "installsuffix", "overlay", "pgo", "toolexec", "C",
    "covermode", "coverpkg", "exec",
})


@dataclass
class _GoCall:
    """One ``go build``/``go install`` as the shell runs it."""

    subcommand: str
    args: list[str]
    env: dict[str, str]
    cwd: str
    go_env_w: dict[str, str]


@dataclass
class _RunFacts:
    """The Go-related things one RUN does."""

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
        text = command_text(instruction)
        commands = shell_commands(expand(text, scope) if scope is not None else text)
    _walk(commands, {}, {}, cwd, facts, scope)
    return facts


def _walk(commands: Iterable[list[str]], exported: dict[str, str], shell_vars: dict[str, str],
          cwd: str, facts: _RunFacts, scope: dict[str, str | None] | None) -> None:
    """Run ``commands`` in the mind: track ``export``, ``cd``, ``sh -c`` and record ``go``."""
    for words in commands:
        inline: dict[str, str] = {}
        words = strip_prefixes(words, inline)
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
            cwd = join_path(cwd, words[1])
        elif program in SHELLS and "-c" in words[:-1]:
            script = words[words.index("-c") + 1]
            script = expand(script, scope) if scope is not None else script
            _walk(shell_commands(script), {**exported, **inline}, dict(shell_vars), cwd, facts,
                  scope)
        elif program == "go" and len(words) > 1:
            _go_command(words, {**exported, **inline}, cwd, facts)


def _go_command(words: list[str], env: dict[str, str], cwd: str, facts: _RunFacts) -> None:
    """Record one ``go ...`` command line in ``facts``."""
    sub = words[1]
    if sub in ("build", "install"):
        facts.go_calls.append(_GoCall(sub, words[2:], env, cwd, dict(facts.go_env_w)))
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
    state = model.state_at(stage, instruction.line)
    facts = _run_facts(instruction, state.workdir, state.scope(),
                       _stage_go_env_w(model, stage, instruction.line))
    if not facts.go_calls:
        return result
    call = facts.go_calls[0]
    env = _call_env(call, state)
    cgo = env.get("CGO_ENABLED")
    result["cgo_disabled"] = True if cgo == "0" else False if cgo == "1" else None
    result["goos"], result["goarch"] = env.get("GOOS"), env.get("GOARCH")

    flags, _ = _go_flags([unquote(w) for w in split_words(env.get("GOFLAGS", ""))])
    cli_flags, packages = _go_flags(call.args)
    flags.update(cli_flags)
    result["subcommand"], result["packages"] = call.subcommand, packages
    result["ldflags"] = flags.get("ldflags")
    result["strip"] = _strips(result["ldflags"])
    result["trimpath"] = flags.get("trimpath", "false").lower() in ("true", "1", "t")
    result["output"] = _output(call, flags, packages, env, state)
    return result


def _call_env(call: _GoCall, state: StageState) -> dict[str, str]:
    """The environment ``go`` sees: ``go env -w`` < ARG < ENV < the command's own variables."""
    env: dict[str, str] = dict(call.go_env_w)
    env.update({k: v for k, v in state.args.items() if v is not None})
    env.update(state.env)
    env.update(call.env)
    return env


def _strips(ldflags: str | None) -> bool:
    """Whether ``ldflags`` hold both ``-s`` and ``-w``."""
    if ldflags is None:
        return False
    body = re.sub(r"^[^-\s][^=\s]*=", "", ldflags)  # -ldflags=all=-s -w (per-package form)
    words = {unquote(w) for w in split_words(body)}
    return "-s" in words and "-w" in words


def _output(call: _GoCall, flags: dict[str, str], packages: list[str], env: dict[str, str],
            state: StageState) -> str | None:
    """The absolute path of the binary ``call`` writes, or None when it cannot be known."""
    cwd = call.cwd
    if "C" in flags:
        cwd = join_path(cwd, flags["C"])
    name = _binary_name(packages)
    output = flags.get("o")
    if output is not None and call.subcommand == "build":
        path = join_path(cwd, output)
        if output.endswith("/"):
            path = join_path(path, name) if name else path + "/"
        return path
    if call.subcommand == "install" and name:
        gopath = env.get("GOPATH") or state.image_env.get("GOPATH") or "/go"
        return join_path(env.get("GOBIN") or join_path(gopath, "bin"), name)
    if name:
        return join_path(cwd, name)
    return None


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
            if name in GO_VALUE_FLAGS:
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
    _context_copies(instructions, download.line if download is not None else PAST_END, result)
    if download is not None:
        result["download_line"] = download.line
        _bind_mounts(download, result)
        copy_all = result["copy_all_line"]
        result["download_before_source"] = copy_all is None or download.line < copy_all
    return result


def _context_copies(instructions: list[Instruction], limit: int, result: dict) -> None:
    """Fill ``result``'s copy facts from the COPY/ADD of the build context in ``instructions``.

    ``copies_go_mod``/``copies_go_sum`` only count copies on lines before ``limit``.
    """
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


def _bind_mounts(download: Instruction, result: dict) -> None:
    """Count go.mod/go.sum bind-mounted from the context into the download's RUN."""
    for mount in download.mounts():
        if mount["type"] == "bind" and "from" not in mount:
            source = posixpath.normpath(mount.get("source", mount.get("src", ".")))
            result["copies_go_mod"] |= fnmatch.fnmatch("go.mod", source) or source == "."
            result["copies_go_sum"] |= fnmatch.fnmatch("go.sum", source) or source == "."
