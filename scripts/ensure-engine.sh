#!/usr/bin/env bash
# Make sure a Docker engine answers, installing and starting one only where that is safe.
#
# - An engine already answers (local socket, Docker Desktop, Podman's socket or DOCKER_HOST):
#   nothing to do.
# - None answers, DOCKER_HOST is unset, we are root on Debian/Ubuntu: install the distribution's
#   docker.io (if dockerd is missing) and start dockerd in the background, saying so.
# - Otherwise: explain what to install or start, and exit 1.
set -euo pipefail

log() { printf '[engine] %s\n' "$*" >&2; }
# Debian's client (20.10) builds with BuildKit; the docker first on PATH may be a newer client
# without buildx. Either is fine for `docker version`.
DOCKER=$(command -v /usr/bin/docker || command -v docker || true)

engine_answers() {
  [ -n "$DOCKER" ] && timeout 5 "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if engine_answers; then
  log "engine answers: $("$DOCKER" version --format 'Docker Engine {{.Server.Version}}' 2>/dev/null)"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  log "no engine answers at DOCKER_HOST=$DOCKER_HOST."
  log "Start that engine, or unset DOCKER_HOST to use the local one."
  exit 1
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "no Docker engine answers and I can only install one as root on Debian/Ubuntu."
  log "Install Docker Desktop, Docker Engine (https://docs.docker.com/engine/install/) or Podman"
  log "with its Docker-compatible socket, start it, then run this again."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing the distribution's docker.io (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

log "starting dockerd in the background (log: /var/log/dockerd-kit.log)..."
nohup dockerd >/var/log/dockerd-kit.log 2>&1 &
for _ in $(seq 1 60); do
  if engine_answers; then
    log "engine answers: $("$DOCKER" version --format 'Docker Engine {{.Server.Version}}')"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; last lines of its log:"
tail -n 20 /var/log/dockerd-kit.log >&2 || true
exit 1
