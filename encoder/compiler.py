"""Cedar expressions and policies to Z3 terms, one function per construct.

Every construct yields a `Term`: its static type, its raw value and the
condition under which its evaluation errors.  Strict operators error when any
operand errors; `&&`, `||` and `if` follow Cedar's short-circuit order.  Type
errors that validation would reject are encoded as the errors Cedar's
evaluator raises (statically, from the operand types): `1 + "a"` is a term
that always errors, `1 == "a"` is false.

Sets.  A Set<E> is a Z3 array E -> Bool.  Each test on a symbolic set
(`contains`, `containsAll`, `containsAny`, `isEmpty`, `==`, and `in` on a set
of entities) is stated with Z3's exact array semantics, so a model of the
formula is a model of Cedar's semantics over arbitrary sets: "unsat" is
sound.  Array models may be infinite or lambdas, so for every such test we
also assert, in `well_formed()`, a *witness* that makes the test's outcome
visible on a named element:

    ¬isEmpty(s)        → w ∈ s
    ¬(t ⊆ s)           → w ∈ t ∧ w ∉ s
    s ∩ t ≠ ∅          → w ∈ s ∧ w ∈ t
    s ≠ t              → (w ∈ s) ≠ (w ∈ t)

Each witness is a fresh constant, so these constraints hold in every real
(finite) input: adding them keeps "unsat" sound.  The decoder reads a set as
the finite set {x ∈ E : x is an element term the formula mentions (a member
test, a literal element, a witness) and the model puts x in s}.  Every test
the formula makes has the same outcome on that finite set: membership of a
mentioned term by construction, and the four set-level tests because each
outcome that needs an element to show it has its witness among the mentioned
terms, while the outcomes that say "no such element" stay true on a subset.
So "sat" always decodes to finite sets that reproduce the model's decisions
(tests/test_encoder.py checks both directions).  Set literals keep their
element terms, and tests on them unfold into disjunctions and conjunctions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from cedarscope.encoder import ext, strings
from cedarscope.encoder.direct import and_of, implies, not_of, select
from cedarscope.encoder.symenv import SymEnv
from cedarscope.encoder.terms import (
    BOOL,
    DATETIME,
    DURATION,
    EMPTY_SET,
    FALSE,
    LONG,
    LONG_MIN,
    NEVER,
    STRING,
    TRUE,
    MixedSetType,
    Raw,
    Term,
    TermType,
    Unsupported,
    bad,
    conjunction,
    default_raw,
    disjunction,
    is_entity,
    negation,
    sort_of,
    string_of,
    string_val,
    to_sorted,
)
from cedarscope.encoder.unions import coerce, join, lifted, union_of
from cedarscope.lang import ast
from cedarscope.lang.schema import Attribute, EntityType, RecordType, SetType, StringType
from cedarscope.lang.template import AnyEntity
from cedarscope.lang.values import EntityUID

_and, _or, _not = conjunction, disjunction, negation


def any_entities(p: ast.Policy) -> tuple[AnyEntity, ...]:
    """The unknown link arguments in a template analysed for every link."""
    found = (getattr(s, name, None) for s in (p.principal, p.resource) for name in ("target", "in_target"))
    return tuple(t for t in found if isinstance(t, AnyEntity))


class Compiler:
    def __init__(self, sym: SymEnv):
        self.sym = sym
        self.likes: dict[int, strings.LikeAtom] = {}  # every `like` compiled, by formula id
        self._reads: dict[tuple[int, str], tuple[Term, Term]] = {}  # attributes read (see get_attr)
        self._dispatch: dict[type, Callable[[Any], Term]] = {
            ast.Lit: self.lit, ast.EntityLit: self.entity_lit, ast.Var: self.var,
            ast.Slot: self.slot, ast.Not: self.not_, ast.Neg: self.neg,
            ast.BinaryOp: self.binary, ast.And: self.and_, ast.Or: self.or_,
            ast.If: self.if_, ast.GetAttr: self.get_attr, ast.Has: self.has,
            ast.Like: self.like, ast.Is: self.is_, ast.SetLit: self.set_lit,
            ast.RecordLit: self.record_lit, ast.MethodCall: self.method_call,
            ast.ExtFun: self.ext_fun,
        }

    # ------------------------------------------------------------------
    # Policies

    def policy(self, p: ast.Policy) -> Term:
        """The policy's condition: scope, then each when/unless in order."""
        sym = self.sym
        scope = _and(self.scope(p.principal, sym.principal), self.scope(p.action, sym.action),
                     self.scope(p.resource, sym.resource))
        slots = any_entities(p)
        if slots:  # a template analysed for every link applies only if that link exists
            scope = _and(scope, sym.linked(slots))
        acc = Term(BOOL, scope, FALSE)
        for c in p.conditions:
            body = self.expr(c.body)
            if c.kind == "unless":
                body = self.negate(body)
            acc = self.conjoin(acc, body)
        return acc

    def scope(self, s: ast.Scope, var: Term) -> z3.BoolRef:
        if var is self.sym.action:  # one known action per environment: decided here
            return TRUE if self.sym.action_scope_holds(s) else FALSE
        if isinstance(s, ast.ScopeAny):
            return TRUE
        if isinstance(s, ast.ScopeEq):
            return self.eq(var, self.target(s.target))
        if isinstance(s, ast.ScopeIn):
            return self.in_entity(var, self.target(s.target))
        if isinstance(s, ast.ScopeIs):
            is_t = TRUE if var.ty == EntityType(s.entity_type) else FALSE
            if s.in_target is None:
                return is_t
            return _and(is_t, self.in_entity(var, self.target(s.in_target)))
        raise Unsupported(f"scope {type(s).__name__}")  # (`in [...]` is only an action scope: above)

    def target(self, t: EntityUID | ast.Slot | AnyEntity) -> Term:
        if isinstance(t, ast.Slot):
            return self.slot(t)
        if isinstance(t, AnyEntity):
            return self.sym.any_entity(t)
        self.sym.mention(t)
        return Term(EntityType(t.type), self.sym.ids.val(t), FALSE)

    # ------------------------------------------------------------------
    # Expressions

    def expr(self, e: ast.Expr) -> Term:
        f = self._dispatch.get(type(e))
        if f is None:
            raise Unsupported(f"expression {type(e).__name__}")
        return f(e)

    def lit(self, e: ast.Lit) -> Term:
        v = e.value
        if isinstance(v, bool):
            return Term(BOOL, z3.BoolVal(v), FALSE)
        if isinstance(v, int):
            return Term(LONG, z3.BitVecVal(v, 64), FALSE)
        return Term(STRING, string_val(v), FALSE)

    def entity_lit(self, e: ast.EntityLit) -> Term:
        self.sym.mention(e.uid)
        return Term(EntityType(e.uid.type), self.sym.ids.val(e.uid), FALSE)

    def var(self, e: ast.Var) -> Term:
        return getattr(self.sym, e.name)  # type: ignore[no-any-return]  # SymEnv's principal, ... context: Terms

    def slot(self, e: ast.Slot) -> Term:
        """Templates are linked before they are compiled (lang.template)."""
        raise Unsupported(f"template slot {e.name} is not linked")

    # Boolean connectives ----------------------------------------------

    @lifted
    def negate(self, a: Term) -> Term:
        if a.ty != BOOL:
            return bad(BOOL)
        return Term(BOOL, _not(a.val), a.err)

    def not_(self, e: ast.Not) -> Term:
        return self.negate(self.expr(e.arg))

    @lifted
    def conjoin(self, a: Term, b: Term) -> Term:
        """`a && b`: b is evaluated (and type-checked) only when a is true."""
        if a.ty != BOOL:
            return Term(BOOL, FALSE, TRUE)
        b_err = TRUE if b.ty != BOOL else b.err
        b_val = b.val if b.ty == BOOL else FALSE
        return Term(BOOL, _and(a.val, b_val), _or(a.err, _and(a.val, b_err)))

    @lifted
    def disjoin(self, a: Term, b: Term) -> Term:
        """`a || b`: b is evaluated only when a is false."""
        if a.ty != BOOL:
            return Term(BOOL, FALSE, TRUE)
        b_err = TRUE if b.ty != BOOL else b.err
        b_val = b.val if b.ty == BOOL else FALSE
        return Term(BOOL, _or(a.val, b_val), _or(a.err, _and(_not(a.val), b_err)))

    def and_(self, e: ast.And) -> Term:
        return self.conjoin(self.expr(e.left), self.expr(e.right))

    def or_(self, e: ast.Or) -> Term:
        return self.disjoin(self.expr(e.left), self.expr(e.right))

    def if_(self, e: ast.If) -> Term:
        return self.if_then_else(self.expr(e.cond), self.expr(e.then_), self.expr(e.else_))

    @lifted
    def if_then_else(self, c: Term, t: Term, f: Term) -> Term:
        """Only the branch taken is evaluated."""
        if c.ty != BOOL:
            return bad(NEVER)
        return union_of([(c.val, Term(t.ty, t.val, _or(c.err, t.err), t.lits)),
                              (_not(c.val), Term(f.ty, f.val, _or(c.err, f.err), f.lits))])

    # Arithmetic and comparison ------------------------------------------

    def neg(self, e: ast.Neg) -> Term:
        return self.negative(self.expr(e.arg))

    @lifted
    def negative(self, a: Term) -> Term:
        if a.ty != LONG:
            return bad(LONG)
        return Term(LONG, -a.val, _or(a.err, a.val == LONG_MIN))

    def binary(self, e: ast.BinaryOp) -> Term:
        return self.binop(e.op, self.expr(e.left), self.expr(e.right))

    @lifted
    def binop(self, op: str, a: Term, b: Term) -> Term:
        if op == "==":
            return Term(BOOL, self.eq(a, b), _or(a.err, b.err))
        if op == "!=":
            return Term(BOOL, _not(self.eq(a, b)), _or(a.err, b.err))
        if op == "in":
            return self.in_(a, b)
        if op in ("<", "<=", ">", ">="):
            return self.compare(op, a, b)
        return self.arith(op, a, b)

    def arith(self, op: str, a: Term, b: Term) -> Term:
        """`+ - *` on Longs, erroring on 64-bit overflow."""
        err = _or(a.err, b.err)
        if a.ty != LONG or b.ty != LONG:
            return bad(LONG)
        x, y = a.val, b.val
        if op == "+":
            ok = z3.And(z3.BVAddNoOverflow(x, y, True), z3.BVAddNoUnderflow(x, y))
            return Term(LONG, x + y, _or(err, z3.Not(ok)))
        if op == "-":
            ok = z3.And(z3.BVSubNoOverflow(x, y), z3.BVSubNoUnderflow(x, y, True))
            return Term(LONG, x - y, _or(err, z3.Not(ok)))
        if op == "*":
            ok = z3.And(z3.BVMulNoOverflow(x, y, True), z3.BVMulNoUnderflow(x, y))
            return Term(LONG, x * y, _or(err, z3.Not(ok)))
        raise Unsupported(f"operator {op}")

    def compare(self, op: str, a: Term, b: Term) -> Term:
        """`< <= > >=` on two Longs, two datetimes or two durations."""
        if a.ty != b.ty or a.ty not in (LONG, DATETIME, DURATION):
            return bad(BOOL)
        x, y = a.val, b.val
        val = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        return Term(BOOL, val, _or(a.err, b.err))

    # Equality -------------------------------------------------------------

    def eq(self, a: Term, b: Term) -> z3.BoolRef:
        return self.eq_raw(a.ty, a.val, b.ty, b.val, a.lits, b.lits)

    def eq_raw(self, ta: TermType, va: Raw, tb: TermType, vb: Raw, la: tuple[Any, ...] | None = None,
               lb: tuple[Any, ...] | None = None) -> z3.BoolRef:
        """Cedar's `==` on two raw values (values of different types are
        unequal; empty sets of any element type are equal)."""
        if ta == NEVER or tb == NEVER:
            return FALSE
        if isinstance(ta, RecordType) and isinstance(tb, RecordType):
            return self.record_eq(ta, va, tb, vb)
        if isinstance(ta, MixedSetType) or isinstance(tb, MixedSetType):
            if not isinstance(ta, (SetType, MixedSetType)) or not isinstance(tb, (SetType, MixedSetType)):
                return FALSE
            pa, pb = self.parts(Term(ta, va, FALSE, la)), self.parts(Term(tb, vb, FALSE, lb))
            return _and(*[self.eq_raw(SetType(k), pa[k].val if k in pa else default_raw(SetType(k)),
                                      SetType(k), pb[k].val if k in pb else default_raw(SetType(k)),
                                      pa[k].lits if k in pa else (), pb[k].lits if k in pb else ())
                          for k in sorted(set(pa) | set(pb), key=str)])
        if isinstance(ta, SetType) and isinstance(tb, SetType):
            if ta.elem != tb.elem or ta.elem == NEVER:
                return _and(self.empty(ta, va, la), self.empty(tb, vb, lb))
            return self.set_eq(ta, va, vb)
        if ta != tb:
            return FALSE
        r = va == vb
        constant = z3.is_string_value if isinstance(ta, StringType) else z3.is_int_value
        return z3.simplify(r) if constant(va) and constant(vb) else r

    def record_eq(self, ta: RecordType, va: dict[str, tuple[z3.BoolRef, Raw]], tb: RecordType,
                  vb: dict[str, tuple[z3.BoolRef, Raw]]) -> z3.BoolRef:
        parts = []
        for k in sorted({k for k, _ in ta.attrs} | {k for k, _ in tb.attrs}):
            x, y = ta.get(k), tb.get(k)
            if x is None:
                parts.append(_not(vb[k][0]))
            elif y is None:
                parts.append(_not(va[k][0]))
            else:
                pa, pb = va[k][0], vb[k][0]
                same = self.eq_raw(x.type, va[k][1], y.type, vb[k][1])
                parts.append(_and(pa == pb if not (z3.is_true(pa) and z3.is_true(pb)) else TRUE,
                                  _or(_not(pa), same)))
        return _and(*parts)

    def set_eq(self, ty: SetType, a: z3.ArrayRef, b: z3.ArrayRef) -> z3.BoolRef:
        eq = a == b
        w = self.sym.witness(ty.elem)
        wz = to_sorted(ty.elem, w)
        self.sym.witnessed.append(implies(not_of(eq), select(a, wz) != select(b, wz)))
        return eq

    # Sets -------------------------------------------------------------------

    def set_lit(self, e: ast.SetLit) -> Term:
        return self.set_of(*[self.expr(x) for x in e.elems])

    @lifted
    def set_of(self, *elems: Term) -> Term:
        """The set of the elements' values."""
        err = _or(*[x.err for x in elems])
        tys = {x.ty for x in elems if x.ty != NEVER}
        if any(x.ty == NEVER for x in elems):
            return bad(EMPTY_SET)
        if not tys:
            return Term(EMPTY_SET, default_raw(EMPTY_SET), err, ())
        try:
            ty = tys.pop()
            while tys:
                ty = join(ty, tys.pop())
        except Unsupported:
            kinds = tuple(sorted({x.ty for x in elems}, key=str))
            return Term(MixedSetType(kinds), None, err, tuple((x.ty, x.val) for x in elems))
        vals = tuple(coerce(x, ty) for x in elems)
        arr = z3.K(sort_of(ty), FALSE)
        for v in vals:
            self.sym.element(ty, v)  # a set equal to this one has these members
            arr = z3.Store(arr, to_sorted(ty, v), TRUE)
        return Term(SetType(ty), arr, err, vals)

    def parts(self, s: Term) -> dict[TermType, Term]:
        """A set as one typed set per element type (a mixed literal splits
        into one literal per type)."""
        if isinstance(s.ty, SetType):
            return {} if s.ty.elem == NEVER and s.lits == () else {s.ty.elem: s}
        groups: dict[TermType, list[Raw]] = {}
        assert s.lits is not None  # a set of literals, its type not yet one SetType
        for ty, v in s.lits:
            groups.setdefault(ty, []).append(v)
        out = {}
        for ty, vals in groups.items():
            arr = z3.K(sort_of(ty), FALSE)
            for v in vals:
                self.sym.element(ty, v)
                arr = z3.Store(arr, to_sorted(ty, v), TRUE)
            out[ty] = Term(SetType(ty), arr, FALSE, tuple(vals))
        return out

    def member(self, s: Term, ty: TermType, x: Raw) -> z3.BoolRef:
        """x (of type ty) ∈ s."""
        if isinstance(s.ty, MixedSetType):
            return _or(*[self.member(p, ty, x) for p in self.parts(s).values()])
        elem = s.ty.elem
        if elem == NEVER:
            return FALSE
        if s.lits is not None:
            return _or(*[self.eq_raw(ty, x, elem, v) for v in s.lits])
        if ty != elem:
            try:
                joined = join(ty, elem)
            except Unsupported:
                if isinstance(ty, SetType) and isinstance(elem, SetType):
                    raise Unsupported(f"membership of a {ty} in a set of {elem}") from None
                return FALSE  # values of unrelated types are never equal
            if joined != elem:
                raise Unsupported(f"membership of a {ty} in a set of {elem}")
            x, ty = coerce(Term(ty, x, FALSE), elem), elem
        self.sym.element(ty, x)
        return select(s.val, to_sorted(ty, x))

    def empty(self, ty: SetType, v: z3.ArrayRef, lits: tuple[Any, ...] | None = None) -> z3.BoolRef:
        if lits is not None or isinstance(ty, MixedSetType):
            return z3.BoolVal(len(lits) == 0)  # type: ignore[arg-type]  # a mixed set is a literal: lits is set
        if ty.elem == NEVER:
            return TRUE
        empty = v == z3.K(sort_of(ty.elem), FALSE)  # else a witness, some element, is in v:
        self.sym.witnessed.append(implies(not_of(empty), select(v, to_sorted(ty.elem, self.sym.witness(ty.elem)))))
        return empty

    def subset(self, t: Term, s: Term) -> z3.BoolRef:
        """t ⊆ s"""
        if isinstance(s.ty, MixedSetType) and t.lits is None:
            ps = self.parts(s)
            return self.subset(t, ps[t.ty.elem]) if t.ty.elem in ps else self.empty(t.ty, t.val)
        if t.lits is not None:
            if isinstance(t.ty, MixedSetType):
                return _and(*[self.member(s, ty, x) for ty, x in t.lits])
            return _and(*[self.member(s, t.ty.elem, x) for x in t.lits])
        if t.ty.elem != s.ty.elem or s.ty.elem == NEVER:
            return self.empty(t.ty, t.val)
        sub = z3.IsSubset(t.val, s.val)
        w = self.sym.witness(t.ty.elem)
        wz = to_sorted(t.ty.elem, w)
        self.sym.witnessed.append(implies(not_of(sub), and_of(select(t.val, wz), not_of(select(s.val, wz)))))
        return sub

    def intersects(self, s: Term, t: Term) -> z3.BoolRef:
        """s ∩ t ≠ ∅"""
        if isinstance(s.ty, MixedSetType) or isinstance(t.ty, MixedSetType):
            ps, pt = self.parts(s), self.parts(t)
            return _or(*[self.intersects(ps[k], pt[k]) for k in ps if k in pt])
        if t.lits is not None:
            return _or(*[self.member(s, t.ty.elem, x) for x in t.lits])
        if s.lits is not None:
            return _or(*[self.member(t, s.ty.elem, x) for x in s.lits])
        if t.ty.elem != s.ty.elem:
            return FALSE
        elem = s.ty.elem
        if elem == NEVER:
            return FALSE
        any_ = z3.Not(z3.SetIntersect(s.val, t.val) == z3.K(sort_of(elem), FALSE))
        w = self.sym.witness(elem)
        wz = to_sorted(elem, w)
        self.sym.witnessed.append(implies(any_, and_of(select(s.val, wz), select(t.val, wz))))
        return any_

    # Hierarchy --------------------------------------------------------------

    def in_(self, a: Term, b: Term) -> Term:
        """`a in b`: b an entity or a set of entities."""
        err = _or(a.err, b.err)
        if not is_entity(a):
            return bad(BOOL)
        if is_entity(b):
            return Term(BOOL, self.in_entity(a, b), err)
        if isinstance(b.ty, MixedSetType):
            ps = self.parts(b)
            if any(not isinstance(k, EntityType) for k in ps):
                return bad(BOOL)  # a literal with a non-entity element
            return Term(BOOL, _or(*[self.in_set(a, p) for p in ps.values()]), err)
        if isinstance(b.ty, SetType):
            if b.ty.elem == NEVER:
                return Term(BOOL, FALSE, err)
            if not isinstance(b.ty.elem, EntityType):
                # every element is type-checked: an error unless the set is empty
                return Term(BOOL, FALSE, _or(err, _not(self.empty(b.ty, b.val, b.lits))))
            return Term(BOOL, self.in_set(a, b), err)
        return bad(BOOL)

    def in_entity(self, a: Term, b: Term) -> z3.BoolRef:
        """a == b, or b is an ancestor of a."""
        sym = self.sym
        ta, tb = a.ty.name, b.ty.name
        if ta in sym.action_types:
            return self.action_in(a, b)
        same = self.eq(a, b) if ta == tb else FALSE
        anc = sym.ancestors(ta, a.val, tb)
        if anc is None:
            return same
        sym.element(b.ty, b.val)
        return _or(same, select(anc, b.val))

    def action_in(self, a: Term, b: Term) -> z3.BoolRef:
        """`in` on actions: the schema's action groups, by cases over the
        declared actions when either side is not a constant."""
        sym = self.sym
        ta, tb = a.ty.name, b.ty.name
        ids = sym.ids
        if z3.is_int_value(a.val) and z3.is_int_value(b.val):
            ida, idb = ids.id_of(ta, a.val), ids.id_of(tb, b.val)
            return z3.BoolVal(ta == tb and ida is not None and idb is not None
                              and sym.action_in(EntityUID(ta, ida), EntityUID(tb, idb)))
        cases = [self.eq(a, b) if ta == tb else FALSE]
        for x, groups in sorted(sym.action_ancestors.items()):
            targets = sorted(g for g in groups if g.type == tb)
            if x.type == ta and targets:
                cases.append(_and(a.val == ids.val(x), _or(*[b.val == ids.val(g) for g in targets])))
        return _or(*cases)

    def in_set(self, a: Term, s: Term) -> z3.BoolRef:
        """a in some element of the set of entities s."""
        if s.lits is not None:
            return _or(*[self.in_entity(a, Term(s.ty.elem, x, FALSE)) for x in s.lits])
        tb = s.ty.elem.name
        if a.ty.name in self.sym.action_types:
            raise Unsupported("`in` on a symbolic set of actions")
        same = self.member(s, a.ty, a.val) if a.ty == s.ty.elem else FALSE
        anc = self.sym.ancestors(a.ty.name, a.val, tb)
        if anc is None:
            return same
        return _or(same, self.intersects(Term(s.ty, anc, FALSE), s))

    # Attributes -------------------------------------------------------------

    def get_attr(self, e: ast.GetAttr) -> Term:
        x = self.expr(e.expr)  # the same term read at the same attribute is the same term: read once
        found = self._reads.get((id(x), e.attr))
        if found is None:  # (the entry keeps x alive: its id stays its own)
            found = self._reads[(id(x), e.attr)] = (x, self.attr_of(x, e.attr))
        return found[1]

    @lifted
    def attr_of(self, x: Term, name: str) -> Term:
        if is_entity(x):
            found = self.sym.attribute(x.ty.name, x.val, name)
            if found is None:
                return bad(NEVER)
            present, val, ty = found
            exists = self.sym.exists(x.ty.name, x.val)
            return Term(ty, val, _or(x.err, _not(exists), _not(present)))
        if isinstance(x.ty, RecordType):
            a = x.ty.get(name)
            if a is None:
                return bad(NEVER)
            present, val = x.val[name]
            return Term(a.type, val, _or(x.err, _not(present)))
        return bad(NEVER)

    @lifted
    def has_one(self, x: Term, name: str) -> Term:
        if is_entity(x):
            found = self.sym.attribute(x.ty.name, x.val, name)
            if found is None:
                return Term(BOOL, FALSE, x.err)
            return Term(BOOL, _and(self.sym.exists(x.ty.name, x.val), found[0]), x.err)
        if isinstance(x.ty, RecordType):
            return Term(BOOL, x.val[name][0] if x.ty.get(name) else FALSE, x.err)
        return bad(BOOL)

    def has(self, e: ast.Has) -> Term:
        """`e has a.b.c` means `e has a && e.a has b && e.a.b has c`."""
        x = self.expr(e.expr)
        acc = self.has_one(x, e.attrs[0])
        cur = x
        for prev, name in zip(e.attrs, e.attrs[1:], strict=False):
            cur = self.attr_of(cur, prev)
            acc = self.conjoin(acc, self.has_one(cur, name))
        return acc

    # Strings and types ------------------------------------------------------

    def like(self, e: ast.Like) -> Term:
        return self.like_term(self.expr(e.expr), e.pattern)

    @lifted
    def like_term(self, x: Term, pattern: tuple[ast.PatternElem, ...]) -> Term:
        if x.ty != STRING:
            return bad(BOOL)
        atom = strings.like_atom(x.val, pattern)
        if atom is None:
            return Term(BOOL, z3.simplify(strings.like(x.val, pattern)), x.err)
        self.likes.setdefault(atom.formula.get_id(), atom)
        return Term(BOOL, atom.formula, x.err)

    def is_(self, e: ast.Is) -> Term:
        x = self.expr(e.expr)
        target = self.expr(e.in_expr) if e.in_expr is not None else None
        return self.is_term(x, e.entity_type, target)

    @lifted
    def is_term(self, x: Term, entity_type: str, target: Term | None) -> Term:
        if not is_entity(x):
            return bad(BOOL)
        t = Term(BOOL, z3.BoolVal(x.ty.name == entity_type), x.err)
        if target is None:
            return t
        return self.conjoin(t, self.in_(x, target))

    def record_lit(self, e: ast.RecordLit) -> Term:
        return self.record_of(tuple(k for k, _ in e.fields), *[self.expr(v) for _, v in e.fields])

    @lifted
    def record_of(self, keys: tuple[str, ...], *vals: Term) -> Term:
        """The record of the attributes' values."""
        fields = list(zip(keys, vals, strict=False))
        err = _or(*[t.err for _, t in fields])
        if any(t.ty == NEVER for _, t in fields):
            return bad(NEVER)
        ty = RecordType(tuple(sorted((k, Attribute(t.ty)) for k, t in fields)))
        return Term(ty, {k: (TRUE, t.val) for k, t in fields}, err)

    # Methods ----------------------------------------------------------------

    def method_call(self, e: ast.MethodCall) -> Term:
        recv = self.expr(e.receiver)
        args = [self.expr(a) for a in e.args]
        return self.call(e.name, recv, *args)

    @lifted
    def call(self, name: str, recv: Term, *args: Term) -> Term:
        err = _or(recv.err, *[a.err for a in args])
        if name in _METHODS:
            arity, recv_ok, method = _METHODS[name]
            fn = getattr(self, method)
        elif name in ext.METHODS:
            arity, recv_ok, fn = ext.METHODS[name]
        else:
            raise Unsupported(f"method {name}")
        if len(args) != arity or not recv_ok(recv.ty):
            return bad(NEVER)
        ty, val, extra_err = fn(recv, *args)
        if val is None:
            return bad(ty)
        return Term(ty, val, _or(err, extra_err))

    def contains(self, s: Term, x: Term) -> ext.Encoded:
        if x.ty == NEVER:
            return BOOL, FALSE, TRUE
        return BOOL, self.member(s, x.ty, x.val), FALSE

    def contains_all(self, s: Term, t: Term) -> ext.Encoded:
        if not _is_set(t.ty):
            return BOOL, None, TRUE
        return BOOL, self.subset(t, s), FALSE

    def contains_any(self, s: Term, t: Term) -> ext.Encoded:
        if not _is_set(t.ty):
            return BOOL, None, TRUE
        return BOOL, self.intersects(s, t), FALSE

    def is_empty(self, s: Term) -> ext.Encoded:
        return BOOL, self.empty(s.ty, s.val, s.lits), FALSE

    def has_tag(self, x: Term, k: Term) -> ext.Encoded:
        if k.ty != STRING:
            return BOOL, None, TRUE
        return BOOL, self.sym.has_tag(x.ty.name, x.val, k.val), FALSE

    def get_tag(self, x: Term, k: Term) -> ext.Encoded:
        if k.ty != STRING:
            return NEVER, None, TRUE
        tty = self.sym.tags_type(x.ty.name)
        if tty is None:
            return NEVER, None, TRUE
        has = self.sym.has_tag(x.ty.name, x.val, k.val)
        return tty, self.sym.get_tag(x.ty.name, x.val, k.val), _not(has)

    # Extension functions and methods --------------------------------------

    def ext_fun(self, e: ast.ExtFun) -> Term:
        args = [self.expr(a) for a in e.args]
        if e.name in ext.CONSTRUCTORS:
            return self.construct(e.name, *args)
        if (e.name in _METHODS or e.name in ext.METHODS) and args:
            return self.call(e.name, *args)
        raise Unsupported(f"extension function {e.name}")

    @lifted
    def construct(self, name: str, *args: Term) -> Term:
        """decimal("..."), ip("..."), datetime("..."), duration("...")."""
        import cedarscope.lang.values as lv

        ty, cls = ext.CONSTRUCTORS[name]
        err = _or(*[a.err for a in args])
        if len(args) != 1 or args[0].ty != STRING:
            return bad(ty)
        s = z3.simplify(args[0].val)
        if not z3.is_string_value(s):
            ok, val = self.sym.ext_parse(name, ty, cls, s)
            return Term(ty, val, _or(err, _not(ok)))
        try:
            v = getattr(lv, cls).parse(string_of(s))
        except ValueError:
            return bad(ty)
        return Term(ty, ext.ext_raw(v), err)


# -------------------------------------------------------------------------
# Methods: Cedar's name -> (arity, receiver check, Compiler method name);
# the extension types' methods are in encoder.ext.


def _is_set(t: TermType) -> bool:
    return isinstance(t, (SetType, MixedSetType))


def _is_entity_type(t: TermType) -> bool:
    return isinstance(t, EntityType)


_METHODS: dict[str, tuple[int, Callable[[TermType], bool], str]] = {
    "contains": (1, _is_set, "contains"),
    "containsAll": (1, _is_set, "contains_all"),
    "containsAny": (1, _is_set, "contains_any"),
    "isEmpty": (0, _is_set, "is_empty"),
    "hasTag": (1, _is_entity_type, "has_tag"),
    "getTag": (1, _is_entity_type, "get_tag"),
}
