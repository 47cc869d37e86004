"""The source being formatted: its tokens, and the comments around each."""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.printer.doc import HARDLINE, NIL, SPACE, Doc, cat, intersperse, text
from cedarscope.lang.printer.lexical import IDENT_RE
from cedarscope.lang.values import EntityUID

# The source being formatted.  While `format_source` prints, `SOURCE` holds
# the tokens of the text, the comments around each token, and for each AST
# node the tokens it covers; the builders (`expr`, `policy`) then place comments and keep
# the source's parentheses and literals.  Printing an AST alone leaves it
# unset, and the builders print from the AST only.


@dataclass
class Comment:
    """The comment lines before a token (after the line break that follows
    the previous token) and the comment after it on its line."""

    leading: tuple[str, ...] = ()
    trailing: str = ""


NO_COMMENT = Comment()


class Unplaced(Exception):
    """A token the builders look for is not where the AST's spans say."""


_TWO_CHAR_TOKENS = ("::", "==", "!=", "<=", ">=", "&&", "||")
_KEYWORDS = frozenset({"if", "then", "else", "in", "is", "like", "has", "when", "unless"})


class _Tokens(Sequence):
    """The tokens of a text as (start, end, text) triples, stored as two
    arrays of offsets (16 bytes a token: a file of 100,000 policies has
    millions), each triple made when it is read."""

    def __init__(self, text_: str, starts: array, ends: array):
        self.text, self.starts, self.ends = text_, starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, k):  # one token; slices are not needed
        start, end = self.starts[k], self.ends[k]
        return start, end, self.text[start:end]

    def __iter__(self):
        text_ = self.text
        for start, end in zip(self.starts, self.ends, strict=True):
            yield start, end, text_[start:end]


class _Offsets:
    """Token index by start (or end) offset, looked up by bisection in the
    sorted offsets: `offset in table` and `table[offset]`, like a dict."""

    def __init__(self, offsets: array):
        self.offsets = offsets

    def _index(self, offset: int) -> int | None:
        k = bisect.bisect_left(self.offsets, offset)
        return k if k < len(self.offsets) and self.offsets[k] == offset else None

    def __contains__(self, offset: int) -> bool:
        return self._index(offset) is not None

    def __getitem__(self, offset: int) -> int:
        k = self._index(offset)
        if k is None:
            raise KeyError(offset)
        return k


def _source_tokens(text_: str) -> _Tokens:
    """The tokens of Cedar source, comments and white space skipped: enough
    lexing to find each token and its comments; strings and slots are single
    tokens."""
    starts, ends = array("q"), array("q")
    i, n = 0, len(text_)
    while i < n:
        ch = text_[i]
        start = i
        if ch.isspace():
            i += 1
            continue
        if text_.startswith("//", i):
            while i < n and text_[i] not in "\r\n":
                i += 1
            continue
        if ch == '"':
            i += 1
            while i < n and text_[i] != '"':
                i += 2 if text_[i] == "\\" else 1
            i += 1
        elif ch.isalnum() or ch in "_?":
            i += 1
            while i < n and (text_[i].isalnum() or text_[i] == "_"):
                i += 1
        elif text_[i:i + 2] in _TWO_CHAR_TOKENS:
            i += 2
        else:
            i += 1
        starts.append(start)
        ends.append(min(i, n))
    return _Tokens(text_, starts, ends)


def _comments_in(text_: str) -> tuple[str, ...]:
    if "//" not in text_:  # between most tokens: nothing, or a blank
        return ()
    return tuple(m.group().strip() for m in re.finditer(r"//[^\r\n]*", text_))


