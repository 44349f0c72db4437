"""Connecting to an engine that is not there: fast, clear, no traceback (no daemon needed)."""

from __future__ import annotations

import grp
import http.server
import json
import os
import pwd
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
import urllib3
from docker.errors import DockerException, InvalidVersion

from helpers import engine
from helpers.engine import failures
from helpers.errors import EngineUnavailable
from tests.ports import closed_port


# --------------------------------------------------------------------------------------------
# Why an engine does not answer: one message and one fix per kind of failure
# --------------------------------------------------------------------------------------------
@pytest.fixture
def short_dir():
    """A world-traversable folder with a short path (unix socket paths max out at ~107)."""
    folder = tempfile.mkdtemp(prefix="kit-sock-")
    os.chmod(folder, 0o755)  # so an unprivileged child can reach (and stat) a socket in it
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


def unix_listener(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    return listener


def connect_error(monkeypatch, host: str, timeout: float = 1.0, **env: str):
    """The EngineUnavailable that connect() raises with DOCKER_HOST=host (and more env)."""
    monkeypatch.setenv("DOCKER_HOST", host)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(EngineUnavailable) as caught:
        engine.connect(timeout=timeout)
    return caught.value


def sdk_error(os_error: OSError) -> DockerException:
    """The chain docker-py raises when the unix socket connect() fails with ``os_error``."""
    try:
        raise requests.exceptions.ConnectionError(
            urllib3.exceptions.ProtocolError("Connection aborted.", os_error))
    except requests.exceptions.ConnectionError as exc:
        try:
            raise DockerException(f"Error while fetching server API version: {exc}") from exc
        except DockerException as wrapped:
            return wrapped


def test_no_socket_file_says_start_the_engine(monkeypatch, short_dir):
    error = connect_error(monkeypatch, f"unix://{short_dir}/docker.sock")
    assert error.message == (f"No Docker engine answers at unix://{short_dir}/docker.sock: the "
                             "socket file does not exist (the engine is not started, or not "
                             "installed).")
    assert "`sudo systemctl start docker`" in error.hint
    assert "Docker Desktop" in error.hint
    assert "`systemctl --user start podman.socket`" in error.hint
    assert "DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock" in error.hint


def test_socket_nobody_listens_on_says_restart(monkeypatch, short_dir):
    path = short_dir / "docker.sock"
    unix_listener(path).close()  # the file stays, nothing accepts: ECONNREFUSED
    error = connect_error(monkeypatch, f"unix://{path}")
    assert error.message == (f"No Docker engine answers at unix://{path}: the socket exists but "
                             "nothing accepts connections (connection refused).")
    assert error.hint.startswith("The engine is not running or is stuck: restart it")


def test_socket_that_never_answers_says_restart_within_the_timeout(monkeypatch, short_dir):
    path = short_dir / "docker.sock"
    listener = unix_listener(path)  # accepts (backlog), never answers: a stuck engine
    try:
        start = time.monotonic()
        error = connect_error(monkeypatch, f"unix://{path}", timeout=0.5)
        assert time.monotonic() - start < 5
    finally:
        listener.close()
    assert error.message.endswith("the socket exists but nothing answered within 0.5 s.")
    assert "restart it" in error.hint


def run_unprivileged(action):
    """``action()`` as a user who may not open a root-owned 0660 socket; returns its result.

    Root ignores file modes, so as root the action runs in a forked child switched to
    ``nobody``; otherwise it runs here (the caller makes the socket mode 000).
    """
    if os.geteuid() != 0:
        return action()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, report as JSON, never return into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, json.dumps(action()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and data, "the unprivileged child failed"
    return json.loads(data)


def test_permission_denied_on_a_real_socket_names_its_owner(monkeypatch, short_dir):
    path = short_dir / "docker.sock"
    listener = unix_listener(path)  # a live engine socket: only the permission is missing
    os.chmod(path, 0o660 if os.geteuid() == 0 else 0o000)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    monkeypatch.setenv("DOCKER_CONFIG", str(short_dir))  # nobody cannot read ~root/.docker

    def try_connect():
        try:
            engine.connect(timeout=1.0).close()
        except EngineUnavailable as exc:
            return [exc.message, exc.hint]
        return ["connected", ""]

    try:
        message, hint = run_unprivileged(try_connect)
    finally:
        listener.close()
    info = os.stat(path)
    owner = (f"{stat.filemode(info.st_mode)} {pwd.getpwuid(info.st_uid).pw_name}:"
             f"{grp.getgrgid(info.st_gid).gr_name}")
    assert message == (f"Permission denied on the Docker socket {path} ({owner}): this user "
                       "may not talk to the engine.")
    assert "rootless Docker" in hint and "podman.sock" in hint
    assert "systemctl start" not in hint  # the engine runs: starting it is not the fix


def test_permission_denied_on_a_group_socket_says_join_the_group(short_dir):
    path = short_dir / "docker.sock"
    listener = unix_listener(path)
    try:
        if os.geteuid() == 0:
            os.chown(path, 0, 65534)  # like root:docker, with a group root is not in
        os.chmod(path, 0o660)
        group = grp.getgrgid(os.stat(path).st_gid).gr_name
        error = engine.unavailable(f"unix://{path}",
                                   sdk_error(PermissionError(13, "Permission denied")))
    finally:
        listener.close()
    assert f"({stat.filemode(os.stat(path).st_mode)} " in error.message
    assert f":{group}): this user may not talk to the engine." in error.message
    assert f"`sudo usermod -aG {group} $USER`, then log out and in" in error.hint
    assert f"`newgrp {group}`" in error.hint
    assert "rootless Docker" in error.hint


def test_permission_denied_after_joining_the_group_says_log_in_again(monkeypatch, short_dir):
    path = short_dir / "docker.sock"
    unix_listener(path).close()
    if os.geteuid() == 0:
        os.chown(path, 0, 65534)  # a group that is not root's own
    gid = os.stat(path).st_gid
    user = pwd.getpwuid(os.geteuid()).pw_name
    member = grp.struct_group(("docker", "x", gid, [user]))
    monkeypatch.setattr(failures.grp, "getgrgid", lambda _gid: member)
    monkeypatch.setattr(failures.os, "getgroups", lambda: [])  # joined, but not in this login
    error = engine.unavailable(f"unix://{path}",
                               sdk_error(PermissionError(13, "Permission denied")))
    assert error.message.endswith(":docker): this user may not talk to the engine.")
    assert error.hint.startswith("You joined group docker after this session started")
    assert "`newgrp docker`" in error.hint


def test_permission_denied_without_a_readable_socket_still_says_why():
    error = engine.unavailable("unix:///nonexistent-dir/docker.sock",
                               sdk_error(PermissionError(13, "Permission denied")))
    assert error.message == ("Permission denied on the Docker socket "
                             "/nonexistent-dir/docker.sock: this user may not talk to the engine.")
    assert "`sudo usermod -aG docker $USER`" in error.hint


def test_refused_tcp_engine_names_docker_host_and_is_not_cut(monkeypatch):
    port = closed_port()
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{port}")
    assert error.message == (f"No Docker engine answers at tcp://127.0.0.1:{port}: "
                             "connection refused.")
    assert error.hint.startswith("The engine DOCKER_HOST names is down or unreachable")
    assert "unset DOCKER_HOST" in error.hint


def test_refused_tcp_engine_with_a_pinned_api_version_is_still_classified(monkeypatch):
    # with DOCKER_API_VERSION the SDK skips the version call: ping raises requests' own error
    port = closed_port()
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{port}", DOCKER_API_VERSION="1.41")
    assert error.message.endswith(f"127.0.0.1:{port}: connection refused.")


def test_hung_tcp_engine_says_no_answer_within_the_timeout(monkeypatch, silent_server):
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{silent_server}", timeout=0.5)
    assert error.message.endswith(f"127.0.0.1:{silent_server}: no answer within 0.5 s.")
    assert "down or unreachable" in error.hint


def test_unknown_tcp_host_says_host_name_not_found(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no real DNS lookup in unit tests
    error = connect_error(monkeypatch, "tcp://engine.invalid:2376")
    assert error.message == ("No Docker engine answers at tcp://engine.invalid:2376: host name "
                             "engine.invalid not found.")
    assert "check host and port" in error.hint


@pytest.fixture
def tls_files(tmp_path):
    """An engine certificate and a different CA/client certificate, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")

    def make(name: str) -> None:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-keyout", str(tmp_path / f"{name}-key.pem"),
                        "-out", str(tmp_path / f"{name}-cert.pem")],
                       check=True, capture_output=True, timeout=30)

    make("server")
    make("client")
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(tmp_path / "client-cert.pem", certs / "ca.pem")  # not the server's issuer
    shutil.copy(tmp_path / "client-cert.pem", certs / "cert.pem")
    shutil.copy(tmp_path / "client-key.pem", certs / "key.pem")
    return tmp_path


@pytest.fixture
def tls_server(tls_files):
    """A loopback TLS server with a self-signed certificate the client does not trust."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files / "server-cert.pem", tls_files / "server-key.pem")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn = listener.accept()[0]
            except OSError:
                continue
            try:
                context.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], tls_files / "certs"
    stop.set()
    thread.join()
    listener.close()


def test_untrusted_engine_certificate_says_check_the_certificates(monkeypatch, tls_server):
    port, certs = tls_server
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{port}", DOCKER_TLS_VERIFY="1",
                          DOCKER_CERT_PATH=str(certs))
    assert error.message.startswith(f"TLS with the Docker engine at tcp://127.0.0.1:{port} "
                                    "failed: certificate verify failed")
    assert "(_ssl.c" not in error.message and "[SSL:" not in error.message
    assert error.hint.startswith("Check DOCKER_CERT_PATH")


def test_missing_tls_files_are_named(monkeypatch, tmp_path):
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{closed_port()}",
                          DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(tmp_path))
    assert error.message.endswith(f"failed: ca.pem, cert.pem, key.pem missing from {tmp_path} "
                                  "(DOCKER_CERT_PATH).")
    assert "DOCKER_TLS_VERIFY" in error.hint


