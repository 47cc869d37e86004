"""Z3 terms made directly through Z3's C interface: the same terms z3py's
functions make, without their argument checks and coercions.

The compiler makes hundreds of terms per policy, and in z3py most of the
time of each goes to checking and wrapping, not to Z3 (a tags_n_roles policy
made ~1,400 calls into Z3 of which ~170 built terms).  These builders take
terms that already have the right sorts (the compiler's types guarantee
it) and make each with one call; Z3 still rejects a sort error, which the
binding raises as z3.Z3Exception.  Every intermediate is held by a z3py
object, so Z3's reference counting keeps it alive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import z3

_ASTS = [z3.Ast * n for n in range(9)]  # ctypes array types, made once


def _asts(terms: Sequence[z3.ExprRef]) -> Any:
    """The terms' nodes as the C array Z3's n-ary builders take."""
    n = len(terms)
    return (_ASTS[n] if n < len(_ASTS) else z3.Ast * n)(*[t.ast for t in terms])


def connective(make: Callable[..., z3.Ast], bs: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.And or z3.Or of Boolean terms of one context, made directly."""
    for b in bs:
        if not isinstance(b, z3.BoolRef):
            return (z3.And if make is z3.Z3_mk_and else z3.Or)(bs)
    ctx = bs[0].ctx
    return z3.BoolRef(make(ctx.ref(), len(bs), _asts(bs)), ctx)


