"""Building the AST in the parser's rule callbacks, with the checks Cedar
makes after its own parse."""

from __future__ import annotations

import dataclasses

from lark import Token, Transformer

from cedarscope.lang.ast import (
    ActionInSet,
    And,
    Annotation,
    BinaryOp,
    Condition,
    EntityLit,
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
from cedarscope.lang.diagnostics import Diagnostic
from cedarscope.lang.parser.strings import EscapeError, unescape_pattern, unescape_string
from cedarscope.lang.parser.vocabulary import (
    CONDITION_KINDS,
    CORE_METHOD_ARITY,
    EFFECTS,
    EXTENSION_FUNCTIONS,
    EXTENSION_METHODS,
    MAX_DEPTH,
    MAX_UNARY_OPS,
    RESERVED,
    RESERVED_NAMESPACE,
    SCOPE_VARIABLES,
    VARIABLES,
)
from cedarscope.lang.values import LONG_MAX, EntityUID

# Building the AST


class Abort(Exception):
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


class Source:
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


class Builder(Transformer):
    """Rule callbacks: each builds the AST node of one Cedar construct.

    Non-fatal problems are recorded in `errors` and building goes on, so one
    policy can report several; `Abort` stops the policy (nesting too deep).
    """

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.src: Source = Source("", "<input>")
        self.errors: list[Diagnostic] = []
        self._depth: dict[int, tuple[int, object]] = {}
        self._bare_ints: set[int] = set()       # ids of Lits written as bare INT tokens
        self._pending_big: dict[int, Lit] = {}  # 2^63 literals not (yet) negated

    # -- positions -----------------------------------------------------------

    def begin(self, src: Source) -> None:
        self.src = src
        self._depth.clear()
        self._bare_ints.clear()
        self._pending_big.clear()

    # Tokens carry file positions (see cedar_tokens).

    @staticmethod
    def _tok_start(t: Token) -> tuple[int, int, int]:
        return t.line, t.column, t.start_pos  # type: ignore[return-value]  # cedar_tokens sets them all

    @staticmethod
    def _tok_end(t: Token) -> tuple[int, int, int]:
        return t.end_line, t.end_column, t.end_pos  # type: ignore[return-value]  # cedar_tokens sets them all

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
            raise Abort()
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
        except EscapeError as e:
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
        value = int(digits)
        lit = Lit(value, span=self.span(tok))
        self._bare_ints.add(id(lit))
        self._depth[id(lit)] = (1, lit)
        if value > LONG_MAX:  # only valid as the operand of a unary `-`
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
