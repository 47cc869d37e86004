r"""Random Cedar inputs that are consistent with each other, for differential testing.

In the spirit of cedar-spec's fuzz targets, a case is generated schema first:
entity types with a `memberOf` hierarchy, attributes of every type (optional
ones, records, sets, entity references, extension values), tags, enumerated
entity types, common types, actions with `appliesTo`, action groups and
context types.  Then an entity store that conforms to the schema (parents
form a DAG), requests the schema allows, and policies that mention the
attributes, groups, ids, tags and actions that exist, so evaluation reaches
interesting code instead of failing on the first unknown name.  A minority of
expressions are ill-typed, unguarded or overflowing on purpose, so errors are
exercised too.

Each artefact is produced both as our model objects (lang.ast, lang.schema,
lang.entities, lang.request) and as what the official engine (cedarpy) takes:
policy text, JSON schema, entities JSON, request JSON.  The policy text comes
from `render_policyset`, a deliberately simple, fully parenthesised renderer
independent of lang.printer, so lang.printer and lang.parser are themselves
checked against it; `render_cedar_schema` writes the schema in Cedar's schema
syntax and `VariantRenderer` writes policies another way (comments, escapes,
`e["a"]`).  Beyond well-formed cases there are probes (single expressions at
the edges of the extension types, Long arithmetic, `like` and errors) and
mutators that put one defect into a schema, an entity store or a request.

Every generator draws its choices from a `Chooser`: `DrawChooser` wraps a
hypothesis `draw` (shrinking in pytest), `RandomChooser` wraps a seeded
`random.Random` (throughput in the long-run command `python -m tests.difftest`).

Strategies: `schemas()`, `entity_stores(schema)`, `requests(schema, entities)`,
`policies(schema, entities)`, `cases()`, and `satisfiable_queries()` (schema,
policy set) for the encoder's counterexample-replay tests.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from cedarscope.lang import ast as A
from cedarscope.lang.entities import Entities, Entity
from cedarscope.lang.request import Request
from cedarscope.lang.schema import (
    ActionDef,
    Attribute,
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
    record_type,
)
from cedarscope.lang.values import LONG_MAX, LONG_MIN, CedarRecord, CedarSet, EntityUID, escape_string

# --------------------------------------------------------------------------
# Sources of choices


class Chooser:
    """The few kinds of choice the generators make."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def chance(self, p: float) -> bool:
        return self.integer(0, 999) < int(p * 1000)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.integer(0, len(seq) - 1)]

    def subset(self, seq: Sequence[Any], lo: int = 0, hi: int | None = None) -> list:
        """A sub-list of `seq` (kept in its order) with lo..hi elements."""
        hi = len(seq) if hi is None else min(hi, len(seq))
        n = self.integer(min(lo, hi), hi)
        pool = list(range(len(seq)))
        picked = []
        for _ in range(n):
            picked.append(pool.pop(self.integer(0, len(pool) - 1)))
        return [seq[i] for i in sorted(picked)]


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    def __init__(self, draw: Callable):
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


# --------------------------------------------------------------------------
# Values while generating: Python bool/int/str, EntityUID, list (a set),
# dict (a record) and ExtLit (an extension value as its constructor call).


@dataclass(frozen=True)
class ExtLit:
    fn: str   # "decimal" | "ip" | "datetime" | "duration"
    arg: str


EXT_FN = {"decimal": "decimal", "ipaddr": "ip", "datetime": "datetime", "duration": "duration"}

# Valid literals, chosen near the edges of each type's rules.
EXT_LITERALS = {
    "decimal": ["0.0", "1.5", "-1.5", "12.3456", "-0.0001", "922337203685477.5807",
                "-922337203685477.5808", "3.0", "1.50"],
    "ip": ["10.0.0.1", "10.0.0.0/8", "192.168.1.1", "127.0.0.1", "127.0.0.0/8", "224.0.0.1",
           "::1", "::", "ffee::/64", "2001:db8::1", "0.0.0.0/0", "255.255.255.255"],
    "datetime": ["2024-01-01", "2024-01-01T12:30:00Z", "2024-02-29T23:59:59.999Z",
                 "1970-01-01", "2024-06-15T08:00:00+0130", "2023-12-31T23:00:00-0100",
                 "1969-12-31T23:59:59.999Z"],
    "duration": ["0ms", "1ms", "1h", "-1h", "2d3h", "1d2h3m4s5ms", "90m", "-36s", "7d"],
}
# Literals each constructor rejects: calling them is an evaluation error.
BAD_EXT_LITERALS = {
    "decimal": ["1.23456", "1", "abc", "1.", "922337203685478.0"],
    "ip": ["300.0.0.1", "10.0.0.1/33", "::g", "010.0.0.1", ""],
    "datetime": ["2024-13-01", "2024-01-01T25:00:00Z", "24-01-01", "2024-01-01T00:00:00"],
    "duration": ["1x", "", "h", "1h1d", "9223372036854775808ms"],
}

STRINGS = ["", "a", "abc", "alice", "hello world", "a*b", "ünï", 'say "hi"', "path/to/x",
           "back\\slash", "tab\there", "ABC", "aab", "Alice", "😀x", "nul\0", "\x7f", "*"]
LONGS_SMALL = [-3, -1, 0, 1, 2, 3, 7, 10, 42, 100]
LONGS_EDGE = [LONG_MAX, LONG_MIN, LONG_MAX - 1, LONG_MIN + 1, 2**62, -(2**62), 2**32, 3037000499]

TYPE_NAMES = ["User", "Group", "Document", "Folder", "Team", "Tenant"]
ENUM_TYPES = {"Color": ["red", "green", "blue"], "Level": ["low", "high"]}
ATTR_NAMES = ["name", "age", "owner", "active", "score", "meta", "price", "addr", "since",
              "ttl", "friends", "labels", "manager", "level", "team", "x", "first name", "if", "is"]
ACTION_NAMES = ["view", "edit", "delete", "share", "comment", "view doc"]
GROUP_NAMES = ["read", "write"]
TAG_KEYS = ["env", "owner", "tier", "k"]
NAMESPACES = ["", "", "App", "Org::Sub"]
ENTITY_IDS = {
    "User": ["alice", "bob", "carol", "", 'o"q'],
    "Group": ["admins", "staff", "all"],
    "Document": ["doc1", "doc2", "ünï"],
    "Folder": ["root", "home"],
    "Team": ["red", "blue team"],
    "Tenant": ["acme", "initech"],
}
GHOST_IDS = ["ghost", "nobody"]


def is_ident(s: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s) is not None and s not in RESERVED


RESERVED = {"true", "false", "if", "then", "else", "in", "is", "like", "has",
            "principal", "action", "resource", "context", "permit", "forbid", "when", "unless"}


# --------------------------------------------------------------------------
# Schema


@dataclass
class GenSchema:
    """A generated schema: the model, Cedar's JSON form, and lookups."""

    namespace: str
    model: Schema
    json: dict
    # types whose entities may be (transitively) parents of each type's entities
    ancestor_types: dict[str, frozenset[str]]
    enum_ids: dict[str, tuple[str, ...]]
    common: dict = field(default_factory=dict)  # type -> common type name

    def qualify(self, name: str) -> str:
        return f"{self.namespace}::{name}" if self.namespace else name

    @property
    def action_type(self) -> str:
        return self.qualify("Action")

    def request_actions(self) -> list[ActionDef]:
        """Actions a request may name: those that apply to something."""
        return [a for a in self.model.actions.values() if a.principal_types and a.resource_types]

    def groups_of(self, action: EntityUID) -> list[EntityUID]:
        """The action groups `action` is transitively in."""
        out, todo = [], list(self.model.actions[action].member_of)
        while todo:
            g = todo.pop(0)
            if g not in out:
                out.append(g)
                todo.extend(self.model.actions[g].member_of)
        return out


def gen_type(ch: Chooser, entity_types: list[str], depth: int = 0) -> CedarType:
    """An attribute type; records and sets nest at most one level."""
    kinds = ["Bool", "Long", "Long", "String", "String", "Entity", "Set", "Ext"]
    if depth == 0:
        kinds.append("Record")
    kind = ch.choice(kinds)
    if kind == "Bool":
        return BoolType()
    if kind == "Long":
        return LongType()
    if kind == "String":
        return StringType()
    if kind == "Entity":
        return EntityType(ch.choice(entity_types))
    if kind == "Ext":
        return ExtensionType(ch.choice(list(EXT_FN)))
    if kind == "Set":
        elem = ch.choice([LongType(), StringType(), EntityType(ch.choice(entity_types)),
                          ExtensionType(ch.choice(list(EXT_FN)))])
        if depth == 0 and ch.chance(0.1):
            elem = SetType(StringType())
        return SetType(elem)
    names = ch.subset(ATTR_NAMES, 1, 3)
    return record_type({n: Attribute(gen_type(ch, entity_types, depth + 1), ch.chance(0.7))
                        for n in names})


def gen_record_type(ch: Chooser, entity_types: list[str], lo: int, hi: int) -> RecordType:
    names = ch.subset(ATTR_NAMES, lo, hi)
    return record_type({n: Attribute(gen_type(ch, entity_types), ch.chance(0.75)) for n in names})


def type_json(t: CedarType, sch_ns: str, ch: Chooser, common: dict | None = None) -> dict:
    """Cedar's JSON schema form of a type.  Entity names in a namespace are
    written qualified or not at random: both resolve to the same type.  A
    type in `common` (type -> common type name) is mostly written as a
    reference to that common type."""
    if common and t in common and ch.chance(0.8):
        name = json_name(sch_ns + "::" + common[t] if sch_ns else common[t], sch_ns, ch)
        return {"type": "EntityOrCommon", "name": name} if ch.chance(0.3) else {"type": name}
    if isinstance(t, BoolType):
        return {"type": "Boolean"}
    if isinstance(t, LongType):
        return {"type": "Long"}
    if isinstance(t, StringType):
        return {"type": "String"}
    if isinstance(t, EntityType):
        if ch.chance(0.2):
            return {"type": "EntityOrCommon", "name": json_name(t.name, sch_ns, ch)}
        return {"type": "Entity", "name": json_name(t.name, sch_ns, ch)}
    if isinstance(t, ExtensionType):
        return {"type": "Extension", "name": t.name}
    if isinstance(t, SetType):
        return {"type": "Set", "element": type_json(t.elem, sch_ns, ch, common)}
    attrs = {}
    for k, a in t.attrs:
        j = type_json(a.type, sch_ns, ch, common)
        if not a.required:
            j["required"] = False
        elif ch.chance(0.2):
            j["required"] = True
        attrs[k] = j
    return {"type": "Record", "attributes": attrs}


