"""Cedar values as Python data.

Bool is `bool`, Long is `int` (signed 64-bit, range-checked by whoever makes
one), String is `str`; entity references are `EntityUID`; sets and records are
`CedarSet` and `CedarRecord`.  Extension values (decimal, ipaddr, datetime,
duration) are defined further down.

Python's ``True == 1`` would make Cedar's ``true == 1`` hold and collapse
``[true, 1]`` to one element, so equality and hashing of Cedar values always
go through `value_key`, which tags every value with its Cedar type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


def escape_string(s: str) -> str:
    """Cedar string literal body: escapes as Cedar's printer writes them."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, order=True, slots=True)
class EntityUID:
    """An entity reference: its type (``NS::Type``) and its id."""

    type: str
    id: str
    # hashed once: uids are the keys of every entity store and hierarchy walk
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.type, self.id)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f'{self.type}::"{escape_string(self.id)}"'

    def to_json(self) -> dict:
        return {"type": self.type, "id": self.id}


def value_key(v: Any) -> Any:
    """A hashable key that is equal for two values iff Cedar calls them equal.

    Strings, Longs and entity uids are their own keys (none of them equals a
    value of another of these kinds, so a set of them stores no extra key
    objects); a Bool is tagged, or Python's ``True == 1`` would leak in; sets,
    records and extension values are tagged tuples."""
    t = type(v)
    if t is str or t is EntityUID:
        return v
    if t is bool:
        return ("B", v)
    if t is int:
        return v
    if t is CedarSet:
        return ("Set", v._keys)
    if t is CedarRecord:
        return ("Rec", v.key())
    if hasattr(v, "cedar_key"):
        return ("X", type(v).__name__, v.cedar_key())
    if isinstance(v, bool):  # subclasses of the built-in types (a parser's token, say)
        return ("B", bool(v))
    if isinstance(v, int):
        return int(v)
    if isinstance(v, str):
        return str(v)
    raise TypeError(f"not a Cedar value: {v!r}")


def value_eq(a: Any, b: Any) -> bool:
    """Cedar's ``==`` on two values (never an error: different types are unequal)."""
    return value_key(a) == value_key(b)


def _order(item: tuple[Any, Any]) -> tuple:
    """Where a (key, value) pair goes in a set's iteration order: strings,
    then Longs, then entities, each in their natural order; then the rest by
    their key's text.  (No key is copied to be compared, however long.)"""
    key = item[0]
    t = type(key)
    if t is str:
        return (0, key)
    if t is int:
        return (1, key)
    if t is EntityUID:
        return (2, key.type, key.id)
    return (3, repr(key))


class CedarSet:
    """An immutable Cedar set.  Iteration order is deterministic (see `_order`).

    Stored as a tuple of the elements and a frozenset of their keys (for
    membership); for strings, Longs and entities the keys are the elements
    themselves, so a set holds no copies."""

    __slots__ = ("_items", "_keys")

    def __init__(self, elems: Iterable[Any] = ()):
        by_key = {value_key(e): e for e in elems}
        self._keys = frozenset(by_key)
        self._items = tuple(v for _, v in sorted(by_key.items(), key=_order)) if len(by_key) > 1 \
            else tuple(by_key.values())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, v: Any) -> bool:
        return value_key(v) in self._keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CedarSet) and self._keys == other._keys

    def __hash__(self) -> int:
        return hash(("Set", self._keys))

    def __repr__(self) -> str:
        return f"CedarSet({list(self._items)!r})"

    def issubset(self, other: CedarSet) -> bool:
        return self._keys <= other._keys

    def intersects(self, other: CedarSet) -> bool:
        return not self._keys.isdisjoint(other._keys)


