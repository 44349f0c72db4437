"""Command line of the kit: ``python -m helpers COMMAND``.

Commands:
    demo     build the original and the optimized image, run both, print a table and a chart
    check    build a Dockerfile, run it, and check every requirement of the exercise
    build    build a Dockerfile (``--no-engine``: here, with the local Go toolchain)
    probe    say whether an engine answers and what it offers
    record   record real runs for machines without an engine (recordings/)
    exercise ``exercise restore``: put the starter back, keeping the learner's file as a backup
    reset    remove the containers and images the kit made (this namespace, or --all), and
             the learner's hints and backups
    class-report  the instructor's view of KIT_RESULTS_DIR: every learner's latest verdict
             per check, attempts, time to the first full pass, pass rates (--csv, --json)

With ``KIT_RESULTS_DIR`` set, every ``check`` also leaves a record of its verdicts there for
the instructor (a warning on stderr, never a failed check, when it cannot).

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


def _dockerfile_arg(args: argparse.Namespace) -> Path:
    """``--dockerfile`` like ``docker build -f``: relative to the current folder, else
    inside the context."""
    dockerfile = Path(args.dockerfile)
    if not dockerfile.is_absolute() and not dockerfile.exists():
        dockerfile = Path(args.context) / dockerfile
    if not dockerfile.is_file():
        raise KitError(f"No Dockerfile at {dockerfile}.", "Check the --dockerfile path.")
    return dockerfile.resolve()


def cmd_check(args: argparse.Namespace) -> int:
    """Build, run and check a Dockerfile on the engine, or without one.

    Without an engine (or with ``--no-engine``) the image is built here with the local Go
    toolchain and measured like an engine's (every result marked ``engine_less``); what
    that build cannot reproduce reports ``skip`` with the reason. With no Go toolchain
    either, only the static checks run. A skip is "not measured here", not a failure: the
    exit code is 1 only if a required check fails.
    """
    from . import engine
    from .grading.checks import run_checks, run_engineless_checks, run_static_checks
    from .grading.report import check_report_text
    from .ui.progress import TerminalProgress

    dockerfile = _dockerfile_arg(args)
    why, hint = "--no-engine was given", ""
    client = None
    if not args.no_engine:
        try:
            client = engine.connect()
        except EngineUnavailable as exc:
            why, hint = exc.message, exc.hint
    if client is None:
        from .build.engineless import toolchain

        if toolchain.go_toolchain() is not None:
            report = run_engineless_checks(args.context, dockerfile,
                                           on_line=print if args.verbose else None)
        else:
            report = run_static_checks(args.context, dockerfile, reason=why)
        failed = any(r.status == "fail" for r in report.results if r.required)
        if args.json:
            print(json.dumps({**report.to_json(), "engine": {
                "answered": False, "error": why, "hint": hint}}, indent=2))
        else:
            done = ("the image was built here without one" if report.engine_less
                    else "only the Dockerfile was checked")
            if not args.no_engine:
                print(f"No Docker engine answered, so {done}.\nwhy: {why}\nfix: {hint}\n")
            print(check_report_text(report))
        _leave_record(report, None)
        return 1 if failed else 0
    try:
        progress = TerminalProgress("check", verbose=args.verbose)
        report = run_checks(client, args.context, dockerfile, on_event=progress,
                            dep_cache_rebuild=not args.no_rebuild, backend=args.backend)
        _leave_record(report, client)
    finally:
        client.close()
    if args.json:
        print(json.dumps({**report.to_json(), "engine": {"answered": True}}, indent=2))
    else:
        print(check_report_text(report))
    return 0 if report.passed else 1


def _leave_record(report, client) -> None:
    """The check's record for the instructor (``KIT_RESULTS_DIR``); one line if it failed."""
    from .classroom.records import leave_record

    warning = leave_record(report, client)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    """Build a Dockerfile: on the engine, or with ``--no-engine`` here (an image archive)."""
    from .config import image_tag

    dockerfile = _dockerfile_arg(args)
    tag = args.tag or image_tag("exercise2-optimized")
    if args.no_engine:
        from .build.engineless.build import build_without_engine

        built = build_without_engine(args.context, dockerfile, tag, output=args.output,
                                     on_line=print if args.verbose else None)
        layers = sum(len(layer) for layer in built.image.layers)
        where = (f"-> {built.archive} (docker load -i {built.archive})" if built.archive
                 else f"on the recorded {built.image.base.ref}: measured, not written")
        print(f"built {tag} without an engine in {built.seconds:.1f} s: "
              f"{len(built.image.layers)} layer(s), {layers} entries {where}")
        return 0
    from . import engine
    from .build import build_image
    from .ui.progress import TerminalProgress

    client = engine.connect()
    try:
        result = build_image(client, args.context, tag, dockerfile,
                             on_event=TerminalProgress(tag, verbose=args.verbose))
    finally:
        client.close()
    print(f"built {tag} ({result.image_id[:19]})")
    return 0


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


