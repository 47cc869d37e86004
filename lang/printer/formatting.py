"""Formatting source text: `cedar format`, with the source's comments,
parentheses and string literals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cedarscope.lang import ast
from cedarscope.lang.printer.doc import LINE_WIDTH
from cedarscope.lang.printer.policy import print_policy
from cedarscope.lang.printer.source import NO_COMMENT, SOURCE, Source, Unplaced

# Formatting source text


@dataclass
class SourceComments:
    """The `//` comments of a policy file by where they sit: `leading[k]`
    before policy k, `trailing[k]` after its `;` on the same line,
    `interior[k]` inside it, `end` after the last policy."""

    leading: list[list[str]]
    trailing: list[str]
    interior: list[list[str]]
    end: list[str]

    @property
    def interior_count(self) -> int:
        return sum(len(c) for c in self.interior)


def source_comments(text_: str) -> SourceComments:
    """Find the comments of a policy file and which policy each belongs to.
    (A `;` outside strings and comments always ends a policy in Cedar.)"""
    src = Source(text_, ())
    tokens, comments = src.tokens, src.comments
    leading: list[list[str]] = [[]]
    trailing: list[str] = []
    interior: list[list[str]] = [[]]
    first_of_policy = True
    for (_, _, tok), c in zip(tokens, comments, strict=False):
        if first_of_policy:
            leading[-1].extend(c.leading)
        else:
            interior[-1].extend(c.leading)
        first_of_policy = False
        if tok == ";":
            trailing.append(c.trailing)
            leading.append([])
            interior.append([])
            first_of_policy = True
        elif c.trailing:
            interior[-1].append(c.trailing)
    return SourceComments(leading[:-1], trailing, interior[:-1], leading[-1] + interior[-1] + list(src.end))


def _format_policy(p: ast.Policy, src: Source, width: int) -> str:
    """One policy of the source, its comments placed; comments the layout
    could not place (the AST's spans and our tokens disagreeing) are kept on
    the lines above it rather than lost."""
    first = src.token_at(p.span.start) if p.span else None
    last = src.token_ending(p.span.end) if p.span else None
    if first is None or last is None:
        raise Unplaced(p)
    saved = src.comments[first:last + 1]
    try:
        printed = print_policy(p, width)
    except Unplaced:
        printed = None
    left = [c for c in src.comments[first:last + 1] if c.leading or c.trailing]
    if printed is not None and not left:
        return printed
    # fall back: every comment of the policy above it, the policy without them
    src.comments[first:last + 1] = [NO_COMMENT] * (last + 1 - first)
    lines = [line for c in saved for line in (*c.leading, c.trailing) if line]
    tail = saved[-1].trailing
    if tail:
        lines.remove(tail)
    try:
        plain = print_policy(p, width)
    except Unplaced:
        token = SOURCE.set(None)
        try:
            plain = print_policy(p, width)
        finally:
            SOURCE.reset(token)
    return "\n".join([*lines, plain + (" " + tail if tail else "")])


def format_source(text_: str, filename: str = "<input>", width: int = LINE_WIDTH) -> str:
    """`cedar format` for a policy file: each policy laid out as
    `print_policy` does, with the parentheses, string literals and comments
    of the source, one blank line between policies.  Bad input raises
    `CedarError`."""
    from cedarscope.lang.parser import parse_policies

    ps = parse_policies(text_, filename)
    policies = [p for _, p in ps.policies]
    src = Source(text_, policies)
    token = SOURCE.set(src)
    try:
        printed = [_format_policy(p, src, width) for p in policies]
    except Unplaced:
        printed = None
    finally:
        SOURCE.reset(token)
    if printed is None or any(c.leading or c.trailing for c in src.comments):
        return _format_hoisting_comments(text_, policies, width)
    return _join_policies(printed, src.end)


def _join_policies(printed: Sequence[str], end_comments: Sequence[str]) -> str:
    out = "\n\n".join(printed)
    tail = "".join(c + "\n" for c in end_comments)
    if not out:
        return tail
    return out + "\n" + tail


def _format_hoisting_comments(text_: str, policies: Sequence[ast.Policy], width: int) -> str:
    """The safety net of `format_source` when the source and its AST cannot
    be lined up: policies printed from the AST alone, each with all its
    comments on the lines above it (the one after its `;` after it)."""
    comments = source_comments(text_)
    parts = []
    for k, p in enumerate(policies):
        lines = comments.leading[k] + comments.interior[k] + [print_policy(p, width)]
        if comments.trailing[k]:
            lines[-1] += " " + comments.trailing[k]
        parts.append("\n".join(lines))
    return _join_policies(parts, comments.end)
