"""Union types: the value of `if c then x else y` when x and y have
unrelated types, and operations lifted over them.

Cedar's `if` may return values of different types from its two branches
(validation rejects that; the encoder must still be exact without it).  A
term of a `UnionType` holds one alternative per type, each under a guard;
`lifted` applies an operation to each alternative and joins the results,
and where the types join (records attribute-wise, `[]` with any set) the
alternatives merge into one term of the joined type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import z3

from cedarscope.encoder.terms import (
    FALSE,
    NEVER,
    TRUE,
    MixedSetType,
    Raw,
    Term,
    TermType,
    Unsupported,
    conjunction,
    default_raw,
    disjunction,
    is_false,
    ite,
)
from cedarscope.lang.schema import Attribute, RecordType, SetType

_and, _or, _ite = conjunction, disjunction, ite

_Operation = TypeVar("_Operation", bound=Callable[..., Term])


@dataclass(frozen=True)
class UnionType:
    """The type of `if c then x else y` when x and y have unrelated types.
    Its raw value is a list of (guard, Term) alternatives: exactly one guard
    holds, and the alternatives carry no error of their own."""

    alts: tuple[TermType, ...]

    def __str__(self) -> str:
        return " | ".join(map(str, self.alts))


def lifted(fn: _Operation) -> _Operation:
    """Apply a term-level operation to each alternative of union-typed
    arguments and join the results.  Each alternative inherits the error of
    its union, so short-circuiting operations still see it in the right
    place."""

    @functools.wraps(fn)
    def wrapper(self: object, *args: Any) -> Term:  # args: the operation's, terms among them
        if not any(isinstance(a, Term) and isinstance(a.ty, UnionType) for a in args):
            return fn(self, *args)
        combos: list[tuple[tuple[Any, ...], Any]] = [((), TRUE)]
        for a in args:
            if isinstance(a, Term) and isinstance(a.ty, UnionType):
                alts = [(g, Term(t.ty, t.val, a.err, t.lits)) for g, t in a.val]
            else:
                alts = [(TRUE, a)]
            combos = [(xs + (x,), _and(g, h)) for xs, g in combos for h, x in alts]
        return union_of([(g, fn(self, *xs)) for xs, g in combos])

    return cast(_Operation, wrapper)  # wrapper takes fn's arguments and returns a Term


def union_of(results: list[tuple[z3.BoolRef, Term]]) -> Term:
    """The term that is results[i] when its guard holds (the guards are
    exhaustive and exclusive): one type where the types join, else a
    union."""
    err = _or(*[_and(g, r.err) for g, r in results])
    alts, never = [], []
    for g, r in results:
        if is_false(g):
            continue
        for h, t in (r.val if isinstance(r.ty, UnionType) else [(TRUE, r)]):
            gh = _and(g, h)
            if is_false(gh):
                continue
            if t.ty == NEVER:
                never.append(gh)  # erroring cases: kept so the guards stay exhaustive
            else:
                alts.append((gh, Term(t.ty, t.val, FALSE, t.lits)))
    if not alts:
        return Term(NEVER, None, err)
    if len(alts) == 1:
        return Term(alts[0][1].ty, alts[0][1].val, err, alts[0][1].lits)
    try:
        if any(isinstance(t.ty, MixedSetType) for _, t in alts):
            raise Unsupported("mixed sets are kept as literals")
        ty = alts[0][1].ty
        for _, t in alts[1:]:
            ty = join(ty, t.ty)
    except Unsupported:
        groups: dict[TermType, list[tuple[z3.BoolRef, Term]]] = {}
        for g, t in alts:
            groups.setdefault(t.ty, []).append((g, t))
        merged = [(_or(*[g for g, _ in grp]), union_of(grp)) for grp in groups.values()]
        if never:
            merged.append((_or(*never), Term(NEVER, None, FALSE)))
        return Term(UnionType(tuple(sorted(groups, key=str))), merged, err)
    val = coerce(alts[-1][1], ty)
    for g, t in reversed(alts[:-1]):
        val = merge_raw(g, ty, coerce(t, ty), val)
    return Term(ty, val, err)


def join(a: TermType, b: TermType) -> TermType:
    """The least type holding values of both types (records join
    attribute-wise, an attribute missing on one side becoming optional)."""
    if a == b:
        return a
    if isinstance(a, SetType) and isinstance(b, SetType):
        if a.elem == NEVER:
            return b
        if b.elem == NEVER:
            return a
    if isinstance(a, RecordType) and isinstance(b, RecordType):
        attrs = {}
        for k in sorted({k for k, _ in a.attrs} | {k for k, _ in b.attrs}):
            x, y = a.get(k), b.get(k)
            if x and y:
                attrs[k] = Attribute(join(x.type, y.type), x.required and y.required)
            else:
                only = x or y
                assert only is not None  # k is an attribute of a or b
                attrs[k] = Attribute(only.type, False)
        return RecordType(tuple(attrs.items()))
    raise Unsupported(f"no common type for {a} and {b}")


def coerce(t: Term, ty: TermType) -> Raw:
    """t's raw value seen at the (joined) type ty."""
    if t.ty == ty:
        return t.val
    if isinstance(ty, SetType):
        return default_raw(ty)  # t is `[]`
    if isinstance(ty, RecordType):
        out = {}
        for k, a in ty.attrs:
            if t.ty.get(k) is not None:
                present, v = t.val[k]
                out[k] = (present, coerce(Term(t.ty.get(k).type, v, FALSE), a.type))
            else:
                out[k] = (FALSE, default_raw(a.type))
        return out
    raise Unsupported(f"value of type {t.ty} at type {ty}")


def merge_raw(c: z3.BoolRef, ty: TermType, a: Raw, b: Raw) -> Raw:
    """The raw value that is a when c holds, else b (records attribute-wise)."""
    if isinstance(ty, RecordType):
        return {k: (_ite(c, a[k][0], b[k][0]), merge_raw(c, at.type, a[k][1], b[k][1]))
                for k, at in ty.attrs}
    return _ite(c, a, b)

