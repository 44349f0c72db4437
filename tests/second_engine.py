"""A second, private Docker engine for tests that need one engine besides the main one.

The classroom tests point the kit at another engine through ``DOCKER_HOST`` (remote engines,
a Docker-in-Docker sidecar) and stop it mid-session. They must not disturb the main engine
(the rest of the suite, and possibly a learner's work, runs on it), so the second ``dockerd``
shares nothing with it:

- its own API socket, ``--data-root``, ``--exec-root`` (where 20.10 also starts its own
  managed containerd), ``--pidfile``, ``--config-file`` and identity key (so its own
  engine ID), all in one temp folder;
- its own Linux bridge (``kit-br2-XXXX``, a free private /24) instead of ``docker0``;
- ``--iptables=false`` and ``--ip-forward=false``: two daemons must not rewrite the same
  iptables chains, and the host's sysctls stay as they are. Published ports still work
  through the userland proxy (``docker-proxy``), which connects to the container over the
  bridge; containers simply have no outbound NAT (nothing here needs it).

No registry is reachable on our machines, so :func:`copy_image` streams an image
(``golang:1.22``, or its offline stand-in) from the main engine into the second one, and
with it the runtime base images of :data:`COMPANION_IMAGES` the main engine has (the
distroless stand-in ``exercises/solutions/Dockerfile.distroless`` builds on).

The life cycle (temp folder, start and wait for an answer, stop, unmount, delete the bridge,
kill stray children) is written once here: ``tests/side_engines.py`` subclasses it for the
side engines of the engine matrix (Docker 26 with the containerd image store, Podman),
overriding only the command, its environment and what goes into the temp folder.

Usage::

    with SecondEngine() as engine2:        # started, answering
        copy_image(main_client, engine2.client(), "golang:1.22")
        os.environ["DOCKER_HOST"] = engine2.host
        engine2.stop(); engine2.start()    # same data root: images survive
    # stopped, bridge deleted, temp folder removed
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker
from docker.errors import DockerException

#: Seconds to wait for the engine to answer after a start, or to exit after SIGTERM.
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
#: Where the bridge subnet is chosen (a /24 inside it that no route or address overlaps).
SUBNET_POOL = ipaddress.ip_network("10.213.0.0/16")
#: Subnets handed to engines of this process that are still open: an engine whose bridge
#: only appears with its first container (Podman) has no address yet for others to avoid.
_HELD_SUBNETS: set[ipaddress.IPv4Network] = set()


class SecondEngineError(RuntimeError):
    """The second engine could not be set up, started or stopped (the message says why)."""


class SecondEngine:
    """A second ``dockerd`` on its own socket, data root, exec root and bridge.

    Subclasses (``tests/side_engines.py``) change the class attributes and the hooks
    :meth:`_prepare`, :meth:`_command` and :meth:`_environment`.

    Args:
        start_timeout: Seconds :meth:`start` waits for the engine to answer.
        dockerd: The dockerd binary (default: the one on PATH).

    Attributes:
        root: The temp folder holding everything the engine writes.
        host: The ``DOCKER_HOST`` URL of the engine (``unix:///tmp/kit-engine2-…/docker.sock``).
        bridge: Name of its Linux bridge.
        subnet: The bridge's IPv4 network.
    """

    #: Short name of the engine (in messages and test ids).
    name = "docker20-second"
    #: Start of the temp folder's name under /tmp (the leftover checks look for it).
    root_prefix = "kit-engine2-"
    #: Start of the bridge's name (Linux allows 15 characters; 4 random hex digits follow).
    bridge_prefix = "kit-br2-"
    #: The API socket's file name in the temp folder.
    socket_name = "docker.sock"
    #: The daemon's name in messages.
    program = "dockerd"

    def __init__(self, start_timeout: float = READY_TIMEOUT, dockerd: str | None = None) -> None:
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self.bridge = f"{self.bridge_prefix}{uuid.uuid4().hex[:4]}"  # unique per run
        self.subnet: ipaddress.IPv4Network | None = None
        self._process: subprocess.Popen | None = None
        self._dockerd = dockerd or shutil.which("dockerd") or "/usr/sbin/dockerd"

    # -- paths --------------------------------------------------------------------------------
    @property
    def socket(self) -> Path:
        return self._path(self.socket_name)

    @property
    def host(self) -> str:
        """The engine's address, as ``DOCKER_HOST`` wants it."""
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return self._path("data")

    @property
    def exec_root(self) -> Path:
        return self._path("exec")

    @property
    def log_path(self) -> Path:
        return self._path(f"{self.program}.log")

    def _path(self, name: str) -> Path:
        if self.root is None:
            raise SecondEngineError("The second engine is not set up (call setup() first).")
        return self.root / name

    @property
    def running(self) -> bool:
        """True while our daemon process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- life cycle ---------------------------------------------------------------------------
    def setup(self) -> "SecondEngine":
        """Create the temp folder and the bridge, then start the engine (undone by close())."""
        self._preflight()
        # Short path: the managed containerd's socket lives under the exec root, and unix
        # socket paths are limited to 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix=self.root_prefix, dir="/tmp"))
        try:
            self._prepare()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def start(self) -> None:
        """Start the daemon on the same data root; return once it answers (or raise)."""
        if self.running:
            return
        log = open(self.log_path, "ab")
        try:
            # Own session: a Ctrl-C aimed at pytest does not kill the engine mid-teardown.
            self._process = subprocess.Popen(self._command(), stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True, env=self._environment())
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SecondEngineError(f"{self.program} exited with code "
                                        f"{self._process.returncode} while starting:\n"
                                        f"{self.log_tail()}")
            if self.answers():
                return
            time.sleep(0.2)
        self.stop()
        raise SecondEngineError(f"{self.program} did not answer at {self.host} within "
                                f"{self.start_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM dockerd and wait until it (and its managed containerd) are gone.

        dockerd stops its containers and its containerd on the way out; if it is not gone
        within ``timeout`` it is killed, and so is a containerd it left behind.
        """
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self._kill_managed_containerd()

    def close(self) -> None:
        """Stop the engine, kill what it left running, unmount what it left mounted, delete
        its bridge and folder."""
        try:
            self.stop()
        finally:
            if self.root is not None:
                self._kill_leftover_processes()
                self._unmount_leftovers()
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            _HELD_SUBNETS.discard(self.subnet)
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def __enter__(self) -> "SecondEngine":
        return self.setup()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- talking to it ------------------------------------------------------------------------
    def answers(self) -> bool:
        """Whether the engine answers a ping right now."""
        try:
            client = docker.DockerClient(base_url=self.host, timeout=2)
        except DockerException:
            return False
        try:
            return bool(client.ping())
        except Exception:  # refused, socket missing, half-started: all mean "not yet"
            return False
        finally:
            client.close()

    def client(self, timeout: int = 600) -> docker.DockerClient:
        """A docker client for this engine (long timeout: image loads are big)."""
        return docker.DockerClient(base_url=self.host, timeout=timeout)

    def log_tail(self, lines: int = 25) -> str:
        """The last lines of the daemon's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, SecondEngineError):
            return "(no log)"

    # -- hooks for subclasses -----------------------------------------------------------------
    def _preflight(self) -> None:
        """Raise SecondEngineError unless this engine can start here (root, binary)."""
        if os.geteuid() != 0:
            raise SecondEngineError("A second dockerd needs root (it mounts overlays and "
                                    "creates a bridge); run the classroom tests as root.")
        if not Path(self._dockerd).is_file():
            raise SecondEngineError("No dockerd binary on this machine: `make setup` installs "
                                    "Debian's docker.io, which provides it.")

    def _prepare(self) -> None:
        """Fill the new temp folder (config files) and create the bridge, before the start."""
        # Not /etc/docker/daemon.json. Its own identity key: 20.10 derives the engine ID
        # from /etc/docker/key.json otherwise, the main engine's (a config-file-only key).
        self._write_daemon_json({"deprecated-key-path": str(self.root / "key.json")})
        self._create_bridge()

    def _private_paths(self) -> list[str]:
        """dockerd's flags that keep it apart: socket, data and exec roots, pidfile, config."""
        return [
            self._dockerd,
            "--host", self.host,
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self._path("docker.pid")),
            "--config-file", str(self._path("daemon.json")),
        ]

    def _command(self) -> list[str]:
        """The daemon's command line (every path inside the temp folder)."""
        return self._private_paths() + ["--bridge", self.bridge, "--iptables=false",
                                        "--ip-forward=false"]

    def _environment(self) -> dict[str, str] | None:
        """The daemon's environment (None: this process's own)."""
        return None

    # -- private ------------------------------------------------------------------------------
    def _write_daemon_json(self, config: dict) -> None:
        (self.root / "daemon.json").write_text(json.dumps(config, indent=2) + "\n")

    def _create_bridge(self) -> None:
        """A Linux bridge with the first free /24 of SUBNET_POOL, .1 as its address."""
        self.subnet = self._reserve_subnet()
        gateway = next(self.subnet.hosts())
        for command in (["ip", "link", "add", self.bridge, "type", "bridge"],
                        ["ip", "addr", "add", f"{gateway}/{self.subnet.prefixlen}",
                         "dev", self.bridge],
                        ["ip", "link", "set", self.bridge, "up"]):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SecondEngineError(f"`{' '.join(command)}` failed: {done.stderr.strip()}")

    def _reserve_subnet(self) -> ipaddress.IPv4Network:
        """A free /24 of SUBNET_POOL, held for this engine until close()."""
        subnet = _free_subnet()
        _HELD_SUBNETS.add(subnet)
        return subnet

    def _kill_leftover_processes(self) -> None:
        """Kill every process of our temp folder: a containerd, shims, conmon, and containers
        whose root file system is in it (what a daemon that died or was killed leaves)."""
        # Remembered across the rounds: once a shim is gone, its container's process is
        # reparented to init and no longer looks like ours (a container's pid 1 ignores
        # SIGTERM, so it only goes in the second round).
        pids: set[int] = set()
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            pids = {pid for pid in pids | set(processes_using(self.root))
                    if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)}
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while pids and time.monotonic() < deadline:
                time.sleep(0.1)
                pids = {pid for pid in pids if Path(f"/proc/{pid}").exists()
                        and not _is_zombie(pid)}
            if not pids:
                return

    def _kill_managed_containerd(self) -> None:
        """Kill the containerd our dockerd started, if dockerd died without stopping it."""
        if self.root is None:
            return
        pidfile = self.exec_root / "containerd" / "containerd.pid"
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if "containerd" not in cmdline or str(self.exec_root) not in cmdline:
            return  # the pid was reused by something that is not ours
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _unmount_leftovers(self) -> None:
        """Unmount anything still mounted under our folder (overlays, netns), deepest first."""
        prefix = str(self.root) + "/"
        with open("/proc/self/mountinfo") as mounts:
            points = [line.split()[4] for line in mounts]
        for point in sorted((p for p in points if p.startswith(prefix)), key=len,
                            reverse=True):
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


