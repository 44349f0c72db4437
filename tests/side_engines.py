"""Side engines: Docker 26 with the containerd image store, and Podman 4.3, beside the main one.

The kit must give the same verdicts on every engine a learner may have, so the integration
tests also run on these two. Each is a private daemon in one temp folder under /tmp, with its
own API socket, storage, state and bridge, and shares nothing with the main engine (the rest
of the suite, and possibly a learner's work, runs on it). Both reuse the life cycle of
:class:`tests.second_engine.SecondEngine` (start and wait for an answer, stop, unmount, kill
stray children, delete the bridge and folder) and change only what they start:

- :class:`Docker26Engine`: Debian trixie's dockerd 26.1 and containerd 1.7, unpacked into
  ``.engines/docker26`` by ``scripts/side-engines.sh install`` (``make engines``). Its
  ``usr/bin`` comes first on PATH, so dockerd starts its own containerd 1.7, shims and
  docker-init from there (runc is bookworm's). daemon.json turns on the containerd image
  store and names our own bridge; **never** ``"bridge": "none"``, which deletes the main
  engine's ``docker0`` (seen here).
- :class:`PodmanEngine`: ``podman system service`` with ``--root``/``--runroot``/``--tmpdir``
  in the temp folder, cgroupfs (no systemd here), file events. Its default network
  ``podman`` is defined in a private network config dir with our own bridge name and subnet,
  so netavark never touches ``docker0`` or the ``podman0`` a learner's Podman would use.
  Rootful Podman 4.3 still writes to three fixed host paths whatever the flags say
  (netavark's IPAM database in /run/containers/networks, network namespaces in /run/netns,
  and compat builds' blob-info cache in /var/lib/containers/cache), so the service runs in a
  mount namespace of its own where folders of the temp folder are bind-mounted over those
  three: nothing it writes, nor any mount it makes, reaches the host's view.

The temp folders are named ``/tmp/kit-<engine>-<pytest pid>-XXXXXXXX``:
:func:`side_engine_leftovers` tells what this session (or one that is gone) left behind
from what a concurrent session still uses.

Usage::

    with PodmanEngine() as podman:                       # started, answering
        copy_image(main_client, podman.client(), "golang:1.22")  # + the distroless stand-in
        os.environ["DOCKER_HOST"] = podman.host
    # stopped, containers removed, bridge and temp folder deleted
"""

from __future__ import annotations

import json
import os
import re
import resource
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.second_engine import COMPANION_IMAGES, SecondEngine, SecondEngineError, \
    copy_image, processes_mentioning

__all__ = ["COMPANION_IMAGES", "Docker26Engine", "PodmanEngine", "SideEngineError",
           "SIDE_ENGINES", "copy_image",
           "side_engine_leftovers", "main_bridge_exists"]

REPO = Path(__file__).resolve().parents[1]
#: Where ``scripts/side-engines.sh install`` unpacks Docker 26 (ignored by git).
DOCKER26_DIR = REPO / ".engines" / "docker26"
#: Seconds to wait for a side engine's first answer (Podman's first start sets up storage).
SIDE_READY_TIMEOUT = 60.0
#: The id of Podman's default network, as Podman 4.3 computes it (any 64 hex digits would do).
PODMAN_NETWORK_ID = "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9"
#: The main engine's bridge, which no side engine may touch.
MAIN_BRIDGE = "docker0"
#: Host folders rootful Podman 4.3 always writes to, and the temp folder's stand-ins for them
#: (bind-mounted over them in the service's own mount namespace).
PODMAN_HOST_PATHS = {"/var/lib/containers": "host/var-lib-containers",
                     "/run/containers": "host/run-containers",
                     "/run/netns": "host/run-netns"}
PODMAN_CONF = "/etc/containers/containers.conf"
INSTALL_HINT = "run `make engines` (scripts/side-engines.sh install) as root"


class SideEngineError(SecondEngineError):
    """A side engine could not be set up, started or stopped (the message says why)."""


