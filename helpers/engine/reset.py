"""Remove what the kit created on the engine: containers first, then images, then its facts.

Only objects carrying the kit's label are touched, and by default only those of the current
namespace (``KIT_NAMESPACE``), so one learner's reset never removes another's work. Base
images (golang:1.22 and its stand-in) are never removed. The facts the checks measured and
keep for reuse (:mod:`helpers.grading.factcache`, under ``out/factcache/<namespace>/``) go
too: after a reset every fact is measured again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError, NotFound

from ..config import MANAGED_LABEL, NAMESPACE_LABEL, OUT_DIR, namespace, namespace_or_default

#: Where the checks keep the facts they measured, one folder per namespace.
FACT_CACHE_DIR = OUT_DIR / "factcache"


@dataclass
class ResetReport:
    """Names of what was removed, and what could not be."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # folders of kept facts removed


def fact_cache_dir(name: str | None = None) -> Path:
    """The folder of kept facts of namespace ``name`` (default: the current one)."""
    return FACT_CACHE_DIR / (namespace_or_default() if name is None else name or "default")


def clear_fact_cache(all_namespaces: bool = False) -> list[str]:
    """Delete this namespace's kept facts (every namespace's with ``all_namespaces``).

    Needs no engine. Returns the folders removed.
    """
    target = FACT_CACHE_DIR if all_namespaces else fact_cache_dir()
    if not target.exists():
        return []
    shutil.rmtree(target, ignore_errors=True)
    return [str(target)]


def kit_filters(all_namespaces: bool = False) -> dict:
    """Label filters for the kit's objects (this namespace only unless ``all_namespaces``)."""
    labels = [f"{MANAGED_LABEL}=true"]
    if not all_namespaces:
        labels.append(f"{NAMESPACE_LABEL}={namespace()}")
    return {"label": labels}


def kit_containers(client: docker.DockerClient, all_namespaces: bool = False) -> list:
    """Every container (running or not) the kit made."""
    return client.containers.list(all=True, filters=kit_filters(all_namespaces))


def reset(client: docker.DockerClient, all_namespaces: bool = False,
          images: bool = True) -> ResetReport:
    """Remove the kit's containers, (unless ``images`` is False) its images, and kept facts.

    The kept facts go even with ``images=False``: they describe images, and a reset means
    "measure everything again".
    """
    report = ResetReport(files=clear_fact_cache(all_namespaces))
    for container in kit_containers(client, all_namespaces):
        try:
            container.remove(force=True)
            report.containers.append(container.name)
        except NotFound:
            pass
        except APIError as exc:
            report.failed.append(f"container {container.name}: {exc.explanation}")
    if images:
        for image in client.images.list(filters=kit_filters(all_namespaces)):
            name = image.tags[0] if image.tags else image.short_id
            try:
                client.images.remove(image.id, force=True)
                report.images.append(name)
            except NotFound:
                pass
            except APIError as exc:
                report.failed.append(f"image {name}: {exc.explanation}")
    return report
