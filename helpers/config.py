"""Names and paths shared by the whole kit: labels, tags, where the exercise lives.

Every container and image the kit creates carries :data:`MANAGED_LABEL`, so tests and
``python -m helpers reset`` can find exactly what the kit made and nothing else. Tags and
container names get the per-learner namespace from ``KIT_NAMESPACE`` (classrooms sharing one
engine); unset, they are the plain tags of the exercise brief.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

#: Label put on every container and image the kit creates.
MANAGED_LABEL = "com.multistage-kit.managed"
#: Label holding the namespace (learner) that made the object.
NAMESPACE_LABEL = "com.multistage-kit.namespace"
#: Label the offline golang stand-in base image carries (see scripts/base-images.sh).
STAND_IN_LABEL = "com.multistage-kit.stand-in"

#: Tags from the exercise brief.
ORIGINAL_TAG = "exercise2-original"
OPTIMIZED_TAG = "exercise2-optimized"

#: The brief's size limit for the final image, in bytes (MB = 10**6 bytes throughout the kit).
SIZE_LIMIT_BYTES = 15 * 10**6
MB = 10**6

#: Root of the repository (the package is installed editable from it).
REPO_ROOT = Path(os.environ.get("MULTISTAGE_KIT_ROOT", Path(__file__).resolve().parent.parent))
EXERCISE_DIR = REPO_ROOT / "exercises" / "multistage-go"
SOLUTIONS_DIR = REPO_ROOT / "exercises" / "solutions"
OUT_DIR = REPO_ROOT / "out"


def namespace() -> str:
    """The current learner's namespace from ``KIT_NAMESPACE``, made safe for Docker names."""
    raw = os.environ.get("KIT_NAMESPACE", "").strip().lower()
    return re.sub(r"[^a-z0-9_.-]+", "-", raw).strip("-.")


def namespace_or_default() -> str:
    """The namespace as folders and records under ``out/`` name it: ``default`` when none."""
    return namespace() or "default"


def image_tag(name: str) -> str:
    """``name`` prefixed with the namespace (``alice-exercise2-original``), or ``name`` alone."""
    ns = namespace()
    return f"{ns}-{name}" if ns else name


def kit_labels(**extra: str) -> dict[str, str]:
    """Labels for anything the kit creates: managed marker, namespace, plus ``extra``."""
    return {MANAGED_LABEL: "true", NAMESPACE_LABEL: namespace(), **extra}


#: Go's GOARCH names for what ``platform.machine()`` (or an engine's ``Arch``) reports.
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def goarch(machine: str | None = None) -> str:
    """``machine`` (default: this one's) in Go's names, as image platforms use them."""
    name = (platform.machine() if machine is None else machine).lower()
    return _GOARCH.get(name, name)