class Docker26Engine(SecondEngine):
    """Docker 26.1 with the containerd image store, on its own socket, data root and bridge.

    Args:
        start_timeout: Seconds :meth:`start` waits for the engine to answer.
        install_dir: Where Docker 26 was unpacked (``usr/sbin/dockerd``, ``usr/bin/containerd``).

    Attributes:
        root: The temp folder holding everything the engine writes.
        host: The ``DOCKER_HOST`` URL of the engine.
        bridge: Name of its Linux bridge (``kit-br26-XXXX``).
        subnet: The bridge's IPv4 network.
    """

    name = "docker26-containerd"
    bridge_prefix = "kit-br26-"

    def __init__(self, start_timeout: float = SIDE_READY_TIMEOUT,
                 install_dir: Path = DOCKER26_DIR) -> None:
        self.install_dir = Path(install_dir)
        super().__init__(start_timeout, dockerd=str(self.install_dir / "usr/sbin/dockerd"))
        # The owner's pid in the folder name: the leftover check tells sessions apart.
        self.root_prefix = f"kit-docker26-{os.getpid()}-"

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise SideEngineError("Docker 26 needs root (overlay mounts, a bridge).")
        for binary in ("usr/sbin/dockerd", "usr/bin/containerd", "usr/bin/docker-init"):
            if not (self.install_dir / binary).is_file():
                raise SideEngineError(f"Docker 26 is not installed ({self.install_dir / binary} "
                                      f"is missing): {INSTALL_HINT}.")
        if shutil.which("runc", path=self._environment()["PATH"]) is None:
            raise SideEngineError("No runc on PATH for Docker 26: apt-get install runc.")

    def _prepare(self) -> None:
        self._create_bridge()
        bin_dir = self.install_dir / "usr" / "bin"
        self._write_daemon_json({
            # The containerd image store: images live in containerd's content store.
            "features": {"containerd-snapshotter": True},
            # Our own bridge; never "none" (it deletes docker0, the main engine's bridge).
            "bridge": self.bridge,
            # Two daemons must not rewrite the same iptables chains, nor the host's sysctls.
            "iptables": False,
            "ip-forward": False,
            # Ours, not bookworm's (PATH would find them too; this says so).
            "userland-proxy-path": str(self.install_dir / "usr/sbin/docker-proxy"),
            "init-path": str(bin_dir / "docker-init"),
        })

    def _command(self) -> list[str]:
        # bridge, iptables and ip-forward are in daemon.json: dockerd refuses a setting
        # given both as a flag and in the file.
        return self._private_paths()

    def _environment(self) -> dict[str, str]:
        # dockerd looks up containerd, containerd looks up its shim, on PATH: ours first.
        own = [str(self.install_dir / "usr" / "bin"), str(self.install_dir / "usr" / "sbin")]
        return {**os.environ, "PATH": os.pathsep.join(own + [os.environ.get(
            "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")])}


