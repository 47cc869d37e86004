"""Cedar ASTs and values back to Cedar text, laid out like Cedar's formatter.

`parse(print(x)) == x` for every AST the parser can produce: parentheses are
printed exactly where Cedar's grammar needs them, strings are re-escaped, and
constructs with no direct surface form of their own (a `Neg` of a
non-negative literal, which Cedar's parser would fold into the literal) are
printed in a form that parses back to the same node.

The layout follows ``cedar format`` (cedar-policy-formatter): each construct
becomes a document of the Wadler/Leijen kind (text, optional line breaks,
nesting, groups that are printed flat when they fit in 80 columns), built the
way the formatter builds it from Cedar's concrete syntax tree, so our output
matches it wherever the AST holds what the source said.  What the AST does not
hold comes from the source text in `format_source`: comments (attached to
the tokens they follow or precede, as the formatter attaches them),
redundant parentheses, quoted record keys and the escapes of string literals.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from array import array
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Union

from cedarscope.lang import ast
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID, escape_string

LINE_WIDTH = 80
INDENT = 2

# --------------------------------------------------------------------------
# Documents: the layout algebra of the `pretty` crate that Cedar's formatter
# uses.  A `Line` is a space (or nothing, for `line_`) when its group is flat
# and a newline plus indentation when the group is broken.


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Line:
    flat: str  # " " for `line`, "" for `line_`


@dataclass(frozen=True)
class HardLine:
    pass


@dataclass(frozen=True)
class Nest:
    indent: int
    doc: Doc


@dataclass(frozen=True)
class Group:
    doc: Doc


@dataclass(frozen=True)
class Concat:
    docs: tuple[Doc, ...]


Doc = Union[Text, Line, HardLine, Nest, Group, Concat]

NIL = Concat(())
LINE = Line(" ")
LINE_ = Line("")
SPACE = Text(" ")
HARDLINE = HardLine()


# Empty parts are dropped as the `pretty` crate drops them, which matters
# for where a line break's indentation is taken from (see `render`).


def cat(*docs: Doc) -> Doc:
    return Concat(tuple(d for d in docs if d != NIL))


def text(s: str) -> Doc:
    return Text(s)


def nest(doc: Doc, indent: int = INDENT) -> Doc:
    return NIL if doc == NIL else Nest(indent, doc)


def group(doc: Doc) -> Doc:
    return NIL if doc == NIL else Group(doc)


def intersperse(docs: Sequence[Doc], sep: Doc) -> Doc:
    out: list[Doc] = []
    for i, d in enumerate(docs):
        if i:
            out.append(sep)
        out.append(d)
    return cat(*out)


_FLAT, _BREAK = 0, 1


# Unassigned code points that Unicode reserves as wide (EastAsianWidth.txt's
# defaults, plus blocks filled with wide characters since the Unicode
# version of Python's database).  Python reports every unassigned code
# point as "F", so these are needed to measure like `unicode-width` does.
_WIDE_UNASSIGNED = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x16FE0, 0x18DFF),
                    (0x1AFF0, 0x1B2FF), (0x1F000, 0x1FAFF), (0x20000, 0x2FFFD), (0x30000, 0x3FFFD))


def _char_width(ch: str) -> int:
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf") or unicodedata.combining(ch):
        return 0
    if category == "Cn":
        return 2 if any(lo <= ord(ch) <= hi for lo, hi in _WIDE_UNASSIGNED) else 1
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(s: str) -> int:
    """Columns `s` takes, as the `unicode-width` measure Cedar's formatter
    uses: combining marks and format characters take none, wide East Asian
    characters two, others (a newline inside a string literal too: the
    formatter does not reset the column there) one."""
    if s.isascii():
        return len(s)
    return sum(_char_width(ch) for ch in s)


def _fits(doc: Doc, pos: int, width: int, rest: list) -> bool:
    """Whether `doc`, printed flat from column `pos`, and what follows it up
    to the next line break of the enclosing (broken) layout stay within
    `width`."""
    todo: list[tuple[int, Doc]] = [(_FLAT, doc)]
    k = len(rest)
    while True:
        if todo:
            mode, d = todo.pop()
        elif k:
            k -= 1
            _, mode, d = rest[k]
        else:
            return True
        if isinstance(d, Text):
            pos += display_width(d.text)
            if pos > width:
                return False
        elif isinstance(d, Line):
            if mode == _BREAK:
                return True
            pos += len(d.flat)
            if pos > width:
                return False
        elif isinstance(d, HardLine):
            return mode == _BREAK
        elif isinstance(d, (Nest, Group)):
            todo.append((mode, d.doc))
        else:
            todo.extend((mode, x) for x in reversed(d.docs))


def render(doc: Doc, width: int = LINE_WIDTH) -> str:
    """Lay `doc` out in `width` columns: each group flat if it fits, else broken."""
    out: list[str] = []
    pos = 0
    cmds: list[tuple[int, int, Doc]] = [(0, _BREAK, doc)]
    while cmds:
        indent, mode, d = cmds.pop()
        if isinstance(d, Text):
            out.append(d.text)
            pos += display_width(d.text)
        elif isinstance(d, Line) and mode == _FLAT:
            out.append(d.flat)
            pos += len(d.flat)
        elif isinstance(d, (Line, HardLine)):
            # indent the new line as what comes next on it (the `pretty`
            # crate does): a line break ending a nested part, like the one
            # after a trailing comment, returns to the outer indentation
            indent = cmds[-1][0] if cmds else indent
            out.append("\n" + " " * indent)
            pos = indent
        elif isinstance(d, Nest):
            cmds.append((indent + d.indent, mode, d.doc))
        elif isinstance(d, Group):
            if mode == _BREAK and not _fits(d.doc, pos, width, cmds):
                cmds.append((indent, _BREAK, d.doc))
            else:
                cmds.append((indent, _FLAT, d.doc))
        else:
            cmds.extend((indent, mode, x) for x in reversed(d.docs))
    return "".join(out)


# Strings possessive, in the "unrolled loop" form: no backtracking state is
# kept per character of a long string literal.
_COMMENT_OR_STRING = re.compile(r'//[^\n]*|"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)


def remove_empty_lines(s: str) -> str:
    """Drop the blank lines of a rendered text (a broken line followed by a
    hard one leaves one), but not inside strings and comments, and trim the
    ends, as Cedar's formatter does."""
    out = []
    i = 0
    for m in _COMMENT_OR_STRING.finditer(s):
        out.append(_drop_blank_lines(s[i:m.start()]))
        out.append(m.group())
        i = m.end()
    out.append(_drop_blank_lines(s[i:]))
    return "".join(out).strip()