def common_types(ch: Chooser, defs: dict, actions: dict) -> dict:
    """Some of the schema's record, set and String types, named as common
    types (type -> name)."""
    cands = []
    for a in actions.values():
        if a.context.attrs:
            cands.append(a.context)
    for d in defs.values():
        for _, at in d.shape.attrs:
            if isinstance(at.type, (RecordType, SetType)):
                cands.append(at.type)
    if ch.chance(0.3):
        cands.append(StringType())
    picked = ch.subset(list(dict.fromkeys(cands)), 0, 3)
    return {t: n for t, n in zip(picked, ["Ctx", "Info", "Label"], strict=False)}


def json_name(qualified: str, ns: str, ch: Chooser) -> str:
    if ns and ch.chance(0.5):
        return qualified[len(ns) + 2:]
    return qualified


def gen_schema(ch: Chooser) -> GenSchema:
    ns = ch.choice(NAMESPACES)
    def q(n):
        return (f"{ns}::{n}" if ns else n)
    plain = [q(n) for n in ch.subset(TYPE_NAMES, 2, 4)]
    enums = {q(n): tuple(ids) for n, ids in ENUM_TYPES.items() if ch.chance(0.25)}
    all_types = plain + list(enums)
    # memberOf only points at types later in the list (or the type itself),
    # so the entity data can be kept acyclic by ordering entities.
    defs: dict[str, EntityTypeDef] = {}
    for i, name in enumerate(plain):
        later = plain[i:] + list(enums)
        member_of = tuple(ch.subset(later, 0, 2))
        shape = gen_record_type(ch, all_types, 0, 4)
        tags = ch.choice([StringType(), LongType(), SetType(StringType())]) if ch.chance(0.3) else None
        defs[name] = EntityTypeDef(name, member_of, shape, tags)
    for name, ids in enums.items():
        defs[name] = EntityTypeDef(name, (), RecordType(), None, ids)

    action_type = q("Action")
    actions: dict[EntityUID, ActionDef] = {}
    names = ch.subset(ACTION_NAMES, 2, 4)
    groups = [EntityUID(action_type, g) for g in ch.subset(GROUP_NAMES, 0, 2)]
    top = EntityUID(action_type, "all") if groups and ch.chance(0.3) else None
    for g in groups:
        actions[g] = ActionDef(g, (top,) if top else ())
    if top:
        actions[top] = ActionDef(top)
    for n in names:
        uid = EntityUID(action_type, n)
        actions[uid] = ActionDef(
            uid,
            tuple(ch.subset(groups, 0, 2)),
            tuple(ch.subset(plain, 1, 2)),
            tuple(ch.subset(all_types, 1, 2)),
            gen_record_type(ch, all_types, 0, 3),
        )
    model = Schema(entity_types=defs, actions=actions)

    # Cedar's JSON schema.
    common = common_types(ch, defs, actions) if ch.chance(0.4) else {}
    ejson: dict = {}
    for name, d in defs.items():
        short = name[len(ns) + 2:] if ns else name
        if d.enum is not None:
            ejson[short] = {"enum": list(d.enum)}
            continue
        j: dict = {}
        if d.member_of or ch.chance(0.3):
            j["memberOfTypes"] = [json_name(t, ns, ch) for t in d.member_of]
        if d.shape.attrs or ch.chance(0.5):
            j["shape"] = type_json(d.shape, ns, ch, common)
        if d.tags is not None:
            j["tags"] = type_json(d.tags, ns, ch, common)
        ejson[short] = j
    ajson: dict = {}
    for uid, a in actions.items():
        j = {}
        if a.member_of:
            j["memberOf"] = [{"id": g.id} for g in a.member_of]
        if a.principal_types:
            applies = {"principalTypes": [json_name(t, ns, ch) for t in a.principal_types],
                       "resourceTypes": [json_name(t, ns, ch) for t in a.resource_types]}
            if a.context.attrs or ch.chance(0.5):
                applies["context"] = type_json(a.context, ns, ch, common)
            j["appliesTo"] = applies
        ajson[uid.id] = j
    sjson = {ns: {"entityTypes": ejson, "actions": ajson}}
    if common:
        sjson[ns]["commonTypes"] = {n: type_json(t, ns, ch) for t, n in common.items()}

    ancestors = {}
    for name in all_types:
        seen, todo = set(), list(defs[name].member_of)
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo.extend(defs[t].member_of)
        ancestors[name] = frozenset(seen)
    return GenSchema(ns, model, sjson, ancestors, enums, common)


# --------------------------------------------------------------------------
# Values


@dataclass
class Pools:
    """Values that occur in the generated data, so policies can mention them."""

    strings: list[str] = field(default_factory=lambda: list(STRINGS[:4]))
    longs: list[int] = field(default_factory=lambda: list(LONGS_SMALL[:4]))
    tag_keys: list[str] = field(default_factory=list)
    ids: dict[str, list[str]] = field(default_factory=dict)  # type -> ids in the store


def gen_value(ch: Chooser, t: CedarType, gs: GenSchema, pools: Pools) -> Any:
    if isinstance(t, BoolType):
        return ch.chance(0.5)
    if isinstance(t, LongType):
        v = ch.choice(LONGS_EDGE) if ch.chance(0.1) else ch.choice(LONGS_SMALL)
        pools.longs.append(v)
        return v
    if isinstance(t, StringType):
        v = ch.choice(STRINGS)
        pools.strings.append(v)
        return v
    if isinstance(t, EntityType):
        return gen_uid(ch, t.name, gs, pools)
    if isinstance(t, ExtensionType):
        fn = EXT_FN[t.name]
        return ExtLit(fn, ch.choice(EXT_LITERALS[fn]))
    if isinstance(t, SetType):
        return [gen_value(ch, t.elem, gs, pools) for _ in range(ch.integer(0, 3))]
    return {k: gen_value(ch, a.type, gs, pools) for k, a in t.attrs
            if a.required or ch.chance(0.6)}


def gen_uid(ch: Chooser, type_name: str, gs: GenSchema, pools: Pools, p_known: float = 0.85) -> EntityUID:
    """An entity of the type: mostly one in the store, sometimes not."""
    if type_name in gs.enum_ids:
        return EntityUID(type_name, ch.choice(gs.enum_ids[type_name]))
    known = pools.ids.get(type_name, [])
    if known and ch.chance(p_known):
        return EntityUID(type_name, ch.choice(known))
    return EntityUID(type_name, ch.choice(GHOST_IDS))


def value_json(ch: Chooser, v: Any) -> Any:
    """Cedar's JSON form of a value.  Entity and extension values use the
    explicit `__entity` / `__extn` forms or, at random, the implicit forms a
    schema makes unambiguous."""
    if isinstance(v, EntityUID):
        return {"__entity": v.to_json()} if ch.chance(0.6) else v.to_json()
    if isinstance(v, ExtLit):
        return {"__extn": {"fn": v.fn, "arg": v.arg}} if ch.chance(0.6) else v.arg
    if isinstance(v, list):
        return [value_json(ch, x) for x in v]
    if isinstance(v, dict):
        return {k: value_json(ch, x) for k, x in v.items()}
    return v


def explicit_json(v: Any) -> Any:
    """Cedar's JSON form of a value with no schema to direct it: entity and
    extension values in their explicit `__entity` / `__extn` forms."""
    if isinstance(v, EntityUID):
        return {"__entity": v.to_json()}
    if isinstance(v, ExtLit):
        return {"__extn": {"fn": v.fn, "arg": v.arg}}
    if isinstance(v, list):
        return [explicit_json(x) for x in v]
    if isinstance(v, dict):
        return {k: explicit_json(x) for k, x in v.items()}
    return v


def schemaless_json(gs: GenSchema, ge: GenEntities, reqs: list) -> tuple[list, list]:
    """Entities and requests as Cedar reads them without a schema: explicit
    value forms, and the schema's actions listed as entities."""
    ents = [{"uid": e.uid.to_json(), "attrs": explicit_json(e.attrs),
             "parents": [p.to_json() for p in e.parents], "tags": explicit_json(e.tags)} for e in ge.items]
    ents += [{"uid": uid.to_json(), "attrs": {}, "parents": [g.to_json() for g in a.member_of]}
             for uid, a in gs.model.actions.items()]
    requests = [dict(r.json, context=explicit_json(r.context)) for r in reqs]
    return ents, requests


def value_model(v: Any) -> Any:
    """Our model value (lang.values) for a generated value."""
    if isinstance(v, ExtLit):
        import cedarscope.lang.values as V
        cls = {"decimal": "Decimal", "ip": "IPAddr", "datetime": "Datetime", "duration": "Duration"}[v.fn]
        return getattr(V, cls).parse(v.arg)
    if isinstance(v, list):
        return CedarSet(value_model(x) for x in v)
    if isinstance(v, dict):
        return CedarRecord({k: value_model(x) for k, x in v.items()})
    return v


# --------------------------------------------------------------------------
# Entities and requests


@dataclass
class GenEntity:
    uid: EntityUID
    attrs: dict
    parents: list[EntityUID]
    tags: dict


@dataclass
class GenEntities:
    items: list[GenEntity]
    json: list[dict]
    pools: Pools

    def model(self) -> Entities:
        """Our entity store (without the schema's action entities)."""
        return Entities(Entity(e.uid, value_model(e.attrs), frozenset(e.parents), value_model(e.tags))
                        for e in self.items)


def gen_entities(ch: Chooser, gs: GenSchema) -> GenEntities:
    pools = Pools()
    uids: list[EntityUID] = []
    for name, d in gs.model.entity_types.items():
        if d.enum is not None:
            continue
        short = name.rsplit("::", 1)[-1]
        ids = ch.subset(ENTITY_IDS[short], 1, 3)
        pools.ids[name] = ids
        uids.extend(EntityUID(name, i) for i in ids)
    pools.tag_keys = ch.subset(TAG_KEYS, 1, 3)
    # A random order of the entities; parents only come later in it (a DAG).
    order = []
    pool = list(uids)
    while pool:
        order.append(pool.pop(ch.integer(0, len(pool) - 1)))
    items = []
    for i, uid in enumerate(order):
        d = gs.model.entity_types[uid.type]
        later = [u for u in order[i + 1:] if u.type in d.member_of]
        parents = ch.subset(later, 0, 3)
        for t in d.member_of:
            if t in gs.enum_ids and ch.chance(0.3):
                parents.append(EntityUID(t, ch.choice(gs.enum_ids[t])))
        if d.member_of and ch.chance(0.05):
            parents.append(gen_uid(ch, ch.choice(d.member_of), gs, pools, p_known=0.0))
        attrs = gen_value(ch, d.shape, gs, pools)
        tags = {}
        if d.tags is not None:
            for k in ch.subset(pools.tag_keys, 0, len(pools.tag_keys)):
                tags[k] = gen_value(ch, d.tags, gs, pools)
        items.append(GenEntity(uid, attrs, sorted(set(parents)), tags))
    ejson = []
    for e in items:
        j = {"uid": e.uid.to_json(), "attrs": value_json(ch, e.attrs),
             "parents": [p.to_json() for p in e.parents]}
        if e.tags or (gs.model.entity_types[e.uid.type].tags is not None and ch.chance(0.5)):
            j["tags"] = value_json(ch, e.tags)
        ejson.append(j)
    return GenEntities(items, ejson, pools)


