"""Containers are always cleaned up, on a fake client (no daemon)."""

from __future__ import annotations

import pytest

from helpers.engine.containers import (
    HealthReport,
    check_health,
    exit_hint,
    running,
    wait_healthy,
)
from helpers.errors import KitError, RunError
from tests.unit.fakes import FakeClient


def test_container_removed_after_normal_exit():
    client = FakeClient()
    with running(client, "img") as started:
        assert started.url == "http://127.0.0.1:49153"
    (container,) = client.containers.created
    assert container.stopped and container.removed


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_container_removed_on_exception_and_ctrl_c(exc):
    client = FakeClient()
    with pytest.raises(type(exc)):
        with running(client, "img"):
            raise exc
    (container,) = client.containers.created
    assert container.removed


def test_run_labels_and_free_port_request(monkeypatch):
    monkeypatch.setenv("KIT_NAMESPACE", "Alice")
    client = FakeClient()
    with running(client, "img", name="demo"):
        pass
    kwargs = client.containers.run_kwargs
    assert kwargs["labels"]["com.multistage-kit.managed"] == "true"
    assert kwargs["labels"]["com.multistage-kit.namespace"] == "alice"
    assert kwargs["name"].startswith("alice-kit-demo-")
    # host port None: the engine picks a free one, so parallel runs never race for it
    assert kwargs["ports"] == {"8080/tcp": ("127.0.0.1", None)}


def test_missing_image_is_a_kit_error():
    with pytest.raises(KitError, match="no image 'missing'"):
        with running(FakeClient(), "missing"):
            pass


def test_exited_container_reports_exit_code_logs_and_hint():
    client = FakeClient(status="exited", exit_code=1,
                        logs=b"exec /server: no such file or directory\n")
    with running(client, "img") as started:
        with pytest.raises(RunError) as info:
            wait_healthy(started, timeout=2)
    assert info.value.exit_code == 1
    assert "no such file or directory" in info.value.logs
    assert "CGO_ENABLED=0" in info.value.hint
    assert client.containers.created[0].removed


def test_exit_hints_name_the_classic_causes():
    assert "GOOS/GOARCH" in exit_hint(1, "exec /server: exec format error")
    assert "not found" in exit_hint(127, "")


def test_container_that_fails_to_start_is_removed():
    """docker run = create + start: a failed start must not leave a 'created' container."""
    client = FakeClient(start_error='exec: "/bin/sh": stat /bin/sh: no such file or directory')
    with pytest.raises(KitError, match="could not start"):
        with running(client, "img"):
            pass
    (container,) = client.containers.created
    assert container.removed and not container.started


def test_ctrl_c_during_create_still_removes_the_container():
    client = FakeClient()
    with pytest.raises(KeyboardInterrupt):
        with running(client, "interrupted"):
            pass  # never reached
    (container,) = client.containers.created
    assert container.removed


@pytest.mark.parametrize("engine_says", [
    "driver failed programming external connectivity on endpoint x: Bind for "
    "127.0.0.1:8080 failed: port is already allocated",
    "Error starting userland proxy: listen tcp4 127.0.0.1:8080: bind: address already in use",
])
def test_port_in_use_names_the_port_and_how_to_avoid_it(engine_says):
    client = FakeClient(start_error=engine_says)
    with pytest.raises(KitError) as caught:
        with running(client, "img", host_port=8080):
            pass
    assert "Port 8080" in caught.value.message and "already in use" in caught.value.message
    assert "host_port unset" in caught.value.hint
    assert client.containers.run_kwargs["ports"] == {"8080/tcp": ("127.0.0.1", 8080)}
    (container,) = client.containers.created
    assert container.removed


def test_hardened_health_check_locks_the_container_down(monkeypatch):
    monkeypatch.setattr("helpers.engine.containers.wait_healthy",
                        lambda started, timeout: HealthReport(200, {}, 0.1))
    client = FakeClient()
    report = check_health(client, "img", hardened=True, timeout=1)
    kwargs = client.containers.run_kwargs
    assert report.healthy
    assert kwargs["read_only"] is True and kwargs["cap_drop"] == ["ALL"]
    assert kwargs["user"] == "65534:65534"
    assert "no-new-privileges" in kwargs["security_opt"]


def test_remote_engine_publishes_where_the_notebook_can_reach_it(monkeypatch):
    monkeypatch.delenv("KIT_PUBLISH_IP", raising=False)
    client = FakeClient(base_url="http://build-box.example:2375")
    with running(client, "img") as started:
        assert started.url == "http://build-box.example:49153"
    assert client.containers.run_kwargs["ports"] == {"8080/tcp": ("0.0.0.0", None)}
    monkeypatch.setenv("KIT_PUBLISH_IP", "10.0.0.5")
    client = FakeClient(base_url="http://build-box.example:2375")
    with running(client, "img"):
        pass
    assert client.containers.run_kwargs["ports"] == {"8080/tcp": ("10.0.0.5", None)}


def test_local_engine_publishes_on_loopback_only(monkeypatch):
    monkeypatch.delenv("KIT_PUBLISH_IP", raising=False)
    for url in ("http+docker://localhost", "http://127.0.0.1:2375", "http://localhost:2375"):
        client = FakeClient(base_url=url)
        with running(client, "img"):
            pass
        assert client.containers.run_kwargs["ports"]["8080/tcp"][0] == "127.0.0.1", url
