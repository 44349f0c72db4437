"""What the final image runs (helpers.dockerfile.shell): ENTRYPOINT, CMD, HEALTHCHECK."""

from __future__ import annotations

import pytest

from helpers import dockerfile as df
from helpers.dockerfile import shell
from tests.unit.dockerfile.samples import ORIGINAL, REFERENCE, SOLUTION, STARTER, model


def looks_like_json_but_is_shell_form(m: df.DockerfileModel) -> list[tuple[int, int]]:
    """(stage, line) of commands written like a JSON array that Docker runs in shell form."""
    return [(s.index, i.line) for s in m.stages for i in s.instructions
            if i.exec_form is False and shell.command_text(i).lstrip().startswith("[")]


# ---------------------------------------------------------------------------------------------
# The kit's own Dockerfiles
# ---------------------------------------------------------------------------------------------

def test_reference_solution():
    m = df.parse(REFERENCE)
    assert shell.entrypoint(m).line == 35 and shell.entrypoint(m).arguments == ["/server"]
    assert shell.cmd(m) is None
    assert shell.command_path(m) == "/server"
    assert shell.shell_form(m) is False
    health = df.healthcheck_commands(m)
    assert (health.line, health.end_line, health.arguments, health.exec_form) == (
        33, 34, ["/server", "-healthcheck"], True)
    assert health.flags == {"interval": "10s", "timeout": "3s", "start-period": "2s",
                            "retries": "3"}
    assert df.healthcheck_tools(m) == {
        "instruction": health, "disabled": False, "exec_form": True, "program": "/server",
        "uses_shell": False, "uses_curl": False, "uses_wget": False}
    assert looks_like_json_but_is_shell_form(m) == []


def test_learner_starter():
    m = df.parse(STARTER)
    assert shell.command_path(m) == "/server"
    assert df.healthcheck_commands(m) is None


def test_original_single_stage():
    m = df.parse(ORIGINAL)
    assert shell.cmd(m).arguments == ["./server"] and shell.entrypoint(m) is None
    assert shell.command_path(m) == "/app/server"


# ---------------------------------------------------------------------------------------------
# ENTRYPOINT / CMD
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tail, command_path, shell_form", [
    ('ENTRYPOINT ["/server"]', "/server", False),
    ('CMD ["/server"]', "/server", False),
    ('WORKDIR /app\nCMD ["./server"]', "/app/server", False),
    ('WORKDIR /app\nENTRYPOINT ["./server", "-port", "8080"]', "/app/server", False),
    ("WORKDIR /app\nCMD ./server --port 8080", "/app/server", True),
    ("CMD exec /server", "/server", True),
    ("ENTRYPOINT PORT=8080 /server", "/server", True),
    ('CMD ["server"]', "server", False),  # a bare name is looked up in PATH
    ('ENTRYPOINT ["/server"]\nCMD ["-healthcheck"]', "/server", False),
    ('ENTRYPOINT []\nCMD ["/server"]', "/server", False),
    ("EXPOSE 8080", None, None),
])
def test_command_path(tail, command_path, shell_form):
    m = model("FROM golang:1.22 AS b\nFROM scratch\n" + tail + "\n")
    assert shell.command_path(m) == command_path
    assert shell.shell_form(m) is shell_form


def test_cmd_instead_of_entrypoint():
    m = model(SOLUTION.replace('ENTRYPOINT ["/server"]', 'CMD ["/server"]'))
    assert shell.entrypoint(m) is None
    assert (shell.cmd(m).keyword, shell.cmd(m).line, shell.cmd(m).exec_form) == ("CMD", 9, True)
    assert shell.command_path(m) == "/server"


def test_entrypoint_in_child_stage_resets_inherited_cmd():
    m = model("""
        FROM alpine:3.20 AS base
        CMD ["/bin/sh"]
        FROM base
        ENTRYPOINT ["/server"]
        """)
    assert shell.cmd(m) is None
    assert shell.entrypoint(m).line == 4
    same_stage = model('FROM scratch\nCMD ["-v"]\nENTRYPOINT ["/server"]\n')
    assert shell.cmd(same_stage).arguments == ["-v"]


def test_invalid_exec_form_is_shell_form():
    # CMD ['/server'] is not JSON, so Docker runs it with /bin/sh as a program "['/server']".
    m = model("FROM scratch\nCMD ['/server']\n")
    assert looks_like_json_but_is_shell_form(m) == [(0, 2)]
    assert shell.shell_form(m) is True


# ---------------------------------------------------------------------------------------------
# Command lines
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, commands", [
    ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("echo 'x && y' \"a;b\"\nls", [["echo", "x && y", "a;b"], ["ls"]]),
    ("  ;; ", []),
])
def test_shell_commands(text, commands):
    assert shell.shell_commands(text) == commands


def test_strip_prefixes_collects_inline_variables():
    env: dict[str, str] = {}
    words = ["A=1", "exec", "env", "-u", "X", "B=2", "nohup", "/server", "C=3"]
    assert shell.strip_prefixes(words, env) == ["/server", "C=3"]
    assert env == {"A": "1", "B": "2"}


# ---------------------------------------------------------------------------------------------
# HEALTHCHECK
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ('HEALTHCHECK CMD ["/server", "-healthcheck"]',
     {"disabled": False, "exec_form": True, "program": "/server", "uses_shell": False,
      "uses_curl": False, "uses_wget": False}),
    ("HEALTHCHECK --interval=5s CMD curl -fsS http://localhost:8080/health || exit 1",
     {"disabled": False, "exec_form": False, "program": "curl", "uses_shell": True,
      "uses_curl": True, "uses_wget": False}),
    ('HEALTHCHECK CMD ["wget", "-qO-", "http://localhost:8080/health"]',
     {"disabled": False, "exec_form": True, "program": "wget", "uses_shell": False,
      "uses_curl": False, "uses_wget": True}),
    ('HEALTHCHECK CMD ["/bin/sh", "-c", "wget -qO- http://localhost:8080/health"]',
     {"disabled": False, "exec_form": True, "program": "/bin/sh", "uses_shell": True,
      "uses_curl": False, "uses_wget": True}),
    ('HEALTHCHECK CMD ["./server", "-healthcheck"]',
     {"disabled": False, "exec_form": True, "program": "/app/server", "uses_shell": False,
      "uses_curl": False, "uses_wget": False}),
    ("HEALTHCHECK NONE",
     {"disabled": True, "exec_form": None, "program": None, "uses_shell": False,
      "uses_curl": False, "uses_wget": False}),
])
def test_healthcheck(line, expected):
    m = model(f"FROM scratch\nWORKDIR /app\n{line}\n")
    assert df.healthcheck_commands(m).line == 3
    tools = df.healthcheck_tools(m)
    assert tools.pop("instruction") is df.healthcheck_commands(m)
    assert tools == expected


def test_healthcheck_absent_or_inherited():
    assert df.healthcheck_commands(model("FROM scratch\n")) is None
    m = model('FROM alpine:3.20 AS base\nHEALTHCHECK CMD ["/h"]\nFROM base\n')
    assert df.healthcheck_commands(m).line == 2
