"""When a Cedar expression evaluates without error, written in Cedar.

`defined(e)` is a list of Cedar boolean expressions, the *guard pieces* of
`e`, such that ``g1 && g2 && ... && gn`` never errors and is true exactly
when evaluating `e` does not error (for policies that pass strict
validation, so type errors cannot occur).  Each piece may assume the ones
before it, as `&&` evaluates them in order:

* ``x.a`` needs ``x has a`` (false for a missing entity and for an absent
  optional attribute, where the access errors);
* ``x.getTag(k)`` needs ``x.hasTag(k)``;
* ``a + b``, ``a - b``, ``-a`` and ``a * k`` (k a literal) need bounds that
  are themselves written so that they cannot overflow;
* datetime and duration arithmetic is bounded through milliseconds:
  ``d.durationSince(datetime("1970-01-01")).toMilliseconds()`` is a Long
  that cannot overflow.

None means no exact guard exists in Cedar (the product of two non-literal
Longs; an extension constructor applied to a non-literal string; a
connective or `if` used as an operand): a description must then do
without it, and the solver decides whether it can.
"""

from __future__ import annotations

from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.values import Datetime, Decimal, Duration, IPAddr

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
MS_PER_DAY = 86_400_000
EPOCH = ast.ExtFun("datetime", (ast.Lit("1970-01-01"),))
CONSTRUCTORS: dict[str, Any] = {"decimal": Decimal, "ip": IPAddr, "datetime": Datetime, "duration": Duration}
# Methods that error only when their operands do.
TOTAL_METHODS = frozenset({
    "contains", "containsAll", "containsAny", "isEmpty", "hasTag",
    "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual",
    "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",
    "toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays", "toTime",
})

Guard = list[ast.Expr]


def lit(n: int | bool | str) -> ast.Lit:
    return ast.Lit(n)


def both(a: ast.Expr, b: ast.Expr) -> ast.Expr:
    return ast.And(a, b)


def either(a: ast.Expr, b: ast.Expr) -> ast.Expr:
    return ast.Or(a, b)


def compare(op: str, a: ast.Expr, b: ast.Expr) -> ast.Expr:
    return ast.BinaryOp(op, a, b)


def int_literal(e: ast.Expr) -> int | None:
    if isinstance(e, ast.Lit) and isinstance(e.value, int) and not isinstance(e.value, bool):
        return e.value
    return None


# --------------------------------------------------------------------------
# Long arithmetic without overflow, stated without overflowing


def sum_fits(a: ast.Expr, b: ast.Expr) -> ast.Expr | None:
    """`a + b` stays within 64 bits (None: always, with a literal operand)."""
    k = int_literal(b)
    if k is None and int_literal(a) is not None:
        a, b, k = b, a, int_literal(a)
    if k is not None:
        if k >= 0:
            return None if k == 0 else compare("<=", a, lit(LONG_MAX - k))
        return compare(">=", a, lit(LONG_MIN - k))
    return either(both(compare(">=", b, lit(0)), compare("<=", a, ast.BinaryOp("-", lit(LONG_MAX), b))),
                  both(compare("<", b, lit(0)), compare(">=", a, ast.BinaryOp("-", lit(LONG_MIN), b))))


def difference_fits(a: ast.Expr, b: ast.Expr) -> ast.Expr | None:
    """`a - b` stays within 64 bits."""
    k = int_literal(b)
    if k is not None:
        if k >= 0:
            return None if k == 0 else compare(">=", a, lit(LONG_MIN + k))
        return compare("<=", a, lit(LONG_MAX + k))
    j = int_literal(a)
    if j is not None:  # j - b: b >= j - MAX (j >= 0), b <= j - MIN (j < 0)
        return compare(">=", b, lit(j - LONG_MAX)) if j >= 0 else compare("<=", b, lit(j - LONG_MIN))
    return either(both(compare(">=", b, lit(0)), compare(">=", a, ast.BinaryOp("+", lit(LONG_MIN), b))),
                  both(compare("<", b, lit(0)), compare("<=", a, ast.BinaryOp("+", lit(LONG_MAX), b))))


