"""Run an engine-less image's command as a local process, as the container would run it.

Without an engine (Binder) the ``runs`` check starts the image's ENTRYPOINT/CMD on this
machine, waits for ``GET /health`` on port 8080 and stops it. A local process is not a
container, so first what the daemon, runc and the kernel would do in the image is replayed on
the image's filesystem (``lookup``; symlinks resolved inside the image), each refusal with the
text Docker 20.10 (runc 1.1) printed for it in ``docker run`` of small scratch images:

- the engine refuses to start it (``KitError``, as ``check_health``'s start error):
  ``No command specified``; ``Cannot mkdir: /server is not a directory`` (WORKDIR is a file);
  ``unable to find user nobody: no matching entries in passwd file``; and runc's
  ``unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or
  directory`` (shell form in scratch), ``exec: "./server": stat ./server: no such file or
  directory`` (relative to WORKDIR), ``exec: "server": executable file not found in $PATH``,
  ``exec: "/server": permission denied`` (a folder, no execute bit);
- it starts, prints a line and exits (``RunError``, as ``wait_healthy``, with ``exit_hint``):
  exit 1 ``exec /server: exec format error`` (another CPU, a script without ``#!``), exit 1
  ``exec /server: no such file or directory`` (no ELF interpreter, no ``#!`` interpreter),
  exit 127 ``/server: error while loading shared libraries: libc.so.6: cannot open shared
  object file: No such file or directory`` (loader copied, library not).

Docker creates a missing WORKDIR (``docker run -w /nope`` runs in ``/nope``): so does this,
under ``rootfs``. What a local process cannot stand in for raises :class:`NotReplayable`
(the caller reports ``skip``): a shell or ``#!`` script (the host's interpreter is not the
image's), a loader the host lacks. A dynamic binary whose loader and libraries the image has
runs with the host's; the process runs as this machine's user, not the image's USER, and
paths it opens itself are the host's (no chroot): Go's CA search is pointed at the image's
files through SSL_CERT_FILE/SSL_CERT_DIR, so ``ca_roots`` counts the image's roots.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import platform
import posixpath
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests
from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from ...engine.containers import HEALTH_TIMEOUT, HealthReport, exit_hint
from ...errors import KitError, RunError

#: Image path -> ``(kind, linkname)`` with kind one of :data:`.entries.KINDS`, or None.
Lookup = Callable[[str], "tuple[str, str] | None"]

#: The PATH Docker gives a Linux container whose image sets none (as helpers.image.runconfig).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Go's crypto/x509 CA files and folders on Linux, in order (root_linux.go; the files are
#: helpers.image.certs.GO_CERT_FILES, not imported: image is a sibling layer).
GO_CERT_FILES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                 "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
                 "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem")
GO_CERT_DIRS = ("/etc/ssl/certs", "/etc/pki/tls/certs")
#: The hint :func:`helpers.engine.containers.start_error` gives a container that won't start.
START_HINT = ("Check ENTRYPOINT/CMD: in scratch they must be exec form and name a file that "
              "exists in the image.")
#: Interpreters whose commands would run the host's programs, not the image's.
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})
#: The kernel's limit on symlinks followed while resolving one path (``ELOOP``).
MAX_SYMLINKS = 40
#: ``docker stop``'s grace before SIGKILL, as :func:`~helpers.engine.containers.running` uses.
STOP_TIMEOUT = 2.0
#: Seconds a server may listen only on other ports before that is the answer.
LISTEN_GRACE = 3.0
#: CPUs this machine runs (``uname -m`` -> ELF ``e_machine``, 32-bit compat included).
_HOST_MACHINES = {"x86_64": {"EM_X86_64", "EM_386"}, "aarch64": {"EM_AARCH64", "EM_ARM"}}
#: Debian's multiarch folder per ELF machine (glibc's loader searches it first).
_TRIPLETS = {"EM_X86_64": "x86_64-linux-gnu", "EM_386": "i386-linux-gnu",
             "EM_AARCH64": "aarch64-linux-gnu", "EM_ARM": "arm-linux-gnueabihf"}
#: Folders only some loaders search (Fedora's /lib64, musl's /usr/local/lib...).
_MAYBE_LIB_DIRS = ("/lib64", "/usr/lib64", "/lib32", "/usr/lib32", "/usr/local/lib")


class NotReplayable(KitError):
    """The command cannot be run faithfully without an engine; the caller reports skip."""

    def __init__(self, why: str) -> None:
        super().__init__(f"cannot run without an engine: {why}",
                         "Run this check on a machine with Docker or Podman to measure it.")


class PortBusy(KitError):
    """The host port the server must listen on is taken; the caller reports skip."""


@dataclass(frozen=True)
class RunSpec:
    """The parts of the image config a run needs (``docker image inspect``'s ``Config``).

    ``entrypoint``/``cmd`` are lists (shell form already wrapped in ``["/bin/sh", "-c", ...]``
    by the builder), ``workdir`` "" means ``/``, ``user`` "" means root.
    """

    entrypoint: list[str] | None
    cmd: list[str] | None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = ""
    user: str = ""

    def command(self) -> list[str]:
        """ENTRYPOINT followed by CMD: the argv Docker starts."""
        return list(self.entrypoint or []) + list(self.cmd or [])


@dataclass
class _Image:
    """The image's filesystem: ``lookup`` says what each path is, ``rootfs`` holds the bytes."""

    rootfs: Path
    lookup: Lookup

    def host(self, path: str) -> Path:
        """Where image ``path`` is materialized under rootfs."""
        return self.rootfs / posixpath.normpath("/" + path).lstrip("/")

    def kind(self, path: str) -> tuple[str, str] | None:
        """``lookup(path)``, or a folder rootfs holds that lookup omits (implicit parents)."""
        entry = self.lookup(path)
        if entry is None and (path == "/" or self.host(path).is_dir()
                              and not self.host(path).is_symlink()):
            return "dir", ""
        return entry

    def resolve(self, path: str, cwd: str = "/") -> tuple[str, str | None, int]:
        """Follow ``path`` (from ``cwd``) through the image's symlinks, as the kernel does:
        ``(resolved, kind, errno)``, kind ``file`` (hardlinks too) or ``dir``, or None with
        ``ENOENT``/``ELOOP``; ``ENOTDIR`` when a non-folder is walked through."""
        todo = [p for p in reversed(posixpath.join(cwd, path).split("/")) if p]
        current, kind, hops = "/", "dir", 0
        while todo:
            name = todo.pop()
            if name in (".", ".."):
                current = current if name == "." else posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, name)
            entry = self.kind(candidate)
            if entry is None:
                return posixpath.normpath("/".join([candidate, *reversed(todo)])), None, \
                    errno.ENOENT
            kind, link = entry
            if kind == "symlink":
                hops += 1
                if hops > MAX_SYMLINKS:
                    return candidate, None, errno.ELOOP
                current = "/" if link.startswith("/") else current
                todo.extend(p for p in reversed(link.split("/")) if p)
                continue
            kind = "file" if kind == "hardlink" else kind
            if todo and kind != "dir":
                return candidate, kind, errno.ENOTDIR
            current = candidate
        return current, kind, 0

    def regular(self, path: str, cwd: str = "/", strict: bool = True) -> Path | None:
        """The host file holding image file ``path``; None if the image has none there.
        NotReplayable if the image has it but rootfs does not (None unless ``strict``)."""
        resolved, kind, err = self.resolve(path, cwd)
        if err or kind != "file":
            return None
        host = self.host(resolved)
        if host.is_file() and not host.is_symlink():
            return host
        if not strict:
            return None
        raise NotReplayable(f"{resolved} is in the image but was not materialized")