@dataclass
class GenRequest:
    principal: EntityUID
    action: EntityUID
    resource: EntityUID
    context: dict
    json: dict

    def model(self) -> Request:
        return Request(self.principal, self.action, self.resource, value_model(self.context))


def gen_request(ch: Chooser, gs: GenSchema, ge: GenEntities) -> GenRequest:
    a: ActionDef = ch.choice(gs.request_actions())
    p = gen_uid(ch, ch.choice(a.principal_types), gs, ge.pools)
    r = gen_uid(ch, ch.choice(a.resource_types), gs, ge.pools)
    ctx = gen_value(ch, a.context, gs, ge.pools)
    j = {"principal": p.to_json(), "action": a.uid.to_json(), "resource": r.to_json(),
         "context": value_json(ch, ctx)}
    return GenRequest(p, a.uid, r, ctx, j)


# --------------------------------------------------------------------------
# Policies


@dataclass(frozen=True)
class Term:
    """An expression the policy can read, its type, and the `has`/`hasTag`
    tests that make reading it safe."""

    expr: A.Expr
    type: CedarType
    guards: tuple[A.Expr, ...] = ()


class PolicyGen:
    """Generates the expressions of one policy for one focus environment."""

    def __init__(self, ch: Chooser, gs: GenSchema, ge: GenEntities, action: ActionDef,
                 ptype: str, rtype: str):
        self.ch, self.gs, self.ge = ch, gs, ge
        self.action, self.ptype, self.rtype = action, ptype, rtype
        self.pools = ge.pools
        self.guards: list[A.Expr] = []
        self.terms: list[Term] = []
        self.add_terms(A.Var("principal"), EntityType(ptype), (), 2)
        self.add_terms(A.Var("resource"), EntityType(rtype), (), 2)
        self.add_terms(A.Var("context"), action.context, (), 2)

    # -- what the policy can read

    def add_terms(self, e: A.Expr, t: CedarType, guards: tuple, depth: int) -> None:
        self.terms.append(Term(e, t, guards))
        if depth == 0:
            return
        if isinstance(t, EntityType):
            d = self.gs.model.entity_types[t.name]
            for k, a in d.shape.attrs:
                g = guards if a.required else guards + (A.Has(e, (k,)),)
                self.add_terms(A.GetAttr(e, k), a.type, g, depth - 1)
            if d.tags is not None:
                for key in self.pools.tag_keys:
                    has = A.MethodCall(e, "hasTag", (A.Lit(key),))
                    self.terms.append(Term(A.MethodCall(e, "getTag", (A.Lit(key),)), d.tags, guards + (has,)))
        elif isinstance(t, RecordType):
            for k, a in t.attrs:
                g = guards if a.required else guards + (self.has_guard(e, k),)
                self.add_terms(A.GetAttr(e, k), a.type, g, depth - 1)

    @staticmethod
    def has_guard(e: A.Expr, k: str) -> A.Expr:
        """`e has k`, written as the extended `x has a.b.k` when e is a path."""
        path = [k]
        while isinstance(e, A.GetAttr) and is_ident(e.attr) and is_ident(path[0]):
            path.insert(0, e.attr)
            e = e.expr
        return A.Has(e, tuple(path))

    def terms_of(self, pred: Callable[[CedarType], bool]) -> list[Term]:
        return [t for t in self.terms if pred(t.type)]

    def use(self, term: Term) -> A.Expr:
        self.guards.extend(term.guards)
        return term.expr

    # -- expressions by type

    def expr(self, t: CedarType, depth: int) -> A.Expr:
        if self.ch.chance(0.03):  # ill-typed on purpose
            t = gen_type(self.ch, list(self.gs.model.entity_types), 1)
        if isinstance(t, BoolType):
            return self.bool_expr(depth)
        if isinstance(t, LongType):
            return self.long_expr(depth)
        if isinstance(t, StringType):
            return self.string_expr(depth)
        if isinstance(t, EntityType):
            return self.entity_expr(t.name, depth)
        if isinstance(t, ExtensionType):
            return self.ext_expr(t.name, depth)
        if isinstance(t, SetType):
            return self.set_expr(t, depth)
        return self.record_expr(t, depth)

    def term_or(self, t: CedarType, p: float = 0.5) -> A.Expr | None:
        cands = self.terms_of(lambda x: x == t)
        if cands and self.ch.chance(p):
            return self.use(self.ch.choice(cands))
        return None

    def if_expr(self, t: CedarType, depth: int) -> A.Expr:
        other = t
        if self.ch.chance(0.15):  # branches whose types differ (or only join as a union)
            other = self.some_term().type
        return A.If(self.bool_expr(depth - 1), self.expr(t, depth - 1), self.expr(other, depth - 1))

    def long_expr(self, depth: int) -> A.Expr:
        ch = self.ch
        if depth > 0 and ch.chance(0.35):
            kind = ch.choice(["+", "-", "*", "neg", "if", "ext"])
            if kind == "neg":
                return A.Neg(self.long_expr(depth - 1))
            if kind == "if":
                return self.if_expr(LongType(), depth)
            if kind == "ext":
                m = ch.choice(["toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays"])
                return A.MethodCall(self.ext_expr("duration", depth - 1), m, ())
            return A.BinaryOp(kind, self.long_expr(depth - 1), self.long_expr(depth - 1))
        if ch.chance(0.06):  # a duration in some unit
            m = ch.choice(["toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays"])
            return A.MethodCall(self.ext_expr("duration", 0), m, ())
        e = self.term_or(LongType(), 0.55)
        if e is not None:
            return e
        if ch.chance(0.15):
            return A.Lit(ch.choice(LONGS_EDGE))
        return A.Lit(ch.choice(self.pools.longs))

    def string_expr(self, depth: int) -> A.Expr:
        if depth > 0 and self.ch.chance(0.1):
            return self.if_expr(StringType(), depth)
        e = self.term_or(StringType(), 0.55)
        if e is not None:
            return e
        return A.Lit(self.ch.choice(self.pools.strings))

    def uid_lit(self, type_name: str) -> A.EntityLit:
        return A.EntityLit(gen_uid(self.ch, type_name, self.gs, self.pools))

    def entity_expr(self, type_name: str, depth: int) -> A.Expr:
        ch = self.ch
        if depth > 0 and ch.chance(0.05):
            return self.if_expr(EntityType(type_name), depth)
        if type_name == self.action.uid.type and ch.chance(0.5):
            return A.Var("action")
        e = self.term_or(EntityType(type_name), 0.6)
        if e is not None:
            return e
        if ch.chance(0.03):  # an entity type the schema does not declare
            return A.EntityLit(EntityUID(self.gs.qualify("Nope"), "x"))
        return self.uid_lit(type_name)

    def ext_expr(self, name: str, depth: int) -> A.Expr:
        ch = self.ch
        fn = EXT_FN.get(name, name)
        if depth > 0 and fn == "datetime" and ch.chance(0.25):
            if ch.chance(0.6):
                return A.MethodCall(self.ext_expr("datetime", depth - 1), "offset",
                                    (self.ext_expr("duration", depth - 1),))
            return A.MethodCall(self.ext_expr("datetime", depth - 1), "toDate", ())
        if depth > 0 and fn == "duration" and ch.chance(0.25):
            if ch.chance(0.5):
                return A.MethodCall(self.ext_expr("datetime", depth - 1), "durationSince",
                                    (self.ext_expr("datetime", depth - 1),))
            return A.MethodCall(self.ext_expr("datetime", depth - 1), "toTime", ())
        e = self.term_or(ExtensionType(name if name in EXT_FN else "ipaddr"), 0.5)
        if e is not None:
            return e
        lits = BAD_EXT_LITERALS[fn] if ch.chance(0.04) else EXT_LITERALS[fn]
        return A.ExtFun(fn, (A.Lit(ch.choice(lits)),))

    def set_expr(self, t: SetType, depth: int) -> A.Expr:
        e = self.term_or(t, 0.6)
        if e is not None:
            return e
        return A.SetLit(tuple(self.expr(t.elem, max(depth - 1, 0)) for _ in range(self.ch.integer(0, 3))))

    def record_expr(self, t: RecordType, depth: int) -> A.Expr:
        e = self.term_or(t, 0.7)
        if e is not None:
            return e
        fields = tuple((k, self.expr(a.type, max(depth - 1, 0))) for k, a in t.attrs
                       if a.required or self.ch.chance(0.5))
        return A.RecordLit(fields)

    # -- Boolean expressions: the conditions

    def bool_expr(self, depth: int) -> A.Expr:
        ch = self.ch
        if depth > 0 and ch.chance(0.35):
            kind = ch.choice(["&&", "||", "!", "if"])
            if kind == "&&":
                return A.And(self.bool_expr(depth - 1), self.bool_expr(depth - 1))
            if kind == "||":
                return A.Or(self.bool_expr(depth - 1), self.bool_expr(depth - 1))
            if kind == "!":
                return A.Not(self.bool_expr(depth - 1))
            return self.if_expr(BoolType(), depth)
        # An atom; the `has` tests its terms need usually guard it.
        saved, self.guards = self.guards, []
        atom = self.atom(depth)
        needed, self.guards = self.guards, saved
        if needed and ch.chance(0.85):
            return guarded(ch, list(dict.fromkeys(needed)), atom)
        if needed:
            self.guards.extend(needed)
        return atom

    def atom(self, depth: int) -> A.Expr:
        ch = self.ch
        kind = ch.choice(["lit", "term", "eq", "eq", "cmp", "cmp", "in", "in", "is", "has", "has",
                          "like", "set", "tag", "ext", "ext"])
        d = max(depth - 1, 0)
        if kind == "lit":
            return A.Lit(ch.chance(0.5))
        if kind == "term":
            e = self.term_or(BoolType(), 1.0)
            return e if e is not None else self.eq_atom(d)
        if kind == "eq":
            return self.eq_atom(d)
        if kind == "cmp":
            return self.cmp_atom(d)
        if kind == "in":
            return self.in_atom(d)
        if kind == "is":
            return self.is_atom(d)
        if kind == "has":
            return self.has_atom()
        if kind == "like":
            return self.like_atom(d)
        if kind == "set":
            return self.set_atom(d)
        if kind == "tag":
            return self.tag_atom(d)
        return self.ext_atom(d)

    def some_term(self) -> Term:
        return self.ch.choice(self.terms)

    def eq_atom(self, d: int) -> A.Expr:
        term = self.some_term()
        left = self.use(term)
        right = self.expr(term.type, d)
        op = self.ch.choice(["==", "==", "!="])
        return A.BinaryOp(op, left, right) if self.ch.chance(0.5) else A.BinaryOp(op, right, left)

    def cmp_atom(self, d: int) -> A.Expr:
        t = self.ch.choice([LongType(), LongType(), ExtensionType("datetime"), ExtensionType("duration")])
        op = self.ch.choice(["<", "<=", ">", ">="])
        return A.BinaryOp(op, self.expr(t, d), self.expr(t, d))

    def entity_operand(self, d: int) -> tuple[A.Expr, str]:
        """Some entity-typed expression and its type."""
        cands = self.terms_of(lambda t: isinstance(t, EntityType))
        if self.ch.chance(0.15):
            return A.Var("action"), self.action.uid.type
        term = self.ch.choice(cands)
        return self.use(term), term.type.name

    def in_atom(self, d: int) -> A.Expr:
        ch = self.ch
        left, ltype = self.entity_operand(d)
        if ltype == self.action.uid.type:
            groups = self.gs.groups_of(self.action.uid) or [self.action.uid]
            targets = [A.EntityLit(ch.choice(groups))]
        else:
            types = sorted(self.gs.ancestor_types.get(ltype, frozenset()) | {ltype})
            if ch.chance(0.1):
                types = list(self.gs.model.entity_types)
            targets = [self.entity_expr(ch.choice(types), d) for _ in range(ch.integer(1, 2))]
        if len(targets) == 1 and ch.chance(0.7):
            return A.BinaryOp("in", left, targets[0])
        return A.BinaryOp("in", left, A.SetLit(tuple(targets)))

    def is_atom(self, d: int) -> A.Expr:
        ch = self.ch
        left, ltype = self.entity_operand(d)
        t = ltype if ch.chance(0.6) else ch.choice(list(self.gs.model.entity_types) + [self.gs.qualify("Nope")])
        if ch.chance(0.3):
            types = sorted(self.gs.ancestor_types.get(t, frozenset()) | {t})
            return A.Is(left, t, self.entity_expr(ch.choice(types), d))
        return A.Is(left, t)

    def has_atom(self) -> A.Expr:
        ch = self.ch
        cands = self.terms_of(lambda t: isinstance(t, (EntityType, RecordType)))
        term = ch.choice(cands)
        e = self.use(term)
        if isinstance(term.type, RecordType):
            names = [k for k, _ in term.type.attrs]
        else:
            names = [k for k, _ in self.gs.model.entity_types[term.type.name].shape.attrs]
        name = ch.choice(names) if names and ch.chance(0.85) else ch.choice(ATTR_NAMES)
        # the extended form `e has a.b` when the attribute is itself a record
        attr_t = term.type.get(name).type if isinstance(term.type, RecordType) and term.type.get(name) else None
        inner = [k for k, _ in attr_t.attrs] if isinstance(attr_t, RecordType) else []
        if inner and ch.chance(0.6):
            k = ch.choice(inner)
            if is_ident(name) and is_ident(k):
                return A.Has(e, (name, k))
        return A.Has(e, (name,))

    def like_atom(self, d: int) -> A.Expr:
        ch = self.ch
        s = ch.choice(self.pools.strings)
        return A.Like(self.string_expr(d), like_pattern(ch, s))

    def set_atom(self, d: int) -> A.Expr:
        ch = self.ch
        sets = self.terms_of(lambda t: isinstance(t, SetType))
        if sets and ch.chance(0.7):
            term = ch.choice(sets)
            s, st_ = self.use(term), term.type
        else:
            st_ = SetType(ch.choice([LongType(), StringType(), EntityType(self.ptype)]))
            s = self.set_expr(st_, d + 1)
        m = ch.choice(["contains", "contains", "containsAll", "containsAny", "isEmpty"])
        if m == "contains":
            return A.MethodCall(s, m, (self.expr(st_.elem, d),))
        if m == "isEmpty":
            return A.MethodCall(s, m, ())
        return A.MethodCall(s, m, (self.set_expr(st_, d),))

    def tag_atom(self, d: int) -> A.Expr:
        ch = self.ch
        left, ltype = self.entity_operand(d)
        key = A.Lit(ch.choice(self.pools.tag_keys or TAG_KEYS)) if ch.chance(0.85) else self.string_expr(d)
        if ch.chance(0.6):
            return A.MethodCall(left, "hasTag", (key,))
        tags = self.gs.model.entity_types.get(ltype)
        tag_t = tags.tags if tags and tags.tags is not None else StringType()
        get = A.BinaryOp("==", A.MethodCall(left, "getTag", (key,)), self.expr(tag_t, d))
        if ch.chance(0.8):
            self.guards.append(A.MethodCall(left, "hasTag", (key,)))
        return get

    def ext_atom(self, d: int) -> A.Expr:
        ch = self.ch
        kind = ch.choice(["decimal", "ipaddr", "datetime", "duration"])
        if kind == "decimal":
            m = ch.choice(["lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"])
            return A.MethodCall(self.ext_expr("decimal", d), m, (self.ext_expr("decimal", d),))
        if kind == "ipaddr":
            m = ch.choice(["isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange", "isInRange"])
            args = (self.ext_expr("ipaddr", d),) if m == "isInRange" else ()
            return A.MethodCall(self.ext_expr("ipaddr", d), m, args)
        t = ExtensionType(kind)
        return A.BinaryOp(ch.choice(["==", "<", ">="]), self.expr(t, d), self.expr(t, d))


