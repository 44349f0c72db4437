#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser/).
#
# Playwright (from PyPI) drives this system browser through `executable_path`; the kit never
# downloads a browser. Set KIT_CHROMIUM to use another Chromium binary.
set -euo pipefail

log() { printf '[browser] %s\n' "$*" >&2; }
CHROMIUM=${KIT_CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
  log "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "no Chromium at $CHROMIUM, and I can only install one as root on Debian/Ubuntu."
  log "Install chromium with your package manager, or set KIT_CHROMIUM to its path."
  exit 1
fi

log "installing the distribution's chromium (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
log "chromium installed: $("$CHROMIUM" --version)"
