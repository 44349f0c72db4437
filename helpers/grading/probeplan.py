"""The part of a Dockerfile that decides ``dep-cache``: every step up to ``go mod download``.

The dep-cache probe asks the engine one question: after a ``.go`` edit (in a temporary copy of
the context), does the ``go mod download`` step still come from the build cache? A step's
cache hit depends only on the steps before it in its stage, the stages it is built ``FROM``
and the stages it copies or mounts from before it; never on what comes after. So the probe
need not rebuild (and recompile) the whole image: :func:`plan_probe` writes a Dockerfile
holding just those steps, in the learner's own words, and the probe builds that.

How the truncated Dockerfile is made (pure text surgery on the learner's lines, guided by the
model of :mod:`helpers.dockerfile`, so continuations, lower-case keywords, comments, ``#
syntax``/``# escape`` directives and the ARGs before the first FROM stay exactly as written):

* the lines before the first FROM are kept (directives, global ARGs);
* every stage before the download's stage that the download needs (its FROM chain, a ``COPY
  --from``/``RUN --mount=from`` before the download, transitively) is kept whole;
* every other stage before it is cut down to its FROM line: names and indexes (``COPY
  --from=0``) keep meaning the same stage, and a FROM-only stage costs nothing to build;
* the download's stage is cut after the last download step; later stages are dropped.

The last download step is then the truncated file's last instruction, so the builders'
cache decisions for it are the ones the full build makes (the kit's LABELs come after it).

:func:`plan_probe` gives up (returns the reason; the caller then rebuilds the whole
Dockerfile, as before) when truncation could change what is measured: no download in the
stages the image is built from, downloads in stages no single cut covers, or a download
written as a heredoc (its body is not modelled). A plan with no step after the download that
reads the edited source (:attr:`ProbePlan.source_read` None) still measures a ``fail`` (the
download re-ran); a cached download then needs the whole build to say whether anything
re-runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..build.engineless.context import BuildContext
from ..dockerfile import DockerfileModel, Instruction, Stage
from ..dockerfile.shell import command_text
from ..errors import BuildError

#: ``go mod download`` anywhere in a RUN's command (``-x``, ``&& go mod verify``, ``sh -c``,
#: ``/usr/local/go/bin/go``, exec form once its words are joined).
_DOWNLOAD_RE = re.compile(r"(?:^|[\s;&|(/\"'])go\s+mod\s+download\b")
_HEREDOC_RE = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class ContextRead:
    """A step of the truncated Dockerfile that reads the build context.

    Attributes:
        instruction: The COPY/ADD (without ``--from``) or the RUN with a context bind mount.
        sources: The context paths it names, as written (``"."`` for a bind mount's default).
    """

    instruction: Instruction
    sources: list[str]


@dataclass
class ProbePlan:
    """What the probe builds and how to read its result.

    Attributes:
        text: The truncated Dockerfile.
        stage: The stage holding the last download step.
        download: That step: the truncated file's last instruction.
        downloads: Every download step of the stages the image is built from (all kept).
        built: Indexes of the stages kept whole (the others are FROM lines only).
        reads: The steps of the truncated file that read the build context, in file order.
        source_read: The first step after the last download that reads the edited source
            (the static half of the verdict: a code edit re-runs the steps from there).
    """

    text: str
    stage: Stage
    download: Instruction
    downloads: list[Instruction]
    built: list[int]
    reads: list[ContextRead] = field(default_factory=list)
    source_read: Instruction | None = None


def is_download(instruction: Instruction) -> bool:
    """Whether a RUN runs ``go mod download`` (any of the ways learners write it)."""
    if instruction.keyword != "RUN":
        return False
    text = " ".join(instruction.arguments) if instruction.exec_form else command_text(instruction)
    return bool(_DOWNLOAD_RE.search(text))


def reached_stages(model: DockerfileModel) -> list[Stage]:
    """The stages the image is built from: the final stage's FROM chain and what it copies."""
    indexes = {s.index for s in model.chain(model.final)}
    indexes |= {s.index for s in model.builder_stages()}
    return [model.stages[i] for i in sorted(indexes)]


def needed_stages(model: DockerfileModel, stage: Stage, before_line: int) -> set[int]:
    """``stage`` and every stage its steps before ``before_line`` depend on, transitively."""
    needed: set[int] = set()
    todo: list[tuple[Stage, int | None]] = [(stage, before_line)]
    while todo:
        current, limit = todo.pop()
        if current.index in needed:
            continue
        needed.add(current.index)
        if current.base_stage is not None:
            todo.append((model.stages[current.base_stage], None))
        for instruction in current.instructions:
            if limit is not None and instruction.line >= limit:
                break
            for ref in _stage_refs(instruction):
                other = model.stage(ref)
                if other is not None and other.index != current.index:
                    todo.append((other, None))
    return needed


def _stage_refs(instruction: Instruction) -> list[str]:
    """The ``--from`` of a COPY/ADD and the ``from=`` of each RUN mount."""
    if instruction.keyword in ("COPY", "ADD") and "from" in instruction.flags:
        return [instruction.flags["from"]]
    if instruction.keyword == "RUN":
        return [m["from"] for m in instruction.mounts() if "from" in m]
    return []


def context_sources(instruction: Instruction) -> list[str] | None:
    """The context paths a step reads, or None when it reads none.

    COPY/ADD without ``--from`` read their sources (a heredoc source is text, not a file);
    a RUN reads each ``--mount=type=bind`` without ``from`` (the whole context by default).
    """
    if instruction.keyword in ("COPY", "ADD") and "from" not in instruction.flags:
        sources = [s for s in instruction.arguments[:-1] if not s.startswith("<<")]
        return sources or None
    if instruction.keyword == "RUN":
        binds = [m.get("source") or m.get("src") or "." for m in instruction.mounts()
                 if m["type"] == "bind" and "from" not in m]
        return binds or None
    return None


def reads_file(context: BuildContext, read: ContextRead, rel: str) -> bool:
    """Whether ``read`` takes context file ``rel`` (``.dockerignore`` applied, as Docker does).

    A source that matches nothing reads nothing (the build itself then fails, and says so).
    """
    what = f"{read.instruction.keyword} {read.instruction.raw}"
    for source in read.sources:
        try:
            matched = context.matches(source, what)
        except BuildError:
            continue
        if any(m == rel or rel in context.files_under(m) for m in matched):
            return True
    return False


def plan_probe(model: DockerfileModel, text: str, context: BuildContext | None = None,
               edited: str | None = None) -> ProbePlan | str:
    """The truncated Dockerfile that decides ``dep-cache``, or why there is none.

    Args:
        model: The parsed Dockerfile.
        text: The Dockerfile's text (``model`` was parsed from it).
        context: The build context; with ``edited``, the step after the download that reads
            the edited source is looked for (:attr:`ProbePlan.source_read`; without one, a
            cached download alone cannot pass: the caller rebuilds the whole file then).
        edited: The context-relative path of the source the probe edits.

    Returns:
        The :class:`ProbePlan`, or a sentence saying why truncating could change the answer.
    """
    reached = reached_stages(model)
    downloads = [(s, i) for s in reached for i in s.instructions if is_download(i)]
    if not downloads:
        return "no `go mod download` step in the stages the image is built from"
    stage, download = max(downloads, key=lambda pair: pair[1].line)
    needed = needed_stages(model, stage, download.line)
    if any(s.index not in needed for s, _ in downloads):
        return "the `go mod download` steps are in stages no single cut of the file covers"
    if _HEREDOC_RE.search(download.raw):
        return f"the download step (line {download.line}) is a heredoc"
    plan = ProbePlan(_cut(model, text, stage, download, needed), stage, download,
                     [i for _, i in downloads], sorted(needed))
    plan.reads = [ContextRead(i, sources) for s in model.stages if s.index in needed
                  for i in s.instructions
                  if (s.index != stage.index or i.line <= download.line)
                  and (sources := context_sources(i)) is not None]
    if context is not None and edited is not None:
        plan.source_read = _source_read(model, reached, download, context, edited)
    return plan


def _source_read(model: DockerfileModel, reached: list[Stage], download: Instruction,
                 context: BuildContext, edited: str) -> Instruction | None:
    """The first step after ``download``, in a stage the image is built from, reading ``edited``."""
    later = sorted((i for s in reached for i in s.instructions if i.line > download.end_line),
                   key=lambda i: i.line)
    for instruction in later:
        sources = context_sources(instruction)
        if sources and reads_file(context, ContextRead(instruction, sources), edited):
            return instruction
    return None


def _cut(model: DockerfileModel, text: str, stage: Stage, download: Instruction,
         needed: set[int]) -> str:
    """The learner's lines: preamble, the needed stages whole, the others as FROM lines."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = lines[:model.stages[0].line - 1]
    for current in model.stages[:stage.index + 1]:
        start = current.line
        following = model.stages[current.index + 1].line if current is not stage else None
        if current is stage:
            end = download.end_line
        elif current.index in needed:
            end = following - 1
        else:
            end = current.from_instruction.end_line or current.line
        kept.extend(lines[start - 1:end])
    return "\n".join(kept).rstrip("\n") + "\n"


def describe(instruction: Instruction) -> str:
    """``COPY . .`` / ``RUN --mount=... go build`` for a message, shortened."""
    words = f"{instruction.keyword} {' '.join(instruction.raw.split())}"
    return words if len(words) <= 40 else words[:39] + "…"


def normalized(text: str) -> str:
    """An instruction as builders print it, compared loosely: case and spacing ignored."""
    return " ".join(text.replace("\\\n", " ").split()).lower()