@dataclass
class _Launch:
    """What to start: argv as the image says, the host file, its cwd and environment."""

    argv: list[str]
    name: str  # the program as runc's LookPath returned it, for exec messages
    program: Path
    cwd: Path
    env: dict[str, str]


def _start_refused(text: str) -> KitError:
    """runc refused to start the process (the engine path's start error)."""
    return KitError(f"unable to start container process: {text}", START_HINT)


def _exited_error(code: int, logs: str, path: str) -> RunError:
    """The container exited before answering, as :func:`wait_healthy` reports it."""
    return RunError(f"The container stopped with exit code {code} before answering {path}.",
                    exit_code=code, logs=logs, hint=exit_hint(code, logs))


def _exec_failed(name: str, err: int, path: str) -> RunError:
    """execve failed in the container: runc prints ``exec <name>: <strerror>`` and exits 1."""
    return _exited_error(1, f"exec {name}: {os.strerror(err).lower()}\n", path)


def _workdir(image: _Image, spec: RunSpec) -> tuple[str, Path]:
    """The WORKDIR's image path and host folder, created when missing as Docker does;
    KitError with the daemon's message when a file stands there."""
    workdir = posixpath.normpath(posixpath.join("/", spec.workdir or "/"))
    resolved, kind, err = image.resolve(workdir)
    if err in (errno.ENOTDIR, errno.ELOOP):
        raise KitError(f"lstat {workdir}: {os.strerror(err).lower()}", START_HINT)
    if kind not in (None, "dir"):
        raise KitError(f"Cannot mkdir: {workdir} is not a directory", START_HINT)
    host = image.host(resolved)
    try:
        host.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NotReplayable(f"cannot create WORKDIR {workdir} under {image.rootfs}: {exc}") \
            from None
    return workdir, host


