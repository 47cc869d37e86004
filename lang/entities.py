"""Entity data: the store a request is evaluated against.

`Entities` keeps each entity's attributes, direct parents and tags, and
answers `in` with the transitive closure of the parent relation.  The
closure is never materialized for the whole store (for a parent chain n
deep that alone is n²/2 pairs): an entity's ancestors are found by one
breadth-first walk up its parents, linear in the store, the first time they
are asked for, and kept.  A cycle is an input error, found by one
depth-first walk over the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from cedarscope.lang.diagnostics import CedarError, Diagnostic, elide
from cedarscope.lang.entity import Entity
from cedarscope.lang.ext import ExtensionValue
from cedarscope.lang.schema import (
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
from cedarscope.lang.values import (
    EMPTY_RECORD,
    EXTENSION_TYPES,
    LONG_MAX,
    LONG_MIN,
    CedarRecord,
    CedarSet,
    Datetime,
    Duration,
    EntityUID,
    type_name,
)


class Entities:
    """An entity store.  `ancestors(uid)` is the transitive closure of parents."""

    # How many entities' ancestor sets are kept (each is as large as the
    # entity's reach): enough for every entity a batch of requests names.
    ANCESTOR_CACHE = 4096

    def __init__(self, entities: Iterable[Entity] = ()):
        self._by_uid: dict[EntityUID, Entity] = {}
        for e in entities:
            self._by_uid[e.uid] = e
        self._ancestors: dict[EntityUID, frozenset[EntityUID]] = {}

    def __contains__(self, uid: EntityUID) -> bool:
        return uid in self._by_uid

    def __iter__(self) -> Iterator[Entity]:
        return iter(self._by_uid.values())

    def __len__(self) -> int:
        return len(self._by_uid)

    def get(self, uid: EntityUID) -> Entity | None:
        return self._by_uid.get(uid)

    def ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        """Every entity `uid` is transitively in (not including itself).
        Parents named by an entity but absent from the store count too, as in
        Cedar."""
        found = self._ancestors.get(uid)
        if found is None:
            found = frozenset(self._walk_up(uid))
            if len(self._ancestors) >= self.ANCESTOR_CACHE:
                self._ancestors.clear()
            self._ancestors[uid] = found
        return found

    def _walk_up(self, uid: EntityUID) -> set[EntityUID]:
        """The ancestors of `uid`, by one breadth-first walk up the parents."""
        seen: set[EntityUID] = set()
        entity = self._by_uid.get(uid)
        frontier = list(entity.parents) if entity is not None else []
        while frontier:
            parent = frontier.pop()
            if parent in seen:
                continue
            seen.add(parent)
            above = self._by_uid.get(parent)
            if above is not None:
                frontier.extend(p for p in above.parents if p not in seen)
        return seen

    def find_cycle(self) -> EntityUID | None:
        """An entity that is its own ancestor (the least such in a cycle
        found), or None when the parent relation is acyclic.  One iterative
        depth-first walk: linear in entities and parent edges.  (Only when
        there is a cycle is it walked again in sorted order, so the entity
        named does not depend on the order of hashing.)"""
        if self._walk_for_cycle(sorted_parents=False) is None:
            return None
        return self._walk_for_cycle(sorted_parents=True)

    def _walk_for_cycle(self, sorted_parents: bool) -> EntityUID | None:
        parents_of = self._sorted_parents if sorted_parents else self._parents_of
        state: dict[EntityUID, int] = {}  # 1: on the walk's path, 2: done
        for root in self._by_uid:
            if root in state:
                continue
            path: list[EntityUID] = [root]
            pending: list[list[EntityUID]] = [parents_of(root)]
            state[root] = 1
            while pending:
                if not pending[-1]:
                    state[path.pop()] = 2
                    pending.pop()
                    continue
                parent = pending[-1].pop()
                mark = state.get(parent)
                if mark == 1:
                    return min(path[path.index(parent):])
                if mark is None:
                    state[parent] = 1
                    path.append(parent)
                    pending.append(parents_of(parent))
        return None

    def _parents_of(self, uid: EntityUID) -> list[EntityUID]:
        entity = self._by_uid.get(uid)
        return list(entity.parents) if entity is not None else []

    def _sorted_parents(self, uid: EntityUID) -> list[EntityUID]:
        return sorted(self._parents_of(uid))

    def with_entities(self, extra: Iterable[Entity]) -> Entities:
        """A new store with `extra` added (replacing same-uid entities)."""
        return Entities([*self._by_uid.values(), *extra])


# --------------------------------------------------------------------------
# Cedar's entities JSON format.
#
# An entity is `{"uid": UID, "attrs": {..}, "parents": [UID, ..], "tags": {..}}`
# where a UID is `{"type": .., "id": ..}` or `{"__entity": {"type": .., "id": ..}}`.
# Values: JSON booleans, integers and strings; arrays are sets; objects are
# records, except the escapes `{"__entity": UID}` and
# `{"__extn": {"fn": "decimal", "arg": "1.5"}}`.  With a schema, the
# expected type also lets an entity be written as a bare UID object and an
# extension value as its string, and the data must conform to the schema.

_NAME_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*(?:::[_a-zA-Z][_a-zA-Z0-9]*)*+\Z")
_EXTENSIONS_BY_FUNCTION = {cls.EXT_FUNCTION: cls for cls in EXTENSION_TYPES}
_EXTENSIONS_BY_TYPE = {cls.CEDAR_TYPE: cls for cls in EXTENSION_TYPES}
# Extension operations allowed in `__extn` besides the constructors (Cedar
# accepts any extension function call whose result is an extension value).
_EXTENSION_OPERATIONS: dict[str, tuple[Callable[..., Any], tuple[type[ExtensionValue], ...]]] = {
    "offset": (Datetime.offset, (Datetime, Duration)),
    "durationSince": (Datetime.duration_since, (Datetime, Datetime)),
    "toDate": (Datetime.to_date, (Datetime,)),
    "toTime": (Datetime.to_time, (Datetime,)),
}


def parse_entities(data: str | list, filename: str = "<entities>", schema: Schema | None = None) -> Entities:
    """An entity store from Cedar's entities JSON (text or already-decoded
    list).  With a schema: schema-directed values, conformance checks, and
    the schema's action entities added."""
    from cedarscope.lang.files import no_cycle_collection

    with no_cycle_collection():
        return _parse_entities(data, filename, schema)


