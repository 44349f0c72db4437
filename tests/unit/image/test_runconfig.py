"""helpers.image.runconfig: which program an image config starts, and as whom."""

from __future__ import annotations

import pytest

from helpers.image.runconfig import ImageConfig


def _config(entrypoint=None, cmd=None, workdir="", user="", env=None) -> ImageConfig:
    return ImageConfig(entrypoint=entrypoint, cmd=cmd, workdir=workdir, user=user,
                       env=env or {}, healthcheck=None, exposed_ports=[], labels={},
                       os="linux", architecture="amd64", size_bytes=0)


@pytest.mark.parametrize("entrypoint, cmd, workdir, command, shell, path", [
    (["/server"], None, "", ["/server"], False, "/server"),
    (["/server"], ["-port", "8080"], "", ["/server", "-port", "8080"], False, "/server"),
    (None, ["./server"], "/app", ["./server"], False, "/app/server"),
    (None, ["./server"], "", ["./server"], False, "/server"),
    (None, ["bin/server", "-x"], "/app", ["bin/server", "-x"], False, "/app/bin/server"),
    (None, ["../server"], "/app/sub", ["../server"], False, "/app/server"),
    (None, ["/bin/sh", "-c", "./server --x"], "/app", ["/bin/sh", "-c", "./server --x"],
     True, "/app/server"),
    (["/bin/sh", "-c", "exec /server \"$@\""], None, "", ["/bin/sh", "-c", "exec /server \"$@\""],
     True, "/server"),
    (None, ["/bin/sh", "-c", "PORT=1 ./server"], "/srv", ["/bin/sh", "-c", "PORT=1 ./server"],
     True, "/srv/server"),
    (["/tini", "--"], ["/app/server"], "/app", ["/tini", "--", "/app/server"], False, "/tini"),
    (None, None, "/app", [], False, None),
])
def test_command_table(entrypoint, cmd, workdir, command, shell, path):
    config = _config(entrypoint, cmd, workdir)
    assert config.command() == command
    assert config.shell_form() is shell
    assert config.program_path() == path
    assert config.program_candidates() == ([path] if path else [])


def test_bare_name_is_looked_up_in_path():
    config = _config(cmd=["server"], workdir="/app", env={"PATH": "/usr/local/bin:/usr/bin"})
    assert config.program_candidates() == ["/usr/local/bin/server", "/usr/bin/server"]
    assert config.program_path() is None  # unknown without the file list
    assert config.program_path({"/usr/bin/server", "/app/server"}) == "/usr/bin/server"
    assert config.program_candidates({"/app/server"}) == []
    assert config.program_path({"/app/server"}) is None
    default = _config(cmd=["server"])  # no PATH in the image: Docker's default one
    assert default.program_candidates()[0] == "/usr/local/sbin/server"
    assert default.program_path(["/bin/server"]) == "/bin/server"


def test_path_program_ignores_the_file_list():
    # a path is the path, whether the file exists or not (checks report it missing)
    assert _config(["/server"]).program_path(set()) == "/server"


@pytest.mark.parametrize("user, root", [
    ("", True), ("root", True), ("0", True), ("0:0", True), ("root:root", True),
    ("65534:65534", False), ("65534", False), ("nobody", False), ("1000:0", False),
])
def test_runs_as_root(user, root):
    assert _config(user=user).runs_as_root() is root
