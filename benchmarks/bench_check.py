"""Check-my-work latency: ``python -m helpers check`` on the reference, after each kind of edit.

In one run, in a temporary copy of the exercise (the reference Dockerfile copied into it), for
each backend (the classic builder; BuildKit too where a BuildKit-capable docker CLI exists),
after one untimed warm-up check, ``--repeats`` rounds of these scenarios, in order:

* **unchanged**: nothing changed since the last check, the image is built;
* **unchanged, no kept facts**: the same, with the kept facts (``out/factcache/<namespace>``)
  deleted first, so every fact and the dep-cache probe are measured again;
* **final-stage edit**: a unique ``LABEL`` appended to the final (runtime) stage;
* **builder edit**: a unique comment appended to ``cmd/server/main.go``, so ``go build``
  runs again (on the classic builder it recompiles everything; not a goal, shown for scale).

Each check is the CLI a learner runs, timed from process start to exit (Python start-up
included), in its own namespace (``KIT_NAMESPACE=bench-check``). Prints a table (median,
min, max seconds, and whether the dep-cache verdict and the image facts were measured or
reused), the goal lines (unchanged <= 3 s, final-stage edit <= 5 s, per backend) and writes
everything as JSON. Exits 1 if a goal is missed, or a check did not pass.

    python benchmarks/bench_check.py [--repeats 3] [--json out/bench-check.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from helpers import engine
from helpers.config import EXERCISE_DIR, OUT_DIR, SOLUTIONS_DIR
from helpers.engine.cli import buildkit_client
from helpers.engine.reset import clear_fact_cache, reset

NAMESPACE = "bench-check"
SCENARIOS = ("unchanged", "unchanged, no kept facts", "final-stage edit", "builder edit")
GOALS = {"unchanged": 3.0, "final-stage edit": 5.0}


def run_check(context: Path, dockerfile: Path, backend: str) -> dict:
    """One ``python -m helpers check --json``: seconds, verdict, what was reused."""
    command = [sys.executable, "-m", "helpers", "check", "--context", str(context),
               "--dockerfile", str(dockerfile), "--backend", backend, "--json"]
    env = {**os.environ, "KIT_NAMESPACE": NAMESPACE}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    seconds = time.perf_counter() - start
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return {"seconds": seconds, "passed": False, "error": done.stderr[-500:]}
    checks = {c["id"]: c for c in report["checks"]}
    return {"seconds": round(seconds, 3), "passed": bool(report.get("passed")),
            "dep_cache": "reused" if "reused" in checks["dep-cache"]["message"] else "measured",
            "facts": "reused" if "reused" in checks["size"]["message"] else "measured",
            "dep_cache_message": checks["dep-cache"]["message"]}


def edit(scenario: str, context: Path, dockerfile: Path) -> None:
    """Make the scenario's edit in the temporary copy."""
    if scenario == "unchanged, no kept facts":
        os.environ["KIT_NAMESPACE"] = NAMESPACE
        clear_fact_cache()
    elif scenario == "final-stage edit":
        with open(dockerfile, "a") as out:  # the file ends in the final stage
            out.write(f'LABEL org.example.bench-edit="{uuid.uuid4().hex[:8]}"\n')
    elif scenario == "builder edit":
        with open(context / "cmd" / "server" / "main.go", "a") as out:
            out.write(f"\n// bench edit {uuid.uuid4().hex[:8]}\n")


