"""The ``dep-cache`` measurement: does ``go mod download`` come from the cache after a code edit?

Two halves decide ``dep-cache``:

* **the order** (:func:`order_problem`, from the Dockerfile alone): a download step, go.mod
  and go.sum copied before it, the whole source copied after it;
* **the cache** (:func:`probe_dep_cache`, on the engine): in a temporary copy of the context a
  ``.go`` file is edited and the build re-run **up to and including the download step** (the
  truncated Dockerfile of :mod:`helpers.grading.probeplan`: the learner's lines, the stages
  after the download dropped). It passes when the download step came from the cache. That
  later steps re-run after a code edit is read from the Dockerfile (the step after the
  download that reads the edited file), and the message says so: nothing after the download
  is rebuilt, so Go is not compiled again just to learn this.

The verdict is kept (:mod:`helpers.grading.factcache`) under a digest of everything the
truncated build reads, and a reused verdict says when it was measured. Where truncating could
change the answer (see :func:`~helpers.grading.probeplan.plan_probe`), or the truncated build
fails or names no download step, :func:`rebuild_after_edit` rebuilds the whole Dockerfile
after the edit, as the kit always did, and judges every step it reports.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import uuid
from pathlib import Path

import docker

from .. import dockerfile as df
from ..build import StepResult, build_image
from ..build.engineless.context import BuildContext
from ..build.engineless.depcache import edited_source
from ..config import namespace_or_default
from ..errors import BuildError, KitError
from . import factcache
from .probeplan import ProbePlan, describe, normalized, plan_probe

#: Appended when the verdict comes from the whole Dockerfile (truncation gave up).
FULL_NOTE = " (The whole Dockerfile was rebuilt to tell: {why}.)"


def order_problem(model: df.DockerfileModel) -> tuple[str, str] | None:
    """What the Dockerfile's order gets wrong for ``dep-cache``, as (message, hint), or None."""
    order = df.dependency_order(model)
    if order["download_line"] is None:
        return ("No `go mod download` step.",
                "COPY go.mod go.sum ./ then RUN go mod download before COPY . .")
    if not order["download_before_source"]:
        return (f"The source is copied (line {order['copy_all_line']}) before `go mod "
                f"download` (line {order['download_line']}).", "Move COPY . . after the download.")
    if not (order["copies_go_mod"] and order["copies_go_sum"]):
        missing = "go.sum" if order["copies_go_mod"] else "go.mod"
        return f"{missing} is not copied before `go mod download`.", "COPY go.mod go.sum ./"
    return None


def probe_dep_cache(client: docker.DockerClient, context: Path, dockerfile: Path, tag: str,
                    backend: str = "classic", model: df.DockerfileModel | None = None,
                    use_cache: bool = True) -> tuple[str, str]:
    """Whether the download step comes from the cache after a ``.go`` edit, measured.

    Args:
        client: A connected client.
        context: The learner's build context (copied; never modified).
        dockerfile: The learner's Dockerfile.
        tag: The image under test (the probe builds ``<tag>-depcache-probe`` and removes it).
        backend: The backend the image was built with (``classic`` or ``buildkit``: the one
            the learner's ``docker build`` uses, so the same cache rules apply).
        model: The parsed Dockerfile (parsed here when not given).
        use_cache: Reuse a verdict kept for the same inputs.

    Returns:
        (status, message): ``pass``, ``fail``, or ``skip`` when the engine's build output does
        not say which steps came from the cache.
    """
    context, dockerfile = Path(context), Path(dockerfile)
    edited = edited_source(context)
    if edited is None:
        return "fail", "No Go source in the context to edit."
    model = model or df.parse(dockerfile)
    build_context = BuildContext(context)
    plan = plan_probe(model, _read_text(dockerfile), build_context, edited)
    if isinstance(plan, str):
        return _full(client, context, dockerfile, tag, backend, plan)
    key = verdict_key(client, plan, build_context, edited, backend, model)
    kept = factcache.load("depcache", key) if use_cache and key else None
    if kept is not None:
        status, message = kept.data["status"], kept.data["message"]
        return status, (f"{message} ({_sentence(kept.note())}: nothing it depends on has "
                        "changed.)")
    verdict = _measure_truncated(client, context, dockerfile, plan, edited, tag, backend)
    if isinstance(verdict, str):
        return _full(client, context, dockerfile, tag, backend, verdict)
    if verdict[0] != "skip" and key:
        factcache.store("depcache", key, {"status": verdict[0], "message": verdict[1]},
                        f"{'BuildKit' if backend == 'buildkit' else 'the classic builder'}"
                        " of this engine")
    return verdict


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _read_text(dockerfile: Path) -> str:
    try:
        return dockerfile.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KitError(f"Cannot read {dockerfile}: {exc}.", "Check the file.") from None


