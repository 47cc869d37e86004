"""Unresolved declarations: what the two schema formats are read into before
one resolver (`lang.schema.resolve`) turns them into a `Schema`, so both
formats share Cedar's name-resolution rules exactly."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cedarscope.lang.diagnostics import CedarError, Diagnostic, elide
from cedarscope.lang.schema.types import BoolType, LongType, StringType

IDENT_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
PATH_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*(::[_a-zA-Z][_a-zA-Z0-9]*)*\Z")
PRIMITIVES: dict[str, BoolType | LongType | StringType] = {
    "Bool": BoolType(), "Long": LongType(), "String": StringType()}
EXTENSIONS = ("ipaddr", "decimal", "datetime", "duration")
# Names a common type may not take (Cedar reserves them for the JSON format).
RESERVED_TYPE_NAMES = frozenset(
    {"Bool", "Boolean", "String", "Long", "Set", "Record", "Entity", "Extension"}
)


@dataclass(frozen=True)
class Where:
    """Where a declaration was written: a line and column (Cedar syntax) or
    a JSON path (JSON format)."""

    file: str
    line: int | None = None
    column: int | None = None
    path: str | None = None
    source_line: str | None = None

    def error(self, message: str) -> CedarError:
        """The error, bounded: a message or JSON path that quotes a huge name stays one short line."""
        path = elide(self.path, 160) if self.path else self.path
        return CedarError(
            Diagnostic(elide(message), self.file, self.line, self.column, path, self.source_line)
        )


@dataclass(frozen=True)
class RawRef:
    """A type written by name.  `kind` says what it may name: "any" (an entity
    or common type or a built-in, Cedar's EntityOrCommon), "common" (a common
    type or a built-in: the JSON format's `{"type": "Name"}`), "entity" or
    "extension" (the JSON format's explicit forms)."""

    name: str
    where: Where
    kind: str = "any"


@dataclass(frozen=True)
class RawSet:
    elem: RawType


@dataclass(frozen=True)
class RawRecord:
    attrs: tuple[tuple[str, RawType, bool], ...]  # (name, type, required)


RawType = BoolType | LongType | StringType | RawRef | RawSet | RawRecord


@dataclass
class RawEntity:
    name: str
    where: Where
    member_of: list[tuple[str, Where]] = field(default_factory=list)
    shape: RawType | None = None
    tags: RawType | None = None
    enum: tuple[str, ...] | None = None


@dataclass
class RawAction:
    name: str
    where: Where
    member_of: list[tuple[str | None, str, Where]] = field(default_factory=list)
    applies_to: bool = False
    principals: list[tuple[str, Where]] = field(default_factory=list)
    resources: list[tuple[str, Where]] = field(default_factory=list)
    context: RawType | None = None


@dataclass
class RawNamespace:
    name: str  # "" for the empty namespace
    where: Where
    common: dict[str, tuple[RawType, Where]] = field(default_factory=dict)
    entities: dict[str, RawEntity] = field(default_factory=dict)
    actions: dict[str, RawAction] = field(default_factory=dict)

    def qualify(self, name: str) -> str:
        return f"{self.name}::{name}" if self.name else name

    @property
    def action_type(self) -> str:
        return self.qualify("Action")