def _entries(image: _Image, path: str) -> list[list[str]]:
    """The lines of an /etc/passwd-style file of the image, split on ``:`` (none if absent)."""
    host = image.regular(path)
    lines = host.read_text(errors="replace").splitlines() if host else []
    return [line.split(":") for line in lines if line and not line.startswith("#")]


def _home(image: _Image, spec: RunSpec) -> str:
    """HOME for USER: its /etc/passwd home, else ``/`` (root in scratch gets ``/``); KitError
    with the daemon's message for a user or group name the image does not know."""
    user, _, group = spec.user.partition(":")
    passwd = _entries(image, "/etc/passwd")
    if user and not user.isdigit() and not any(e[0] == user for e in passwd):
        raise KitError(f"unable to find user {user}: no matching entries in passwd file",
                       START_HINT)
    if group and not group.isdigit() and \
            not any(e[0] == group for e in _entries(image, "/etc/group")):
        raise KitError(f"unable to find group {group}: no matching entries in group file",
                       START_HINT)
    for entry in passwd:
        if len(entry) > 5 and (entry[0] == user or entry[2] == (user or "0")):
            return entry[5] or "/"
    return "/"


def _find_executable(image: _Image, path: str, cwd: str) -> tuple[str, int]:
    """Go's ``findExecutable`` in the image: ``(resolved, 0)``, or an errno (stat's, EACCES)."""
    resolved, kind, err = image.resolve(path, cwd)
    if err:
        return resolved, err
    if kind != "file":
        return resolved, errno.EACCES
    host = image.regular(resolved)
    return resolved, 0 if host is not None and host.stat().st_mode & 0o111 else errno.EACCES


def _look_path(image: _Image, argv0: str, env: dict[str, str], cwd: str) -> tuple[str, str]:
    """runc's ``exec.LookPath(argv[0])`` in the image: ``(name, resolved image path)``.

    A name with ``/`` is taken as it is (relative to WORKDIR), a bare name searched in PATH;
    a failure is a KitError with runc's text (see the module's docstring).
    """
    if "/" in argv0:
        resolved, err = _find_executable(image, argv0, cwd)
        if err == errno.EACCES:
            raise _start_refused(f'exec: "{argv0}": permission denied')
        if err:
            raise _start_refused(f'exec: "{argv0}": stat {argv0}: {os.strerror(err).lower()}')
        return argv0, resolved
    for folder in env["PATH"].split(":") if env["PATH"] else []:  # as filepath.SplitList
        name = posixpath.join(folder or ".", argv0)
        resolved, err = _find_executable(image, name, cwd)
        if not err:
            return name, resolved
    raise _start_refused(f'exec: "{argv0}": executable file not found in $PATH')


def _check_exec(image: _Image, launch: _Launch, resolved: str, path: str) -> None:
    """What execve does with the file: an ELF for this CPU, or a ``#!`` script whose
    interpreter exists (NotReplayable: the host's is not the image's), else ENOEXEC."""
    with open(launch.program, "rb") as file:
        head = file.read(256)
        if head.startswith(b"\x7fELF"):
            return _check_elf(image, launch, file, resolved, path)
    if not head.startswith(b"#!"):
        raise _exec_failed(launch.name, errno.ENOEXEC, path)
    words = head[2:].split(b"\n", 1)[0].split()
    interpreter = words[0].decode(errors="replace") if words else ""
    if not interpreter or image.resolve(interpreter, posixpath.dirname(resolved))[2]:
        raise _exec_failed(launch.name, errno.ENOENT, path)
    raise NotReplayable(f"{resolved} is a script for {interpreter}, which would run the "
                        "host's programs, not the image's")


