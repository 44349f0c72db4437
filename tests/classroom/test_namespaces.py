"""Learners sharing one engine: namespaces keep their work apart, and reset respects them.

A classroom runs one kernel per learner against a shared engine, each with its own
``KIT_NAMESPACE``. Here four learners (``learner1``..``learner4``), each its own process,
check their own Dockerfile at the same time on the main engine with
``python -m helpers check --json``. Each Dockerfile is the reference solution plus
``LABEL learner=N``, so the four images differ and a learner overwriting another's tag
would show. Each check leaves its record in a class results folder (``KIT_RESULTS_DIR``),
and ``python -m helpers class-report`` then shows four rows with the verdicts each learner's
own check printed, and a gradebook CSV pandas reads with one row per learner. Then
``python -m helpers reset`` for one learner removes that learner's images only.
``reset --all`` (every namespace) runs on the second engine, where everything belongs to
this test; on the main engine it would also remove the suite's kept build cache.

Nothing of the learners' namespaces is left on the main engine afterwards (the module's
fixture resets all four, as tests/final/test_no_leftovers.py expects).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from helpers.build import build_image
from helpers.classroom.classreport import read_class_report
from helpers.classroom.records import RESULTS_ENV
from helpers.grading.checks import REQUIRED
from helpers.config import (EXERCISE_DIR, MANAGED_LABEL, NAMESPACE_LABEL, REPO_ROOT,
                            SOLUTIONS_DIR, image_tag, kit_labels)
from tests.class_results import report_rows
from tests.classroom.conftest import GOLANG, child_env, point_at, reset_namespace

pytestmark = pytest.mark.engine

LEARNERS = {n: f"learner{n}" for n in range(1, 5)}
#: The tag run_checks gives the image under test (``image_tag("exercise2-check")``).
CHECK_TAG = "exercise2-check"
#: Seconds the four concurrent checks may take together (each builds, runs and rebuilds).
CLASSROOM_TIMEOUT = 1200
#: The learner whose Dockerfile copies no CA bundle.
NO_CA_LEARNER = 3


@dataclass
class LearnerRun:
    """One learner's ``python -m helpers check --json`` process and what it printed."""

    n: int
    namespace: str
    returncode: int | None
    seconds: float
    stdout: str
    stderr: str
    results: Path  # the class results folder its check wrote to

    @property
    def report(self) -> dict | None:
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None

    def describe(self) -> str:
        return (f"{self.namespace}: exit {self.returncode} after {self.seconds:.1f} s\n"
                f"stdout: {self.stdout[-1500:]}\nstderr: {self.stderr[-1500:]}")


def learner_context(root: Path, n: int) -> tuple[Path, Path]:
    """A copy of the exercise folder holding learner ``n``'s Dockerfile.multistage.

    The Dockerfile is the reference solution plus ``LABEL learner="n"`` at the end, so the
    four learners' images differ in their last step only (the rest comes from the cache).
    Learner :data:`NO_CA_LEARNER` forgot to copy the CA bundle: that learner's check fails
    ``ca-certs`` (and only it), so the class report has a row that differs.
    """
    context = root / f"learner{n}" / "multistage-go"
    shutil.copytree(EXERCISE_DIR, context)
    dockerfile = context / "Dockerfile.multistage"
    lines = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text().splitlines(keepends=True)
    if n == NO_CA_LEARNER:
        lines = [line for line in lines if "ca-certificates.crt" not in line]
    dockerfile.write_text("".join(lines).rstrip("\n") + f'\nLABEL learner="{n}"\n')
    return context, dockerfile


def expected_failures(n: int) -> list[str]:
    """The required checks learner ``n``'s Dockerfile fails."""
    return ["ca-certs"] if n == NO_CA_LEARNER else []


def namespace_images(client, namespace: str) -> list:
    """The kit's images in ``namespace`` on ``client``'s engine."""
    return client.images.list(filters={"label": [f"{MANAGED_LABEL}=true",
                                                 f"{NAMESPACE_LABEL}={namespace}"]})