class CedarRecord(Mapping[str, Any]):
    """An immutable Cedar record (attribute name to value).  Its key for
    equality and hashing is computed on first use: most records (entity
    attributes) are never compared whole."""

    __slots__ = ("_attrs", "_key")

    def __init__(self, attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        self._attrs = dict(attrs)
        self._key: tuple | None = None

    def key(self) -> tuple:
        """(attribute, value key) pairs, sorted: equal iff the records are."""
        if self._key is None:
            self._key = tuple(sorted((k, value_key(v)) for k, v in self._attrs.items()))
        return self._key

    def __getitem__(self, k: str) -> Any:
        return self._attrs[k]

    def __contains__(self, k: object) -> bool:
        return k in self._attrs

    def get(self, k: str, default: Any = None) -> Any:
        return self._attrs.get(k, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CedarRecord) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(("Rec", self.key()))

    def __repr__(self) -> str:
        return f"CedarRecord({self._attrs!r})"


EMPTY_RECORD = CedarRecord()


def type_name(v: Any) -> str:
    """Cedar's name for the type of a value, for error messages."""
    if isinstance(v, bool):
        return "Bool"
    if isinstance(v, int):
        return "Long"
    if isinstance(v, str):
        return "String"
    if isinstance(v, EntityUID):
        return f"entity of type {v.type}"
    if isinstance(v, CedarSet):
        return "Set"
    if isinstance(v, CedarRecord):
        return "Record"
    return getattr(v, "CEDAR_TYPE", type(v).__name__)


# --------------------------------------------------------------------------
# Extension types: decimal, ipaddr, datetime, duration.
# Each is a frozen dataclass with CEDAR_TYPE and cedar_key(); see value_key.

# The rules below are Cedar's own (cedar-policy-core's decimal, ipaddr and
# datetime extensions); ValueError messages follow Cedar's wording.

import re as _re
from typing import ClassVar


class _ExtensionValue:
    """What the four extension types share."""

    __slots__ = ()
    EXT_FUNCTION: ClassVar[str]

    def cedar_literal(self) -> str:
        """A Cedar expression for this value, such as ``decimal("1.5")``."""
        return f'{self.EXT_FUNCTION}("{escape_string(str(self))}")'


def _ascii_int(digits: str) -> int:
    """`int()` of an ASCII digit string; Python would also take other digits."""
    if not digits.isascii():
        raise ValueError("not an ASCII number")
    return int(digits)


# ---- decimal ----------------------------------------------------------------

DECIMAL_DIGITS = 4
DECIMAL_SCALE = 10**DECIMAL_DIGITS
# Cedar's pattern uses `\d`, which (in Rust as in Python) is any Unicode digit;
# digits outside ASCII then fail the integer conversion, reported as overflow.
_DECIMAL_RE = _re.compile(r"(-?\d+)\.(\d+)\Z")


@dataclass(frozen=True)
class Decimal(_ExtensionValue):
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
            units = _ascii_int(whole_digits) * (-1 if whole.startswith("-") else 1)
        except ValueError:
            raise overflow from None
        if not LONG_MIN <= units <= LONG_MAX or not LONG_MIN <= units * DECIMAL_SCALE <= LONG_MAX:
            raise overflow
        # Cedar counts the fraction's length in UTF-8 bytes.
        if len(frac.encode()) > DECIMAL_DIGITS:
            raise ValueError(f"too many digits after the decimal in `{s}`")
        try:
            fraction = _ascii_int(frac) * 10 ** (DECIMAL_DIGITS - len(frac))
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


# ---- ipaddr -----------------------------------------------------------------

IP_STR_MAX_LEN = 43  # len("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128")
IPV4_BITS = 32
IPV6_BITS = 128
_HEX = frozenset("0123456789abcdefABCDEF")


def _parse_ipv4(s: str) -> int | None:
    """Four decimal octets, at most 3 digits each, no leading zeros (Rust's
    `Ipv4Addr` text form)."""
    parts = s.split(".")
    if len(parts) != 4:
        return None
    addr = 0
    for part in parts:
        if not (1 <= len(part) <= 3 and part.isascii() and part.isdigit()):
            return None
        if part[0] == "0" and len(part) > 1:
            return None
        octet = int(part)
        if octet > 255:
            return None
        addr = addr << 8 | octet
    return addr


def _parse_ipv6_groups(s: str, limit: int) -> list[int] | None:
    """Up to `limit` colon-separated hex groups of 1 to 4 digits ("" = none)."""
    if s == "":
        return []
    parts = s.split(":")
    if len(parts) > limit:
        return None
    groups = []
    for part in parts:
        if not 1 <= len(part) <= 4 or not set(part) <= _HEX:
            return None
        groups.append(int(part, 16))
    return groups


def _parse_ipv6(s: str) -> int | None:
    """Rust's `Ipv6Addr` text form without embedded IPv4 (which Cedar rejects
    before parsing): 8 groups, or fewer around one `::` that stands for at
    least one zero group."""
    if "::" in s:
        head_text, _, tail_text = s.partition("::")
        head = _parse_ipv6_groups(head_text, 7)
        if head is None:
            return None
        tail = _parse_ipv6_groups(tail_text, 7 - len(head))
        if tail is None:
            return None
        groups = head + [0] * (8 - len(head) - len(tail)) + tail
    else:
        groups = _parse_ipv6_groups(s, 8)
        if groups is None or len(groups) != 8:
            return None
    addr = 0
    for g in groups:
        addr = addr << 16 | g
    return addr


def _parse_prefix(s: str, max_prefix: int) -> int:
    if len(s.encode()) > len(str(max_prefix)):
        raise ValueError(f"error parsing prefix: string length {len(s.encode())} is too large")
    if not all(c in "0123456789" for c in s):
        raise ValueError(f"error parsing prefix `{s}`: encountered non-digit")
    if s.startswith("0") and s != "0":
        raise ValueError(f"error parsing prefix `{s}`: leading zero(s)")
    if s == "":
        raise ValueError("error parsing prefix from the string ``: cannot parse integer from empty string")
    prefix = int(s)
    if prefix > max_prefix:
        raise ValueError(f"error parsing prefix: {prefix} is larger than the limit {max_prefix}")
    return prefix


def _format_ipv6(addr: int) -> str:
    """RFC 5952 text (longest run of two or more zero groups as `::`), never
    with an embedded IPv4 part since Cedar would not read that back."""
    groups = [(addr >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    best_start, best_len, run_start = -1, 1, None
    for i, g in enumerate(groups + [1]):
        if g == 0 and run_start is None:
            run_start = i
        elif g != 0 and run_start is not None:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = None
    text = [f"{g:x}" for g in groups]
    if best_start < 0:
        return ":".join(text)
    return ":".join(text[:best_start]) + "::" + ":".join(text[best_start + best_len:])


@dataclass(frozen=True)
class IPAddr(_ExtensionValue):
    """An IPv4 or IPv6 address with a prefix length (a CIDR range).  The
    address is kept as written, not masked: ``ip("10.0.0.1/8")`` and
    ``ip("10.0.0.0/8")`` differ, while ``ip("1.2.3.4")`` is ``/32``."""

    version: int  # 4 | 6
    addr: int
    prefix: int

    CEDAR_TYPE: ClassVar[str] = "ipaddr"
    EXT_FUNCTION: ClassVar[str] = "ip"

    @classmethod
    def parse(cls, s: str) -> IPAddr:
        if len(s.encode()) > IP_STR_MAX_LEN:
            raise ValueError(f"error parsing IP address from string `{s}`: string length is too large")
        if s.count(":") >= 2 and s.count(".") >= 2:
            raise ValueError(
                "error parsing IP address from string: We do not accept IPv4 embedded "
                f"in IPv6 (e.g., ::ffff:127.0.0.1). Found: `{s}`")
        addr_text, slash, prefix_text = s.partition("/")
        v4 = _parse_ipv4(addr_text)
        v6 = _parse_ipv6(addr_text) if v4 is None else None
        if v4 is None and v6 is None:
            if slash:
                raise ValueError(f"error parsing IP address from the string `{addr_text}`: invalid IP address syntax")
            raise ValueError(f"invalid IP address: {s}")
        version, addr, bits = (4, v4, IPV4_BITS) if v4 is not None else (6, v6, IPV6_BITS)
        prefix = _parse_prefix(prefix_text, bits) if slash else bits
        return cls(version, addr, prefix)

    @property
    def bits(self) -> int:
        return IPV4_BITS if self.version == 4 else IPV6_BITS

    def is_ipv4(self) -> bool:
        return self.version == 4

    def is_ipv6(self) -> bool:
        return self.version == 6

    def is_loopback(self) -> bool:
        # 127.0.0.0/8 and ::1; a range counts only if it lies inside them.
        if self.version == 4:
            return self.addr >> 24 == 127 and self.prefix >= 8
        return self.addr == 1 and self.prefix == IPV6_BITS

    def is_multicast(self) -> bool:
        # 224.0.0.0/4 and ff00::/8.
        if self.version == 4:
            return self.addr >> 28 == 0xE and self.prefix >= 4
        return self.addr >> 120 == 0xFF and self.prefix >= 8

    def network(self) -> int:
        return self.addr & ~self.hostmask() & ((1 << self.bits) - 1)

    def hostmask(self) -> int:
        return (1 << (self.bits - self.prefix)) - 1

    def broadcast(self) -> int:
        return self.addr | self.hostmask()

    def is_in_range(self, other: IPAddr) -> bool:
        """Every address of self lies in other's range (false across versions)."""
        if self.version != other.version:
            return False
        return other.network() <= self.network() and self.broadcast() <= other.broadcast()

    def cedar_key(self) -> tuple[int, int, int]:
        return (self.version, self.addr, self.prefix)

    def __str__(self) -> str:
        if self.version == 4:
            text = ".".join(str((self.addr >> shift) & 0xFF) for shift in (24, 16, 8, 0))
        else:
            text = _format_ipv6(self.addr)
        return text if self.prefix == self.bits else f"{text}/{self.prefix}"


# ---- datetime and duration -------------------------------------------------

MS_PER_SECOND = 1000
MS_PER_MINUTE = 60 * MS_PER_SECOND
MS_PER_HOUR = 60 * MS_PER_MINUTE
MS_PER_DAY = 24 * MS_PER_HOUR

_DATE_RE = _re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_HMS_RE = _re.compile(r"T([0-9]{2}):([0-9]{2}):([0-9]{2})")
_MS_OFFSET_RE = _re.compile(r"(?:\.([0-9]{3}))?(?:Z|([+-])([0-9]{2})([0-9]{2}))\Z")
_DURATION_RE = _re.compile(r"-?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?\Z")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0
    exists, as in Cedar's date library and unlike Python's `datetime`)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Inverse of `_days_from_civil`."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _check_long(ms: int, what: str) -> int:
    if not LONG_MIN <= ms <= LONG_MAX:
        raise OverflowError(what)
    return ms


@dataclass(frozen=True)
class Datetime(_ExtensionValue):
    """An instant, as signed 64-bit milliseconds since the Unix epoch (UTC)."""

    ms: int

    CEDAR_TYPE: ClassVar[str] = "datetime"
    EXT_FUNCTION: ClassVar[str] = "datetime"

    @classmethod
    def parse(cls, s: str) -> Datetime:
        """``YYYY-MM-DD``, optionally followed by ``Thh:mm:ss``, an optional
        ``.SSS`` and then ``Z`` or an offset ``+hhmm``/``-hhmm``.  Patterns
        are checked before values, left to right, as Cedar does."""
        date = _DATE_RE.match(s)
        if date is None:
            raise ValueError("invalid date pattern")
        year, month, day = (int(g) for g in date.groups())

        def epoch_day() -> int:
            if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
                raise ValueError(f"invalid date: {date.group(0)}")
            return _days_from_civil(year, month, day)

        rest = s[date.end():]
        if rest == "":
            return cls(epoch_day() * MS_PER_DAY)
        hms = _HMS_RE.match(rest)
        if hms is None:
            raise ValueError("invalid hour/minute/second pattern")
        hour, minute, second = (int(g) for g in hms.groups())
        tail = _MS_OFFSET_RE.match(rest[hms.end():])
        if tail is None:
            raise ValueError("invalid millisecond and/or offset pattern")
        millis, sign, off_h, off_m = tail.groups()
        days = epoch_day()
        if not (hour < 24 and minute < 60 and second < 60):
            raise ValueError(f"invalid hour/minute/second: {hms.group(0)[1:]}")
        offset = 0
        if sign is not None:
            if not (int(off_h) < 24 and int(off_m) < 60):
                raise ValueError(f"invalid offset range: {int(off_h)}{int(off_m)}")
            offset = (int(off_h) * MS_PER_HOUR + int(off_m) * MS_PER_MINUTE) * (1 if sign == "+" else -1)
        ms = (days * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE
              + second * MS_PER_SECOND + int(millis or 0))
        return cls(ms - offset)

    def offset(self, d: Duration) -> Datetime:
        return Datetime(_check_long(self.ms + d.ms, "overflows when adding an offset"))

    def duration_since(self, other: Datetime) -> Duration:
        return Duration(_check_long(self.ms - other.ms, "overflows when computing the duration"))

    def to_date(self) -> Datetime:
        """Midnight (UTC) of this instant's day."""
        return Datetime(_check_long(self.ms - self.ms % MS_PER_DAY, "overflows when computing the date"))

    def to_time(self) -> Duration:
        """Time since midnight (UTC)."""
        return Duration(self.ms % MS_PER_DAY)

    def cedar_key(self) -> int:
        return self.ms

    def literal_text(self) -> str | None:
        """The ``datetime("...")`` argument for this instant, or None when its
        year lies outside 0000..9999 (reachable only through `offset`)."""
        days, ms_of_day = divmod(self.ms, MS_PER_DAY)
        year, month, day = _civil_from_days(days)
        if not 0 <= year <= 9999:
            return None
        date = f"{year:04d}-{month:02d}-{day:02d}"
        if ms_of_day == 0:
            return date
        seconds, millis = divmod(ms_of_day, MS_PER_SECOND)
        hms = f"T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return f"{date}{hms}.{millis:03d}Z" if millis else f"{date}{hms}Z"

    def __str__(self) -> str:
        """The datetime string; outside years 0000..9999 (which no datetime
        string reaches) the same layout with the out-of-range year, which
        `parse` rejects; `cedar_literal` covers every value."""
        text = self.literal_text()
        if text is None:
            days, ms_of_day = divmod(self.ms, MS_PER_DAY)
            year, month, day = _civil_from_days(days)
            text = Datetime(_days_from_civil(2000, month, day) * MS_PER_DAY + ms_of_day).literal_text()
            text = f"{year:04d}{text[4:]}"
        return text

    def cedar_literal(self) -> str:
        """A Cedar expression for this value: ``datetime("...")``, or, out of
        the string form's range, Cedar's own canonical form
        ``datetime("1970-01-01").offset(duration("<ms>ms"))``."""
        text = self.literal_text()
        if text is None:
            return f'datetime("1970-01-01").offset(duration("{self.ms}ms"))'
        return f'datetime("{text}")'


@dataclass(frozen=True)
class Duration(_ExtensionValue):
    """A span of time, as signed 64-bit milliseconds."""

    ms: int

    CEDAR_TYPE: ClassVar[str] = "duration"
    EXT_FUNCTION: ClassVar[str] = "duration"

    _UNITS: ClassVar[tuple[tuple[str, int], ...]] = (
        ("d", MS_PER_DAY), ("h", MS_PER_HOUR), ("m", MS_PER_MINUTE), ("s", MS_PER_SECOND), ("ms", 1))

    @classmethod
    def parse(cls, s: str) -> Duration:
        """Quantity-unit pairs in the order d, h, m, s, ms, each at most once,
        with an optional leading ``-``."""
        m = _DURATION_RE.match(s)
        if s in ("", "-") or m is None:
            raise ValueError("invalid duration pattern")
        sign = -1 if s.startswith("-") else 1
        overflow = ValueError("Duration overflows internal representation")
        total = 0
        for quantity, (_, unit_ms) in zip(m.groups(), cls._UNITS, strict=False):
            if quantity is not None:
                digits = quantity.lstrip("0") or "0"
                if len(digits) > 20:  # beyond u64 (and Python's int-from-text limit)
                    raise overflow
                total += sign * int(digits) * unit_ms
        if not LONG_MIN <= total <= LONG_MAX:
            raise overflow
        return cls(total)

    def _truncated(self, unit_ms: int) -> int:
        # Rust's integer division rounds toward zero, Python's `//` does not.
        q = abs(self.ms) // unit_ms
        return -q if self.ms < 0 else q

    def to_milliseconds(self) -> int:
        return self.ms

    def to_seconds(self) -> int:
        return self._truncated(MS_PER_SECOND)

    def to_minutes(self) -> int:
        return self._truncated(MS_PER_MINUTE)

    def to_hours(self) -> int:
        return self._truncated(MS_PER_HOUR)

    def to_days(self) -> int:
        return self._truncated(MS_PER_DAY)

    def cedar_key(self) -> int:
        return self.ms

    def __str__(self) -> str:
        if self.ms == 0:
            return "0ms"
        rest, parts = abs(self.ms), []
        for unit, unit_ms in self._UNITS:
            quantity, rest = divmod(rest, unit_ms)
            if quantity:
                parts.append(f"{quantity}{unit}")
        return ("-" if self.ms < 0 else "") + "".join(parts)


EXTENSION_TYPES = (Decimal, IPAddr, Datetime, Duration)
