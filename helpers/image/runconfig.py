"""How the engine will run an image: ENTRYPOINT/CMD, USER, WORKDIR, ENV, HEALTHCHECK...

:func:`image_config` reads the ``Config`` part of the engine's image inspect into an
:class:`ImageConfig`, whose methods answer what the checks ask: which program starts (in exec
or shell form, resolved against ``WORKDIR`` and ``PATH``), and whether it runs as root. The
methods are pure, so they are unit-tested on hand-made configs.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Collection

import docker

from .inspect import get_image

#: The PATH Docker gives a Linux container whose image sets none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SHELL_PREFIX = ["/bin/sh", "-c"]
_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class ImageConfig:
    """How the engine will run the image: the ``Config`` part of ``docker image inspect``.

    Attributes:
        entrypoint: ``ENTRYPOINT`` as a list (shell form already wrapped in
            ``["/bin/sh", "-c", ...]`` by the builder), None if unset.
        cmd: ``CMD`` likewise.
        workdir: ``WORKDIR`` ("" means ``/``).
        user: ``USER`` ("" means root).
        env: ``ENV`` variables.
        healthcheck: ``HEALTHCHECK``'s test (``["CMD", "/server", "-healthcheck"]``,
            ``["CMD-SHELL", "..."]`` or ``["NONE"]``), None if unset.
        exposed_ports: ``EXPOSE`` ports as the engine names them (``"8080/tcp"``), sorted.
        labels: Image labels.
        os: ``linux``...
        architecture: GOARCH-style (``amd64``, ``arm64``...).
        size_bytes: The engine's ``Size``.
    """

    entrypoint: list[str] | None
    cmd: list[str] | None
    workdir: str
    user: str
    env: dict[str, str]
    healthcheck: list[str] | None
    exposed_ports: list[str]
    labels: dict[str, str]
    os: str
    architecture: str
    size_bytes: int

    def command(self) -> list[str]:
        """ENTRYPOINT followed by CMD, the argv Docker starts (CMD alone without ENTRYPOINT)."""
        return list(self.entrypoint or []) + list(self.cmd or [])

    def shell_form(self) -> bool:
        """True if the command is the shell form (``["/bin/sh", "-c", ...]``)."""
        return self.command()[:2] == _SHELL_PREFIX

    def runs_as_root(self) -> bool:
        """True if the container's process runs as root (``""``, ``root``, ``0``, ``0:0``...)."""
        return self.user.split(":", 1)[0].strip() in ("", "root", "0")

    def program(self) -> str | None:
        """The program as written: the command's first word, or in shell form the first word
        of the shell string (after ``exec`` and ``VAR=value`` prefixes). None if no command."""
        words = self.command()
        if words[:2] == _SHELL_PREFIX:
            return _shell_program(words[2]) if len(words) > 2 else None
        return words[0] if words and words[0] else None

    def path_dirs(self) -> list[str]:
        """The directories of the container's ``PATH`` (Docker's default if ENV sets none)."""
        return [d for d in self.env.get("PATH", DEFAULT_PATH).split(":") if d]

    def program_candidates(self, files: Collection[str] | None = None) -> list[str]:
        """Absolute paths the program may be, in the order the runtime would try them.

        A name with a slash is a path: absolute as it is, relative (``./server``,
        ``bin/server``) resolved against ``workdir``; it is returned whether or not it
        exists. A bare name (``server``) is looked up in each ``PATH`` directory; with
        ``files`` (the image's final filesystem paths) only the existing ones are kept.
        Symlinked directories (Debian's ``/bin`` -> ``usr/bin``) are not resolved.
        """
        program = self.program()
        if program is None:
            return []
        if files is not None and not isinstance(files, (set, frozenset)):
            files = set(files)  # a pandas Series' `in` would look at its index
        if "/" in program:
            return [posixpath.normpath(posixpath.join(self.workdir or "/", program))]
        candidates = [posixpath.join(d if d.startswith("/") else
                                     posixpath.join(self.workdir or "/", d), program)
                      for d in self.path_dirs()]
        if files is not None:
            candidates = [c for c in candidates if c in files]
        return candidates

    def program_path(self, files: Collection[str] | None = None) -> str | None:
        """The absolute path of the program the container starts, None if unknown.

        See :meth:`program_candidates`. A bare name resolves only with ``files`` given (the
        first ``PATH`` directory holding it); without ``files`` it is None.
        """
        program = self.program()
        if program is None or ("/" not in program and files is None):
            return None
        candidates = self.program_candidates(files)
        return candidates[0] if candidates else None


def _shell_program(script: str) -> str | None:
    """The first word of a shell script after ``exec`` and ``VAR=value`` prefixes, split as
    ``sh`` splits words; None if there is none, or if a quote left open cuts it short (the
    shell would refuse the script too)."""
    lexer = shlex.shlex(script, posix=True)
    lexer.whitespace_split, lexer.commenters = True, ""  # as shlex.split does
    try:
        for word in lexer:  # lazily: a bad quote after the program's word does not matter
            if word != "exec" and not _ASSIGNMENT_RE.match(word):
                return word or None
    except ValueError:  # "No closing quotation"
        return None
    return None


def image_config(client: docker.DockerClient, image: str) -> ImageConfig:
    """The :class:`ImageConfig` of ``image``, from the engine's image inspect.

    Raises:
        KitError: The image does not exist.
    """
    return config_from_inspect(get_image(client, image).attrs)


def config_from_inspect(attrs: dict) -> ImageConfig:
    """The :class:`ImageConfig` of an image inspect's ``attrs`` (``Config``, ``Os``...).

    Also used for an image built without an engine, whose config has the same shape.
    """
    config = attrs.get("Config") or {}
    env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    health = (config.get("Healthcheck") or {}).get("Test")
    return ImageConfig(
        entrypoint=list(config["Entrypoint"]) if config.get("Entrypoint") else None,
        cmd=list(config["Cmd"]) if config.get("Cmd") else None,
        workdir=config.get("WorkingDir") or "",
        user=config.get("User") or "",
        env=env,
        healthcheck=list(health) if health else None,
        exposed_ports=sorted(config.get("ExposedPorts") or {}),
        labels=dict(config.get("Labels") or {}),
        os=attrs.get("Os") or "",
        architecture=attrs.get("Architecture") or "",
        size_bytes=int(attrs.get("Size") or 0),
    )