def _drop_blank_lines(s: str) -> str:
    lines = s.split("\n")
    pieces = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    kept = [p for p in pieces if p.strip() or not p.endswith("\n")]
    return ("\n" if s.startswith("\n") else "") + "".join(kept)


# --------------------------------------------------------------------------
# The source being formatted.  While `format_source` prints, `_SOURCE` holds
# the tokens of the text, the comments around each token, and for each AST
# node the tokens it covers; the builders below then place comments and keep
# the source's parentheses and literals.  Printing an AST alone leaves it
# unset, and the builders print from the AST only.


@dataclass
class Comment:
    """The comment lines before a token (after the line break that follows
    the previous token) and the comment after it on its line."""

    leading: tuple[str, ...] = ()
    trailing: str = ""


NO_COMMENT = Comment()


class _Unplaced(Exception):
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


class _Source:
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
        return bool(_IDENT.match(before)) and before not in _KEYWORDS

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
            raise _Unplaced(offset)
        return self.by_start[offset]

    def token_ending(self, offset: int) -> int:
        if offset not in self.by_end:
            raise _Unplaced(offset)
        return self.by_end[offset]

    def extent(self, e: Any, outer: bool) -> tuple[int, int]:
        table = self.outer if outer else self.inner
        if id(e) not in table:
            raise _Unplaced(e)
        return table[id(e)]

    def text_of(self, k: int) -> str:
        return self.tokens[k][2]

    def take(self, k: int) -> Comment:
        """The comments of token `k`, each handed out once."""
        if not 0 <= k < len(self.tokens):
            raise _Unplaced(k)
        c = self.comments[k]
        self.comments[k] = NO_COMMENT
        return c

    def take_leading(self, k: int) -> tuple[str, ...]:
        c = self.take(k)
        self.comments[k] = Comment((), c.trailing)
        return c.leading


_SOURCE: ContextVar[_Source | None] = ContextVar("_SOURCE", default=None)


def _children(e: Any) -> list:
    if isinstance(e, ast.RecordLit):
        return [v for _, v in e.fields]
    out = []
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


def _take(k: int | None) -> Comment:
    src = _SOURCE.get()
    if src is None:
        return NO_COMMENT
    if k is None:
        raise _Unplaced(k)
    return src.take(k)


def _first_tok(e: Any) -> int | None:
    src = _SOURCE.get()
    return src.extent(e, outer=False)[0] if src else None


def _last_tok(e: Any) -> int | None:
    src = _SOURCE.get()
    return src.extent(e, outer=False)[1] if src else None


def _after_tok(e: Any, n: int = 1) -> int | None:
    """The n-th token after `e` and its parentheses."""
    src = _SOURCE.get()
    return src.extent(e, outer=True)[1] + n if src else None


def _next(k: int | None, n: int = 1) -> int | None:
    return None if k is None else k + n


def _leading_doc(lines: Sequence[str]) -> Doc:
    if not lines:
        return NIL
    return cat(HARDLINE, intersperse([text(c) for c in lines], HARDLINE), HARDLINE)


def _trailing_doc(trailing: str, next_doc: Doc) -> Doc:
    if not trailing:
        return next_doc
    return cat(SPACE, text(trailing), HARDLINE)


