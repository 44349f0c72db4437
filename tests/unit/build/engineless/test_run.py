"""Running an engine-less image's command as a local process: real processes of binaries
compiled here, in rootfs folders, with the failures Docker 20.10 gives the same images."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from helpers.build.engineless import run as runmod
from helpers.build.engineless import toolchain
from helpers.build.engineless.run import NotReplayable, PortBusy, RunSpec, run_locally
from helpers.config import EXERCISE_DIR
from helpers.errors import KitError, RunError

GO = toolchain.go_toolchain()
pytestmark = pytest.mark.skipif(GO is None or not Path("/proc/self/net/tcp").exists(),
                                reason="needs a Go toolchain and Linux /proc")
HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LOADER = "/lib64/ld-linux-x86-64.so.2"
#: A tiny server for what the exercise's cannot do: listen on loopback only.
LOOPBACK_GO = """package main
import ("net/http"; "os")
func main() { http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil) }
"""


def go_build(out: Path, package: str, cwd: Path, **env: str) -> Path:
    full = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false",
            "GOOS": "linux", **env}
    subprocess.run([GO, "build", "-o", str(out), package], cwd=cwd, env=full, check=True,
                   capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="session")
def binaries(tmp_path_factory) -> dict[str, Path]:
    """The exercise server static, dynamic (cgo, uses net) and for arm64; a loopback server."""
    out = tmp_path_factory.mktemp("bin")
    found = {"static": go_build(out / "static", "./cmd/server", EXERCISE_DIR,
                                CGO_ENABLED="0"),
             "arm64": go_build(out / "arm64", "./cmd/server", EXERCISE_DIR, CGO_ENABLED="0",
                               GOARCH="arm64")}
    if toolchain.c_compiler() is not None:
        found["dynamic"] = go_build(out / "dynamic", "./cmd/server", EXERCISE_DIR,
                                    CGO_ENABLED="1")
    loop = tmp_path_factory.mktemp("loopback")
    (loop / "go.mod").write_text("module loopback\n\ngo 1.22\n")
    (loop / "main.go").write_text(LOOPBACK_GO)
    found["loopback"] = go_build(out / "loopback", ".", loop, CGO_ENABLED="0")
    return found


@pytest.fixture
def port() -> int:
    """A free port, so runs never race with whatever else this machine runs on 8080."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children() -> set[int]:
    try:
        import psutil
        return {p.pid for p in psutil.Process().children(recursive=True)}
    except ImportError:
        me = str(os.getpid())
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                found.add(int(stat.parent.name))
        return found


@pytest.fixture(autouse=True)
def no_process_left():
    """Every run stops its process (and its children) before returning or raising."""
    before = _children()
    yield
    assert _children() - before == set()


def image(root: Path, files: dict[str, Path | bytes], links: dict | None = None):
    """Materialize ``files`` under ``root``; a lookup over them plus ``links`` (unmaterialized
    entries: image path -> (kind, linkname)), as a recorded base image would add."""
    for path, content in files.items():
        host = root / path.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy2(content, host)
        else:
            host.write_bytes(content)
            host.chmod(0o755)
    extra = dict(links or {})

    def lookup(path: str):
        if path in extra:
            return extra[path]
        host = root / path.lstrip("/")
        if host.is_symlink():
            return "symlink", os.readlink(host)
        if host.is_dir():
            return "dir", ""
        return ("file", "") if host.is_file() else None
    return root, lookup


def spec(*entrypoint: str, cmd=None, port: int | None = None, **kw) -> RunSpec:
    env = dict(kw.pop("env", {}))
    if port is not None:
        env.setdefault("PORT", str(port))
    return RunSpec(list(entrypoint) or None, cmd, env, **kw)


# ---- the server runs, with the image's CA roots ------------------------------------------

@pytest.mark.skipif(not HOST_BUNDLE.exists(), reason="no CA bundle on this machine")
def test_static_server_with_the_ca_bundle_is_healthy(tmp_path, binaries, port):
    root, lookup = image(tmp_path, {"/server": binaries["static"],
                                    "/etc/ssl/certs/ca-certificates.crt": HOST_BUNDLE})
    report = run_locally(root, spec("/server", port=port), lookup, port=port)
    assert report.healthy and report.ca_roots > 100
    assert report.body["status"] == "ok" and not report.recorded