def guarded(ch: Chooser, guards: list, atom: A.Expr) -> A.Expr:
    """`atom` behind its `has`/`hasTag` tests, in one of the forms Cedar's
    validator gives (or, for `!g || atom`, does not give) the capability."""
    form = ch.choice(["and", "and", "and", "if", "if", "not-or", "swapped"])
    if form == "swapped" and len(guards) > 1:  # the tests out of order
        guards = guards[::-1]
    if form == "if":
        test = guards[0]
        for g in guards[1:]:
            test = A.And(test, g)
        return A.If(test, atom, A.Lit(False))
    if form == "not-or":
        for g in reversed(guards):
            atom = A.Or(A.Not(g), atom)
        return atom
    for g in reversed(guards):
        atom = A.And(g, atom)
    return atom


def like_pattern(ch: Chooser, s: str) -> tuple:
    """A `like` pattern derived from an existing string: the string itself,
    or a prefix, suffix or middle of it with wildcards around."""
    n = len(s)
    i = ch.integer(0, n)
    j = ch.integer(i, n)
    kind = ch.choice(["exact", "prefix", "suffix", "infix", "split", "star"])
    if kind == "exact":
        elems = [s]
    elif kind == "prefix":
        elems = [s[:j], A.WILDCARD]
    elif kind == "suffix":
        elems = [A.WILDCARD, s[i:]]
    elif kind == "infix":
        elems = [A.WILDCARD, s[i:j], A.WILDCARD]
    elif kind == "split":
        elems = [s[:i], A.WILDCARD, s[j:]]
    else:
        elems = [A.WILDCARD, A.WILDCARD] if ch.chance(0.3) else [A.WILDCARD]
    return normalize_pattern(elems)


def normalize_pattern(elems: list) -> tuple:
    """Merge adjacent text and drop empty text, as lang.ast's canonical form."""
    out: list = []
    for e in elems:
        if e == "":
            continue
        if isinstance(e, str) and out and isinstance(out[-1], str):
            out[-1] += e
        else:
            out.append(e)
    return tuple(out)


def gen_scope_target(ch: Chooser, gs: GenSchema, pools: Pools, type_name: str) -> A.Scope:
    """A principal or resource scope whose targets fit `type_name`."""
    kind = ch.choice(["any", "any", "eq", "in", "in", "is", "isin"])
    in_types = sorted(gs.ancestor_types[type_name] | {type_name})
    if kind == "eq":
        return A.ScopeEq(gen_uid(ch, type_name, gs, pools))
    if kind == "in":
        return A.ScopeIn(gen_uid(ch, ch.choice(in_types), gs, pools))
    if kind == "is":
        return A.ScopeIs(type_name if ch.chance(0.9) else ch.choice(list(gs.model.entity_types)))
    if kind == "isin":
        return A.ScopeIs(type_name, gen_uid(ch, ch.choice(in_types), gs, pools))
    return A.ScopeAny()


def gen_slot_scope(ch: Chooser, gs: GenSchema, slot: str, type_name: str) -> A.Scope:
    kind = ch.choice(["eq", "in", "isin"])
    if kind == "eq":
        return A.ScopeEq(A.Slot(slot))
    if kind == "in":
        return A.ScopeIn(A.Slot(slot))
    return A.ScopeIs(type_name, A.Slot(slot))


def gen_action_scope(ch: Chooser, gs: GenSchema, action: ActionDef) -> A.Scope:
    kind = ch.choice(["any", "eq", "eq", "in", "set"])
    groups = gs.groups_of(action.uid)
    if ch.chance(0.03):  # an action the schema does not declare
        return A.ScopeEq(EntityUID(gs.action_type, "nope"))
    if kind == "eq":
        return A.ScopeEq(action.uid)
    if kind == "in" and groups:
        return A.ScopeIn(ch.choice(groups))
    if kind in ("in", "set"):
        others = [a for a in gs.model.actions if a != action.uid]
        return A.ActionInSet(tuple([action.uid] + ch.subset(others, 0, 2)))
    return A.ScopeAny()


ANNOTATIONS = [("advice", "check twice"), ("note", None), ("owner", "team ünï")]


