"""Cedar policy text to the AST in `lang.ast`.

Lark computes the LALR(1) table of grammar.lark once; our own lexer (Cedar's
lexical rules, `_tokens`) and table driver (`_Table`) run it, and the AST is
built during the parse by `_Builder`'s rule callbacks.  No parse tree is ever
materialised and nothing recurses, so nesting depth is bounded only by
`MAX_DEPTH`, which keeps every AST small enough for the recursive code
downstream (printer, evaluator, encoder, ``==`` on nodes).

A policy file is cut at top-level ``;`` into one chunk per policy (strings and
comments respected) and each chunk is parsed on its own, so one bad policy
does not hide the errors of the next: every error in the file is reported.

Checks Cedar makes after its own parse (reserved words, variable and function
names, method arity, scope shape, literal limits, duplicate keys and
annotations) are made in the callbacks that build the affected node, with the
same wording as Cedar where that helps a reader.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

from cedarscope.lang.ast import (
    WILDCARD,
    ActionInSet,
    And,
    Annotation,
    BinaryOp,
    Condition,
    EntityLit,
    Expr,
    ExtFun,
    GetAttr,
    Has,
    If,
    Is,
    Like,
    Lit,
    MethodCall,
    Neg,
    Not,
    Or,
    Policy,
    PolicySet,
    RecordLit,
    ScopeAny,
    ScopeEq,
    ScopeIn,
    ScopeIs,
    SetLit,
    Slot,
    Span,
    Var,
)
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.values import LONG_MAX, EntityUID

__all__ = [
    "parse_policies", "parse_policy", "parse_expr", "parse_entity_uid", "load_policies",
    "unescape_string", "unescape_pattern", "MAX_DEPTH",
]

# Deepest expression tree accepted.  Cedar itself has no limit (and its Rust
# parser overflows its stack near 1,000 nested brackets); ours keeps ASTs
# within what recursive Python code (dataclass ``==``, printers, evaluators)
# handles under the default recursion limit.
MAX_DEPTH = 200

# Words the lexer reserves; they cannot name variables, attributes (unquoted),
# types or namespaces.  `__cedar` is reserved as a name component as well.
RESERVED = frozenset(("true", "false", "if", "then", "else", "in", "is", "like", "has"))
RESERVED_NAMESPACE = "__cedar"

VARIABLES = ("principal", "action", "resource", "context")
SCOPE_VARIABLES = ("principal", "action", "resource")
EFFECTS = ("permit", "forbid")
CONDITION_KINDS = ("when", "unless")

EXTENSION_FUNCTIONS = ("decimal", "ip", "datetime", "duration")
EXTENSION_METHODS = (
    "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual",   # decimal
    "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",          # ipaddr
    "offset", "durationSince", "toDate", "toTime",                         # datetime
    "toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds",       # duration
)
# The core methods and their arity; Cedar checks it while parsing (extension
# methods' arity is checked at evaluation).
CORE_METHOD_ARITY = {
    "contains": 1, "containsAll": 1, "containsAny": 1, "isEmpty": 0, "hasTag": 1, "getTag": 1,
}

# `!` or `-` repeated more than this many times is a parse error in Cedar.
MAX_UNARY_OPS = 4

# ---------------------------------------------------------------------------
# String literals


_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}
_HEX = frozenset("0123456789abcdefABCDEF")


class _EscapeError(ValueError):
    """A bad escape: `text` is the offending input, `offset` its index in the body."""

    def __init__(self, text: str, offset: int, message: str = ""):
        super().__init__(message or f"the input `{text}` is not a valid escape")
        self.text = text
        self.offset = offset


def _unescape(body: str, pattern: bool) -> list:
    """Cedar's (Rust's) string escapes over a literal body (without quotes).

    Returns a list of characters; in pattern mode an escaped ``\\*`` is the
    marker `_STAR` (a literal star) rather than a character.
    """
    out: list = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\r":
            # Rust rejects a bare carriage return inside a string literal.
            raise _EscapeError("\\r", i, "a carriage return in a string literal must be "
                                          "written as the escape `\\r`")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise _EscapeError("\\", i)
        esc = body[i + 1]
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            i += 2
        elif esc == "*" and pattern:
            out.append(_STAR)
            i += 2
        elif esc == "x":
            i = _unescape_hex(body, i, out)
        elif esc == "u":
            i = _unescape_unicode(body, i, out)
        else:
            raise _EscapeError(body[i:i + 2], i)
    return out


def _unescape_hex(body: str, i: int, out: list) -> int:
    """``\\xHH``: exactly two hex digits, at most 0x7F (ASCII)."""
    digits = body[i + 2:i + 4]
    if len(digits) < 2 or not all(c in _HEX for c in digits):
        bad = 3 if len(digits) < 1 or digits[0] not in _HEX else 4
        raise _EscapeError(body[i:i + bad], i)
    value = int(digits, 16)
    if value > 0x7F:
        raise _EscapeError(body[i:i + 4], i)
    out.append(chr(value))
    return i + 4


def _unescape_unicode(body: str, i: int, out: list) -> int:
    """``\\u{H...}``: 1 to 6 hex digits (underscores allowed after the first),
    a Unicode scalar value (no surrogates, at most 0x10FFFF)."""
    if body[i + 2:i + 3] != "{":
        raise _EscapeError(body[i:i + 3], i)
    close = body.find("}", i + 3)
    inner = body[i + 3:close] if close >= 0 else body[i + 3:]
    if close < 0 or not inner or inner[0] == "_":
        raise _EscapeError(body[i:i + 4], i)
    digits = inner.replace("_", "")
    if not digits or len(digits) > 6 or not all(c in _HEX for c in digits):
        raise _EscapeError(body[i:close + 1], i)
    value = int(digits, 16)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        raise _EscapeError(body[i:close + 1], i)
    out.append(chr(value))
    return close + 1


class _Star:
    """An escaped ``\\*`` in a `like` pattern: a literal star, not a wildcard."""


_STAR = _Star()


def unescape_string(body: str) -> str:
    """The value of a Cedar string literal body; ValueError on a bad escape."""
    if "\\" not in body and "\r" not in body:  # nothing to interpret: most literals
        return body
    return "".join(_unescape(body, pattern=False))


def unescape_pattern(body: str) -> tuple:
    """A `like` pattern body as `Like.pattern`: an unescaped ``*`` (however it
    was written, e.g. ``\\u{2a}``) is a wildcard, ``\\*`` a literal star;
    adjacent literal characters are merged."""
    if "\\" not in body and "\r" not in body:  # no escapes: split at the stars
        elems = []
        for i, text in enumerate(body.split("*")):
            if i:
                elems.append(WILDCARD)
            if text:
                elems.append(text)
        return tuple(elems)
    elems: list = []
    run: list[str] = []  # the literal characters since the last wildcard
    for ch in _unescape(body, pattern=True):
        if ch == "*":
            if run:
                elems.append("".join(run))
                run = []
            elems.append(WILDCARD)
        else:
            run.append("*" if ch is _STAR else ch)
    if run:
        elems.append("".join(run))
    return tuple(elems)


# ---------------------------------------------------------------------------
# Human names for terminals, for "expected ..." messages


_TERMINAL_NAMES = {
    "IDENT": "an identifier", "SLOT": "a template slot", "INT": "an integer",
    "STRING": "a string literal",
    "TRUE": "'true'", "FALSE": "'false'", "IF": "'if'", "THEN": "'then'", "ELSE": "'else'",
    "IN": "'in'", "IS": "'is'", "LIKE": "'like'", "HAS": "'has'",
    "EQ": "'=='", "NE": "'!='", "LE": "'<='", "GE": "'>='", "LT": "'<'", "GT": "'>'",
    "ANDAND": "'&&'", "OROR": "'||'", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
    "BANG": "'!'", "DCOLON": "'::'", "COLON": "':'", "DOT": "'.'", "COMMA": "','",
    "SEMI": "';'", "AT": "'@'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "LBRACE": "'{'", "RBRACE": "'}'", "$END": "end of input",
}
# A state that accepts all of these is expecting an expression (or operand).
_EXPR_START = frozenset(("INT", "STRING", "IDENT", "LPAR", "LSQB", "LBRACE"))
_OPERATORS = frozenset((
    "EQ", "NE", "LE", "GE", "LT", "GT", "ANDAND", "OROR", "PLUS", "MINUS", "STAR",
    "DOT", "IN", "IS", "LIKE", "HAS",
))


# States whose expectations read better in words.
_EXPECTED_PHRASES = {
    frozenset(("AT", "IDENT")): "'@', 'permit' or 'forbid'",
    frozenset(("IDENT", "SEMI")): "'when', 'unless' or ';'",
}


def _describe_expected(expected: Iterable[str]) -> str:
    names = set(expected)
    phrase = _EXPECTED_PHRASES.get(frozenset(names))
    if phrase:
        return phrase
    parts = []
    if _EXPR_START <= names:
        parts.append("an expression")
        names -= _EXPR_START | {"TRUE", "FALSE", "IF", "BANG", "MINUS", "SLOT"}
    if len(names & _OPERATORS) >= 4:
        parts.append("an operator")
        names -= _OPERATORS
    parts += sorted(_TERMINAL_NAMES.get(n, n) for n in names)
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


# ---------------------------------------------------------------------------
# Building the AST


class _Abort(Exception):
    """Stops the parse of the current policy (the error is already recorded)."""


class _Path:
    """A ``A::B::C`` name while it is being parsed."""

    __slots__ = ("parts", "first", "last")

    def __init__(self, parts: list, first: Token, last: Token):
        self.parts = parts
        self.first = first
        self.last = last

    @property
    def name(self) -> str:
        return "::".join(self.parts)


class _Source:
    """The text being parsed, and the part of it (one policy) being parsed now."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.lines: list[str] | None = None
        self.start = self.end = 0
        self.line = self.column = 1  # where `start` is

    def source_line(self, line: int) -> str | None:
        if self.lines is None:
            self.lines = self.text.split("\n")
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].rstrip("\r")
        return None