def product_fits(a: ast.Expr, k: int) -> ast.Expr | None:
    """`a * k` stays within 64 bits, for a literal k."""
    if k in (0, 1):
        return None
    if k > 0:
        low, high = -((-LONG_MIN) // k), LONG_MAX // k  # ceil(MIN/k), floor(MAX/k)
    else:
        low, high = -(LONG_MAX // -k), LONG_MIN // k  # ceil(MAX/k), floor(MIN/k)
    parts = []
    if low > LONG_MIN:
        parts.append(compare(">=", a, lit(low)))
    if high < LONG_MAX:
        parts.append(compare("<=", a, lit(high)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else both(parts[0], parts[1])


def millis(datetime: ast.Expr) -> ast.Expr:
    """A datetime's milliseconds since the epoch, as a Long that cannot overflow."""
    return ast.MethodCall(ast.MethodCall(datetime, "durationSince", (EPOCH,)), "toMilliseconds", ())


def duration_millis(duration: ast.Expr) -> ast.Expr:
    return ast.MethodCall(duration, "toMilliseconds", ())


# --------------------------------------------------------------------------
# Guards


def defined(e: ast.Expr) -> Guard | None:
    """The guard pieces of `e`, or None when Cedar cannot state them."""
    if isinstance(e, (ast.Lit, ast.EntityLit, ast.Var)):
        return []
    if isinstance(e, ast.Not):
        return defined(e.arg)
    if isinstance(e, ast.Neg):
        inner = defined(e.arg)
        return None if inner is None else inner + [compare("!=", e.arg, lit(LONG_MIN))]
    if isinstance(e, ast.BinaryOp):
        return _binary(e)
    if isinstance(e, ast.GetAttr):
        inner = defined(e.expr)
        return None if inner is None else inner + [ast.Has(e.expr, (e.attr,))]
    if isinstance(e, (ast.Has, ast.Like)):
        return defined(e.expr)
    if isinstance(e, ast.Is):
        return _is(e)
    if isinstance(e, ast.SetLit):
        return _all(e.elems)
    if isinstance(e, ast.RecordLit):
        return _all(tuple(v for _, v in e.fields))
    if isinstance(e, ast.MethodCall):
        return _method(e.name, e.receiver, e.args)
    if isinstance(e, ast.ExtFun):
        if e.name in CONSTRUCTORS:
            return _constructor(e)
        if e.args:
            return _method(e.name, e.args[0], e.args[1:])
    return None  # a slot, a connective or `if` as an operand


def _all(parts: tuple[ast.Expr, ...]) -> Guard | None:
    out: Guard = []
    for x in parts:
        g = defined(x)
        if g is None:
            return None
        out += g
    return out


def _binary(e: ast.BinaryOp) -> Guard | None:
    operands = _all((e.left, e.right))
    if operands is None:
        return None
    if e.op in ("+", "-"):
        fits = (sum_fits if e.op == "+" else difference_fits)(e.left, e.right)
        return operands + ([fits] if fits is not None else [])
    if e.op == "*":
        k, j = int_literal(e.right), int_literal(e.left)
        if k is None and j is None:
            return None  # no Cedar expression bounds a product of two unknowns
        fits = product_fits(e.left, k) if k is not None else product_fits(e.right, j)  # type: ignore[arg-type]
        return operands + ([fits] if fits is not None else [])
    return operands  # comparisons, equality and `in` error only through their operands


def _is(e: ast.Is) -> Guard | None:
    """`x is T in y` evaluates y only when x is a T."""
    subject = defined(e.expr)
    if subject is None or e.in_expr is None:
        return subject
    target = defined(e.in_expr)
    if target is None:
        return None
    if not target:
        return subject
    return subject + [either(ast.Not(ast.Is(e.expr, e.entity_type)), conjunction(target))]


def _method(name: str, receiver: ast.Expr, args: tuple[ast.Expr, ...]) -> Guard | None:
    operands = _all((receiver, *args))
    if operands is None:
        return None
    if name in TOTAL_METHODS:
        return operands
    if name == "getTag":
        return operands + [ast.MethodCall(receiver, "hasTag", args)]
    if name == "offset" and len(args) == 1:
        fits = sum_fits(millis(receiver), duration_millis(args[0]))
        return operands + ([fits] if fits is not None else [])
    if name == "durationSince" and len(args) == 1:
        fits = difference_fits(millis(receiver), millis(args[0]))
        return operands + ([fits] if fits is not None else [])
    if name == "toDate":
        # toDate rounds down to a multiple of a day, which underflows below
        # the least such multiple that is a Long.
        least = -((-LONG_MIN) // MS_PER_DAY) * MS_PER_DAY
        return operands + [compare(">=", millis(receiver), lit(least))]
    return None


def _constructor(e: ast.ExtFun) -> Guard | None:
    """A constructor errors only on text that does not parse."""
    if len(e.args) != 1 or not isinstance(e.args[0], ast.Lit) or not isinstance(e.args[0].value, str):
        return None
    try:
        CONSTRUCTORS[e.name].parse(e.args[0].value)
    except ValueError:
        return [lit(False)]
    return []


def conjunction(parts: list[ast.Expr]) -> ast.Expr:
    """``p1 && p2 && ...`` (true when empty)."""
    if not parts:
        return lit(True)
    out = parts[0]
    for p in parts[1:]:
        out = ast.And(out, p)
    return out


def disjunction(parts: list[ast.Expr]) -> ast.Expr:
    """``p1 || p2 || ...`` (false when empty)."""
    if not parts:
        return lit(False)
    out = parts[0]
    for p in parts[1:]:
        out = ast.Or(out, p)
    return out