def _full(client: docker.DockerClient, context: Path, dockerfile: Path, tag: str,
          backend: str, why: str) -> tuple[str, str]:
    status, message = rebuild_after_edit(client, context, dockerfile, tag, backend)
    return status, message + FULL_NOTE.format(why=why)


def verdict_key(client: docker.DockerClient, plan: ProbePlan, context: BuildContext,
                edited: str, backend: str, model: df.DockerfileModel) -> str | None:
    """A digest of everything the truncated build reads, or None when it cannot be known.

    The truncated Dockerfile, the edited file's name, the content of every context file its
    steps read (``.dockerignore`` applied), the ids of the images its stages start from, and
    the engine (address, version) with the backend. None when a step reads something the kit
    cannot digest (a URL, a source that is not there: the build then says what is wrong).
    """
    version = client.version()
    parts = [str(factcache.FORMAT), plan.text, edited, backend, str(client.api.base_url),
             str(version.get("Version", "")), str((version.get("Platform") or {}).get("Name"))]
    for read in plan.reads:
        what = f"{read.instruction.keyword} {read.instruction.raw}"
        for source in read.sources:
            try:
                matched = context.matches(source, what)
            except BuildError:
                return None
            for rel in matched:
                parts += _file_parts(context, rel)
    for index in plan.built:
        stage = model.stages[index]
        if stage.base_stage is None and stage.base != "scratch":
            parts += [stage.base, _image_id(client, stage.base)]
    return factcache.digest(*parts)


def _file_parts(context: BuildContext, rel: str) -> list[str]:
    """``rel`` (a context file or folder) as (path, content digest) pairs."""
    parts = []
    for path in ([rel] if not context.is_dir(rel) else context.files_under(rel)):
        file = context.path / path
        if file.is_symlink():
            parts += [path, "link:" + str(file.readlink())]
        elif file.is_file():
            parts += [path, hashlib.sha256(file.read_bytes()).hexdigest()]
        else:
            parts += [path, "dir"]
    return parts


def _image_id(client: docker.DockerClient, reference: str) -> str:
    try:
        return client.images.get(reference).id
    except (docker.errors.APIError, docker.errors.DockerException):
        return "absent"


def _copy_with_edit(context: Path, dockerfile: Path, tmp: Path,
                    edited: str) -> tuple[Path, Path]:
    """A copy of ``context`` with ``edited`` changed; the copy and where its Dockerfile goes.

    A Dockerfile inside the context goes to the same place in the copy (the same
    ``.dockerignore`` rules then apply to it); one outside goes beside the copy.
    """
    copy = tmp / "context"
    shutil.copytree(context, copy, symlinks=True)
    source = copy / edited
    source.write_text(source.read_text() + f"\n// cache probe {uuid.uuid4()}\n")
    try:
        target = copy / dockerfile.resolve().relative_to(context.resolve())
    except ValueError:
        target = tmp / dockerfile.name
    return copy, target


#: The verdict when the engine's build output names no steps: never a FAIL.
NO_STEPS = ("skip", "Not measured: this engine's build output names no steps, so the kit "
                    "cannot tell which came from the cache.")


#: A label the truncated probe's builds carry, naming the learner. The classic builder adds
#: the kit's labels as one LABEL step each, in key order: this key sorts first, so the
#: probe's first LABEL image is this learner's own. Were it the shared ``…managed=true``
#: step, removing one learner's probe would prune the image another learner's build had
#: just taken from the cache ("unknown parent image ID"; seen with 8 learners checking at
#: once). The full rebuild keeps the kit's own labels: its count of re-run steps is the
#: one the engine-less derivation (:mod:`helpers.build.engineless.depcache`) reproduces.
PROBE_LABEL = "com.multistage-kit.depcache-probe"


def _probe_build(client: docker.DockerClient, copy: Path, target: Path, tag: str,
                 backend: str, labels: dict[str, str] | None = None):
    """Build the edited copy as ``<tag>-depcache-probe`` (with ``labels`` beside the kit's),
    then remove that image (and its private parents) whatever happened; raises BuildError."""
    probe_tag = f"{tag}-depcache-probe"
    try:
        return build_image(client, copy, probe_tag, target, backend=backend, labels=labels)
    finally:
        try:
            client.images.remove(probe_tag)
        except docker.errors.APIError:
            pass


