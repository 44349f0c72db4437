"""The quote-aware lexer (helpers.dockerfile.words): splitting, expanding, unquoting, flags."""

from __future__ import annotations

import pytest

from helpers.dockerfile.words import expand, split_flags, split_words, unquote

SCOPE = {"A": "1", "EMPTY": "", "PLATFORM": None}


@pytest.mark.parametrize("text, words, with_operators", [
    ('a "b c" d', ["a", '"b c"', "d"], ["a", '"b c"', "d"]),
    ("'a b'c", ["'a b'c"], ["'a b'c"]),
    ("x\\ y", ["x\\ y"], ["x\\ y"]),
    ("a&&b;c|d\ne", ["a&&b;c|d", "e"], ["a", "&&", "b", ";", "c", "|", "d", ";", "e"]),
    ('"&&" x', ['"&&"', "x"], ['"&&"', "x"]),
])
def test_split_words_keeps_quotes(text, words, with_operators):
    assert split_words(text) == words
    assert split_words(text, operators=True) == with_operators


@pytest.mark.parametrize("word, plain", [
    ('"b c"', "b c"),
    ("'a b'c", "a bc"),
    ("x\\ y", "x y"),
    ("'it''s'", "its"),
    ('"a\\"b"', 'a"b'),
    ('"a\\b"', "a\\b"),  # inside double quotes a backslash only escapes $ ` " \ and newline
    ("a\\\nb", "ab"),
    ('"\\$x"', "$x"),
])
def test_unquote(word, plain):
    assert unquote(word) == plain


@pytest.mark.parametrize("text, open_scope, closed_scope", [
    ("$A ${A}x", "1 1x", "1 1x"),
    ("'$A' \"$A\"", "'$A' \"1\"", "'$A' \"1\""),  # quotes are kept for unquote
    ("\\$A", "\\$A", "\\$A"),
    ("${EMPTY:-d} ${EMPTY-d} ${UNKNOWN:-d}", "d  ${UNKNOWN:-d}", "d  d"),
    ("${A:+set} ${EMPTY:+set}", "set ", "set "),
    ("${PLATFORM:-x}", "${PLATFORM:-x}", "${PLATFORM:-x}"),  # decided by the builder
    ("$UNKNOWN", "$UNKNOWN", "$UNKNOWN"),
])
def test_expand(text, open_scope, closed_scope):
    assert expand(text, SCOPE) == open_scope
    assert expand(text, SCOPE, closed=True) == closed_scope


def test_split_flags():
    assert split_flags(" --from=build --LINK  /a /b") == (
        [("from", "build"), ("link", "true")], "/a /b")
    assert split_flags('--mount="type=cache,target=/a b" go build') == (
        [("mount", '"type=cache,target=/a b"')], "go build")
