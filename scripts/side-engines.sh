#!/usr/bin/env bash
# Side engines for the test suite: the kit must give the same verdicts on every engine, so the
# integration tests also run on two engines beside the main one (tests/side_engines.py starts
# and stops them; nothing here starts a daemon).
#
#   scripts/side-engines.sh install   idempotent; a few seconds the first time, instant after
#   scripts/side-engines.sh status    what is installed, with versions
#
# 1. Docker 26 (containerd image store): Debian trixie's docker.io, containerd and tini, fetched
#    with `apt-get download` through a PRIVATE apt configuration (own source list, lists and
#    cache under .engines/apt) and unpacked with `dpkg-deb -x` into .engines/docker26. Nothing
#    is installed over bookworm's packages: dpkg never hears of them. runc comes from
#    bookworm's `runc` package (installed with docker.io 20.10).
# 2. Podman 4.3 from bookworm (`apt-get install podman`), and `default_ulimits` in
#    /etc/containers/containers.conf: this machine's hard nofile limit is 20000, and without
#    it runc fails "error setting rlimit type 7".
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ENGINES=${KIT_ENGINES_DIR:-$REPO/.engines}
DOCKER26=$ENGINES/docker26
APT_DIR=$ENGINES/apt
SUITE=${SIDE_ENGINE_SUITE:-trixie}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CONTAINERS_CONF=${CONTAINERS_CONF_PATH:-/etc/containers/containers.conf}
# The packages unpacked for Docker 26 (tini: docker-init is a symlink to its tini-static).
PACKAGES=(docker.io containerd tini)

log() { printf '[side-engines] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The URI bookworm's own apt sources use: the deb822 stanza whose Suites has bookworm, else a
# classic sources.list line, else Debian's default mirror.
debian_uri() {
  local uri
  uri=$(awk '
    function flush() { if (uris != "" && suites ~ /(^| )bookworm( |$)/) { print uris; exit } }
    /^[[:space:]]*$/ { flush(); uris = ""; suites = ""; next }
    /^URIs:/   { sub(/^URIs:[[:space:]]*/, ""); split($0, u, " "); uris = u[1] }
    /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
    END { flush() }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && / bookworm / {
      for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# apt-get with the private configuration: only our source list, our lists, our cache.
private_apt() {
  apt-get -q \
    -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
    -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$APT_DIR/lists" \
    -o Dir::Cache="$APT_DIR/cache" \
    -o APT::Sandbox::User=root \
    "$@"
}

docker26_installed() {
  [ -f "$DOCKER26/.installed" ] && [ -x "$DOCKER26/usr/sbin/dockerd" ] \
    && [ -x "$DOCKER26/usr/bin/containerd" ] && [ -x "$DOCKER26/usr/bin/tini-static" ]
}

install_docker26() {
  if docker26_installed; then
    log "Docker 26 present: $(cat "$DOCKER26/.installed")"
    return 0
  fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "Docker 26 needs apt-get and dpkg-deb (Debian/Ubuntu)."
  [ -f "$KEYRING" ] || die "missing $KEYRING (package debian-archive-keyring)."
  command -v runc >/dev/null || die "no runc on PATH: apt-get install runc (bookworm's is fine)."
  local uri debs
  uri=$(debian_uri)
  log "fetching ${PACKAGES[*]} from Debian $SUITE ($uri) with a private apt config..."
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
  printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$uri" "$SUITE" >"$APT_DIR/sources.list"
  private_apt update -qq >"$APT_DIR/update.log" 2>&1 \
    || { tail -n 20 "$APT_DIR/update.log" >&2; die "apt-get update for $SUITE failed"; }
  rm -f "$APT_DIR/debs"/*.deb
  (cd "$APT_DIR/debs" && private_apt download -qq "${PACKAGES[@]}") >"$APT_DIR/download.log" 2>&1 \
    || { tail -n 20 "$APT_DIR/download.log" >&2; die "apt-get download failed"; }
  # Unpack into a fresh folder, then swap it in: a half-unpacked tree is never "installed".
  rm -rf "$DOCKER26.new"
  mkdir -p "$DOCKER26.new"
  for deb in "$APT_DIR/debs"/*.deb; do
    dpkg-deb -x "$deb" "$DOCKER26.new"
  done
  local versions
  versions=$(for deb in "$APT_DIR/debs"/*.deb; do
    dpkg-deb --showformat='${Package}=${Version}\n' -W "$deb"; done | paste -sd' ' -)
  "$DOCKER26.new/usr/sbin/dockerd" --version >/dev/null \
    || die "the unpacked dockerd does not run on this system"
  printf '%s\n' "$versions" >"$DOCKER26.new/.installed"
  rm -rf "$DOCKER26"
  mv "$DOCKER26.new" "$DOCKER26"
  debs=$(du -sh "$APT_DIR/debs" | cut -f1)
  # The unpacked tree is all we need: drop the .debs and trixie's package lists (~75 MB).
  rm -rf "$APT_DIR/debs" "$APT_DIR/cache" "$APT_DIR/lists"
  log "Docker 26 unpacked into $DOCKER26 ($debs of .debs): $versions"
}

install_podman() {
  if ! command -v podman >/dev/null; then
    [ "$(id -u)" = 0 ] || die "podman is missing and I am not root: apt-get install podman"
    log "installing bookworm's podman (apt-get)..."
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq podman >/dev/null 2>&1; then
      apt-get update -qq
      apt-get install -y -qq podman >/dev/null
    fi
  fi
  log "Podman present: $(podman --version)"
}

# [containers] default_ulimits in containers.conf, set in place: other settings stay as they are.
ensure_ulimits() {
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  python3 - "$CONTAINERS_CONF" <<'PY'
import re
import sys
from pathlib import Path

path = Path(sys.argv[1])
wanted = 'default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]'
lines = path.read_text().splitlines() if path.exists() else []
header = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
start = next((i for i, line in enumerate(lines)
              if (m := header.match(line)) and m.group(1).strip() == "containers"), None)
if start is None:
    lines += ([""] if lines else []) + ["[containers]", wanted]
else:
    end = next((i for i in range(start + 1, len(lines)) if header.match(lines[i])), len(lines))
    key = next((i for i in range(start + 1, end)
                if re.match(r"^\s*default_ulimits\s*=", lines[i])), None)
    if key is None:
        lines.insert(start + 1, wanted)
    else:
        # The old value may span lines: up to where its brackets balance.
        last, depth = key, 0
        for last in range(key, end):
            value = lines[last].split("#", 1)[0]
            depth += value.count("[") - value.count("]")
            if depth <= 0:
                break
        if lines[key:last + 1] == [wanted]:
            sys.exit(0)
        lines[key:last + 1] = [wanted]
path.write_text("\n".join(lines) + "\n")
print(f"[side-engines] set [containers] {wanted} in {path}", file=sys.stderr)
PY
}

status() {
  if docker26_installed; then
    log "Docker 26: $(cat "$DOCKER26/.installed") in $DOCKER26"
    log "  $("$DOCKER26/usr/sbin/dockerd" --version); runc: $(runc --version | head -n 1)"
  else
    log "Docker 26: not installed (run: $0 install)"
  fi
  if command -v podman >/dev/null; then
    log "Podman: $(podman --version)"
  else
    log "Podman: not installed"
  fi
}

case "${1:-install}" in
  install)
    [ "$(id -u)" = 0 ] || die "side engines need root (bridges, mounts, apt-get)."
    install_docker26
    install_podman
    ensure_ulimits ;;
  status) status ;;
  *) log "usage: $0 install | status"; exit 2 ;;
esac
