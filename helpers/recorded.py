"""Recorded real runs, for machines where no Docker engine answers (Binder, a laptop without
Docker): the notebooks still teach, from results measured on a real engine, labelled as such.

``python -m helpers record`` builds, measures, runs and checks the exercise's images on a real
engine and stores everything the notebooks show — build steps and logs, sizes, history, the
file-level breakdown, the /health answer, check reports — in ``recordings/recording.json.gz``
with the engine version, the date, the image ids, and a digest of the exercise files it
describes. Nothing is made up: without a recording the engine-less notebooks say so.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import docker
import pandas as pd

from . import __version__
from .build import BuildEvent, BuildResult, EventHandler, StepResult, build_image
from .config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR, image_tag
from .engine.containers import HealthReport, check_health
from .errors import KitError, RunError
from .grading.checks import run_checks
from .image import (
    ImageBreakdown,
    ImageSummary,
    file_breakdown,
    history_frame,
    summarize,
)

RECORDING_PATH = REPO_ROOT / "recordings" / "recording.json.gz"
#: What is recorded: key -> (Dockerfile, build backend).
TARGETS = {
    "original": (EXERCISE_DIR / "Dockerfile", "classic"),
    "starter": (EXERCISE_DIR / "Dockerfile.multistage", "classic"),
    "reference": (SOLUTIONS_DIR / "Dockerfile.multistage", "classic"),
    "cache-mounts": (SOLUTIONS_DIR / "Dockerfile.cache-mounts", "auto"),
}
#: Images whose check report is recorded too.
CHECKED = ("starter", "reference")
BANNER = ("No Docker engine answers here, so these results come from a real run "
          "of the kit on {engine}, recorded {date}. Builds, runs and image checks are replayed, "
          "not measured now; static checks of your Dockerfile still run for real.")


def exercise_files() -> list[Path]:
    """The files a recording describes: the exercise and its solutions (docs excluded)."""
    files = [p for p in sorted((REPO_ROOT / "exercises").rglob("*"))
             if p.is_file() and p.suffix != ".md" and "__pycache__" not in p.parts]
    return files


def exercise_digest() -> str:
    """sha256 over the relative paths and contents of :func:`exercise_files`."""
    digest = hashlib.sha256()
    for path in exercise_files():
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def key_for(dockerfile: str | Path, context: str | Path = EXERCISE_DIR) -> str | None:
    """The recording key of a Dockerfile (as the notebooks name it), or None."""
    path = Path(dockerfile)
    if not path.is_absolute():
        path = Path(context) / path
    for key, (target, _backend) in TARGETS.items():
        if path.resolve() == target.resolve():
            return key
    return None


# --------------------------------------------------------------------------------------------
# Recording on a real engine
# --------------------------------------------------------------------------------------------
def _frame(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def record_image(client: docker.DockerClient, key: str,
                 progress: Callable[[str], EventHandler | None]) -> dict:
    """Build, measure and run one target; everything the notebooks show, as JSON data."""
    dockerfile, backend = TARGETS[key]
    tag = image_tag(f"exercise2-record-{key}")
    # nocache: the replayed build shows what a first build really costs, step by step.
    built = build_image(client, EXERCISE_DIR, tag, dockerfile, on_event=progress(key),
                        backend=backend, nocache=True)
    summary = summarize(client, tag)
    breakdown = file_breakdown(client, tag)
    try:
        health = check_health(client, tag)
        health_data = {"status_code": health.status_code, "body": health.body,
                       "elapsed_s": health.elapsed_s}
    except RunError as exc:
        health_data = {"error": exc.message, "hint": exc.hint, "logs": exc.logs[-4000:]}
    data = {
        "dockerfile": str(dockerfile.relative_to(REPO_ROOT)),
        "dockerfile_sha256": file_digest(dockerfile),
        "image_id": summary.image_id, "size_bytes": summary.size_bytes,
        "layers": summary.layers,
        "build": {"steps": [asdict(step) for step in built.steps], "log": built.log,
                  "duration_s": built.duration_s, "backend": built.backend},
        "history": _frame(history_frame(client, tag)),
        "breakdown": {"layers": _frame(breakdown.layers), "files": _frame(breakdown.files),
                      "total_bytes": breakdown.total_bytes,
                      "final_bytes": breakdown.final_bytes,
                      "wasted_bytes": breakdown.wasted_bytes,
                      "efficiency": breakdown.efficiency},
        "health": health_data,
    }
    if key in CHECKED:
        data["checks"] = run_checks(client, EXERCISE_DIR, dockerfile,
                                    tag=image_tag(f"exercise2-record-{key}-check"),
                                    backend=backend).to_json()
    for name in (tag, image_tag(f"exercise2-record-{key}-check")):
        try:
            client.images.remove(name, noprune=False)
        except docker.errors.APIError:
            pass
    return data


def record(client: docker.DockerClient,
           progress: Callable[[str], EventHandler | None] = lambda key: None) -> dict:
    """A whole recording: every target of :data:`TARGETS`, with the run's metadata."""
    version = client.version()
    info = client.info()
    images = {key: record_image(client, key, progress) for key in TARGETS}
    return {
        "meta": {
            "engine": f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')}, "
                      f"{version.get('Os')}/{version.get('Arch')}, {info.get('Driver')})",
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kit_version": __version__,
            "exercise_digest": exercise_digest(),
            "image_ids": {key: image["image_id"] for key, image in images.items()},
        },
        "images": images,
    }


