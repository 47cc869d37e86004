"""Cedar's extension types in Z3, one module per type (as the Cedar Lean
model keeps `Ext/`): each gives the raw Z3 value of its type, reads it back
from a model, and encodes its methods.

A method's encoding takes the receiver's and arguments' terms and returns
(result type, raw value, extra error), the value None when the call is a
type error; the compiler adds the operands' errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import z3

from cedarscope.encoder.ext import datetime, decimal, ipaddr
from cedarscope.encoder.ext.datetime import DATETIME, DURATION, MS_PER_DAY
from cedarscope.encoder.ext.decimal import DECIMAL
from cedarscope.encoder.ext.ipaddr import IP, IPADDR, ip_in_range, ip_val
from cedarscope.lang.schema import CedarType, ExtensionType

if TYPE_CHECKING:
    from cedarscope.encoder.terms import Raw, TermType

    # A method's encoding: (receiver, *args) -> (type, raw value or None, extra error)
    Encoded: TypeAlias = tuple[CedarType, Raw, z3.BoolRef]
    Method: TypeAlias = Callable[..., Encoded]

__all__ = ["CONSTRUCTORS", "DATETIME", "DECIMAL", "DURATION", "IP", "IPADDR", "METHODS", "MS_PER_DAY",
           "ext_raw", "ext_value", "ip_in_range", "ip_val"]

# Cedar's constructor name: (type, the lang.values class that parses its string)
CONSTRUCTORS = {
    "decimal": (DECIMAL, "Decimal"), "ip": (IPADDR, "IPAddr"),
    "datetime": (DATETIME, "Datetime"), "duration": (DURATION, "Duration"),
}



def _receiver(ty: ExtensionType) -> Callable[[TermType], bool]:
    return lambda t: t == ty


# name: (arity, receiver check, (receiver, *args) -> (type, raw value or None, extra error))
METHODS: dict[str, tuple[int, Callable[[TermType], bool], Method]] = {name: (arity, _receiver(ty), fn)
           for module in (decimal, ipaddr, datetime)
           for name, (arity, ty, fn) in module.METHODS.items()}


def ext_raw(v: Any) -> z3.ExprRef:
    """The raw Z3 constant of a concrete extension value."""
    kind = v.CEDAR_TYPE
    if kind == "decimal":
        return decimal.raw(v)
    if kind in ("datetime", "duration"):
        return datetime.raw(v)
    if kind == "ipaddr":
        return ipaddr.raw(v)
    from cedarscope.encoder.terms import Unsupported

    raise Unsupported(f"extension type {kind}")


def ext_value(name: str, z: z3.ExprRef) -> Any:
    """The concrete lang value of a raw extension constant from a model."""
    if name == "ipaddr":
        return ipaddr.value(z)
    if name == "decimal":
        return decimal.value(z)
    return datetime.value(name, z)
