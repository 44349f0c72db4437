"""Capacity of one engine: N learners pressing "check my work" at the same moment.

For each N of ``--learners`` (default 1, 2, 4, 8), N simulated learners start at once, each
its own process running ``python -m helpers check --json`` (what a learner's check does:
build, run, measure, dep-cache probe) in its own namespace (``bench-classroom-<N>-<i>``) on
its own copy of the exercise, with the reference solution as its ``Dockerfile.multistage``
and a small edit of its own, so no two learners build the same thing:

* ``--edit source`` (default): a string constant of the learner's own appended to
  ``cmd/server/main.go``, so every learner's ``go build`` runs (a learner's first check, or
  any check after a code edit; the reference has no cache mounts, so on the classic builder
  it compiles the standard library again);
* ``--edit label``: a ``LABEL`` of the learner's own appended to the final stage, so the
  builder stage comes from the cache (a learner who only edits the runtime stage).

One untimed warm-up check (namespace ``bench-classroom-warmup``) first fills the shared
layers (``go mod download``), as ``make demo`` does before a class. Each latency is one
learner's check from process start to exit (Python start-up included). Per N it prints p50
and p95 latency, the slowdown against one learner (p50 at N / p50 at 1), checks per minute
(N / wall time of the round x 60), failures and full probes (checks whose quick dep-cache
probe failed, so the whole Dockerfile was rebuilt; the JSON keeps each message), with the
machine's cores, the engine (version, image store) and the load average at the start of each
round (other jobs may share the engine). Each learner's namespace is reset (``python -m
helpers reset``) after its round, and on Ctrl-C too. Exits 1 if a check did not pass.

    python benchmarks/bench_classroom.py [--learners 1,2,4,8] [--edit source|label]
        [--backend auto] [--json out/bench-classroom.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from helpers.config import EXERCISE_DIR, OUT_DIR, REPO_ROOT, SOLUTIONS_DIR
from helpers.engine.probe import probe

PREFIX = "bench-classroom"
WARM_UP = f"{PREFIX}-warmup"
CHECK_TIMEOUT_S = 1800
#: What the dep-cache check's message says when its quick probe (the build up to
#: ``go mod download``) could not tell and the whole Dockerfile was rebuilt instead.
FULL_PROBE = "The whole Dockerfile was rebuilt to tell"
#: Latency limits the reading lines are drawn for (the instructor guide's "under 30 s / 60 s").
LIMITS_S = (30.0, 60.0)


# ---- pure parts: percentiles, one round's summary, the table, the JSON ---------------------

def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly between the two
    closest ranks (numpy's default), so p50 of an even count is the mean of the middle two
    and p95 of one value is that value."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise_round(learners: int, runs: list[dict], wall_s: float,
                    load: tuple[float, float]) -> dict:
    """One round as a row: latencies of every learner, p50, p95, max, checks per minute
    (``learners`` / wall time x 60), failures (a check that did not pass or did not end) and
    full probes (checks whose dep-cache probe fell back to rebuilding the whole Dockerfile)."""
    seconds = [run["seconds"] for run in runs]
    return {"learners": learners, "p50_s": round(percentile(seconds, 50), 2),
            "p95_s": round(percentile(seconds, 95), 2), "max_s": round(max(seconds), 2),
            "wall_s": round(wall_s, 2),
            "checks_per_min": round(learners / wall_s * 60, 2) if wall_s > 0 else None,
            "failures": sum(1 for run in runs if not run["passed"]),
            "full_probes": sum(1 for run in runs if run.get("full_probe")),
            "load_start": round(load[0], 2), "load_end": round(load[1], 2), "runs": runs}


def with_slowdown(rows: list[dict]) -> list[dict]:
    """Each row with ``slowdown``: its p50 over the p50 of the one-learner round (None when
    there is no such round)."""
    alone = next((row["p50_s"] for row in rows if row["learners"] == 1), None)
    return [{**row, "slowdown": round(row["p50_s"] / alone, 2) if alone else None}
            for row in rows]


def table(rows: list[dict]) -> str:
    """The rounds as fixed-width text, one line per N."""
    lines = [f"{'learners':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'p50 vs 1':>8} "
             f"{'wall s':>7} {'checks/min':>10} {'failures':>8} {'full probes':>11} "
             f"{'load at start':>13}"]
    for row in rows:
        slowdown = "-" if row.get("slowdown") is None else f"{row['slowdown']:.2f}x"
        per_min = "-" if row["checks_per_min"] is None else f"{row['checks_per_min']:.2f}"
        lines.append(f"{row['learners']:8d} {row['p50_s']:7.2f} {row['p95_s']:7.2f} "
                     f"{row['max_s']:7.2f} {slowdown:>8} {row['wall_s']:7.2f} {per_min:>10} "
                     f"{row['failures']:8d} {row['full_probes']:11d} {row['load_start']:13.2f}")
    return "\n".join(lines)


def reading(rows: list[dict], cpus: int) -> list[str]:
    """For each limit, the largest measured N whose p95 stayed within it, and per core."""
    lines = []
    for limit in LIMITS_S:
        within = [row["learners"] for row in rows
                  if row["p95_s"] <= limit and row["failures"] == 0]
        if within:
            best = max(within)
            lines.append(f"p95 <= {limit:.0f} s: up to {best} learner(s) at once of those "
                         f"measured ({best / cpus:.1f} per core on {cpus} cores)")
        else:
            lines.append(f"p95 <= {limit:.0f} s: not even the smallest round measured")
    return lines


def report(rows: list[dict], *, engine: dict, backend: str, edit: str, warm_up: dict,
           load: dict, total_s: float) -> dict:
    """Everything as one JSON-ready dict (the shape ``--json`` writes)."""
    return {"engine": engine, "backend": backend, "edit": edit, "warm_up": warm_up,
            "load_average": load, "total_seconds": round(total_s, 1),
            "limits_s": list(LIMITS_S), "rounds": rows,
            "reading": reading(rows, engine.get("cpus") or 1)}


# ---- one learner: a copy of the exercise, a check process, a reset -------------------------

@dataclass
class Learner:
    """One simulated learner: namespace, copy of the exercise, running check process."""

    namespace: str
    context: Path
    process: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    out: Path = field(init=False)
    err: Path = field(init=False)

    def __post_init__(self):
        self.out = self.context.parent / "check.json"
        self.err = self.context.parent / "check.stderr"

    @property
    def dockerfile(self) -> Path:
        return self.context / "Dockerfile.multistage"


def learner_env(namespace: str) -> dict:
    """The environment of a learner's process: its namespace, and no class results folder
    (a benchmark leaves no records for the instructor)."""
    env = {**os.environ, "KIT_NAMESPACE": namespace}
    env.pop("KIT_RESULTS_DIR", None)
    return env


def make_copy(root: Path, namespace: str, edit: str | None, run_id: str) -> Learner:
    """The exercise with the reference Dockerfile, in ``root/<namespace>``, edited."""
    context = root / namespace / "multistage-go"
    shutil.copytree(EXERCISE_DIR, context)
    learner = Learner(namespace, context)
    shutil.copy(SOLUTIONS_DIR / "Dockerfile.multistage", learner.dockerfile)
    mark = f"{namespace}-{run_id}"
    if edit == "source":
        with open(context / "cmd" / "server" / "main.go", "a") as out:
            out.write(f"\n// This learner's own edit (benchmarks/bench_classroom.py).\n"
                      f'const benchLearner = "{mark}"\n')
    elif edit == "label":
        with open(learner.dockerfile, "a") as out:  # the file ends in the final stage
            out.write(f'LABEL org.example.bench-learner="{mark}"\n')
    return learner


def start_check(learner: Learner, backend: str) -> None:
    """Start the learner's ``python -m helpers check --json``; its output goes to files (a
    full pipe would stall a check while the others run)."""
    command = [sys.executable, "-m", "helpers", "check", "--context", str(learner.context),
               "--dockerfile", str(learner.dockerfile), "--backend", backend, "--json"]
    with open(learner.out, "w") as out, open(learner.err, "w") as err:
        learner.started = time.perf_counter()
        learner.process = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO_ROOT,
                                           env=learner_env(learner.namespace))


def check_result(learner: Learner) -> dict:
    """What the learner's check said: passed, the checks that did not pass, or the error."""
    stderr = learner.err.read_text(errors="replace") if learner.err.exists() else ""
    result = {"namespace": learner.namespace, "seconds": round(learner.seconds, 2),
              "exit_code": learner.process.returncode}
    try:
        checks = json.loads(learner.out.read_text())
    except (OSError, ValueError):
        return {**result, "passed": False, "error": stderr[-500:] or "no JSON report"}
    not_passed = [f"{c['id']}: {c['status']}" for c in checks["checks"]
                  if c["required"] and c["status"] != "pass"]
    dep_cache = next((c["message"] for c in checks["checks"] if c["id"] == "dep-cache"), "")
    return {**result, "passed": bool(checks.get("passed")), "not_passed": not_passed,
            "full_probe": FULL_PROBE in dep_cache, "dep_cache": dep_cache}


