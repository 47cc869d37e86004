"""The extension functions' signatures, as the typechecker sees them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cedarscope.lang import ast as A
from cedarscope.lang import values as V
from cedarscope.lang.validator.types import BOOL, LONG, STRING, ExtT, LongT, Ty
from cedarscope.lang.values import escape_string

# Extension functions: argument types, result type, and for constructors the
# check that a literal argument parses.

@dataclass(frozen=True)
class _ExtFunction:
    name: str
    args: tuple[Ty, ...]
    result: Ty
    parse: Callable[[str], object] | None = None  # constructors only
    what: str = ""  # how a bad constructor argument is described

    def check_argument(self, args: tuple) -> str | None:
        """Cedar's constructor argument check: a string literal must parse."""
        if self.parse is None or len(args) != 1:
            return None
        arg = args[0]
        if not (isinstance(arg, A.Lit) and isinstance(arg.value, str)):
            return None
        try:
            self.parse(arg.value)
        except ValueError:
            return f'{self.what}: `"{escape_string(arg.value)}"`'
        return None


def _extension_functions() -> dict[str, _ExtFunction]:
    dec, ip, dt, dur = ExtT("decimal"), ExtT("ipaddr"), ExtT("datetime"), ExtT("duration")
    fns = [
        _ExtFunction("decimal", (STRING,), dec, V.Decimal.parse, "Failed to parse as a decimal value"),
        _ExtFunction("ip", (STRING,), ip, V.IPAddr.parse, "failed to parse as IP address"),
        _ExtFunction("datetime", (STRING,), dt, V.Datetime.parse, "failed to parse as a datetime value"),
        _ExtFunction("duration", (STRING,), dur, V.Duration.parse, "failed to parse as a duration value"),
    ]
    fns += [_ExtFunction(n, (dec, dec), BOOL)
            for n in ("lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual")]
    fns += [_ExtFunction(n, (ip,), BOOL) for n in ("isIpv4", "isIpv6", "isLoopback", "isMulticast")]
    fns += [
        _ExtFunction("isInRange", (ip, ip), BOOL),
        _ExtFunction("offset", (dt, dur), dt),
        _ExtFunction("durationSince", (dt, dt), dur),
        _ExtFunction("toDate", (dt,), dt),
        _ExtFunction("toTime", (dt,), dur),
    ]
    fns += [_ExtFunction(n, (dur,), LONG)
            for n in ("toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds")]
    return {f.name: f for f in fns}


EXTENSION_FUNCTIONS = _extension_functions()
# `<` and `<=` apply to Long and to these extension types.
COMPARABLE_EXTENSIONS = ("datetime", "duration")
COMPARISON_TYPES = (ExtT("datetime"), ExtT("duration"), LONG)


def is_comparable(t: Ty) -> bool:
    return isinstance(t, LongT) or (isinstance(t, ExtT) and t.name in COMPARABLE_EXTENSIONS)
