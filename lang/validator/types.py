"""The validator's types, and how they relate to the schema's."""

from __future__ import annotations

from dataclasses import dataclass

from cedarscope.lang import schema as S

# The validator's types.  Richer than lang.schema's: singleton booleans
# (`true`, `false`), the bottom type `Never`, "any entity", open records, and
# "any set" (only ever *expected*, never inferred).


@dataclass(frozen=True)
class NeverT:
    def __str__(self) -> str:
        return "Never"


@dataclass(frozen=True)
class BoolT:
    value: bool | None = None  # None: any Bool; True/False: singleton types

    def __str__(self) -> str:
        return "Bool"


@dataclass(frozen=True)
class LongT:
    def __str__(self) -> str:
        return "Long"


@dataclass(frozen=True)
class StringT:
    def __str__(self) -> str:
        return "String"


@dataclass(frozen=True)
class SetT:
    elem: Ty | None  # None: any set (an expectation only)

    def __str__(self) -> str:
        return f"Set<{self.elem}>" if self.elem is not None else "Set"


@dataclass(frozen=True)
class EntityT:
    """An entity of one of `names` (a least upper bound; strict mode only
    ever builds singletons).  Action entities are entities of their action
    entity type (``Action``, ``NS::Action``)."""

    names: frozenset[str]

    def __str__(self) -> str:
        return " | ".join(sorted(self.names))


@dataclass(frozen=True)
class AnyEntityT:
    def __str__(self) -> str:
        return "entity"


@dataclass(frozen=True)
class AttrT:
    type: Ty
    required: bool = True


@dataclass(frozen=True)
class RecordT:
    """Attributes sorted by name.  A closed record has exactly these
    attributes; an open one may have more (only the "any record"
    expectation is open in strict mode)."""

    attrs: tuple[tuple[str, AttrT], ...] = ()
    open: bool = False

    def get(self, name: str) -> AttrT | None:
        for k, a in self.attrs:
            if k == name:
                return a
        return None

    def keys(self) -> frozenset[str]:
        return frozenset(k for k, _ in self.attrs)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}{'' if a.required else '?'}: {a.type}" for k, a in self.attrs)
        return "{" + inner + "}"


@dataclass(frozen=True)
class ExtT:
    name: str  # decimal | ipaddr | datetime | duration

    def __str__(self) -> str:
        return self.name


Ty = NeverT | BoolT | LongT | StringT | SetT | EntityT | AnyEntityT | RecordT | ExtT

BOOL, TRUE, FALSE = BoolT(), BoolT(True), BoolT(False)
LONG, STRING = LongT(), StringT()
ANY_SET = SetT(None)
ANY_ENTITY = AnyEntityT()
ANY_RECORD = RecordT((), open=True)
NEVER = NeverT()


def record_of(attrs: dict[str, AttrT], open: bool = False) -> RecordT:
    return RecordT(tuple(sorted(attrs.items())), open)


def from_schema_type(t: S.CedarType) -> Ty:
    """A schema type as a validator type (schema records are closed)."""
    if isinstance(t, S.BoolType):
        return BOOL
    if isinstance(t, S.LongType):
        return LONG
    if isinstance(t, S.StringType):
        return STRING
    if isinstance(t, S.EntityType):
        return EntityT(frozenset([t.name]))
    if isinstance(t, S.SetType):
        return SetT(from_schema_type(t.elem))
    if isinstance(t, S.RecordType):
        return from_schema_record(t)
    if isinstance(t, S.ExtensionType):
        return ExtT(t.name)
    raise TypeError(f"not a schema type: {t!r}")


def from_schema_record(r: S.RecordType) -> RecordT:
    return RecordT(tuple((k, AttrT(from_schema_type(a.type), a.required)) for k, a in r.attrs))


def to_schema_type(t: Ty | None) -> S.CedarType | None:
    """A validator type as a schema type, or None when it has no schema
    counterpart (Never, any entity, an entity union, any set)."""
    if isinstance(t, BoolT):
        return S.BoolType()
    if isinstance(t, LongT):
        return S.LongType()
    if isinstance(t, StringT):
        return S.StringType()
    if isinstance(t, EntityT) and len(t.names) == 1:
        return S.EntityType(next(iter(t.names)))
    if isinstance(t, SetT) and t.elem is not None:
        elem = to_schema_type(t.elem)
        return S.SetType(elem) if elem is not None else None
    if isinstance(t, RecordT):
        attrs = {}
        for k, a in t.attrs:
            at = to_schema_type(a.type)
            if at is None:
                return None
            attrs[k] = S.Attribute(at, a.required)
        return S.record_type(attrs)
    if isinstance(t, ExtT):
        return S.ExtensionType(t.name)
    return None
