"""The reference image stays healthy when locked down the way production platforms run it.

``--read-only --cap-drop ALL --security-opt no-new-privileges --user 65534:65534`` on the real
engine, and no shell in the image: ``docker exec sh`` must fail there, while it works in the
single-stage image (the control that shows the probe can tell the difference).
"""

from __future__ import annotations

from helpers.image import image_config
from helpers.image import file_breakdown
from helpers.engine.containers import HARDENED_RUN, check_health, running, wait_healthy

SHELLS = {"sh", "bash", "ash", "dash", "busybox"}


def shells_in(client, tag: str) -> list[str]:
    """Paths in the image's final filesystem whose file name is a shell's."""
    paths = file_breakdown(client, tag).files["path"]
    return [path for path in paths if path.rsplit("/", 1)[-1] in SHELLS]


def test_reference_solution_is_healthy_hardened(client, optimized):
    report = check_health(client, optimized.tag, hardened=True)
    assert report.status_code == 200
    assert report.ca_roots and report.ca_roots > 100


def test_hardened_run_really_applies_the_restrictions(client, optimized):
    with running(client, optimized.tag, name="hardened", **HARDENED_RUN) as started:
        wait_healthy(started)
        started.container.reload()
        host = started.container.attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert started.container.attrs["Config"]["User"] == "65534:65534"


def test_image_itself_runs_as_non_root(client, optimized):
    user = image_config(client, optimized.tag).user
    assert user and user.split(":")[0] not in ("0", "root")


def shell_works(container) -> bool:
    """Whether ``docker exec <container> sh -c 'echo ok'`` runs (exit 0, prints ok)."""
    try:
        code, output = container.exec_run(["sh", "-c", "echo ok"])
    except Exception:  # the engine refuses to exec a missing binary with an APIError
        return False
    return code == 0 and output.strip() == b"ok"


def test_no_shell_in_the_reference_image(client, optimized):
    assert shells_in(client, optimized.tag) == []
    with running(client, optimized.tag, name="noshell") as started:
        wait_healthy(started)
        assert shell_works(started.container) is False


def test_control_the_single_stage_image_has_a_shell(client, original):
    assert "/usr/bin/sh" in shells_in(client, original.tag) or \
        "/bin/sh" in shells_in(client, original.tag)
    with running(client, original.tag, name="shell") as started:
        wait_healthy(started)
        assert shell_works(started.container) is True
