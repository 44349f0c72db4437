"""Why no engine answers: classify a connection failure and give its own one-line fix.

Starting the engine does not help a user who may not open its socket, so each kind of
failure (no socket, permission denied, a socket nothing serves, a remote engine down, TLS,
SSH, an API version the SDK refuses) gets its own message and hint. Pure functions of the
error the SDK raised and the environment; :mod:`helpers.engine.connect` calls them.

An engine that answers but cannot get a ``FROM`` image (no registry reachable, as on an
offline machine, or no such image): :func:`base_image_failure` reads each engine's and
builder's wording of that and says which image, why, and what works offline (``scratch``,
the distroless and golang stand-ins of ``scripts/base-images.sh``).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import socket
import ssl
import stat
from dataclasses import dataclass
from urllib.parse import urlparse

import requests
import urllib3
from docker.errors import InvalidVersion, TLSParameterError

from ..errors import EngineUnavailable

#: The socket the SDK uses when neither DOCKER_HOST nor a docker context names one.
DEFAULT_SOCKET = "/var/run/docker.sock"
#: Seconds to wait for the engine to answer a ping before giving up.
CONNECT_TIMEOUT = 2.0


#: Podman's per-user socket, a Docker-compatible engine that needs no group membership.
PODMAN_SOCKET = "unix://$XDG_RUNTIME_DIR/podman/podman.sock"


#: Longest detail (the engine's or the OS's words) quoted in a message.
DETAIL_LIMIT = 120


_API_VERSION_WORDS = re.compile(
    r"client version \S+ is too (new|old)|(minimum|maximum) supported api version"
    r"|api versions below", re.IGNORECASE)


_TLS_WORDS = re.compile(r"\bSSL|\bTLS|certificate verify failed", re.IGNORECASE)


def unavailable(url: str | None, cause: BaseException | str,
                timeout: float = CONNECT_TIMEOUT) -> EngineUnavailable:
    """Build the EngineUnavailable error for ``url`` (None = default socket): why, and a fix.

    Each kind of failure (see :func:`failure_kind`) gets its own one-line message and
    one-line hint, because the fixes differ: starting the engine does not help a user who
    may not open its socket.

    Args:
        url: The address tried, as from :func:`engine_url` (None: the platform default).
        cause: What the SDK raised (or a description of it).
        timeout: The connect timeout used, quoted when the engine did not answer in time.
    """
    kind = failure_kind(url, cause)
    where = url or f"unix://{DEFAULT_SOCKET}"
    detail = _clip(_detail(kind, url, cause, timeout))
    message, hint = _EXPLAIN.get(kind, _explain_unknown)(where, url, detail)
    return EngineUnavailable(message, hint)


def _explain_no_socket(where: str, url: str | None, detail: str) -> tuple[str, str]:
    return (f"No Docker engine answers at {where}: the socket file does not exist "
            "(the engine is not started, or not installed).", _start_hint())


def _explain_permission(where: str, url: str | None, detail: str) -> tuple[str, str]:
    path = _socket_path(url) or DEFAULT_SOCKET
    owner = _socket_owner(path)
    return (f"Permission denied on the Docker socket {path}"
            + (f" ({owner})" if owner else "") + ": this user may not talk to the engine.",
            _permission_hint(path))


def _explain_not_answering(where: str, url: str | None, detail: str) -> tuple[str, str]:
    return (f"No Docker engine answers at {where}: the socket exists but {detail}.",
            "The engine is not running or is stuck: restart it (Docker Desktop: Restart; "
            "`sudo systemctl restart docker`; Podman: "
            "`systemctl --user restart podman.socket`).")


def _explain_remote_down(where: str, url: str | None, detail: str) -> tuple[str, str]:
    return (f"No Docker engine answers at {where}: {detail}.",
            f"The engine {_named_by()} names is down or unreachable: start it, check host "
            f"and port (firewall, VPN), or {_use_local()} to use the local engine.")


def _explain_tls(where: str, url: str | None, detail: str) -> tuple[str, str]:
    return (f"TLS with the Docker engine at {where} failed: {detail}.",
            "Check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem issued for this engine) and "
            "DOCKER_TLS_VERIFY; the engine's certificate must name its host.")


def _explain_ssh(where: str, url: str | None, detail: str) -> tuple[str, str]:
    if "paramiko" in detail:
        hint = ("Install the SDK's SSH support in the kit's environment: "
                "`pip install paramiko` (or `pip install 'docker[ssh]'`).")
    else:
        hint = ("Check that `ssh HOST docker version` works without a prompt (key "
                "loaded, host in known_hosts, user allowed to use docker there).")
    return f"Cannot reach the Docker engine over SSH at {where}: {detail}.", hint


def _explain_api_version(where: str, url: str | None, detail: str) -> tuple[str, str]:
    pinned = os.environ.get("DOCKER_API_VERSION")
    hint = ("The engine is too old or too new for docker-py (API 1.24 or newer): "
            "upgrade the engine, or set DOCKER_API_VERSION to a version both support "
            "(the engine's, from `docker version`).")
    if pinned:
        hint = (f"DOCKER_API_VERSION={pinned} is set: unset it to negotiate, or set a "
                "version both support (the engine's, from `docker version`).")
    return (f"The Docker engine at {where} and docker-py disagree on the API version: "
            f"{detail}.", hint)


def _explain_unknown(where: str, url: str | None, detail: str) -> tuple[str, str]:
    if os.environ.get("DOCKER_HOST"):
        hint = ("DOCKER_HOST is set: start the engine it names, or unset DOCKER_HOST to use "
                "the local one.")
    else:
        hint = _start_hint()
    return f"No Docker engine answers at {where} ({detail}).", hint


#: The message and hint for each kind :func:`failure_kind` returns.
_EXPLAIN = {"no-socket": _explain_no_socket, "permission": _explain_permission,
            "not-answering": _explain_not_answering, "remote-down": _explain_remote_down,
            "tls": _explain_tls, "ssh": _explain_ssh, "api-version": _explain_api_version}


def failure_kind(url: str | None, cause: BaseException | str) -> str:
    """Classify why connecting to ``url`` failed, for :func:`unavailable`.

    Looks through the whole chain of the SDK's error (DockerException, requests, urllib3,
    down to the OS error), or at the words of a plain string.

    Returns:
        ``no-socket``, ``permission``, ``not-answering`` (a local socket nothing serves),
        ``remote-down`` (a TCP engine refused, timed out or not found), ``tls``, ``ssh``,
        ``api-version``, or ``unknown``.
    """
    chain = _chain(cause) if isinstance(cause, BaseException) else []
    text = " ".join(str(error) for error in chain) if chain else str(cause)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(error, types) for error in chain)

    scheme = urlparse(url).scheme if url else "unix"
    if has(InvalidVersion) or _API_VERSION_WORDS.search(text):
        return "api-version"
    if scheme == "ssh" or "paramiko" in text.lower():
        return "ssh"
    if has(ssl.SSLError, requests.exceptions.SSLError, TLSParameterError) or (
            not chain and _TLS_WORDS.search(text)):
        return "tls"
    refused = has(ConnectionRefusedError) or "connection refused" in text.lower()
    timed_out = _timed_out(chain) or "timed out" in text.lower()
    if scheme in ("unix", "http+unix", "npipe"):
        if has(FileNotFoundError) or "no such file" in text.lower():
            return "no-socket"
        if has(PermissionError) or "permission denied" in text.lower():
            return "permission"
        if refused or timed_out or has(ConnectionError):
            return "not-answering"
        return "unknown"
    if refused or timed_out or has(socket.gaierror):
        return "remote-down"
    if has(requests.exceptions.HTTPError):  # it answered, with an error: not "down"
        return "unknown"
    if has(requests.exceptions.ConnectionError, OSError):
        return "remote-down"
    return "unknown"


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and every error inside it (args, causes, contexts, urllib3 reasons)."""
    seen: set[int] = set()
    found = []
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__,
                       getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)
    return found


