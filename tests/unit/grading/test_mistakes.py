"""helpers.grading.mistakes without an engine: each classic mistake from synthetic evidence.

In the style of docker-py's tests/unit: the :class:`~helpers.grading.mistakes.Evidence` is
built by hand (models from :func:`helpers.dockerfile.parse_text`, :class:`ElfFacts`, :class:`CaBundle`,
:class:`ImageConfig`, :class:`BuildError`, :class:`RunError`) and :func:`diagnose` is called
on it. Every mistake is detected from minimal evidence, and none is detected on evidence
shaped like the reference solution's real image.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from helpers import dockerfile as df
from helpers.errors import BuildError, KitError, RunError
from helpers.grading.mistakes import (MISTAKES, MISTAKES_BY_ID, Diagnosis, Evidence, Mistake,
                                      diagnose)
from helpers.image import GO_CERT_FILES, CaBundle, ElfFacts, ImageConfig

REPO = Path(__file__).resolve().parents[3]
REFERENCE = REPO / "exercises" / "solutions" / "Dockerfile.multistage"
CA_PATH = "/etc/ssl/certs/ca-certificates.crt"

#: The ids in the documented order (GUIDE.md's list).
MISTAKE_IDS = [
    "toolchain-runtime", "cgo-dynamic", "no-ca-certs", "copy-before-download",
    "go-sum-missing", "copy-from-missing", "shell-form-scratch", "relative-cmd-missing",
    "not-stripped", "goarch-mismatch", "root-user", "latest-base", "no-dockerignore",
    "healthcheck-shell",
]

# A correct builder stage (lines 1-6) and runtime stage (from line 7), to vary one thing at a time.
BUILDER = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -ldflags="-s -w" -o /out/server ./cmd/server
"""
RUNTIME = """\
FROM scratch
COPY --from=build /out/server /server
ENTRYPOINT ["/server"]
"""


# ---------------------------------------------------------------------------------------------
# Synthetic evidence (shared with test_checks.py)
# ---------------------------------------------------------------------------------------------
def model(text: str) -> df.DockerfileModel:
    return df.parse_text(text)


def image_config(**changes) -> ImageConfig:
    """The run configuration of the reference image (as `docker image inspect` reports it)."""
    config = ImageConfig(
        entrypoint=["/server"], cmd=None, workdir="", user="65534:65534", env={},
        healthcheck=["CMD", "/server", "-healthcheck"], exposed_ports=["8080/tcp"], labels={},
        os="linux", architecture="amd64", size_bytes=9_127_000)
    return dataclasses.replace(config, **changes)


def elf(**changes) -> ElfFacts:
    """A static, stripped Go binary for amd64, like the reference image's /server."""
    facts = ElfFacts(
        path="/server", is_elf=True, machine="x86_64", goarch="amd64", elf_type="ET_EXEC",
        interpreter=None, needed=[], static=True, has_symtab=False, has_debug=False,
        stripped=True, size_bytes=5_767_168,
        go_build_info={"go_version": "go1.22.10", "CGO_ENABLED": "0", "GOARCH": "amd64",
                       "GOOS": "linux", "-ldflags": "-s -w -X main.version=dev"})
    return dataclasses.replace(facts, **changes)


def ca_bundle(certificates: int = 142, **changes) -> CaBundle:
    bundle = CaBundle(path=CA_PATH, certificates=certificates, invalid_blocks=0,
                      size_bytes=213_000, checked_paths=[CA_PATH],
                      unique_certificates=certificates)
    return dataclasses.replace(bundle, **changes)


def no_ca_bundle() -> CaBundle:
    """What find_ca_bundle returns for an image with none of Go's bundle files."""
    return CaBundle(path=None, certificates=0, invalid_blocks=0, size_bytes=0,
                    checked_paths=list(GO_CERT_FILES))


def reference_evidence() -> Evidence:
    """Evidence shaped like the reference solution's real image, engine and run."""
    return Evidence(
        model=df.parse(REFERENCE), config=image_config(), files={"/server", CA_PATH},
        elf=elf(), ca=ca_bundle(142), health_ca_roots=142, dockerignore=True,
        engine_arch="amd64")


