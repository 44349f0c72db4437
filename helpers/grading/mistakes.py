"""The classic learner mistakes, recognised from evidence, each with a targeted hint.

Every mistake in the kit's list of classic learner mistakes has an id, a title, the *why*
(what really goes wrong) and the one-line *fix*. A detector looks at the :class:`Evidence`
gathered by :mod:`helpers.grading.evidence` — the parsed Dockerfile, the build error, the
container's exit code and logs, the image's files, configuration and ELF headers — and says
*what happened* in this learner's case, or ``None``.
A failing check lists the diagnoses that explain it (see ``RELATED`` in helpers.grading.checks).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Callable

from .. import dockerfile as df
from ..errors import BuildError, KitError, RunError
from ..image import CaBundle, ElfFacts, ImageConfig

#: Go's Linux CA bundle locations are in helpers.image.certs; shells a HEALTHCHECK may need.
SHELL_TOOLS = ("curl", "wget", "sh", "bash", "/bin/sh")


@dataclass
class Evidence:
    """Everything the checks learned, for the detectors. Unknown facts stay None."""

    model: df.DockerfileModel | None = None
    parse_error: KitError | None = None
    build_error: BuildError | None = None
    run_error: RunError | None = None
    start_error: str = ""
    config: ImageConfig | None = None
    files: set[str] | None = None
    elf: ElfFacts | None = None
    ca: CaBundle | None = None
    health_ca_roots: int | None = None
    dockerignore: bool | None = None
    engine_arch: str | None = None


@dataclass
class Mistake:
    """One classic mistake: what it is, why it hurts, how to fix it."""

    id: str
    title: str
    why: str
    fix: str
    detect: Callable[[Evidence], str | None] = field(repr=False, default=lambda ev: None)


@dataclass
class Diagnosis:
    """A mistake found in this learner's work, with what happened here."""

    id: str
    title: str
    what: str
    why: str
    fix: str

    def hint(self) -> str:
        """What happened here and the one-line fix (the *why* is shown with the diagnosis)."""
        return f"{self.what} Fix: {self.fix}"


def _logs(ev: Evidence) -> str:
    parts = [ev.start_error]
    if ev.run_error is not None:
        parts += [ev.run_error.message, ev.run_error.logs]
    return "\n".join(p for p in parts if p).lower()


def _final_base(ev: Evidence) -> str | None:
    if ev.model is None:
        return None
    stage = ev.model.final
    while stage.base_stage is not None:
        stage = ev.model.stages[stage.base_stage]
    return stage.base


def _toolchain_runtime(ev: Evidence) -> str | None:
    base = _final_base(ev)
    if base and df.is_toolchain_image(base):
        return f"The final stage starts FROM {base}, so the whole Go toolchain ships."
    return None


def _cgo_dynamic(ev: Evidence) -> str | None:
    if ev.elf is not None and ev.elf.is_elf and not ev.elf.static:
        how = ev.elf.interpreter or ", ".join(ev.elf.needed)
        return f"{ev.elf.path} is dynamically linked (needs {how})."
    if "no such file or directory" in _logs(ev) and ev.elf is None and ev.model is not None:
        flags = [df.build_flags(ev.model, s, i) for s, i in df.go_build_commands(ev.model)]
        if flags and all(f["cgo_disabled"] is not True for f in flags):
            return "The binary could not be started and the build does not set CGO_ENABLED=0."
    return None


def _no_ca(ev: Evidence) -> str | None:
    if ev.ca is not None and (ev.ca.path is None or ev.ca.certificates == 0):
        return "No CA bundle at any path Go reads (e.g. /etc/ssl/certs/ca-certificates.crt)."
    if ev.health_ca_roots == 0:
        return "The running server reports ca_roots: 0."
    return None


def _copy_before_download(ev: Evidence) -> str | None:
    if ev.model is None:
        return None
    order = df.dependency_order(ev.model)
    if order["download_line"] is None:
        return "No `go mod download` step: dependencies are fetched during `go build`."
    if not order["download_before_source"]:
        return (f"`COPY` of the whole source (line {order['copy_all_line']}) comes before "
                f"`go mod download` (line {order['download_line']}).")
    return None


