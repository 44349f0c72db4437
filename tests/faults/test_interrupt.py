"""Ctrl-C during a build or a run leaves nothing behind, on the real engine.

Two levels: in-process (SIGINT delivered to the main thread, as a terminal's Ctrl-C is) for
both build backends and for a run; and in a real Jupyter kernel, interrupted the way
JupyterLab's Stop button does it, where the learner must also see one short message instead
of a traceback, and the kernel must keep working.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from helpers.build import build_image
from helpers.engine.cli import buildkit_client
from helpers.config import image_tag
from helpers.engine.containers import running, wait_healthy

pytestmark = pytest.mark.engine


def slow_context(tmp_path: Path, seconds: int) -> tuple[Path, str]:
    """A build context whose RUN step sleeps ``seconds`` (a unique, findable process)."""
    marker = f"slow-step-{uuid.uuid4().hex[:8]}"
    (tmp_path / "Dockerfile").write_text(
        f"FROM golang:1.22\nRUN echo {marker} && sleep {seconds}\n")
    return tmp_path, marker


def host_processes(pattern: str) -> list[str]:
    """Command lines of host processes containing ``pattern`` (container processes included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if pattern in cmdline and "pytest" not in cmdline:
                found.append(cmdline.strip())
    return found


def wait_until_gone(pattern: str, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := host_processes(pattern)) and time.monotonic() < deadline:
        time.sleep(0.3)
    return left


def ctrl_c_when(condition, timeout: float = 120) -> threading.Thread:
    """Send SIGINT to the main thread (like Ctrl-C) as soon as ``condition()`` is true."""
    main = threading.get_ident()

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("backend", ["classic", "buildkit"])
def test_ctrl_c_during_a_build_cancels_it(client, watch, tmp_path, backend):
    if backend == "buildkit" and buildkit_client() is None:
        pytest.fail("no BuildKit-capable docker CLI (setup installs Debian's docker.io)")
    seconds = 400 + int(uuid.uuid4().int % 99)
    context, marker = slow_context(tmp_path, seconds)
    seen = threading.Event()
    tag = image_tag(f"interrupted-{backend}")
    ctrl_c_when(lambda: seen.is_set() and host_processes(f"sleep {seconds}"))
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        build_image(client, context, tag, backend=backend,
                    on_event=lambda event: marker in event.line and seen.set())
    assert time.monotonic() - started < seconds  # interrupted, not finished
    assert wait_until_gone(f"sleep {seconds}") == [], "the build step still runs"
    assert watch.settle() == [], "a build container was left behind"
    assert client.images.list(name=tag) == []


def test_ctrl_c_during_a_run_removes_the_container(client, watch, tmp_path):
    seconds = 500 + int(uuid.uuid4().int % 99)
    (tmp_path / "Dockerfile").write_text(
        f'FROM golang:1.22\nCMD ["sleep", "{seconds}"]\n')  # never answers /health
    tag = image_tag("never-answers")
    build_image(client, tmp_path, tag)
    ctrl_c_when(lambda: host_processes(f"sleep {seconds}"))
    with pytest.raises(KeyboardInterrupt):
        with running(client, tag) as started:
            wait_healthy(started, timeout=120)
    assert watch.settle() == [], "the container outlived Ctrl-C"
    assert wait_until_gone(f"sleep {seconds}") == []


# -- in a real kernel, interrupted like JupyterLab's Stop button --------------------------------
@pytest.fixture
def kernel(faults_namespace):
    manager, kernel_client = start_new_kernel(
        kernel_name="python3", env={**os.environ, "KIT_NAMESPACE": faults_namespace})
    try:
        yield manager, kernel_client
    finally:
        kernel_client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_cell(kernel, code: str, interrupt_when=None, timeout: float = 180) -> dict:
    """Execute ``code``; interrupt the kernel once ``interrupt_when()`` is true; collect output.

    Returns ``{"text": all plain text shown, "error": the error output or None,
    "status": the execute reply's status, "ename": its error name}``. A KitError shown by
    the kit's handler ends the cell with status ``error`` but without an error output.
    """
    manager, kernel_client = kernel
    if interrupt_when is not None:
        def watch():
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not interrupt_when():
                time.sleep(0.1)
            manager.interrupt_kernel()
        threading.Thread(target=watch, daemon=True).start()
    msg_id = kernel_client.execute(code)
    texts, error = [], None
    while True:
        msg = kernel_client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind in ("display_data", "execute_result"):
            texts.append(content["data"].get("text/plain", ""))
        elif kind == "stream":
            texts.append(content["text"])
        elif kind == "error":
            error = content
            texts.extend(content["traceback"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while (reply := kernel_client.get_shell_msg(timeout=timeout))[
            "parent_header"].get("msg_id") != msg_id:
        pass
    return {"text": "\n".join(texts), "error": error, "status": reply["content"]["status"],
            "ename": reply["content"].get("ename")}


def test_stop_button_during_a_notebook_build(client, watch, kernel, tmp_path):
    seconds = 600 + int(uuid.uuid4().int % 99)
    context, _ = slow_context(tmp_path, seconds)
    setup = run_cell(kernel, "from helpers.course import Course\nkit = Course.start()\n"
                             "print('live' if kit.live else 'recorded')")
    assert setup["text"].strip().endswith("live"), setup
    result = run_cell(kernel, f"kit.build('Dockerfile', 'faults-stopped', {str(context)!r})",
                      interrupt_when=lambda: host_processes(f"sleep {seconds}"))
    assert (result["status"], result["ename"], result["error"]) == \
        ("error", "Interrupted", None), result
    assert "Stopped: the build was interrupted" in result["text"]
    assert "Traceback" not in result["text"] and "KeyboardInterrupt" not in result["text"]
    assert wait_until_gone(f"sleep {seconds}") == []
    assert watch.settle() == []
    # The kernel still works, and so does the kit's connection.
    after = run_cell(kernel, "print(kit.image_exists('faults-stopped'))")
    assert after["status"] == "ok" and after["text"].strip() == "False"


def test_stop_button_during_a_notebook_health_check(client, watch, kernel, tmp_path):
    seconds = 700 + int(uuid.uuid4().int % 99)
    (tmp_path / "Dockerfile").write_text(f'FROM golang:1.22\nCMD ["sleep", "{seconds}"]\n')
    tag = image_tag("never-answers-kernel")
    build_image(client, tmp_path, tag)
    run_cell(kernel, "from helpers.course import Course\nkit = Course.start()")
    result = run_cell(kernel, f"kit.health({tag!r})",
                      interrupt_when=lambda: host_processes(f"sleep {seconds}"))
    assert (result["status"], result["ename"], result["error"]) == \
        ("error", "Interrupted", None), result
    assert "Stopped: the run was interrupted" in result["text"]
    assert "Traceback" not in result["text"]
    assert watch.settle() == [], "the container outlived the Stop button"