def _with_comment(d: Doc, c: Comment, next_doc: Doc = NIL) -> Doc:
    """`d` with the comments of its token: leading ones on lines before it,
    a trailing one after it (ending the line, in place of `next_doc`)."""
    if c is NO_COMMENT:
        return cat(d, next_doc)
    return cat(_leading_doc(c.leading), d, _trailing_doc(c.trailing, next_doc))


def _tok_doc(s: str, k: int | None, next_doc: Doc = NIL) -> Doc:
    """A token printed as `s`, with its comments."""
    return _with_comment(text(s), _take(k), next_doc)


# --------------------------------------------------------------------------
# Lexical pieces


RESERVED = frozenset({"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"})
_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")


def is_ident(s: str) -> bool:
    """A name Cedar accepts as an identifier (attribute, key, path element)."""
    return bool(_IDENT.match(s)) and s not in RESERVED


def quote(s: str) -> str:
    """A Cedar string literal for `s`."""
    return '"' + escape_string(s) + '"'


def print_pattern(pattern: Sequence[ast.PatternElem]) -> str:
    """A `like` pattern literal: `*` for a wildcard, `\\*` for a literal star."""
    body = []
    for elem in pattern:
        if elem is ast.WILDCARD:
            body.append("*")
        else:
            body.append(escape_string(elem).replace("*", "\\*"))
    return '"' + "".join(body) + '"'


def print_entity_uid(uid: EntityUID) -> str:
    return f"{uid.type}::{quote(uid.id)}"


def _str_doc(value: str, k: int | None, next_doc: Doc = NIL) -> Doc:
    """A string literal token: as the source wrote it when formatting (Cedar's
    formatter keeps a literal's escapes), else as `quote` writes it."""
    src = _SOURCE.get()
    written = src.written(k, value, pattern=False) if src else None
    return _tok_doc(written or quote(value), k, next_doc)


def _pattern_doc(pattern: tuple, k: int | None) -> Doc:
    src = _SOURCE.get()
    written = src.written(k, pattern, pattern=True) if src else None
    return _tok_doc(written or print_pattern(pattern), k)


def _checked_ident(name: str, what: str) -> str:
    if not is_ident(name):
        raise ValueError(f"cannot print {what} {name!r}: not a Cedar identifier")
    return name


def _path_doc(name: str, k: int | None, what: str) -> tuple[Doc, int | None]:
    """`A::B::C` from token `k` on, each piece with its comments; also the
    index of the token after it."""
    parts = [_checked_ident(p, what) for p in name.split("::")]
    docs = []
    for i, part in enumerate(parts):
        if i:
            docs.append(_tok_doc("::", k))
            k = _next(k)
        docs.append(_tok_doc(part, k))
        k = _next(k)
    return cat(*docs), k


def _entity_uid_doc(uid: EntityUID, k: int | None) -> tuple[Doc, int | None]:
    """`Type::"id"` from token `k` on; also the index of the token after it."""
    path, k = _path_doc(uid.type, k, "entity type")
    sep = _tok_doc("::", k)
    eid = _str_doc(uid.id, _next(k))
    return cat(path, sep, eid), _next(k, 2)


# --------------------------------------------------------------------------
# Expressions.  Precedence levels of Cedar's grammar, loosest first; an
# operand printed where a tighter level is required gets parentheses.

EXPR, OR, AND, RELATION, ADD, MULT, UNARY, MEMBER = range(8)
RELATION_OPS = ("==", "!=", "<", "<=", ">", ">=", "in")
ADD_OPS = ("+", "-")
MAX_UNARY_RUN = 4  # Cedar rejects five or more `!` (or `-`) in a row


def _source_parens(e: ast.Expr) -> int:
    """How many pairs of parentheses the source wrote around `e`."""
    src = _SOURCE.get()
    return src.parens.get(id(e), 0) if src else 0


def level(e: ast.Expr) -> int:
    """The grammar level at which `e` is printed without parentheses."""
    if _source_parens(e):
        return MEMBER
    if isinstance(e, ast.If):
        return EXPR
    if isinstance(e, ast.Or):
        return OR
    if isinstance(e, ast.And):
        return AND
    if isinstance(e, ast.BinaryOp):
        if e.op in RELATION_OPS:
            return RELATION
        return ADD if e.op in ADD_OPS else MULT
    if isinstance(e, (ast.Has, ast.Like, ast.Is)):
        return RELATION
    if isinstance(e, (ast.Not, ast.Neg)):
        return UNARY
    if _is_long(e) and e.value < 0:
        return UNARY  # `-3` is a negated literal to the grammar
    return MEMBER


def _is_long(e: ast.Expr) -> bool:
    return isinstance(e, ast.Lit) and isinstance(e.value, int) and not isinstance(e.value, bool)


def _operand(e: ast.Expr, min_level: int) -> Doc:
    """`e` where the grammar requires level `min_level`, parenthesised if looser."""
    if level(e) >= min_level:
        return expr_doc(e)
    return _member(_paren_doc(_node_doc(e)), [])


