"""The run config (``docker inspect``'s ``Config``) a stage's instructions give its image.

What Docker's builders write for ``ENV``, ``USER``, ``EXPOSE``, ``WORKDIR``, ``ENTRYPOINT``,
``CMD``, ``SHELL``, ``HEALTHCHECK``, ``LABEL`` and ``STOPSIGNAL``, applied along the stage's
FROM chain on top of the base image's config: ``ENTRYPOINT`` resets an inherited ``CMD``
(moby ``builder/dockerfile/dispatchers.go``); shell forms run under ``SHELL`` (default
``/bin/sh -c``); ``HEALTHCHECK`` durations are nanoseconds, as in the image config.
"""

from __future__ import annotations

import re

from ...dockerfile import DockerfileModel, Instruction, Stage
from ...dockerfile.model import PAST_END
from ...dockerfile.shell import command_text
from .entries import NeedsEngine

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
            "m": 60_000_000_000, "h": 3_600_000_000_000}
#: The PATH Docker's builders give an image whose base sets none (``FROM scratch``).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_HEALTH_FLAGS = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                 "start-interval": "StartInterval", "retries": "Retries"}


def duration_ns(text: str) -> int:
    """Go's ``time.ParseDuration`` for the forms HEALTHCHECK takes (``1m30s``, ``500ms``)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return int(sum(float(n) * _UNIT_NS[u] for n, u in parts))


def stage_config(model: DockerfileModel, stage: Stage, base: dict | None = None) -> dict:
    """The ``Config`` of the image ``stage`` produces, on top of the base's ``base``.

    Raises:
        NeedsEngine: an ``ONBUILD`` or a malformed ``HEALTHCHECK`` the kit does not replay.
    """
    config = {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
              for k, v in (base or {}).items() if v is not None}
    shell = list(config.get("Shell") or ["/bin/sh", "-c"])
    workdir_set = False
    for st in model.chain(stage):
        for instruction in st.instructions:
            keyword = instruction.keyword
            if keyword == "SHELL":
                shell = list(instruction.arguments)
                config["Shell"] = shell
            elif keyword in ("ENTRYPOINT", "CMD"):
                value = _command(instruction, shell)
                if keyword == "ENTRYPOINT":
                    config["Entrypoint"], config["Cmd"] = value, None  # resets CMD
                else:
                    config["Cmd"] = value
            elif keyword == "USER":
                config["User"] = instruction.value.strip()
            elif keyword == "EXPOSE":
                ports = config.setdefault("ExposedPorts", {})
                ports.update({p if "/" in p else f"{p}/tcp": {} for p in instruction.arguments})
            elif keyword == "WORKDIR":
                workdir_set = True
            elif keyword == "HEALTHCHECK":
                config["Healthcheck"] = _healthcheck(instruction)
            elif keyword == "LABEL":
                config.setdefault("Labels", {}).update(_pairs(instruction))
            elif keyword == "STOPSIGNAL":
                config["StopSignal"] = instruction.value.strip()
            elif keyword == "ONBUILD":
                raise NeedsEngine(f"ONBUILD {instruction.raw}")
    final = model.state_at(stage, PAST_END)
    if workdir_set:
        config["WorkingDir"] = final.workdir
    config["Env"] = _env(config.get("Env") or [], final.env)
    return {k: v for k, v in config.items() if v not in (None, {}, [])}


def _command(instruction: Instruction, shell: list[str]) -> list[str] | None:
    """ENTRYPOINT/CMD as the image stores it: the JSON array, or the shell plus the text."""
    if instruction.exec_form:
        return list(instruction.arguments) or None
    text = command_text(instruction)
    return [*shell, text] if text else None


def _healthcheck(instruction: Instruction) -> dict:
    """``HEALTHCHECK [--interval=..] CMD ...`` (or ``NONE``) as the image config's dict."""
    if instruction.arguments == ["NONE"]:
        return {"Test": ["NONE"]}
    test = (["CMD", *instruction.arguments] if instruction.exec_form
            else ["CMD-SHELL", " ".join(instruction.arguments)])
    check: dict = {"Test": test}
    for flag, value in instruction.flags.items():
        key = _HEALTH_FLAGS.get(flag)
        if key is None:
            raise NeedsEngine(f"HEALTHCHECK {instruction.raw}", f"--{flag} is not replayed")
        try:
            check[key] = int(value) if key == "Retries" else duration_ns(value)
        except ValueError:
            raise NeedsEngine(f"HEALTHCHECK {instruction.raw}",
                              f"--{flag}={value} is not a duration") from None
    return check


def _pairs(instruction: Instruction) -> dict[str, str]:
    """``LABEL a=b "c d"=e`` (and the legacy ``LABEL key value``) as a dict."""
    words = instruction.arguments
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.partition("=")[::2] for word in words)


def _env(base: list[str], env: dict[str, str]) -> list[str]:
    """The base's ``K=V`` list with the Dockerfile's ENV applied, order kept as Docker does;
    Docker's default ``PATH`` when the base sets nothing."""
    merged = dict(item.partition("=")[::2] for item in base) or {"PATH": DEFAULT_PATH}
    merged.update(env)
    return [f"{k}={v}" for k, v in merged.items()]
