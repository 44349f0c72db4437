"""The pure parts of ``benchmarks/bench_classroom.py``, without an engine.

The benchmark's figures go into the instructor guide's capacity advice, so what turns
latencies into p50 / p95 / checks per minute / slowdown, and the table and JSON it prints,
are checked here against hand-computed values; the learners' copies are checked to differ
from each other by exactly the edit each is meant to carry.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import types

import pytest

from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR

SPEC = importlib.util.spec_from_file_location(
    "bench_classroom", REPO_ROOT / "benchmarks" / "bench_classroom.py")
bench = importlib.util.module_from_spec(SPEC)
sys.modules.setdefault(SPEC.name, bench)  # dataclasses look their module up there
SPEC.loader.exec_module(bench)


def runs(*seconds, failed=(), full=()):
    return [{"namespace": f"ns-{i}", "seconds": s, "passed": i not in failed,
             "full_probe": i in full} for i, s in enumerate(seconds)]


def test_percentile_interpolates_between_ranks_like_statistics_inclusive():
    values = [12.0, 3.0, 7.5, 30.0, 18.0, 9.0, 41.0, 22.0]
    for q in (5, 25, 50, 75, 95):
        expected = statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        assert bench.percentile(values, q) == pytest.approx(expected)
    assert bench.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert bench.percentile(values, 0) == 3.0 and bench.percentile(values, 100) == 41.0


def test_percentile_of_one_value_is_that_value_and_bad_input_raises():
    assert bench.percentile([17.3], 50) == bench.percentile([17.3], 95) == 17.3
    with pytest.raises(ValueError):
        bench.percentile([], 50)
    with pytest.raises(ValueError):
        bench.percentile([1.0], 101)


def test_a_round_gives_percentiles_checks_per_minute_and_failures():
    row = bench.summarise_round(4, runs(20.0, 30.0, 40.0, 50.0, failed={2}, full={1, 3}),
                                60.0, (1.5, 3.25))
    assert row["p50_s"] == 35.0
    assert row["p95_s"] == pytest.approx(48.5)  # 40 + 0.85 x 10
    assert row["max_s"] == 50.0
    assert row["checks_per_min"] == 4.0  # 4 checks in 60 s
    assert row["failures"] == 1
    assert row["full_probes"] == 2
    assert (row["load_start"], row["load_end"]) == (1.5, 3.25)
    assert len(row["runs"]) == 4


def test_slowdown_is_p50_against_the_one_learner_round():
    rows = [bench.summarise_round(n, runs(*[s] * n), s, (0, 0))
            for n, s in ((1, 10.0), (2, 15.0), (4, 32.0))]
    assert [r["slowdown"] for r in bench.with_slowdown(rows)] == [1.0, 1.5, 3.2]
    assert [r["slowdown"] for r in bench.with_slowdown(rows[1:])] == [None, None]


def test_table_has_a_header_and_one_aligned_line_per_round():
    rows = bench.with_slowdown([bench.summarise_round(1, runs(18.2), 18.3, (0.4, 1.0)),
                                bench.summarise_round(8, runs(*[140.0] * 8, failed={0}),
                                                      152.5, (2.0, 9.0))])
    lines = bench.table(rows).splitlines()
    assert len(lines) == 3
    assert len({len(line) for line in lines}) == 1  # fixed width
    assert lines[1].split() == ["1", "18.20", "18.20", "18.20", "1.00x", "18.30", "3.28",
                                "0", "0", "0.40"]
    assert lines[2].split()[0] == "8" and lines[2].split()[4] == "7.69x"
    assert lines[2].split()[7:9] == ["1", "0"]


def test_reading_names_the_largest_round_within_each_limit_without_failures():
    rows = [bench.summarise_round(1, runs(10.0), 10.0, (0, 0)),
            bench.summarise_round(2, runs(25.0, 28.0), 28.0, (0, 0)),
            bench.summarise_round(4, runs(50.0, 55.0, 58.0, 59.0), 59.0, (0, 0)),
            bench.summarise_round(8, runs(*[40.0] * 8, failed={3}), 40.0, (0, 0))]
    thirty, sixty = bench.reading(rows, 2)
    assert "up to 2 learner(s)" in thirty and "1.0 per core" in thirty
    assert "up to 4 learner(s)" in sixty and "2.0 per core" in sixty  # 8 had a failure
    slow = [bench.summarise_round(1, runs(90.0), 90.0, (0, 0))]
    assert all("not even" in line for line in bench.reading(slow, 2))


def test_report_is_json_with_engine_rounds_and_reading():
    rows = bench.with_slowdown([bench.summarise_round(1, runs(12.0), 12.0, (0.1, 0.2))])
    data = json.loads(json.dumps(bench.report(
        rows, engine={"version": "20.10", "store": "graph driver overlay2", "cpus": 2},
        backend="auto", edit="source", warm_up={"seconds": 2.0, "passed": True},
        load={"start": [0.1, 0, 0], "end": [0.2, 0, 0]}, total_s=20.04)))
    assert data["engine"]["cpus"] == 2 and data["edit"] == "source"
    assert data["rounds"][0]["p95_s"] == 12.0 and data["rounds"][0]["slowdown"] == 1.0
    assert data["total_seconds"] == 20.0
    assert data["limits_s"] == [30.0, 60.0] and len(data["reading"]) == 2


def test_learner_counts_parse_and_reject():
    assert bench.learner_counts("1,2,4,8") == [1, 2, 4, 8]
    assert bench.learner_counts("3") == [3]
    for bad in ("0,2", "a,b", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.learner_counts(bad)


def test_each_learner_copy_carries_its_own_edit(tmp_path):
    """Two learners' copies differ only by their own mark; the reference is the Dockerfile."""
    main_go = EXERCISE_DIR / "cmd" / "server" / "main.go"
    reference = (SOLUTIONS_DIR / "Dockerfile.multistage").read_text()
    one = bench.make_copy(tmp_path, "bench-classroom-2-1", "source", "run1")
    two = bench.make_copy(tmp_path, "bench-classroom-2-2", "source", "run1")
    for learner in (one, two):
        assert learner.dockerfile.read_text() == reference
        edited = (learner.context / "cmd" / "server" / "main.go").read_text()
        assert edited.startswith(main_go.read_text())
        assert f'const benchLearner = "{learner.namespace}-run1"' in edited
    label = bench.make_copy(tmp_path, "bench-classroom-1-1", "label", "run1")
    assert label.dockerfile.read_text().splitlines()[-1] == \
        'LABEL org.example.bench-learner="bench-classroom-1-1-run1"'
    assert (label.context / "cmd" / "server" / "main.go").read_text() == main_go.read_text()
    plain = bench.make_copy(tmp_path, "bench-classroom-warmup", None, "run1")
    assert plain.dockerfile.read_text() == reference


