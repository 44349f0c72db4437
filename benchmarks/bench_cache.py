"""The build-cache matrix in one run: 3 Dockerfile variants x 4 rebuild scenarios.

Variants (see helpers/lessons/cache_lab/): (a) ``COPY . .`` before ``go mod download`` on the
classic builder, (b) the reference order on the classic builder, (c) BuildKit with cache
mounts. Scenarios, in order, in one temporary copy of the exercise: cold (no cache; for (c)
the engine's BuildKit cache mounts are emptied first, engine-wide), no-change rebuild,
code-edit rebuild (a comment appended to main.go), go.mod-edit rebuild. Prints a table of
seconds and cache hits, the ratio code-edit rebuild / cold build per variant, and the target
lines for (c); writes everything as JSON. Exits 1 if a target of (c) is missed or could not
be measured.

    python benchmarks/bench_cache.py [--json out/bench-cache.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from helpers.lessons import cache_lab

from helpers import engine
from helpers.engine.cli import buildkit_client
from helpers.config import OUT_DIR, REPO_ROOT

TARGET_RATIO = cache_lab.TARGET_CODE_EDIT_RATIO
TARGET_NO_CHANGE_S = cache_lab.TARGET_NO_CHANGE_S


def progress(variant: cache_lab.Variant, scenario: str):
    """One stderr line per finished (or failed) build."""
    def on_event(event):
        if event.kind == "done":
            result = event.result
            print(f"  {variant.key:13} {scenario:12} {result.duration_s:7.2f} s  "
                  f"({result.cached_steps}/{len(result.steps)} builder steps cached)",
                  file=sys.stderr, flush=True)
        elif event.kind == "error":
            print(f"  {variant.key:13} {scenario:12} FAILED: {event.error.message}",
                  file=sys.stderr, flush=True)
    return on_event


def table(results: list[cache_lab.ScenarioResult]) -> str:
    """The matrix as fixed-width text, with what happened to the two Go steps."""
    frame = cache_lab.matrix_frame(results)
    lines = [f"{'variant':38} {'scenario':12} {'seconds':>8} {'cache hits':>10} "
             f"{'ratio to cold':>13}  {'go mod download':15}  go build"]
    for result, ((variant, scenario), row) in zip(results, frame.iterrows()):
        if not result.ok:
            lines.append(f"{variant:38} {scenario:12} {row['status']}")
            continue
        lines.append(f"{variant:38} {scenario:12} {row['seconds']:8.2f} {row['cache hits']:>10} "
                     f"{row['ratio_to_cold']:13.3f}  "
                     f"{cache_lab.step_state(result.build, 'go mod download'):15}  "
                     f"{cache_lab.step_state(result.build, 'go build')}")
    return "\n".join(lines)


def target_lines(found: dict, results: list[cache_lab.ScenarioResult]) -> tuple[list[str], dict]:
    """The two target checks of (c), as lines and as JSON."""
    measured = found.get("cache-mounts")
    reason = next((r.reason for r in results if r.variant == "cache-mounts" and r.reason),
                  "not measured")
    ratio = measured["code_edit_over_cold"] if measured else None
    no_change = measured["no_change_s"] if measured else None
    targets = {
        "code_edit_over_cold": {"limit": TARGET_RATIO, "measured": ratio,
                                "met": None if ratio is None else ratio <= TARGET_RATIO},
        "no_change_s": {"limit": TARGET_NO_CHANGE_S, "measured": no_change,
                        "met": None if no_change is None else no_change <= TARGET_NO_CHANGE_S},
    }
    lines = []
    for name, text, unit in (("code_edit_over_cold", "code-edit rebuild / cold build", ""),
                             ("no_change_s", "no-change rebuild", " s")):
        target = targets[name]
        if target["met"] is None:
            lines.append(f"target (c) {text} <= {target['limit']}{unit}: NOT MEASURED "
                         f"({reason})")
        else:
            verdict = "OK" if target["met"] else "MISSED"
            lines.append(f"target (c) {text} <= {target['limit']}{unit}: "
                         f"{target['measured']:.3f}{unit} -> {verdict}")
    return lines, targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench-cache.json")
    args = parser.parse_args()
    os.environ["KIT_NAMESPACE"] = "bench"
    client = engine.connect()
    load_start = os.getloadavg()
    start = time.perf_counter()
    print("cache matrix: 3 variants x 4 scenarios (builds in a temporary copy of the exercise)",
          file=sys.stderr)
    try:
        results = cache_lab.run_matrix(client, on_event_factory=progress)
        engine_version = client.version().get("Version", "?")
    finally:
        client.close()
    total = time.perf_counter() - start
    load_end = os.getloadavg()
    found = cache_lab.ratios(results)
    lines, targets = target_lines(found, results)

    print(f"\nDocker Engine {engine_version}, {os.cpu_count()} CPUs, load average "
          f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at end; matrix took {total:.0f} s\n")
    print(table(results))
    print(f"\n{'variant':14} {'code-edit / cold':>16} {'no-change s':>12}")
    for key, values in found.items():
        no_change = values["no_change_s"]
        print(f"{key:14} {values['code_edit_over_cold']:16.3f} "
              f"{'-' if no_change is None else f'{no_change:.2f}':>12}")
    print()
    print("\n".join(lines))

    cli = buildkit_client()
    frame = cache_lab.matrix_frame(results)
    rows = []
    for result, ratio in zip(results, frame["ratio_to_cold"].to_list()):
        rows.append({**result.to_dict(), "ratio_to_cold": None if ratio != ratio else ratio})
    report = {
        "engine": {"version": engine_version, "cpus": os.cpu_count(),
                   "buildkit_client": None if cli is None else cli.how},
        "load_average": {"start": list(load_start), "end": list(load_end)},
        "total_seconds": round(total, 1),
        "variants": [{"key": v.key, "label": v.label, "backend": v.backend,
                      "dockerfile": str(v.dockerfile.relative_to(REPO_ROOT))}
                     for v in cache_lab.VARIANTS],
        "scenarios": list(cache_lab.SCENARIOS),
        "results": rows,
        "ratios": found,
        "targets": targets,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.json}", file=sys.stderr)
    return 0 if all(target["met"] for target in targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
