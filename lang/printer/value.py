"""Cedar values printed as the Cedar expressions that evaluate to them."""

from __future__ import annotations

from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.printer.doc import group, render
from cedarscope.lang.printer.expr import expr_doc
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID

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