def _measure_truncated(client: docker.DockerClient, context: Path, dockerfile: Path,
                       plan: ProbePlan, edited: str, tag: str,
                       backend: str) -> tuple[str, str] | str:
    """Build ``plan.text`` in an edited copy; the verdict, or why the full rebuild must tell."""
    with tempfile.TemporaryDirectory(prefix="kit-depcache-") as tmp:
        copy, target = _copy_with_edit(context, dockerfile, Path(tmp), edited)
        target.write_text(plan.text)
        try:
            rebuilt = _probe_build(client, copy, target, tag, backend,
                                   labels={PROBE_LABEL: namespace_or_default()})
        except BuildError as exc:
            return f"the build up to the download step failed ({exc.message})"
    if not rebuilt.steps:
        return NO_STEPS
    steps = download_steps(rebuilt.steps, plan)
    if steps is None:
        return "the build output names no step for the download"
    line = plan.download.line
    if not all(step.cached for step in steps):
        return "fail", (f"After editing {edited} (in a temporary copy), the `go mod download` "
                        f"step (line {line}) ran again instead of coming from the cache.")
    later = plan.source_read
    if later is None:
        return (f"no step after the download (line {line}) reads {edited}, so only the whole "
                "build can tell whether a code edit re-runs anything")
    return "pass", (f"After editing {edited} (in a temporary copy), the `go mod download` step "
                    f"(line {line}) came from the cache when the build was re-run up to it; "
                    f"`{describe(later)}` (line {later.line}) reads the source after it, so a "
                    "code edit re-runs the steps from there (read from the Dockerfile).")


def download_steps(steps: list[StepResult], plan: ProbePlan) -> list[StepResult] | None:
    """The builder's steps for the plan's download instructions, or None if one is not named.

    Each is found by its text as the builder prints it (case and spacing aside); the last
    download, the truncated file's last instruction, may also be the last step the builder
    reports other than a FROM and the kit's LABELs (a builder that prints it differently).
    """
    found = []
    for download in plan.downloads:
        wanted = normalized(f"{download.keyword} {download.raw}")
        matches = [s for s in steps if normalized(s.instruction) == wanted]
        if not matches and download is plan.download:
            others = [s for s in steps if not s.instruction.upper().startswith(("FROM", "LABEL"))]
            matches = others[-1:] if others and others[-1].instruction.upper().startswith(
                "RUN") else []
        if not matches:
            return None
        found.append(matches[-1])
    return found


def rebuild_after_edit(client: docker.DockerClient, context: Path, dockerfile: Path,
                       tag: str, backend: str = "classic") -> tuple[str, str]:
    """Edit a Go source in a temporary copy of the context, rebuild it all, inspect the cache.

    The thorough measurement (every step of the whole Dockerfile rebuilt and judged): what
    :func:`probe_dep_cache` falls back to, and what the engine-less derivation
    (:mod:`helpers.build.engineless.depcache`) is tested against.

    Returns:
        (status, message): ``pass`` if the ``go mod download`` step came from the cache while
        a later step re-ran; ``fail`` otherwise.
    """
    sources = sorted(context.rglob("*.go"), key=lambda p: ("_test" in p.name, str(p)))
    if not sources:
        return "fail", "No Go source in the context to edit."
    edited = sources[0].relative_to(context).as_posix()
    with tempfile.TemporaryDirectory(prefix="kit-depcache-") as tmp:
        copy, target = _copy_with_edit(context, dockerfile, Path(tmp), edited)
        if not target.exists():  # a Dockerfile outside the context: beside the copy
            shutil.copyfile(dockerfile, target)
        try:
            rebuilt = _probe_build(client, copy, target, tag, backend)
        except BuildError as exc:
            return "fail", f"The rebuild after a source edit failed: {exc.message}"
    if not rebuilt.steps:
        return NO_STEPS
    downloads = [s for s in rebuilt.steps if "go mod download" in s.instruction]
    if not downloads:
        return "fail", "There is no `go mod download` step to reuse."
    reran = [s for s in rebuilt.steps
             if not s.cached and not s.instruction.upper().startswith("FROM")]
    if not all(s.cached for s in downloads):
        return "fail", ("After editing a .go file the `go mod download` step ran again "
                        "instead of coming from the cache.")
    if not reran:
        return "fail", "After editing a .go file nothing was rebuilt: is the source copied?"
    return "pass", (f"After editing {edited} the download step came from "
                    f"the cache; {len(reran)} later step(s) re-ran.")