def processes_mentioning(text: str) -> list[int]:
    """Ids of the processes (but this one) whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def processes_using(folder: Path) -> list[int]:
    """Ids of the processes whose command line names ``folder``, and of all their
    descendants: a shim's or conmon's children are the containers' processes, whose
    command lines name nothing of ours."""
    found = set(processes_mentioning(f"{folder}/"))
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # field 4 of stat, after the parenthesised command name
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != os.getpid():
                found.add(child)
                todo.append(child)
    return sorted(found)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _free_subnet() -> ipaddress.IPv4Network:
    """The first /24 of SUBNET_POOL that overlaps no address or route on this host, nor a
    subnet another engine of this process holds."""
    used = list(_HELD_SUBNETS)
    for command in (["ip", "-j", "-4", "addr"], ["ip", "-j", "-4", "route"]):
        done = subprocess.run(command, capture_output=True, text=True)
        for entry in json.loads(done.stdout or "[]"):
            for info in entry.get("addr_info", []):
                used.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}",
                                                 strict=False))
            if entry.get("dst") not in (None, "default"):
                used.append(ipaddress.ip_network(entry["dst"], strict=False))
    for candidate in SUBNET_POOL.subnets(new_prefix=24):
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise SecondEngineError(f"No free /24 in {SUBNET_POOL} for the second engine's bridge.")


#: Runtime base images copied along with the one asked for, when the source engine has them:
#: ``scripts/base-images.sh`` makes them next to ``golang:1.22`` (offline, stand-ins).
COMPANION_IMAGES = ("gcr.io/distroless/static-debian12:latest",
                    "gcr.io/distroless/static-debian12:nonroot")


def copy_image(source: docker.DockerClient, target: docker.DockerClient, name: str,
               companions: tuple[str, ...] = COMPANION_IMAGES):
    """Copy image ``name`` from ``source`` to ``target``: ``docker save | docker load``.

    Each of ``companions`` the source has is copied too (a base image missing there is
    skipped: the tests that need it then fail with "not on this engine"). The tarballs
    stream from one engine to the other in chunks, never held in memory or written to
    disk. Returns the image ``name`` on ``target``.
    """
    for image in (name, *(c for c in companions if c != name and _has_image(source, c))):
        target.images.load(source.images.get(image).save(named=image))
    return target.images.get(name)


def _has_image(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True
