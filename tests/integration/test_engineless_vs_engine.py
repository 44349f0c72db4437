"""The engine-less build against the engine: the same image, the same verdicts.

Every Dockerfile the kit ships (the exercise's, the solutions, every fixture) is checked
twice: on the real engine (``run_checks``) and built here without one
(``run_engineless_checks``). Per check id the verdicts must agree; the engine-less side may
only say ``skip`` (with its reason) where it cannot reproduce the build, and it must never
say ``pass`` where the engine says ``fail`` (the worst bug the kit can have). For images
written as archives, the archive is loaded on the engine and must hold the same files
(sizes within 2%: Go patch versions may differ) and answer ``/health`` when the engine's own
build does. The comparison table is written to ``out/engineless-vs-engine.json``.
"""

from __future__ import annotations

import json
import shutil

import docker.errors
import pytest

from helpers.build.engineless import toolchain
from helpers.build.engineless.build import build_without_engine
from helpers.config import EXERCISE_DIR, OUT_DIR, REPO_ROOT, SOLUTIONS_DIR, image_tag
from helpers.engine.containers import check_health
from helpers.errors import KitError
from helpers.grading.checks import evaluate, run_checks
from helpers.grading.engineless import gather_engineless
from helpers.grading.evidence import gather
from helpers.image import file_breakdown

pytestmark = pytest.mark.skipif(toolchain.go_toolchain() is None, reason="no Go toolchain")

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dockerfiles"
CASES = {"reference": SOLUTIONS_DIR / "Dockerfile.multistage",
         "cache-mounts": SOLUTIONS_DIR / "Dockerfile.cache-mounts",
         "wrong-order": SOLUTIONS_DIR / "Dockerfile.wrong-order",
         "starter": EXERCISE_DIR / "Dockerfile.multistage",
         "original": EXERCISE_DIR / "Dockerfile",
         **{p.stem: p for p in sorted(FIXTURES.glob("*.Dockerfile"))}}
TABLE: dict[str, dict] = {}


@pytest.fixture
def context(tmp_path):
    target = tmp_path / "multistage-go"
    shutil.copytree(EXERCISE_DIR, target)
    return target


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    if TABLE:
        OUT_DIR.mkdir(exist_ok=True)
        (OUT_DIR / "engineless-vs-engine.json").write_text(json.dumps(TABLE, indent=1))


def remove(client, tag: str) -> None:
    try:
        client.images.remove(tag, force=True)
    except docker.errors.APIError:
        pass


def engine_files(client, tag: str) -> dict[str, int] | None:
    """Path -> bytes of the engine's image, or None when it did not build."""
    try:
        breakdown = file_breakdown(client, tag)
    except KitError:
        return None
    return dict(zip(breakdown.files["path"], breakdown.files["size_bytes"]))


def same_files(ours: dict[str, int], theirs: dict[str, int]) -> None:
    """The same paths, each within 2% (Go patch versions may differ), what a build
    compiles into Go's cache apart (its entries differ from build to build)."""
    def kept(files):
        return {p: n for p, n in files.items() if not p.startswith("/root/.cache/")}
    ours, theirs = kept(ours), kept(theirs)
    assert sorted(ours) == sorted(theirs), set(ours) ^ set(theirs)
    for path, size in ours.items():
        assert abs(size - theirs[path]) <= 0.02 * max(size, theirs[path]), path


@pytest.mark.parametrize("name", list(CASES))
def test_the_engineless_verdicts_match_the_engine(client, context, name, request):
    if name == "mistake-latest-base":
        request.getfixturevalue("golang_latest")
    dockerfile = CASES[name]
    tag, here_tag = image_tag(f"elcmp-{name}"), image_tag(f"elcmp-here-{name}")
    try:
        engine_facts = gather(client, context, dockerfile, tag, backend="auto")
        engine = evaluate(engine_facts)
        theirs = engine_files(client, tag) if engine_facts.evidence.build_error is None else None
    finally:
        remove(client, tag)
    facts = gather_engineless(context, dockerfile, here_tag)
    here = evaluate(facts)
    rows = {r.id: (r.status, here.get(r.id).status, here.get(r.id).message)
            for r in engine.results}
    TABLE[name] = {"checks": {k: {"engine": e, "engine_less": h}
                              for k, (e, h, _) in rows.items()},
                   "engine_bytes": engine_facts.size_bytes, "engine_less_bytes": facts.size_bytes,
                   "archive": facts.built is not None and facts.built.archive is not None}
    assert all(r.engine_less for r in here.results) and here.engine_less
    false_pass = [k for k, (e, h, _) in rows.items() if e == "fail" and h == "pass"]
    assert not false_pass, f"engine-less PASS where the engine FAILS: {false_pass}\n{rows}"
    differ = {k: v for k, v in rows.items() if v[1] != "skip" and v[0] != v[1]}
    assert not differ, differ
    for check_id, (_, status, message) in rows.items():
        if status == "skip":
            assert message.startswith("Not measured:"), (check_id, message)
    if theirs is None or facts.added_files is None:
        return
    same_files(facts.added_files, theirs)
    assert abs(facts.size_bytes - engine_facts.size_bytes) <= 0.02 * engine_facts.size_bytes
    if facts.built.archive is not None:  # it loads, and holds the same files there
        with open(facts.built.archive, "rb") as archive:
            client.images.load(archive)
        try:
            same_files(engine_files(client, here_tag), theirs)
        finally:
            remove(client, here_tag)


def test_the_reference_archive_loads_runs_and_holds_the_same_files(client, tmp_path):
    """Built both ways: the same files, sizes within 2%, healthy on the engine."""
    dockerfile = SOLUTIONS_DIR / "Dockerfile.multistage"
    engine_tag, here_tag = image_tag("elcmp-engine"), image_tag("elcmp-loaded")
    run_checks(client, EXERCISE_DIR, dockerfile, tag=engine_tag, dep_cache_rebuild=False)
    built = build_without_engine(EXERCISE_DIR, dockerfile, here_tag,
                                 output=tmp_path / "image.tar")
    try:
        with open(built.archive, "rb") as archive:
            client.images.load(archive)
        ours, theirs = file_breakdown(client, here_tag), file_breakdown(client, engine_tag)
        assert list(ours.files["path"]) == list(theirs.files["path"])
        for a, b in zip(ours.files["size_bytes"], theirs.files["size_bytes"]):
            assert abs(a - b) <= 0.02 * max(a, b)
        assert abs(ours.total_bytes - theirs.total_bytes) <= 0.02 * theirs.total_bytes
        health = check_health(client, here_tag)
        assert health.healthy and health.ca_roots and health.ca_roots > 100
        loaded = client.images.get(here_tag).attrs["Config"]
        engine_config = client.images.get(engine_tag).attrs["Config"]
        for key in ("User", "Entrypoint", "ExposedPorts", "Healthcheck", "Env"):
            assert loaded.get(key) == engine_config.get(key), key
    finally:
        remove(client, here_tag)
        remove(client, engine_tag)