def test_learner_env_sets_the_namespace_and_leaves_no_class_records(monkeypatch):
    monkeypatch.setenv("KIT_RESULTS_DIR", "/shared/results")
    env = bench.learner_env("bench-classroom-4-3")
    assert env["KIT_NAMESPACE"] == "bench-classroom-4-3"
    assert "KIT_RESULTS_DIR" not in env


def test_check_result_reads_the_verdict_and_a_full_probe_from_the_checks_json(tmp_path):
    """A check's JSON report gives passed, the required checks that did not pass and whether
    the dep-cache probe fell back to the whole rebuild; no JSON gives a failure with stderr."""
    learner = bench.Learner("bench-classroom-2-1", tmp_path / "ns" / "multistage-go")
    learner.context.mkdir(parents=True)
    learner.process, learner.seconds = types.SimpleNamespace(returncode=1), 41.234
    message = (f"After editing cmd/server/main.go the download step came from the cache. "
               f"({bench.FULL_PROBE}: the build up to the download step failed (...).)")
    learner.out.write_text(json.dumps({"passed": False, "checks": [
        {"id": "size", "status": "pass", "required": True, "message": "5.1 MB"},
        {"id": "runs", "status": "fail", "required": True, "message": "no answer"},
        {"id": "non-root", "status": "fail", "required": False, "message": "root"},
        {"id": "dep-cache", "status": "pass", "required": True, "message": message}]}))
    result = bench.check_result(learner)
    assert result["seconds"] == 41.23 and result["exit_code"] == 1
    assert result["passed"] is False and result["not_passed"] == ["runs: fail"]
    assert result["full_probe"] is True and result["dep_cache"] == message
    learner.out.write_text("Traceback ...")
    learner.err.write_text("KitError: the engine stopped answering")
    broken = bench.check_result(learner)
    assert broken["passed"] is False and "stopped answering" in broken["error"]
