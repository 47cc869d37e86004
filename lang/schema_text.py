"""A `Schema` written in Cedar's schema syntax (``.cedarschema``).

Declarations are grouped by namespace and sorted, so the same schema always
prints the same text.  Types are written fully qualified (a qualified name
is absolute in Cedar's schema syntax); a name in the empty namespace is
written bare.  `parse_schema(schema_to_text(s))` gives back `s`.
"""

from __future__ import annotations

import re

from cedarscope.lang.schema import (
    ActionDef,
    BoolType,
    CedarType,
    EntityType,
    EntityTypeDef,
    ExtensionType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
)
from cedarscope.lang.values import EntityUID, escape_string

_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
# Words the schema syntax gives a meaning; a name spelled like one is quoted.
_KEYWORDS = frozenset({"namespace", "entity", "action", "type", "in", "appliesTo", "principal", "resource",
                       "context", "tags", "enum", "if", "then", "else", "true", "false", "like", "has", "is"})
INDENT = "  "


def schema_to_text(schema: Schema) -> str:
    namespaces: dict[str, list[str]] = {}
    for name in sorted(schema.entity_types):
        ns = name.rpartition("::")[0]
        namespaces.setdefault(ns, []).append(entity_decl(schema.entity_types[name]))
    for uid in sorted(schema.actions):
        ns = uid.type.rpartition("::")[0]
        namespaces.setdefault(ns, []).append(action_decl(schema.actions[uid]))
    blocks = []
    for ns in sorted(namespaces):
        decls = namespaces[ns]
        if ns:
            inner = "\n".join(INDENT + line for decl in decls for line in decl.splitlines())
            blocks.append(f"namespace {ns} {{\n{inner}\n}}")
        else:
            blocks.append("\n".join(decls))
    return "\n\n".join(blocks) + "\n"


def entity_decl(et: EntityTypeDef) -> str:
    basename = et.name.rpartition("::")[2]
    if et.enum is not None:
        return f"entity {basename} enum [{', '.join(quoted(v) for v in et.enum)}];"
    out = f"entity {basename}"
    if et.member_of:
        out += f" in [{', '.join(et.member_of)}]"
    if et.shape.attrs:
        out += " " + type_text(et.shape, 0)
    if et.tags is not None:
        out += f" tags {type_text(et.tags, 0)}"
    return out + ";"


def action_decl(action: ActionDef) -> str:
    out = f"action {_action_name(action.uid.id)}"
    if action.member_of:
        out += f" in [{', '.join(_action_ref(g, action.uid.type) for g in action.member_of)}]"
    if action.principal_types and action.resource_types:
        lines = [f"principal: [{', '.join(action.principal_types)}]",
                 f"resource: [{', '.join(action.resource_types)}]"]
        if action.context.attrs:
            lines.append(f"context: {type_text(action.context, 1)}")
        body = ",\n".join(INDENT + line for line in lines)
        out += f" appliesTo {{\n{body}\n}}"
    return out + ";"


def quoted(s: str) -> str:
    """A string literal in Cedar's syntax (its escapes, not JSON's)."""
    return '"' + escape_string(s) + '"'


def _name(name: str) -> str:
    """An action or attribute name: bare when it is a plain identifier."""
    return name if _IDENT.match(name) and name not in _KEYWORDS else quoted(name)


def _action_name(name: str) -> str:
    return _name(name)


def _action_ref(group: EntityUID, own_type: str) -> str:
    if group.type == own_type:
        return _action_name(group.id)
    return f"{group.type}::{quoted(group.id)}"


def type_text(t: CedarType, depth: int) -> str:
    if isinstance(t, BoolType):
        return "Bool"
    if isinstance(t, LongType):
        return "Long"
    if isinstance(t, StringType):
        return "String"
    if isinstance(t, EntityType):
        return t.name
    if isinstance(t, ExtensionType):
        return t.name
    if isinstance(t, SetType):
        return f"Set<{type_text(t.elem, depth)}>"
    if isinstance(t, RecordType):
        if not t.attrs:
            return "{}"
        pad = INDENT * (depth + 1)
        fields = [f"{pad}{_attr_name(name)}{'' if a.required else '?'}: {type_text(a.type, depth + 1)}"
                  for name, a in t.attrs]
        return "{\n" + ",\n".join(fields) + "\n" + INDENT * depth + "}"
    raise TypeError(f"not a schema type: {t!r}")


def _attr_name(name: str) -> str:
    return _name(name)