class _Builder(Transformer):
    """Rule callbacks: each builds the AST node of one Cedar construct.

    Non-fatal problems are recorded in `errors` and building goes on, so one
    policy can report several; `_Abort` stops the policy (nesting too deep).
    """

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.src: _Source = _Source("", "<input>")
        self.errors: list[Diagnostic] = []
        self._depth: dict[int, tuple[int, object]] = {}
        self._bare_ints: set[int] = set()       # ids of Lits written as bare INT tokens
        self._pending_big: dict[int, Lit] = {}  # 2^63 literals not (yet) negated

    # -- positions -----------------------------------------------------------

    def begin(self, src: _Source) -> None:
        self.src = src
        self._depth.clear()
        self._bare_ints.clear()
        self._pending_big.clear()

    # Tokens carry file positions (see _tokens).

    @staticmethod
    def _tok_start(t: Token) -> tuple[int, int, int]:
        return t.line, t.column, t.start_pos

    @staticmethod
    def _tok_end(t: Token) -> tuple[int, int, int]:
        return t.end_line, t.end_column, t.end_pos

    def _start(self, x) -> tuple[int, int, int]:
        if isinstance(x, Token):
            return self._tok_start(x)
        if isinstance(x, _Path):
            return self._tok_start(x.first)
        sp = x.span
        return sp.line, sp.column, sp.start

    def _end(self, x) -> tuple[int, int, int]:
        if isinstance(x, Token):
            return self._tok_end(x)
        if isinstance(x, _Path):
            return self._tok_end(x.last)
        sp = x.span
        return sp.end_line, sp.end_column, sp.end

    def span(self, first, last=None) -> Span:
        l1, c1, o1 = self._start(first)
        l2, c2, o2 = self._end(first if last is None else last)
        return Span(self.src.filename, l1, c1, l2, c2, o1, o2)

    # -- diagnostics ----------------------------------------------------------

    def error(self, message: str, at) -> None:
        """Record an error located at a token, node, path or (line, column)."""
        if isinstance(at, tuple):
            line, column = at
        elif isinstance(at, Span):
            line, column = at.line, at.column
        else:
            line, column, _ = self._start(at)
        self.errors.append(Diagnostic(
            message=message, file=self.src.filename, line=line, column=column,
            source_line=self.src.source_line(line),
        ))

    def node(self, n, *kids):
        """Register `n` (built from `kids`) and enforce `MAX_DEPTH`."""
        depth = self._depth
        d = 1
        for k in kids:
            entry = depth.get(id(k))
            if entry is not None and entry[0] >= d:
                d = entry[0] + 1
            elif d < 2:
                d = 2
        depth[id(n)] = (d, n)
        if d > MAX_DEPTH:
            self.error(f"expression is nested too deeply (more than {MAX_DEPTH} levels)", n)
            raise _Abort()
        return n

    def check_ident(self, tok: Token) -> str:
        """An unquoted attribute name or record key: not a reserved word."""
        name = str(tok)
        if name in RESERVED:
            self.error(f"this identifier is reserved and cannot be used: {name}", tok)
        elif name == RESERVED_NAMESPACE:
            self.error(f"The name `{name}` contains `{RESERVED_NAMESPACE}`, which is reserved", tok)
        return name

    def string(self, tok: Token, pattern: bool = False):
        """The value of a STRING token (or pattern), reporting bad escapes."""
        body = tok[1:-1]
        try:
            return unescape_pattern(body) if pattern else unescape_string(body)
        except _EscapeError as e:
            line, column, _ = self._tok_start(tok)
            # Locate the escape itself (the body may span lines).
            before = body[:e.offset]
            nl = before.count("\n")
            if nl:
                column = len(before) - before.rfind("\n")
            else:
                column += 1 + e.offset
            self.error(str(e), (line + nl, column))
            return () if pattern else ""

    # -- policies -------------------------------------------------------------

    def policy(self, c):
        annotations = [x for x in c if isinstance(x, Annotation)]
        i = len(annotations)
        effect_tok, scope = c[i], c[i + 2]
        conditions = tuple(x for x in c[i + 4:] if isinstance(x, Condition))
        effect = str(effect_tok)
        if effect not in EFFECTS:
            self.error(f"invalid policy effect: {effect}; expected 'permit' or 'forbid'", effect_tok)
        seen = set()
        for a in annotations:
            if a.name in seen:
                self.error(f"duplicate annotation: @{a.name}", a)
            seen.add(a.name)
        first = annotations[0] if annotations else effect_tok
        if scope is None:
            return None
        return Policy(effect, scope[0], scope[1], scope[2], conditions, tuple(annotations),
                      span=self.span(first, c[-1]))

    def annotation(self, c):
        name = str(c[1])
        value = self.string(c[3]) if len(c) > 2 else None
        return Annotation(name, value, span=self.span(c[0], c[-1]))

    def condition(self, c):
        kind_tok = c[0]
        kind = str(kind_tok)
        if kind not in CONDITION_KINDS:
            self.error(f"invalid policy condition: {kind}; expected 'when' or 'unless'", kind_tok)
        if len(c) == 3:
            self.error(f"`{kind}` condition clause cannot be empty", c[1])
            return None
        return Condition(kind, c[2], span=self.span(kind_tok, c[-1]))

    # -- scope ----------------------------------------------------------------

    def scope(self, c):
        elems = [x for x in c if not isinstance(x, Token)]
        ok = True
        for i, (var_tok, _kind, _arg, _sp) in enumerate(elems[:3]):
            name, want = str(var_tok), SCOPE_VARIABLES[i]
            if name == want:
                continue
            ok = False
            if name in SCOPE_VARIABLES:
                self.error(f"found the variable `{name}` where the variable `{want}` must be used",
                           var_tok)
            else:
                self.error(f"found an invalid variable in the policy scope: {name}", var_tok)
        if len(elems) < 3:
            missing = SCOPE_VARIABLES[len(elems)]
            self.error(f"this policy is missing the `{missing}` variable in the scope",
                       elems[-1][3])
            return None
        for extra in elems[3:]:
            self.error(f"this policy has an extra element in the scope: {extra[0]}", extra[0])
            ok = False
        if not ok:
            return None
        return (self._principal_or_resource(elems[0], "?principal"),
                self._action(elems[1]),
                self._principal_or_resource(elems[2], "?resource"))

    # Each scope element is (variable token, kind, argument, span); the kind is
    # "any", "==", "in", "is" or "is-in".  A target is ("entity", uid, at),
    # ("slot", Slot) or ("set", [EntityLit]).

    def scope_any(self, c):
        return (c[0], "any", None, self.span(c[0]))

    def scope_eq(self, c):
        return (c[0], "==", c[2], self.span(c[0], c[2][-1]))

    def scope_in(self, c):
        return (c[0], "in", c[2], self.span(c[0], c[2][-1]))

    def scope_is(self, c):
        return (c[0], "is", (self.type_name(c[2]), None), self.span(c[0], c[2]))

    def scope_is_in(self, c):
        return (c[0], "is-in", (self.type_name(c[2]), c[4]), self.span(c[0], c[4][-1]))

    def scope_target(self, c):
        x = c[0]
        if isinstance(x, Token):  # SLOT
            return ("slot", Slot(str(x), span=self.span(x)), x)
        return ("entity", x.uid, x)

    def scope_set(self, c):
        items = c[1] if len(c) == 3 else []
        return ("set", items, c[-1])

    def entity_list(self, c):
        return [x for x in c if isinstance(x, EntityLit)]

    def _slot_target(self, target, slot: str):
        """An `==`/`in` target of principal or resource: an entity or its own slot."""
        kind = target[0]
        if kind == "entity":
            return target[1]
        if kind == "set":
            self.error("expected single entity uid or template slot, found set of entity uids",
                       target[2])
            return None
        s = target[1]
        if s.name != slot:
            self.error(f"expected an entity uid or matching template slot, found {s.name} "
                       f"instead of {slot}", s)
            return None
        return s

    def _principal_or_resource(self, elem, slot: str):
        var_tok, kind, arg, sp = elem
        if kind == "any":
            return ScopeAny(span=sp)
        if kind in ("==", "in"):
            target = self._slot_target(arg, slot)
            return (ScopeEq if kind == "==" else ScopeIn)(target, span=sp)
        entity_type, in_target = arg
        if in_target is not None:
            in_target = self._slot_target(in_target, slot)
        return ScopeIs(entity_type, in_target, span=sp)

    def _action_uid(self, uid: EntityUID, at) -> EntityUID:
        """Action scope entities must have type `Action` (in some namespace)."""
        if uid.type != "Action" and not uid.type.endswith("::Action"):
            self.error(f"expected an entity uid with type `Action` but got `{uid}`", at)
        return uid

    def _action(self, elem):
        var_tok, kind, arg, sp = elem
        if kind == "any":
            return ScopeAny(span=sp)
        if kind in ("is", "is-in"):
            self.error("`is` cannot appear in the action scope", var_tok)
            return ScopeAny(span=sp)
        if arg[0] == "slot":
            expected = "single entity uid" if kind == "==" else \
                "single entity uid or set of entity uids"
            self.error(f"expected {expected}, found template slot", arg[1])
            return ScopeAny(span=sp)
        if arg[0] == "set":
            if kind == "==":
                self.error("expected single entity uid, found set of entity uids", arg[2])
                return ScopeAny(span=sp)
            return ActionInSet(tuple(self._action_uid(e.uid, e) for e in arg[1]), span=sp)
        uid = self._action_uid(arg[1], arg[2])
        return (ScopeEq if kind == "==" else ScopeIn)(uid, span=sp)

    # -- names ----------------------------------------------------------------

    def path(self, c):
        if len(c) == 1:
            return _Path([str(c[0])], c[0], c[0])
        p = c[0]
        p.parts.append(str(c[2]))
        p.last = c[2]
        return p

    def check_path(self, p: _Path) -> str:
        """A type or namespace path: no `__cedar` component.  (Its parts are
        IDENT tokens, and a reserved word never lexes as one.)"""
        if RESERVED_NAMESPACE in p.parts:
            self.error(f"The name `{p.name}` contains `{RESERVED_NAMESPACE}`, which is reserved", p)
        return p.name

    def type_name(self, p: _Path) -> str:
        return self.check_path(p)

    def entity(self, c):
        uid = EntityUID(self.check_path(c[0]), self.string(c[2]))
        return EntityLit(uid, span=self.span(c[0], c[2]))

    def any_ident(self, c):
        return c[0]

    # -- expressions: literals and names --------------------------------------

    def int_lit(self, c):
        tok = c[0]
        digits = str(tok).lstrip("0") or "0"
        # Compare lengths first: int() refuses very long digit strings.
        if len(digits) > 19 or int(digits) > LONG_MAX + 1:
            self.error(f"integer literal `{tok}` is too large", tok)
            return Lit(0, span=self.span(tok))
        lit = Lit(int(digits), span=self.span(tok))
        self._bare_ints.add(id(lit))
        self._depth[id(lit)] = (1, lit)
        if lit.value > LONG_MAX:  # only valid as the operand of a unary `-`
            self._pending_big[id(lit)] = lit
        return lit

    def str_lit(self, c):
        return Lit(self.string(c[0]), span=self.span(c[0]))

    def bool_lit(self, c):
        return Lit(c[0] == "true", span=self.span(c[0]))

    def entity_lit(self, c):
        return c[0]

    def name(self, c):
        p = c[0]
        name = p.name
        if len(p.parts) == 1 and name in VARIABLES:
            return Var(name, span=self.span(p))
        self.check_path(p)
        self.error(f"invalid variable: {name}; expected principal, action, resource or context", p)
        return Var(name, span=self.span(p))

    def slot(self, c):
        tok = c[0]
        self.error(f"found template slot {tok} in a condition; slots may only appear in the "
                   f"policy scope", tok)
        return Slot(str(tok), span=self.span(tok))

    def call(self, c):
        p = c[0]
        args = tuple(c[2]) if len(c) == 4 else ()
        name = p.name
        if name in EXTENSION_FUNCTIONS:
            pass
        elif name in EXTENSION_METHODS or name in CORE_METHOD_ARITY:
            self.error(f"`{name}` is a method, not a function", p)
        elif name == "unknown":
            self.error("`unknown` (partial evaluation) is not supported", p)
        else:
            self.error(f"`{name}` is not a valid function", p)
        return self.node(ExtFun(name, args, span=self.span(p, c[-1])), *args)

    def paren(self, c):
        """``(e)`` is `e`, its span widened to the parentheses, so that every
        node's span is source text that parses back to that node.  The copy is
        also no longer a bare literal: ``-(1)`` is a negation, not -1."""
        inner = c[1]
        entry = self._depth.get(id(inner))
        inner = dataclasses.replace(inner, span=self.span(c[0], c[2]))
        if entry is not None:
            self._depth[id(inner)] = (entry[0], inner)
        return inner

    def set_lit(self, c):
        elems = tuple(c[1]) if len(c) == 3 else ()
        return self.node(SetLit(elems, span=self.span(c[0], c[-1])), *elems)

    def record_lit(self, c):
        inits = c[1] if len(c) == 3 else []
        seen = set()
        for key, _value, key_tok in inits:
            if key in seen:
                self.error(f"duplicate key `{key}` in record literal", key_tok)
            seen.add(key)
        fields = tuple((k, v) for k, v, _ in inits)
        return self.node(RecordLit(fields, span=self.span(c[0], c[-1])),
                         *(v for _, v, _ in inits))

    def rec_inits(self, c):
        return [x for x in c if not isinstance(x, Token)]

    def rec_init(self, c):
        key_tok = c[0]
        if key_tok.type == "STRING":
            key = self.string(key_tok)
        else:
            key = self.check_ident(key_tok)
        return (key, c[2], key_tok)

    def args(self, c):
        return [x for x in c if not isinstance(x, Token)]

    elems = args

    # -- expressions: operators ------------------------------------------------

    def if_then_else(self, c):
        cond, then_, else_ = c[1], c[3], c[5]
        return self.node(If(cond, then_, else_, span=self.span(c[0], else_)), cond, then_, else_)

    def or_(self, c):
        return self.node(Or(c[0], c[2], span=self.span(c[0], c[2])), c[0], c[2])

    def and_(self, c):
        return self.node(And(c[0], c[2], span=self.span(c[0], c[2])), c[0], c[2])

    def compare(self, c):
        if len(c) > 3:
            self.error("multiple relational operators (>, ==, in, etc.) must be used with "
                       "parentheses to make ordering explicit", c[3])
        left, op, right = c[0], c[1], c[2]
        return self.node(BinaryOp(str(op), left, right, span=self.span(left, right)), left, right)

    def binop(self, c):
        left, op, right = c
        return self.node(BinaryOp(str(op), left, right, span=self.span(left, right)), left, right)

    def has(self, c):
        expr, attrs = c[0], c[2]
        return self.node(Has(expr, attrs[0], span=self.span(expr, attrs[1])), expr)

    def has_attrs(self, c):
        if c[0].type == "STRING":
            return ((self.string(c[0]),), c[0])
        return (tuple(self.check_ident(t) for t in c if t.type != "DOT"), c[-1])

    def like(self, c):
        expr = c[0]
        pattern = self.string(c[2], pattern=True)
        return self.node(Like(expr, pattern, span=self.span(expr, c[2])), expr)

    def is_(self, c):
        expr = c[0]
        return self.node(Is(expr, self.type_name(c[2]), span=self.span(expr, c[2])), expr)

    def is_in(self, c):
        expr, target = c[0], c[4]
        return self.node(Is(expr, self.type_name(c[2]), target, span=self.span(expr, target)),
                         expr, target)

    def not_(self, c):
        *ops, arg = c
        if len(ops) > MAX_UNARY_OPS:
            self.error("too many occurrences of `!`", ops[0])
        for op in reversed(ops):
            arg = self.node(Not(arg, span=self.span(op, arg)), arg)
        return arg

    def neg(self, c):
        *ops, arg = c
        if len(ops) > MAX_UNARY_OPS:
            self.error("too many occurrences of `-`", ops[0])
        if id(arg) in self._bare_ints:
            # Cedar folds the innermost `-` into an integer literal, which is
            # how -9223372036854775808 can be written at all.
            self._pending_big.pop(id(arg), None)
            arg = Lit(-arg.value, span=self.span(ops[-1], arg))
            self._depth[id(arg)] = (1, arg)
            ops = ops[:-1]
        for op in reversed(ops):
            arg = self.node(Neg(arg, span=self.span(op, arg)), arg)
        return arg

    def get_attr(self, c):
        expr, name_tok = c[0], c[2]
        attr = self.check_ident(name_tok)
        return self.node(GetAttr(expr, attr, span=self.span(expr, name_tok)), expr)

    def index(self, c):
        expr = c[0]
        return self.node(GetAttr(expr, self.string(c[2]), span=self.span(expr, c[3])), expr)

    def method_call(self, c):
        receiver, name_tok = c[0], c[2]
        args = tuple(c[4]) if len(c) == 6 else ()
        name = str(name_tok)
        if name in CORE_METHOD_ARITY:
            want = CORE_METHOD_ARITY[name]
            if len(args) != want:
                self.error(f"call to `{name}` requires exactly {want} argument"
                           f"{'' if want == 1 else 's'}, but got {len(args)} argument"
                           f"{'' if len(args) == 1 else 's'}", name_tok)
        elif name in EXTENSION_FUNCTIONS:
            self.error(f"`{name}` is a function, not a method", name_tok)
        elif name not in EXTENSION_METHODS:
            self.error(f"`{name}` is not a valid method", name_tok)
        return self.node(MethodCall(receiver, name, args, span=self.span(receiver, c[-1])),
                         receiver, *args)

    # -- end of a policy or expression ----------------------------------------

    def finish(self) -> None:
        """Report 2^63 literals that no `-` claimed."""
        for lit in self._pending_big.values():
            self.error(f"integer literal `{LONG_MAX + 1}` is too large", lit)
        self._pending_big.clear()