def gen_policy(ch: Chooser, gs: GenSchema, ge: GenEntities, template: bool = False) -> A.Policy:
    action: ActionDef = ch.choice(gs.request_actions())
    ptype, rtype = ch.choice(action.principal_types), ch.choice(action.resource_types)
    g = PolicyGen(ch, gs, ge, action, ptype, rtype)
    # A tight scope names the focus types and action, so the conditions
    # (written for them) have a chance to validate; a loose one exercises
    # missing attributes at run time and the validator's other environments.
    tight = ch.chance(0.55)
    if tight:
        principal = gen_tight_scope(ch, gs, ge.pools, ptype)
        resource = gen_tight_scope(ch, gs, ge.pools, rtype)
        action_scope = A.ScopeEq(action.uid) if ch.chance(0.6) else gen_action_scope(ch, gs, action)
    else:
        principal = gen_scope_target(ch, gs, ge.pools, ptype)
        resource = gen_scope_target(ch, gs, ge.pools, rtype)
        action_scope = gen_action_scope(ch, gs, action)
    if template:
        slots = ch.choice([["?principal"], ["?resource"], ["?principal", "?resource"]])
        if "?principal" in slots:
            principal = gen_slot_scope(ch, gs, "?principal", ptype)
        if "?resource" in slots:
            resource = gen_slot_scope(ch, gs, "?resource", rtype)
    conditions = []
    for _ in range(ch.choice([0, 1, 1, 1, 2, 2, 3])):
        body = g.bool_expr(ch.integer(1, 3))
        if not tight and ch.chance(0.3):  # narrow by `is` in the condition instead
            body = A.And(A.Is(A.Var("principal"), ptype), A.And(A.Is(A.Var("resource"), rtype), body))
        conditions.append(A.Condition(ch.choice(["when", "when", "unless"]), body))
    annotations = tuple(A.Annotation(n, v) for n, v in ch.subset(ANNOTATIONS, 0, 1))
    return A.Policy("forbid" if ch.chance(0.25) else "permit", principal,
                    action_scope, resource, tuple(conditions), annotations)


def gen_tight_scope(ch: Chooser, gs: GenSchema, pools: Pools, type_name: str) -> A.Scope:
    """A scope that admits only entities of `type_name`."""
    kind = ch.choice(["is", "is", "isin", "eq"])
    if kind == "eq":
        return A.ScopeEq(gen_uid(ch, type_name, gs, pools))
    if kind == "isin":
        in_types = sorted(gs.ancestor_types[type_name] | {type_name})
        return A.ScopeIs(type_name, gen_uid(ch, ch.choice(in_types), gs, pools))
    return A.ScopeIs(type_name)


@dataclass
class GenPolicies:
    model: A.PolicySet
    text: str
    links_json: list[dict]  # for cedarpy's PolicySet.with_linked_batch


def gen_policyset(ch: Chooser, gs: GenSchema, ge: GenEntities) -> GenPolicies:
    n = ch.integer(1, 6)
    policies = []
    for i in range(n):
        policies.append((f"policy{i}", gen_policy(ch, gs, ge, template=ch.chance(0.12))))
    links = []
    for pid, p in policies:
        if not p.is_template:
            continue
        for k in range(ch.integer(0, 2)):
            values = tuple((slot, gen_uid(ch, ch.choice(sorted(gs.model.entity_types)), gs, ge.pools))
                           for slot in p.slots)
            links.append(A.TemplateLink(pid, f"{pid}_link{k}", values))
    ps = A.PolicySet(tuple(policies), tuple(links))
    links_json = [{"template_id": link.template_id, "new_id": link.link_id,
                   "values": {s: u.to_json() for s, u in link.values}} for link in links]
    return GenPolicies(ps, render_policyset(ps), links_json)


# --------------------------------------------------------------------------
# Rendering policies as Cedar text (independent of lang.printer)


def render_string(s: str) -> str:
    return '"' + escape_string(s) + '"'


def render_pattern(pattern: tuple) -> str:
    out = []
    for e in pattern:
        out.append("*" if e is A.WILDCARD else escape_string(e).replace("*", "\\*"))
    return '"' + "".join(out) + '"'


def render_operand(e: A.Expr) -> str:
    """An expression in a position that binds tighter than any operator."""
    text = render_expr(e)
    if isinstance(e, A.Lit) and isinstance(e.value, int) and not isinstance(e.value, bool) and e.value < 0:
        return f"({text})"
    return text


def render_expr(e: A.Expr) -> str:
    r, o = render_expr, render_operand
    if isinstance(e, A.Lit):
        if isinstance(e.value, bool):
            return "true" if e.value else "false"
        if isinstance(e.value, int):
            return str(e.value)
        return render_string(e.value)
    if isinstance(e, A.EntityLit):
        return str(e.uid)
    if isinstance(e, (A.Var, A.Slot)):
        return e.name
    if isinstance(e, A.Not):
        return f"(!{o(e.arg)})"
    if isinstance(e, A.Neg):
        return f"(-({r(e.arg)}))"
    if isinstance(e, A.BinaryOp):
        return f"({r(e.left)} {e.op} {r(e.right)})"
    if isinstance(e, A.And):
        return f"({r(e.left)} && {r(e.right)})"
    if isinstance(e, A.Or):
        return f"({r(e.left)} || {r(e.right)})"
    if isinstance(e, A.If):
        return f"(if {r(e.cond)} then {r(e.then_)} else {r(e.else_)})"
    if isinstance(e, A.GetAttr):
        if is_ident(e.attr):
            return f"{o(e.expr)}.{e.attr}"
        return f"{o(e.expr)}[{render_string(e.attr)}]"
    if isinstance(e, A.Has):
        if len(e.attrs) == 1 and not is_ident(e.attrs[0]):
            return f"({r(e.expr)} has {render_string(e.attrs[0])})"
        return f"({r(e.expr)} has {'.'.join(e.attrs)})"
    if isinstance(e, A.Like):
        return f"({r(e.expr)} like {render_pattern(e.pattern)})"
    if isinstance(e, A.Is):
        tail = f" in {r(e.in_expr)}" if e.in_expr is not None else ""
        return f"({r(e.expr)} is {e.entity_type}{tail})"
    if isinstance(e, A.SetLit):
        return "[" + ", ".join(r(x) for x in e.elems) + "]"
    if isinstance(e, A.RecordLit):
        return "{" + ", ".join(f"{render_string(k)}: {r(v)}" for k, v in e.fields) + "}"
    if isinstance(e, A.MethodCall):
        return f"{o(e.receiver)}.{e.name}(" + ", ".join(r(x) for x in e.args) + ")"
    if isinstance(e, A.ExtFun):
        return f"{e.name}(" + ", ".join(r(x) for x in e.args) + ")"
    raise TypeError(f"not an expression: {e!r}")


def render_target(t: Any) -> str:
    return t.name if isinstance(t, A.Slot) else str(t)


def render_scope(var: str, s: A.Scope) -> str:
    if isinstance(s, A.ScopeAny):
        return var
    if isinstance(s, A.ScopeEq):
        return f"{var} == {render_target(s.target)}"
    if isinstance(s, A.ScopeIn):
        return f"{var} in {render_target(s.target)}"
    if isinstance(s, A.ScopeIs):
        tail = f" in {render_target(s.in_target)}" if s.in_target is not None else ""
        return f"{var} is {s.entity_type}{tail}"
    if isinstance(s, A.ActionInSet):
        return f"{var} in [" + ", ".join(str(t) for t in s.targets) + "]"
    raise TypeError(f"not a scope: {s!r}")


def render_policy(p: A.Policy) -> str:
    lines = [f"@{a.name}" + (f"({render_string(a.value)})" if a.value is not None else "")
             for a in p.annotations]
    lines.append(f"{p.effect} (")
    lines.append(f"  {render_scope('principal', p.principal)},")
    lines.append(f"  {render_scope('action', p.action)},")
    lines.append(f"  {render_scope('resource', p.resource)}")
    lines.append(")")
    for c in p.conditions:
        lines.append(f"{c.kind} {{ {render_expr(c.body)} }}")
    lines[-1] += ";"
    return "\n".join(lines)


def render_policyset(ps: A.PolicySet) -> str:
    return "\n\n".join(render_policy(p) for _, p in ps.policies) + "\n"


# --------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """Everything one differential comparison needs."""

    schema: GenSchema
    entities: GenEntities
    policies: GenPolicies
    requests: list[GenRequest]
    probes: list = field(default_factory=list)  # expressions for the "probe" check

    def to_json(self) -> dict:
        """A self-contained reproducer (what cedarpy is given)."""
        return {"schema": self.schema.json, "policies": self.policies.text,
                "links": self.policies.links_json, "entities": self.entities.json,
                "requests": [r.json for r in self.requests],
                "probes": [render_expr(p) for p in self.probes]}


def gen_case(ch: Chooser, n_requests: tuple[int, int] = (2, 6)) -> Case:
    gs = gen_schema(ch)
    ge = gen_entities(ch, gs)
    gp = gen_policyset(ch, gs, ge)
    reqs = [gen_request(ch, gs, ge) for _ in range(ch.integer(*n_requests))]
    return Case(gs, ge, gp, reqs, gen_probes(ch, 12))


# --------------------------------------------------------------------------
# hypothesis strategies


@st.composite
def schemas(draw) -> GenSchema:
    return gen_schema(DrawChooser(draw))


@st.composite
def entity_stores(draw, schema: GenSchema) -> GenEntities:
    return gen_entities(DrawChooser(draw), schema)


@st.composite
def requests(draw, schema: GenSchema, entities: GenEntities) -> GenRequest:
    return gen_request(DrawChooser(draw), schema, entities)


@st.composite
def policies(draw, schema: GenSchema, entities: GenEntities) -> GenPolicies:
    return gen_policyset(DrawChooser(draw), schema, entities)


@st.composite
def cases(draw) -> Case:
    return gen_case(DrawChooser(draw))


def satisfiable_query(seed: int) -> tuple[GenSchema, GenPolicies]:
    """One (schema, policy set) pair from a seed, without hypothesis."""
    ch = RandomChooser(random.Random(f"query:{seed}"))
    gs = gen_schema(ch)
    return gs, gen_policyset(ch, gs, gen_entities(ch, gs))


@st.composite
def satisfiable_queries(draw) -> tuple[GenSchema, GenPolicies]:
    """(schema, policy set) pairs for the encoder's counterexample-replay
    tests: policies that mention the schema's real attributes, groups, ids,
    tags and actions, so most of them are satisfiable by some request."""
    ch = DrawChooser(draw)
    gs = gen_schema(ch)
    return gs, gen_policyset(ch, gs, gen_entities(ch, gs))


# --------------------------------------------------------------------------
# The schema in Cedar's schema syntax (the `.cedarschema` form)


def render_schema_type(t: CedarType, ns: str, ch: Chooser, common: dict | None = None) -> str:
    if common and t in common and ch.chance(0.8):
        return json_name(ns + "::" + common[t] if ns else common[t], ns, ch)
    if isinstance(t, BoolType):
        return "Bool"
    if isinstance(t, LongType):
        return "Long"
    if isinstance(t, StringType):
        return "String"
    if isinstance(t, EntityType):
        return json_name(t.name, ns, ch)
    if isinstance(t, ExtensionType):
        return t.name if ch.chance(0.7) else f"__cedar::{t.name}"
    if isinstance(t, SetType):
        return f"Set<{render_schema_type(t.elem, ns, ch, common)}>"
    fields = []
    for k, a in t.attrs:
        key = k if is_ident(k) and ch.chance(0.7) else render_string(k)
        fields.append(f"{key}{'' if a.required else '?'}: {render_schema_type(a.type, ns, ch, common)}")
    return "{" + ", ".join(fields) + "}"


