"""Cedar's `datetime` extension: instants and durations, in milliseconds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from cedarscope.lang.ext.common import ExtensionValue
from cedarscope.lang.int64 import LONG_MAX, LONG_MIN

MS_PER_SECOND = 1000
MS_PER_MINUTE = 60 * MS_PER_SECOND
MS_PER_HOUR = 60 * MS_PER_MINUTE
MS_PER_DAY = 24 * MS_PER_HOUR

_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_HMS_RE = re.compile(r"T([0-9]{2}):([0-9]{2}):([0-9]{2})")
_MS_OFFSET_RE = re.compile(r"(?:\.([0-9]{3}))?(?:Z|([+-])([0-9]{2})([0-9]{2}))\Z")
_DURATION_RE = re.compile(r"-?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?\Z")


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
class Datetime(ExtensionValue):
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
            in_2000 = Datetime(_days_from_civil(2000, month, day) * MS_PER_DAY + ms_of_day).literal_text()
            assert in_2000 is not None  # the year 2000 has a datetime string
            text = f"{year:04d}{in_2000[4:]}"
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
class Duration(ExtensionValue):
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