def _timed_out(chain: list[BaseException]) -> bool:
    """Whether a timeout is in the chain (urllib3's NewConnectionError only looks like one)."""
    return any(isinstance(error, (requests.exceptions.Timeout, TimeoutError))
               or (isinstance(error, urllib3.exceptions.TimeoutError)
                   and not isinstance(error, urllib3.exceptions.NewConnectionError))
               for error in chain)


def _detail(kind: str, url: str | None, cause: BaseException | str, timeout: float) -> str:
    """The short "why" quoted in the message of a ``kind`` failure."""
    chain = _chain(cause) if isinstance(cause, BaseException) else []
    text = str(cause)
    if kind == "api-version":
        for error in chain:
            if isinstance(error, InvalidVersion) or _API_VERSION_WORDS.search(str(error)):
                text = getattr(error, "explanation", None) or str(error)
        return text.splitlines()[0] if text else "API version refused"
    if kind == "ssh" and "paramiko" in " ".join(map(str, chain)) + text:
        return "paramiko (the SDK's SSH transport) is not installed"
    if kind == "tls" and any(isinstance(error, TLSParameterError) for error in chain):
        return _cert_problem()
    lowered = (" ".join(map(str, chain)) if chain else text).lower()
    if any(isinstance(error, ConnectionRefusedError) for error in chain) or (
            "connection refused" in lowered):
        return ("connection refused" if kind == "remote-down"
                else "nothing accepts connections (connection refused)")
    if any(isinstance(error, socket.gaierror) for error in chain):
        return f"host name {urlparse(url or '').hostname or '?'} not found"
    if _timed_out(chain) or "timed out" in lowered:
        return (f"no answer within {timeout:g} s" if kind == "remote-down"
                else f"nothing answered within {timeout:g} s")
    reason = root_reason(cause) if isinstance(cause, BaseException) else text
    # drop OpenSSL's "[SSL: CODE]" prefix and "(_ssl.c:1000)" suffix
    return re.sub(r"^\[SSL: \w+\]\s*|\s*\(_ssl\.c:\d+\)$", "", reason.splitlines()[0]
                  if reason else type(cause).__name__)