class PodmanEngine(SecondEngine):
    """Podman's Docker-compatible API service, with storage, state and network of its own.

    Args:
        start_timeout: Seconds :meth:`start` waits for the service to answer.
        podman: The podman binary (default: the one on PATH).

    Attributes:
        root: The temp folder holding everything the engine writes.
        host: The ``DOCKER_HOST`` URL of the service (``unix:///tmp/kit-podman-…/podman.sock``).
        bridge: Name of the bridge netavark creates with the first container (``kit-pod-XXXX``).
        subnet: The IPv4 network of Podman's default network.
    """

    name = "podman"
    bridge_prefix = "kit-pod-"
    socket_name = "podman.sock"
    program = "podman"

    def __init__(self, start_timeout: float = SIDE_READY_TIMEOUT,
                 podman: str | None = None) -> None:
        super().__init__(start_timeout)
        self._podman = podman or shutil.which("podman") or "/usr/bin/podman"
        self.root_prefix = f"kit-podman-{os.getpid()}-"
        self._chains_before: set[str] | None = None  # netavark's chains before our start

    @property
    def data_root(self) -> Path:
        """Podman's ``--root`` (containers/storage: images, layers, containers)."""
        return self._path("storage")

    @property
    def exec_root(self) -> Path:
        """Podman's ``--runroot`` (storage's runtime state)."""
        return self._path("run")

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise SideEngineError("The Podman side engine runs rootful: run the tests as root.")
        if not Path(self._podman).is_file():
            raise SideEngineError(f"Podman is not installed: {INSTALL_HINT}.")
        if shutil.which("unshare") is None:
            raise SideEngineError("No unshare (util-linux) to give Podman its own mount "
                                  "namespace.")
        # Podman asks runc for nofile=1048576; above the hard limit, every RUN step fails
        # "error setting rlimit type 7" unless containers.conf lowers it.
        conf = Path(PODMAN_CONF)
        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 1048576 and not (
                conf.is_file() and "default_ulimits" in conf.read_text()):
            raise SideEngineError(f"{conf} sets no default_ulimits, and this machine's hard "
                                  f"nofile limit is below Podman's default: {INSTALL_HINT}.")

    def _prepare(self) -> None:
        # netavark creates the bridge with the first container; until then only this process
        # knows the subnet is taken (held until close()).
        self.subnet = self._reserve_subnet()
        networks = self._path("networks")
        networks.mkdir()
        gateway = next(self.subnet.hosts())
        # Podman's default network, defined here instead of in memory: our bridge name and
        # subnet instead of podman0 and 10.88.0.0/16. No DNS: no aardvark-dns process.
        network = {
            "name": "podman", "id": PODMAN_NETWORK_ID, "driver": "bridge",
            "network_interface": self.bridge, "created": "2026-01-01T00:00:00Z",
            "subnets": [{"subnet": str(self.subnet), "gateway": str(gateway)}],
            "ipv6_enabled": False, "internal": False, "dns_enabled": False,
            "ipam_options": {"driver": "host-local"},
        }
        (networks / "podman.json").write_text(json.dumps(network, indent=2) + "\n")
        self._path("tmp").mkdir()
        for host_path, own in PODMAN_HOST_PATHS.items():
            self._path(own).mkdir(parents=True)
            # A mount point must exist: an empty folder at most (the package's own defaults).
            Path(host_path).mkdir(parents=True, exist_ok=True)
        self._chains_before = netavark_chains()

    def _command(self) -> list[str]:
        # Own mount namespace; "slave": the host's mounts and unmounts still reach it (no
        # stale copies of the main engine's mounts held here), ours never reach the host.
        binds = " && ".join(f"mount --bind {shlex.quote(str(self._path(own)))} "
                            f"{shlex.quote(host_path)}"
                            for host_path, own in PODMAN_HOST_PATHS.items())
        return [
            "unshare", "--mount", "--propagation", "slave", "--",
            "sh", "-c", f'{binds} && exec "$@"', "sh",
            self._podman,
            "--root", str(self.data_root),
            "--runroot", str(self.exec_root),
            "--tmpdir", str(self._path("libpod")),    # not /run/libpod
            "--volumepath", str(self._path("volumes")),
            "--network-config-dir", str(self._path("networks")),
            "--storage-driver", "overlay",
            "--cgroup-manager", "cgroupfs",            # no systemd on our machines
            "--events-backend", "file",                # no journald either
            "system", "service", "--time=0", self.host,
        ]

    def _environment(self) -> dict[str, str]:
        # Image loads and builds stage big files in TMPDIR (default /var/tmp): keep them here.
        return {**os.environ, "TMPDIR": str(self._path("tmp"))}

    def close(self) -> None:
        """Remove the service's containers (so conmon exits and netavark tears down its
        firewall rules), stop it and delete everything, as for any second engine; then
        remove the firewall rules a crashed service left for our subnet."""
        if self.running:
            try:
                client = self.client(timeout=60)
                try:
                    for container in client.containers.list(all=True):
                        container.remove(force=True)
                finally:
                    client.close()
            except Exception:  # the service is going away anyway; close() cleans up after it
                pass
        super().close()
        if self.subnet is not None:
            remove_netavark_rules(self.subnet)
        if self._chains_before == set():  # netavark had no chains before us
            remove_idle_netavark_chains()


def netavark_chains() -> set[str]:
    """Names of netavark's iptables chains (``NETAVARK…``) in the filter and nat tables."""
    chains = set()
    for table in ("filter", "nat"):
        done = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True)
        chains |= {line.split()[1] for line in done.stdout.splitlines()
                   if line.startswith("-N NETAVARK")}
    return chains