def save(recording: dict, path: Path = RECORDING_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No name and mtime=0 in the gzip header: the same recording always gives the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                 mtime=0) as out:
        out.write(json.dumps(recording, indent=1, sort_keys=True).encode())
    return path


# --------------------------------------------------------------------------------------------
# Replaying
# --------------------------------------------------------------------------------------------
@dataclass
class Recording:
    """A loaded recording: results rebuilt as the kit's own types, marked ``recorded``."""

    data: dict

    @property
    def meta(self) -> dict:
        return self.data["meta"]

    def banner(self) -> str:
        return BANNER.format(engine=self.meta["engine"], date=self.meta["date"])

    def is_current(self) -> bool:
        """Whether the exercise files are those the recording describes."""
        return self.meta["exercise_digest"] == exercise_digest()

    def image(self, key: str) -> dict:
        if key not in self.data["images"]:
            raise KitError(f"The recording has no run of {key!r}.",
                           "Re-record with `python -m helpers record` on a machine with Docker.")
        return self.data["images"][key]

    def build_result(self, key: str, tag: str) -> BuildResult:
        build = self.image(key)["build"]
        steps = [StepResult(**step) for step in build["steps"]]
        return BuildResult(tag, self.image(key)["image_id"], steps, build["log"],
                           build["duration_s"], build["backend"], recorded=True)

    def replay_build(self, key: str, tag: str, on_event: EventHandler | None) -> BuildResult:
        """Send the recorded build's events to ``on_event`` (at once), return its result."""
        result = self.build_result(key, tag)
        if on_event is not None:
            total = len(result.steps)
            for step in result.steps:
                on_event(BuildEvent("step", step.started_s, step=step.number, total=total,
                                    instruction=step.instruction))
                on_event(BuildEvent("step-done", step.started_s + step.duration_s,
                                    step=step.number, total=total,
                                    instruction=step.instruction, result=step))
            on_event(BuildEvent("done", result.duration_s, total=total, result=result))
        return result

    def summary(self, key: str, tag: str) -> ImageSummary:
        image = self.image(key)
        return ImageSummary(tag, image["image_id"], image["size_bytes"], image["layers"],
                            recorded=True)

    def history(self, key: str) -> pd.DataFrame:
        return pd.DataFrame(self.image(key)["history"])

    def breakdown(self, key: str, tag: str) -> ImageBreakdown:
        data = self.image(key)["breakdown"]
        return ImageBreakdown(tag, pd.DataFrame(data["layers"]), pd.DataFrame(data["files"]),
                              data["total_bytes"], data["final_bytes"], data["wasted_bytes"],
                              data["efficiency"], recorded=True)

    def health(self, key: str) -> HealthReport:
        data = self.image(key)["health"]
        if "error" in data:
            raise RunError(data["error"], logs=data.get("logs", ""), hint=data.get("hint", ""))
        return HealthReport(data["status_code"], data["body"], data["elapsed_s"], recorded=True)


def load(path: Path = RECORDING_PATH) -> Recording | None:
    """The stored recording, or None if there is none."""
    if not path.is_file():
        return None
    with gzip.open(path, "rb") as stream:
        return Recording(json.loads(stream.read()))