def test_without_a_bundle_the_server_sees_no_roots_not_the_hosts(tmp_path, binaries, port):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    report = run_locally(root, spec("/server", port=port), lookup, port=port)
    assert report.healthy
    assert report.ca_roots == 0 or "ca_error" in report.body


def test_a_bare_name_is_found_in_path_and_a_missing_workdir_is_created(tmp_path, binaries,
                                                                        port):
    root, lookup = image(tmp_path, {"/usr/local/bin/server": binaries["static"]})
    report = run_locally(root, spec("server", port=port, workdir="/data"), lookup, port=port)
    assert report.healthy and (root / "data").is_dir()  # as `docker run -w /data` does


# ---- the daemon or runc refuses to start it (a start error, KitError) ---------------------

def test_no_command(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with pytest.raises(KitError) as info:
        run_locally(root, spec(), lookup)
    assert info.value.message == "No command specified"
    assert not isinstance(info.value, RunError) and "ENTRYPOINT" in info.value.hint


def test_shell_form_without_a_shell_fails_as_runc_says(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with pytest.raises(KitError) as info:
        run_locally(root, spec("/bin/sh", "-c", "/server"), lookup)
    assert not isinstance(info.value, (RunError, NotReplayable))
    assert info.value.message == ('unable to start container process: exec: "/bin/sh": '
                                  'stat /bin/sh: no such file or directory')


def test_shell_form_with_a_shell_is_not_replayed(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"],
                                    "/usr/bin/dash": b"\x7fELF not really"},
                         {"/bin": ("symlink", "usr/bin"), "/usr/bin/sh": ("symlink", "dash")})
    with pytest.raises(NotReplayable, match="shell"):
        run_locally(root, spec("/bin/sh", "-c", "/server"), lookup)


def test_a_missing_relative_command_is_looked_up_in_workdir(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})  # not in /app
    with pytest.raises(KitError) as info:
        run_locally(root, spec("./server", workdir="/app"), lookup)
    assert info.value.message == ('unable to start container process: exec: "./server": '
                                  'stat ./server: no such file or directory')
    with pytest.raises(KitError, match='exec: "server": executable file not found in'):
        run_locally(root, spec("server"), lookup)