def namespace_containers(client, namespace: str) -> list:
    """The kit's containers (running or not) in ``namespace``."""
    return client.containers.list(all=True, filters={
        "label": [f"{MANAGED_LABEL}=true", f"{NAMESPACE_LABEL}={namespace}"]})


@pytest.fixture(scope="module")
def learners_cleaned(main_client):
    """The learners' namespaces empty before the module and after it (nothing left over)."""
    for namespace in LEARNERS.values():
        reset_namespace(main_client, namespace)
    yield LEARNERS
    for namespace in LEARNERS.values():
        report = reset_namespace(main_client, namespace)
        assert not report.failed, report.failed


@pytest.fixture(scope="module")
def classroom(learners_cleaned, tmp_path_factory) -> dict[int, LearnerRun]:
    """Four learners' ``check`` processes, started together; each one's output and time."""
    root = tmp_path_factory.mktemp("classroom")
    results = root / "class-results"
    results.mkdir()
    processes = {}
    started = time.monotonic()
    for n, namespace in LEARNERS.items():
        context, dockerfile = learner_context(root, n)
        out, err = root / f"learner{n}.json", root / f"learner{n}.log"
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            # Files, not pipes: four processes printing at once cannot fill a pipe and stall.
            processes[n] = subprocess.Popen(
                [sys.executable, "-m", "helpers", "check", "--context", str(context),
                 "--dockerfile", str(dockerfile), "--json"],
                stdout=stdout, stderr=stderr, cwd=REPO_ROOT,
                env=child_env(KIT_NAMESPACE=namespace, **{RESULTS_ENV: str(results)}))
    finished: dict[int, float] = {}
    try:
        while len(finished) < len(processes):
            if time.monotonic() - started > CLASSROOM_TIMEOUT:
                pytest.fail(f"the four checks took more than {CLASSROOM_TIMEOUT} s")
            for n, process in processes.items():
                if n not in finished and process.poll() is not None:
                    finished[n] = time.monotonic() - started
            time.sleep(0.2)
    finally:
        for process in processes.values():
            if process.poll() is None:  # only on failure: Ctrl-C, so the kit cleans up
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
    return {n: LearnerRun(n, LEARNERS[n], processes[n].returncode, finished[n],
                          (root / f"learner{n}.json").read_text(errors="replace"),
                          (root / f"learner{n}.log").read_text(errors="replace"), results)
            for n in LEARNERS}


def test_four_learners_check_at_once_without_colliding(classroom, main_client, capsys):
    """Four concurrent checks each give their own learner's verdict (three pass, one fails
    ``ca-certs``), and each namespace holds its own learner's image."""
    with capsys.disabled():  # the timings are worth seeing even when the test passes
        print("\nfour learners, one engine, checks started together:")
        for run in classroom.values():
            print(f"  {run.namespace}: exit {run.returncode} after {run.seconds:6.1f} s")
        print(f"  all done after {max(run.seconds for run in classroom.values()):.1f} s")
    for n, run in classroom.items():
        failing = expected_failures(n)
        assert run.returncode == (1 if failing else 0), run.describe()
        report = run.report
        assert report is not None and report["passed"] is not failing, run.describe()
        statuses = {check["id"]: check["status"] for check in report["checks"]}
        assert [c for c in REQUIRED if statuses[c] != "pass"] == failing, statuses

    image_ids = set()
    for n, namespace in LEARNERS.items():
        tag = f"{namespace}-{CHECK_TAG}"
        image = main_client.images.get(tag)
        assert image.labels.get("learner") == str(n), f"{tag} holds another learner's image"
        assert image.labels.get(NAMESPACE_LABEL) == namespace
        assert [image.id] == [i.id for i in namespace_images(main_client, namespace)]
        image_ids.add(image.id)
        assert namespace_containers(main_client, namespace) == []
        assert not main_client.images.list(name=f"{tag}-depcache-probe")
    assert len(image_ids) == len(LEARNERS)


