"""The schema's types: the types an attribute, a context or a tag may have."""

from __future__ import annotations

from dataclasses import dataclass


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
    elem: CedarType

    def __str__(self) -> str:
        return f"Set<{self.elem}>"


@dataclass(frozen=True)
class Attribute:
    type: CedarType
    required: bool = True


@dataclass(frozen=True)
class RecordType:
    """Attributes in sorted name order (so equal records compare equal)."""

    attrs: tuple[tuple[str, Attribute], ...] = ()

    def get(self, name: str) -> Attribute | None:
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


CedarType = BoolType | LongType | StringType | EntityType | SetType | RecordType | ExtensionType


def record_type(attrs: dict) -> RecordType:
    """A RecordType from a {name: Attribute} dict, in canonical order."""
    return RecordType(tuple(sorted(attrs.items())))