# ---------------------------------------------------------------------------
# The parser: built once, shared, one parse at a time


_GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
_LOCK = threading.Lock()


# ---- the lexer
#
# Cedar's lexer is context free: one token pattern, and reserved words are
# keywords wherever they appear.  Each policy is lexed on its own, starting
# with its line and column known, so tokens carry positions in the file.

_WHITESPACE = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
_TOKEN_RE = re.compile("|".join((
    rf"(?P<WS>{_WHITESPACE})",
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


class _LexError(Exception):
    def __init__(self, pos: int, line: int, column: int):
        super().__init__(pos)
        self.pos, self.line, self.column = pos, line, column


def _tokens(src: _Source):
    """The tokens of `src.text[src.start:src.end]`, positioned in the file."""
    text, pos, end = src.text, src.start, src.end
    line, line_start = src.line, src.start - src.column + 1
    match = _TOKEN_RE.match
    while pos < end:
        m = match(text, pos, end)
        if m is None:
            raise _LexError(pos, line, pos - line_start + 1)
        kind, stop = m.lastgroup, m.end()
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


class _NoLexer(Lexer):
    """Lark needs a lexer to build its tables; ours is `_tokens`."""

    def __init__(self, lexer_conf) -> None:
        pass

    def lex(self, data):  # pragma: no cover - never called
        raise RuntimeError("cedarscope tokenizes with _tokens; Lark's lexer is never used")


# ---- the LALR driver
#
# Lark computes the LALR(1) table from grammar.lark and wraps our callbacks
# (filtering punctuation, inlining `?rule`s); the loop that runs the table is
# ours: it is a tight loop over plain lists and tuples, and on an error it can
# work out, without running any callback, exactly which tokens would have
# been accepted.

class _SyntaxError(Exception):
    def __init__(self, token: Token | None, expected: set[str]):
        super().__init__(token)
        self.token, self.expected = token, expected


class _Table:
    def __init__(self, lark: Lark, builder: _Builder):
        lalr = lark.parser.parser
        table = lalr._parse_table
        callbacks = lalr.parser.callbacks
        self.builder = builder
        self.start_states = dict(table.start_states)
        self.end_states = dict(table.end_states)
        self.terminals: set[str] = set()
        # rows[state][symbol] = (True, next state) for a shift or goto,
        # (False, (length, goal, callback)) for a reduction.
        self.rows: list[dict] = [{} for _ in range(max(table.states) + 1)]
        for state, actions in table.states.items():
            row = self.rows[state]
            for symbol, (action, arg) in actions.items():
                symbol = str(symbol)  # Lark's names are Tokens, slower as dict keys
                if symbol.isupper() or symbol == "$END":
                    self.terminals.add(symbol)
                if action is Shift:
                    row[symbol] = (True, arg)
                else:
                    row[symbol] = (False, (len(arg.expansion), str(arg.origin.name),
                                           callbacks[arg]))

    def run(self, tokens, start: str):
        rows = self.rows
        states = [self.start_states[start]]
        values: list = []
        for tok in tokens:
            kind = tok.type
            while True:
                act = rows[states[-1]].get(kind)
                if act is None:
                    raise _SyntaxError(tok, self.acceptable(states, start))
                if act[0]:
                    states.append(act[1])
                    values.append(tok)
                    break
                size, goal, callback = act[1]
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(callback(children))
                states.append(rows[states[-1]][goal][1])
        end_state = self.end_states[start]
        while True:
            act = rows[states[-1]].get("$END")
            if act is None or act[0]:
                raise _SyntaxError(None, self.acceptable(states, start))
            size, goal, callback = act[1]
            children = values[-size:] if size else []
            if size:
                del states[-size:]
                del values[-size:]
            values.append(callback(children))
            states.append(rows[states[-1]][goal][1])
            if states[-1] == end_state:
                return values[-1]

    def acceptable(self, states: list[int], start: str) -> set[str]:
        """The terminals the parser could take next, found by replaying only
        the state transitions (LALR tables merge states, so the failing
        state's own row can list tokens that would fail a step later)."""
        rows, end_state = self.rows, self.end_states[start]
        out = set()
        for kind in self.terminals:
            stack = list(states)
            while True:
                act = rows[stack[-1]].get(kind)
                if act is None:
                    break
                if act[0]:
                    out.add(kind)
                    break
                size, goal, _ = act[1]
                if size:
                    del stack[-size:]
                stack.append(rows[stack[-1]][goal][1])
                if kind == "$END" and stack[-1] == end_state:
                    out.add(kind)
                    break
        return out


_TABLE: _Table | None = None


def _table() -> _Table:
    global _TABLE
    if _TABLE is None:
        builder = _Builder()
        lark = Lark(
            _GRAMMAR_PATH.read_text(encoding="utf-8"),
            parser="lalr", lexer=_NoLexer, transformer=builder,
            start=["policy", "expr", "entity"], maybe_placeholders=False,
        )
        _TABLE = _Table(lark, builder)
    return _TABLE


# ---- policies one at a time

# A policy ends at a `;` outside strings and comments.
_BOUNDARY = re.compile(r'"[^"\\]*+(?:\\[^\n][^"\\]*+)*+"|//[^\n\r]*|;')  # strings: see _TOKEN_RE
_BLANK = re.compile(rf"(?:{_WHITESPACE}|//[^\n\r]*)*+")


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


def _end_position(src: _Source) -> tuple[int, int]:
    """Line and column just past the end of the part being parsed."""
    text = src.text
    line = src.line + text.count("\n", src.start, src.end)
    nl = text.rfind("\n", src.start, src.end)
    column = src.end - nl if nl >= 0 else src.column + src.end - src.start
    return line, column


def _syntax_error(builder: _Builder, e: _SyntaxError) -> None:
    """An unexpected token as a located Diagnostic naming what was expected."""
    tok = e.token
    if tok is None:
        message, at = "unexpected end of input", _end_position(builder.src)
    elif tok.type == "COLON" and {"IS", "EQ", "RPAR"} <= e.expected:
        message, at = "type constraints using `:` are not supported; use `is`", tok
        builder.error(message, at)
        return
    else:
        message, at = f"unexpected token '{_shorten(str(tok))}'", tok
    expected = _describe_expected(e.expected)
    if expected:
        message += f"; expected {expected}"
    builder.error(message, at)


def _shorten(lexeme: str, limit: int = 40) -> str:
    """A token as quoted in a message: one line, not too long."""
    one_line = lexeme.replace("\r", "\\r").replace("\n", "\\n")
    return one_line if len(one_line) <= limit else one_line[:limit - 3] + "..."


def _lex_error(builder: _Builder, e: _LexError) -> None:
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


def _parse_chunk(src: _Source, start: int, end: int, line: int, column: int, rule: str):
    """Parse text[start:end], which starts at `line` and `column`, as `rule`;
    returns (result, diagnostics)."""
    table = _table()
    builder = table.builder
    src.start, src.end, src.line, src.column = start, end, line, column
    builder.begin(src)
    builder.errors = []
    result = None
    try:
        result = table.run(_tokens(src), rule)
        builder.finish()
    except _SyntaxError as e:
        _syntax_error(builder, e)
    except _LexError as e:
        _lex_error(builder, e)
    except _Abort:
        pass
    errors = builder.errors
    builder.errors = []
    builder.begin(_Source("", "<input>"))  # release the text and nodes
    return result, errors


def _positional_ids(src: _Source, policies: list[Policy | None], first_index: int,
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
        if pid in known:
            errors.append(Diagnostic(
                message=f"duplicate policy id `{pid}`", file=at.file, line=at.line,
                column=at.column, source_line=src.source_line(at.line),
            ))
        known.add(pid)
        out.append((pid, p))
    return out


def _parse_file(text: str, filename: str) -> tuple[_Source, list[Policy | None], list[Diagnostic]]:
    """Every policy of a file, None for those with errors, and the errors."""
    src = _Source(text, filename)
    policies: list[Policy | None] = []
    errors: list[Diagnostic] = []
    with _LOCK, _no_cycle_collection():
        for start, end, line, column in _chunks(text):
            policy, errs = _parse_chunk(src, start, end, line, column, "policy")
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


# ---------------------------------------------------------------------------
# Public API


def parse_policies(text: str, filename: str = "<input>") -> PolicySet:
    """All policies and templates in `text`, in order.

    Ids are ``@id("...")`` or positional ``policy0, policy1, ...`` (templates
    count).  Raises CedarError listing every error in the text.
    """
    src, policies, errors = _parse_file(text, filename)
    entries = _positional_ids(src, policies, 0, set(), errors)
    if errors:
        raise CedarError(errors)
    return PolicySet(tuple(entries))


def parse_policy(text: str, filename: str = "<input>") -> Policy:
    """Exactly one policy (or template)."""
    ps = parse_policies(text, filename)
    if len(ps.policies) != 1:
        raise CedarError(Diagnostic(
            message=f"expected exactly one policy, found {len(ps.policies)}",
            file=filename, line=1, column=1, source_line=_Source(text, filename).source_line(1),
        ))
    return ps.policies[0][1]


def parse_expr(text: str, filename: str = "<expr>") -> Expr:
    """One Cedar expression (as in a ``when`` clause; no template slots)."""
    return _parse_whole(text, filename, "expr")


def parse_entity_uid(text: str, filename: str = "<entity uid>") -> EntityUID:
    """An entity reference such as ``NS::User::"alice"``."""
    return _parse_whole(text, filename, "entity").uid


def _parse_whole(text: str, filename: str, rule: str):
    src = _Source(text, filename)
    with _LOCK:
        result, errors = _parse_chunk(src, 0, len(text), 1, 1, rule)
    if errors:
        raise CedarError(errors)
    return result


def load_policies(paths: Sequence[str | Path]) -> PolicySet:
    """The policies of several files, or of folders searched recursively for
    ``*.cedar`` (sorted).  Positional ids continue across files; a duplicate
    id is an error; each node's Span.file is the path of its file."""
    if isinstance(paths, (str, Path)):  # one path, not a sequence of characters
        paths = [paths]
    files: list[Path] = []
    errors: list[Diagnostic] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*.cedar") if f.is_file()))
        elif p.exists():
            files.append(p)
        else:
            errors.append(Diagnostic(message="no such file or directory", file=str(p)))
    entries: list[tuple[str, Policy]] = []
    known: set[str] = set()
    index = 0
    for f in files:
        text = _read_text(f, errors)
        if text is not None:
            src, policies, errs = _parse_file(text, str(f))
            errors.extend(errs)
            entries.extend(_positional_ids(src, policies, index, known, errors))
            index += len(policies)
    if errors:
        raise CedarError(errors)
    return PolicySet(tuple(entries))


def _read_text(path: Path, errors: list[Diagnostic]) -> str | None:
    """The file's text (a regular file, size-capped, UTF-8: see lang.files);
    a problem is added to `errors`."""
    from cedarscope.lang.files import read_text

    try:
        return read_text(path, "policy file")
    except CedarError as e:
        errors.extend(e.diagnostics)
        return None