def _parse_entities(data: str | list, filename: str, schema: Schema | None) -> Entities:
    owned = False  # JSON decoded here is released entity by entity
    if isinstance(data, (str, bytes)):
        data, owned = _load_json(data, filename), True
    reader = JsonReader(filename, schema)
    if not isinstance(data, list):
        raise reader.error("", f"expected a JSON array of entities, got {_json_type(data)}")
    found: dict[EntityUID, tuple[Entity, str]] = {}
    for i in range(len(data)):
        obj = data[i]
        if owned:
            data[i] = None  # the JSON we decoded ourselves goes as the entities are built
        path = f"[{i}]"
        entity = reader.entity(obj, path)
        if entity.uid in found and found[entity.uid][0] != entity:
            raise reader.error(path, f"duplicate entity entry `{entity.uid}`")
        found[entity.uid] = (entity, path)
    entities = [e for e, _ in found.values()]
    if schema is not None:
        reader.check_actions(found)
        entities += [a for a in schema.action_entities() if a.uid not in found]
    store = Entities(entities)
    _check_acyclic(store, {uid: path for uid, (_, path) in found.items()}, reader)
    return store


def load_entities(path, schema: Schema | None = None) -> Entities:
    from cedarscope.lang.files import read_text

    return parse_entities(read_text(path, "entities file"), str(path), schema)


def entities_to_json(entities: Entities) -> list[dict]:
    """Cedar's entities JSON, entities in uid order, parents sorted."""
    return [
        {
            "uid": e.uid.to_json(),
            "attrs": {k: value_to_json(v) for k, v in e.attrs.items()},
            "parents": [p.to_json() for p in sorted(e.parents)],
            "tags": {k: value_to_json(v) for k, v in e.tags.items()},
        }
        for e in sorted(entities, key=lambda e: e.uid)
    ]


