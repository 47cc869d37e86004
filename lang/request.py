"""A Cedar authorization request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.entities import JsonReader
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID, type_name

if TYPE_CHECKING:
    from cedarscope.lang.schema import CedarType, Schema


@dataclass(frozen=True)
class Request:
    principal: EntityUID
    action: EntityUID
    resource: EntityUID
    context: CedarRecord = field(default_factory=CedarRecord)


# --------------------------------------------------------------------------
# Cedar's request JSON: `{"principal": P, "action": A, "resource": R,
# "context": {..}}` where P, A, R are `{"type": .., "id": ..}` (or
# `{"__entity": {..}}`) or a Cedar entity literal string `User::"alice"`.


def parse_request(obj: dict, filename: str = "<request>", schema: Schema | None = None) -> Request:
    """A request from its JSON form.  With a schema, the context is read as
    the action's declared context type (implicit entity and extension forms
    allowed) and must conform to it."""
    reader = JsonReader(filename, schema)
    if not isinstance(obj, dict):
        raise reader.error("", "expected a request (a JSON object)")
    for key in obj:
        if key not in _REQUEST_FIELDS:
            raise reader.error(key, f"unknown field `{key}`; expected principal, action, resource or context")
    principal, action, resource = (_uid_field(obj, key, reader) for key in ("principal", "action", "resource"))
    context_json = obj.get("context", {})
    if context_json is None:
        context_json = {}
    context_type = None
    if schema is not None and action in schema.actions:
        context_type = schema.actions[action].context
    if not isinstance(context_json, dict):
        raise reader.error("context", f"expected the context to be a JSON object, got {type(context_json).__name__}")
    context = reader.record(context_json, context_type, "context")
    return Request(principal, action, resource, context)


_REQUEST_FIELDS = ("principal", "action", "resource", "context",
                   # fields of integration-test request objects, not of the request itself
                   "description", "validateRequest", "decision", "reason", "errors")


def _uid_field(obj: dict, key: str, reader) -> EntityUID:
    if key not in obj:
        raise reader.error("", f"missing field `{key}`")
    value = obj[key]
    if isinstance(value, str):
        from cedarscope.lang.parser import parse_entity_uid

        try:
            return parse_entity_uid(value)
        except CedarError as e:
            message = e.diagnostics[0].message if e.diagnostics else "invalid entity literal"
            raise reader.error(key, f"invalid entity literal {value!r}: {message}{_quoting_hint(value)}") from None
    return reader.uid(value, key)


def _quoting_hint(value: str) -> str:
    """`User::alice`: the id's quotes are missing, a likely slip in JSON,
    where they must be escaped."""
    head, sep, last = value.rpartition("::")
    if sep and head and last and not last.startswith('"'):
        return f' (an entity literal quotes its id: {head}::"{last}", in JSON {head}::\\"{last}\\")'
    return ""


def request_to_json(r: Request) -> dict:
    """Cedar's JSON request form (explicit `{"type", "id"}` uids)."""
    from cedarscope.lang.entities import value_to_json

    return {
        "principal": r.principal.to_json(),
        "action": r.action.to_json(),
        "resource": r.resource.to_json(),
        "context": {k: value_to_json(v) for k, v in r.context.items()},
    }


def validate_request(r: Request, schema: Schema, filename: str = "<request>") -> list[Diagnostic]:
    """Cedar's request validation: the action is declared, the principal and
    resource types are ones it applies to (enum ids among the declared
    values), and the context conforms to the action's context type."""
    def problem(path: str, message: str) -> Diagnostic:
        return Diagnostic(message, filename, path=path)

    action = schema.actions.get(r.action)
    if action is None:
        return [problem("action", f"request's action `{r.action}` is not declared in the schema")]
    found = []
    for role, uid, allowed in (("principal", r.principal, action.principal_types),
                               ("resource", r.resource, action.resource_types)):
        if uid.type not in allowed:
            found.append(problem(role, f"{role} type `{uid.type}` is not valid for `{r.action}`"))
        elif _bad_enum_id(uid, schema):
            found.append(problem(
                role, f"entity `{uid}` is of an enumerated type, but `{uid.id}` is not one of its values"))
    found += [problem(path, message) for path, message in conformance(r.context, action.context, "context", schema)]
    return found


def conformance(v: Any, t: CedarType, path: str, schema: Schema | None = None) -> list[tuple[str, str]]:
    """Every way the value `v` fails to have the schema type `t`, as (JSON
    path, message) pairs; empty when it conforms."""
    from cedarscope.lang import schema as S

    def mismatch() -> list[tuple[str, str]]:
        return [(path, f"expected {t}, got {type_name(v)}")]

    if isinstance(t, S.BoolType):
        return [] if isinstance(v, bool) else mismatch()
    if isinstance(t, S.LongType):
        return [] if isinstance(v, int) and not isinstance(v, bool) else mismatch()
    if isinstance(t, S.StringType):
        return [] if isinstance(v, str) else mismatch()
    if isinstance(t, S.EntityType):
        if not isinstance(v, EntityUID) or v.type != t.name:
            return mismatch()
        if schema is not None and _bad_enum_id(v, schema):
            return [(path, f"entity `{v}` is of an enumerated type, but `{v.id}` is not one of its values")]
        return []
    if isinstance(t, S.ExtensionType):
        return [] if getattr(v, "CEDAR_TYPE", None) == t.name else mismatch()
    if isinstance(t, S.SetType):
        if not isinstance(v, CedarSet):
            return mismatch()
        return [p for i, x in enumerate(v) for p in conformance(x, t.elem, f"{path}[{i}]", schema)]
    if isinstance(t, S.RecordType):
        if not isinstance(v, CedarRecord):
            return mismatch()
        found = []
        for name, attr in t.attrs:
            if attr.required and name not in v:
                found.append((path, f"missing required attribute `{name}`"))
        for name, x in v.items():
            declared = t.get(name)
            if declared is None:
                found.append((f"{path}.{name}", f"attribute `{name}` is not declared"))
            else:
                found += conformance(x, declared.type, f"{path}.{name}", schema)
        return found
    raise TypeError(f"not a schema type: {t!r}")


def _bad_enum_id(uid: EntityUID, schema: Schema) -> bool:
    definition = schema.entity_types.get(uid.type)
    return definition is not None and definition.enum is not None and uid.id not in definition.enum
