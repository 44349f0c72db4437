"""A second build that loads the main engine while a test runs: no-cache Go builds in a loop.

The lessons' self-checks must hold on a busy machine (issue 14: "two builds at once"), so the
notebook test runs them while :class:`EngineLoad` keeps one CPU-heavy build going: a
``--no-cache`` BuildKit build whose ``RUN`` compiles the exercise and Go's standard library
from nothing (``go build -a``), again and again until stopped.

It leaves nothing behind, which ``tests/final/test_no_leftovers.py`` checks:

- the build exports one small file to a temporary folder (``--output type=local``), so no
  image is ever created or tagged;
- BuildKit runs its ``RUN`` steps without engine containers (nothing in ``docker ps -a``);
- its ``RUN`` deletes Go's build cache and the binary before the step ends, so the build
  cache record BuildKit keeps of each run holds a few bytes;
- :meth:`EngineLoad.stop` (also on errors and Ctrl-C, as a context manager) terminates the
  CLI's process group, which cancels the build on the engine, and waits for it to exit.

Without a BuildKit-capable docker CLI there is no load (``EngineLoad.available`` is False and
``reason`` says why); callers report that rather than claim the run was loaded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.config import EXERCISE_DIR
from helpers.engine.cli import buildkit_client

#: The build stage does the work; the final stage holds one file, exported to a folder.
DOCKERFILE = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd ./cmd
RUN GOCACHE=/tmp/loadgen-cache CGO_ENABLED=0 go build -a -o /tmp/loadgen-server ./cmd/server \\
    && rm -rf /tmp/loadgen-cache /tmp/loadgen-server && date > /loaded
FROM scratch
COPY --from=build /loaded /loaded
"""


@dataclass
class LoadReport:
    """What the load did: builds started and finished, their seconds, the load averages."""

    started: int = 0
    finished: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)
    load_average: list[float] = field(default_factory=list)
    last_error: str = ""

    def summary(self) -> str:
        mean = sum(self.seconds) / len(self.seconds) if self.seconds else 0.0
        peak = max(self.load_average) if self.load_average else 0.0
        text = (f"engine load: {self.started} no-cache builds started, {self.finished} "
                f"finished (mean {mean:.1f} s), {self.failed} failed; peak load average "
                f"{peak:.1f}")
        return text + (f"; last error: {self.last_error}" if self.last_error else "")


class EngineLoad:
    """Keep one no-cache Go build running on the engine until :meth:`stop`.

    Use as a context manager (``with EngineLoad() as load: ...``) so the build is stopped
    whatever happens inside.
    """

    def __init__(self, context: Path = EXERCISE_DIR):
        self._context = Path(context)
        self._cli = buildkit_client()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._work: Path | None = None
        self.report = LoadReport()

    @property
    def available(self) -> bool:
        """Whether a BuildKit-capable docker CLI exists to build with."""
        return self._cli is not None

    @property
    def reason(self) -> str:
        return "" if self.available else "no BuildKit-capable docker CLI: no engine load"

    def _command(self, dockerfile: Path, out: Path) -> list[str]:
        base = ([self._cli.path, "buildx", "build"] if self._cli.buildx
                else [self._cli.path, "build"])
        return base + ["--no-cache", "--progress=plain", "-f", str(dockerfile),
                       "--output", f"type=local,dest={out}", str(self._context)]

    def start(self) -> "EngineLoad":
        """Start the loop in a background thread (nothing happens without BuildKit)."""
        if not self.available or self._thread is not None:
            return self
        self._work = Path(tempfile.mkdtemp(prefix="kit-engine-load-"))
        dockerfile = self._work / "Dockerfile.load"
        dockerfile.write_text(DOCKERFILE)
        self._thread = threading.Thread(target=self._loop, args=(dockerfile,),
                                        name="engine-load", daemon=True)
        self._thread.start()
        return self

    def _loop(self, dockerfile: Path) -> None:
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        while not self._stop.is_set():
            out = Path(tempfile.mkdtemp(dir=self._work, prefix="out-"))
            began = time.perf_counter()
            with self._lock:
                if self._stop.is_set():
                    break
                self._process = subprocess.Popen(
                    self._command(dockerfile, out), stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
                self.report.started += 1
            _, stderr = self._process.communicate()
            self.report.load_average.append(os.getloadavg()[0])
            if self._stop.is_set():
                break
            if self._process.returncode == 0:
                self.report.finished += 1
                self.report.seconds.append(time.perf_counter() - began)
            else:
                self.report.failed += 1
                lines = (stderr or "").strip().splitlines()
                self.report.last_error = lines[-1] if lines else f"exit {self._process.returncode}"
                self._stop.wait(2)  # a failing build (no base image?) must not spin
            shutil.rmtree(out, ignore_errors=True)

    def stop(self) -> LoadReport:
        """Cancel the running build, wait for its CLI to exit, remove the temporary folder."""
        self._stop.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGINT)  # the CLI cancels the build on SIGINT
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            except ProcessLookupError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
        return self.report

    def __enter__(self) -> "EngineLoad":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
