"""Time to execute every course notebook top to bottom, from a cold build cache.

Cold means: every image the kit made (all namespaces) and every dangling image is removed
first, so the classic builder has no parent chain to reuse; the base images (golang:1.22)
stay, as the target says "with base images present". Prints a table and writes JSON.

    python benchmarks/bench_notebooks.py [--warm] [--json out/bench-notebooks.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers import engine
from helpers.config import OUT_DIR, REPO_ROOT
from helpers.engine.reset import reset

TARGET_S = 240


def make_cold(client) -> None:
    """Remove every kit image and every dangling image: no build cache left to reuse."""
    report = reset(client, all_namespaces=True)
    pruned = client.images.prune(filters={"dangling": True})
    print(f"cold cache: removed {len(report.images)} kit images, "
          f"{len(pruned.get('ImagesDeleted') or [])} dangling images", file=sys.stderr)


def execute(path: Path) -> float:
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warm", action="store_true", help="keep the build cache")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "bench-notebooks.json")
    args = parser.parse_args()
    os.environ["KIT_NAMESPACE"] = "bench"
    client = engine.connect()
    if not args.warm:
        make_cold(client)
    client.close()
    rows = []
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        seconds = execute(path)
        rows.append({"notebook": path.name, "seconds": round(seconds, 1)})
        print(f"  {path.name:32} {seconds:7.1f} s", file=sys.stderr)
    total = round(sum(row["seconds"] for row in rows), 1)
    result = {"cache": "warm" if args.warm else "cold", "notebooks": rows,
              "total_seconds": total, "target_seconds": TARGET_S,
              "within_target": total <= TARGET_S}
    print(f"\n{'notebook':32} {'seconds':>8}")
    for row in rows:
        print(f"{row['notebook']:32} {row['seconds']:8.1f}")
    print(f"{'all notebooks (' + result['cache'] + ' cache)':32} {total:8.1f}   "
          f"target <= {TARGET_S} s: {'yes' if result['within_target'] else 'NO'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