def _clip(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` cut to at most ``limit`` characters on a word boundary, with an ellipsis."""
    text = text.strip().rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return f"{cut}…"


def _socket_path(url: str | None) -> str | None:
    """The file of a unix socket URL (None: the default socket's), or None for other URLs."""
    if not url:
        return DEFAULT_SOCKET
    for prefix in ("unix://", "http+unix://"):
        if url.startswith(prefix):
            return url[len(prefix):] or DEFAULT_SOCKET
    return None


def _socket_owner(path: str) -> str:
    """``srw-rw---- root:docker`` for ``path``, or "" when it cannot be looked at."""
    try:
        info = os.stat(path)
    except OSError:
        return ""
    return f"{stat.filemode(info.st_mode)} {_user_name(info.st_uid)}:{_group_name(info.st_gid)}"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _permission_hint(path: str) -> str:
    """The fix for a socket this user may not open, given the group that owns it."""
    rootless = f"rootless Docker, or Podman's user socket (DOCKER_HOST={PODMAN_SOCKET})"
    try:
        gid = os.stat(path).st_gid
    except OSError:
        gid = None
    group = "docker" if gid is None else _group_name(gid)
    if gid == 0:
        return (f"Only root may use this socket: use {rootless}, or have an administrator "
                "create the docker group (`sudo groupadd docker`) and restart the engine.")
    try:
        members = grp.getgrgid(gid).gr_mem if gid is not None else []
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        members, user = [], ""
    if user in members and gid not in os.getgroups():
        return (f"You joined group {group} after this session started: log out and in "
                f"(or run `newgrp {group}`), then restart the kernel or the command.")
    return (f"Join the socket's group: `sudo usermod -aG {group} $USER`, then log out and in "
            f"(or `newgrp {group}`); or use {rootless}.")


def _start_hint() -> str:
    """How to start a local engine (Docker Desktop, the Linux service, or Podman)."""
    hint = ("Start Docker (Docker Desktop, or `sudo systemctl start docker`), or Podman: "
            f"`systemctl --user start podman.socket` and DOCKER_HOST={PODMAN_SOCKET}.")
    if os.environ.get("DOCKER_HOST"):
        hint += " Or unset DOCKER_HOST to use the default socket."
    return hint


def _named_by() -> str:
    return "DOCKER_HOST" if os.environ.get("DOCKER_HOST") else "the current docker context"


def _use_local() -> str:
    return ("unset DOCKER_HOST" if os.environ.get("DOCKER_HOST")
            else "run `docker context use default`")


def _cert_problem() -> str:
    """Which TLS files are missing from DOCKER_CERT_PATH (the SDK only says "some")."""
    folder = os.environ.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"),
                                                                ".docker")
    missing = [name for name in ("ca.pem", "cert.pem", "key.pem")
               if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        return f"{', '.join(missing)} missing from {folder} (DOCKER_CERT_PATH)"
    return f"the certificates in {folder} (DOCKER_CERT_PATH) were not accepted"


def root_reason(error: BaseException) -> str:
    """The innermost OS-level reason inside a requests/urllib3 error, for one short line.

    ``ConnectionError(ProtocolError('Connection aborted.', FileNotFoundError(2, ...)))``
    becomes ``No such file or directory``; without one, the error's first line.
    """
    for current in _chain(error):
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


# --------------------------------------------------------------------------------------------
# A FROM image the engine cannot get: no registry answers, or it has no such image
# --------------------------------------------------------------------------------------------
#: Images this kit can give an engine without a registry (scripts/base-images.sh builds
#: offline stand-ins of them); ``scratch`` needs nothing.
OFFLINE_BASES = ("golang:1.22", "gcr.io/distroless/static-debian12:nonroot",
                 "gcr.io/distroless/static-debian12")
#: What sets up those images (``make base-images`` runs it).
BASE_IMAGES_SCRIPT = "scripts/base-images.sh ensure"

# How each engine names the image it failed to get (measured on Docker 20.10 classic and
# BuildKit, Docker 26 classic and BuildKit, Podman 4.3; see tests/unit/engine/test_failures.py).
_IMAGE_IN_MESSAGE = (
    re.compile(r"initializing source docker://(?P<image>[^\s:]+(?::[^\s:@]+)?(?:@\S+)?):"),
    re.compile(r'failed to resolve reference "(?P<image>[^"]+)"'),
    re.compile(r"failed to resolve source metadata for (?P<image>\S+?):? "),
    re.compile(r"load metadata for (?P<image>\S+?):?$", re.MULTILINE),
    re.compile(r"pull access denied for (?P<image>[^\s,]+)"),
    re.compile(r"manifest for (?P<image>\S+) not found"),
    re.compile(r"(?:reading manifest|manifest) (?P<tag>\S+) in (?P<repo>\S+?):? "),
)
_MANIFEST_URL = re.compile(
    r"https://(?P<host>[^/\s\"]+)/v2/(?P<repo>\S+?)/manifests/(?P<tag>[^\s\"]+)")
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)", re.IGNORECASE)

# The registry did not answer: DNS, routing, refused, timed out, TLS in the way.
_OFFLINE_WORDS = re.compile(
    r"no such host|server misbehaving|network is unreachable|connection refused"
    r"|i/o timeout|TLS handshake timeout|dial tcp|Client\.Timeout|no route to host"
    r"|pinging container registry|temporary failure in name resolution", re.IGNORECASE)
# The registry answered: no such repository or tag, or it wants credentials.
_MISSING_WORDS = re.compile(
    r"pull access denied|manifest unknown|not found: manifest|repository does not exist"
    r"|requested access to the resource is denied|name unknown|unauthorized"
    r"|manifest for \S+ not found", re.IGNORECASE)
# The error is about getting an image at all (not a RUN step that happened to curl).
_PULL_CONTEXT = re.compile(
    r"/v2/|docker://|resolve reference|resolve source metadata|load metadata for"
    r"|pull access denied|manifest unknown|pinging container registry|not found: manifest"
    r"|manifest for \S+ not found|reading manifest", re.IGNORECASE)


@dataclass(frozen=True)
class BaseImageFailure:
    """A build that stopped because a FROM image could not be obtained.

    Attributes:
        image: The image as the learner would write it (``alpine:3.19``), or "" when the
            engine's words do not name it.
        kind: ``offline`` (no registry answered) or ``missing`` (a registry answered that it
            has no such image, or wants a login).
        reason: The engine's own short reason (``registry-1.docker.io: no such host``).
        message: One line for the learner: what happened.
        hint: One line: what to do (the images that work offline, and how to get them).
    """

    image: str
    kind: str
    reason: str
    message: str
    hint: str


def base_image_failure(message: str, instruction: str = "") -> BaseImageFailure | None:
    """Whether a build error says a FROM image could not be pulled, and what to tell the learner.

    Reads the engine's error in each form measured here: Docker 20.10's classic builder
    (``Get "https://registry-1.docker.io/v2/": dial tcp: lookup … no such host``, the image
    named only by the step's ``FROM``), BuildKit (``failed to solve with frontend
    dockerfile.v0: failed to create LLB definition: failed to do request: Head
    "https://…/v2/library/alpine/manifests/3.19": …``; Docker 26: ``alpine:3.19: failed to
    resolve source metadata for docker.io/library/alpine:3.19: …``), Docker 26's classic
    builder (``failed to resolve reference "docker.io/library/alpine:3.19": …``) and Podman
    (``creating build container: initializing source docker://alpine:3.19: pinging container
    registry registry-1.docker.io: …``), plus a registry's "no such image" answers (``pull
    access denied for …``, ``manifest unknown``).

    Args:
        message: The engine's error message (any of its lines).
        instruction: The failing step's instruction when known (``FROM alpine:3.19 AS x``).

    Returns:
        The failure, or None when the error is about something else (a RUN step, a COPY).
    """
    from_step = _FROM.match(instruction or "")
    if not message or not (_PULL_CONTEXT.search(message) or from_step):
        return None
    if _MISSING_WORDS.search(message):
        kind = "missing"
    elif _OFFLINE_WORDS.search(message):
        kind = "offline"
    else:
        return None
    image = short_image_name(from_step["image"] if from_step else _image_named(message))
    reason = _pull_reason(message, kind)
    return BaseImageFailure(image, kind, reason, *_explain_base_image(image, kind, reason))


def short_image_name(ref: str) -> str:
    """``ref`` as a learner writes it: ``docker.io/library/alpine:3.19`` -> ``alpine:3.19``,
    ``docker.io/bitnami/x:1`` -> ``bitnami/x:1``; other registries stay as they are."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "registry-1.docker.io/"
                   "library/", "docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if ref.lower().startswith(prefix):
            return ref[len(prefix):]
    return ref


def _image_named(message: str) -> str:
    """The image an engine's pull error names ("" when it names none)."""
    for pattern in _IMAGE_IN_MESSAGE:
        if (found := pattern.search(message)):
            groups = found.groupdict()
            if groups.get("image"):
                return groups["image"].rstrip(":,")
            return f"{groups['repo']}:{groups['tag']}"
    if (url := _MANIFEST_URL.search(message)):
        host = url["host"]
        host = "docker.io" if host in ("registry-1.docker.io", "index.docker.io") else host
        separator = "@" if url["tag"].startswith("sha256:") else ":"
        return f"{host}/{url['repo']}{separator}{url['tag']}"
    return ""


def _pull_reason(message: str, kind: str) -> str:
    """The engine's reason in a few words: ``registry-1.docker.io: no such host``."""
    if kind == "missing":
        found = _MISSING_WORDS.search(message)
        return found[0].lower() if found else "not found"
    lookup = re.search(r"lookup (\S+?)(?: on \S+)?: (no such host|server misbehaving|"
                       r"temporary failure in name resolution)", message, re.IGNORECASE)
    if lookup:
        return f"{lookup[1]}: {lookup[2]}"
    dial = re.search(r"dial tcp ([^\s:]+|\[[^\]]+\])(?::\d+)?: (?:connect: )?([^\"\n]+)",
                     message)
    if dial:
        return _clip(f"{dial[1]}: {dial[2]}", 80)
    found = _OFFLINE_WORDS.search(message)
    return found[0] if found else "no registry answered"


def _explain_base_image(image: str, kind: str, reason: str) -> tuple[str, str]:
    named = f"The base image {image}" if image else "A FROM image"
    if kind == "offline":
        message = (f"{named} is not on this engine, and no registry answers to pull it "
                   f"({reason}).")
    else:
        message = (f"{named} is not on this engine, and the registry has no such image "
                   f"({reason}): check its name and tag.")
    repo = image.split("@")[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image
    builder, runtime = OFFLINE_BASES[0], OFFLINE_BASES[1]
    get_them = f"`{BASE_IMAGES_SCRIPT}` (`make base-images`) builds them offline"
    if image in OFFLINE_BASES or repo == OFFLINE_BASES[2]:
        hint = (f"This kit provides {image} without a registry: run `{BASE_IMAGES_SCRIPT}` "
                "(`make base-images`), then build again.")
    elif repo == "golang":
        hint = (f"Without a registry this kit provides {builder}: use `FROM {builder}` for "
                f"the builder; {get_them.replace('them', 'it')} if it is missing.")
    elif repo.startswith("gcr.io/distroless/"):
        hint = (f"Without a registry this kit provides {runtime} (and its :latest), all a "
                f"static Go binary needs: `FROM {runtime}`, or `FROM scratch`; "
                f"{get_them.replace('them', 'it')} if it is missing.")
    else:
        hint = (f"Use a base image this engine has without a registry: `FROM scratch` "
                f"(nothing to pull) or `FROM {runtime}` for the final stage, `FROM {builder}` "
                f"for the builder; {get_them}.")
    return message, hint
