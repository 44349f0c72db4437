"""Remove what the kit created on the engine: containers first, then images.

Only objects carrying the kit's label are touched, and by default only those of the current
namespace (``KIT_NAMESPACE``), so one learner's reset never removes another's work. Base
images (golang:1.22 and its stand-in) are never removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import docker
from docker.errors import APIError, NotFound

from ..config import MANAGED_LABEL, NAMESPACE_LABEL, namespace


@dataclass
class ResetReport:
    """Names of what was removed, and what could not be."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


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
    """Remove the kit's containers and (unless ``images`` is False) its images."""
    report = ResetReport()
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
