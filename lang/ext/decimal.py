"""Cedar's `decimal` extension: fixed-point numbers with 4 fractional digits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from cedarscope.lang.ext.common import ExtensionValue, ascii_int
from cedarscope.lang.int64 import LONG_MAX, LONG_MIN

DECIMAL_DIGITS = 4
DECIMAL_SCALE = 10**DECIMAL_DIGITS
# Cedar's pattern uses `\d`, which (in Rust as in Python) is any Unicode digit;
# digits outside ASCII then fail the integer conversion, reported as overflow.
_DECIMAL_RE = re.compile(r"(-?\d+)\.(\d+)\Z")


@dataclass(frozen=True)
class Decimal(ExtensionValue):
    """A decimal number with 4 fractional digits, held as ``value / 10**4``
    where ``value`` is a signed 64-bit integer."""

    value: int

    CEDAR_TYPE: ClassVar[str] = "decimal"
    EXT_FUNCTION: ClassVar[str] = "decimal"

    @classmethod
    def parse(cls, s: str) -> Decimal:
        m = _DECIMAL_RE.match(s)
        if m is None:
            raise ValueError(f"`{s}` is not a well-formed decimal value")
        whole, frac = m.groups()
        overflow = ValueError("overflow when converting to decimal")
        whole_digits = whole.lstrip("-").lstrip("0") or "0"
        if len(whole_digits) > 20:  # beyond i64 (and Python's int-from-text limit)
            raise overflow
        try:
            units = ascii_int(whole_digits) * (-1 if whole.startswith("-") else 1)
        except ValueError:
            raise overflow from None
        if not LONG_MIN <= units <= LONG_MAX or not LONG_MIN <= units * DECIMAL_SCALE <= LONG_MAX:
            raise overflow
        # Cedar counts the fraction's length in UTF-8 bytes.
        if len(frac.encode()) > DECIMAL_DIGITS:
            raise ValueError(f"too many digits after the decimal in `{s}`")
        try:
            fraction = ascii_int(frac) * 10 ** (DECIMAL_DIGITS - len(frac))
        except ValueError:
            raise overflow from None
        # The sign belongs to the whole number, so "-0.5" is below zero.
        value = units * DECIMAL_SCALE + (-fraction if s.startswith("-") else fraction)
        if not LONG_MIN <= value <= LONG_MAX:
            raise overflow
        return cls(value)

    def cedar_key(self) -> int:
        return self.value

    def __str__(self) -> str:
        sign = "-" if self.value < 0 else ""
        units, fraction = divmod(abs(self.value), DECIMAL_SCALE)
        digits = f"{fraction:04d}".rstrip("0") or "0"
        return f"{sign}{units}.{digits}"
