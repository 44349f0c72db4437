"""Which lines of a Dockerfile a check is about: where a FAIL points, what a solution shows.

A learner reads "dep-cache FAIL" faster when it says *line 14* of their own file, and a
"show the solution for this" answer is the few lines of the reference that satisfy that one
check, not the whole file. Both come from the parsed model (:mod:`helpers.dockerfile`), so
they follow the learner's own layout (named or numbered stages, extra stages, lower-case
keywords): :func:`concern_line` is the line a failing check concerns, :func:`solution_spans`
the lines of a (reference) Dockerfile that do what the check asks.

Pure: no engine, no files beyond the parsed model.
"""

from __future__ import annotations

from .. import dockerfile as df

#: Checks about the final image as a whole: they point at (and are solved by) its stage.
_FINAL_STAGE_CHECKS = ("size", "only-binary", "multi-stage")


def _instructions(stage: df.Stage, *keywords: str) -> list[df.Instruction]:
    return [i for i in stage.instructions if i.keyword in keywords]


def _span(instruction: df.Instruction) -> tuple[int, int]:
    return instruction.line, max(instruction.end_line, instruction.line)


def _final_stage_span(model: df.DockerfileModel) -> tuple[int, int]:
    stage = model.final
    end = max([_span(i)[1] for i in stage.instructions] or [stage.line])
    return stage.line, end


def _build_stage(model: df.DockerfileModel) -> df.Stage | None:
    index = df.dependency_order(model)["stage"]
    return model.stages[index] if index is not None else None


def _copies_ca_bundle(copy: df.CopyFrom) -> bool:
    return any("ca-certificates" in s or s.rstrip("/").startswith("/etc/ssl")
               for s in copy.sources)


def _go_build_line(model: df.DockerfileModel) -> df.Instruction | None:
    builds = df.go_build_commands(model)
    builder = {s.index for s in model.builder_stages()} | {model.final.index}
    for stage, instruction in builds:
        if stage.index in builder:
            return instruction
    return builds[0][1] if builds else None


def _module_copy(model: df.DockerfileModel, before: int) -> df.Instruction | None:
    """The COPY/ADD of go.mod (``go.mod``, ``go.*``) that comes before line ``before``."""
    stage = _build_stage(model)
    for instruction in model.chain(stage)[-1].instructions if stage is not None else []:
        if instruction.keyword in ("COPY", "ADD") and instruction.line < before and any(
                a.split("/")[-1] in ("go.mod", "go.*") for a in instruction.arguments[:-1]):
            return instruction
    return None


def concern_line(check_id: str, model: df.DockerfileModel | None,
                 lint: list[dict] | None = None) -> int | None:
    """The line of ``model``'s file that a failing ``check_id`` is about, or None.

    Args:
        check_id: A check id (``size``, ``dep-cache``...).
        model: The learner's parsed Dockerfile (None when it did not parse).
        lint: hadolint's findings, for the ``lint`` check.

    Returns:
        A 1-based line: the final stage's FROM for checks about the whole image, the
        ``COPY . .`` that comes too early for ``dep-cache``, the ``go build`` RUN for
        ``static-binary``, the ENTRYPOINT/CMD for ``runs``, an unpinned FROM for
        ``base-images``... None when no line is to blame (no ``.dockerignore``).
    """
    if check_id == "lint":
        warnings = [f for f in lint or [] if f.get("level") in ("error", "warning")]
        return warnings[0].get("line") if warnings else None
    if model is None or not model.stages:
        return None
    final = model.final
    if check_id in _FINAL_STAGE_CHECKS:
        return final.line
    if check_id == "base-images":
        loose = df.uses_latest_or_unpinned(model)
        return loose[0][0].line if loose else final.line
    if check_id == "ca-certs":
        copies = [c for c in final.copies if _copies_ca_bundle(c)] or final.copies
        return copies[-1].line if copies else final.line
    if check_id == "runs":
        starts = _instructions(final, "ENTRYPOINT", "CMD")
        return starts[-1].line if starts else final.line
    if check_id == "dep-cache":
        order = df.dependency_order(model)
        if order["download_line"] is None or not order["download_before_source"]:
            return order["copy_all_line"] or order["source_copy_line"] or \
                order["download_line"]
        if not (order["copies_go_mod"] and order["copies_go_sum"]):
            module_copy = _module_copy(model, order["download_line"])
            if module_copy is not None:
                return module_copy.line
        return order["download_line"]
    if check_id == "static-binary":
        build = _go_build_line(model)
        return build.line if build is not None else None
    if check_id == "non-root":
        users = _instructions(final, "USER")
        return users[-1].line if users else final.line
    if check_id == "healthcheck":
        found = df.healthcheck_commands(model)
        return found.line if found is not None else final.line
    return None


def solution_spans(check_id: str, model: df.DockerfileModel) -> list[tuple[int, int]]:
    """The (first, last) line ranges of ``model``'s file that satisfy ``check_id``.

    Read from the reference solution for "show the solution for this": the final stage for
    ``size``/``only-binary``/``multi-stage``, the FROM lines for ``base-images``, the
    go.mod COPY, download and source COPY for ``dep-cache``, the ``go build`` RUN for
    ``static-binary``... An empty list when no lines answer the check (``dockerignore`` is
    another file; ``lint`` is about the learner's own lines).
    """
    if not model.stages:
        return []
    final = model.final
    if check_id in _FINAL_STAGE_CHECKS:
        return [_final_stage_span(model)]
    if check_id == "base-images":
        return [(s.line, s.line) for s in model.stages]
    if check_id == "ca-certs":
        return [(c.line, c.line) for c in final.copies if _copies_ca_bundle(c)]
    if check_id == "runs":
        binary = [c for c in final.copies if not _copies_ca_bundle(c)]
        starts = _instructions(final, "ENTRYPOINT", "CMD")
        return [(c.line, c.line) for c in binary] + [_span(i) for i in starts]
    if check_id == "dep-cache":
        stage = _build_stage(model)
        order = df.dependency_order(model)
        if stage is None or order["download_line"] is None:
            return []
        last = order["copy_all_line"] or order["source_copy_line"] or order["download_line"]
        return [_span(i) for i in model.chain(stage)[-1].instructions
                if i.keyword in ("COPY", "ADD", "RUN") and i.line <= last]
    if check_id == "static-binary":
        build = _go_build_line(model)
        return [_span(build)] if build is not None else []
    if check_id == "non-root":
        return [_span(i) for i in _instructions(final, "USER")]
    if check_id == "healthcheck":
        found = df.healthcheck_commands(model)
        return [_span(found)] if found is not None else []
    return []


def excerpt(text: str, spans: list[tuple[int, int]]) -> str:
    """The lines of ``text`` in ``spans``, numbered like an editor (``  14 | RUN ...``);
    ``...`` between ranges that do not touch."""
    lines = text.splitlines()
    width = len(str(len(lines)))
    out: list[str] = []
    previous = None
    for first, last in sorted(set(spans)):
        if previous is not None and first > previous + 1:
            out.append(f"{'':>{width}}   ...")
        for number in range(max(first, (previous or 0) + 1), min(last, len(lines)) + 1):
            out.append(f"{number:>{width}} | {lines[number - 1]}")
        previous = max(previous or 0, last)
    return "\n".join(out)