def _check_elf(image: _Image, launch: _Launch, file: IO[bytes], resolved: str,
               path: str) -> None:
    """The kernel's ELF loader: type, CPU and byte order, then the ``PT_INTERP`` loader."""
    try:
        elf = ELFFile(file)
        machine, etype = elf["e_machine"], elf["e_type"]
        interp = next((seg.get_interp_name() for seg in elf.iter_segments()
                       if seg["p_type"] == "PT_INTERP"), None)
        tags = _dynamic_tags(elf)
    except (ELFError, ValueError, KeyError, AttributeError):
        raise _exec_failed(launch.name, errno.ENOEXEC, path) from None
    native = _HOST_MACHINES.get(platform.machine(), set())
    if etype not in ("ET_EXEC", "ET_DYN") or machine not in native or \
            elf.little_endian != (sys.byteorder == "little"):
        raise _exec_failed(launch.name, errno.ENOEXEC, path)
    if interp is None:
        return
    _, kind, err = image.resolve(interp, "/")
    if err or kind != "file":
        raise _exec_failed(launch.name, err or errno.EACCES, path)
    if posixpath.basename(interp).startswith("ld-linux"):
        _check_libraries(image, launch, tags, machine, path)
    if not os.path.exists(interp):
        raise NotReplayable(f"this machine has no {interp} to stand in for the image's loader")


def _dynamic_tags(elf: ELFFile) -> dict[str, list[str]]:
    """``DT_NEEDED`` libraries and ``DT_RPATH``/``DT_RUNPATH`` folders, in file order."""
    tags: dict[str, list[str]] = {"DT_NEEDED": [], "DT_RPATH": [], "DT_RUNPATH": []}
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            for tag in section.iter_tags():
                name = tag.entry.d_tag
                if name in tags:
                    value = getattr(tag, name[3:].lower())  # .needed, .rpath, .runpath
                    tags[name] += [value] if name == "DT_NEEDED" else value.split(":")
    return tags


