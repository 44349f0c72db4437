"""Evidence for the self-checks without an engine: the learner's image built here, measured.

:func:`gather_engineless` is :func:`~helpers.grading.evidence.gather` for a machine with no
Docker engine (Binder), or when ``check --no-engine`` asks for it. The image is built by
:func:`helpers.build.engineless.build_without_engine` and then measured with the same code an
engine's image goes through: the archive reader and overlay merge (:mod:`helpers.image`),
the ELF and CA readers; ``runs`` starts the entrypoint as a local process with the image's
environment and files (:mod:`helpers.build.engineless.run`); ``dep-cache`` is derived from
Docker's cache rules (:mod:`helpers.build.engineless.depcache`), and says so. The facts carry
``engine_less``, so every result is marked "measured without an engine".

Whatever the engine-less build cannot reproduce (``RUN apk add``, ``FROM alpine``...) stops
it with "needs a Docker engine: <instruction>": every image check then reports ``skip`` with
that reason, never ``pass``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import image
from ..build import BuildResult, StepResult
from ..build.engineless import build as eb
from ..build.engineless.context import BuildContext
from ..build.engineless.depcache import derive_dep_cache
from ..build.engineless.entries import NeedsEngine
from ..build.engineless.final import EnginelessImage
from ..build.engineless.run import NotReplayable, PortBusy, RunSpec, run_locally
from ..config import MB, goarch
from ..engine.containers import HealthReport
from ..errors import BuildError, Interrupted, KitError, RunError
from .evidence import Facts, _measure, read_dockerfile

#: Bytes read from the archive per chunk.
_CHUNK = 1 << 20


def gather_engineless(context: Path, dockerfile: Path, tag: str,
                      on_line: Callable[[str], None] | None = None) -> Facts:
    """Parse, build here, inspect, run locally, derive the cache verdict; never raises."""
    facts = read_dockerfile(context, dockerfile, tag)
    facts.engine_less = True
    ev = facts.evidence
    try:
        built = eb.build_without_engine(context, dockerfile, tag, on_line=on_line,
                                        output=archive_path(tag))
    except NeedsEngine as exc:
        facts.no_engine = exc.message
        return facts
    except BuildError as exc:
        ev.build_error = exc
        return facts
    except Interrupted:
        raise
    except KitError as exc:
        facts.no_engine = exc.message
        return facts
    facts.built = built
    ev.engine_arch = goarch()
    ev.config = image.config_from_inspect({"Config": built.image.config, "Os": "linux",
                                           "Architecture": goarch()})
    breakdown = _measure(facts, "breakdown", breakdown_of_build, built)
    if breakdown is not None:
        facts.size_bytes = breakdown.total_bytes
        ev.files = set(breakdown.files["path"])
        facts.added_files = dict(zip(breakdown.files["path"], breakdown.files["size_bytes"]))
    _inspect_program(facts, built.image)
    _run_locally(facts, built)
    if ev.model is not None:
        facts.dep_cache = _measure(facts, "dep-cache", derive_dep_cache, ev.model,
                                   BuildContext(context))
    return facts


def archive_path(tag: str) -> Path:
    """Where the engine-less archive of ``tag`` is written (``docker load -i`` it)."""
    return eb.engineless_root() / "images" / f"{_safe(tag)}.tar"


def _safe(tag: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in tag)


def breakdown_of_build(built: eb.EnginelessBuild) -> image.ImageBreakdown:
    """The file-level breakdown: from the written archive, through the same reader as an
    engine's export; else (an image on a recorded base) from the manifest + the layers.
    Read once per build (summary, history and the checks all ask for it)."""
    if "breakdown" not in built.measured:
        built.measured["breakdown"] = _read_breakdown(built)
    return built.measured["breakdown"]


def _read_breakdown(built: eb.EnginelessBuild) -> image.ImageBreakdown:
    if built.archive is not None:
        with open(built.archive, "rb") as archive:
            export = image.read_export(iter(lambda: archive.read(_CHUNK), b""))
        return image.breakdown_of(built.tag, export)
    img = built.image
    base = img.base
    per_layer: dict[int, dict[str, int]] = {}
    for path, size, layer in base.file_layers() if base is not None else ():
        per_layer.setdefault(layer, {})[path] = size
    count = len(base.layers) if base is not None else 0
    layers = [per_layer.get(n, {}) for n in range(1, count + 1)] + img.layer_files()
    dirs = [set() for _ in range(count)] + [{e.path for e in layer if e.kind == "dir"}
                                            for layer in img.layers]
    history = [{"created_by": row.get("instruction", "")} for row in base.layers] \
        if base is not None else []
    history += [{"created_by": text} for text in img.created_by]
    export = image.stacked_export(layers, dirs, {"history": history}, "engine-less")
    return image.breakdown_of(built.tag, export)


def summary_of_build(built: eb.EnginelessBuild) -> image.ImageSummary:
    """The headline figures of an engine-less image (the same size as on an engine)."""
    breakdown = breakdown_of_build(built)
    return image.ImageSummary(tag=built.tag, image_id=built.image_id or "(not written)",
                              size_bytes=breakdown.total_bytes,
                              layers=len(breakdown.layers))


def history_of_build(built: eb.EnginelessBuild) -> pd.DataFrame:
    """The image history in :func:`helpers.image.history_frame`'s columns (the base's
    layers from its recorded manifest, then the layers built here)."""
    layers = breakdown_of_build(built).layers
    frame = pd.DataFrame({"instruction": layers["instruction"],
                          "size_bytes": layers["size_bytes"],
                          "size_mb": layers["size_bytes"] / MB,
                          "empty_layer": layers["size_bytes"] == 0})
    frame.insert(0, "step", range(1, len(frame) + 1))
    return frame


def build_result_of(built: eb.EnginelessBuild) -> BuildResult:
    """What a notebook reads of a build, from an engine-less one (no step is cached: the
    kit replays the stages, Go's own build cache makes warm rebuilds fast)."""
    steps = [StepResult(number=i, instruction=line.split("] ", 1)[1])
             for i, line in enumerate((t for t in built.log if t.startswith("[")
                                       and "] " in t), start=1)]
    return BuildResult(tag=built.tag, image_id=built.image_id or "", steps=steps,
                       log=built.log, duration_s=built.seconds, backend="engine-less")


def health_of_build(built: eb.EnginelessBuild) -> HealthReport:
    """Run the image's entrypoint locally and ask ``/health`` (see :func:`_run_locally`).

    Raises:
        RunError / KitError: as the container would fail; ``NotReplayable``/``PortBusy``
            when it cannot be run here.
    """
    img = built.image
    config = image.config_from_inspect({"Config": img.config})
    rootfs = eb.engineless_root() / "rootfs" / _safe(built.tag)
    if rootfs.exists():
        shutil.rmtree(rootfs)
    rootfs.mkdir(parents=True)
    try:
        img.materialize(rootfs)
        spec = RunSpec(config.entrypoint, config.cmd, config.env, config.workdir or "/",
                       config.user)
        return run_locally(rootfs, spec, _lookup(img))
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _inspect_program(facts: Facts, img: EnginelessImage) -> None:
    """ELF facts of the program the image starts; the CA bundle Go would load."""
    ev = facts.evidence
    if ev.config is None or ev.files is None:
        return
    program = ev.config.program_path(ev.files)
    if program and program in ev.files:
        data = img.read(program)
        if data is None:
            facts.unmeasured["elf"] = (f"{program} comes from the recorded base image, whose "
                                       "bytes are not here")
        else:
            ev.elf = _measure(facts, "elf", image.elf_facts, data, program)
    ev.ca = _measure(facts, "ca", find_ca_bundle, img)


def find_ca_bundle(img: EnginelessImage) -> image.CaBundle:
    """The CA bundle Go would load in the image (:func:`helpers.image.first_ca_bundle`)."""
    def read(path: str) -> bytes | None:
        entry = img.resolve(path)
        if entry is None or entry.kind != "file":
            return None
        data = img.read(path)
        if data is None:
            raise KitError(f"{path} is in the recorded base image, but its bytes are not "
                           "recorded", "Re-record the base: python -m helpers record --base-only")
        return data
    return image.first_ca_bundle(read)


def _run_locally(facts: Facts, built: eb.EnginelessBuild) -> None:
    """Start the entrypoint as a local process and ask ``/health``, like the container."""
    ev = facts.evidence
    try:
        health = health_of_build(built)
        facts.health_ok, facts.health_status = health.healthy, health.status_code
        ev.health_ca_roots = health.ca_roots
    except (NotReplayable, PortBusy) as exc:
        facts.unmeasured["health"] = exc.message
    except RunError as exc:
        ev.run_error, facts.health_ok = exc, False
    except Interrupted:
        raise
    except KitError as exc:
        ev.start_error, facts.health_ok = exc.message, False
    except Exception as exc:  # noqa: BLE001 - same contract as evidence._measure
        _measure(facts, "health", _reraise, exc)


def _reraise(exc: BaseException):
    raise exc


def _lookup(img: EnginelessImage):
    """``path -> (kind, linkname)`` over the whole image (layers, then the base)."""
    def lookup(path: str):
        entry = img.lookup(path)
        return None if entry is None else (entry.kind, entry.linkname)
    return lookup
