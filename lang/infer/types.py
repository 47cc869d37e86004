"""Type variables for schema inference, unified in place, and what the
inference knows about Cedar's extension functions."""

from __future__ import annotations

from dataclasses import dataclass

EXTENSION_OF_FUNCTION = {"ip": "ipaddr", "decimal": "decimal", "datetime": "datetime", "duration": "duration"}
# Extension methods: (receiver type, argument types, result); "bool"/"long" are primitives.
EXTENSION_METHODS = {
    **{n: ("decimal", ("decimal",), "bool")
       for n in ("lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual")},
    **{n: ("ipaddr", (), "bool") for n in ("isIpv4", "isIpv6", "isLoopback", "isMulticast")},
    "isInRange": ("ipaddr", ("ipaddr",), "bool"),
    "offset": ("datetime", ("duration",), "datetime"),
    "durationSince": ("datetime", ("datetime",), "duration"),
    "toDate": ("datetime", (), "datetime"),
    "toTime": ("datetime", (), "duration"),
    **{n: ("duration", (), "long") for n in ("toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds")},
}


# --------------------------------------------------------------------------
# Type variables, unified in place


class TypeVar:
    """A type being inferred.  `kind` is None (unknown yet), "Bool",
    "Long", "String", "ext" (`ext` names which), "entity" (`entity` names
    the type, None while unknown), "set" (`elem`) or "record" (`fields`).
    An unknown or entity-of-unknown-type variable collects the attributes
    read from it in `fields` until its kind is known."""

    __slots__ = ("parent", "kind", "ext", "entity", "elem", "fields", "default_like", "instances")

    def __init__(self, kind: str | None = None, *, ext: str | None = None, entity: str | None = None):
        self.parent: TypeVar | None = None
        self.kind, self.ext, self.entity = kind, ext, entity
        self.elem: TypeVar | None = None
        self.fields: dict[str, Field] = {}
        self.default_like: TypeVar | None = None  # an entity of unknown type: default to this one's type
        self.instances: list[frozenset[str]] = []  # a record: the fields each data instance has


@dataclass
class Field:
    """An attribute (or context field, or record field): its type, and
    whether a policy reads it without a `has` guard (then it must be
    required for strict validation)."""

    var: TypeVar
    read_unguarded: bool = False

    def merge(self, other: Field) -> None:
        self.read_unguarded |= other.read_unguarded


def required(record: TypeVar, name: str, f: Field) -> bool:
    """Required when a policy reads it unguarded, or when the data shows
    it on every instance of the record (and shows some instance)."""
    seen = find(record).instances
    return f.read_unguarded or (bool(seen) and all(name in keys for keys in seen))


def find(v: TypeVar) -> TypeVar:
    while v.parent is not None:
        if v.parent.parent is not None:
            v.parent = v.parent.parent
        v = v.parent
    return v


def settles(weak: TypeVar, strong: TypeVar) -> bool:
    """Does `strong` say what the weakly known `weak` is?  A string in the
    data may be a String or an extension value written as its text; an
    operand of `<` is a Long, a datetime or a duration."""
    if weak.kind == "data-string":
        return strong.kind in ("String", "ext")
    if weak.kind == "comparable":
        return strong.kind == "Long" or (strong.kind == "ext" and strong.ext in ("datetime", "duration"))
    return False


def element(v: TypeVar) -> TypeVar | None:
    v = find(v)
    return v.elem if v.kind == "set" else v


def describe(v: TypeVar) -> str:
    if v.kind == "entity":
        return f"entity of type {v.entity}" if v.entity else "entity"
    if v.kind == "ext":
        return str(v.ext)
    if v.kind == "set":
        return "set"
    return v.kind or "value of unknown type"