def render_cedar_schema(ch: Chooser, gs: GenSchema) -> str:
    """The schema in Cedar's schema syntax; names in the namespace are
    written qualified or not at random."""
    ns = gs.namespace
    def short(n):
        return (n[len(ns) + 2:] if ns else n)
    lines = [f"type {n} = {render_schema_type(t, ns, ch)};" for t, n in gs.common.items()]
    for name, d in gs.model.entity_types.items():
        if d.enum is not None:
            lines.append(f"entity {short(name)} enum [{', '.join(render_string(i) for i in d.enum)}];")
            continue
        text = f"entity {short(name)}"
        if d.member_of:
            text += " in [" + ", ".join(json_name(t, ns, ch) for t in d.member_of) + "]"
        if d.shape.attrs or ch.chance(0.3):
            others = {t: n for t, n in gs.common.items() if t != d.shape}
            text += (" = " if ch.chance(0.5) else " ") + render_schema_type(d.shape, ns, ch, others)
        if d.tags is not None:
            text += f" tags {render_schema_type(d.tags, ns, ch, gs.common)}"
        lines.append(text + ";")
    for uid, a in gs.model.actions.items():
        text = f"action {render_string(uid.id)}"
        if a.member_of:
            text += " in [" + ", ".join(render_string(g.id) for g in a.member_of) + "]"
        if a.principal_types:
            parts = [f"principal: [{', '.join(json_name(t, ns, ch) for t in a.principal_types)}]",
                     f"resource: [{', '.join(json_name(t, ns, ch) for t in a.resource_types)}]"]
            if a.context.attrs or ch.chance(0.5):
                parts.append(f"context: {render_schema_type(a.context, ns, ch, gs.common)}")
            text += " appliesTo { " + ", ".join(parts) + " }"
        lines.append(text + ";")
    if not ns:
        return "\n".join(lines) + "\n"
    return f"namespace {ns} {{\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


# --------------------------------------------------------------------------
# Probes: single expressions over literals, aimed at the edges of the
# extension types, Long arithmetic, `like` and equality.  Each probe becomes
# one policy, so one authorization call reports on many of them at once.

# Characters a literal of each constructor is made of, for mutating.
UNICODE_DIGITS = "١٥１߁"  # digits outside ASCII: `\d` in a regex may match them
EXT_ALPHABETS = {
    "decimal": "0123456789.-+ e" + UNICODE_DIGITS,
    "ip": "0123456789abcdefABCDEF:./ %" + UNICODE_DIGITS,
    "datetime": "0123456789-:TZ.+ tz" + UNICODE_DIGITS,
    "duration": "0123456789dhms-+ DH" + UNICODE_DIGITS,
}
# More valid literals near the rules' edges (parsed only by probes).
EXT_EDGE_LITERALS = {
    "decimal": ["0.0001", "-0.0001", "922337203685477.5807", "-922337203685477.5808",
                "00.0", "-0.0", "1.0000", "0000000000000000000001.5"],
    "ip": ["10.0.0.1/32", "::ffff:10.0.0.1", "::ffff:1.2.3.4/128", "0.0.0.0", "ff02::1",
           "1:2:3:4:5:6:7:8", "::1/128", "127.255.255.255", "255.255.255.255/32", "::/0",
           "fe80::1:2", "224.0.0.0/4", "127.0.0.1/0", "::ffff:127.0.0.1", "2001:db8::/32"],
    "datetime": ["0000-01-01", "9999-12-31T23:59:59.999Z", "1900-02-28", "2000-02-29",
                 "2024-01-01T23:59:59.999+2359", "2024-01-01T00:00:00.000-2359",
                 "1969-12-31", "1969-12-31T00:00:00.001Z", "1970-01-01T00:00:00.000Z"],
    "duration": ["106751991167d", "-106751991167d", "9223372036854775807ms",
                 "-9223372036854775808ms", "1d1ms", "0d", "24h", "1440m", "86400s", "-0ms",
                 "106751991167d23h", "2562047788015215h"],
}


def mutate(ch: Chooser, s: str, alphabet: str) -> str:
    """`s` with one to three random edits drawn from `alphabet`."""
    for _ in range(ch.integer(1, 3)):
        i = ch.integer(0, len(s))
        kind = ch.choice(["insert", "delete", "replace", "repeat"])
        if kind == "insert" or not s:
            s = s[:i] + ch.choice(alphabet) + s[i:]
        elif kind == "delete":
            s = s[:i] + s[i + 1:]
        elif kind == "replace":
            s = s[:i] + ch.choice(alphabet) + s[i + 1:]
        else:
            j = ch.integer(i, len(s))
            s = s[:j] + s[i:j] + s[j:]
    return s


def probe_literal(ch: Chooser, fn: str) -> str:
    pool = EXT_LITERALS[fn] + EXT_EDGE_LITERALS[fn]
    r = ch.integer(0, 9)
    if r < 5:
        return ch.choice(pool)
    if r < 9:
        return mutate(ch, ch.choice(pool), EXT_ALPHABETS[fn])
    return ch.choice(BAD_EXT_LITERALS[fn])


LIKE_ALPHABET = ["a", "b", "*", "ü", "😀", "\\", "\n", " "]


def probe(ch: Chooser) -> A.Expr:
    """One probe expression."""
    def ext(fn):
        return A.ExtFun(fn, (A.Lit(probe_literal(ch, fn)),))
    def call(recv, m, *args):
        return A.MethodCall(recv, m, tuple(args))
    kind = ch.choice(["decimal", "ip", "datetime", "datetime", "duration", "long", "like", "eq", "errors"])
    if kind == "errors":
        return error_probe(ch)
    if kind == "decimal":
        m = ch.choice(["", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "=="])
        if not m:
            return ext("decimal")
        if m == "==":
            return A.BinaryOp("==", ext("decimal"), ext("decimal"))
        return call(ext("decimal"), m, ext("decimal"))
    if kind == "ip":
        m = ch.choice(["", "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange", "=="])
        if not m:
            return ext("ip")
        if m == "isInRange":
            return call(ext("ip"), m, ext("ip"))
        return A.BinaryOp("==", ext("ip"), ext("ip")) if m == "==" else call(ext("ip"), m)
    if kind == "datetime":
        m = ch.choice(["", "toDate", "toTime", "offset", "durationSince", "<", "==", "toDate"])
        if not m:
            return ext("datetime")
        if m == "offset":
            return call(ext("datetime"), m, ext("duration"))
        if m == "durationSince":
            return call(ext("datetime"), m, ext("datetime"))
        if m in ("<", "=="):
            return A.BinaryOp(m, ext("datetime"), ext("datetime"))
        return call(ext("datetime"), m)
    if kind == "duration":
        m = ch.choice(["", "toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays", "<="])
        if not m:
            return ext("duration")
        if m == "<=":
            return A.BinaryOp(m, ext("duration"), ext("duration"))
        return call(ext("duration"), m)
    if kind == "long":
        def lit():
            return A.Lit(ch.choice(LONGS_EDGE + LONGS_SMALL + [3037000500, -3037000500, 2**31]))
        e = lit()
        for _ in range(ch.integer(1, 3)):
            op = ch.choice(["+", "-", "*", "neg"])
            if op == "neg" and not isinstance(e, A.Lit):
                e = A.Neg(e)
            else:
                e = A.BinaryOp(op if op != "neg" else "-", e, lit())
        return e
    if kind == "like":
        s = "".join(ch.choice(LIKE_ALPHABET[:3] + LIKE_ALPHABET[3:]) for _ in range(ch.integer(0, 5)))
        s = s.replace("*", "") if ch.chance(0.3) else s
        pattern = [ch.choice(LIKE_ALPHABET) if ch.chance(0.7) else A.WILDCARD for _ in range(ch.integer(0, 5))]
        return A.Like(A.Lit(s), normalize_pattern(pattern))
    # equality of structured values, where Cedar's equality is not Python's
    a = ch.choice([A.SetLit((A.Lit(1), A.Lit(1))), A.SetLit((A.Lit(True), A.Lit(1))),
                   A.SetLit((ext("decimal"), ext("decimal"))), A.RecordLit((("a", A.Lit(1)), ("b", A.Lit(2)))),
                   A.Lit(1), A.Lit(True), A.Lit("1"), ext("ip"), A.SetLit(())])
    b = ch.choice([A.SetLit((A.Lit(1),)), A.SetLit((A.Lit(1), A.Lit(True))),
                   A.RecordLit((("b", A.Lit(2)), ("a", A.Lit(1)))), A.Lit(1), A.Lit(True),
                   ext("decimal"), ext("ip"), A.SetLit(()), A.RecordLit(())])
    if ch.chance(0.3):
        return A.MethodCall(a if isinstance(a, A.SetLit) else A.SetLit((a,)), "contains", (b,))
    return A.BinaryOp("==", a, b)