def _go_sum_missing(ev: Evidence) -> str | None:
    if ev.model is None:
        return None
    order = df.dependency_order(ev.model)
    if order["download_line"] is not None and order["copies_go_mod"] and \
            not order["copies_go_sum"]:
        return "go.mod is copied before `go mod download`, go.sum is not."
    return None


def _copy_from_missing(ev: Evidence) -> str | None:
    if ev.model is not None:
        for copy in ev.model.copies_from():
            if copy.source_stage is None:
                return (f"Line {copy.line}: COPY --from={copy.source} names no stage of this "
                        f"Dockerfile (Docker then looks for an image of that name).")
    error = ev.build_error
    if error is not None and "--from" in error.instruction.lower():
        return f"Step {error.step} ({error.instruction}) failed: {error.engine_message}"
    return None


def _shell_form_scratch(ev: Evidence) -> str | None:
    if ev.config is None or ev.files is None:
        return None
    if ev.config.shell_form() and "/bin/sh" not in ev.files:
        return ("ENTRYPOINT/CMD is in shell form, which runs /bin/sh -c, and the image has no "
                "/bin/sh.")
    return None


def _relative_cmd_missing(ev: Evidence) -> str | None:
    if ev.config is None or ev.files is None or ev.config.shell_form():
        return None
    command = ev.config.command()
    if not command:
        return "The image has neither ENTRYPOINT nor CMD."
    path = ev.config.program_path(ev.files)
    if path is None or path not in ev.files:
        return (f"The image starts {command[0]!r} (WORKDIR {ev.config.workdir or '/'}), which "
                f"is not a file in the final image.")
    return None


def _not_stripped(ev: Evidence) -> str | None:
    if ev.elf is not None and ev.elf.is_elf and not ev.elf.stripped:
        what = [n for n, has in (("a symbol table", ev.elf.has_symtab),
                                 ("DWARF debug sections", ev.elf.has_debug)) if has]
        return f"{ev.elf.path} still has {' and '.join(what)}."
    return None


def _goarch_mismatch(ev: Evidence) -> str | None:
    if ev.elf is not None and ev.elf.goarch and ev.engine_arch and \
            ev.elf.goarch != ev.engine_arch:
        return f"The binary is built for {ev.elf.goarch}; the engine runs {ev.engine_arch}."
    if "exec format error" in _logs(ev):
        return "The container failed with 'exec format error'."
    return None


def _root_user(ev: Evidence) -> str | None:
    if ev.config is not None and ev.config.runs_as_root():
        return "The image has no USER, so the server runs as root (uid 0)."
    return None


def _latest_base(ev: Evidence) -> str | None:
    if ev.model is None:
        return None
    found = df.uses_latest_or_unpinned(ev.model)
    if found:
        return "Unpinned base image: " + ", ".join(image for _, image in found) + "."
    return None


def _no_dockerignore(ev: Evidence) -> str | None:
    if ev.dockerignore is False:
        return "The build context has no .dockerignore."
    return None


def _healthcheck_shell(ev: Evidence) -> str | None:
    if ev.config is None or not ev.config.healthcheck or ev.files is None:
        return None
    test = ev.config.healthcheck
    if test[0] == "CMD-SHELL":
        if "/bin/sh" not in ev.files:
            return "HEALTHCHECK is in shell form and the image has no /bin/sh."
        words = shlex.split(test[1]) if len(test) > 1 else []
    else:
        words = test[1:] if test[0] == "CMD" else test
    program = words[0] if words else ""
    if any(program == tool or program.endswith("/" + tool.lstrip("/")) for tool in SHELL_TOOLS) \
            and not any(f.endswith("/" + program.rsplit("/", 1)[-1]) for f in ev.files):
        return f"HEALTHCHECK runs {program}, which is not in the image."
    return None