def measure(backend: str, repeats: int) -> list[dict]:
    """Every scenario ``repeats`` times for ``backend``, in a fresh copy of the exercise."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="kit-bench-check-") as tmp:
        context = Path(tmp) / "multistage-go"
        shutil.copytree(EXERCISE_DIR, context)
        dockerfile = context / "Dockerfile.reference"
        shutil.copy(SOLUTIONS_DIR / "Dockerfile.multistage", dockerfile)
        warm = run_check(context, dockerfile, backend)
        print(f"  {backend:8} warm-up            {warm['seconds']:7.2f} s", file=sys.stderr)
        for round_ in range(repeats):
            for scenario in SCENARIOS:
                edit(scenario, context, dockerfile)
                result = run_check(context, dockerfile, backend)
                rows.append({"backend": backend, "scenario": scenario, "round": round_ + 1,
                             **result})
                print(f"  {backend:8} {scenario:24} {result['seconds']:7.2f} s  "
                      f"dep-cache {result.get('dep_cache', '?')}, facts "
                      f"{result.get('facts', '?')}", file=sys.stderr, flush=True)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Median, min and max per backend and scenario."""
    out = []
    for backend in dict.fromkeys(r["backend"] for r in rows):
        for scenario in SCENARIOS:
            mine = [r for r in rows if r["backend"] == backend and r["scenario"] == scenario]
            seconds = [r["seconds"] for r in mine]
            out.append({"backend": backend, "scenario": scenario, "n": len(mine),
                        "median_s": round(statistics.median(seconds), 3),
                        "min_s": min(seconds), "max_s": max(seconds),
                        "all_passed": all(r["passed"] for r in mine),
                        "dep_cache": "/".join(sorted({r.get("dep_cache", "?") for r in mine})),
                        "facts": "/".join(sorted({r.get("facts", "?") for r in mine}))})
    return out


def goal_lines(summary: list[dict]) -> tuple[list[str], dict]:
    lines, goals = [], {}
    for row in summary:
        limit = GOALS.get(row["scenario"])
        if limit is None:
            continue
        met = row["median_s"] <= limit
        goals[f"{row['backend']}: {row['scenario']}"] = {"limit_s": limit,
                                                         "median_s": row["median_s"],
                                                         "met": met}
        lines.append(f"goal {row['backend']:8} {row['scenario']:17} <= {limit:.0f} s: "
                     f"median {row['median_s']:.2f} s -> {'met' if met else 'NOT MET'}")
    return lines, goals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench-check.json")
    args = parser.parse_args()
    os.environ["KIT_NAMESPACE"] = NAMESPACE
    client = engine.connect()
    version = client.version().get("Version", "?")
    backends = ["classic"] + (["buildkit"] if buildkit_client() is not None else [])
    load_start, start = os.getloadavg(), time.perf_counter()
    print(f"check-my-work latency: {', '.join(backends)} x {len(SCENARIOS)} scenarios x "
          f"{args.repeats} (one warm-up each)", file=sys.stderr)
    try:
        rows = [row for backend in backends for row in measure(backend, args.repeats)]
    finally:
        reset(client)  # this namespace's images and kept facts
        client.close()
    total, load_end = time.perf_counter() - start, os.getloadavg()
    summary = summarise(rows)
    lines, goals = goal_lines(summary)
    print(f"\nDocker Engine {version}, {os.cpu_count()} CPUs, load average {load_start[0]:.1f} "
          f"at start, {load_end[0]:.1f} at end; {total:.0f} s in all\n")
    print(f"{'backend':9} {'scenario':25} {'median s':>8} {'min s':>6} {'max s':>6}  "
          f"{'dep-cache':9}  {'image facts':11}  passed")
    for row in summary:
        print(f"{row['backend']:9} {row['scenario']:25} {row['median_s']:8.2f} "
              f"{row['min_s']:6.2f} {row['max_s']:6.2f}  {row['dep_cache']:9}  "
              f"{row['facts']:11}  {'yes' if row['all_passed'] else 'NO'}")
    print()
    print("\n".join(lines))
    no_buildkit = "buildkit" not in backends
    if no_buildkit:
        print("BuildKit: not measured (no BuildKit-capable docker CLI here)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "engine": {"version": version, "cpus": os.cpu_count()},
        "load_average": {"start": list(load_start), "end": list(load_end)},
        "repeats": args.repeats, "backends": backends, "scenarios": list(SCENARIOS),
        "summary": summary, "goals": goals, "runs": rows}, indent=2))
    print(f"\nwrote {args.json}", file=sys.stderr)
    ok = all(g["met"] for g in goals.values()) and all(r["all_passed"] for r in summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
