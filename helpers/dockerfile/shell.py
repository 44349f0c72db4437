"""What the final image runs, read from its ENTRYPOINT, CMD and HEALTHCHECK command lines.

A shell-form command runs ``/bin/sh -c "..."``, so the image needs a shell (scratch has none),
and a HEALTHCHECK that calls curl or wget needs them in the image. To answer that, a command
line is split into simple commands (at ``&&``, ``;``, ``|``...) and each one's program is found
behind ``VAR=value``, ``exec``, ``env`` prefixes and inside ``sh -c "..."``. :mod:`.go` reads
RUN lines with the same functions.
"""

from __future__ import annotations

import posixpath
import re

from .model import FLAGGED, PAST_END, DockerfileModel, Instruction, join_path
from .words import OPERATORS, split_flags, split_words, unquote

#: Programs that are a shell (a HEALTHCHECK or CMD running one needs it in the image).
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "busybox"})

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def command_text(instruction: Instruction) -> str:
    """The instruction's command as written: after its ``--flags`` and HEALTHCHECK's ``CMD``."""
    rest = split_flags(instruction.raw)[1] if instruction.keyword in FLAGGED else instruction.raw
    if instruction.keyword == "HEALTHCHECK" and rest[:3].upper() == "CMD":
        rest = rest[3:]
    return rest


def shell_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell string, each as its list of unquoted words."""
    commands: list[list[str]] = [[]]
    for token in split_words(text, operators=True):
        if token in OPERATORS or token == ";":
            if commands[-1]:
                commands.append([])
        else:
            commands[-1].append(unquote(token))
    return [c for c in commands if c]


def strip_prefixes(words: list[str], env: dict[str, str] | None = None) -> list[str]:
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


# ---- ENTRYPOINT and CMD -----------------------------------------------------------------

def _command_config(model: DockerfileModel) -> tuple[Instruction | None, Instruction | None]:
    """(ENTRYPOINT, CMD) in effect for the final image, along its FROM-stage chain."""
    entrypoint = cmd = None
    for stage in model.chain(model.final):
        cmd_set_here = False
        for instruction in stage.instructions:
            if instruction.keyword == "CMD":
                cmd, cmd_set_here = instruction, True
            elif instruction.keyword == "ENTRYPOINT":
                entrypoint = instruction
                if not cmd_set_here:  # Docker: ENTRYPOINT resets an inherited CMD
                    cmd = None
    return entrypoint, cmd


def entrypoint(model: DockerfileModel) -> Instruction | None:
    """The last ENTRYPOINT of the final stage, inherited along its FROM-stage chain."""
    return _command_config(model)[0]


def cmd(model: DockerfileModel) -> Instruction | None:
    """The CMD in effect for the final image (an ENTRYPOINT in a later stage resets it)."""
    return _command_config(model)[1]


def _command(model: DockerfileModel) -> Instruction | None:
    entry, command = _command_config(model)
    if entry is not None and entry.arguments:
        return entry
    return command if command is not None and command.arguments else None


def shell_form(model: DockerfileModel) -> bool | None:
    """Whether the image's command (ENTRYPOINT, else CMD) is in shell form.

    Shell form runs ``/bin/sh -c "..."``, so the image needs a shell (scratch has none).
    None when the image has no command.
    """
    command = _command(model)
    return None if command is None else not command.exec_form


def command_path(model: DockerfileModel) -> str | None:
    """The program the final image starts, as an absolute path when it is a path.

    ENTRYPOINT's first word, else CMD's; for shell form the first word of the shell
    command (leading ``VAR=value`` assignments and ``exec`` skipped) — the real process
    is then ``/bin/sh``, see :func:`shell_form`. A relative path is made absolute with
    the final WORKDIR (``./server`` + ``WORKDIR /app`` -> ``/app/server``). A bare name
    without ``/`` (``server``) is returned unchanged: Docker looks it up in ``PATH``, not
    in the WORKDIR. None when the image has no command.
    """
    command = _command(model)
    if command is None:
        return None
    if command.exec_form:
        word = command.arguments[0]
    else:
        commands = shell_commands(command_text(command))
        words = strip_prefixes(commands[0]) if commands else []
        if not words:
            return None
        word = words[0]
    if "/" not in word:
        return word
    return join_path(model.workdir_at(model.final, PAST_END), word)


# ---- HEALTHCHECK ------------------------------------------------------------------------

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


def _programs(commands: list[list[str]]) -> list[str]:
    """The programs ``commands`` run, in order, looking inside ``sh -c "..."``."""
    programs: list[str] = []
    for words in commands:
        words = strip_prefixes(words)
        if not words:
            continue
        programs.append(words[0])
        if posixpath.basename(words[0]) in SHELLS and "-c" in words[:-1]:
            programs.extend(_programs(shell_commands(words[words.index("-c") + 1])))
    return programs


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
        programs = _programs([list(instruction.arguments)])
    else:
        programs = _programs(shell_commands(command_text(instruction)))
        result["uses_shell"] = True
    if programs:
        first = programs[0]
        result["program"] = first if "/" not in first else \
            join_path(model.workdir_at(model.final, PAST_END), first)
    names = {posixpath.basename(p) for p in programs}
    result["uses_shell"] |= bool(names & SHELLS)
    result["uses_curl"] = "curl" in names
    result["uses_wget"] = "wget" in names
    return result