def remove_netavark_rules(subnet) -> None:
    """Delete the iptables rules that name ``subnet`` (ours alone), and the per-network
    chains they jump to: what netavark sets up for a container and only removes when the
    container is torn down properly."""
    for table in ("filter", "nat"):
        lines = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True,
                               text=True).stdout.splitlines()
        chains = set()
        for line in lines:
            words = shlex.split(line)
            if words[:1] != ["-A"] or str(subnet) not in words:
                continue
            subprocess.run(["iptables", "-t", table, "-D", *words[1:]], capture_output=True)
            target = words[words.index("-j") + 1] if "-j" in words[:-1] else ""
            if target.startswith("NETAVARK-") and not target.startswith("NETAVARK-HOSTPORT-"):
                chains.add(target)
        for chain in sorted(chains):
            subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
            subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)


def remove_idle_netavark_chains() -> None:
    """Delete netavark's generic chains (and the jumps to them) when no network uses them.

    netavark adds them with a network's first container and never removes them. Only called
    when they did not exist before our Podman started; "idle" means no per-network chain is
    left and the forward chain is empty (netavark adds them again when it needs them).
    """
    rules = {table: subprocess.run(["iptables", "-t", table, "-S"], capture_output=True,
                                   text=True).stdout.splitlines()
             for table in ("filter", "nat")}
    generic = ("NETAVARK_FORWARD", "NETAVARK_ISOLATION", "NETAVARK-HOSTPORT-")
    for lines in rules.values():
        for line in lines:
            words = line.split()
            if words[:1] == ["-N"] and words[1].startswith("NETAVARK") \
                    and not words[1].startswith(generic):
                return  # a network's own chain: some container still uses netavark
            if words[:2] == ["-A", "NETAVARK_FORWARD"]:
                return
    for table, lines in rules.items():
        for line in lines:  # the jumps from the built-in chains
            words = shlex.split(line)
            if words[:1] == ["-A"] and not words[1].startswith("NETAVARK") \
                    and any(w.startswith("NETAVARK") for w in words[2:]):
                subprocess.run(["iptables", "-t", table, "-D", *words[1:]], capture_output=True)
        chains = [line.split()[1] for line in lines
                  if line.startswith("-N NETAVARK")]
        for chain in chains:
            subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
        for chain in chains:
            subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)


#: The side engines by test id, in the order the matrix uses them.
SIDE_ENGINES: dict[str, type[SecondEngine]] = {
    Docker26Engine.name: Docker26Engine,
    PodmanEngine.name: PodmanEngine,
}
#: Start of the side engines' temp folders under /tmp (then ``<owner pid>-``).
ROOT_PREFIXES = ("kit-docker26-", "kit-podman-")
_OWNED = re.compile(r"/tmp/(kit-(?:docker26|podman)-(\d+)-[^/\s]+)")


def _owner_gone_or_me(owner: int) -> bool:
    return owner == os.getpid() or not Path(f"/proc/{owner}").exists()


def side_engine_leftovers() -> list[str]:
    """What side engines of this process, or of a process that is gone, left behind.

    Processes whose command line names a side engine's temp folder (dockerd, containerd,
    shims, podman, conmon), such folders (their sockets with them), and bridges named like a
    side engine's. A concurrent pytest session's live engines are not leftovers.

    Returns:
        One line per leftover (empty when nothing is left).
    """
    found = []
    for pid in processes_mentioning("/tmp/kit-"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
        except OSError:
            continue
        match = _OWNED.search(cmdline)
        if match and _owner_gone_or_me(int(match.group(2))):
            found.append(f"process {pid}: {cmdline[:160]}")
    live_elsewhere = False
    for folder in Path("/tmp").iterdir():
        match = _OWNED.fullmatch(str(folder))
        if not match:
            continue
        if _owner_gone_or_me(int(match.group(2))):
            sockets = sorted(p.name for p in folder.glob("*.sock"))
            found.append(f"folder {folder}" + (f" (sockets: {', '.join(sockets)})"
                                               if sockets else ""))
        else:
            live_elsewhere = True
    if not live_elsewhere:  # bridges carry no owner: only judge them when nobody else runs
        done = subprocess.run(["ip", "-j", "link", "show", "type", "bridge"],
                              capture_output=True, text=True)
        for link in json.loads(done.stdout or "[]"):
            name = link.get("ifname", "")
            if name.startswith((Docker26Engine.bridge_prefix, PodmanEngine.bridge_prefix)):
                found.append(f"bridge {name}")
    return found


def main_bridge_exists(name: str = MAIN_BRIDGE) -> bool:
    """Whether the main engine's bridge (``docker0``) exists."""
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0