def test_ssh_engine_without_paramiko_says_install_it(monkeypatch):
    try:
        import paramiko  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("paramiko is installed here")
    error = connect_error(monkeypatch, f"ssh://learner@127.0.0.1:{closed_port()}")
    assert error.message.endswith("paramiko (the SDK's SSH transport) is not installed.")
    assert "`pip install paramiko`" in error.hint and "docker[ssh]" in error.hint


def test_ssh_failure_says_check_ssh_itself():
    cause = DockerException("Error while fetching server API version: "
                            "[Errno None] Unable to connect to port 22 on 192.0.2.1")
    error = engine.unavailable("ssh://learner@192.0.2.1", cause)
    assert error.message.startswith("Cannot reach the Docker engine over SSH at "
                                    "ssh://learner@192.0.2.1: ")
    assert "`ssh HOST docker version`" in error.hint


@pytest.fixture
def fake_engine():
    """A loopback HTTP "engine" answering /version and /_ping as told (status, JSON body)."""
    answers: dict[str, tuple[int, dict]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            status, body = answers.get(self.path.split("?")[0], (404, {"message": "no"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], answers
    server.shutdown()
    server.server_close()


def test_engine_too_old_for_docker_py_says_upgrade_or_pin(monkeypatch, fake_engine):
    port, answers = fake_engine
    answers["/version"] = (200, {"ApiVersion": "1.12", "Version": "1.0.0"})
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{port}")
    assert error.message == (f"The Docker engine at tcp://127.0.0.1:{port} and docker-py "
                             "disagree on the API version: API versions below 1.24 are no "
                             "longer supported by this library.")
    assert "upgrade the engine" in error.hint and "DOCKER_API_VERSION" in error.hint


@pytest.mark.parametrize("pinned, engine_says", [
    ("1.99", "client version 1.99 is too new. Maximum supported API version is 1.41"),
    ("1.24", "client version 1.24 is too old. Minimum supported API version is 1.44, "
             "please upgrade your client to a newer version"),
])
def test_api_version_the_engine_refuses_says_so(monkeypatch, fake_engine, pinned, engine_says):
    port, answers = fake_engine
    answers[f"/v{pinned}/_ping"] = (400, {"message": engine_says})
    error = connect_error(monkeypatch, f"tcp://127.0.0.1:{port}", DOCKER_API_VERSION=pinned)
    assert "disagree on the API version: client version" in error.message
    assert engine_says.split(".")[0] in error.message
    assert error.hint.startswith(f"DOCKER_API_VERSION={pinned} is set")


@pytest.mark.parametrize("url, cause, kind", [
    (None, sdk_error(FileNotFoundError(2, "No such file or directory")), "no-socket"),
    (None, sdk_error(PermissionError(13, "Permission denied")), "permission"),
    (None, sdk_error(ConnectionRefusedError(111, "Connection refused")), "not-answering"),
    ("unix:///run/user/1000/podman/podman.sock", requests.exceptions.ReadTimeout("timed out"),
     "not-answering"),
    ("tcp://192.0.2.1:2375", requests.exceptions.ConnectTimeout("timed out"), "remote-down"),
    ("tcp://192.0.2.1:2376", requests.exceptions.SSLError("certificate verify failed"), "tls"),
    ("ssh://me@192.0.2.1", DockerException("Install paramiko package to enable ssh://"), "ssh"),
    (None, InvalidVersion("API versions below 1.24 are no longer supported"), "api-version"),
    ("tcp://192.0.2.1:2375", "client version 1.50 is too new. Maximum supported API version "
     "is 1.43", "api-version"),
    (None, DockerException('Invalid response from docker daemon: key "ApiVersion"'), "unknown"),
])
def test_failure_kinds(url, cause, kind):
    assert engine.failure_kind(url, cause) == kind
    error = engine.unavailable(url, cause)
    assert error.message and error.hint
    assert "our machines" not in error.hint and "our " not in error.message


def test_long_reasons_are_shortened_on_a_word_boundary():
    words = " ".join(f"word{n}" for n in range(100))
    error = engine.unavailable("tcp://192.0.2.1:2375", DockerException(words))
    detail = error.message.split("(", 1)[1]
    assert detail.endswith("…).")
    assert detail[:-3].split(" ")[-1] in words.split(" ")  # the last word is whole
    assert len(error.message) < 200


# --------------------------------------------------------------------------------------------
# A FROM image no registry gives: the engine's words, measured on each engine (2026-12-02,
# no registry reachable), turned into one message naming the image and a hint naming what
# works offline
# --------------------------------------------------------------------------------------------
LOOKUP = "dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"
HEAD_ALPINE = 'Head "https://registry-1.docker.io/v2/library/alpine/manifests/3.19"'
#: (engine and builder, engine message, failing step's instruction as the kit knows it)
MEASURED_PULL_ERRORS = {
    # Docker 20.10, classic builder (SDK stream errorDetail; `docker build` prints the same):
    # the image is named only by the step.
    "docker20-classic": (f'Get "https://registry-1.docker.io/v2/": {LOOKUP}', "FROM alpine:3.19"),
    # Docker 20.10, BuildKit (DOCKER_BUILDKIT=1 /usr/bin/docker build): the last line; the
    # failing vertex is "[internal] load metadata", no step.
    "docker20-buildkit": ("failed to solve with frontend dockerfile.v0: failed to create LLB "
                          f"definition: failed to do request: {HEAD_ALPINE}: {LOOKUP}", ""),
    # Docker 26.1 (containerd store), classic builder through the API.
    "docker26-classic": ('failed to resolve reference "docker.io/library/alpine:3.19": failed '
                         f"to do request: {HEAD_ALPINE}: {LOOKUP}", "FROM alpine:3.19"),
    # Docker 26.1, BuildKit (Debian's 20.10 client with DOCKER_BUILDKIT=1).
    "docker26-buildkit": ("alpine:3.19: failed to resolve source metadata for docker.io/library/"
                          f"alpine:3.19: failed to do request: {HEAD_ALPINE}: {LOOKUP}", ""),
    # Podman 4.3.1 through its compat API (buildah).
    "podman": ("creating build container: initializing source docker://alpine:3.19: pinging "
               'container registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/"'
               f": {LOOKUP}\n", ""),
}


@pytest.mark.parametrize("engine_id", sorted(MEASURED_PULL_ERRORS))
def test_an_offline_from_alpine_names_the_image_and_what_works(engine_id):
    message, instruction = MEASURED_PULL_ERRORS[engine_id]
    found = failures.base_image_failure(message, instruction)
    assert found is not None
    assert (found.image, found.kind) == ("alpine:3.19", "offline")
    assert found.reason == "registry-1.docker.io: no such host"
    assert found.message == ("The base image alpine:3.19 is not on this engine, and no "
                             "registry answers to pull it (registry-1.docker.io: no such host).")
    assert "FROM scratch" in found.hint and "gcr.io/distroless/static-debian12:nonroot" \
        in found.hint and "scripts/base-images.sh" in found.hint
    assert "dial tcp" not in found.message + found.hint  # no raw network error


@pytest.mark.parametrize("message", [
    # Docker 20.10 BuildKit and Podman, FROM gcr.io/distroless/base-debian12 (no tag)
    "failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do "
    'request: Head "https://gcr.io/v2/distroless/base-debian12/manifests/latest": dial tcp: '
    "lookup gcr.io on 10.255.255.53:53: no such host",
    "creating build container: initializing source docker://gcr.io/distroless/base-debian12:"
    'latest: pinging container registry gcr.io: Get "https://gcr.io/v2/": dial tcp: lookup '
    "gcr.io on 10.255.255.53:53: no such host\n",
])
def test_another_distroless_image_points_at_the_one_the_kit_has(message):
    found = failures.base_image_failure(message)
    assert found.image == "gcr.io/distroless/base-debian12:latest"
    assert found.reason == "gcr.io: no such host"
    assert "FROM gcr.io/distroless/static-debian12:nonroot" in found.hint


def test_another_go_version_points_at_golang_1_22():
    found = failures.base_image_failure(f'Get "https://registry-1.docker.io/v2/": {LOOKUP}',
                                        "FROM golang:1.23 AS build")
    assert found.image == "golang:1.23" and "`FROM golang:1.22`" in found.hint


def test_the_kits_own_base_missing_says_run_the_script():
    found = failures.base_image_failure(f'Get "https://registry-1.docker.io/v2/": {LOOKUP}',
                                        "FROM golang:1.22 AS build")
    assert found.image == "golang:1.22"
    assert "run `scripts/base-images.sh ensure`" in found.hint


def test_a_registry_without_the_image_is_a_missing_image():
    found = failures.base_image_failure(
        "pull access denied for nosuchimage, repository does not exist or may require 'docker "
        "login': denied: requested access to the resource is denied", "FROM nosuchimage:1")
    assert (found.image, found.kind, found.reason) == ("nosuchimage:1", "missing",
                                                      "pull access denied")
    assert found.message.endswith("check its name and tag.")


@pytest.mark.parametrize("message, instruction", [
    ("The command '/bin/sh -c curl https://example.com' returned a non-zero code: 6",
     "RUN curl https://example.com"),
    ("COPY failed: file not found in build context or excluded by .dockerignore: stat go.sum: "
     "file does not exist", "COPY go.mod go.sum ./"),
    ("", "FROM alpine:3.19"),
])
def test_other_build_errors_are_not_pull_failures(message, instruction):
    assert failures.base_image_failure(message, instruction) is None


@pytest.mark.parametrize("ref, short", [
    ("docker.io/library/alpine:3.19", "alpine:3.19"),
    ("docker.io/bitnami/nginx:1", "bitnami/nginx:1"),
    ("gcr.io/distroless/static-debian12", "gcr.io/distroless/static-debian12"),
])
def test_short_image_names(ref, short):
    assert failures.short_image_name(ref) == short