def _paren_doc(inner: Doc, open_c: Comment = NO_COMMENT, close_c: Comment = NO_COMMENT) -> Doc:
    return group(cat(_with_comment(text("("), open_c), nest(inner, 1), _with_comment(text(")"), close_c)))


def _member(primary: Doc, accesses: list[Doc]) -> Doc:
    """A primary followed by attribute accesses and calls, breakable between them."""
    return group(cat(primary, nest(intersperse(accesses, LINE_))))


def expr_doc(e: ast.Expr) -> Doc:
    """The layout document of an expression, at the loosest level (`Expr`),
    in the parentheses its source wrote."""
    n = _source_parens(e)
    if not n:
        return _node_doc(e)
    first, last = _first_tok(e), _last_tok(e)
    opens = [_take(first - i) for i in range(n, 0, -1)]
    doc = _node_doc(e)
    for i in range(1, n + 1):
        doc = _member(_paren_doc(doc, opens[n - i], _take(last + i)), [])
    return doc


def _node_doc(e: ast.Expr) -> Doc:
    """The document of `e` itself, without the parentheses its source had."""
    if isinstance(e, ast.If):
        return _if_doc(e)
    if isinstance(e, ast.Or):
        return _chain_doc(e, ast.Or, "||", AND)
    if isinstance(e, ast.And):
        return _chain_doc(e, ast.And, "&&", RELATION)
    if isinstance(e, ast.BinaryOp):
        if e.op in RELATION_OPS:
            return _relation_doc(e)
        if e.op in ADD_OPS:
            return _arith_doc(e, ADD_OPS, MULT)
        if e.op == "*":
            return _arith_doc(e, ("*",), UNARY)
        raise ValueError(f"unknown binary operator {e.op!r}")
    if isinstance(e, ast.Has):
        return _has_doc(e)
    if isinstance(e, ast.Like):
        return _like_doc(e)
    if isinstance(e, ast.Is):
        return _is_doc(e)
    if isinstance(e, (ast.Not, ast.Neg)):
        return _unary_doc(e)
    if _is_long(e) and e.value < 0:
        return _negative_literal_doc(e)
    if isinstance(e, (ast.GetAttr, ast.MethodCall, ast.ExtFun)):
        primary, accesses = _access_chain(e)
        return _member(primary, accesses)
    return _member(_primary(e), [])


def _if_doc(e: ast.If) -> Doc:
    """`if c then a else b`, each part indented on its own line when broken."""
    if_c, then_c, else_c = _take(_first_tok(e)), _take(_after_tok(e.cond)), _take(_after_tok(e.then_))

    def branch(word: str, c: Comment, x: ast.Expr) -> Doc:
        return cat(_with_comment(text(word), c), nest(cat(LINE, expr_doc(x))))

    return group(cat(branch("if", if_c, e.cond), LINE, branch("then", then_c, e.then_), LINE,
                     branch("else", else_c, e.else_)))


def _flatten(e: ast.Expr, kind: type) -> list[ast.Expr]:
    """The operands of a left-nested `||` or `&&` chain."""
    operands = []
    top = e
    while isinstance(e, kind) and (e is top or not _source_parens(e)):
        operands.append(e.right)
        e = e.left
    operands.append(e)
    operands.reverse()
    return operands


def _chain_doc(e: ast.Expr, kind: type, op: str, operand_level: int) -> Doc:
    """`a || b || c`: operators at line ends, operands one per line when broken."""
    operands = _flatten(e, kind)
    parts: list[Doc] = []
    for x in operands[:-1]:
        c = _take(_after_tok(x))
        parts.extend([_operand(x, operand_level), SPACE, _with_comment(text(op), c, LINE)])
    parts.append(_operand(operands[-1], operand_level))
    return cat(*parts)


def _relation_doc(e: ast.BinaryOp) -> Doc:
    left = _operand(e.left, ADD)
    c = _take(_after_tok(e.left))
    return cat(left, SPACE, _with_comment(text(e.op), c), SPACE, _operand(e.right, ADD))


def _arith_doc(e: ast.BinaryOp, ops: tuple[str, ...], operand_level: int) -> Doc:
    """`a + b - c` (or `a * b`): a left-nested chain, grouped."""
    operands: list[ast.Expr] = []
    operators: list[str] = []
    top = e
    while isinstance(e, ast.BinaryOp) and e.op in ops and (e is top or not _source_parens(e)):
        operands.append(e.right)
        operators.append(e.op)
        e = e.left
    parts = [_operand(e, operand_level)]
    prev = e
    for x, op in zip(reversed(operands), reversed(operators), strict=False):
        c = _take(_after_tok(prev))
        parts.extend([SPACE, _with_comment(text(op), c), LINE, _operand(x, operand_level)])
        prev = x
    return group(cat(*parts))


