"""decimal in Z3: a 64-bit bit-vector holding the value times 10^4.

Cedar's decimals have four fractional digits and the range of a 64-bit
integer divided by 10^4, so scaling by 10^4 is exact and the comparisons are
signed bit-vector comparisons.  The evaluator's counterpart is
`lang.values.Decimal`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import z3

import cedarscope.lang.values as lv
from cedarscope.lang.schema import BoolType, ExtensionType

if TYPE_CHECKING:
    from cedarscope.encoder.ext import Encoded, Method
    from cedarscope.encoder.terms import Term

DECIMAL = ExtensionType("decimal")
_BOOL = BoolType()


def raw(v: lv.Decimal) -> z3.BitVecRef:
    return z3.BitVecVal(v.value, 64)


def value(z: z3.ExprRef) -> lv.Decimal:
    return lv.Decimal((z if z3.is_bv_value(z) else z3.simplify(z)).as_signed_long())


def decimal_compare(test: Callable[[z3.BitVecRef, z3.BitVecRef], z3.BoolRef]) -> Callable[[Term, Term], Encoded]:
    """`lessThan` and its siblings: an error unless the argument is a decimal."""
    def method(a: Term, b: Term) -> Encoded:
        if b.ty != DECIMAL:
            return _BOOL, None, z3.BoolVal(True)
        return _BOOL, test(a.val, b.val), z3.BoolVal(False)
    return method


# name: (arity, receiver type, (receiver, *args) -> (type, raw value or None, extra error))
METHODS: dict[str, tuple[int, ExtensionType, Method]] = {
    "lessThan": (1, DECIMAL, decimal_compare(lambda x, y: x < y)),
    "lessThanOrEqual": (1, DECIMAL, decimal_compare(lambda x, y: x <= y)),
    "greaterThan": (1, DECIMAL, decimal_compare(lambda x, y: x > y)),
    "greaterThanOrEqual": (1, DECIMAL, decimal_compare(lambda x, y: x >= y)),
}
