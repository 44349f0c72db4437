"""helpers.grading.evidence without an engine: what is measured, and that nothing raises.

The checks judge :class:`~helpers.grading.evidence.Facts`; these tests cover how the facts are
obtained: the Dockerfile alone (:func:`read_dockerfile`), one fact at a time
(:func:`_measure` keeps the reason a fact could not be measured), the base layers and the
engine's architecture, and hadolint. The build, the run and the rebuild need an engine and
are covered by tests/integration/test_checks.py.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import requests

from helpers.errors import BuildError, Interrupted, KitError
from helpers.grading import evidence
from helpers.grading.checks import check_lint, evaluate
from helpers.grading.evidence import _measure, gather, read_dockerfile, run_hadolint
from tests.unit.fakes import FakeClient, FakeImage
from tests.unit.grading.test_checks import DYNAMIC, REPO_CONTEXT, STATIC, reference_facts
from tests.unit.grading.test_mistakes import BUILDER, REFERENCE, model


# ---------------------------------------------------------------------------------------------
# The Dockerfile alone (engine-less mode and the start of every gather)
# ---------------------------------------------------------------------------------------------
def test_read_dockerfile_parses_and_looks_at_the_context():
    facts = read_dockerfile(REPO_CONTEXT, REFERENCE, "t", no_engine="no engine here")
    assert facts.evidence.model is not None and facts.evidence.parse_error is None
    assert len(facts.evidence.model.stages) >= 2
    assert facts.evidence.dockerignore == (REPO_CONTEXT / ".dockerignore").is_file()
    assert (facts.dockerfile, facts.context, facts.tag) == (REFERENCE, REPO_CONTEXT, "t")
    assert facts.no_engine == "no engine here"
    assert facts.evidence.config is None and facts.size_bytes is None  # nothing dynamic


def test_read_dockerfile_keeps_a_parse_error(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FORM golang:1.22\n")
    facts = read_dockerfile(tmp_path, dockerfile, "t")
    assert facts.evidence.model is None
    assert isinstance(facts.evidence.parse_error, KitError)
    assert facts.evidence.dockerignore is False


def test_a_failed_build_leaves_only_the_static_facts(monkeypatch):
    error = BuildError("exit code: 1", step=6, instruction="RUN go build", hint="Read the log.")

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(evidence, "build_image", fail)
    facts = gather(FakeClient(), REPO_CONTEXT, REFERENCE, "t")
    assert facts.evidence.build_error is error
    assert facts.evidence.model is not None
    assert (facts.evidence.config, facts.size_bytes, facts.health_ok, facts.dep_cache) == (
        None, None, None, None)
    report = evaluate(facts)
    assert {r.id for r in report.results if r.status == "fail"} >= set(DYNAMIC)
    assert report.get("multi-stage").status == "pass"


# ---------------------------------------------------------------------------------------------
# One fact at a time: a failure becomes the fact's reason, never a traceback
# ---------------------------------------------------------------------------------------------
def raising(exc: BaseException):
    def function(*args, **kwargs):
        raise exc
    return function


def test_measure_returns_what_the_function_returns():
    facts = reference_facts()
    assert _measure(facts, "config", lambda a, b=0: a + b, 1, b=2) == 3
    assert facts.unmeasured == {}


@pytest.mark.parametrize("exc, reason", [
    (KitError("The export cannot be read: bad gzip.", "hint"),
     "The export cannot be read: bad gzip."),
    (ValueError("boom\nsecond line"),
     "the kit failed while measuring it (ValueError: boom); please report this"),
    (KeyError(), "the kit failed while measuring it (KeyError: ); please report this"),
], ids=["kit-error", "bug", "empty-message"])
def test_measure_keeps_the_reason(exc, reason):
    facts = reference_facts()
    assert _measure(facts, "breakdown", raising(exc)) is None
    assert facts.unmeasured == {"breakdown": reason}


def test_measure_names_an_engine_that_stopped_answering():
    facts = reference_facts()
    lost = requests.exceptions.ConnectionError("Connection aborted.")
    assert _measure(facts, "elf", raising(lost)) is None
    assert "stopped answering" in facts.unmeasured["elf"]


def test_measure_lets_ctrl_c_through():
    with pytest.raises(Interrupted):
        _measure(reference_facts(), "health", raising(Interrupted("Stopped.")))


def test_an_unmeasured_fact_skips_only_its_checks():
    facts = reference_facts()
    _measure(facts, "ca", raising(KitError("the bundle cannot be read")))
    report = evaluate(facts)
    assert report.get("ca-certs").status == "skip"
    assert report.get("ca-certs").message == "Not measured: the bundle cannot be read"
    assert [r.id for r in report.results if r.status != "pass"] == ["ca-certs"]
    assert all(report.get(check_id).status == "pass" for check_id in STATIC)


# ---------------------------------------------------------------------------------------------
# Base layers of a minimal runtime base (what only-binary leaves out) and the engine's arch
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("runtime, images, layers", [
    ("FROM alpine:3.19\n", [FakeImage("alpine:3.19", 7_800_000, 1)], 1),
    ("FROM gcr.io/distroless/static-debian12:nonroot\n",
     [FakeImage("gcr.io/distroless/static-debian12:nonroot", 2_000_000, 3)], 3),
    ("FROM alpine:3.19\n", [], 0),                                    # not pulled: count all
    ("FROM scratch\n", [], 0),
    ("FROM debian:12\n", [FakeImage("debian:12", 117_000_000, 1)], 0),  # not minimal
    ("FROM golang:1.22\n", [FakeImage("golang:1.22", 850_000_000, 7)], 0),
    ("FROM build\n", [], 0),                                          # an earlier stage
])
def test_base_layer_count(runtime, images, layers):
    parsed = model(BUILDER + runtime + "COPY --from=build /out/server /server\n")
    assert evidence._base_layer_count(FakeClient(images=images), parsed) == layers


def test_base_layer_count_without_a_model():
    assert evidence._base_layer_count(FakeClient(), None) == 0


@pytest.mark.parametrize("arch, goarch", [("x86_64", "amd64"), ("aarch64", "arm64"),
                                          ("s390x", "s390x"), (None, "")])
def test_engine_arch_in_go_terms(arch, goarch):
    class Client:
        def version(self):
            return {} if arch is None else {"Arch": arch}

    assert evidence._engine_arch(Client()) == goarch


# ---------------------------------------------------------------------------------------------
# run_hadolint (the venv's real hadolint; rebuild_after_edit needs an engine: integration)
# ---------------------------------------------------------------------------------------------
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
needs_hadolint = pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint not installed")


@needs_hadolint
def test_run_hadolint_reports_warnings(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM golang\nRUN cd /src && go build\nCMD ./server\n")
    findings = run_hadolint(dockerfile)
    assert {(f["code"], f["level"], f["line"]) for f in findings} >= {
        ("DL3006", "warning", 1), ("DL3003", "warning", 2), ("DL3025", "warning", 3)}
    assert all({"code", "level", "line", "message"} <= set(f) for f in findings)
    found = check_lint(reference_facts(lint=findings))
    assert found.status == "fail"
    assert found.message.startswith(f"hadolint: {len(findings)} warning(s): line 1 DL3006: ")


@needs_hadolint
def test_run_hadolint_passes_the_reference_solution():
    findings = run_hadolint(REFERENCE)
    assert [f for f in findings if f["level"] in ("error", "warning")] == []
    assert check_lint(reference_facts(lint=findings)).status == "pass"


def test_run_hadolint_without_the_binary(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(evidence.sys, "executable", str(tmp_path / "python"))
    assert run_hadolint(REFERENCE) is None


def test_run_hadolint_with_unreadable_output(monkeypatch, tmp_path):
    fake = tmp_path / "hadolint"
    fake.write_text("#!/bin/sh\necho 'hadolint: internal error'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run_hadolint(REFERENCE) is None