def test_not_executable_and_folders_are_permission_denied(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"], "/dir/x": b""})
    (root / "server").chmod(0o644)
    for command in ("/server", "/dir"):
        with pytest.raises(KitError) as info:
            run_locally(root, spec(command), lookup)
        assert info.value.message == ("unable to start container process: "
                                      f'exec: "{command}": permission denied')


def test_a_user_name_scratch_does_not_know(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with pytest.raises(KitError) as info:
        run_locally(root, spec("/server", user="nobody"), lookup)
    assert info.value.message == "unable to find user nobody: no matching entries in passwd file"
    passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    root, lookup = image(tmp_path, {"/etc/passwd": passwd})
    assert runmod._home(runmod._Image(root, lookup), spec("/server", user="nobody")) == \
        "/nonexistent"
    assert runmod._home(runmod._Image(root, lookup), spec("/server")) == "/root"


def test_a_workdir_that_is_a_file(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with pytest.raises(KitError) as info:
        run_locally(root, spec("/server", workdir="/server"), lookup)
    assert info.value.message == "Cannot mkdir: /server is not a directory"


# ---- it starts and execve fails (the container exits: RunError) ---------------------------

def _exec_error(info, text: str, code: int = 1) -> None:
    error = info.value
    assert error.exit_code == code and error.logs == text + "\n"
    assert error.message == f"The container stopped with exit code {code} before answering " \
                            "/health."


def test_a_foreign_cpu_is_exec_format_error(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["arm64"]})
    with pytest.raises(RunError) as info:
        run_locally(root, spec("/server"), lookup)
    _exec_error(info, "exec /server: exec format error")
    assert "GOARCH" in info.value.hint


def test_a_script_without_shebang_is_exec_format_error(tmp_path):
    root, lookup = image(tmp_path, {"/app/run": b"echo hi\n"})
    with pytest.raises(RunError) as info:
        run_locally(root, spec("./run", workdir="/app"), lookup)
    _exec_error(info, "exec ./run: exec format error")


def test_a_script_for_a_missing_interpreter(tmp_path):
    root, lookup = image(tmp_path, {"/server": b"#!/bin/sh\necho hi\n"})
    with pytest.raises(RunError) as info:
        run_locally(root, spec("/server"), lookup)
    _exec_error(info, "exec /server: no such file or directory")


@pytest.fixture
def dynamic(binaries):
    if "dynamic" not in binaries:
        pytest.skip("no C compiler for a cgo build")
    return binaries["dynamic"]


#: golang:1.22's (Debian bookworm, merged /usr) loader and C library, as its manifest says.
BOOKWORM = {"/lib": ("symlink", "usr/lib"), "/lib64": ("symlink", "usr/lib64"),
            "/usr/lib64/ld-linux-x86-64.so.2": ("symlink",
                                                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": ("file", ""),
            "/usr/lib/x86_64-linux-gnu/libc.so.6": ("file", "")}


def test_a_dynamic_binary_in_scratch_has_no_loader(tmp_path, dynamic):
    root, lookup = image(tmp_path, {"/server": dynamic})
    with pytest.raises(RunError) as info:
        run_locally(root, spec("/server"), lookup)
    _exec_error(info, "exec /server: no such file or directory")
    assert "CGO_ENABLED=0" in info.value.hint


@pytest.mark.skipif(not Path(LOADER).exists(), reason=f"no {LOADER} on this machine")
def test_a_dynamic_binary_with_the_images_loader_runs(tmp_path, dynamic, port):
    root, lookup = image(tmp_path, {"/server": dynamic}, {
        "/usr": ("dir", ""), "/usr/lib": ("dir", ""), "/usr/lib64": ("dir", ""),
        "/usr/lib/x86_64-linux-gnu": ("dir", ""), **BOOKWORM})
    assert run_locally(root, spec("/server", port=port), lookup, port=port).healthy


def test_a_dynamic_binary_with_a_loader_and_no_libc(tmp_path, dynamic):
    root, lookup = image(tmp_path, {"/server": dynamic}, {"/lib64": ("dir", ""),
                                                         LOADER: ("file", "")})
    with pytest.raises(RunError) as info:
        run_locally(root, spec("/server"), lookup)
    _exec_error(info, "/server: error while loading shared libraries: libc.so.6: cannot open "
                      "shared object file: No such file or directory", code=127)


# ---- it runs and does not answer ----------------------------------------------------------

def test_another_port_is_named(tmp_path, binaries, port):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    other = port + 1 if port < 65535 else port - 1
    with pytest.raises(RunError, match=f"listens on port {other}, not {port}") as info:
        run_locally(root, spec("/server", port=other), lookup, port=port, timeout=15)
    assert f"PORT={other}" in info.value.hint and "listening addr" in info.value.logs


def test_the_default_port_names_9090(tmp_path, binaries):
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", 9090))
        except OSError:
            pytest.skip("port 9090 is in use here")
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    try:
        run_locally(root, spec("/server", env={"PORT": "9090"}), lookup)
    except PortBusy:
        pytest.skip("port 8080 is in use here")
    except RunError as error:
        assert "9090, not 8080" in error.message and "PORT=9090" in error.hint
    else:
        pytest.fail("answered on 8080")


def test_loopback_only_is_unreachable_from_outside_a_container(tmp_path, binaries, port):
    root, lookup = image(tmp_path, {"/server": binaries["loopback"]})
    with pytest.raises(RunError, match=f"127.0.0.1 port {port} only"):
        run_locally(root, spec("/server", port=port), lookup, port=port)


def test_a_program_that_exits_1_keeps_its_output(tmp_path, binaries):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with pytest.raises(RunError) as info:
        run_locally(root, spec("/server", env={"PORT": "notaport"}), lookup)
    assert info.value.exit_code == 1 and "cannot listen" in info.value.logs
    assert info.value.message.startswith("The container stopped with exit code 1")


def test_no_200_within_the_timeout(tmp_path, binaries, port):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with pytest.raises(RunError, match=r"^/nothere did not answer 200 within 2 s \(HTTP 404\)"):
        run_locally(root, spec("/server", port=port), lookup, port=port, path="/nothere",
                    timeout=2)


def test_a_busy_port_is_port_busy(tmp_path, binaries, port):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(PortBusy, match=f"Port {port} is in use on this machine"):
            run_locally(root, spec("/server", port=port), lookup, port=port)


def test_ctrl_c_while_waiting_stops_the_process(tmp_path, binaries, port, monkeypatch):
    root, lookup = image(tmp_path, {"/server": binaries["static"]})

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(runmod, "_ask", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_locally(root, spec("/server", port=port), lookup, port=port)
