"""The walking-skeleton job behind ``python -m helpers demo``.

Builds the exercise's original single-stage image and the reference multi-stage image (tags
``exercise2-original`` and ``exercise2-optimized``, as in the brief), runs each one and calls
``/health``, then reports sizes, layers, health, CA roots and the reduction factor as a table,
a chart and JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import docker
import pandas as pd

from .build import BuildResult, EventHandler, build_image
from .config import (
    EXERCISE_DIR,
    MB,
    OPTIMIZED_TAG,
    ORIGINAL_TAG,
    OUT_DIR,
    SOLUTIONS_DIR,
    image_tag,
)
from .engine.containers import check_health
from .errors import RunError
from .image import summarize
from .ui import charts


@dataclass
class DemoTarget:
    """One image the demo builds."""

    tag: str
    dockerfile: Path
    context: Path = EXERCISE_DIR


@dataclass
class DemoImage:
    """Figures measured for one image."""

    size_bytes: int
    layers: int
    healthy: bool
    ca_roots: int | None
    build_s: float
    error: str = ""
    engine_size_bytes: int | None = None  # what `docker images` shows on this engine


def default_targets() -> list[DemoTarget]:
    """The brief's two images: the single-stage original and the reference solution."""
    return [DemoTarget(image_tag(ORIGINAL_TAG), EXERCISE_DIR / "Dockerfile"),
            DemoTarget(image_tag(OPTIMIZED_TAG), SOLUTIONS_DIR / "Dockerfile.multistage")]


def run_demo(client: docker.DockerClient, targets: list[DemoTarget] | None = None,
             progress: Callable[[str], EventHandler | None] = lambda tag: None,
             ) -> dict[str, DemoImage]:
    """Build, measure, run and health-check every target.

    Args:
        client: A connected client.
        targets: What to build (default: :func:`default_targets`).
        progress: Makes the ``on_event`` handler for a tag (terminal printer, widget).

    Returns:
        Tag -> DemoImage, in build order.

    Raises:
        BuildError: A build failed (the demo cannot go on without the image).
    """
    results: dict[str, DemoImage] = {}
    for target in targets or default_targets():
        built: BuildResult = build_image(client, target.context, target.tag, target.dockerfile,
                                         on_event=progress(target.tag))
        summary = summarize(client, target.tag)
        try:
            health = check_health(client, target.tag)
            healthy, roots, error = health.healthy, health.ca_roots, ""
        except RunError as exc:
            healthy, roots, error = False, None, exc.message
        results[target.tag] = DemoImage(summary.size_bytes, summary.layers, healthy, roots,
                                        built.duration_s, error, summary.engine_size_bytes)
    return results


def reduction_factor(results: dict[str, DemoImage]) -> float | None:
    """Size of the first (original) image divided by the size of the last (optimized)."""
    sizes = [image.size_bytes for image in results.values()]
    return sizes[0] / sizes[-1] if len(sizes) >= 2 and sizes[-1] else None


def results_table(results: dict[str, DemoImage]) -> pd.DataFrame:
    """The demo table: image, size (MB), the engine's own figure, layers, health, CA roots,
    reduction factor. ``size (MB)`` is the layers' uncompressed bytes, the same on every
    engine; ``docker images (MB)`` is what this engine reports (more on a containerd store)."""
    first = next(iter(results.values())).size_bytes if results else 0
    rows = [{"image": tag, "size (MB)": round(image.size_bytes / MB, 2),
             "docker images (MB)": (round(image.engine_size_bytes / MB, 2)
                                    if image.engine_size_bytes is not None else "-"),
             "layers": image.layers, "/health": "200 OK" if image.healthy else "FAILED",
             "CA roots": image.ca_roots if image.ca_roots is not None else "-",
             "reduction": f"{first / image.size_bytes:.0f}x" if image.size_bytes else "-"}
            for tag, image in results.items()]
    return pd.DataFrame(rows)


def results_json(results: dict[str, DemoImage]) -> dict:
    """The figures as JSON: ``{"images": {tag: {...}}, "reduction_factor": float}``."""
    images = {tag: {key: value for key, value in asdict(image).items()
                    if key in ("size_bytes", "engine_size_bytes", "layers", "healthy",
                               "ca_roots")}
              for tag, image in results.items()}
    factor = reduction_factor(results)
    return {"images": images,
            "reduction_factor": round(factor, 1) if factor else None}


def save_size_chart(results: dict[str, DemoImage], out_dir: Path = OUT_DIR) -> Path:
    """Write the size-comparison chart as ``out/size-comparison.png``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = charts.size_comparison({tag: image.size_bytes for tag, image in results.items()})
    path = out_dir / "size-comparison.png"
    fig.savefig(path, dpi=120)
    return path
