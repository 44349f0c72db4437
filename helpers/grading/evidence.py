"""Evidence for the self-checks: every fact about the learner's image, measured without raising.

:func:`gather` parses and lints the Dockerfile, builds it, reads the image (its config, files,
binary and CA bundle), runs the container against ``/health`` and rebuilds after a source edit
in a temporary copy of the context (the learner's files are never modified). Each fact is
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
import tempfile
import uuid
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
from .mistakes import Evidence

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
           backend: str = "auto") -> Facts:
    """Parse, build, inspect, run and rebuild; every failure is recorded, none raised.

    Each fact is measured on its own (:func:`_measure`): a failed export still lets the
    run and the rebuild be measured, a failed run still lets the files be listed.
    """
    facts = read_dockerfile(context, dockerfile, tag)
    try:
        built = build_image(client, context, tag, dockerfile, on_event=on_event,
                            backend=backend)
    except BuildError as exc:
        facts.evidence.build_error = exc
        return facts
    _inspect_image(client, facts)
    _inspect_program(client, facts)
    _run_container(client, facts)
    if dep_cache_rebuild:
        facts.dep_cache = _measure(facts, "dep-cache", rebuild_after_edit, client, context,
                                   dockerfile, tag, built.backend)
    return facts


def _inspect_image(client: docker.DockerClient, facts: Facts) -> None:
    """The built image's config, sizes and files (the layers above a minimal base apart)."""
    ev, tag = facts.evidence, facts.tag
    ev.engine_arch = _measure(facts, "engine", _engine_arch, client)
    ev.config = _measure(facts, "config", image.image_config, client, tag)
    if ev.config is not None and ev.model is not None:
        facts.healthcheck_dropped = restore_healthcheck(ev.config, ev.model)
    breakdown = _measure(facts, "breakdown", file_breakdown, client, tag)
    store = _measure(facts, "engine", image_store, client) or ""
    if ev.config is not None:
        facts.engine_size_bytes = _measure(facts, "engine", listed_size, client,
                                           client.images.get(tag))
        facts.engine_size_note = engine_size_note(store)
    if breakdown is not None:
        facts.size_bytes = breakdown.total_bytes
        ev.files = set(breakdown.files["path"])
        facts.base_layers = _base_layer_count(client, ev.model)
        added = breakdown.files[breakdown.files["layer"] > facts.base_layers]
        facts.added_files = dict(zip(added["path"], added["size_bytes"]))


def _inspect_program(client: docker.DockerClient, facts: Facts) -> None:
    """The ELF facts of the program the image starts, and the CA bundle it ships."""
    ev, tag = facts.evidence, facts.tag
    if ev.config is None or ev.files is None:
        return
    program = ev.config.program_path(ev.files)
    if program and program in ev.files:
        data = _measure(facts, "elf", image.read_file, client, tag, program)
        if data is not None:
            ev.elf = _measure(facts, "elf", image.elf_facts, data, program)
    ev.ca = _measure(facts, "ca", image.find_ca_bundle, client, tag, ev.files)


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


def rebuild_after_edit(client: docker.DockerClient, context: Path, dockerfile: Path,
                       tag: str, backend: str = "classic") -> tuple[str, str]:
    """Edit a Go source in a temporary copy of the context, rebuild, inspect the cache.

    Returns:
        (status, message): ``pass`` if the ``go mod download`` step came from the cache while
        a later step re-ran; ``fail`` otherwise.
    """
    with tempfile.TemporaryDirectory(prefix="kit-depcache-") as tmp:
        copy = Path(tmp) / "context"
        shutil.copytree(context, copy, symlinks=True)
        sources = sorted(copy.rglob("*.go"), key=lambda p: ("_test" in p.name, str(p)))
        if not sources:
            return "fail", "No Go source in the context to edit."
        sources[0].write_text(sources[0].read_text() + f"\n// cache probe {uuid.uuid4()}\n")
        inside = dockerfile.resolve()
        try:
            relative = inside.relative_to(context.resolve())
            target_dockerfile = copy / relative
        except ValueError:
            target_dockerfile = inside
        probe_tag = f"{tag}-depcache-probe"
        try:
            rebuilt = build_image(client, copy, probe_tag, target_dockerfile, backend=backend)
        except BuildError as exc:
            return "fail", f"The rebuild after a source edit failed: {exc.message}"
        finally:
            try:
                client.images.remove(probe_tag)  # and its private parents
            except docker.errors.APIError:
                pass
    if not rebuilt.steps:  # an engine whose build log the kit cannot read: never a FAIL
        return "skip", ("Not measured: this engine's build output names no steps, so the kit "
                        "cannot tell which came from the cache.")
    downloads = [s for s in rebuilt.steps if "go mod download" in s.instruction]
    if not downloads:
        return "fail", "There is no `go mod download` step to reuse."
    reran = [s for s in rebuilt.steps
             if not s.cached and not s.instruction.upper().startswith("FROM")]
    if not all(s.cached for s in downloads):
        return "fail", ("After editing a .go file the `go mod download` step ran again "
                        "instead of coming from the cache.")
    if not reran:
        return "fail", "After editing a .go file nothing was rebuilt: is the source copied?"
    return "pass", (f"After editing {sources[0].relative_to(copy)} the download step came from "
                    f"the cache; {len(reran)} later step(s) re-ran.")


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
