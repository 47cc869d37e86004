"""ipaddr in Z3: a datatype of an IPv4-or-IPv6 bit, a 128-bit address and an
8-bit prefix length (a single address has the full prefix).

A range contains another when the versions agree, its prefix is no longer,
and the addresses agree on its prefix bits.  The evaluator's counterpart is
`lang.values.IPAddr`.
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

IPADDR = ExtensionType("ipaddr")
_BOOL = BoolType()

_ip = z3.Datatype("IPAddr")
_ip.declare("ip", ("is_v4", z3.BoolSort()), ("addr", z3.BitVecSort(128)), ("prefix", z3.BitVecSort(8)))
IP = _ip.create()


def ip_val(v4: bool, addr: int, prefix: int) -> z3.ExprRef:
    return IP.ip(z3.BoolVal(v4), z3.BitVecVal(addr, 128), z3.BitVecVal(prefix, 8))


def raw(v: lv.IPAddr) -> z3.ExprRef:
    return ip_val(v.version == 4, v.addr, v.prefix)


def value(z: z3.ExprRef) -> lv.IPAddr:
    if z3.is_app_of(z, z3.Z3_OP_DT_CONSTRUCTOR) and z.num_args() == 3:  # a model's value: read its fields
        v4, addr, prefix = z.children()
    else:
        v4, addr, prefix = (z3.simplify(f(z)) for f in (IP.is_v4, IP.addr, IP.prefix))
    if not ((z3.is_true(v4) or z3.is_false(v4)) and z3.is_bv_value(addr) and z3.is_bv_value(prefix)):
        v4, addr, prefix = (z3.simplify(x) for x in (v4, addr, prefix))
    return lv.IPAddr(4 if z3.is_true(v4) else 6, addr.as_long(), prefix.as_long())


def _mask(v4: bool, prefix: z3.BitVecRef) -> z3.BitVecRef:
    p = z3.ZeroExt(120, prefix)
    if v4:
        ones = z3.BitVecVal(2**32 - 1, 128)
        return (ones << (32 - p)) & ones
    return z3.BitVecVal(2**128 - 1, 128) << (128 - p)


def ip_in_range(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    """Every address of a's range lies in b's range (same version)."""
    def within(v4: bool) -> z3.BoolRef:
        m = _mask(v4, IP.prefix(b))
        return z3.And(z3.ULE(IP.prefix(b), IP.prefix(a)), IP.addr(a) & m == IP.addr(b) & m)
    return z3.And(IP.is_v4(a) == IP.is_v4(b), z3.If(IP.is_v4(a), within(True), within(False)))


def _in_net(a: z3.ExprRef, v4_net: tuple[int, int], v6_net: tuple[int, int]) -> z3.BoolRef:
    return z3.If(IP.is_v4(a), ip_in_range(a, ip_val(True, *v4_net)), ip_in_range(a, ip_val(False, *v6_net)))


def ip_method(test: Callable[[z3.ExprRef], z3.BoolRef]) -> Callable[[Term], Encoded]:
    """`isIpv4` and its siblings: a test of the receiver alone."""
    return lambda a: (_BOOL, test(a.val), z3.BoolVal(False))


def is_in_range(a: Term, b: Term) -> Encoded:
    if b.ty != IPADDR:
        return _BOOL, None, z3.BoolVal(True)
    return _BOOL, ip_in_range(a.val, b.val), z3.BoolVal(False)


# name: (arity, receiver type, (receiver, *args) -> (type, raw value or None, extra error))
METHODS: dict[str, tuple[int, ExtensionType, Method]] = {
    "isIpv4": (0, IPADDR, ip_method(lambda a: IP.is_v4(a))),
    "isIpv6": (0, IPADDR, ip_method(lambda a: z3.Not(IP.is_v4(a)))),
    "isLoopback": (0, IPADDR, ip_method(lambda a: _in_net(a, (0x7F000000, 8), (1, 128)))),
    "isMulticast": (0, IPADDR, ip_method(lambda a: _in_net(a, (0xE0000000, 4), (0xFF << 120, 8)))),
    "isInRange": (1, IPADDR, is_in_range),
}