def error_probe(ch: Chooser) -> A.Expr:
    """Errors meeting short-circuiting, records, sets and type tests."""
    rec = A.RecordLit((("a", A.Lit(1)), ("if", A.Lit("x"))))
    err = ch.choice([
        A.BinaryOp("+", A.Lit(1), A.Lit("a")),
        A.ExtFun("decimal", (A.Lit("x"),)),
        A.BinaryOp("+", A.Lit(LONG_MAX), A.Lit(1)),
        A.GetAttr(rec, "b"),
        A.Not(A.Lit(3)),
        A.If(A.Lit(1), A.Lit(True), A.Lit(False)),
        A.MethodCall(A.Lit(1), "contains", (A.Lit(1),)),
        A.Has(A.Lit(1), ("a",)),
        A.Is(A.Lit("s"), "U"),
        A.BinaryOp("in", A.EntityLit(EntityUID("U", "u")), A.SetLit((A.Lit(1),))),
        A.BinaryOp("<", A.ExtFun("decimal", (A.Lit("1.0"),)), A.ExtFun("decimal", (A.Lit("2.0"),))),
        A.Like(A.Lit(1), ("1",)),
        A.BinaryOp("<", A.Lit("a"), A.Lit("b")),
        A.BinaryOp("+", A.Lit(True), A.Lit(1)),
        A.BinaryOp("*", A.Lit(LONG_MIN), A.Lit(-1)),
        A.Neg(A.Lit(LONG_MIN)),
        A.BinaryOp("-", A.Lit(LONG_MIN), A.Lit(1)),
        A.MethodCall(A.SetLit((A.Lit(1),)), "containsAll", (A.Lit(1),)),
        A.MethodCall(A.ExtFun("ip", (A.Lit("10.0.0.1"),)), "isInRange", (A.ExtFun("decimal", (A.Lit("1.0"),)),)),
        A.MethodCall(A.ExtFun("datetime", (A.Lit("2024-01-01"),)), "offset", (A.Lit(1),)),
        A.MethodCall(A.EntityLit(EntityUID("U", "nobody")), "getTag", (A.Lit("t"),)),
        A.GetAttr(A.EntityLit(EntityUID("U", "nobody")), "a"),
    ])
    ok = ch.choice([A.Lit(True), A.Lit(False), A.Has(rec, ("a",)), A.Has(rec, ("b",)), A.Has(rec, ("if",)),
                    A.Has(A.EntityLit(EntityUID("U", "nobody")), ("a",)),
                    A.MethodCall(A.EntityLit(EntityUID("U", "nobody")), "hasTag", (A.Lit("t"),)),
                    A.BinaryOp("==", A.GetAttr(rec, "if"), A.Lit("x")),
                    A.BinaryOp("in", A.EntityLit(EntityUID("U", "u")), A.SetLit(())),
                    A.Is(A.Var("principal"), "U"), A.Is(A.Var("action"), "Action")])
    form = ch.choice(["and", "or", "and-r", "or-r", "if-c", "if-t", "if-e", "set", "not", "bare"])
    if form == "and":
        return A.And(ok, err)
    if form == "or":
        return A.Or(ok, err)
    if form == "and-r":
        return A.And(err, ok)
    if form == "or-r":
        return A.Or(err, ok)
    if form == "if-c":
        return A.If(err, ok, ok)
    if form == "if-t":
        return A.If(ok, err, A.Lit(0))
    if form == "if-e":
        return A.If(ok, A.Lit(0), err)
    if form == "set":
        return A.MethodCall(A.SetLit((ok, err)), "isEmpty", ())
    if form == "not":
        return A.Not(ok)
    return err


PROBE_SCHEMA = {"": {"entityTypes": {"U": {}},
                     "actions": {"a": {"appliesTo": {"principalTypes": ["U"], "resourceTypes": ["U"],
                                                     "context": {"type": "Record", "attributes": {}}}}}}}


def gen_probes(ch: Chooser, n: int = 30) -> list[A.Expr]:
    return [probe(ch) for _ in range(n)]


# --------------------------------------------------------------------------
# Bad input: entities and requests that (mostly) do not conform to the schema


def wrong_json_value(ch: Chooser, v: Any) -> Any:
    """A JSON value of another shape than `v`."""
    cands = [1, "1", True, [], {}, {"__extn": {"fn": "decimal", "arg": "x"}},
             {"__entity": {"type": "Nope", "id": "x"}}, [1, "a"], {"zzz": 1}, None, 1.5]
    return ch.choice([c for c in cands if type(c) is not type(v)] or cands)


def mutate_entities_json(ch: Chooser, gs: GenSchema, ge: GenEntities) -> tuple[list, str]:
    """The entities JSON with one defect (which now and then is harmless)."""
    import copy
    data = copy.deepcopy(ge.json)
    if not data:
        return [{"uid": {"type": "Nope", "id": "x"}, "attrs": {}, "parents": []}], "undeclared entity type"
    i = ch.integer(0, len(data) - 1)
    e = data[i]
    d = gs.model.entity_types[e["uid"]["type"]]
    kind = ch.choice(["attr-type", "attr-type", "drop-attr", "extra-attr", "parent-type", "entity-type",
                      "tag-type", "tags-undeclared", "duplicate", "bad-extn", "uid-shape", "enum-parent",
                      "record-extra", "set-mixed", "cycle"])
    if kind == "attr-type" and e["attrs"]:
        k = ch.choice(sorted(e["attrs"]))
        e["attrs"][k] = wrong_json_value(ch, e["attrs"][k])
    elif kind == "drop-attr" and e["attrs"]:
        del e["attrs"][ch.choice(sorted(e["attrs"]))]
    elif kind == "extra-attr":
        e["attrs"]["zzz"] = 1
    elif kind == "parent-type":
        bad = [t for t in gs.model.entity_types if t not in d.member_of and t not in gs.enum_ids]
        if bad:
            e["parents"].append({"type": ch.choice(bad), "id": "p"})
    elif kind == "entity-type":
        e["uid"]["type"] = gs.qualify("Nope")
    elif kind == "tag-type" and e.get("tags"):
        k = ch.choice(sorted(e["tags"]))
        e["tags"][k] = wrong_json_value(ch, e["tags"][k])
    elif kind == "tags-undeclared":
        e["tags"] = {"t": "v"}
    elif kind == "duplicate":
        twin = copy.deepcopy(e)
        if ch.chance(0.5):
            twin["attrs"]["zzz"] = 1
        data.append(twin)
    elif kind == "bad-extn":
        ext = [k for k, a in d.shape.attrs if isinstance(a.type, ExtensionType)]
        if ext:
            k = ch.choice(ext)
            fn = EXT_FN[d.shape.get(k).type.name]
            e["attrs"][k] = {"__extn": {"fn": fn, "arg": ch.choice(BAD_EXT_LITERALS[fn])}}
    elif kind == "uid-shape":
        e["uid"] = ch.choice([{"type": e["uid"]["type"]}, "nope", {"type": e["uid"]["type"], "id": 1},
                              {"__entity": e["uid"]}])
    elif kind == "enum-parent":
        enums = [t for t in d.member_of if t in gs.enum_ids]
        if enums:
            e["parents"].append({"type": enums[0], "id": "undeclared"})
    elif kind == "record-extra":
        recs = [k for k, a in d.shape.attrs if isinstance(a.type, RecordType) and k in e["attrs"]]
        if recs:
            e["attrs"][recs[0]]["zzz"] = 1
    elif kind == "cycle":
        # a parent edge back to this entity from one of its parents (or itself)
        uid = e["uid"]
        for other in data:
            if other["uid"] in e["parents"] and uid["type"] in gs.model.entity_types[other["uid"]["type"]].member_of:
                other["parents"].append(dict(uid))
                break
        else:
            if uid["type"] in d.member_of:
                e["parents"].append(dict(uid))
    elif kind == "set-mixed":
        sets = [k for k, a in d.shape.attrs if isinstance(a.type, SetType) and k in e["attrs"]]
        if sets:
            e["attrs"][sets[0]] = e["attrs"][sets[0]] + [wrong_json_value(ch, "s"), 1]
    return data, kind


def mutate_request_json(ch: Chooser, gs: GenSchema, req: GenRequest) -> tuple[dict, str]:
    """The request JSON with one defect (which now and then is harmless)."""
    import copy
    j = copy.deepcopy(req.json)
    action = gs.model.actions[req.action]
    kind = ch.choice(["principal-type", "resource-type", "action", "group-action", "ctx-type",
                      "ctx-drop", "ctx-extra", "enum-id", "ctx-shape"])
    if kind == "principal-type":
        j["principal"]["type"] = ch.choice(list(gs.model.entity_types))
    elif kind == "resource-type":
        j["resource"]["type"] = ch.choice(list(gs.model.entity_types))
    elif kind == "action":
        j["action"]["id"] = "nope"
    elif kind == "group-action":
        groups = [u for u, a in gs.model.actions.items() if not a.principal_types]
        if groups:
            j["action"] = groups[0].to_json()
    elif kind == "ctx-type" and j["context"]:
        k = ch.choice(sorted(j["context"]))
        j["context"][k] = wrong_json_value(ch, j["context"][k])
    elif kind == "ctx-drop" and j["context"]:
        del j["context"][ch.choice(sorted(j["context"]))]
    elif kind == "ctx-extra":
        j["context"]["zzz"] = 1
    elif kind == "enum-id":
        enums = [t for t in action.resource_types if t in gs.enum_ids]
        if enums:
            j["resource"] = {"type": enums[0], "id": "undeclared"}
    elif kind == "ctx-shape":
        j["context"] = ch.choice([[], 1, "ctx"])
    return j, kind


# --------------------------------------------------------------------------
# Surface-syntax variants: the same policies written another way (comments,
# whitespace, `e["a"]` for `e.a`, `\u{..}` escapes, unquoted record keys),
# plus now and then a form Cedar may reject (the parser must agree on that).


