"""datetime and duration in Z3: 64-bit bit-vectors of milliseconds (since
the epoch, and of the span), with Cedar's overflow errors.

The evaluator's counterparts are `lang.values.Datetime` and `Duration`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import z3

import cedarscope.lang.values as lv
from cedarscope.lang.schema import ExtensionType, LongType

if TYPE_CHECKING:
    from cedarscope.encoder.ext import Encoded, Method
    from cedarscope.encoder.terms import Term

DATETIME, DURATION = ExtensionType("datetime"), ExtensionType("duration")
_LONG = LongType()
MS_PER_DAY = 86_400_000


def raw(v: lv.Datetime | lv.Duration) -> z3.BitVecRef:
    return z3.BitVecVal(v.ms, 64)


def value(name: str, z: z3.ExprRef) -> lv.Datetime | lv.Duration:
    cls = lv.Datetime if name == "datetime" else lv.Duration
    return cls((z if z3.is_bv_value(z) else z3.simplify(z)).as_signed_long())


def _sub_checked(x: z3.BitVecRef, y: z3.BitVecRef) -> tuple[z3.BitVecRef, z3.BoolRef]:
    return x - y, z3.Not(z3.And(z3.BVSubNoOverflow(x, y), z3.BVSubNoUnderflow(x, y, True)))


def _add_checked(x: z3.BitVecRef, y: z3.BitVecRef) -> tuple[z3.BitVecRef, z3.BoolRef]:
    return x + y, z3.Not(z3.And(z3.BVAddNoOverflow(x, y, True), z3.BVAddNoUnderflow(x, y)))


def offset(a: Term, d: Term) -> Encoded:
    if d.ty != DURATION:
        return DATETIME, None, z3.BoolVal(True)
    return DATETIME, *_add_checked(a.val, d.val)


def duration_since(a: Term, b: Term) -> Encoded:
    if b.ty != DATETIME:
        return DURATION, None, z3.BoolVal(True)
    return DURATION, *_sub_checked(a.val, b.val)


def to_date(a: Term) -> Encoded:
    return DATETIME, *_sub_checked(a.val, a.val % MS_PER_DAY)


def to_time(a: Term) -> Encoded:
    return DURATION, a.val % MS_PER_DAY, z3.BoolVal(False)


def duration_method(unit: int) -> Callable[[Term], Encoded]:
    """`toSeconds` and its siblings: whole units, rounded toward zero."""
    return lambda a: (_LONG, a.val / unit if unit != 1 else a.val, z3.BoolVal(False))


# name: (arity, receiver type, (receiver, *args) -> (type, raw value or None, extra error))
METHODS: dict[str, tuple[int, ExtensionType, Method]] = {
    "offset": (1, DATETIME, offset),
    "durationSince": (1, DATETIME, duration_since),
    "toDate": (0, DATETIME, to_date),
    "toTime": (0, DATETIME, to_time),
    "toMilliseconds": (0, DURATION, duration_method(1)),
    "toSeconds": (0, DURATION, duration_method(1000)),
    "toMinutes": (0, DURATION, duration_method(60_000)),
    "toHours": (0, DURATION, duration_method(3_600_000)),
    "toDays": (0, DURATION, duration_method(86_400_000)),
}
