"""A Dockerfile as a learner reads it in an editor: highlighted, with line numbers, and the
lines a failing check concerns marked.

:func:`dockerfile_html` colours the file with Pygments' Dockerfile lexer (inline styles, so
the HTML survives a saved notebook), numbers every line and highlights the marked ones, with
what each mark means listed under the file. :func:`dockerfile_text` is the same for a
terminal or a saved text output (``>>`` on marked lines). :func:`show_dockerfile` displays
whichever the frontend shows.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Mapping, Sequence, TextIO

from IPython.display import display

from .widgets import ERROR_COLOR, _resolve_frontend

#: Background of a marked line (a light red, readable on a projector).
MARK_BACKGROUND = "#fde2e1"

Marks = Mapping[int, Sequence[str]]  # line -> what concerns it ("dep-cache: ...")


def dockerfile_text(text: str, marks: Marks | None = None) -> str:
    """``text`` numbered like an editor; marked lines start with ``>>`` and are followed
    by what concerns them."""
    marks = marks or {}
    lines = text.splitlines()
    width = len(str(len(lines)))
    out = []
    for number, line in enumerate(lines, start=1):
        arrow = ">>" if number in marks else "  "
        out.append(f"{arrow}{number:>{width}} | {line}")
        out.extend(f"  {'':>{width}} ^ {note}" for note in marks.get(number, ()))
    return "\n".join(out)


def _highlighted_lines(text: str) -> list[str]:
    """Each line of ``text`` as HTML with inline colours (escaped text without Pygments)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import DockerLexer
    except ImportError:  # pragma: no cover - Pygments comes with IPython
        return [html.escape(line) for line in text.splitlines()]
    body = highlight(text, DockerLexer(), HtmlFormatter(nowrap=True, noclasses=True,
                                                        lineseparator="\n"))
    # Pygments closes every token's <span> at the end of its line, so lines split cleanly.
    return body.split("\n")[:len(text.splitlines())]


def dockerfile_html(text: str, marks: Marks | None = None, title: str = "") -> str:
    """``text`` highlighted, numbered, the marked lines on a red background with their notes.

    Args:
        text: The Dockerfile.
        marks: Line -> the notes about it (``"dep-cache: ..."``).
        title: Shown above the file (its name).
    """
    marks = marks or {}
    rows = []
    for number, line in enumerate(_highlighted_lines(text), start=1):
        style = f"background:{MARK_BACKGROUND}" if number in marks else ""
        rows.append(f"<div class='kit-line' data-line='{number}' style='{style}'>"
                    f"<span style='color:#999;user-select:none;display:inline-block;"
                    f"width:3em;text-align:right;margin-right:1em'>{number}</span>"
                    f"{line or ' '}</div>")
        for note in marks.get(number, ()):
            rows.append(f"<div class='kit-line-note' style='color:{ERROR_COLOR};"
                        f"margin-left:4em'>&#8593; {html.escape(note)}</div>")
    head = f"<div style='font-weight:bold'>{html.escape(title)}</div>" if title else ""
    return (f"<div class='kit-dockerfile'>{head}<pre style='font-size:90%;line-height:1.35;"
            f"border:1px solid #ddd;padding:4px 0;margin:2px 0'>" + "".join(rows)
            + "</pre></div>")


def show_dockerfile(path: str | Path, marks: Marks | None = None, *, frontend: str = "auto",
                    stream: TextIO | None = None) -> None:
    """Display the Dockerfile at ``path`` highlighted and numbered (text outside notebooks)."""
    path = Path(path)
    text = path.read_text()
    plain = f"{path.name}\n{dockerfile_text(text, marks)}"
    if _resolve_frontend(frontend) == "text":
        print(plain, file=stream or sys.stdout, flush=True)
        return
    display({"text/html": dockerfile_html(text, marks, title=path.name), "text/plain": plain},
            raw=True)
