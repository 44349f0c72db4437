"""Evidence for the self-checks: every fact about the learner's image, measured without raising.

:func:`gather` parses and lints the Dockerfile, builds it, reads the image (its config, files,
binary and CA bundle), runs the container against ``/health`` and rebuilds, after a source edit
in a temporary copy of the context, up to the ``go mod download`` step
(:mod:`helpers.grading.depprobe`; the learner's files are never modified). What the image
holds is kept by image id and reused while the id stays the same, as is the probe's verdict
(:mod:`helpers.grading.factcache`; ``Facts.reused`` says what was reused). Each fact is
measured on its own through :func:`_measure`: a fact the kit cannot obtain (an export it
cannot read, an engine that stopped answering) is kept in :attr:`Facts.unmeasured` with the
reason, so the checks that need it report ``skip`` and the others are still judged.
:func:`read_dockerfile` is the engine-less part: what the Dockerfile and context alone say.

Static facts come from :mod:`helpers.dockerfile`, dynamic ones from :mod:`helpers.image` and
:mod:`helpers.engine.containers`; :mod:`helpers.grading.checks` judges them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import docker

from .. import dockerfile as df
from .. import image
from ..build import EventHandler, build_image
from ..config import goarch
from ..engine import ENGINE_LOST_ERRORS, engine_lost, image_store
from ..engine.containers import check_health
from ..errors import BuildError, EngineUnavailable, Interrupted, KitError, RunError
from ..image import engine_size_note, file_breakdown, listed_size
from . import factcache
from .depprobe import order_problem, probe_dep_cache, rebuild_after_edit
from .mistakes import Evidence

__all__ = ["MINIMAL_BASES", "Facts", "gather", "read_dockerfile", "rebuild_after_edit",
           "restore_healthcheck", "run_hadolint"]

#: Runtime bases accepted by the base-images check (besides scratch); files of these bases
#: are not the learner's doing, so only-binary looks at the layers above them.
MINIMAL_BASES = ("alpine", "gcr.io/distroless/", "distroless", "busybox",
                 "cgr.dev/chainguard/static")


@dataclass
class Facts:
    """What was measured; fields stay None when they could not be measured.

    ``unmeasured`` maps a fact (``"breakdown"``, ``"config"``, ``"elf"``, ``"ca"``,
    ``"health"``, ``"dep-cache"``) to why the kit could not obtain it (an export it cannot
    read, an engine that stopped answering...): the checks that need that fact report
    ``skip`` with the reason, the others are still measured.
    """

    evidence: Evidence
    dockerfile: Path
    context: Path
    tag: str
    size_bytes: int | None = None         # uncompressed bytes of the image's layers
    engine_size_bytes: int | None = None  # what `docker images` shows on this engine
    engine_size_note: str = ""            # what the engine's figure counts, on its store
    base_layers: int = 0
    added_files: dict[str, int] | None = None
    health_ok: bool | None = None
    health_status: int | None = None
    dep_cache: tuple[str, str] | None = None  # (status, message) of the real rebuild
    lint: list[dict] | None = None
    no_engine: str = ""  # why nothing dynamic could be measured (engine-less mode)
    unmeasured: dict[str, str] = field(default_factory=dict)
    healthcheck_dropped: int | None = None  # line of a HEALTHCHECK the image lost
    engine_less: bool = False  # measured on an image built here without an engine
    built: object = None       # that build (helpers.build.engineless.EnginelessBuild)
    image_id: str = ""         # the image measured (what kept facts are keyed by)
    kept_files: list = field(default_factory=list)  # (path, bytes, layer) of every file
    reused: str = ""           # "measured on image sha256:ab12… at 10:02, reused", or ""


def restore_healthcheck(config: image.ImageConfig, model: df.DockerfileModel
                        ) -> int | None:
    """Put back a HEALTHCHECK the Dockerfile declares but the image lost; return its line.

    Podman builds OCI images by default, whose config has no HEALTHCHECK field, so the
    engine drops it: the learner's HEALTHCHECK is then judged (and diagnosed) as written.
    """
    declared = df.healthcheck_commands(model)
    if config.healthcheck or declared is None or declared.arguments == ["NONE"]:
        return None
    if declared.exec_form:
        config.healthcheck = ["CMD", *declared.arguments]
    else:
        config.healthcheck = ["CMD-SHELL", " ".join(declared.arguments)]
    return declared.line


def _measure(facts: Facts, fact: str, function: Callable, *args, **kwargs):
    """``function(*args)``, or None with the reason in ``facts.unmeasured[fact]``.

    A check must end in a verdict, never a traceback: any failure while gathering one fact
    (the kit's or the engine's) is kept as that fact's reason. Ctrl-C still stops the check.
    """
    try:
        return function(*args, **kwargs)
    except Interrupted:
        raise
    except KitError as exc:
        facts.unmeasured[fact] = exc.message
    except ENGINE_LOST_ERRORS as exc:
        facts.unmeasured[fact] = engine_lost(exc).message
    except Exception as exc:  # a bug or an engine quirk: say what, measure the rest
        facts.unmeasured[fact] = (f"the kit failed while measuring it ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}); "
                                  "please report this")
    return None


def read_dockerfile(context: Path, dockerfile: Path, tag: str, no_engine: str = "") -> Facts:
    """The facts the Dockerfile and its context give without an engine.

    Parses the Dockerfile (a parse error is kept, not raised), looks for ``.dockerignore`` and
    runs hadolint. ``no_engine`` says why nothing else will be measured (engine-less mode).
    """
    ev = Evidence(dockerignore=(context / ".dockerignore").is_file())
    facts = Facts(ev, dockerfile, context, tag, no_engine=no_engine)
    try:
        ev.model = df.parse(dockerfile)
    except KitError as exc:
        ev.parse_error = exc
    facts.lint = run_hadolint(dockerfile)
    return facts


def gather(client: docker.DockerClient, context: Path, dockerfile: Path, tag: str,
           on_event: EventHandler | None = None, dep_cache_rebuild: bool = True,
           backend: str = "auto", use_cache: bool = True) -> Facts:
    """Parse, build, inspect, run and probe the cache; every failure is recorded, none raised.

    Each fact is measured on its own (:func:`_measure`): a failed export still lets the
    run and the probe be measured, a failed run still lets the files be listed. The
    container is started every time; with ``use_cache``, what the image holds is reused
    when its id is one already measured, and the dep-cache verdict when nothing the probe
    reads has changed (:mod:`helpers.grading.factcache`). The probe is not run when the
    Dockerfile's order already fails ``dep-cache`` (the check does not read it then).
    """
    facts = read_dockerfile(context, dockerfile, tag)
    try:
        built = build_image(client, context, tag, dockerfile, on_event=on_event,
                            backend=backend)
    except BuildError as exc:
        facts.evidence.build_error = exc
        return facts
    _inspect_image(client, facts, use_cache)
    _run_container(client, facts)
    model = facts.evidence.model
    if dep_cache_rebuild and model is not None and order_problem(model) is None:
        facts.dep_cache = _measure(facts, "dep-cache", probe_dep_cache, client, context,
                                   dockerfile, tag, built.backend, model, use_cache)
    return facts


def _inspect_image(client: docker.DockerClient, facts: Facts, use_cache: bool = True) -> None:
    """The built image's config, sizes, files, program and CA bundle.

    The config and the engine's own figures are read every time; the files, the program's
    ELF facts and the CA bundle are reused from :mod:`~helpers.grading.factcache` when this
    image id was measured before (and kept when all three were measured now).
    """
    ev, tag = facts.evidence, facts.tag
    ev.engine_arch = _measure(facts, "engine", _engine_arch, client)
    ev.config = _measure(facts, "config", image.image_config, client, tag)
    if ev.config is not None and ev.model is not None:
        facts.healthcheck_dropped = restore_healthcheck(ev.config, ev.model)
    store = _measure(facts, "engine", image_store, client) or ""
    if ev.config is not None:
        listed = _measure(facts, "engine", client.images.get, tag)
        if listed is not None:
            facts.image_id = getattr(listed, "id", "") or ""
            facts.engine_size_bytes = _measure(facts, "engine", listed_size, client, listed)
            facts.engine_size_note = engine_size_note(store)
    kept = factcache.load_image_facts(facts.image_id) if use_cache else None
    if kept is not None:
        _apply_files(client, facts, kept[0].files, kept[0].total_bytes)
        ev.elf, ev.ca, facts.reused = kept[0].elf, kept[0].ca, kept[1].note()
        return
    breakdown = _measure(facts, "breakdown", file_breakdown, client, tag)
    if breakdown is not None:
        table = breakdown.files
        _apply_files(client, facts, list(zip(table["path"], table["size_bytes"],
                                             table["layer"])), breakdown.total_bytes)
    program = _inspect_program(client, facts)
    measured = not {"breakdown", "elf", "ca"} & set(facts.unmeasured)
    if use_cache and measured and breakdown is not None and facts.image_id:
        factcache.store_image_facts(facts.image_id, factcache.ImageFacts(
            facts.kept_files, facts.size_bytes, program, ev.elf, ev.ca))


def _apply_files(client: docker.DockerClient, facts: Facts, files: list,
                 total_bytes: int) -> None:
    """Size, paths and the files the Dockerfile adds above a minimal base, from the table."""
    ev = facts.evidence
    facts.kept_files = [(str(p), int(n), int(layer)) for p, n, layer in files]
    facts.size_bytes = int(total_bytes)
    ev.files = {path for path, _, _ in facts.kept_files}
    facts.base_layers = _base_layer_count(client, ev.model)
    facts.added_files = {path: size for path, size, layer in facts.kept_files
                         if layer > facts.base_layers}


def _inspect_program(client: docker.DockerClient, facts: Facts) -> str | None:
    """The ELF facts of the program the image starts, and the CA bundle; the program's path."""
    ev, tag = facts.evidence, facts.tag
    if ev.config is None or ev.files is None:
        return None
    program = ev.config.program_path(ev.files)
    if program and program in ev.files:
        data = _measure(facts, "elf", image.read_file, client, tag, program)
        if data is not None:
            ev.elf = _measure(facts, "elf", image.elf_facts, data, program)
    ev.ca = _measure(facts, "ca", image.find_ca_bundle, client, tag, ev.files)
    return program