def implies(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    """z3.Implies, made directly (the same term)."""
    ctx = a.ctx
    return z3.BoolRef(z3.Z3_mk_implies(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def ite(c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
    """z3.If(c, a, b) for a and b of one sort, made directly (the same term,
    in the z3py class of its sort: never a numeral's)."""
    wrap = z3.BoolRef if isinstance(a, z3.BoolRef) else _wrap_of(a.sort())
    if wrap is None:
        return z3.If(c, a, b)
    ctx = c.ctx
    return wrap(z3.Z3_mk_ite(ctx.ref(), c.as_ast(), a.as_ast(), b.as_ast()), ctx)


def not_of(b: z3.BoolRef) -> z3.BoolRef:
    """z3.Not, made directly (the same term, nothing folded)."""
    return z3.BoolRef(z3.Z3_mk_not(b.ctx_ref(), b.as_ast()), b.ctx)


def and_of(*bs: z3.BoolRef) -> z3.BoolRef:
    """z3.And of two or more Booleans, made directly (the same term, nothing folded)."""
    return connective(z3.Z3_mk_and, list(bs))


def select(array: z3.ArrayRef, index: z3.ExprRef) -> z3.BoolRef:
    """z3.Select on a set (an array to Bool), made directly: the compiler
    tests membership in every set it reads."""
    ctx = array.ctx
    return z3.BoolRef(z3.Z3_mk_select(ctx.ref(), array.as_ast(), index.as_ast()), ctx)


def is_true_in(model: z3.ModelRef, b: z3.BoolRef) -> bool:
    """z3.is_true(model.eval(b, model_completion=True)), without wrapping the
    value in a z3py object: the lazy `like` procedure evaluates every test
    in every model it checks."""
    ctx = b.ctx_ref()
    value = _ASTS[1]()
    if not z3.Z3_model_eval(ctx, model.model, b.as_ast(), True, value):
        raise z3.Z3Exception("failed to evaluate expression in the model")
    return bool(z3.Z3_get_bool_value(ctx, value[0]) == z3.Z3_L_TRUE)


def translated(e: z3.ExprRef, ctx: z3.Context) -> z3.ExprRef:
    """e.translate(ctx): the same term in context ctx, with e's z3py class
    (a translation keeps the sort, and a numeral stays one)."""
    return type(e)(z3.Z3_translate(e.ctx.ref(), e.as_ast(), ctx.ref()), ctx)


# --------------------------------------------------------------------------
# Store functions (encoder.symenv)

# The z3py class of a constant or of an uninterpreted function's
# applications, by its sort (never a numeral; None: let z3py choose).
_WRAPS: tuple[tuple[type, type], ...] = (
    (z3.BoolSortRef, z3.BoolRef), (z3.ArraySortRef, z3.ArrayRef), (z3.BitVecSortRef, z3.BitVecRef),
    (z3.SeqSortRef, z3.SeqRef), (z3.ArithSortRef, z3.ArithRef), (z3.DatatypeSortRef, z3.DatatypeRef))


def _wrap_of(sort: z3.SortRef) -> type | None:
    return next((cls for s, cls in _WRAPS if isinstance(sort, s)), None)


def const(name: str, sort: z3.SortRef) -> z3.ExprRef:
    """z3.Const(name, sort)."""
    wrap = _wrap_of(sort)
    if wrap is None:
        return z3.Const(name, sort)
    ctx = sort.ctx
    return wrap(z3.Z3_mk_const(ctx.ref(), z3.to_symbol(name, ctx), sort.ast), ctx)


def apply(f: z3.FuncDeclRef, args: tuple[z3.ExprRef, ...], rsort: z3.SortRef) -> z3.ExprRef:
    """f(*args), f's range being rsort."""
    wrap = _wrap_of(rsort)
    if wrap is None:
        return f(*args)
    ctx = f.ctx
    return wrap(z3.Z3_mk_app(ctx.ref(), f.ast, len(args), _asts(args)), ctx)


# Declarations by (symbol, domain, range): Z3 interns them, so this is the
# very declaration z3.Function would make; kept because every encoding of an
# environment declares the same ones.  Keyed by the sorts' nodes, which the
# declaration keeps alive (so they stay theirs).
_DECLARED: dict[tuple[str, tuple[int, ...], int], z3.FuncDeclRef] = {}
_DECLARED_MAX = 4096


def declared(name: str, args: tuple[z3.ExprRef, ...], rsort: z3.SortRef) -> z3.FuncDeclRef:
    """z3.Function(name, *(a.sort() for a in args), rsort)."""
    ctx = rsort.ctx
    c = ctx.ref()
    domain = [z3.Z3_get_sort(c, a.as_ast()) for a in args]
    key = (name, tuple(d.value for d in domain), rsort.ast.value)
    f = _DECLARED.get(key)
    if f is None:
        if len(_DECLARED) >= _DECLARED_MAX:
            _DECLARED.clear()
        sorts = (z3.Sort * len(domain))(*domain)
        f = _DECLARED[key] = z3.FuncDeclRef(
            z3.Z3_mk_func_decl(c, z3.to_symbol(name, ctx), len(domain), sorts, rsort.ast), ctx)
    return f


# --------------------------------------------------------------------------
# Readable-model preferences


def short_printable(v: z3.SeqRef) -> z3.BoolRef:
    """z3.And(z3.Length(v) <= 12, z3.InRe(v, z3.Star(z3.Range(" ", "~"))))."""
    return _short_in(v, _printable())


def short_alphanumeric(v: z3.SeqRef) -> z3.BoolRef:
    """z3.And(z3.Length(v) <= 12, z3.InRe(v, z3.Star(z3.Union(z3.Range("0", "9"),
    z3.Range("A", "Z"), z3.Range("a", "z"))))): a word, where any printable
    string could be Z3's own fresh value ("!0!"), or punctuation."""
    return _short_in(v, _alphanumeric())


def _short_in(v: z3.SeqRef, chars: z3.ReRef) -> z3.BoolRef:
    ctx = v.ctx
    c = ctx.ref()
    length = z3.ArithRef(z3.Z3_mk_seq_length(c, v.as_ast()), ctx)
    short = z3.BoolRef(z3.Z3_mk_le(c, length.as_ast(), _twelve().as_ast()), ctx)
    member = z3.BoolRef(z3.Z3_mk_seq_in_re(c, v.as_ast(), chars.as_ast()), ctx)
    return and_of(short, member)


@functools.cache
def _printable() -> z3.ReRef:
    return z3.Star(z3.Range(" ", "~"))


@functools.cache
def _alphanumeric() -> z3.ReRef:
    return z3.Star(z3.Union(z3.Range("0", "9"), z3.Range("A", "Z"), z3.Range("a", "z")))


@functools.cache
def _twelve() -> z3.IntNumRef:
    return z3.IntVal(12)
