"""Command line of the kit: ``python -m helpers COMMAND``.

Commands:
    demo     build the original and the optimized image, run both, print a table and a chart
    check    build a Dockerfile, run it, and check every requirement of the exercise
    probe    say whether an engine answers and what it offers
    record   record real runs for machines without an engine (recordings/)
    reset    remove the containers and images the kit made (this namespace, or --all)

Errors the kit knows about print two lines (what happened, then a hint) and exit 1; Ctrl-C
exits 130 after cleaning up. No traceback walls.

Each command imports what it needs when it runs: ``--help`` loads no Docker SDK, and only
``demo`` loads matplotlib (its chart); no command loads ipywidgets
(``tests/unit/test_cli.py`` checks this).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import BuildError, EngineUnavailable, KitError


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo, engine  # demo draws its chart: matplotlib for this command only
    from .ui.progress import TerminalProgress

    client = engine.connect()
    try:
        results = demo.run_demo(
            client, progress=lambda tag: TerminalProgress(tag, verbose=args.verbose))
    finally:
        client.close()
    chart = None if args.no_chart else demo.save_size_chart(results)
    if args.json:
        print(json.dumps(demo.results_json(results), indent=2))
    else:
        print()
        print(demo.results_table(results).to_string(index=False))
        if chart:
            print(f"\nsize chart: {chart}")
    return 0 if all(image.healthy for image in results.values()) else 1


def cmd_check(args: argparse.Namespace) -> int:
    """Build, run and check a Dockerfile; without an engine, check what needs none.

    Without an engine the static checks (Dockerfile, .dockerignore, lint) are measured and
    every image check reports ``skip`` with the reason; the exit code is then 1 only if a
    required check fails, since a skip is "not measured here", not a failure.
    """
    from . import engine
    from .grading.checks import run_checks, run_static_checks
    from .grading.report import check_report_text
    from .ui.progress import TerminalProgress

    # Like `docker build -f`: relative to the current folder; else try inside the context.
    dockerfile = Path(args.dockerfile)
    if not dockerfile.is_absolute() and not dockerfile.exists():
        dockerfile = Path(args.context) / dockerfile
    if not dockerfile.is_file():
        raise KitError(f"No Dockerfile at {dockerfile}.", "Check the --dockerfile path.")
    try:
        client = engine.connect()
    except EngineUnavailable as exc:
        report = run_static_checks(args.context, dockerfile.resolve(), reason=exc.message)
        failed = any(r.status == "fail" for r in report.results if r.required)
        if args.json:
            print(json.dumps({**report.to_json(), "engine": {
                "answered": False, "error": exc.message, "hint": exc.hint}}, indent=2))
        else:
            print(f"No Docker engine answered, so only the Dockerfile was checked.\n"
                  f"why: {exc.message}\nfix: {exc.hint}\n")
            print(check_report_text(report))
        return 1 if failed else 0
    try:
        progress = TerminalProgress("check", verbose=args.verbose)
        report = run_checks(client, args.context, dockerfile.resolve(), on_event=progress,
                            dep_cache_rebuild=not args.no_rebuild, backend=args.backend)
    finally:
        client.close()
    if args.json:
        print(json.dumps({**report.to_json(), "engine": {"answered": True}}, indent=2))
    else:
        print(check_report_text(report))
    return 0 if report.passed else 1


def cmd_record(args: argparse.Namespace) -> int:
    """Record the base image's manifest (engine-less builds), then the exercise's runs."""
    from . import engine, recorded
    from .ui.progress import TerminalProgress

    client = engine.connect()
    try:
        base = recorded.record_base_image(client)
        recording = None if args.base_only else recorded.record(
            client, progress=lambda key: TerminalProgress(f"record {key}"))
    finally:
        client.close()
    base_path = recorded.save_base_image(base)
    print(f"recorded {base['ref']} ({len(base['entries'])} paths, bytes of {len(base['data'])} "
          f"files) on {base['engine']} -> {base_path} ({base_path.stat().st_size / 1e3:.0f} kB)")
    if recording is None:
        return 0
    path = recorded.save(recording, Path(args.output) if args.output else recorded.RECORDING_PATH)
    meta = recording["meta"]
    print(f"recorded {len(recording['images'])} images on {meta['engine']} at {meta['date']}"
          f" -> {path} ({path.stat().st_size / 1e3:.0f} kB)")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from . import engine

    info = engine.probe()
    if args.json:
        print(json.dumps(info.__dict__, indent=2))
    elif info.reachable:
        print(f"[OK]   Docker Engine {info.server_version} (API {info.api_version}, "
              f"{info.os_arch}) at {info.url}; image store: {info.image_store}; "
              f"build backends: {', '.join(info.backends)}")
    else:
        print(f"[FAIL] {info.error}\n       fix: {info.hint}")
    return 0 if info.reachable else 1


def cmd_reset(args: argparse.Namespace) -> int:
    from . import engine
    from .engine.reset import reset

    client = engine.connect()
    try:
        report = reset(client, all_namespaces=args.all, images=not args.keep_images)
    finally:
        client.close()
    print(f"removed {len(report.containers)} container(s), {len(report.images)} image(s)")
    for name in report.containers + report.images:
        print(f"  - {name}")
    for failure in report.failed:
        print(f"  ! {failure}", file=sys.stderr)
    return 1 if report.failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="build, run and compare both images")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--no-chart", action="store_true", help="do not write out/*.png")
    p.add_argument("--verbose", action="store_true", help="also print the builder's log")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("check", help="build, run and check a Dockerfile")
    p.add_argument("--context", default="exercises/multistage-go", help="build context folder")
    p.add_argument("--dockerfile", default="Dockerfile.multistage",
                   help="Dockerfile path (absolute, or relative to the context)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--no-rebuild", action="store_true",
                   help="skip the real rebuild of the dep-cache check (it then reports "
                        "skip, so the run cannot pass: for quick feedback only)")
    p.add_argument("--backend", choices=("auto", "classic", "buildkit"), default="auto",
                   help="builder: auto = BuildKit for RUN --mount Dockerfiles (default)")
    p.add_argument("--verbose", action="store_true", help="also print the builder's log")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("probe", help="is an engine there, and what can it do")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_probe)
    p = sub.add_parser("record", help="record real runs for engine-less mode")
    p.add_argument("--output", help="where to write (default recordings/recording.json.gz)")
    p.add_argument("--base-only", action="store_true",
                   help="record only the golang:1.22 manifest (recordings/base-images/)")
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("reset", help="remove what the kit made")
    p.add_argument("--all", action="store_true", help="every namespace (instructors)")
    p.add_argument("--keep-images", action="store_true", help="remove containers only")
    p.set_defaults(func=cmd_reset)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # --help and usage errors exit here, before any SDK
    from .engine import engine_errors

    try:
        with engine_errors():
            return args.func(args)
    except BuildError as exc:
        tail = "\n".join(exc.log[-8:])
        print(f"error: {exc.message}\n{tail}\nhint: {exc.hint}", file=sys.stderr)
        return 1
    except KitError as exc:
        print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; containers started by this command were removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