def _unary_doc(e: ast.Not | ast.Neg) -> Doc:
    """A run of `!` or of `-` applied to a member (Cedar allows at most four
    in a row, of one kind).  Cedar reads the `-` before an integer literal
    as the literal's sign, so `Neg(Lit(3))` prints as `-(3)` and
    `Neg(Lit(-3))` as `--3`."""
    symbol = "!" if isinstance(e, ast.Not) else "-"
    run, x = 0, e
    while type(x) is type(e) and run < MAX_UNARY_RUN and (x is e or not _source_parens(x)):
        run += 1
        x = x.arg
    first = _first_tok(e)
    if isinstance(e, ast.Neg) and _is_long(x) and x.value < 0 and run < MAX_UNARY_RUN \
            and not _source_parens(x):
        # the literal's own sign joins the run
        signs = [_tok_doc(symbol, _next(first, i)) for i in range(run + 1)]
        return cat(*signs, _tok_doc(str(-x.value), _last_tok(x)))
    signs = [_tok_doc(symbol, _next(first, i)) for i in range(run)]
    if isinstance(e, ast.Neg) and _is_long(x) and not _source_parens(x):
        return cat(*signs, _member(_paren_doc(_node_doc(x)), []))  # `-(3)`, not the literal -3
    return cat(*signs, _operand(x, MEMBER))


def _negative_literal_doc(e: ast.Lit) -> Doc:
    """`-3`: to the grammar, a `-` applied to the literal 3."""
    first = _first_tok(e)
    return cat(_tok_doc("-", first), _tok_doc(str(-e.value), _last_tok(e)))


def _has_doc(e: ast.Has) -> Doc:
    target = _operand(e.expr, ADD)
    has_k = _after_tok(e.expr)
    has_c = _take(has_k)
    attrs = e.attrs
    src = _SOURCE.get()
    quoted = src is not None and src.written(_next(has_k), attrs[0], pattern=False) is not None
    if len(attrs) == 1 and (quoted or not is_ident(attrs[0])):
        field = _str_doc(attrs[0], _next(has_k))
    else:
        names = [_checked_ident(a, "attribute in an extended `has`") for a in attrs]
        head = _tok_doc(names[0], _next(has_k))
        accesses = [cat(_tok_doc(".", _next(has_k, 2 * i)), _tok_doc(n, _next(has_k, 2 * i + 1)))
                    for i, n in enumerate(names[1:], start=1)]
        field = _member(head, accesses)
    return group(cat(target, LINE, _with_comment(text("has"), has_c), LINE, nest(field)))


def _like_doc(e: ast.Like) -> Doc:
    target = _operand(e.expr, ADD)
    like_k = _after_tok(e.expr)
    like_c = _take(like_k)
    pattern = _pattern_doc(e.pattern, _next(like_k))
    return group(cat(target, LINE, _with_comment(text("like"), like_c), LINE, nest(pattern)))


def _is_doc(e: ast.Is) -> Doc:
    target = _operand(e.expr, ADD)
    is_k = _after_tok(e.expr)
    is_c = _take(is_k)
    entity_type, in_k = _path_doc(e.entity_type, _next(is_k), "entity type")
    parts = [target, SPACE, _with_comment(text("is"), is_c), SPACE, nest(entity_type)]
    if e.in_expr is not None:
        in_c = _take(in_k)
        parts.extend([LINE, _with_comment(text("in"), in_c), SPACE, nest(_operand(e.in_expr, ADD))])
    return group(cat(*parts))


def _call_doc(args: Sequence[ast.Expr], open_k: int | None, close_k: int | None) -> Doc:
    """`(a, b)` after a method or function name."""
    open_c = _take(open_k)
    if not args:
        return cat(_with_comment(text("("), open_c), _tok_doc(")", close_k))
    parts = [expr_doc(args[0])]
    for prev, arg in zip(args, args[1:], strict=False):
        parts.extend([_tok_doc(",", _after_tok(prev)), LINE, expr_doc(arg)])
    body = cat(nest(cat(LINE_, *parts)), LINE_)
    return cat(_with_comment(text("("), open_c), body, _tok_doc(")", close_k))


def _access_chain(e: ast.Expr) -> tuple[Doc, list[Doc]]:
    """Split a chain of `.attr`, `["attr"]`, `.method(..)` and a function's
    `(..)` into its primary and its accesses, as Cedar's grammar reads a
    Member.  Accesses are built outermost first, tokens located from the
    receiver's end."""
    chain: list[ast.Expr] = []
    top = e
    while (e is top or not _source_parens(e)) and isinstance(e, (ast.GetAttr, ast.MethodCall)):
        chain.append(e)
        e = e.expr if isinstance(e, ast.GetAttr) else e.receiver
    chain.reverse()
    if isinstance(e, ast.ExtFun) and (e is top or not _source_parens(e)):
        # `ip("..")` is a name followed by a call, to the grammar
        name, open_k = _path_doc(e.name, _first_tok(e), "function name")
        primary, accesses = name, [_call_doc(e.args, open_k, _last_tok(e))]
    elif _source_parens(e):
        primary, accesses = expr_doc(e), []
    elif level(e) >= MEMBER:
        primary, accesses = _primary(e), []
    else:
        primary, accesses = _member(_paren_doc(_node_doc(e)), []), []
    k = _after_tok(e)
    for node in chain:
        accesses.extend(_access_docs(node, k))
        k = _next(_last_tok(node))
    return primary, accesses


