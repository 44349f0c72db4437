"""The kit on a second engine reached only through ``DOCKER_HOST``, and that engine going away.

A classroom often gives each learner a remote engine or a Docker-in-Docker sidecar, named by
``DOCKER_HOST``. These tests start a real second ``dockerd`` (``tests/second_engine.py``) and
prove that:

- the second engine is isolated from the main one (own containerd, data root, bridge, no
  iptables rules) and still publishes ports, through the userland proxy;
- the kit finds it from ``DOCKER_HOST`` alone, builds the reference solution there and every
  check passes; the image is on the second engine and not on the main one;
- a live ``Course`` whose engine stops mid-session shows one clear message per call (no
  traceback, nothing raised) and works again, same object, once the engine is back.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import engine
from helpers.grading.checks import REQUIRED, run_checks
from helpers.config import OPTIMIZED_TAG, SOLUTIONS_DIR, EXERCISE_DIR, image_tag
from helpers.course import Course
from helpers.image import ImageSummary
from tests.second_engine import SecondEngine, SecondEngineError

pytestmark = pytest.mark.engine

REFERENCE = SOLUTIONS_DIR / "Dockerfile.multistage"


def bridge_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def test_a_second_engine_that_cannot_start_fails_clearly_and_leaves_nothing(tmp_path):
    """No dockerd, or one that exits at once: a clear SecondEngineError, no bridge or folder."""
    with pytest.raises(SecondEngineError, match="No dockerd binary"):
        SecondEngine(dockerd=str(tmp_path / "dockerd")).setup()
    folders = set(Path("/tmp").glob("kit-engine2-*"))
    failing = SecondEngine(dockerd="/bin/false")
    with pytest.raises(SecondEngineError, match="dockerd exited with code 1 while starting"):
        failing.setup()
    assert not bridge_exists(failing.bridge)
    assert set(Path("/tmp").glob("kit-engine2-*")) <= folders


def test_second_engine_is_isolated_from_the_main_one(engine2, engine2_client, main_client):
    """Own identity, data root and containerd; no iptables rule for its bridge."""
    info = engine2_client.info()
    assert info["ID"] != main_client.info()["ID"]
    assert info["DockerRootDir"] == str(engine2.data_root)
    assert info["Driver"] == "overlay2"
    # 20.10 starts its own managed containerd, under our exec root (no --containerd given).
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    ours = [line for line in processes.splitlines()
            if line.startswith("containerd ") and str(engine2.exec_root) in line]
    assert ours, f"no containerd under {engine2.exec_root}:\n{processes}"
    # --iptables=false: the main engine's rules are the only ones.
    for table in ("filter", "nat"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True,
                               text=True).stdout
        assert engine2.bridge not in rules and str(engine2.subnet) not in rules


def test_published_port_answers_through_the_userland_proxy(engine2, engine2_client,
                                                           engine2_optimized):
    """A port published on the second engine answers from here, without iptables rules."""
    container = engine2_client.containers.run(
        engine2_optimized.image_id, detach=True, ports={"8080/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        assert ipaddress.ip_address(address) in engine2.subnet  # on our bridge, not docker0
        host_port = container.ports["8080/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{host_port}/health"
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        proxies = subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                 text=True).stdout
        assert f"-host-port {host_port}" in proxies  # docker-proxy carried it
    finally:
        container.remove(force=True)


def test_kit_uses_the_engine_docker_host_names(on_engine2):
    """probe() with only DOCKER_HOST set reports the second engine, reachable."""
    info = engine.probe()
    assert info.reachable, f"{info.error} ({info.hint})"
    assert info.url == on_engine2.host
    assert info.server_version.startswith("20.10")


def test_reference_solution_builds_and_passes_every_check_on_engine2(
        on_engine2, engine2_client, engine2_optimized, main_client):
    """The kit builds and checks the reference on the second engine; none of it lands on
    the main one (so the kit really talked to the engine DOCKER_HOST names)."""
    client = engine.connect()
    try:
        report = run_checks(client, EXERCISE_DIR, REFERENCE, dep_cache_rebuild=True)
    finally:
        client.close()
    lines = "\n".join(f"{r.id}: {r.status} {r.message}" for r in report.results)
    assert report.passed, lines
    assert all(report.get(check).status == "pass" for check in REQUIRED), lines
    assert not report.failing(), lines  # the advice checks pass too
    for tag in (engine2_optimized.tag, report.tag):
        assert tag.startswith("engine2-")
        assert engine2_client.images.list(name=tag), f"{tag} is not on the second engine"
        assert not main_client.images.list(name=tag), f"{tag} landed on the main engine"
    assert engine2_client.images.get(engine2_optimized.tag).id == engine2_optimized.image_id


#: Every live Course call, as (name, call) — each must survive an engine that went away.
LIVE_CALLS = {
    "summary": lambda kit, tag: kit.summary(tag),
    "history": lambda kit, tag: kit.history(tag),
    "breakdown": lambda kit, tag: kit.breakdown(tag),
    "image_exists": lambda kit, tag: kit.image_exists(tag),
    "health": lambda kit, tag: kit.health(tag),
    "build": lambda kit, tag: kit.build(REFERENCE, tag),
    "check_my_work": lambda kit, tag: kit.check_my_work(REFERENCE),
}


def test_course_survives_its_engine_stopping_and_recovers(on_engine2, engine2_optimized,
                                                          capsys):
    """Engine stops mid-session: each call shows "stopped answering" + "rerun", no traceback,
    returns nothing; once the engine is back the same Course works again."""
    tag = image_tag(OPTIMIZED_TAG)
    kit = Course.start()
    assert kit.live, "Course.start() fell back to the recorded run"
    before = kit.summary(tag)
    assert isinstance(before, ImageSummary) and before.image_id == engine2_optimized.image_id
    capsys.readouterr()

    on_engine2.stop()
    try:
        problems = []
        for name, call in LIVE_CALLS.items():
            try:
                result = call(kit, tag)
            except BaseException as exc:  # the contract: nothing escapes
                problems.append(f"{name} raised {type(exc).__name__}: {exc}")
                continue
            shown = capsys.readouterr()
            text = shown.out + shown.err  # show_error's text frontend prints, no kernel here
            if result not in (None, False):
                problems.append(f"{name} returned {result!r}")
            if "stopped answering" not in text or "rerun" not in text.lower():
                problems.append(f"{name} showed no 'stopped answering ... rerun' message:\n"
                                f"{text[-800:]}")
            if "Traceback" in text:
                problems.append(f"{name} printed a traceback:\n{text[-800:]}")
        assert not problems, "\n".join(problems)
    finally:
        on_engine2.start()

    after = kit.summary(tag)  # same object, no new Course
    assert isinstance(after, ImageSummary), capsys.readouterr()
    assert after.image_id == before.image_id
    assert kit.image_exists(tag)
