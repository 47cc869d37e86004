"""Cedar schemas: the type model shared by the validator and the encoder.

Both schema formats (the Cedar schema syntax, ``.cedarschema``, and the JSON
schema) are read into one `Schema`.  All names here are fully qualified
(``NS::Type``, ``NS::Action::"view"``) once a schema is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from lang.values import EntityUID


# --------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class BoolType:
    def __str__(self) -> str:
        return "Bool"


@dataclass(frozen=True)
class LongType:
    def __str__(self) -> str:
        return "Long"


@dataclass(frozen=True)
class StringType:
    def __str__(self) -> str:
        return "String"


@dataclass(frozen=True)
class EntityType:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SetType:
    elem: "CedarType"

    def __str__(self) -> str:
        return f"Set<{self.elem}>"


@dataclass(frozen=True)
class Attribute:
    type: "CedarType"
    required: bool = True


@dataclass(frozen=True)
class RecordType:
    """Attributes in sorted name order (so equal records compare equal)."""

    attrs: tuple[tuple[str, Attribute], ...] = ()

    def get(self, name: str) -> Optional[Attribute]:
        for k, a in self.attrs:
            if k == name:
                return a
        return None

    def __str__(self) -> str:
        inner = ", ".join(f"{k}{'' if a.required else '?'}: {a.type}" for k, a in self.attrs)
        return "{" + inner + "}"


@dataclass(frozen=True)
class ExtensionType:
    name: str  # "decimal" | "ipaddr" | "datetime" | "duration"

    def __str__(self) -> str:
        return self.name


CedarType = Union[BoolType, LongType, StringType, EntityType, SetType, RecordType, ExtensionType]


def record_type(attrs: dict) -> RecordType:
    """A RecordType from a {name: Attribute} dict, in canonical order."""
    return RecordType(tuple(sorted(attrs.items())))


# --------------------------------------------------------------------------
# Declarations


@dataclass(frozen=True)
class EntityTypeDef:
    name: str
    member_of: tuple[str, ...] = ()  # entity types its parents may have
    shape: RecordType = RecordType()
    tags: Optional[CedarType] = None
    enum: Optional[tuple[str, ...]] = None  # the only ids an enum type allows


@dataclass(frozen=True)
class ActionDef:
    uid: EntityUID
    member_of: tuple[EntityUID, ...] = ()  # action groups it is directly in
    principal_types: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    context: RecordType = RecordType()


@dataclass(frozen=True)
class RequestEnv:
    """One request environment: the principal type, the action and the
    resource type of a request the schema allows."""

    principal_type: str
    action: EntityUID
    resource_type: str

    def __str__(self) -> str:
        return f"{self.principal_type}, {self.action}, {self.resource_type}"


@dataclass
class Schema:
    entity_types: dict[str, EntityTypeDef] = field(default_factory=dict)
    actions: dict[EntityUID, ActionDef] = field(default_factory=dict)