def value_from_json(obj: Any, expected_type: CedarType | None = None, path: str = "",
                    filename: str = "<json>", schema: Schema | None = None) -> Any:
    """A Cedar value from its JSON form; `expected_type` (a schema type)
    directs the implicit forms and is checked."""
    return JsonReader(filename, schema).value(obj, expected_type, path)


def value_to_json(v: Any) -> Any:
    """The JSON form of a Cedar value, with explicit `__entity`/`__extn` escapes."""
    if isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, EntityUID):
        return {"__entity": v.to_json()}
    if isinstance(v, CedarSet):
        return [value_to_json(x) for x in v]
    if isinstance(v, CedarRecord):
        return {k: value_to_json(x) for k, x in v.items()}
    if isinstance(v, Datetime) and v.literal_text() is None:
        # Out of the datetime string's range: Cedar's own form, an offset from the epoch.
        return {"__extn": {"fn": "offset", "args": [
            {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
            {"__extn": {"fn": "duration", "arg": f"{v.ms}ms"}},
        ]}}
    if hasattr(v, "EXT_FUNCTION"):
        return {"__extn": {"fn": v.EXT_FUNCTION, "arg": str(v)}}
    raise TypeError(f"not a Cedar value: {v!r}")


def _load_json(text: str | bytes, filename: str) -> Any:
    from cedarscope.lang.files import load_json

    return load_json(text, filename)


def _json_type(obj: Any) -> str:
    """The Cedar-ish name of what a JSON value looks like, for messages."""
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "Bool"
    if isinstance(obj, int):
        return "Long"
    if isinstance(obj, float):
        return "a floating-point number"
    if isinstance(obj, str):
        return "String"
    if isinstance(obj, list):
        return "Set"
    if "__entity" in obj:
        return "entity"
    if "__extn" in obj:
        return "extension value"
    return "Record"


def _check_acyclic(store: Entities, paths: dict, reader: JsonReader) -> None:
    """Cedar rejects a parent relation with a cycle."""
    uid = store.find_cycle()
    if uid is not None:
        raise reader.error(paths.get(uid, ""), f"entity `{uid}` is its own ancestor (a cycle in `parents`)")


class JsonReader:
    """Reads entities and values, checking them against `schema` if given."""

    def __init__(self, filename: str, schema: Schema | None):
        self.filename = filename
        self.schema = schema
        self._uids: dict[EntityUID, EntityUID] = {}  # one object per uid: parents share them

    def error(self, path: str, message: str) -> CedarError:
        return CedarError(Diagnostic(elide(message), self.filename, path=elide(path or "(top level)", 160)))

    # Entities

    def entity(self, obj: Any, path: str) -> Entity:
        if not isinstance(obj, dict):
            raise self.error(path, f"expected an entity (a JSON object), got {_json_type(obj)}")
        for key in obj:
            if key not in ("uid", "attrs", "parents", "tags"):
                raise self.error(_key(path, key), f"unknown field `{key}`; expected uid, attrs, parents or tags")
        for key in ("uid", "attrs", "parents"):
            if key not in obj:
                raise self.error(path, f"missing field `{key}`")
        uid = self.uid(obj["uid"], _key(path, "uid"))
        if not isinstance(obj["parents"], list):
            raise self.error(_key(path, "parents"),
                             f"expected an array of entity references, got {_json_type(obj['parents'])}")
        parents = frozenset(self.uid(p, f"{path}.parents[{i}]") for i, p in enumerate(obj["parents"]))
        if self.schema is not None and self.is_action_type(uid.type):
            return self.action_entity(uid, obj, parents, path)
        definition = self.entity_type(uid, _key(path, "uid"))
        shape = definition.shape if definition else None
        attrs = self.record(obj["attrs"], shape, _key(path, "attrs"), owner=uid)
        tags = self.tags(obj.get("tags", {}), definition, _key(path, "tags"), uid)
        if definition is not None:
            assert self.schema is not None  # only a schema defines entity types
            allowed = self.schema.ancestor_types(uid.type)
            for parent in sorted(parents):
                if parent.type not in allowed:
                    raise self.error(
                        _key(path, "parents"),
                        f"`{uid}` is not allowed to have an ancestor of type `{parent.type}` according to the schema",
                    )
                self.check_enum(parent, _key(path, "parents"))  # an enum parent must be a declared id
        return Entity(uid, attrs, parents, tags)

    def is_action_type(self, type_name: str) -> bool:
        assert self.schema is not None  # asked only when reading against a schema
        if type_name in self.schema.entity_types:
            return False
        return type_name == "Action" or type_name.endswith("::Action")

    def action_entity(self, uid: EntityUID, obj: dict, parents: frozenset, path: str) -> Entity:
        """An action written in the data must agree with the schema's."""
        assert self.schema is not None  # asked only when reading against a schema
        if uid not in self.schema.actions:
            raise self.error(_key(path, "uid"),
                             f"found action entity `{uid}`, but it was not declared as an action in the schema")
        attrs = self.record(obj["attrs"], None, _key(path, "attrs"))
        tags = self.tags(obj.get("tags", {}), None, _key(path, "tags"), uid)
        if attrs or tags:
            raise self.error(path, f"definition of action `{uid}` does not match its schema declaration: "
                                   "actions have no attributes or tags")
        return Entity(uid, parents=parents)

    def check_actions(self, found: dict[EntityUID, tuple[Entity, str]]) -> None:
        """Cedar compares an action written in the data with the schema's
        after the transitive closure of the data's own parent edges: it must
        be in exactly the groups the schema puts it in."""
        assert self.schema is not None  # asked only when reading against a schema
        data = Entities(e for e, _ in found.values())
        for uid, (_entity, path) in found.items():
            if uid not in self.schema.actions:
                continue
            declared = self.schema.action_ancestors(uid)
            if data.ancestors(uid) != declared:
                raise self.error(
                    _key(path, "parents"),
                    f"definition of action `{uid}` does not match its schema declaration: "
                    f"it must be in exactly the groups {_uid_list(declared)}",
                )

    def entity_type(self, uid: EntityUID, path: str) -> EntityTypeDef | None:
        if self.schema is None:
            return None
        definition = self.schema.entity_types.get(uid.type)
        if definition is None:
            raise self.error(path, f"entity type `{uid.type}` is not declared in the schema")
        self.check_enum(uid, path)
        return definition

    def check_enum(self, uid: EntityUID, path: str) -> None:
        definition = self.schema.entity_types.get(uid.type) if self.schema else None
        if definition is not None and definition.enum is not None and uid.id not in definition.enum:
            raise self.error(
                path,
                f"entity `{uid}` is of an enumerated type, but `{uid.id}` is not one of its values "
                f"({', '.join(json.dumps(v) for v in definition.enum)})",
            )

    def tags(self, obj: Any, definition, path: str, uid: EntityUID) -> CedarRecord:
        if not isinstance(obj, dict):
            raise self.error(path, f"expected an object of tags, got {_json_type(obj)}")
        if definition is not None and definition.tags is None and obj:
            raise self.error(path, f"entity `{uid}` has tags, but its type `{uid.type}` declares none")
        if not obj:
            return EMPTY_RECORD
        tag_type = definition.tags if definition is not None else None
        return CedarRecord({k: self.value(v, tag_type, _key(path, k)) for k, v in obj.items()})

    def uid(self, obj: Any, path: str) -> EntityUID:
        """An entity reference: `{"type", "id"}` or `{"__entity": {"type", "id"}}`."""
        if isinstance(obj, dict) and set(obj) == {"__entity"}:
            obj, path = obj["__entity"], _key(path, "__entity")
        if not isinstance(obj, dict) or set(obj) != {"type", "id"}:
            raise self.error(path, f'expected an entity reference {{"type": .., "id": ..}}, got {_json_type(obj)}')
        type_, id_ = obj["type"], obj["id"]
        if not isinstance(type_, str) or not _NAME_RE.match(type_):
            raise self.error(_key(path, "type"), f"invalid entity type name {json.dumps(type_)}")
        if not isinstance(id_, str):
            raise self.error(_key(path, "id"), f"expected the entity id to be a string, got {_json_type(id_)}")
        uid = EntityUID(type_, id_)
        return self._uids.setdefault(uid, uid)

    # Values

    def value(self, obj: Any, expected: CedarType | None, path: str) -> Any:
        if expected is None:
            return self.untyped_value(obj, path)
        if isinstance(expected, BoolType):
            if not isinstance(obj, bool):
                raise self.mismatch(expected, obj, path)
            return obj
        if isinstance(expected, LongType):
            if isinstance(obj, bool) or not isinstance(obj, int):
                raise self.mismatch(expected, obj, path)
            return self.long(obj, path)
        if isinstance(expected, StringType):
            if not isinstance(obj, str):
                raise self.mismatch(expected, obj, path)
            return obj
        if isinstance(expected, EntityType):
            return self.entity_ref(obj, expected, path)
        if isinstance(expected, ExtensionType):
            return self.extension(obj, expected, path)
        if isinstance(expected, SetType):
            if not isinstance(obj, list):
                raise self.mismatch(expected, obj, path)
            return CedarSet(self.value(x, expected.elem, f"{path}[{i}]") for i, x in enumerate(obj))
        if isinstance(expected, RecordType):
            if not isinstance(obj, dict) or "__entity" in obj or "__extn" in obj:
                raise self.mismatch(expected, obj, path)
            return self.record(obj, expected, path)
        raise TypeError(f"not a schema type: {expected!r}")

    def mismatch(self, expected, obj: Any, path: str) -> CedarError:
        return self.error(path, f"expected {expected}, got {_json_type(obj)}")

    def long(self, n: int, path: str) -> int:
        if not LONG_MIN <= n <= LONG_MAX:
            raise self.error(path, f"integer {n} is out of range for Long")
        return n

    def untyped_value(self, obj: Any, path: str) -> Any:
        if isinstance(obj, bool) or isinstance(obj, str):
            return obj
        if isinstance(obj, int):
            return self.long(obj, path)
        if isinstance(obj, list):
            return CedarSet(self.untyped_value(x, f"{path}[{i}]") for i, x in enumerate(obj))
        if isinstance(obj, dict):
            if "__entity" in obj:
                uid = self.uid(obj, path)
                self.check_enum(uid, path)
                return uid
            if "__extn" in obj:
                return self.extension(obj, None, path)
            if "__expr" in obj:
                raise self.error(path, "the `__expr` escape is not supported (it was removed from Cedar)")
            return self.record(obj, None, path)
        raise self.error(path, f"{_json_type(obj)} is not a Cedar value")

    def record(self, obj: Any, shape: RecordType | None, path: str, owner: EntityUID | None = None) -> CedarRecord:
        if not isinstance(obj, dict):
            expected = shape if shape is not None else "a record"
            raise self.error(path, f"expected {expected} (a JSON object), got {_json_type(obj)}")
        if shape is None:
            if not obj:
                return EMPTY_RECORD
            return CedarRecord({k: self.untyped_value(v, _key(path, k)) for k, v in obj.items()})
        where = f"entity `{owner}`" if owner else "the record"
        for name, attr in shape.attrs:
            if attr.required and name not in obj:
                raise self.error(path, f"expected {where} to have attribute `{name}`, but it does not")
        fields = {}
        for name, v in obj.items():
            declared = shape.get(name)
            if declared is None:
                raise self.error(_key(path, name),
                                 f"attribute `{name}` on {where} should not exist according to the schema")
            fields[name] = self.value(v, declared.type, _key(path, name))
        return CedarRecord(fields)

    def entity_ref(self, obj: Any, expected: EntityType, path: str) -> EntityUID:
        if not isinstance(obj, dict) or not ("__entity" in obj or set(obj) == {"type", "id"}):
            raise self.mismatch(f"entity of type {expected.name}", obj, path)
        uid = self.uid(obj, path)
        if uid.type != expected.name:
            raise self.error(path, f"expected entity of type {expected.name}, got entity of type {uid.type}")
        self.check_enum(uid, path)
        return uid

    def extension(self, obj: Any, expected: ExtensionType | None, path: str) -> Any:
        if expected is not None and isinstance(obj, str):
            # Schema-directed: the string is the constructor's argument.
            return self.construct(_EXTENSIONS_BY_TYPE[expected.name], obj, path)
        if expected is not None and isinstance(obj, dict) and "__extn" not in obj and "fn" in obj:
            # Schema-directed: the call without its `__extn` wrapper.
            obj = {"__extn": obj}
        if not isinstance(obj, dict) or "__extn" not in obj:
            raise self.mismatch(expected, obj, path)
        call, cpath = obj["__extn"], _key(path, "__extn")
        if not isinstance(call, dict) or "fn" not in call or len(set(call) & {"arg", "args"}) != 1:
            raise self.error(cpath, 'expected {"fn": .., "arg": ..} or {"fn": .., "args": [..]}')
        value = self.extension_call(call, cpath)
        if expected is not None and value.CEDAR_TYPE != expected.name:
            raise self.error(path, f"expected {expected}, got {value.CEDAR_TYPE}")
        return value

    def extension_call(self, call: dict, path: str) -> Any:
        """`{"fn": f, "arg": a}` or `{"fn": f, "args": [..]}`: a constructor
        applied to its string, or a datetime operation applied to values."""
        fn = call["fn"]
        if not isinstance(fn, str):
            raise self.error(_key(path, "fn"), f"expected an extension function name, got {_json_type(fn)}")
        args = [call["arg"]] if "arg" in call else call["args"]
        if not isinstance(args, list):
            raise self.error(_key(path, "args"), f"expected an array of arguments, got {_json_type(args)}")
        cls = _EXTENSIONS_BY_FUNCTION.get(fn)
        if cls is not None:
            if len(args) != 1 or not isinstance(args[0], str):
                raise self.error(path, f"`{fn}` takes one string argument")
            return self.construct(cls, args[0], path)
        if fn not in _EXTENSION_OPERATIONS:
            raise self.error(_key(path, "fn"), f"unknown extension function {json.dumps(fn)}")
        operation, arg_types = _EXTENSION_OPERATIONS[fn]
        if len(args) != len(arg_types):
            raise self.error(path, f"`{fn}` takes {len(arg_types)} argument(s), got {len(args)}")
        values = []
        for i, (arg, arg_type) in enumerate(zip(args, arg_types, strict=False)):
            value = self.untyped_value(arg, f"{path}.args[{i}]")
            if not isinstance(value, arg_type):
                raise self.error(f"{path}.args[{i}]", f"expected {arg_type.CEDAR_TYPE}, got {type_name(value)}")
            values.append(value)
        try:
            return operation(*values)
        except (ValueError, OverflowError) as e:
            raise self.error(path, f"error while evaluating `{fn}`: {e}") from None

    def construct(self, cls, arg: str, path: str) -> Any:
        try:
            return cls.parse(arg)
        except ValueError as e:
            raise self.error(path, str(e)) from None


_PATH_PARTS: dict[str, str] = {}  # key -> how a JSON path writes it (keys repeat: "uid", "attrs", ...)


def _key(path: str, key: str) -> str:
    part = _PATH_PARTS.get(key)
    if part is None:
        plain = key.replace("_", "a").isalnum() and not key[:1].isdigit()
        part = key if plain else json.dumps(key)
        if len(part) > 40:
            part = part[:39] + "…"
        elif len(_PATH_PARTS) < 4096:
            _PATH_PARTS[key] = part
    return f"{path}.{part}" if path else part


def _uid_list(uids) -> str:
    return "[" + ", ".join(str(u) for u in sorted(uids)) + "]"