MISTAKES: list[Mistake] = [
    Mistake("toolchain-runtime", "Final stage is still a Go toolchain image",
            "The image you run is the one of the LAST stage; if it is golang:*, all ~700 MB "
            "of compiler and tools ship with it.",
            "Make the last stage `FROM scratch` (or a pinned alpine/distroless) and "
            "`COPY --from=<builder> /path/to/server /server`.", _toolchain_runtime),
    Mistake("cgo-dynamic", "cgo left on: dynamically linked binary",
            "With cgo on, Go links against the C library; scratch has no loader or libc, so "
            "starting it fails with 'exec /server: no such file or directory'.",
            "Build with `CGO_ENABLED=0 go build ...`.", _cgo_dynamic),
    Mistake("no-ca-certs", "CA certificates not copied",
            "HTTPS calls fail with 'x509: certificate signed by unknown authority' because "
            "scratch has no trust store.",
            "`COPY --from=<builder> /etc/ssl/certs/ca-certificates.crt "
            "/etc/ssl/certs/ca-certificates.crt`.", _no_ca),
    Mistake("copy-before-download", "Source copied before `go mod download`",
            "`COPY . .` changes on every code edit, so every later step — the module download "
            "included — re-runs on each build.",
            "`COPY go.mod go.sum ./` then `RUN go mod download`, and only then `COPY . .`.",
            _copy_before_download),
    Mistake("go-sum-missing", "go.sum missing from the dependency COPY",
            "Without go.sum the download step cannot verify modules, and a go.sum change does "
            "not invalidate the cached download.",
            "`COPY go.mod go.sum ./` before `RUN go mod download`.", _go_sum_missing),
    Mistake("copy-from-missing", "COPY --from names a stage or path that does not exist",
            "--from must name an earlier stage (AS name, or its index) and the path must exist "
            "in that stage; otherwise Docker tries to pull an image of that name or the COPY "
            "fails.",
            "Check the stage's `AS` name and the `-o` output path of `go build`.",
            _copy_from_missing),
    Mistake("shell-form-scratch", "Shell-form CMD/ENTRYPOINT in scratch",
            "`CMD ./server` means `/bin/sh -c ./server`; scratch has no /bin/sh, so the "
            "container cannot start.",
            'Use exec form: `ENTRYPOINT ["/server"]`.', _shell_form_scratch),
    Mistake("relative-cmd-missing", "The command names a file that is not in the image",
            "A relative path is resolved against the final stage's WORKDIR, not the builder's.",
            'Use the absolute path you copied the binary to: `ENTRYPOINT ["/server"]`.',
            _relative_cmd_missing),
    Mistake("not-stripped", "Binary not stripped",
            "The symbol table and DWARF debug info add a few MB that nothing uses at run time.",
            'Add `-ldflags="-s -w"` to `go build`.', _not_stripped),
    Mistake("goarch-mismatch", "GOOS/GOARCH mismatch",
            "A binary for another CPU fails with 'exec format error'.",
            "Drop the hard-coded GOARCH, or use `ARG TARGETARCH` and `GOARCH=$TARGETARCH`.",
            _goarch_mismatch),
    Mistake("root-user", "Running as root",
            "If the server is compromised, the attacker is root inside the container.",
            "Add `USER 65534:65534` (numeric: scratch has no /etc/passwd).", _root_user),
    Mistake("latest-base", "Unpinned or `latest` base image",
            "`latest` changes under you: the same Dockerfile builds differently next month.",
            "Pin a version: `FROM golang:1.22`, `FROM alpine:3.19`.", _latest_base),
    Mistake("no-dockerignore", "No .dockerignore",
            "Everything in the folder is sent to the engine and lands in `COPY . .`, so editing "
            "a README or the Dockerfile busts the cache.",
            "Add a .dockerignore listing .git, *.md, Dockerfile*, out/.", _no_dockerignore),
    Mistake("healthcheck-shell", "HEALTHCHECK calls a tool the image does not have",
            "curl, wget and sh do not exist in scratch; the check always fails and the "
            "container is marked unhealthy.",
            'Let the binary check itself: `HEALTHCHECK CMD ["/server", "-healthcheck"]`.',
            _healthcheck_shell),
]
MISTAKES_BY_ID = {mistake.id: mistake for mistake in MISTAKES}


def diagnose(evidence: Evidence) -> list[Diagnosis]:
    """Every classic mistake the evidence shows, in the order of :data:`MISTAKES`."""
    found = []
    for mistake in MISTAKES:
        try:
            what = mistake.detect(evidence)
        except (KitError, KeyError, IndexError, TypeError, ValueError):
            what = None  # a detector must never hide the other diagnoses
        if what:
            found.append(Diagnosis(mistake.id, mistake.title, what, mistake.why, mistake.fix))
    return found
