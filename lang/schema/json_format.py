"""Cedar's JSON schema format: reading it into unresolved declarations, and
writing a `Schema` back out."""

from __future__ import annotations

import json

from cedarscope.lang.files import json_kind
from cedarscope.lang.schema.declarations import Schema
from cedarscope.lang.schema.raw import (
    IDENT_RE,
    PATH_RE,
    PRIMITIVES,
    RESERVED_TYPE_NAMES,
    RawAction,
    RawEntity,
    RawNamespace,
    RawRecord,
    RawRef,
    RawSet,
    RawType,
    Where,
)
from cedarscope.lang.schema.types import (
    BoolType,
    CedarType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    SetType,
    StringType,
)


def read_json_schema(text: str, filename: str) -> list[RawNamespace]:
    from cedarscope.lang.files import load_json  # located syntax errors; no deeper than Cedar reads

    return _JsonSchemaReader(filename).read(load_json(text, filename))


class _JsonSchemaReader:
    """Cedar JSON schema -> unresolved declarations.  Locations are JSON paths."""

    def __init__(self, filename: str):
        self.filename = filename

    def where(self, path: str) -> Where:
        return Where(self.filename, path=path or "(top level)")

    def mapping(self, value, path: str, what: str) -> dict:
        """A JSON object whose keys are names chosen by the schema's author."""
        if not isinstance(value, dict):
            raise self.where(path).error(f"expected {what} (a JSON object), got {json_kind(value)}")
        return value

    def object(self, value, path: str, allowed: set[str], what: str) -> dict:
        """A JSON object with a fixed set of fields."""
        self.mapping(value, path, what)
        for key in value:
            if key not in allowed:
                raise self.where(_join(path, key)).error(
                    f"unknown field `{key}` in {what}; expected one of {', '.join(sorted(allowed))}"
                )
        return value

    def array(self, value, path: str, what: str) -> list:
        if not isinstance(value, list):
            raise self.where(path).error(f"expected {what} (a JSON array), got {json_kind(value)}")
        return value

    def string(self, value, path: str, what: str) -> str:
        if not isinstance(value, str):
            raise self.where(path).error(f"expected {what} (a string), got {json_kind(value)}")
        return value

    def ident(self, name: str, path: str) -> str:
        if not IDENT_RE.match(name):
            raise self.where(path).error(f"invalid id `{name}`")
        return name

    def name(self, value, path: str, what: str) -> str:
        """A type name: an identifier, possibly qualified (`A::B::C`)."""
        name = self.string(value, path, what)
        if not PATH_RE.match(name):
            raise self.where(path).error(f"invalid name `{name}`")
        return name

    def read(self, data) -> list[RawNamespace]:
        if not isinstance(data, dict):
            raise self.where("").error(f"expected a JSON object of namespaces, got {json_kind(data)}")
        namespaces = []
        for name, body in data.items():
            path = _join("", name)
            self.object(body, path, {"entityTypes", "actions", "commonTypes", "annotations"}, "a namespace")
            for required in ("entityTypes", "actions"):
                if required not in body:
                    raise self.where(path).error(f"missing field `{required}`")
            if name and not PATH_RE.match(name):
                raise self.where(path).error(f"invalid namespace `{name}`")
            ns = RawNamespace(name, self.where(path))
            common = self.mapping(body.get("commonTypes", {}), _join(path, "commonTypes"), "common types")
            for tname, tbody in common.items():
                tpath = _join(path, "commonTypes", tname)
                self.ident(tname, tpath)
                if tname in RESERVED_TYPE_NAMES:
                    raise self.where(tpath).error(f"this uses a reserved schema keyword: `{tname}`")
                ns.common[tname] = (self.type(tbody, tpath), self.where(tpath))
            entity_types = self.mapping(body["entityTypes"], _join(path, "entityTypes"), "entity types")
            for ename, ebody in entity_types.items():
                self.ident(ename, _join(path, "entityTypes", ename))
                ns.entities[ename] = self.entity(ename, ebody, _join(path, "entityTypes", ename))
            actions = self.mapping(body["actions"], _join(path, "actions"), "actions")
            for aname, abody in actions.items():
                ns.actions[aname] = self.action(aname, abody, _join(path, "actions", aname))
            namespaces.append(ns)
        return namespaces

    def entity(self, name: str, body, path: str) -> RawEntity:
        if isinstance(body, dict) and "enum" in body:
            # an enum entity type is its list of ids and nothing else (as in Cedar)
            self.object(body, path, {"enum", "annotations"}, "an enum entity type")
        else:
            self.object(body, path, {"memberOfTypes", "shape", "tags", "annotations"}, "an entity type")
        entity = RawEntity(name, self.where(path))
        mpath = _join(path, "memberOfTypes")
        for i, parent in enumerate(self.array(body.get("memberOfTypes", []), mpath, "entity type names")):
            ppath = f"{mpath}[{i}]"
            entity.member_of.append((self.name(parent, ppath, "an entity type name"), self.where(ppath)))
        if "shape" in body:
            entity.shape = self.type(body["shape"], _join(path, "shape"))
        if "tags" in body:
            entity.tags = self.type(body["tags"], _join(path, "tags"))
        if "enum" in body:
            epath = _join(path, "enum")
            values = self.array(body["enum"], epath, "enum values")
            entity.enum = tuple(self.string(v, f"{epath}[{i}]", "an enum value") for i, v in enumerate(values))
            if not values:
                raise self.where(epath).error("an enum entity type needs at least one value")
        return entity

    def action(self, name: str, body, path: str) -> RawAction:
        if body is None:
            body = {}
        self.object(body, path, {"memberOf", "appliesTo", "attributes", "annotations"}, "an action")
        if "attributes" in body:
            raise self.where(_join(path, "attributes")).error("action attributes are not supported")
        action = RawAction(name, self.where(path))
        mpath = _join(path, "memberOf")
        for i, ref in enumerate(self.array(body.get("memberOf") or [], mpath, "action references")):
            rpath = f"{mpath}[{i}]"
            self.object(ref, rpath, {"id", "type"}, "an action reference")
            if "id" not in ref:
                raise self.where(rpath).error("missing field `id`")
            type_ = self.name(ref["type"], _join(rpath, "type"), "an action type") if "type" in ref else None
            action_id = self.string(ref["id"], _join(rpath, "id"), "an action id")
            action.member_of.append((type_, action_id, self.where(rpath)))
        applies = body.get("appliesTo")
        if applies is not None:
            apath = _join(path, "appliesTo")
            self.object(applies, apath, {"principalTypes", "resourceTypes", "context"}, "appliesTo")
            action.applies_to = True
            for key, attr in (("principalTypes", "principals"), ("resourceTypes", "resources")):
                if key not in applies:
                    raise self.where(apath).error(f"missing field `{key}`")
                kpath = _join(apath, key)
                names = self.array(applies[key], kpath, "entity type names")
                setattr(action, attr, [
                    (self.name(n, f"{kpath}[{i}]", "an entity type name"), self.where(f"{kpath}[{i}]"))
                    for i, n in enumerate(names)
                ])
            if "context" in applies:
                action.context = self.type(applies["context"], _join(apath, "context"))
        return action

    def type(self, body, path: str) -> RawType:
        if not isinstance(body, dict) or "type" not in body:
            raise self.where(path).error("expected a type (a JSON object with a `type` field)")
        kind = self.name(body["type"], _join(path, "type"), "a type name")
        allowed = {"type", "required", "annotations"}
        if kind == "Set":
            self.object(body, path, allowed | {"element"}, "a Set type")
            if "element" not in body:
                raise self.where(path).error("missing field `element`")
            return RawSet(self.type(body["element"], _join(path, "element")))
        if kind == "Record":
            self.object(body, path, allowed | {"attributes", "additionalAttributes"}, "a Record type")
            if body.get("additionalAttributes", False) is not False:
                raise self.where(_join(path, "additionalAttributes")).error(
                    "records with additional attributes are not supported"
                )
            apath = _join(path, "attributes")
            if "attributes" not in body:
                raise self.where(path).error("missing field `attributes`")
            attrs = body["attributes"]
            self.mapping(attrs, apath, "attributes")
            fields = []
            for aname, abody in attrs.items():
                tpath = _join(apath, aname)
                required = abody.get("required", True) if isinstance(abody, dict) else True
                if not isinstance(required, bool):
                    raise self.where(_join(tpath, "required")).error("expected `required` to be true or false")
                fields.append((aname, self.type(abody, tpath), required))
            return RawRecord(tuple(fields))
        if kind in ("Entity", "Extension", "EntityOrCommon"):
            self.object(body, path, allowed | {"name"}, f"an {kind} type")
            if "name" not in body:
                raise self.where(path).error("missing field `name`")
            name = self.name(body["name"], _join(path, "name"), "a type name")
            ref_kind = {"Entity": "entity", "Extension": "extension", "EntityOrCommon": "any"}[kind]
            return RawRef(name, self.where(path), ref_kind)
        self.object(body, path, allowed, "a type")
        if kind == "Boolean":
            return BoolType()
        if kind in ("Long", "String"):
            return PRIMITIVES[kind]
        # Any other name is a common type (or a built-in), never an entity type.
        return RawRef(kind, self.where(path), "common")