def cmd_exercise(args: argparse.Namespace) -> int:
    from .learner.restore import restore_starter

    restored = restore_starter()
    print(restored.message())
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from . import engine
    from .engine.reset import reset
    from .learner.state import clear_learner_state, learner_dir

    if clear_learner_state():  # hints and backups: no engine needed
        print(f"removed this learner's hints and backups ({learner_dir()})")
    client = engine.connect()
    try:
        report = reset(client, all_namespaces=args.all, images=not args.keep_images)
    finally:
        client.close()
    print(f"removed {len(report.containers)} container(s), {len(report.images)} image(s)"
          + (f", kept facts in {len(report.files)} folder(s)" if report.files else ""))
    for name in report.containers + report.images + report.files:
        print(f"  - {name}")
    for failure in report.failed:
        print(f"  ! {failure}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_class_report(args: argparse.Namespace) -> int:
    """Read every learner's records in the results folder; print, and write --csv."""
    from .classroom.classreport import class_report_text, read_class_report

    report = read_class_report(args.results)
    if args.csv:
        try:
            report.gradebook().to_csv(args.csv, index=False)
        except OSError as exc:
            raise KitError(f"Cannot write the gradebook to {args.csv}: "
                           f"{exc.strerror or exc}.", "Give --csv a writable path.") from None
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(class_report_text(report))
        if args.csv:
            print(f"\ngradebook: {args.csv} ({len(report.learners())} row(s))")
    return 0


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
    p.add_argument("--no-engine", action="store_true",
                   help="build and measure here with the local Go toolchain, even if an "
                        "engine answers (what happens anyway when none does)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("build", help="build a Dockerfile (--no-engine: here, to an archive)")
    p.add_argument("--context", default="exercises/multistage-go", help="build context folder")
    p.add_argument("--dockerfile", default="Dockerfile.multistage",
                   help="Dockerfile path (absolute, or relative to the context)")
    p.add_argument("--tag", help="image name (default the namespaced exercise2-optimized)")
    p.add_argument("--no-engine", action="store_true",
                   help="build with the local Go toolchain, no Docker engine needed")
    p.add_argument("--output", help="with --no-engine: write the image archive here "
                                    "(docker load -i FILE)")
    p.add_argument("--verbose", action="store_true", help="also print the build log")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("probe", help="is an engine there, and what can it do")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_probe)
    p = sub.add_parser("record", help="record real runs for engine-less mode")
    p.add_argument("--output", help="where to write (default recordings/recording.json.gz)")
    p.add_argument("--base-only", action="store_true",
                   help="record only the golang:1.22 manifest (recordings/base-images/)")
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("exercise", help="the exercise files: `exercise restore` puts the "
                                        "starter back (your file is kept as a backup)")
    p.add_argument("action", choices=("restore",),
                   help="restore: copy the shipped starter over Dockerfile.multistage, after "
                        "a timestamped backup under out/learners/")
    p.set_defaults(func=cmd_exercise)
    p = sub.add_parser("reset", help="remove what the kit made")
    p.add_argument("--all", action="store_true", help="every namespace (instructors)")
    p.add_argument("--keep-images", action="store_true", help="remove containers only")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("class-report", help="instructors: every learner's results at a glance")
    p.add_argument("--results", metavar="DIR",
                   help="the class's results folder (default: KIT_RESULTS_DIR)")
    p.add_argument("--csv", metavar="FILE", help="also write a gradebook CSV (one row per "
                   "learner, one column per required check, passed and total)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_class_report)
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
