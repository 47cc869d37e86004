"""Cedar values as Python data.

Bool is `bool`, Long is `int` (signed 64-bit, range-checked by whoever makes
one), String is `str`; entity references are `EntityUID`; sets and records are
`CedarSet` and `CedarRecord`.  Extension values (decimal, ipaddr, datetime,
duration) are defined in `lang.ext` and re-exported here.

Python's ``True == 1`` would make Cedar's ``true == 1`` hold and collapse
``[true, 1]`` to one element, so equality and hashing of Cedar values always
go through `value_key`, which tags every value with its Cedar type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Long's bounds and the extension types live in their own modules; they are
# Cedar values too, so this module names them for its callers.
from cedarscope.lang.ext import EXTENSION_TYPES, Datetime, Decimal, Duration, IPAddr
from cedarscope.lang.ext.datetime import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND
from cedarscope.lang.ext.decimal import DECIMAL_DIGITS, DECIMAL_SCALE
from cedarscope.lang.ext.ipaddr import IP_STR_MAX_LEN, IPV4_BITS, IPV6_BITS
from cedarscope.lang.int64 import LONG_MAX, LONG_MIN


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


def is_action_type(name: str) -> bool:
    """Cedar's test for an action entity type: its basename is `Action`."""
    return name == "Action" or name.endswith("::Action")


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


__all__ = [
    "DECIMAL_DIGITS", "DECIMAL_SCALE", "EXTENSION_TYPES", "IPV4_BITS", "IPV6_BITS", "IP_STR_MAX_LEN",
    "LONG_MAX", "LONG_MIN", "MS_PER_DAY", "MS_PER_HOUR", "MS_PER_MINUTE", "MS_PER_SECOND",
    "CedarRecord", "CedarSet", "Datetime", "Decimal", "Duration", "EntityUID", "IPAddr",
    "escape_string", "type_name", "value_eq", "value_key",
]
