#!/usr/bin/env bash
# Open the course in JupyterLab (`make lab`).
#
# JupyterLab refuses to start as root unless told --allow-root; root is common on cloud VMs,
# in containers and on these machines, so the flag is added (and said) when the user id is 0.
# LAB_ARGS passes anything else to JupyterLab, e.g. LAB_ARGS="--ip=0.0.0.0 --port=8888" to
# open it from another machine. JupyterLab prints the URL (with its token) once it serves.
set -euo pipefail

JUPYTER=${JUPYTER:-jupyter}
args=(lab notebooks/)
if [ "$(id -u)" = 0 ]; then
  echo "[lab] running as root: starting JupyterLab with --allow-root" >&2
  args+=(--allow-root)
fi
read -ra extra <<< "${LAB_ARGS:-}"
echo "[lab] open the URL JupyterLab prints below (Ctrl-C twice to stop)" >&2
exec "$JUPYTER" "${args[@]}" "${extra[@]}"