class Source:
    def __init__(self, text_: str, policies: Sequence[ast.Policy]):
        self.text = text_
        self.tokens = _source_tokens(text_)
        self.by_start = _Offsets(self.tokens.starts)
        self.by_end = _Offsets(self.tokens.ends)
        self.comments = self._attach_comments()
        self.closing = self._match_parens()
        self.inner: dict[int, tuple[int, int]] = {}
        self.outer: dict[int, tuple[int, int]] = {}
        self.parens: dict[int, int] = {}
        for p in policies:
            for c in p.conditions:
                self._extent(c.body)

    def _attach_comments(self) -> list[Comment]:
        """Each token's comments; what follows the last token is `self.end`."""
        out = []
        starts, ends, text_ = self.tokens.starts, self.tokens.ends, self.text
        leading = text_[:starts[0]] if starts else text_
        for k, end in enumerate(ends):
            after = text_[end:starts[k + 1]] if k + 1 < len(starts) else text_[end:]
            same_line, _, rest = after.partition("\n")
            lead, trailing = _comments_in(leading), same_line.strip()
            out.append(Comment(lead, trailing) if lead or trailing else NO_COMMENT)  # shared: most tokens
            leading = rest
        self.end = _comments_in(leading)
        return out

    def _match_parens(self) -> dict[int, int]:
        closing, stack = {}, []
        for k, (_, _, tok) in enumerate(self.tokens):
            if tok == "(":
                stack.append(k)
            elif tok == ")" and stack:
                closing[stack.pop()] = k
        return closing

    def written(self, k: int | None, value: Any, pattern: bool) -> str | None:
        """Token `k` as the source wrote it, if it is a string literal of `value`."""
        from cedarscope.lang.parser import unescape_pattern, unescape_string

        if k is None or not 0 <= k < len(self.tokens):
            return None
        tok = self.tokens[k][2]
        if len(tok) < 2 or tok[0] != '"' or tok[-1] != '"':
            return None
        try:
            decoded = (unescape_pattern if pattern else unescape_string)(tok[1:-1])
        except ValueError:
            return None
        return tok if decoded == value else None

    def _is_call(self, open_k: int) -> bool:
        before = self.tokens[open_k - 1][2] if open_k else ""
        return bool(IDENT_RE.match(before)) and before not in _KEYWORDS

    def _extent(self, e: Any) -> tuple[int, int] | None:
        """The tokens `e` covers, without and with its own parentheses.  A
        node's span runs from its first to its last operand's span, which
        exclude those operands' parentheses, so extents are merged upward."""
        span = getattr(e, "span", None)
        extent = None
        if span is not None and span.start in self.by_start and span.end in self.by_end:
            extent = (self.by_start[span.start], self.by_end[span.end])
        for child in _children(e):
            sub = self._extent(child)
            if sub is not None:
                extent = sub if extent is None else (min(extent[0], sub[0]), max(extent[1], sub[1]))
        if extent is None:
            return None
        # the node's parentheses: inside its span (the parser widens a
        # parenthesised node's span to them) or just around it
        first, last, count = extent[0], extent[1], 0
        while self.tokens[first][2] == "(" and self.closing.get(first) == last:
            first, last, count = first + 1, last - 1, count + 1
        self.inner[id(e)] = (first, last)
        first, last = extent
        while first > 0 and self.closing.get(first - 1) == last + 1 and not self._is_call(first - 1):
            first, last, count = first - 1, last + 1, count + 1
        if count:
            self.parens[id(e)] = count
        self.outer[id(e)] = (first, last)
        return first, last

    # -- looking tokens up ---------------------------------------------------

    def token_at(self, offset: int) -> int:
        if offset not in self.by_start:
            raise Unplaced(offset)
        return self.by_start[offset]

    def token_ending(self, offset: int) -> int:
        if offset not in self.by_end:
            raise Unplaced(offset)
        return self.by_end[offset]

    def extent(self, e: Any, outer: bool) -> tuple[int, int]:
        table = self.outer if outer else self.inner
        if id(e) not in table:
            raise Unplaced(e)
        return table[id(e)]

    def text_of(self, k: int) -> str:
        return self.tokens[k][2]

    def take(self, k: int) -> Comment:
        """The comments of token `k`, each handed out once."""
        if not 0 <= k < len(self.tokens):
            raise Unplaced(k)
        c = self.comments[k]
        self.comments[k] = NO_COMMENT
        return c

    def take_leading(self, k: int) -> tuple[str, ...]:
        c = self.take(k)
        self.comments[k] = Comment((), c.trailing)
        return c.leading


SOURCE: ContextVar[Source | None] = ContextVar("SOURCE", default=None)


def _children(e: Any) -> list:
    if isinstance(e, ast.RecordLit):
        return [v for _, v in e.fields]
    out: list[Any] = []
    for name in getattr(e, "__dataclass_fields__", {}):
        v = getattr(e, name)
        if isinstance(v, tuple):
            out.extend(x for x in v if hasattr(x, "__dataclass_fields__"))
        elif hasattr(v, "__dataclass_fields__") and not isinstance(v, (ast.Span, EntityUID)):
            out.append(v)
    return out


# Comment lookups for the builders: each returns NO_COMMENT when no source is
# being formatted.  `first`/`last` are a node's own first and last tokens,
# `after` the token just after it and its parentheses.


def take_comment(k: int | None) -> Comment:
    src = SOURCE.get()
    if src is None:
        return NO_COMMENT
    if k is None:
        raise Unplaced(k)
    return src.take(k)


def first_token(e: Any) -> int | None:
    src = SOURCE.get()
    return src.extent(e, outer=False)[0] if src else None


def last_token(e: Any) -> int | None:
    src = SOURCE.get()
    return src.extent(e, outer=False)[1] if src else None


def token_after(e: Any, n: int = 1) -> int | None:
    """The n-th token after `e` and its parentheses."""
    src = SOURCE.get()
    return src.extent(e, outer=True)[1] + n if src else None


def next_token(k: int | None, n: int = 1) -> int | None:
    return None if k is None else k + n


def leading_doc(lines: Sequence[str]) -> Doc:
    if not lines:
        return NIL
    return cat(HARDLINE, intersperse([text(c) for c in lines], HARDLINE), HARDLINE)


def trailing_doc(trailing: str, next_doc: Doc) -> Doc:
    if not trailing:
        return next_doc
    return cat(SPACE, text(trailing), HARDLINE)


def with_comment(d: Doc, c: Comment, next_doc: Doc = NIL) -> Doc:
    """`d` with the comments of its token: leading ones on lines before it,
    a trailing one after it (ending the line, in place of `next_doc`)."""
    if c is NO_COMMENT:
        return cat(d, next_doc)
    return cat(leading_doc(c.leading), d, trailing_doc(c.trailing, next_doc))


def token_doc(s: str, k: int | None, next_doc: Doc = NIL) -> Doc:
    """A token printed as `s`, with its comments."""
    return with_comment(text(s), take_comment(k), next_doc)