class VariantRenderer:
    def __init__(self, ch: Chooser, escapes: bool = True, quoted_keys: bool = True):
        self.ch = ch
        self.escapes = escapes          # spell some characters as `\u{..}`
        self.quoted_keys = quoted_keys  # `e["a"]` and `has "a"` for identifiers
        self.risky: list[str] = []  # the doubtful forms used, for the report

    def ws(self) -> str:
        ch = self.ch
        r = ch.integer(0, 19)
        if r < 14:
            return " "
        if r < 17:
            return "\n   "
        if r < 19:
            return " // note\n "
        return "\t"

    def string(self, s: str) -> str:
        out = []
        for c in s:
            if self.escapes and self.ch.chance(0.15) and c not in '"\\':
                out.append(f"\\u{{{ord(c):x}}}")
            else:
                out.append(escape_string(c))
        return '"' + "".join(out) + '"'

    def uid(self, u: EntityUID) -> str:
        sep = "::"
        if self.ch.chance(0.02):
            sep = " :: "
            self.risky.append("spaces around ::")
        return f"{u.type}{sep}{self.string(u.id)}"

    def expr(self, e: A.Expr) -> str:
        r, w = self.expr, self.ws
        ch = self.ch
        if isinstance(e, A.Lit):
            if isinstance(e.value, str):
                return self.string(e.value)
            return render_expr(e)
        if isinstance(e, A.EntityLit):
            return self.uid(e.uid)
        if isinstance(e, (A.Var, A.Slot)):
            return e.name
        if isinstance(e, A.Not):
            return f"(!{w()}{self.operand(e.arg)})"
        if isinstance(e, A.Neg):
            return f"(-({r(e.arg)}))"
        if isinstance(e, A.BinaryOp):
            return f"({r(e.left)}{w()}{e.op}{w()}{r(e.right)})"
        if isinstance(e, A.And):
            return f"({r(e.left)}{w()}&&{w()}{r(e.right)})"
        if isinstance(e, A.Or):
            return f"({r(e.left)}{w()}||{w()}{r(e.right)})"
        if isinstance(e, A.If):
            return f"(if{w()}{r(e.cond)}{w()}then{w()}{r(e.then_)}{w()}else{w()}{r(e.else_)})"
        if isinstance(e, A.GetAttr):
            if is_ident(e.attr) and (not self.quoted_keys or ch.chance(0.7)):
                return f"{self.operand(e.expr)}.{e.attr}"
            return f"{self.operand(e.expr)}[{self.string(e.attr)}]"
        if isinstance(e, A.Has):
            if len(e.attrs) == 1 and (not is_ident(e.attrs[0]) or (self.quoted_keys and ch.chance(0.2))):
                return f"({r(e.expr)} has {self.string(e.attrs[0])})"
            return f"({r(e.expr)} has {'.'.join(e.attrs)})"
        if isinstance(e, A.Like):
            return f"({r(e.expr)} like {render_pattern(e.pattern)})"
        if isinstance(e, A.Is):
            tail = f" in {r(e.in_expr)}" if e.in_expr is not None else ""
            return f"({r(e.expr)}{w()}is{w()}{e.entity_type}{tail})"
        if isinstance(e, A.SetLit):
            trail = ""
            if e.elems and ch.chance(0.03):
                trail = ","
                self.risky.append("trailing comma in a set")
            return "[" + f",{w()}".join(r(x) for x in e.elems) + trail + "]"
        if isinstance(e, A.RecordLit):
            keys = [k if is_ident(k) and ch.chance(0.4) else self.string(k) for k, _ in e.fields]
            trail = ""
            if e.fields and ch.chance(0.03):
                trail = ","
                self.risky.append("trailing comma in a record")
            return "{" + ", ".join(f"{k}:{w()}{r(v)}" for k, (_, v) in zip(keys, e.fields, strict=False)) + trail + "}"
        if isinstance(e, A.MethodCall):
            return f"{self.operand(e.receiver)}.{e.name}(" + ", ".join(r(x) for x in e.args) + ")"
        if isinstance(e, A.ExtFun):
            return f"{e.name}(" + ", ".join(r(x) for x in e.args) + ")"
        raise TypeError(f"not an expression: {e!r}")

    def operand(self, e: A.Expr) -> str:
        text = self.expr(e)
        if isinstance(e, A.Lit) and isinstance(e.value, int) and not isinstance(e.value, bool) and e.value < 0:
            return f"({text})"
        return text

    def target(self, t: Any) -> str:
        return t.name if isinstance(t, A.Slot) else self.uid(t)

    def scope(self, var: str, s: A.Scope) -> str:
        w = self.ws
        if isinstance(s, A.ScopeAny):
            return var
        if isinstance(s, A.ScopeEq):
            return f"{var}{w()}=={w()}{self.target(s.target)}"
        if isinstance(s, A.ScopeIn):
            return f"{var}{w()}in{w()}{self.target(s.target)}"
        if isinstance(s, A.ScopeIs):
            tail = f"{w()}in{w()}{self.target(s.in_target)}" if s.in_target is not None else ""
            return f"{var}{w()}is{w()}{s.entity_type}{tail}"
        return f"{var} in [" + f",{w()}".join(self.uid(t) for t in s.targets) + "]"

    def policy(self, p: A.Policy) -> str:
        w = self.ws
        out = "".join(f"@{a.name}" + (f"({self.string(a.value)})" if a.value is not None else "") + w()
                      for a in p.annotations)
        out += f"{p.effect}{w()}({w()}{self.scope('principal', p.principal)},{w()}" \
               f"{self.scope('action', p.action)},{w()}{self.scope('resource', p.resource)}{w()})"
        for c in p.conditions:
            out += f"{w()}{c.kind}{w()}{{{w()}{self.expr(c.body)}{w()}}}"
        return out + ";"

    def policyset(self, ps: A.PolicySet) -> str:
        return "\n".join(("// a comment\n" if self.ch.chance(0.2) else "") + self.policy(p)
                         for _, p in ps.policies) + "\n"


def mutate_schema_json(ch: Chooser, gs: GenSchema) -> tuple[dict, str]:
    """The JSON schema with one defect (which now and then is harmless)."""
    import copy
    j = copy.deepcopy(gs.json)
    ns = j[gs.namespace]
    ets, acts = ns["entityTypes"], ns["actions"]
    plain = [n for n, e in ets.items() if "enum" not in e]
    name = ch.choice(plain)
    et = ets[name]
    applying = [a for a in acts.values() if "appliesTo" in a]
    kind = ch.choice(["member-undeclared", "applies-undeclared", "attr-entity-undeclared", "attr-common-undeclared",
                      "group-undeclared", "group-cycle", "unknown-field", "set-no-element", "bad-extension",
                      "enum-empty", "enum-duplicate", "context-not-record", "tags-on-enum", "applies-empty",
                      "common-cycle", "common-shadows-builtin", "attrs-not-object", "action-self-group",
                      "entity-named-like-common", "unknown-type-field", "enum-member-of", "enum-shape"])
    attrs = et.setdefault("shape", {"type": "Record", "attributes": {}}).setdefault("attributes", {})
    if kind == "member-undeclared":
        et.setdefault("memberOfTypes", []).append("Nope")
    elif kind == "applies-undeclared" and applying:
        ch.choice(applying)["appliesTo"]["principalTypes"].append("Nope")
    elif kind == "attr-entity-undeclared":
        attrs["zzz"] = {"type": "Entity", "name": "Nope"}
    elif kind == "attr-common-undeclared":
        attrs["zzz"] = {"type": "Nope"}
    elif kind == "group-undeclared":
        ch.choice(list(acts.values())).setdefault("memberOf", []).append({"id": "nope"})
    elif kind == "group-cycle" and len(acts) > 1:
        a, b = ch.subset(sorted(acts), 2, 2)
        acts[a].setdefault("memberOf", []).append({"id": b})
        acts[b].setdefault("memberOf", []).append({"id": a})
    elif kind == "action-self-group":
        a = ch.choice(sorted(acts))
        acts[a].setdefault("memberOf", []).append({"id": a})
    elif kind == "unknown-field":
        et["foo"] = 1
    elif kind == "unknown-type-field":
        attrs["zzz"] = {"type": "Long", "foo": 1}
    elif kind == "set-no-element":
        attrs["zzz"] = {"type": "Set"}
    elif kind == "bad-extension":
        attrs["zzz"] = {"type": "Extension", "name": ch.choice(["foo", "ip", "decimal"])}
    elif kind == "enum-empty":
        ets["Zenum"] = {"enum": []}
    elif kind == "enum-duplicate":
        ets["Zenum"] = {"enum": ["a", "a"]}
    elif kind == "context-not-record" and applying:
        ch.choice(applying)["appliesTo"]["context"] = {"type": "Long"}
    elif kind == "tags-on-enum":
        ets["Zenum"] = {"enum": ["a"], "tags": {"type": "String"}}
    elif kind == "enum-member-of":
        ets["Zenum"] = {"enum": ["a"], "memberOfTypes": [name.rsplit("::", 1)[-1]]}
    elif kind == "enum-shape":
        ets["Zenum"] = {"enum": ["a"], "shape": {"type": "Record", "attributes": {}}}
    elif kind == "applies-empty" and applying:
        ch.choice(applying)["appliesTo"]["resourceTypes"] = []
    elif kind == "common-cycle":
        ns["commonTypes"] = {"Ca": {"type": "Set", "element": {"type": "Cb"}}, "Cb": {"type": "Ca"}}
    elif kind == "common-shadows-builtin":
        ns["commonTypes"] = {ch.choice(["Long", "String", "Bool", "Set", "Record", "Entity"]): {"type": "Long"}}
    elif kind == "attrs-not-object":
        et["shape"] = {"type": "Record", "attributes": []}
    elif kind == "entity-named-like-common":
        ns["commonTypes"] = dict(ns.get("commonTypes", {}), **{name.rsplit("::", 1)[-1]: {"type": "Long"}})
    return j, kind


def mutate_cedar_schema(ch: Chooser, gs: GenSchema, text: str) -> tuple[str, str]:
    """The schema in Cedar's syntax with one change: mostly a defect, now and
    then a form that is valid but unusual (annotations, several names in one
    declaration)."""
    ns = gs.namespace
    lines = text.splitlines()
    # declarations sit on their own lines (indented inside a namespace)
    decl = [i for i, line in enumerate(lines) if line.strip().startswith(("entity ", "action ", "type "))]
    i = ch.choice(decl)
    indent = "  " if ns else ""
    name = ch.choice([n.rsplit("::", 1)[-1] for n in gs.model.entity_types])
    kind = ch.choice(["member-undeclared", "duplicate-entity", "duplicate-action", "group-undeclared",
                      "attr-undeclared", "missing-semicolon", "multi-entity", "annotation", "context-long",
                      "builtin-name", "empty-applies", "duplicate-attr", "common-cycle", "enum-empty",
                      "shadow-extension", "principal-undeclared", "action-attrs"])
    extra = None
    if kind == "member-undeclared":
        extra = "entity Zz in [Nope];"
    elif kind == "duplicate-entity":
        extra = f"entity {name};"
    elif kind == "duplicate-action":
        extra = f"action {render_string(next(iter(gs.model.actions)).id)};"
    elif kind == "group-undeclared":
        extra = 'action "zz" in ["nope"];'
    elif kind == "attr-undeclared":
        extra = "entity Zz { a: Nope };"
    elif kind == "missing-semicolon":
        lines[i] = lines[i].rstrip(";")
    elif kind == "multi-entity":
        extra = "entity Za, Zb in [Za] { x?: Long };"
    elif kind == "annotation":
        lines[i] = lines[i][:len(lines[i]) - len(lines[i].lstrip())] + '@doc("d") ' + lines[i].lstrip()
    elif kind == "context-long":
        extra = f'action "zz" appliesTo {{ principal: [{name}], resource: [{name}], context: Long }};'
    elif kind == "builtin-name":
        extra = ch.choice(["entity Long;", "type Long = String;", "entity Set;", "type Bool = Long;", "entity Action;"])
    elif kind == "empty-applies":
        extra = f'action "zz" appliesTo {{ principal: [], resource: [{name}] }};'
    elif kind == "duplicate-attr":
        extra = "entity Zz { a: Long, a: String };"
    elif kind == "common-cycle":
        extra = "type Ca = Cb; type Cb = Set<Ca>;"
    elif kind == "enum-empty":
        extra = "entity Zz enum [];"
    elif kind == "shadow-extension":
        extra = "type decimal = Long; entity Zz { d: decimal };"
    elif kind == "principal-undeclared":
        extra = f'action "zz" appliesTo {{ principal: [Nope], resource: [{name}] }};'
    elif kind == "action-attrs":
        extra = 'action "zz" attributes { a: Long };'
    if extra is not None:
        lines.insert(i + 1, indent + extra)
    return "\n".join(lines) + "\n", kind
