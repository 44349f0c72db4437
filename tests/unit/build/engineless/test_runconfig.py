"""The run config an engine-less build writes: what Docker's builders put in ``Config``."""

from __future__ import annotations

import textwrap

import pytest

from helpers.build.engineless.entries import NeedsEngine
from helpers.build.engineless.runconfig import DEFAULT_PATH, duration_ns, stage_config
from helpers.dockerfile import parse, parse_text
from helpers.config import EXERCISE_DIR, SOLUTIONS_DIR


def config_of(text: str, base: dict | None = None) -> dict:
    model = parse_text(textwrap.dedent(text).lstrip("\n"))
    return stage_config(model, model.final, base)


def test_the_reference_solution_config_is_what_docker_inspect_shows():
    model = parse(SOLUTIONS_DIR / "Dockerfile.multistage")
    assert stage_config(model, model.final) == {
        "User": "65534:65534", "ExposedPorts": {"8080/tcp": {}},
        "Healthcheck": {"Test": ["CMD", "/server", "-healthcheck"], "Interval": 10 * 10**9,
                        "Timeout": 3 * 10**9, "StartPeriod": 2 * 10**9, "Retries": 3},
        "Entrypoint": ["/server"], "Env": [f"PATH={DEFAULT_PATH}"]}


def test_the_base_config_is_kept_and_extended():
    base = {"Env": ["PATH=/go/bin:/usr/bin", "GOPATH=/go"], "WorkingDir": "/go",
            "Cmd": ["bash"]}
    model = parse(EXERCISE_DIR / "Dockerfile")
    config = stage_config(model, model.final, base)
    assert config["Cmd"] == ["./server"] and config["WorkingDir"] == "/app"
    assert config["Env"] == ["PATH=/go/bin:/usr/bin", "GOPATH=/go"]
    assert base["Cmd"] == ["bash"]  # the base's dict is not changed


def test_entrypoint_resets_an_inherited_cmd_and_shell_form_uses_shell():
    config = config_of("""
        FROM scratch AS one
        CMD ["/a"]
        FROM one
        SHELL ["/bin/ash", "-c"]
        ENTRYPOINT /server --port 8080
        """)
    assert config["Entrypoint"] == ["/bin/ash", "-c", "/server --port 8080"]
    assert "Cmd" not in config


def test_env_labels_expose_stopsignal_and_healthcheck_forms():
    config = config_of("""
        FROM scratch
        ENV PORT=8080 MODE=prod
        LABEL org.opencontainers.image.title="server" team=web
        EXPOSE 8080 9090/udp
        STOPSIGNAL SIGINT
        HEALTHCHECK --interval=1m30s CMD wget -q http://localhost/health
        """)
    assert config["Env"] == [f"PATH={DEFAULT_PATH}", "PORT=8080", "MODE=prod"]
    assert config["Labels"] == {"org.opencontainers.image.title": "server", "team": "web"}
    assert config["ExposedPorts"] == {"8080/tcp": {}, "9090/udp": {}}
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q http://localhost/health"],
                                     "Interval": 90 * 10**9}
    assert config_of("FROM scratch\nHEALTHCHECK NONE\n")["Healthcheck"] == {"Test": ["NONE"]}


def test_workdir_only_when_set():
    assert "WorkingDir" not in config_of("FROM scratch\nCOPY a /a\n")
    assert config_of("FROM scratch\nWORKDIR /app\nWORKDIR data\n")["WorkingDir"] == "/app/data"


@pytest.mark.parametrize("text, ns", [("10s", 10**10), ("1m30s", 90 * 10**9),
                                      ("500ms", 5 * 10**8), ("1.5h", 5400 * 10**9)])
def test_durations_parse_like_go(text, ns):
    assert duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "10", "ten s", "5x"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        duration_ns(text)


def test_onbuild_needs_an_engine():
    with pytest.raises(NeedsEngine, match="ONBUILD"):
        config_of("FROM scratch\nONBUILD RUN true\n")