def _join(path: str, *keys: str) -> str:
    for key in keys:
        plain = key.replace("_", "a").isalnum() and not key[:1].isdigit()
        part = key if plain else json.dumps(key)
        path = f"{path}.{part}" if path else part
    return path


# --------------------------------------------------------------------------
# Writing the JSON schema format.  Every name is written fully qualified
# (a qualified name is absolute in Cedar), types are written with their
# explicit forms, and common types are inlined.


def schema_to_json(schema: Schema) -> dict:
    namespaces: dict[str, dict] = {}

    def namespace(name: str) -> dict:
        return namespaces.setdefault(name, {"entityTypes": {}, "actions": {}})

    for name in sorted(schema.entity_types):
        et = schema.entity_types[name]
        ns, _, basename = name.rpartition("::")
        body: dict = {}
        if et.enum is not None:
            body["enum"] = list(et.enum)
        if et.member_of:
            body["memberOfTypes"] = list(et.member_of)
        if et.shape.attrs:
            body["shape"] = type_to_json(et.shape)
        if et.tags is not None:
            body["tags"] = type_to_json(et.tags)
        namespace(ns)["entityTypes"][basename] = body
    for uid in sorted(schema.actions):
        action = schema.actions[uid]
        ns = uid.type.rpartition("::")[0]
        body = {}
        if action.member_of:
            body["memberOf"] = [{"type": g.type, "id": g.id} for g in action.member_of]
        if action.principal_types and action.resource_types:
            applies: dict = {
                "principalTypes": list(action.principal_types),
                "resourceTypes": list(action.resource_types),
            }
            if action.context.attrs:
                applies["context"] = type_to_json(action.context)
            body["appliesTo"] = applies
        namespace(ns)["actions"][uid.id] = body
    return {name: namespaces[name] for name in sorted(namespaces)}


def type_to_json(t: CedarType) -> dict:
    """A type in the JSON schema format."""
    if isinstance(t, BoolType):
        return {"type": "Boolean"}
    if isinstance(t, LongType):
        return {"type": "Long"}
    if isinstance(t, StringType):
        return {"type": "String"}
    if isinstance(t, EntityType):
        return {"type": "Entity", "name": t.name}
    if isinstance(t, ExtensionType):
        return {"type": "Extension", "name": t.name}
    if isinstance(t, SetType):
        return {"type": "Set", "element": type_to_json(t.elem)}
    if isinstance(t, RecordType):
        attrs = {}
        for name, attr in t.attrs:
            body = type_to_json(attr.type)
            if not attr.required:
                body["required"] = False
            attrs[name] = body
        return {"type": "Record", "attributes": attrs}
    raise TypeError(f"not a schema type: {t!r}")