def ids(diagnoses: list[Diagnosis]) -> list[str]:
    return [d.id for d in diagnoses]


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------
def test_the_fourteen_mistakes_in_order():
    assert [m.id for m in MISTAKES] == MISTAKE_IDS
    assert list(MISTAKES_BY_ID) == MISTAKE_IDS
    assert all(MISTAKES_BY_ID[i] is m for i, m in zip(MISTAKE_IDS, MISTAKES))
    for mistake in MISTAKES:
        assert mistake.title and mistake.why and mistake.fix, mistake.id


def test_a_mistakes_default_detector_finds_nothing():
    assert Mistake("x", "t", "w", "f").detect(reference_evidence()) is None


def test_empty_evidence_shows_no_mistake():
    assert diagnose(Evidence()) == []


def test_diagnosis_carries_the_mistakes_text_and_a_hint():
    found = diagnose(Evidence(dockerignore=False))
    mistake = MISTAKES_BY_ID["no-dockerignore"]
    assert found == [Diagnosis("no-dockerignore", mistake.title,
                               "The build context has no .dockerignore.", mistake.why,
                               mistake.fix)]
    assert found[0].hint() == ("The build context has no .dockerignore. Fix: Add a "
                               ".dockerignore listing .git, *.md, Dockerfile*, out/.")


