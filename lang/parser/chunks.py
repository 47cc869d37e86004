"""Policies one at a time: a file cut at top-level `;`, each piece parsed on
its own, errors located in the file."""

from __future__ import annotations

import contextlib
import gc
import re

from lark import Token

from cedarscope.lang.ast import (
    Policy,
)
from cedarscope.lang.diagnostics import Diagnostic
from cedarscope.lang.parser.builder import Abort, Builder, Source
from cedarscope.lang.parser.expected import describe_expected
from cedarscope.lang.parser.lexer import WHITESPACE, LexError, cedar_tokens
from cedarscope.lang.parser.table import PARSER_LOCK, UnexpectedToken, shared_table

# ---- policies one at a time

# A policy ends at a `;` outside strings and comments.
_BOUNDARY = re.compile(r'"[^"\\]*+(?:\\[^\n][^"\\]*+)*+"|//[^\n\r]*|;')  # strings: see lexer.py
_BLANK = re.compile(rf"(?:{WHITESPACE}|//[^\n\r]*)*+")


def _chunks(text: str) -> list[tuple[int, int, int, int]]:
    """(start, end, line, column) of each policy's text, its `;` included; a
    trailing part that holds only blanks and comments is not a policy."""
    bounds = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group() == ";":
            bounds.append((start, m.end()))
            start = m.end()
    if not _BLANK.fullmatch(text, start):
        bounds.append((start, len(text)))
    out = []
    line, line_start, pos = 1, 0, 0  # counted incrementally: files can be large
    for start, end in bounds:
        line += text.count("\n", pos, start)
        nl = text.rfind("\n", pos, start)
        if nl >= 0:
            line_start = nl + 1
        pos = start
        out.append((start, end, line, start - line_start + 1))
    return out


def _end_position(src: Source) -> tuple[int, int]:
    """Line and column just past the end of the part being parsed."""
    text = src.text
    line = src.line + text.count("\n", src.start, src.end)
    nl = text.rfind("\n", src.start, src.end)
    column = src.end - nl if nl >= 0 else src.column + src.end - src.start
    return line, column


def _syntax_error(builder: Builder, e: UnexpectedToken) -> None:
    """An unexpected token as a located Diagnostic naming what was expected."""
    tok = e.token
    at: tuple[int, int] | Token
    if tok is None:
        message, at = "unexpected end of input", _end_position(builder.src)
    elif tok.type == "COLON" and {"IS", "EQ", "RPAR"} <= e.expected:
        message, at = "type constraints using `:` are not supported; use `is`", tok
        builder.error(message, at)
        return
    else:
        message, at = f"unexpected token '{_shorten(str(tok))}'", tok
    expected = describe_expected(e.expected)
    if expected:
        message += f"; expected {expected}"
    builder.error(message, at)


def _shorten(lexeme: str, limit: int = 40) -> str:
    """A token as quoted in a message: one line, not too long."""
    one_line = lexeme.replace("\r", "\\r").replace("\n", "\\n")
    return one_line if len(one_line) <= limit else one_line[:limit - 3] + "..."


def _lex_error(builder: Builder, e: LexError) -> None:
    ch = builder.src.text[e.pos]
    if ch == '"':
        message = "unterminated string literal (a string ends at the next '\"'; " \
                  "a backslash cannot escape a line break)"
    elif ch == "?":
        message = "invalid template slot; expected ?principal or ?resource"
    elif ch.isprintable():
        message = f"unexpected character '{ch}'"
    else:
        message = f"unexpected character U+{ord(ch):04X}"
    builder.error(message, (e.line, e.column))


def parse_chunk(src: Source, start: int, end: int, line: int, column: int, rule: str):
    """Parse text[start:end], which starts at `line` and `column`, as `rule`;
    returns (result, diagnostics)."""
    table = shared_table()
    builder = table.builder
    src.start, src.end, src.line, src.column = start, end, line, column
    builder.begin(src)
    builder.errors = []
    result = None
    try:
        result = table.run(cedar_tokens(src), rule)
        builder.finish()
    except UnexpectedToken as e:
        _syntax_error(builder, e)
    except LexError as e:
        _lex_error(builder, e)
    except Abort:
        pass
    errors = builder.errors
    builder.errors = []
    builder.begin(Source("", "<input>"))  # release the text and nodes
    return result, errors


def positional_ids(src: Source, policies: list[Policy | None], first_index: int,
                    known: set[str], errors: list[Diagnostic]) -> list[tuple[str, Policy]]:
    """Each policy's id: its ``@id`` annotation, else ``policy<N>`` by
    position (a policy that failed to parse, None, still takes its number)."""
    out = []
    for n, p in enumerate(policies, start=first_index):
        if p is None:
            continue
        ann = p.annotation("id")
        if ann is not None and ann.value is not None:
            pid, at = ann.value, ann.span
        else:
            pid, at = f"policy{n}", p.span
        assert at is not None  # parsed policies and annotations carry their spans
        if pid in known:
            errors.append(Diagnostic(
                message=f"duplicate policy id `{pid}`", file=at.file, line=at.line,
                column=at.column, source_line=src.source_line(at.line),
            ))
        known.add(pid)
        out.append((pid, p))
    return out


def parse_file(text: str, filename: str) -> tuple[Source, list[Policy | None], list[Diagnostic]]:
    """Every policy of a file, None for those with errors, and the errors."""
    src = Source(text, filename)
    policies: list[Policy | None] = []
    errors: list[Diagnostic] = []
    with PARSER_LOCK, _no_cycle_collection():
        for start, end, line, column in _chunks(text):
            policy, errs = parse_chunk(src, start, end, line, column, "policy")
            errors.extend(errs)
            policies.append(None if errs else policy)
    return src, policies, errors


@contextlib.contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector while parsing a file: the AST has no
    cycles, and the collector's passes over the growing list of policies
    would make parsing 10,000 policies a third slower."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