def _check_libraries(image: _Image, launch: _Launch, tags: dict[str, list[str]],
                     machine: str, path: str) -> None:
    """Every ``DT_NEEDED`` library must be where Debian's glibc loader looks (``ld.so
    --help``: /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib), else the container exits
    127; NotReplayable when RPATH/RUNPATH, LD_LIBRARY_PATH, an ld.so.cache or a folder only
    some loaders search may still lead to it."""
    triplet = _TRIPLETS.get(machine, "")
    system = (f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib")
    for lib in tags["DT_NEEDED"]:
        if triplet and any(image.resolve(posixpath.join(d, lib))[1] == "file" for d in system):
            continue
        if not triplet or tags["DT_RPATH"] or tags["DT_RUNPATH"] or \
                launch.env.get("LD_LIBRARY_PATH") or image.resolve("/etc/ld.so.cache")[1] or \
                any(image.resolve(posixpath.join(d, lib))[1] for d in _MAYBE_LIB_DIRS):
            raise NotReplayable(f"cannot tell whether the image's loader finds {lib}")
        logs = (f"{launch.argv[0]}: error while loading shared libraries: {lib}: cannot "
                "open shared object file: No such file or directory\n")
        raise _exited_error(127, logs, path)


def _prepare(image: _Image, spec: RunSpec, path: str) -> _Launch:
    """Replay the daemon's, runc's and the kernel's checks in the image; what to start.

    Order as on the engine: command (create), WORKDIR (create), USER (start), LookPath
    (runc), then execve (the kernel, after the container started).
    """
    argv = spec.command()
    if not argv:
        raise KitError("No command specified", START_HINT)
    workdir, cwd = _workdir(image, spec)
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": uuid.uuid4().hex[:12], **spec.env}
    env.setdefault("HOME", _home(image, spec))
    name, resolved = _look_path(image, argv[0], env, workdir)
    if posixpath.basename(resolved) in SHELLS or argv[:2] == ["/bin/sh", "-c"]:
        raise NotReplayable(f"the command runs the image's shell ({' '.join(argv[:2])}), and "
                            "this machine's shell is not the image's")
    program = image.regular(resolved)
    launch = _Launch(argv, name, program, cwd, env)
    _check_exec(image, launch, resolved, path)
    return launch


def _cert_env(image: _Image, env: dict[str, str], tmp: Path) -> dict[str, str]:
    """SSL_CERT_FILE and SSL_CERT_DIR naming the image's CA files, never the host's.

    Go reads the first CA file that exists (``SSL_CERT_FILE`` replaces the list), then every
    file of its CA folders (``SSL_CERT_DIR`` replaces them): here the image's file or a path
    that does not exist, and temporary folders linking to the image's files as resolved in
    the image (a materialized symlink could reach the host's /etc/ssl), empty if none.
    """
    files = [env["SSL_CERT_FILE"]] if env.get("SSL_CERT_FILE") else GO_CERT_FILES
    found = (image.regular(f) for f in files)
    cert_file = next((host for host in found if host is not None), tmp / "no-ca-bundle")
    dirs = env["SSL_CERT_DIR"].split(":") if "SSL_CERT_DIR" in env else GO_CERT_DIRS
    cert_dirs = []
    for index, folder in enumerate(d for d in dirs if d):
        resolved, kind, _ = image.resolve(folder)
        linked = tmp / f"certs-{index}"
        linked.mkdir()
        cert_dirs.append(str(linked))
        if kind == "dir" and image.host(resolved).is_dir():
            for name in sorted(os.listdir(image.host(resolved))):
                host = image.regular(posixpath.join(resolved, name), strict=False)
                if host is not None:
                    (linked / name).symlink_to(host)
    return {"SSL_CERT_FILE": str(cert_file), "SSL_CERT_DIR": ":".join(cert_dirs)}


def _check_port_free(port: int, path: str) -> None:
    """Raise PortBusy if ``port`` cannot be bound here the way a Go server binds ``:port``
    (dual-stack, ``SO_REUSEADDR``): the server would fail on it, and not by its own fault."""
    for family, address in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                sock.bind((address, port))
                return
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortBusy(f"Port {port} is in use on this machine, so the image's server "
                               f"cannot listen there to answer {path}.",
                               f"Stop whatever listens on it (`ss -ltnp 'sport = :{port}'` "
                               "names it), then run the check again.") from None
            # no IPv6 here: try IPv4


def _session(leader: int) -> list[int]:
    """Live processes of the run's session or process group (the leader's children too)."""
    found = []
    for entry in os.scandir("/proc"):
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # not a process, or gone
        if fields[0] not in "ZX" and leader in (int(fields[2]), int(fields[3])):
            found.append(int(entry.name))
    return found


def _listening(leader: int) -> dict[int, set[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """TCP ports the run's processes listen on, with their addresses.

    /proc/<pid>/net/tcp{,6} list the whole network namespace's sockets; only those whose
    inode is an open socket of the session's processes (/proc/<pid>/fd) count. Addresses
    are hex, in host-order 32-bit words.
    """
    inodes = set()
    for pid in _session(leader):
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        inodes.update(link[8:-1] for link in links if link.startswith("socket:["))
    ports: dict = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{leader}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for cols in (line.split() for line in lines):
            if len(cols) > 9 and cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ip, port = cols[1].split(":")
                raw = bytes.fromhex(ip)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                ports.setdefault(int(port, 16), set()).add(ipaddress.ip_address(words))
    return ports


def _loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """127.0.0.0/8, ::1 or ::ffff:127.x: unreachable through a container's published port."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _output(out: IO[bytes]) -> str:
    """Everything the process printed so far (stdout and stderr, as ``docker logs``)."""
    out.flush()
    return Path(out.name).read_bytes().decode(errors="replace")


def _ask(session: requests.Session, url: str, start: float) -> tuple[HealthReport | None, str]:
    """One ``GET``: a report for an answer below 400 with a JSON (or empty) body, else why
    not (as ``wait_healthy``, an HTTP error or a body that is not JSON is retried)."""
    try:
        resp = session.get(url, timeout=(1.0, 2.0))
    except requests.RequestException as exc:
        return None, str(exc)
    if resp.status_code >= 400:
        return None, f"HTTP {resp.status_code}"
    try:
        body = json.loads(resp.content or b"{}")
    except ValueError as exc:
        return None, str(exc)
    return HealthReport(resp.status_code, body if isinstance(body, dict) else {},
                        time.monotonic() - start), ""


def _misheard(listening: dict, port: int, path: str, logs: str,
              env: dict[str, str]) -> RunError | None:
    """Why GET through the container's port cannot reach a server that listens: it listens
    only on loopback, or only on other ports; None if neither."""
    if port in listening:
        if not all(_loopback(ip) for ip in listening[port]):
            return None
        where = ", ".join(sorted(map(str, listening[port])))
        return RunError(f"The server listens on {where} port {port} only, which nothing "
                        "outside a container can reach.", logs=logs,
                        hint=f"Listen on all interfaces (`:{port}` or `0.0.0.0:{port}`).")
    set_by = f" (the image sets PORT={env['PORT']})" if "PORT" in env else ""
    return RunError(f"The server listens on port {', '.join(map(str, sorted(listening)))}, not "
                    f"{port}: GET {path} through the container's port {port} cannot reach it.",
                    logs=logs, hint=f"The course expects the server on port {port}{set_by}: "
                    "check ENV PORT and EXPOSE in the Dockerfile, and the port the code uses.")


def _wait(proc: subprocess.Popen, out: IO[bytes], port: int, path: str, timeout: float,
          env: dict[str, str]) -> HealthReport:
    """Poll until the server answers on ``port``, exits, listens elsewhere (for
    :data:`LISTEN_GRACE` s, rather than waiting out ``timeout``), or times out."""
    start, last_error, elsewhere_since = time.monotonic(), "not listening yet", None
    with requests.Session() as session:
        session.trust_env = False  # no proxy between us and 127.0.0.1
        while time.monotonic() - start < timeout:
            code = proc.poll()
            if code is not None:
                raise _exited_error(code if code >= 0 else 128 - code, _output(out), path)
            listening = _listening(proc.pid)
            if listening and port not in listening:
                elsewhere_since = elsewhere_since or time.monotonic()
            if listening and (port in listening or
                              time.monotonic() - elsewhere_since > LISTEN_GRACE):
                error = _misheard(listening, port, path, _output(out), env)
                if error is not None:
                    raise error
                report, last_error = _ask(session, f"http://127.0.0.1:{port}{path}", start)
                if report is not None:
                    return report
            time.sleep(0.1)
    raise RunError(f"{path} did not answer 200 within {timeout:.0f} s ({last_error}).",
                   logs=_output(out), hint=f"Does the server listen on 0.0.0.0:{port} inside "
                                           "the container? Read its logs below.")


def _stop(proc: subprocess.Popen) -> None:
    """``docker stop``: SIGTERM to the group, :data:`STOP_TIMEOUT` s of grace, then SIGKILL to
    the group and every process of the session; the leader reaped, the rest waited for.
    A second Ctrl-C while waiting skips the grace (and is re-raised)."""
    try:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=STOP_TIMEOUT)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
            pass
    finally:
        for pid in [-proc.pid, *_session(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait()
        deadline = time.monotonic() + 2
        while _session(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def run_locally(rootfs: Path, spec: RunSpec, lookup: Lookup, *, port: int = 8080,
                path: str = "/health", timeout: float = HEALTH_TIMEOUT) -> HealthReport:
    """Start the image's command as a local process, wait for ``GET path``, stop it.

    ``rootfs`` holds (at least) the image files the program needs at their image paths (a
    missing WORKDIR is created in it, as Docker does); ``lookup`` says what every image path
    is, unmaterialized base-image paths included. Returns the answer as ``wait_healthy``
    does; raises KitError (would not start: the engine's or runc's message), RunError (would
    exit, listen elsewhere or not answer), NotReplayable or PortBusy (skip).
    """
    image = _Image(Path(rootfs), lookup)
    launch = _prepare(image, spec, path)
    with tempfile.TemporaryDirectory(prefix="kit-run-") as tmp:
        env = {**launch.env, **_cert_env(image, launch.env, Path(tmp))}
        _check_port_free(port, path)
        with open(Path(tmp, "output"), "w+b") as out:
            proc = None
            try:
                try:
                    proc = subprocess.Popen(
                        launch.argv, executable=launch.program, cwd=launch.cwd, env=env,
                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True, close_fds=True)
                except OSError as exc:  # the host refused what the checks above let through
                    raise _exec_failed(launch.name, exc.errno or errno.ENOEXEC, path) from None
                return _wait(proc, out, port, path, timeout, spec.env)
            finally:
                if proc is not None:
                    _stop(proc)