def _access_docs(node: ast.GetAttr | ast.MethodCall, k: int | None) -> list[Doc]:
    """The accesses one node adds to a chain, its first token being `k`."""
    if isinstance(node, ast.GetAttr):
        src = _SOURCE.get()
        indexed = src.text_of(k) == "[" if src is not None and k < len(src.tokens) else False
        if is_ident(node.attr) and not indexed:
            return [cat(_tok_doc(".", k), _tok_doc(node.attr, _next(k)))]
        return [cat(_tok_doc("[", k), _str_doc(node.attr, _next(k)), _tok_doc("]", _next(k, 2)))]
    name = _checked_ident(node.name, "method name")
    field = cat(_tok_doc(".", k), _tok_doc(name, _next(k)))
    return [field, _call_doc(node.args, _next(k, 2), _last_tok(node))]


def _primary(e: ast.Expr) -> Doc:
    first = _first_tok(e)
    if isinstance(e, ast.Lit) and isinstance(e.value, str):
        return _str_doc(e.value, first)
    if isinstance(e, ast.Lit):
        return _tok_doc(_literal(e.value), first)
    if isinstance(e, ast.EntityLit):
        return _entity_uid_doc(e.uid, first)[0]
    if isinstance(e, (ast.Var, ast.Slot)):
        return _tok_doc(e.name, first)
    if isinstance(e, ast.SetLit):
        return _set_doc(e)
    if isinstance(e, ast.RecordLit):
        return _record_doc(e)
    raise TypeError(f"not a Cedar expression: {e!r}")


