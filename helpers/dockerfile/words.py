"""Shell-like words of Dockerfile text: one quote-aware scanner for splitting, expanding, unquoting.

Docker reads instruction arguments with shell-like rules: single quotes keep everything as
written, double quotes and backslashes escape, ``$VAR``/``${VAR}`` are substituted outside
single quotes. The parser splits words, substitutes ARG/ENV and removes quotes; the shell
analysis also splits commands at ``&&``/``;``/``|``. All of them walk the text with the same
scanner (:func:`_scan`), so they always agree on where a quote starts and ends.
"""

from __future__ import annotations

import re
from typing import Iterator, NamedTuple

#: Shell operators that end a simple command (a newline counts as ``;``).
OPERATORS = ("&&", "||", ";;", ";", "|", "&", "\n")

_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}"
                  r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
#: What a backslash escapes inside double quotes (POSIX); before anything else it stays.
_DOUBLE_QUOTED_ESCAPES = '$`"\\\n'


class _Piece(NamedTuple):
    """One step of :func:`_scan`.

    ``kind`` is ``char``, ``quote`` (a quote that opens or closes), ``escape`` (a backslash and
    the character after it), ``space`` or ``operator`` (outside quotes only), or ``variable``
    (a ``$NAME``/``${...}`` outside single quotes, its regex match in ``match``); ``quote`` is
    the quote in effect where the piece starts (None, ``'`` or ``"``).
    """

    kind: str
    text: str
    quote: str | None
    match: re.Match | None = None


def _scan(text: str, operators: bool = False, variables: bool = False) -> Iterator[_Piece]:
    """Walk ``text`` the way a POSIX shell reads quotes, one piece at a time.

    Every character of ``text`` is in exactly one piece, in order, so joining the pieces'
    text gives ``text`` back. Operators and variables are only recognised when asked for.
    """
    quote = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        size, kind, match = 1, "char", None
        if quote == "'":
            kind = "quote" if ch == "'" else "char"
        elif ch == "\\" and i + 1 < n:
            size, kind = 2, "escape"
        elif variables and ch == "$" and (match := _VAR.match(text, i)):
            size, kind = match.end() - i, "variable"
        elif ch == '"' or (ch == "'" and quote is None):
            kind = "quote"
        elif quote is None and operators and (op := _operator_at(text, i)):
            size, kind = len(op), "operator"
        elif quote is None and ch.isspace():
            kind = "space"
        yield _Piece(kind, text[i:i + size], quote, match)
        if kind == "quote":
            quote = None if quote == ch else ch
        i += size


def _operator_at(text: str, i: int) -> str | None:
    return next((o for o in OPERATORS if text.startswith(o, i)), None)


def split_words(text: str, operators: bool = False) -> list[str]:
    """Split shell-like text into raw words (quotes and escapes kept), at unquoted whitespace.

    With ``operators``, ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines outside quotes are
    returned as their own tokens (newline as ``;``).
    """
    tokens: list[str] = []
    word: list[str] = []
    for piece in _scan(text, operators=operators):
        if piece.kind not in ("space", "operator"):
            word.append(piece.text)
            continue
        if word:
            tokens.append("".join(word))
            word = []
        if piece.kind == "operator":
            tokens.append(";" if piece.text == "\n" else piece.text)
    if word:
        tokens.append("".join(word))
    return tokens


def unquote(word: str) -> str:
    """Remove quotes and backslash escapes from ``word``, POSIX-shell style.

    Outside quotes a backslash escapes any character (a backslash-newline disappears); inside
    double quotes only ``$ ` " \\`` and newline, elsewhere it stays.
    """
    out: list[str] = []
    for piece in _scan(word):
        if piece.kind == "quote":
            continue
        if piece.kind == "escape":
            escaped = piece.text[1]
            if piece.quote is None:
                out.append("" if escaped == "\n" else escaped)
            else:
                out.append(escaped if escaped in _DOUBLE_QUOTED_ESCAPES else piece.text)
        else:
            out.append(piece.text)
    return "".join(out)


def expand(text: str, scope: dict[str, str | None], closed: bool = False) -> str:
    """Substitute ``$VAR`` / ``${VAR}`` / ``${VAR:-word}`` / ``${VAR:+word}`` in ``text``.

    Quotes and escapes are kept (``\\$`` and single-quoted text are not expanded). A name
    mapped to None, or absent from ``scope``, is left as written; with ``closed`` (FROM: only
    global ARGs exist), an absent name counts as unset, so ``${X:-1.22}`` gives ``1.22``.
    """
    out: list[str] = []
    for piece in _scan(text, variables=True):
        value = _resolve(piece.match, scope, closed) if piece.match is not None else None
        out.append(piece.text if value is None else value)
    return "".join(out)


def _resolve(match: re.Match, scope: dict[str, str | None], closed: bool) -> str | None:
    """The value of one ``$VAR`` match, or None to leave it as written."""
    name = match.group("braced") or match.group("plain")
    op, word = match.group("op"), match.group("word") or ""
    declared = name in scope
    value = scope.get(name)
    if op is None:
        return value
    if declared and value is None:
        return None  # a platform ARG: unknown here
    if not declared and not closed:
        return None  # maybe the base image's ENV: unknown here
    if op in (":-", "-"):
        if value is None or (op == ":-" and value == ""):
            return expand(word, scope, closed)
        return value
    if value is None or (op == ":+" and value == ""):
        return ""
    return expand(word, scope, closed)


def split_flags(text: str) -> tuple[list[tuple[str, str]], str]:
    """Leading ``--name[=value]`` words of ``text`` (names lower-cased, values raw) and the rest.

    A flag without ``=`` (``--link``) has the value ``"true"``.
    """
    flags = []
    rest = text.lstrip()
    while rest.startswith("--"):
        word = split_words(rest)[0]
        name, eq, value = word[2:].partition("=")
        flags.append((name.lower(), value if eq else "true"))
        rest = rest[len(word):].lstrip()
    return flags, rest
