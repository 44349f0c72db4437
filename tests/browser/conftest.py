"""Fixtures for the browser tests: a throw-away JupyterLab server and Debian's Chromium.

The server runs on a free loopback port with a random token, rooted at the repository (so
``notebooks/`` opens as in ``make lab``), with its own runtime, config, settings and workspace
folders under a temporary directory: nothing a learner or another test sees is touched. The
settings turn off cell virtualisation (``windowingMode: none``, else JupyterLab 4 leaves
off-screen outputs out of the DOM), autosave (a Run All must never write outputs into the
committed notebooks) and news/update checks (no network, no toast over the notebook).

Kernels inherit ``KIT_NAMESPACE=browser``, so every image and container the notebooks make is
tagged ``browser-…`` and never collides with a learner's. At the end the kernels are shut
down, the server is stopped, and the namespace's containers and superseded (untagged) images
are removed; its tagged images stay as the build cache of the next run (allowed by
``tests/final/test_no_leftovers.py``).

Playwright (from PyPI) drives the system Chromium through ``executable_path``; no browser is
ever downloaded. A missing Chromium fails the tests: setup (``make test``) installs it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from helpers.classroom.records import RESULTS_ENV
from helpers.config import MANAGED_LABEL, NAMESPACE_LABEL, REPO_ROOT
from tests.class_results import seed_class_results

NAMESPACE = "browser"
CHROMIUM = os.environ.get("KIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 30

#: User settings of the test server, by plugin id (``package:plugin``).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


@dataclass
class LabServer:
    """A running JupyterLab: where it listens and how to ask it things."""

    url: str
    token: str
    runtime_dir: Path
    log_path: Path

    def page_url(self, path: str) -> str:
        """URL of a JupyterLab page (``lab/tree/notebooks/…``), token included."""
        return f"{self.url}{path}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> object:
        """Call the REST API (``api/kernels``…); the decoded JSON answer, or None if empty."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_settings(settings_dir: Path) -> None:
    """One ``<plugin>.jupyterlab-settings`` file per entry of :data:`LAB_SETTINGS`."""
    for plugin_id, values in LAB_SETTINGS.items():
        package, plugin = plugin_id.split(":")
        path = settings_dir / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def wait_until_answering(server: LabServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {process.returncode}:\n"
                        f"{server.log_tail()}", pytrace=False)
        try:
            server.api("api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s:\n"
                f"{server.log_tail()}", pytrace=False)


def shut_down_kernels(server: LabServer) -> None:
    """DELETE every kernel the server runs (the clean way; terminating the server follows)."""
    try:
        kernels = server.api("api/kernels") or []
    except (urllib.error.URLError, OSError):
        return
    for kernel in kernels:
        try:
            server.api(f"api/kernels/{kernel['id']}", method="DELETE", timeout=30)
        except (urllib.error.URLError, OSError):
            pass


def forget_notebooks(server: LabServer) -> None:
    """Shut down every notebook session (and its kernel) and clear the saved workspaces.

    Otherwise the next page would reopen the previous notebooks as tabs and start their
    kernels again.
    """
    for session in server.api("api/sessions") or []:
        server.api(f"api/sessions/{session['id']}", method="DELETE", timeout=30)
    listing = server.api("lab/api/workspaces") or {}
    for workspace_id in listing.get("workspaces", {}).get("ids", []):
        server.api(f"lab/api/workspaces/{workspace_id}", method="DELETE")


def stray_kernel_pids(runtime_dir: Path) -> list[int]:
    """Kernels still alive whose connection file lies in this server's runtime folder."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(runtime_dir) in cmdline and "kernel" in cmdline:
            pids.append(int(proc.name))
    return pids


def stop_server(server: LabServer, process: subprocess.Popen) -> None:
    """Shut kernels down, terminate the server, and make sure no kernel outlives it."""
    shut_down_kernels(server)
    process.terminate()    # SIGTERM: the server stops its remaining kernels itself
    try:
        process.wait(SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in stray_kernel_pids(server.runtime_dir):   # kernels run in their own sessions
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove_namespace_leftovers() -> None:
    """Containers and untagged images of the ``browser`` namespace; tagged images stay."""
    from docker.errors import APIError

    from helpers import engine
    from helpers.errors import EngineUnavailable

    try:
        client = engine.connect()
    except EngineUnavailable:
        return
    labels = [f"{MANAGED_LABEL}=true", f"{NAMESPACE_LABEL}={NAMESPACE}"]
    try:
        for container in client.containers.list(all=True, filters={"label": labels}):
            container.remove(force=True)
        for image in client.images.list(filters={"label": labels, "dangling": True}):
            try:
                client.images.remove(image.id, force=True)
            except APIError:
                pass    # still a parent of another image: tests/final names it if it stays
    finally:
        client.close()


@pytest.fixture(scope="package")
def lab_server(tmp_path_factory) -> LabServer:
    """JupyterLab on a free port, rooted at the repository, kernels in namespace ``browser``
    and a class results folder (``KIT_RESULTS_DIR``) seeded with real records, which the
    instructor's notebook shows and notebook 02's checks add to."""
    base = tmp_path_factory.mktemp("jupyterlab")
    settings_dir = base / "settings"
    write_settings(settings_dir)
    seed_class_results(base / "class-results")
    env = dict(os.environ,
               KIT_NAMESPACE=NAMESPACE,
               **{RESULTS_ENV: str(base / "class-results")},
               JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTER_CONFIG_DIR=str(base / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
               MPLBACKEND="Agg")
    server = LabServer(url=f"http://127.0.0.1:{free_port()}/", token=secrets.token_hex(16),
                       runtime_dir=base / "runtime", log_path=base / "server.log")
    port = server.url.rsplit(":", 1)[1].strip("/")
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={server.token}",
               f"--ServerApp.root_dir={REPO_ROOT}",
               "--LabApp.expose_app_in_browser=True",   # window.jupyterapp, as Galata uses
               f"--LabApp.user_settings_dir={settings_dir}",
               f"--LabApp.workspaces_dir={base / 'workspaces'}",
               # JupyterLab checkpoints a notebook on open: keep that out of notebooks/
               f"--FileCheckpoints.checkpoint_dir={base / 'checkpoints'}"]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_answering(server, process)
        yield server
    finally:
        stop_server(server, process)
        remove_namespace_leftovers()


@pytest.fixture
def lab(lab_server) -> LabServer:
    """The shared server, left as found: one notebook's kernel never outlives its test."""
    try:
        yield lab_server
    finally:
        forget_notebooks(lab_server)


@pytest.fixture(scope="package")
def browser():
    """Debian's headless Chromium, driven by Playwright; fails (not skips) when missing."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/ensure-browser.sh (part of "
                    "`make test`) or set KIT_CHROMIUM to a Chromium binary", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (no state shared between notebooks)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