# ---------------------------------------------------------------------------------------------
# Each mistake from minimal evidence: exactly that diagnosis, with this learner's "what"
# ---------------------------------------------------------------------------------------------
DETECTED = {
    "toolchain-runtime": (
        lambda: Evidence(model=model(BUILDER + "FROM golang:1.22\n"
                                     "COPY --from=build /out/server /server\n")),
        "The final stage starts FROM golang:1.22, so the whole Go toolchain ships."),
    "toolchain-runtime/via-stage": (
        lambda: Evidence(model=model(BUILDER + "FROM build AS runtime\n"
                                     "COPY --from=build /out/server /server\n")),
        "The final stage starts FROM golang:1.22, so the whole Go toolchain ships."),
    "cgo-dynamic": (
        lambda: Evidence(elf=elf(static=False, interpreter="/lib64/ld-linux-x86-64.so.2",
                                 needed=["libc.so.6"])),
        "/server is dynamically linked (needs /lib64/ld-linux-x86-64.so.2)."),
    "cgo-dynamic/needed-only": (
        lambda: Evidence(elf=elf(static=False, needed=["libc.so.6", "libpthread.so.0"])),
        "/server is dynamically linked (needs libc.so.6, libpthread.so.0)."),
    "cgo-dynamic/from-logs": (
        lambda: Evidence(
            model=model(BUILDER.replace("CGO_ENABLED=0 ", "") + RUNTIME),
            run_error=RunError("The container stopped with exit code 127 before answering "
                               "/health.", exit_code=127,
                               logs="exec /server: no such file or directory")),
        "The binary could not be started and the build does not set CGO_ENABLED=0."),
    "no-ca-certs": (
        lambda: Evidence(ca=no_ca_bundle()),
        "No CA bundle at any path Go reads (e.g. /etc/ssl/certs/ca-certificates.crt)."),
    "no-ca-certs/empty-bundle": (
        lambda: Evidence(ca=ca_bundle(0, invalid_blocks=3)),
        "No CA bundle at any path Go reads (e.g. /etc/ssl/certs/ca-certificates.crt)."),
    "no-ca-certs/server-reports-0": (
        lambda: Evidence(health_ca_roots=0),
        "The running server reports ca_roots: 0."),
    "copy-before-download": (
        lambda: Evidence(model=model(BUILDER.replace(
            "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n",
            "COPY . .\nRUN go mod download\n") + RUNTIME)),
        "`COPY` of the whole source (line 3) comes before `go mod download` (line 4)."),
    "copy-before-download/no-download": (
        lambda: Evidence(model=model(BUILDER.replace(
            "COPY go.mod go.sum ./\nRUN go mod download\n", "") + RUNTIME)),
        "No `go mod download` step: dependencies are fetched during `go build`."),
    "go-sum-missing": (
        lambda: Evidence(model=model(BUILDER.replace("go.mod go.sum", "go.mod") + RUNTIME)),
        "go.mod is copied before `go mod download`, go.sum is not."),
    "copy-from-missing": (
        lambda: Evidence(model=model(BUILDER + RUNTIME.replace("--from=build",
                                                               "--from=builder"))),
        "Line 8: COPY --from=builder names no stage of this Dockerfile (Docker then looks "
        "for an image of that name)."),
    "copy-from-missing/build-error": (
        lambda: Evidence(build_error=BuildError(
            'failed to compute cache key: "/out/srv": not found', step=9,
            instruction="COPY --from=build /out/srv /server")),
        'Step 9 (COPY --from=build /out/srv /server) failed: failed to compute cache key: '
        '"/out/srv": not found'),
    "shell-form-scratch": (
        lambda: Evidence(config=image_config(entrypoint=["/bin/sh", "-c", "/server"]),
                         files={"/server"}),
        "ENTRYPOINT/CMD is in shell form, which runs /bin/sh -c, and the image has no /bin/sh."),
    "relative-cmd-missing": (
        lambda: Evidence(config=image_config(entrypoint=["./server"], workdir="/app"),
                         files={"/server"}),
        "The image starts './server' (WORKDIR /app), which is not a file in the final image."),
    "relative-cmd-missing/no-command": (
        lambda: Evidence(config=image_config(entrypoint=None, cmd=None), files={"/server"}),
        "The image has neither ENTRYPOINT nor CMD."),
    "not-stripped": (
        lambda: Evidence(elf=elf(stripped=False, has_symtab=True, has_debug=True)),
        "/server still has a symbol table and DWARF debug sections."),
    "not-stripped/symtab-only": (
        lambda: Evidence(elf=elf(stripped=False, has_symtab=True)),
        "/server still has a symbol table."),
    "goarch-mismatch": (
        lambda: Evidence(elf=elf(machine="aarch64", goarch="arm64"), engine_arch="amd64"),
        "The binary is built for arm64; the engine runs amd64."),
    "goarch-mismatch/from-logs": (
        lambda: Evidence(run_error=RunError(
            "The container stopped with exit code 255 before answering /health.",
            exit_code=255, logs="exec /server: exec format error")),
        "The container failed with 'exec format error'."),
    "goarch-mismatch/start-error": (
        lambda: Evidence(start_error="exec /server: Exec format error"),
        "The container failed with 'exec format error'."),
    "root-user": (
        lambda: Evidence(config=image_config(user="")),
        "The image has no USER, so the server runs as root (uid 0)."),
    "root-user/explicit-0": (
        lambda: Evidence(config=image_config(user="0:0")),
        "The image has no USER, so the server runs as root (uid 0)."),
    "root-user/explicit-root": (
        lambda: Evidence(config=image_config(user="root")),
        "The image has no USER, so the server runs as root (uid 0)."),
    "latest-base": (
        lambda: Evidence(model=model(BUILDER.replace("golang:1.22", "golang") + RUNTIME)),
        "Unpinned base image: golang."),
    "latest-base/latest-tag": (
        lambda: Evidence(model=model(BUILDER.replace("golang:1.22", "golang:latest")
                                     + RUNTIME.replace("scratch", "alpine"))),
        "Unpinned base image: golang:latest, alpine."),
    "no-dockerignore": (
        lambda: Evidence(dockerignore=False),
        "The build context has no .dockerignore."),
    "healthcheck-shell": (
        lambda: Evidence(config=image_config(healthcheck=[
            "CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]),
            files={"/server"}),
        "HEALTHCHECK is in shell form and the image has no /bin/sh."),
    "healthcheck-shell/curl-exec-form": (
        lambda: Evidence(config=image_config(healthcheck=[
            "CMD", "curl", "-f", "http://localhost:8080/health"]), files={"/server"}),
        "HEALTHCHECK runs curl, which is not in the image."),
    "healthcheck-shell/wget-absolute": (
        lambda: Evidence(config=image_config(healthcheck=[
            "CMD", "/usr/bin/wget", "-qO-", "http://localhost:8080/health"]),
            files={"/server"}),
        "HEALTHCHECK runs /usr/bin/wget, which is not in the image."),
}


def test_every_mistake_has_a_detection_case():
    assert {case.split("/")[0] for case in DETECTED} == set(MISTAKE_IDS)


@pytest.mark.parametrize("case", list(DETECTED))
def test_mistake_detected_from_minimal_evidence(case):
    make, what = DETECTED[case]
    mistake_id = case.split("/")[0]
    found = diagnose(make())
    assert ids(found) == [mistake_id]
    mistake = MISTAKES_BY_ID[mistake_id]
    assert found[0] == Diagnosis(mistake_id, mistake.title, what, mistake.why, mistake.fix)
    assert found[0].hint() == f"{what} Fix: {mistake.fix}"


# Near misses: evidence that looks like the mistake but is not it.
NOT_DETECTED = {
    "cgo-dynamic/logs-but-cgo-disabled": Evidence(
        model=model(BUILDER + RUNTIME),
        run_error=RunError("stopped", exit_code=127,
                           logs="exec /server: no such file or directory")),
    "cgo-dynamic/logs-but-elf-is-static": Evidence(
        model=model(BUILDER.replace("CGO_ENABLED=0 ", "") + RUNTIME), elf=elf(),
        start_error="exec /server: no such file or directory"),
    "cgo-dynamic/not-an-elf": Evidence(elf=ElfFacts(path="/server", is_elf=False,
                                                    size_bytes=42)),
    "no-ca-certs/few-but-some": Evidence(ca=ca_bundle(3)),
    "no-ca-certs/server-not-run": Evidence(ca=ca_bundle(142), health_ca_roots=None),
    "shell-form-scratch/alpine-has-sh": Evidence(
        config=image_config(entrypoint=["/bin/sh", "-c", "/server"]),
        files={"/server", "/bin/sh", "/bin/busybox"}),
    "relative-cmd-missing/relative-in-workdir": Evidence(
        config=image_config(entrypoint=["./server"], workdir="/app"), files={"/app/server"}),
    "relative-cmd-missing/files-unknown": Evidence(
        config=image_config(entrypoint=["./server"], workdir="/app"), files=None),
    "goarch-mismatch/engine-arch-unknown": Evidence(elf=elf(goarch="arm64"),
                                                    engine_arch=None),
    "root-user/numeric-user": Evidence(config=image_config(user="10001")),
    "latest-base/digest": Evidence(model=model(
        BUILDER.replace("golang:1.22", "golang@sha256:" + "a" * 64) + RUNTIME)),
    "no-dockerignore/unknown": Evidence(dockerignore=None),
    "healthcheck-shell/curl-in-image": Evidence(
        config=image_config(healthcheck=["CMD", "curl", "-f", "http://localhost:8080/h"]),
        files={"/server", "/usr/bin/curl"}),
    "healthcheck-shell/cmd-shell-with-sh": Evidence(
        config=image_config(healthcheck=["CMD-SHELL", "/server -healthcheck"]),
        files={"/server", "/bin/sh"}),
}


@pytest.mark.parametrize("case", list(NOT_DETECTED))
def test_near_miss_is_not_diagnosed(case):
    assert ids(diagnose(NOT_DETECTED[case])) == []


# ---------------------------------------------------------------------------------------------
# The reference solution
# ---------------------------------------------------------------------------------------------
def test_reference_solution_shows_no_mistake():
    assert diagnose(reference_evidence()) == []


@pytest.mark.parametrize("mistake_id", MISTAKE_IDS)
def test_reference_solution_does_not_trigger(mistake_id):
    assert MISTAKES_BY_ID[mistake_id].detect(reference_evidence()) is None


def test_reference_evidence_is_the_real_reference():
    ev = reference_evidence()
    assert [s.base for s in ev.model.stages] == ["golang:1.22", "scratch"]
    assert ev.config.program_path(ev.files) == "/server"
    assert not ev.config.shell_form() and not ev.config.runs_as_root()


# ---------------------------------------------------------------------------------------------
# Order and robustness
# ---------------------------------------------------------------------------------------------
def everything_wrong() -> Evidence:
    """Evidence showing 13 of the 14 mistakes (shell-form excludes relative-cmd-missing)."""
    text = ("FROM golang AS build\n"                            # 1 latest-base
            "WORKDIR /src\n"
            "COPY go.mod ./\n"                                  # 3 go-sum-missing
            "COPY . .\n"                                        # 4 copy-before-download
            "RUN go mod download\n"
            "RUN go build -o /out/server ./cmd/server\n"
            "FROM golang:1.22\n"                                # 7 toolchain-runtime
            "COPY --from=builder /out/server /server\n")        # 8 copy-from-missing
    return Evidence(
        model=model(text),
        elf=elf(static=False, interpreter="/lib/ld-linux-aarch64.so.1", needed=["libc.so.6"],
                stripped=False, has_symtab=True, machine="aarch64", goarch="arm64"),
        ca=no_ca_bundle(), engine_arch="amd64", dockerignore=False,
        config=image_config(entrypoint=["./server"], workdir="/app", user="",
                            healthcheck=["CMD", "curl", "-f", "http://localhost:8080/health"]),
        files={"/server"})


def test_diagnoses_follow_the_order_of_mistakes():
    found = ids(diagnose(everything_wrong()))
    assert found == [
        "toolchain-runtime", "cgo-dynamic", "no-ca-certs", "copy-before-download",
        "go-sum-missing", "copy-from-missing", "relative-cmd-missing", "not-stripped",
        "goarch-mismatch", "root-user", "latest-base", "no-dockerignore", "healthcheck-shell"]
    assert found == [m.id for m in MISTAKES if m.id != "shell-form-scratch"]


@pytest.mark.parametrize("exception", [
    KitError("boom", "hint"), KeyError("Layers"), IndexError("list index out of range"),
    TypeError("'NoneType' object is not subscriptable"), ValueError("bad value")])
def test_a_raising_detector_does_not_hide_the_others(monkeypatch, exception):
    def raises(ev):
        raise exception

    monkeypatch.setattr(MISTAKES_BY_ID["toolchain-runtime"], "detect", raises)
    monkeypatch.setattr(MISTAKES_BY_ID["cgo-dynamic"], "detect", raises)
    found = ids(diagnose(everything_wrong()))
    assert found == [
        "no-ca-certs", "copy-before-download", "go-sum-missing", "copy-from-missing",
        "relative-cmd-missing", "not-stripped", "goarch-mismatch", "root-user", "latest-base",
        "no-dockerignore", "healthcheck-shell"]


def test_an_unexpected_exception_is_not_swallowed(monkeypatch):
    def raises(ev):
        raise RuntimeError("a programming error must surface")

    monkeypatch.setattr(MISTAKES_BY_ID["latest-base"], "detect", raises)
    with pytest.raises(RuntimeError, match="must surface"):
        diagnose(reference_evidence())


def test_a_detector_returning_empty_text_is_not_a_diagnosis(monkeypatch):
    monkeypatch.setattr(MISTAKES_BY_ID["root-user"], "detect", lambda ev: "")
    assert ids(diagnose(Evidence(config=image_config(user=""), dockerignore=False))) == [
        "no-dockerignore"]


# ---------------------------------------------------------------------------------------------
# Bugs these tests found in helpers (fixed; kept as regression tests)
# ---------------------------------------------------------------------------------------------
def test_cmd_shell_healthcheck_calling_a_missing_curl_is_diagnosed():
    ev = Evidence(config=image_config(healthcheck=[
        "CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]),
        files={"/server", "/bin/sh", "/bin/busybox"})
    assert ids(diagnose(ev)) == ["healthcheck-shell"]