def wait_all(learners: list[Learner]) -> list[dict]:
    """Wait for every learner's check; each one's seconds from its start to its own exit."""
    results = {}
    deadline = time.perf_counter() + CHECK_TIMEOUT_S
    while len(results) < len(learners):
        for learner in learners:
            if learner.namespace in results or learner.process.poll() is None:
                continue
            learner.seconds = time.perf_counter() - learner.started
            results[learner.namespace] = check_result(learner)
        if time.perf_counter() > deadline:
            raise TimeoutError(f"a check ran longer than {CHECK_TIMEOUT_S} s")
        time.sleep(0.05)
    return [results[learner.namespace] for learner in learners]


def stop(learners: list[Learner]) -> None:
    """Interrupt checks still running (the kit cleans up on SIGINT), kill after 30 s."""
    running = [lr for lr in learners if lr.process is not None and lr.process.poll() is None]
    for learner in running:
        learner.process.send_signal(signal.SIGINT)
    for learner in running:
        try:
            learner.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            learner.process.kill()
            learner.process.wait()


def reset_namespace(namespace: str) -> str:
    """``python -m helpers reset`` as this learner; its summary line (or its error)."""
    done = subprocess.run([sys.executable, "-m", "helpers", "reset"], capture_output=True,
                          text=True, cwd=REPO_ROOT, env=learner_env(namespace), timeout=300)
    lines = (done.stdout if done.returncode == 0 else done.stderr).strip().splitlines()
    return f"{namespace}: {lines[0] if lines else done.returncode}"


