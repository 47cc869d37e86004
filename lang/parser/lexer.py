"""Cedar's lexer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark import Token
from lark.lexer import Lexer

from cedarscope.lang.parser.builder import Source
from cedarscope.lang.parser.vocabulary import RESERVED

# ---- the lexer
#
# Cedar's lexer is context free: one token pattern, and reserved words are
# keywords wherever they appear.  Each policy is lexed on its own, starting
# with its line and column known, so tokens carry positions in the file.

WHITESPACE = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
_TOKEN_RE = re.compile("|".join((
    rf"(?P<WS>{WHITESPACE})",
    r"(?P<COMMENT>//[^\n\r]*)",
    r"(?P<IDENT>[_a-zA-Z][_a-zA-Z0-9]*)",
    r"(?P<INT>[0-9]+)",
    # Possessive, in the "unrolled loop" form: the regex engine keeps no
    # backtracking state per character (the plain `(?:[^"\\]|\\.)*` took
    # about 300 bytes per character of a string literal).
    r'(?P<STRING>"[^"\\]*+(?:\\[^\n][^"\\]*+)*+")',
    r"(?P<SLOT>\?[_a-zA-Z][_a-zA-Z0-9]*)",
    r"(?P<PUNCT>==|!=|<=|>=|&&|\|\||::|[<>+\-*!:.,;@()\[\]{}])",
)))
_KEYWORDS = {w: w.upper() for w in RESERVED}
_PUNCTUATION = {
    "==": "EQ", "!=": "NE", "<=": "LE", ">=": "GE", "<": "LT", ">": "GT", "&&": "ANDAND",
    "||": "OROR", "+": "PLUS", "-": "MINUS", "*": "STAR", "!": "BANG", "::": "DCOLON",
    ":": "COLON", ".": "DOT", ",": "COMMA", ";": "SEMI", "@": "AT", "(": "LPAR", ")": "RPAR",
    "[": "LSQB", "]": "RSQB", "{": "LBRACE", "}": "RBRACE",
}


class LexError(Exception):
    def __init__(self, pos: int, line: int, column: int):
        super().__init__(pos)
        self.pos, self.line, self.column = pos, line, column


def cedar_tokens(src: Source):
    """The tokens of `src.text[src.start:src.end]`, positioned in the file."""
    text, pos, end = src.text, src.start, src.end
    line, line_start = src.line, src.start - src.column + 1
    match = _TOKEN_RE.match
    while pos < end:
        m = match(text, pos, end)
        if m is None:
            raise LexError(pos, line, pos - line_start + 1)
        kind: str = m.lastgroup  # type: ignore[assignment]  # every alternative is a named group
        stop = m.end()
        if kind == "WS" or kind == "COMMENT":
            if kind == "WS" and "\n" in m.group():
                line += m.group().count("\n")
                line_start = text.rfind("\n", pos, stop) + 1
            pos = stop
            continue
        value = m.group()
        if kind == "IDENT":
            kind = _KEYWORDS.get(value, "IDENT")
        elif kind == "PUNCT":
            kind = _PUNCTUATION[value]
        column = pos - line_start + 1
        if kind == "STRING" and "\n" in value:
            first_line = line
            line += value.count("\n")
            line_start = text.rfind("\n", pos, stop) + 1
            yield Token(kind, value, pos, first_line, column, line, stop - line_start + 1, stop)
        else:
            yield Token(kind, value, pos, line, column, line, column + len(value), stop)
        pos = stop


class NoLexer(Lexer):
    """Lark needs a lexer to build its tables; ours is `cedar_tokens`."""

    def __init__(self, lexer_conf) -> None:
        pass

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:  # pragma: no cover - never called
        raise RuntimeError("cedarscope tokenizes with cedar_tokens; Lark's lexer is never used")