def test_class_report_shows_each_learners_own_verdicts(classroom, tmp_path, capsys):
    """The four checks left one record each; ``class-report`` shows four rows with the
    statuses each learner's check printed, and its CSV has one row per learner."""
    results = classroom[1].results
    gradebook = tmp_path / "gradebook.csv"
    done = subprocess.run([sys.executable, "-m", "helpers", "class-report", "--results",
                           str(results), "--csv", str(gradebook)], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120, env=child_env())
    with capsys.disabled():
        print("\n" + done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all("warning:" not in run.stderr for run in classroom.values())
    printed = {run.namespace: [{c["id"]: c["status"] for c in run.report["checks"]}[check]
                               for check in REQUIRED] for run in classroom.values()}
    assert report_rows(done.stdout) == printed
    assert "4 learner(s), 4 check record(s)" in done.stdout.splitlines()[0]
    assert "skipped" not in done.stdout
    attempts = read_class_report(results).attempts
    assert all(a.engine.startswith(("docker ", "podman ")) and not a.engine_less
               for a in attempts), [(a.namespace, a.engine) for a in attempts]

    book = pd.read_csv(gradebook)
    assert sorted(book["learner"]) == sorted(LEARNERS.values()) and len(book) == 4
    assert list(book.columns) == ["learner", *REQUIRED, "passed", "total"]
    for row in book.to_dict("records"):
        assert [row[check] for check in REQUIRED] == printed[row["learner"]]
    missed = {row["learner"]: row["total"] - row["passed"] for row in book.to_dict("records")}
    assert missed == {LEARNERS[n]: len(expected_failures(n)) for n in LEARNERS}


def test_reset_removes_one_learners_images_only(classroom, main_client):
    """``python -m helpers reset`` as learner1 leaves learner2..4 (and base images) alone."""
    done = subprocess.run([sys.executable, "-m", "helpers", "reset"], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300,
                          env=child_env(KIT_NAMESPACE=LEARNERS[1]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{LEARNERS[1]}-{CHECK_TAG}" in done.stdout
    assert namespace_images(main_client, LEARNERS[1]) == []
    for n in (2, 3, 4):
        kept = namespace_images(main_client, LEARNERS[n])
        assert [image.labels.get("learner") for image in kept] == [str(n)], done.stdout
    assert main_client.images.list(name=GOLANG)


def test_reset_all_removes_every_namespace_on_the_second_engine(
        engine2, engine2_client, monkeypatch, tmp_path):
    """``python -m helpers reset --all`` empties every namespace, and only the kit's objects.

    On the second engine, where everything belongs to this session: two learners' images and
    a kit container go; the base image and an image made without the kit stay.
    """
    (tmp_path / "go.mod").write_text((EXERCISE_DIR / "go.mod").read_text())
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY go.mod /go.mod\n")
    for namespace in ("learnerA", "learnerB"):
        point_at(monkeypatch, engine2.host, namespace)
        built = build_image(engine2_client, tmp_path, image_tag("tiny"))
    engine2_client.containers.create(built.image_id, command=["/go.mod"],
                                     labels=kit_labels())  # learnerB's, never started
    handmade, _ = engine2_client.images.build(path=str(tmp_path), tag="handmade:1", rm=True)
    for namespace in ("learnera", "learnerb"):
        assert namespace_images(engine2_client, namespace)
    assert namespace_containers(engine2_client, "learnerb")

    done = subprocess.run([sys.executable, "-m", "helpers", "reset", "--all"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                          env=child_env(DOCKER_HOST=engine2.host, KIT_NAMESPACE="learnerA"))
    assert done.returncode == 0, done.stdout + done.stderr
    everything = {"label": f"{MANAGED_LABEL}=true"}
    assert engine2_client.images.list(filters=everything) == [], done.stdout
    assert engine2_client.containers.list(all=True, filters=everything) == [], done.stdout
    assert engine2_client.images.get("handmade:1").id == handmade.id
    assert engine2_client.images.list(name=GOLANG)
