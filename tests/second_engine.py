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
(``golang:1.22``, or its offline stand-in) from the main engine into the second one.

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


class SecondEngineError(RuntimeError):
    """The second engine could not be set up, started or stopped (the message says why)."""


class SecondEngine:
    """A second ``dockerd`` on its own socket, data root, exec root and bridge.

    Args:
        start_timeout: Seconds :meth:`start` waits for the engine to answer.
        dockerd: The dockerd binary (default: the one on PATH).

    Attributes:
        root: The temp folder holding everything the engine writes.
        host: The ``DOCKER_HOST`` URL of the engine (``unix:///tmp/kit-engine2-…/docker.sock``).
        bridge: Name of its Linux bridge.
        subnet: The bridge's IPv4 network.
    """

    def __init__(self, start_timeout: float = READY_TIMEOUT, dockerd: str | None = None) -> None:
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self.bridge = f"kit-br2-{uuid.uuid4().hex[:4]}"  # <= 15 chars, unique per run
        self.subnet: ipaddress.IPv4Network | None = None
        self._process: subprocess.Popen | None = None
        self._dockerd = dockerd or shutil.which("dockerd") or "/usr/sbin/dockerd"

    # -- paths --------------------------------------------------------------------------------
    @property
    def socket(self) -> Path:
        return self._path("docker.sock")

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
        return self._path("dockerd.log")

    def _path(self, name: str) -> Path:
        if self.root is None:
            raise SecondEngineError("The second engine is not set up (call setup() first).")
        return self.root / name

    @property
    def running(self) -> bool:
        """True while our dockerd process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- life cycle ---------------------------------------------------------------------------
    def setup(self) -> "SecondEngine":
        """Create the temp folder and the bridge, then start the engine (undone by close())."""
        if os.geteuid() != 0:
            raise SecondEngineError("A second dockerd needs root (it mounts overlays and "
                                    "creates a bridge); run the classroom tests as root.")
        if not Path(self._dockerd).is_file():
            raise SecondEngineError("No dockerd binary on this machine: `make setup` installs "
                                    "Debian's docker.io, which provides it.")
        # Short path: the managed containerd's socket lives under the exec root, and unix
        # socket paths are limited to 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="kit-engine2-", dir="/tmp"))
        # Not /etc/docker/daemon.json. Its own identity key: 20.10 derives the engine ID
        # from /etc/docker/key.json otherwise, the main engine's (a config-file-only key).
        config = {"deprecated-key-path": str(self.root / "key.json")}
        (self.root / "daemon.json").write_text(json.dumps(config, indent=2) + "\n")
        try:
            self._create_bridge()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def start(self) -> None:
        """Start dockerd on the same data root; return once it answers (or raise)."""
        if self.running:
            return
        command = [
            self._dockerd,
            "--host", self.host,
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self._path("docker.pid")),
            "--config-file", str(self._path("daemon.json")),
            "--bridge", self.bridge,
            "--iptables=false",
            "--ip-forward=false",
        ]
        log = open(self.log_path, "ab")
        try:
            # Own session: a Ctrl-C aimed at pytest does not kill the engine mid-teardown.
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SecondEngineError(f"dockerd exited with code {self._process.returncode} "
                                        f"while starting:\n{self.log_tail()}")
            if self.answers():
                return
            time.sleep(0.2)
        self.stop()
        raise SecondEngineError(f"dockerd did not answer at {self.host} within "
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
        """Stop the engine, unmount what it left mounted, delete its bridge and folder."""
        try:
            self.stop()
        finally:
            if self.root is not None:
                self._unmount_leftovers()
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
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
        """The last lines of dockerd's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, SecondEngineError):
            return "(no log)"

    # -- private ------------------------------------------------------------------------------
    def _create_bridge(self) -> None:
        """A Linux bridge with the first free /24 of SUBNET_POOL, .1 as its address."""
        self.subnet = _free_subnet()
        gateway = next(self.subnet.hosts())
        for command in (["ip", "link", "add", self.bridge, "type", "bridge"],
                        ["ip", "addr", "add", f"{gateway}/{self.subnet.prefixlen}",
                         "dev", self.bridge],
                        ["ip", "link", "set", self.bridge, "up"]):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SecondEngineError(f"`{' '.join(command)}` failed: {done.stderr.strip()}")

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


def _free_subnet() -> ipaddress.IPv4Network:
    """The first /24 of SUBNET_POOL that overlaps no address or route on this host."""
    used = []
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


def copy_image(source: docker.DockerClient, target: docker.DockerClient, name: str):
    """Copy image ``name`` from ``source`` to ``target``: ``docker save | docker load``.

    The tarball streams from one engine to the other in chunks, never held in memory or
    written to disk. Returns the image on ``target``.
    """
    chunks = source.images.get(name).save(named=name)
    target.images.load(chunks)
    return target.images.get(name)