# ---- rounds ---------------------------------------------------------------------------------

def run_round(root: Path, namespaces: list[str], edit: str | None, backend: str,
              run_id: str) -> tuple[list[dict], float]:
    """Every learner's check at once; their results and the round's wall time. The learners'
    namespaces are reset afterwards, whatever happened (Ctrl-C included)."""
    learners = [make_copy(root, ns, edit, run_id) for ns in namespaces]
    try:
        start = time.perf_counter()
        for learner in learners:
            start_check(learner, backend)
        runs = wait_all(learners)
        return runs, time.perf_counter() - start
    finally:
        stop(learners)
        for namespace in namespaces:
            print(f"  reset {reset_namespace(namespace)}", file=sys.stderr, flush=True)
        for learner in learners:
            shutil.rmtree(learner.context.parent, ignore_errors=True)


def measure(counts: list[int], edit: str, backend: str) -> tuple[dict, list[dict]]:
    """The warm-up, then one round per N; returns the warm-up's result and the rows."""
    run_id = uuid.uuid4().hex[:8]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kit-bench-classroom-") as tmp:
        (warm,), warm_s = run_round(Path(tmp), [WARM_UP], None, backend, run_id)
        print(f"warm-up: {warm_s:.2f} s, {'passed' if warm['passed'] else 'NOT passed'}",
              file=sys.stderr, flush=True)
        for n in counts:
            namespaces = [f"{PREFIX}-{n}-{i}" for i in range(1, n + 1)]
            load_start = os.getloadavg()[0]
            runs, wall_s = run_round(Path(tmp), namespaces, edit, backend, run_id)
            row = summarise_round(n, runs, wall_s, (load_start, os.getloadavg()[0]))
            rows.append(row)
            print(f"{n} learner(s): p50 {row['p50_s']:.2f} s, p95 {row['p95_s']:.2f} s, "
                  f"wall {wall_s:.2f} s, {row['failures']} failure(s)",
                  file=sys.stderr, flush=True)
    return warm, with_slowdown(rows)


def learner_counts(text: str) -> list[int]:
    """``"1,2,4,8"`` -> ``[1, 2, 4, 8]``; every count a positive integer."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"learner counts must be 1 or more: {text!r}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=learner_counts, default=[1, 2, 4, 8],
                        help="learner counts, one round each (default 1,2,4,8)")
    parser.add_argument("--edit", choices=("source", "label"), default="source",
                        help="each learner's own edit: a main.go constant (every learner "
                             "compiles) or a final-stage LABEL (the builder stage is cached)")
    parser.add_argument("--backend", choices=("auto", "classic", "buildkit"), default="auto")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench-classroom.json")
    args = parser.parse_args()
    info = probe()
    if not info.reachable:
        print(f"No engine: {info.error}\n{info.hint}", file=sys.stderr)
        return 1
    engine = {"version": info.server_version, "store": info.image_store, "url": info.url,
              "cpus": os.cpu_count()}
    load_start, start = os.getloadavg(), time.perf_counter()
    print(f"classroom capacity: {', '.join(map(str, args.learners))} learners at once, "
          f"edit {args.edit}, backend {args.backend}", file=sys.stderr)
    try:
        warm, rows = measure(args.learners, args.edit, args.backend)
    except KeyboardInterrupt:  # the rounds' learners are already stopped and reset
        print("\ninterrupted: the namespaces used so far were reset", file=sys.stderr)
        return 130
    total_s, load_end = time.perf_counter() - start, os.getloadavg()
    print(f"\nDocker Engine {info.server_version} ({info.image_store}), {os.cpu_count()} "
          f"CPUs, load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end; "
          f"edit: {args.edit}, backend: {args.backend}; warm-up check {warm['seconds']:.1f} s; "
          f"{total_s:.0f} s in all\n")
    print(table(rows))
    print()
    print("\n".join(reading(rows, os.cpu_count() or 1)))
    result = report(rows, engine=engine, backend=args.backend, edit=args.edit, warm_up=warm,
                    load={"start": list(load_start), "end": list(load_end)}, total_s=total_s)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.json}", file=sys.stderr)
    return 0 if warm["passed"] and not any(row["failures"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