def _run_container(client: docker.DockerClient, facts: Facts) -> None:
    """Run the image and ask ``/health``; a run or start failure is evidence, not an error."""
    ev = facts.evidence
    try:
        health = check_health(client, facts.tag)
        facts.health_ok, facts.health_status = health.healthy, health.status_code
        ev.health_ca_roots = health.ca_roots
    except RunError as exc:
        ev.run_error, facts.health_ok = exc, False
    except Interrupted:
        raise
    except EngineUnavailable as exc:
        facts.unmeasured["health"] = exc.message
    except KitError as exc:
        ev.start_error, facts.health_ok = exc.message, False
    except Exception as exc:  # noqa: BLE001 - same contract as _measure
        _measure(facts, "health", _reraise, exc)


def _reraise(exc: BaseException):
    raise exc


def _engine_arch(client: docker.DockerClient) -> str:
    return goarch(client.version().get("Arch", ""))


def _base_layer_count(client: docker.DockerClient, model: df.DockerfileModel | None) -> int:
    """Layers of the final stage's base image when it is a minimal runtime base, else 0.

    Files of a minimal base (alpine, distroless) are not the learner's doing, so only-binary
    looks at the layers above it; a toolchain or unknown base counts in full.
    """
    if model is None:
        return 0
    stage = model.final
    if stage.base_stage is not None or not stage.base.startswith(MINIMAL_BASES):
        return 0
    try:
        return len(client.images.get(stage.base).attrs["RootFS"]["Layers"])
    except (docker.errors.ImageNotFound, KeyError):
        return 0


def run_hadolint(dockerfile: Path) -> list[dict] | None:
    """hadolint's findings as dicts (code, level, line, message), or None if it is missing."""
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(binary).exists():
        return None
    try:
        done = subprocess.run([binary, "--no-fail", "--format", "json", str(dockerfile)],
                              capture_output=True, text=True, timeout=60)
        return json.loads(done.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