def _literal(v: bool | int | str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return quote(v)
    raise TypeError(f"not a Cedar literal: {v!r}")


def _elements(elems: Sequence[Doc], commas: Sequence[int | None]) -> Doc:
    """Elements separated by `,` and a line break opportunity."""
    parts: list[Doc] = []
    for i, d in enumerate(elems):
        if i:
            parts.extend([_tok_doc(",", commas[i - 1]), LINE])
        parts.append(d)
    return cat(*parts)


def _set_doc(e: ast.SetLit) -> Doc:
    elems = [expr_doc(x) for x in e.elems]
    body = _elements(elems, [_after_tok(x) for x in e.elems[:-1]])
    return cat(_tok_doc("[", _first_tok(e)), nest(body, 1), _tok_doc("]", _last_tok(e)))


def _record_key_doc(key: str, k: int | None) -> Doc:
    """A record key: quoted only when it must be, unless the source quoted it."""
    src = _SOURCE.get()
    written = src.written(k, key, pattern=False) if src else None
    return _tok_doc(written or (key if is_ident(key) else quote(key)), k)


def _record_doc(e: ast.RecordLit) -> Doc:
    open_k = _first_tok(e)
    if not e.fields:
        return cat(_tok_doc("{", open_k), _tok_doc("}", _last_tok(e)))
    inits = []
    key_k = _next(open_k)
    for key, value in e.fields:
        key_doc = _record_key_doc(key, key_k)
        colon = _tok_doc(":", _next(key_k))
        inits.append(cat(key_doc, colon, SPACE, expr_doc(value)))
        key_k = _after_tok(value, 2)
    body = _elements(inits, [_after_tok(v) for _, v in e.fields[:-1]])
    return cat(_tok_doc("{", open_k), group(cat(nest(cat(LINE, body)), LINE)), _tok_doc("}", _last_tok(e)))


def print_expr(e: ast.Expr, width: int = LINE_WIDTH) -> str:
    """Cedar text for an expression."""
    return remove_empty_lines(render(group(expr_doc(e)), width))


# --------------------------------------------------------------------------
# Policies


def _scope_target_doc(target: EntityUID | ast.Slot, k: int | None) -> tuple[Doc, int | None]:
    if isinstance(target, ast.Slot):
        return _tok_doc(target.name, k), _next(k)
    uid, k = _entity_uid_doc(target, k)
    return _member(uid, []), k


def _action_list_doc(targets: Sequence[EntityUID], k: int | None) -> Doc:
    """`[A::"a", A::"b"]` from its `[` token `k` on."""
    open_doc = _tok_doc("[", k)
    k = _next(k)
    elems, commas = [], []
    for i, uid in enumerate(targets):
        doc, k = _entity_uid_doc(uid, k)
        elems.append(doc)
        if i < len(targets) - 1:
            commas.append(k)
            k = _next(k)
    body = _elements(elems, commas)
    return _member(cat(open_doc, nest(body, 1), _tok_doc("]", k)), [])


def _scope_doc(var: str, scope: ast.Scope) -> Doc:
    """One scope element as the formatter lays it out: `var [is T] [op rhs]`,
    breaking before the right-hand side when it does not fit."""
    src = _SOURCE.get()
    k = src.token_at(scope.span.start) if src and scope.span else None
    if src is not None and k is None:
        raise _Unplaced(scope)
    start_c = _take(k)
    k = _next(k)
    is_doc: Doc = NIL
    op: str | None = None
    rhs: Doc = NIL
    if isinstance(scope, ast.ScopeIs):
        is_c = _take(k)
        entity_type, k = _path_doc(scope.entity_type, _next(k), "entity type")
        is_doc = group(nest(cat(group(cat(LINE, _with_comment(text("is"), is_c))), LINE, entity_type)))
        if scope.in_target is not None:
            op = "in"
    elif isinstance(scope, ast.ScopeEq):
        op = "=="
    elif isinstance(scope, (ast.ScopeIn, ast.ActionInSet)):
        op = "in"
    elif not isinstance(scope, ast.ScopeAny):
        raise TypeError(f"not a policy scope: {scope!r}")
    if op is None:
        return cat(_with_comment(text(var), start_c), is_doc)
    op_c = _take(k)
    if isinstance(scope, ast.ActionInSet):
        rhs = _action_list_doc(scope.targets, _next(k))
    else:
        target = scope.in_target if isinstance(scope, ast.ScopeIs) else scope.target
        rhs = _scope_target_doc(target, _next(k))[0]
    head = group(cat(text(var), _trailing_doc(start_c.trailing, NIL), is_doc, LINE, _with_comment(text(op), op_c)))
    return cat(_leading_doc(start_c.leading), group(cat(head, nest(cat(LINE, rhs)))))


def _condition_doc(c: ast.Condition) -> Doc:
    """`when { body }` on one line, else `when` / `{ body }`, else the body
    indented between braces on lines of their own."""
    if c.kind not in ("when", "unless"):
        raise ValueError(f"unknown condition kind {c.kind!r}")
    src = _SOURCE.get()
    kind_k = src.token_at(c.span.start) if src and c.span else None
    close_k = src.token_ending(c.span.end) if src and c.span else None
    if src is not None and (kind_k is None or close_k is None):
        raise _Unplaced(c)
    brace_c = _take(_next(kind_k))
    close_c = _take(close_k)
    kind_c = _take(kind_k)
    body_leading = src.take_leading(src.extent(c.body, outer=True)[0]) if src else ()
    body = expr_doc(c.body)
    inner = cat(nest(cat(_trailing_doc(brace_c.trailing, LINE), _leading_doc(body_leading), group(body))),
                LINE, _with_comment(text("}"), close_c))
    return cat(_leading_doc(kind_c.leading), group(cat(
        text(c.kind), _trailing_doc(kind_c.trailing, LINE),
        _leading_doc(brace_c.leading), text("{"), group(inner))))


def _annotation_doc(a: ast.Annotation) -> Doc:
    name = _checked_ident(a.name, "annotation name")
    src = _SOURCE.get()
    k = src.token_at(a.span.start) if src and a.span else None
    if src is not None and k is None:
        raise _Unplaced(a)
    at = _tok_doc("@", k)
    key = _tok_doc(name, _next(k))
    if a.value is None:
        return cat(at, key, HARDLINE)
    value = cat(_tok_doc("(", _next(k, 2)), _str_doc(a.value, _next(k, 3)),
                _tok_doc(")", _next(k, 4), HARDLINE))
    return cat(at, key, value)


def policy_doc(p: ast.Policy) -> Doc:
    """The layout document of a policy: annotations one per line, the scope on
    one line when it is unconstrained and one element per line otherwise,
    each condition on its own line."""
    if p.effect not in ("permit", "forbid"):
        raise ValueError(f"unknown policy effect {p.effect!r}")
    src = _SOURCE.get()
    annotations = [_annotation_doc(a) for a in p.annotations]
    effect_k = semi_k = None
    if src is not None:
        if p.span is None or any(a.span is None for a in p.annotations):
            raise _Unplaced(p)
        effect_k = src.token_ending(p.annotations[-1].span.end) + 1 if p.annotations else \
            src.token_at(p.span.start)
        semi_k = src.token_ending(p.span.end)
    effect_leading = src.take_leading(effect_k) if src else ()
    effect = _tok_doc(p.effect, effect_k)
    scopes = [_scope_doc("principal", p.principal), _scope_doc("action", p.action),
              _scope_doc("resource", p.resource)]
    commas = [_scope_end(p.principal), _scope_end(p.action)]
    if all(isinstance(s, ast.ScopeAny) for s in (p.principal, p.action, p.resource)):
        scope = group(nest(cat(scopes[0], _tok_doc(",", commas[0], SPACE), scopes[1],
                               _tok_doc(",", commas[1], SPACE), scopes[2])))
    else:
        scope = cat(nest(cat(HARDLINE, scopes[0], _tok_doc(",", commas[0], HARDLINE), scopes[1],
                             _tok_doc(",", commas[1], HARDLINE), scopes[2])), HARDLINE)
    conditions = intersperse([_condition_doc(c) for c in p.conditions], HARDLINE)
    open_paren = _tok_doc("(", _next(effect_k))
    close_paren = _tok_doc(")", _scope_end(p.resource), HARDLINE if p.conditions else NIL)
    return cat(
        *annotations,
        _leading_doc(effect_leading),
        group(cat(effect, LINE, open_paren)),
        scope,
        close_paren,
        conditions,
        _tok_doc(";", semi_k),
    )


def _scope_end(scope: ast.Scope) -> int | None:
    """The token after a scope element (its `,` or the closing `)`)."""
    src = _SOURCE.get()
    if src is None:
        return None
    if scope.span is None:
        raise _Unplaced(scope)
    return src.token_ending(scope.span.end) + 1


def print_policy(p: ast.Policy, width: int = LINE_WIDTH) -> str:
    """Cedar text for one policy (or template), without a trailing newline."""
    return remove_empty_lines(render(policy_doc(p), width))


def print_policyset(ps: ast.PolicySet, width: int = LINE_WIDTH) -> str:
    """Cedar text for the policies and templates of a set, in order, separated
    by blank lines.  Ids are not written: `@id` annotations are kept as
    annotations, and positional ids follow from the order.  Template links
    have no Cedar syntax and are not printed."""
    if not ps.policies:
        return ""
    return "\n\n".join(print_policy(p, width) for _, p in ps.policies) + "\n"


# --------------------------------------------------------------------------
# Values


def value_to_expr(v: Any) -> ast.Expr:
    """The Cedar literal expression that evaluates to `v`."""
    if isinstance(v, (bool, int, str)):
        return ast.Lit(v)
    if isinstance(v, EntityUID):
        return ast.EntityLit(v)
    if isinstance(v, CedarSet):
        return ast.SetLit(tuple(value_to_expr(x) for x in v))
    if isinstance(v, CedarRecord):
        return ast.RecordLit(tuple((k, value_to_expr(v[k])) for k in sorted(v)))
    if getattr(type(v), "EXT_FUNCTION", None) is not None:
        return _extension_value_expr(v)
    raise TypeError(f"not a Cedar value: {v!r}")


def _extension_value_expr(v: Any) -> ast.Expr:
    """`decimal("1.5")`, `ip(..)`, `datetime(..)`, `duration(..)`.  A datetime
    beyond what its constructor accepts (past year 9999 or before year 0,
    reachable with `offset`) is written as the epoch offset by a duration."""
    literal = str(v)
    try:
        exact = type(v).parse(literal).cedar_key() == v.cedar_key()
    except ValueError:
        exact = False
    if exact:
        return ast.ExtFun(type(v).EXT_FUNCTION, (ast.Lit(literal),))
    if type(v).EXT_FUNCTION == "datetime":
        epoch = ast.ExtFun("datetime", (ast.Lit("1970-01-01"),))
        return ast.MethodCall(epoch, "offset", (ast.ExtFun("duration", (ast.Lit(f"{v.ms}ms"),)),))
    raise ValueError(f"no Cedar expression writes the value {v!r}")


def print_value(v: Any) -> str:
    """A Cedar literal for any value, on one line: `true`, `-3`, `"s"`,
    `User::"a"`, `[1, 2]`, `{ a: 1 }`, `decimal("1.5")`, `ip("10.0.0.0/8")`
    (and `datetime("1970-01-01").offset(duration("..ms"))` for a datetime
    no datetime literal can write)."""
    return render(group(expr_doc(value_to_expr(v))), width=1 << 62)


# --------------------------------------------------------------------------
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
    src = _Source(text_, ())
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


def _format_policy(p: ast.Policy, src: _Source, width: int) -> str:
    """One policy of the source, its comments placed; comments the layout
    could not place (the AST's spans and our tokens disagreeing) are kept on
    the lines above it rather than lost."""
    first = src.token_at(p.span.start) if p.span else None
    last = src.token_ending(p.span.end) if p.span else None
    if first is None or last is None:
        raise _Unplaced(p)
    saved = src.comments[first:last + 1]
    try:
        printed = print_policy(p, width)
    except _Unplaced:
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
    except _Unplaced:
        token = _SOURCE.set(None)
        try:
            plain = print_policy(p, width)
        finally:
            _SOURCE.reset(token)
    return "\n".join([*lines, plain + (" " + tail if tail else "")])


def format_source(text_: str, filename: str = "<input>", width: int = LINE_WIDTH) -> str:
    """`cedar format` for a policy file: each policy laid out as
    `print_policy` does, with the parentheses, string literals and comments
    of the source, one blank line between policies.  Bad input raises
    `CedarError`."""
    from cedarscope.lang.parser import parse_policies

    ps = parse_policies(text_, filename)
    policies = [p for _, p in ps.policies]
    src = _Source(text_, policies)
    token = _SOURCE.set(src)
    try:
        printed = [_format_policy(p, src, width) for p in policies]
    except _Unplaced:
        printed = None
    finally:
        _SOURCE.reset(token)
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
