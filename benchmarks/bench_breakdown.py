"""Benchmark: file-level image breakdown vs. plainly reading the same `docker save` stream.

Usage (from the repository root, with the kit's virtualenv)::

    python benchmarks/bench_breakdown.py [--tag exercise2-original] [--repeats 3]
                                         [--engines current,docker26-containerd,podman]
                                         [--json out.json]

``--engines`` runs the same measurements on each engine named: ``current`` (DOCKER_HOST or
the default socket), and the side engines of the test suite, started here and stopped after
(Docker 26 with the containerd image store, whose export has gzip layers; Podman 4.3).

Two measurements, each run in a fresh subprocess so that its peak RSS is its own:

* ``save``: ``client.api.get_image(tag, chunk_size=1 MiB)`` read to the end and discarded.
* ``breakdown``: :func:`helpers.image.file_breakdown` of the same image.

They alternate (save, breakdown, save, breakdown, ...) after one untimed warm-up ``save``.
Seconds are timed inside the child around the operation only (interpreter start-up and
imports excluded; both children import the same modules, pandas included); peak RSS is the
child's ``ru_maxrss`` from ``os.wait4``. Each child also notes when the first chunk arrived:
the engine stages the whole archive before it sends a byte, so "after 1st byte" is where
the two differ (parsing, then building the DataFrames).

Targets: median breakdown / median save <= 1.1 (<= 1.2 where the layers are compressed),
breakdown peak RSS <= 150 MB. Exits 1 if a target is missed. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MAX_RATIO = 1.1
#: Compressed layers (the containerd store's gzip) must be inflated as well as walked.
MAX_RATIO_COMPRESSED = 1.2
MAX_RSS_MB = 150.0
MIB = 1 << 20


def child(mode: str, tag: str) -> None:
    """Run one measurement in this process and print its figures as JSON on stdout."""
    import resource

    from helpers import engine
    from helpers.image import SAVE_CHUNK_SIZE, file_breakdown

    client = engine.connect()
    figures: dict = {"mode": mode}
    first_chunk: list[float] = []
    get_image = client.api.get_image

    def timed_get_image(*args, **kwargs):
        """The SDK's stream, noting when the first chunk arrives (the engine stages first)."""
        for chunk in get_image(*args, **kwargs):
            if not first_chunk:
                first_chunk.append(time.perf_counter())
            yield chunk

    client.api.get_image = timed_get_image
    start = time.perf_counter()
    if mode == "save":
        received = 0
        for chunk in client.api.get_image(tag, chunk_size=SAVE_CHUNK_SIZE):
            received += len(chunk)
        figures["seconds"] = time.perf_counter() - start
        figures["archive_bytes"] = received
    else:
        breakdown = file_breakdown(client, tag)
        figures["seconds"] = time.perf_counter() - start
        figures.update(total_bytes=breakdown.total_bytes, final_bytes=breakdown.final_bytes,
                       wasted_bytes=breakdown.wasted_bytes, efficiency=breakdown.efficiency,
                       layers=len(breakdown.layers), files=len(breakdown.files),
                       layout=breakdown.layout, compression=breakdown.compression)
    figures["first_byte_s"] = first_chunk[0] - start
    figures["after_first_byte_s"] = figures["seconds"] - figures["first_byte_s"]
    figures["self_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    client.close()
    print(json.dumps(figures))


def measure(mode: str, tag: str) -> dict:
    """Run ``child(mode)`` in a fresh interpreter; add its wall time and peak RSS (wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, "--tag", tag],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    figures = json.loads(out)
    figures["wall_seconds"] = time.perf_counter() - started
    figures["peak_rss_mb"] = usage.ru_maxrss * 1024 / 1e6  # ru_maxrss is in KiB on Linux
    return figures


def summarize(runs: list[dict]) -> dict:
    seconds = [run["seconds"] for run in runs]
    return {"median_s": statistics.median(seconds), "min_s": min(seconds),
            "max_s": max(seconds), "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            "median_first_byte_s": statistics.median(run["first_byte_s"] for run in runs),
            "median_after_first_byte_s": statistics.median(run["after_first_byte_s"]
                                                           for run in runs),
            "runs": runs}


def bench_engine(tag: str, repeats: int, engine_id: str) -> dict:
    """Build ``tag`` if missing, then alternate save/breakdown children on the current engine
    (the one ``DOCKER_HOST`` names); print the table and return the figures."""
    from helpers import engine
    from helpers.build import build_image
    from helpers.config import EXERCISE_DIR
    from helpers.ui.progress import TerminalProgress

    client = engine.connect()
    if not client.images.list(name=tag):
        # `make bench` may start right after a cold-cache reset: build the image first.
        build_image(client, EXERCISE_DIR, tag, "Dockerfile", on_event=TerminalProgress(tag))
    image_size = int(client.images.get(tag).attrs["Size"])
    client.close()

    measure("save", tag)  # warm-up: the engine's first export after a build is slower
    runs: dict[str, list[dict]] = {"save": [], "breakdown": []}
    for repeat in range(repeats):
        for mode in ("save", "breakdown"):
            figures = measure(mode, tag)
            runs[mode].append(figures)
            print(f"  [{engine_id}] run {repeat + 1}/{repeats} {mode:9s} "
                  f"{figures['seconds']:6.2f} s  peak RSS {figures['peak_rss_mb']:6.1f} MB",
                  file=sys.stderr)

    save, breakdown = summarize(runs["save"]), summarize(runs["breakdown"])
    ratio = breakdown["median_s"] / save["median_s"]
    archive = runs["save"][0]["archive_bytes"]
    figures = {key: runs["breakdown"][0][key] for key in
               ("total_bytes", "final_bytes", "wasted_bytes", "efficiency", "layers", "files",
                "layout", "compression")}
    compressed = any(kind != "tar" for kind in figures["compression"])
    max_ratio = MAX_RATIO_COMPRESSED if compressed else MAX_RATIO
    result = {
        "engine": engine_id, "tag": tag, "image_size_bytes": image_size,
        "archive_bytes": archive, "repeats": repeats, "save": save, "breakdown": breakdown,
        "ratio": ratio, "breakdown_figures": figures,
        "targets": {"max_ratio": max_ratio, "max_peak_rss_mb": MAX_RSS_MB},
        "ok": ratio <= max_ratio and breakdown["peak_rss_mb"] <= MAX_RSS_MB,
    }

    print(f"\n[{engine_id}] {tag}: engine Size {image_size / 1e6:.1f} MB, archive "
          f"{archive / 1e6:.1f} MB ({figures['layout']}, layers {figures['compression']}), "
          f"median of {repeats} runs each\n")
    print(f"{'measurement':<28}{'median s':>10}{'min s':>8}{'max s':>8}{'peak RSS MB':>13}"
          f"{'MB/s':>8}{'1st byte s':>12}{'after s':>9}")
    for label, row in (("docker save, read+discard", save),
                       ("file_breakdown", breakdown)):
        print(f"{label:<28}{row['median_s']:>10.2f}{row['min_s']:>8.2f}{row['max_s']:>8.2f}"
              f"{row['peak_rss_mb']:>13.1f}{archive / 1e6 / row['median_s']:>8.0f}"
              f"{row['median_first_byte_s']:>12.2f}{row['median_after_first_byte_s']:>9.2f}")
    print(f"\nratio breakdown/save: {ratio:.3f} (target <= {max_ratio}); breakdown peak RSS "
          f"{breakdown['peak_rss_mb']:.1f} MB (target <= {MAX_RSS_MB:.0f}) -> "
          f"{'OK' if result['ok'] else 'MISSED'}")
    print(f"breakdown: total {figures['total_bytes']:,} B, final {figures['final_bytes']:,} B, "
          f"wasted {figures['wasted_bytes']:,} B, efficiency {figures['efficiency']:.6f}, "
          f"{figures['layers']} layers, {figures['files']:,} files")
    return result


def on_side_engine(engine_id: str, run):
    """Start the side engine ``engine_id`` (tests/side_engines.py), copy golang:1.22 into it,
    call ``run()`` with DOCKER_HOST naming it, and stop it whatever happens."""
    from helpers import engine
    from tests.side_engines import SIDE_ENGINES, copy_image

    main_client = engine.connect()
    side = SIDE_ENGINES[engine_id]()
    previous = os.environ.get("DOCKER_HOST")
    try:
        side.setup()
        copy_image(main_client, side.client(), "golang:1.22")
        os.environ["DOCKER_HOST"] = side.host
        return run()
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        side.close()
        main_client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=None,
                        help="image to analyse (default: exercise2-original, namespaced)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default="current",
                        help="comma-separated: current (DOCKER_HOST or the default socket), "
                             "docker26-containerd, podman (side engines, started here; root)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--child", choices=["save", "breakdown"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from helpers.config import ORIGINAL_TAG, image_tag
    tag = args.tag or image_tag(ORIGINAL_TAG)
    if args.child:
        child(args.child, tag)
        return 0

    results = []
    for engine_id in [name.strip() for name in args.engines.split(",") if name.strip()]:
        if engine_id == "current":
            results.append(bench_engine(tag, args.repeats, engine_id))
        else:
            results.append(on_side_engine(
                engine_id, lambda: bench_engine(tag, args.repeats, engine_id)))
    if len(results) > 1:
        print(f"\n{'engine':<22}{'layout':<16}{'layers':<12}{'archive MB':>11}{'ratio':>8}"
              f"{'peak RSS MB':>13}  target")
        for row in results:
            figures = row["breakdown_figures"]
            print(f"{row['engine']:<22}{figures['layout']:<16}"
                  f"{','.join(figures['compression']):<12}{row['archive_bytes'] / 1e6:>11.1f}"
                  f"{row['ratio']:>8.3f}{row['breakdown']['peak_rss_mb']:>13.1f}  "
                  f"{'OK' if row['ok'] else 'MISSED'}")
    if args.json:
        data = results[0] if len(results) == 1 else {"engines": results}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0 if all(row["ok"] for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
