"""A schema for policies that ship without one.

`infer_schema(policies, entities=..., requests=...)` builds a Cedar schema
under which the policies pass Cedar's strict validation, from what the
policies say about their inputs and, when given, what entity data and
requests show.  It is evidence, not truth: the report of every analysis run
on an inferred schema says so.

Evidence, in the order it is read:

1. *Request environments* (which principal and resource types each action
   applies to).  Scopes name them (``principal == User::"a"``, ``resource is
   Doc``), as do ``is`` tests in conditions, template links and requests.
   A policy that names its actions gives evidence for those actions; one
   for every action (``action`` unconstrained) fills in only actions that
   have none, so a broad forbid does not widen every action.  ``principal in
   Team::"t"`` asks for a type whose entities can be in a Team: one the data
   shows as a member, else the principal types seen elsewhere, else Team.
   Every policy ends with at least one environment its scope can match,
   because Cedar rejects a policy that applies to none.
2. *Types* of attributes, context fields and tags, by unification over every
   policy walked in every environment it applies to (strict validation
   checks each), with Cedar's typing rules: ``<`` takes Long (or datetime,
   duration), ``like`` a String, ``contains`` a Set and its element, ``in``
   an entity or a set of entities (and a memberOf edge between their
   types), ``==`` unifies its operands.  Entity data and request contexts
   give the types of their values.
3. *Optionality*: an attribute the policies read without a ``has`` guard is
   required (strict validation demands it); one only read under a guard, or
   missing from some entity or request, is optional.
4. *Defaults*: a type nothing constrains is a String; an entity whose type
   nothing names is taken to be the type it is compared with or `in`.

Conflicting evidence (an attribute used as a Long and as a String) keeps the
first use; the policy that disagrees then fails validation, as it would
under any schema.  `Inferred.notes` lists such conflicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cedarscope.lang import ast
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
from cedarscope.lang.values import EntityUID

INFERRED_ASSUMPTION = "schema inferred from the policies"
_EXTENSION_OF_FUNCTION = {"ip": "ipaddr", "decimal": "decimal", "datetime": "datetime", "duration": "duration"}
# Extension methods: (receiver type, argument types, result); "bool"/"long" are primitives.
_EXTENSION_METHODS = {
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


def is_action_type(name: str) -> bool:
    return name == "Action" or name.endswith("::Action")


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


# --------------------------------------------------------------------------
# The inference


@dataclass
class Inferred:
    """An inferred schema, its Cedar text, and notes on conflicting evidence."""

    schema: Schema
    text: str
    notes: list[str] = field(default_factory=list)


def infer_schema(policies: ast.PolicySet, entities: Any = None,
                 requests: Sequence[Any] = ()) -> Inferred:
    """A schema under which `policies` validate, from the policies, entity
    data (Cedar's entities JSON, parsed) and requests (Cedar's request JSON,
    parsed), as the module docstring describes."""
    from cedarscope.lang.schema_text import schema_to_text
    from cedarscope.lang.template import instantiate

    inference = _Inference()
    rules = [i.policy for i in instantiate(policies)]
    rules += [p for _, p in policies.policies if p.is_template and not _linked(policies, p)]
    for entity in _entity_list(entities):
        inference.read_entity(entity)
    for request in requests:
        inference.read_request(request)
    for policy in rules:
        inference.read_scope(policy)
    for entity in _entity_list(entities):  # data first: it shows which attributes exist
        inference.type_entity(entity)
    for request in requests:
        inference.type_request(request)
    inference.settle_environments(rules)
    for policy in rules:
        inference.type_policy(policy)
    schema = inference.schema()
    return Inferred(schema, schema_to_text(schema), inference.notes)


def _linked(ps: ast.PolicySet, template: ast.Policy) -> bool:
    return any(ps.get(link.template_id) is template for link in ps.links)


def _entity_list(entities: Any) -> list[dict]:
    if entities is None:
        return []
    if isinstance(entities, list):
        return [e for e in entities if isinstance(e, dict)]
    return []


def _uid_of(value: Any) -> EntityUID | None:
    """An entity reference in JSON: ``{"__entity": {..}}``, ``{"type", "id"}``
    or Cedar text ``Type::"id"``."""
    if isinstance(value, dict) and "__entity" in value:
        value = value["__entity"]
    if isinstance(value, dict) and isinstance(value.get("type"), str) and isinstance(value.get("id"), str):
        return EntityUID(value["type"], value["id"])
    if isinstance(value, str) and "::" in value:
        from cedarscope.lang.diagnostics import CedarError
        from cedarscope.lang.parser import parse_entity_uid

        try:
            return parse_entity_uid(value)
        except CedarError:
            return None
    return None


class _Environments:
    """Which principal and resource types each action applies to."""

    def __init__(self) -> None:
        self.principals: dict[EntityUID, set[str]] = {}
        self.resources: dict[EntityUID, set[str]] = {}

    def add_action(self, uid: EntityUID) -> None:
        self.principals.setdefault(uid, set())
        self.resources.setdefault(uid, set())


class _Inference:
    def __init__(self) -> None:
        self.entity_types: dict[str, TypeVar] = {}  # type name -> its attribute record
        self.tags: dict[str, TypeVar] = {}  # type name -> its tag type
        self.member_of: dict[str, set[str]] = {}
        self.action_groups: dict[EntityUID, set[EntityUID]] = {}
        self.envs = _Environments()
        self.contexts: dict[EntityUID, TypeVar] = {}
        self.notes: list[str] = []
        self._in_pairs: list[tuple[TypeVar, TypeVar]] = []
        self._scope_in: list[tuple[str, str]] = []  # (var, type it must be able to be in)

    # ---- declarations

    def declare_type(self, name: str) -> None:
        if is_action_type(name):
            return
        if name not in self.entity_types:
            self.entity_types[name] = TypeVar("record")
            self.member_of.setdefault(name, set())

    def declare_action(self, uid: EntityUID) -> None:
        self.envs.add_action(uid)
        self.action_groups.setdefault(uid, set())
        self.contexts.setdefault(uid, TypeVar("record"))

    def declare_uid(self, uid: EntityUID) -> None:
        if is_action_type(uid.type):
            self.declare_action(uid)
        else:
            self.declare_type(uid.type)

    def entity_var(self, name: str) -> TypeVar:
        self.declare_type(name)
        return TypeVar("entity", entity=name)

    def add_member_of(self, child: str, parent: str) -> None:
        if is_action_type(child) or is_action_type(parent):
            return
        self.declare_type(child)
        self.declare_type(parent)
        self.member_of[child].add(parent)

    # ---- 1. request environments

    def read_entity(self, entity: dict) -> None:
        uid = _uid_of(entity.get("uid"))
        if uid is None:
            return
        self.declare_uid(uid)
        for parent in entity.get("parents") or []:
            p = _uid_of(parent)
            if p is None:
                continue
            if is_action_type(uid.type) and is_action_type(p.type):
                self.declare_action(p)
                self.action_groups[uid].add(p)
            else:
                self.add_member_of(uid.type, p.type)

    def read_request(self, request: dict) -> None:
        uids = {k: _uid_of(request.get(k)) for k in ("principal", "action", "resource")}
        action = uids["action"]
        if action is None:
            return
        self.declare_action(action)
        for role, table in (("principal", self.envs.principals), ("resource", self.envs.resources)):
            uid = uids[role]
            if uid is not None and not is_action_type(uid.type):
                self.declare_type(uid.type)
                table[action].add(uid.type)

    def read_scope(self, policy: ast.Policy) -> None:
        for uid in _uids_in(policy):
            self.declare_uid(uid)
        for var, scope in (("principal", policy.principal), ("resource", policy.resource)):
            target = getattr(scope, "target", None) if isinstance(scope, ast.ScopeIn) else None
            if isinstance(scope, ast.ScopeIs) and isinstance(scope.in_target, EntityUID):
                self.add_member_of(scope.entity_type, scope.in_target.type)
            if isinstance(target, EntityUID):
                self._scope_in.append((var, target.type))

    def scope_types(self, policy: ast.Policy, var: str) -> set[str]:
        """The types the policy names for `var` (empty when it names none)."""
        scope = getattr(policy, var)
        found: set[str] = set()
        if isinstance(scope, ast.ScopeEq) and isinstance(scope.target, EntityUID):
            found.add(scope.target.type)
        elif isinstance(scope, ast.ScopeIs):
            found.add(scope.entity_type)
        elif isinstance(scope, ast.ScopeIn) and isinstance(scope.target, EntityUID):
            found |= self.members_of(scope.target.type)
        for c in policy.conditions:
            found |= _is_tests(c.body, var)
        return {t for t in found if not is_action_type(t)}

    def members_of(self, group_type: str) -> set[str]:
        """Types the data or scopes show can be (transitively) in `group_type`."""
        out: set[str] = set()
        frontier = {group_type}
        while frontier:
            parents = frontier
            frontier = {child for child, ps in self.member_of.items() if ps & parents and child not in out}
            out |= frontier
        return out

    def policy_actions(self, policy: ast.Policy) -> set[EntityUID] | None:
        """The actions the scope names (and their group members), None for all."""
        scope = policy.action
        if isinstance(scope, ast.ActionInSet):
            targets = set(scope.targets)
        elif isinstance(scope, (ast.ScopeEq, ast.ScopeIn)) and isinstance(scope.target, EntityUID):
            targets = {scope.target}
        else:
            return None
        if isinstance(scope, ast.ScopeEq):
            return targets
        return {a for a in self.action_groups if a in targets or self._action_in(a, targets)}

    def _action_in(self, action: EntityUID, groups: set[EntityUID]) -> bool:
        seen, frontier = set(), {action}
        while frontier:
            if frontier & groups:
                return True
            seen |= frontier
            frontier = {g for a in frontier for g in self.action_groups.get(a, ())} - seen
        return False

    def settle_environments(self, policies: Sequence[ast.Policy]) -> None:
        """Every action gets principal and resource types, and every policy
        at least one environment its scope can match."""
        if not self.action_groups:
            self.declare_action(EntityUID("Action", "action"))  # policies that name no action at all
        specific = [p for p in policies if self.policy_actions(p) is not None]
        broad = [p for p in policies if self.policy_actions(p) is None]
        for p in specific:
            for action in self.policy_actions(p) or ():
                self.envs.principals[action] |= self.scope_types(p, "principal")
                self.envs.resources[action] |= self.scope_types(p, "resource")
        for p in broad:
            for var, table in (("principal", self.envs.principals), ("resource", self.envs.resources)):
                types = self.scope_types(p, var)
                for action in self.action_groups:
                    if not table[action]:
                        table[action] |= types
        self._fill_unknown_types(policies)
        for p in policies:
            self._ensure_an_environment(p)

    def _fill_unknown_types(self, policies: Sequence[ast.Policy]) -> None:
        """An action no evidence gives types gets the types seen for other
        actions, less those whose entity data lacks an attribute the
        action's policies read unguarded (they would error on every such
        request, so the policies cannot be meant for them)."""
        seen_principals = set().union(*self.envs.principals.values())
        seen_resources = set().union(*self.envs.resources.values())
        for var, table, seen in (("principal", self.envs.principals, seen_principals),
                                 ("resource", self.envs.resources, seen_resources)):
            # nothing names a type: one shared type, so principal and resource compare
            fallback = seen or {g for v, g in self._scope_in if v == var} or {"Entity"}
            for action in self.action_groups:
                if table[action]:
                    continue
                reads = set().union(*(_unguarded_reads(p, var) for p in policies
                                      if action in (self.policy_actions(p) or self.action_groups)))
                fitting = {t for t in fallback if self._has_attributes(t, reads)}
                # when the data rules every known type out, the type is one no input names
                table[action] |= fitting or ({self._fresh_type(var)} if reads else fallback)
                for name in table[action]:
                    self.declare_type(name)

    def _fresh_type(self, var: str) -> str:
        """A type for what no input names: ``Principal`` or ``Resource``."""
        name = var.capitalize()
        while name in self.entity_types and find(self.entity_types[name]).instances:
            name += "_"
        self.declare_type(name)
        return name

    def _has_attributes(self, type_name: str, names: set[str]) -> bool:
        """Could entities of the type have these attributes?  Unknown
        without data; with data, only the attributes it shows."""
        record = find(self.entity_types[type_name]) if type_name in self.entity_types else None
        return record is None or not record.instances or names <= set(record.fields)

    def _ensure_an_environment(self, policy: ast.Policy) -> None:
        actions = self.policy_actions(policy)
        actions = set(self.action_groups) if actions is None else actions
        if not actions:
            return
        for var, table in (("principal", self.envs.principals), ("resource", self.envs.resources)):
            scope = getattr(policy, var)
            if any(self._scope_allows(scope, t) for a in actions for t in table[a]):
                continue
            named = self.scope_types(policy, var)
            if isinstance(scope, ast.ScopeIn) and isinstance(scope.target, EntityUID):
                # a type that can be in the target: the action's types get a memberOf edge
                for a in actions:
                    for t in table[a]:
                        self.add_member_of(t, scope.target.type)
                continue
            for a in actions:
                table[a] |= named

    def _scope_allows(self, scope: ast.Scope, type_name: str) -> bool:
        if isinstance(scope, ast.ScopeAny):
            return True
        if isinstance(scope, ast.ScopeIs):
            return scope.entity_type == type_name
        if not isinstance(scope, (ast.ScopeEq, ast.ScopeIn)):
            return True
        target = scope.target
        if isinstance(target, ast.Slot):
            return True
        if isinstance(scope, ast.ScopeEq):
            return target.type == type_name
        return target.type == type_name or type_name in self.members_of(target.type)

    # ---- 2. types

    def environments_of(self, policy: ast.Policy) -> list[tuple[str, EntityUID, str]]:
        actions = self.policy_actions(policy)
        actions = set(self.action_groups) if actions is None else actions
        envs = []
        for a in sorted(actions):
            for p in sorted(self.envs.principals[a]):
                if not self._scope_allows(policy.principal, p):
                    continue
                for r in sorted(self.envs.resources[a]):
                    if self._scope_allows(policy.resource, r):
                        envs.append((p, a, r))
        return envs

    def type_policy(self, policy: ast.Policy) -> None:
        for p, a, r in self.environments_of(policy):
            walker = _Walker(self, {"principal": self.entity_var(p), "resource": self.entity_var(r),
                                    "action": TypeVar("entity", entity=a.type), "context": self.contexts[a]})
            for c in policy.conditions:
                self.unify(walker.expr(c.body, frozenset()), TypeVar("Bool"))

    def type_entity(self, entity: dict) -> None:
        uid = _uid_of(entity.get("uid"))
        if uid is None or is_action_type(uid.type):
            return
        attrs = entity.get("attrs") or {}
        if isinstance(attrs, dict):
            self.read_record(self.entity_types[uid.type], attrs)
        tags = entity.get("tags") or {}
        if isinstance(tags, dict):
            for value in tags.values():
                self.unify(self.tag_var(uid.type), self.value_type(value))

    def type_request(self, request: dict) -> None:
        action = _uid_of(request.get("action"))
        context = request.get("context")
        if action is not None and isinstance(context, dict):
            self.read_record(self.contexts[action], context)

    def read_record(self, record: TypeVar, values: dict) -> None:
        """Data for a record (entity attributes, a context): each value's
        type, and which fields this instance lacks."""
        record = find(record)
        for name, value in values.items():
            self.unify(self.field(record, name).var, self.value_type(value))
        find(record).instances.append(frozenset(values))

    def value_type(self, value: Any) -> TypeVar:
        """The type of a JSON value in Cedar's entities or request format."""
        if isinstance(value, bool):
            return TypeVar("Bool")
        if isinstance(value, int):
            return TypeVar("Long")
        if isinstance(value, str):
            return TypeVar("data-string")  # a String, or an extension value written as its string
        if isinstance(value, list):
            s = TypeVar("set")
            s.elem = TypeVar()
            for v in value:
                self.unify(s.elem, self.value_type(v))
            return s
        extn = value.get("__extn", value) if isinstance(value, dict) else None
        if isinstance(extn, dict) and set(extn) in ({"fn", "arg"}, {"fn", "args"}):
            fn = extn["fn"]
            if fn in _EXTENSION_OF_FUNCTION:  # a constructor: ip("..")
                return TypeVar("ext", ext=_EXTENSION_OF_FUNCTION[fn])
            if fn in _EXTENSION_METHODS:  # a call's value: offset(datetime, duration)
                result = _EXTENSION_METHODS[fn][2]
                return TypeVar({"bool": "Bool", "long": "Long"}[result]) if result in ("bool", "long") else \
                    TypeVar("ext", ext=result)
        uid = _uid_of(value) if isinstance(value, dict) and (
            "__entity" in value or set(value) == {"type", "id"}) else None
        if uid is not None:
            self.declare_uid(uid)
            return self.entity_var(uid.type)
        if isinstance(value, dict):
            r = TypeVar("record")
            self.read_record(r, value)
            return r
        return TypeVar()

    def tag_var(self, type_name: str) -> TypeVar:
        return self.tags.setdefault(type_name, TypeVar())

    def record_of(self, v: TypeVar) -> TypeVar | None:
        """Where the attributes of `v` live: its entity type's record, the
        record itself, or `v` while its kind is unknown."""
        v = find(v)
        if v.kind == "entity" and v.entity is not None:
            return find(self.entity_types[v.entity]) if v.entity in self.entity_types else None
        if v.kind in ("record", None) or (v.kind == "entity" and v.entity is None):
            return v
        return None

    def field(self, v: TypeVar, name: str) -> Field:
        record = self.record_of(v)
        if record is None:
            self.notes.append(f"attribute `{name}` read from a {_describe(find(v))}")
            return Field(TypeVar())
        return record.fields.setdefault(name, Field(TypeVar()))

    def unify(self, a: TypeVar, b: TypeVar) -> None:
        a, b = find(a), find(b)
        if a is b:
            return
        for weak, strong in ((a, b), (b, a)):
            if _settles(weak, strong):
                weak.parent = strong
                return
        if a.kind is None or (a.kind == "entity" and a.entity is None and b.kind == "entity"):
            a, b = b, a  # b is the less known one: it joins a
        if b.kind is None or (b.kind == "entity" and b.entity is None and a.kind == "entity"):
            fields, instances = b.fields, b.instances
            if b.default_like is not None and a.default_like is None:
                a.default_like = b.default_like
            b.parent, b.fields, b.instances = a, {}, []
            target = self.record_of(a)
            if target is not None:
                target.instances += instances
            for name, f in fields.items():
                if target is None:
                    self.notes.append(f"attribute `{name}` read from a {_describe(a)}")
                    continue
                self._merge_field(target, name, f)
            return
        if a.kind != b.kind or (a.kind == "ext" and a.ext != b.ext) or (
                a.kind == "entity" and a.entity != b.entity):
            if not (a.kind == "entity" == b.kind):  # distinct entity types just compare unequal
                self.notes.append(f"conflicting uses: {_describe(a)} and {_describe(b)}")
            return
        b.parent = a
        if a.kind == "set":
            assert a.elem is not None and b.elem is not None
            self.unify(a.elem, b.elem)
        elif a.kind == "record":
            fields, b.fields = b.fields, {}
            a.instances += b.instances
            b.instances = []
            for name, f in fields.items():
                self._merge_field(a, name, f)

    def _merge_field(self, record: TypeVar, name: str, f: Field) -> None:
        record = find(record)
        if name in record.fields:
            mine = record.fields[name]
            mine.merge(f)
            self.unify(mine.var, f.var)
        else:
            record.fields[name] = f

    def note_in(self, lhs: TypeVar, rhs: TypeVar) -> None:
        self._in_pairs.append((lhs, rhs))

    # ---- 3. the schema

    def schema(self) -> Schema:
        for lhs, rhs in self._in_pairs:
            left, right = self.resolved_entity(lhs), self.resolved_entity(_element(rhs))
            if left and right and left != right:
                self.add_member_of(left, right)
        types = {}
        for name in sorted(self._unshadowed_types()):
            tags = self.tags.get(name)
            types[name] = EntityTypeDef(
                name, tuple(sorted(self.member_of.get(name, ()))),
                self.to_record(self.entity_types[name]),
                self.to_type(tags) if tags is not None else None)
        actions = {}
        for uid in sorted(self.action_groups):
            actions[uid] = ActionDef(uid, tuple(sorted(self.action_groups[uid])),
                                     tuple(sorted(self.envs.principals[uid])),
                                     tuple(sorted(self.envs.resources[uid])),
                                     self.to_record(self.contexts[uid]))
        return Schema(types, actions)

    def _unshadowed_types(self) -> list[str]:
        """Cedar rejects a schema declaring both ``T`` and ``NS::T``, so no
        schema validates policies naming both; the namespaced one is left
        out, keeping the schema acceptable."""
        plain = {n for n in self.entity_types if "::" not in n}
        out = []
        for name in self.entity_types:
            if "::" in name and name.rpartition("::")[2] in plain:
                self.notes.append(f"entity type {name} left out: it would shadow {name.rpartition('::')[2]}")
                continue
            out.append(name)
        return out

    def resolved_entity(self, v: TypeVar | None) -> str | None:
        """The entity type of `v`; for an entity of unknown type, the type
        of the entity it was compared with or tested `in` against."""
        seen: set[int] = set()
        while v is not None and id(find(v)) not in seen:
            v = find(v)
            seen.add(id(v))
            if v.kind not in ("entity", None) or (v.kind is None and v.default_like is None):
                return None
            if v.entity is not None:
                return v.entity
            v = v.default_like
        return None

    def to_record(self, v: TypeVar, depth: int = 0) -> RecordType:
        v = find(v)
        return record_type({name: Attribute(self.to_type(f.var, depth + 1), required(v, name, f))
                            for name, f in v.fields.items()})

    def to_type(self, v: TypeVar, depth: int = 0) -> CedarType:
        v = find(v)
        if depth > 32:
            return StringType()
        if v.kind == "Bool":
            return BoolType()
        if v.kind == "Long":
            return LongType()
        if v.kind == "data-string":
            return StringType()
        if v.kind == "comparable":
            return LongType()
        if v.kind == "ext" and v.ext:
            return ExtensionType(v.ext)
        if v.kind == "set":
            return SetType(self.to_type(v.elem, depth + 1) if v.elem is not None else StringType())
        if v.kind == "entity" or (v.kind is None and v.default_like is not None and not v.fields):
            name = self.resolved_entity(v) or self._any_entity_type()
            self.declare_type(name)
            return EntityType(name)
        if v.kind == "record" or v.fields:
            return self.to_record(v, depth)
        return StringType()

    def _any_entity_type(self) -> str:
        principals = sorted(set().union(*self.envs.principals.values()))
        return principals[0] if principals else "Entity"


def _settles(weak: TypeVar, strong: TypeVar) -> bool:
    """Does `strong` say what the weakly known `weak` is?  A string in the
    data may be a String or an extension value written as its text; an
    operand of `<` is a Long, a datetime or a duration."""
    if weak.kind == "data-string":
        return strong.kind in ("String", "ext")
    if weak.kind == "comparable":
        return strong.kind == "Long" or (strong.kind == "ext" and strong.ext in ("datetime", "duration"))
    return False


def _element(v: TypeVar) -> TypeVar | None:
    v = find(v)
    return v.elem if v.kind == "set" else v


def _describe(v: TypeVar) -> str:
    if v.kind == "entity":
        return f"entity of type {v.entity}" if v.entity else "entity"
    if v.kind == "ext":
        return str(v.ext)
    if v.kind == "set":
        return "set"
    return v.kind or "value of unknown type"


def _uids_in(node: Any) -> Iterable[EntityUID]:
    """Every entity uid a policy names, in its scope or its conditions."""
    if isinstance(node, EntityUID):
        yield node
    elif isinstance(node, tuple):
        for x in node:
            yield from _uids_in(x)
    elif hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            if name != "span":
                yield from _uids_in(getattr(node, name))


def _unguarded_reads(policy: ast.Policy, var: str) -> set[str]:
    """The attributes of `var` the policy's conditions read and never test
    with `has` (a syntactic over-approximation of the unguarded reads)."""
    reads: set[str] = set()
    tested: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ast.GetAttr) and node.expr == ast.Var(var):
            reads.add(node.attr)
        if isinstance(node, ast.Has) and node.expr == ast.Var(var):
            tested.add(node.attrs[0])
        if isinstance(node, tuple):
            for x in node:
                walk(x)
        elif hasattr(node, "__dataclass_fields__"):
            for name in node.__dataclass_fields__:
                if name != "span":
                    walk(getattr(node, name))

    walk(policy.conditions)
    return reads - tested


def _is_tests(expr: Any, var: str) -> set[str]:
    """The types of ``var is T`` tests anywhere in an expression."""
    found: set[str] = set()
    if isinstance(expr, ast.Is) and isinstance(expr.expr, ast.Var) and expr.expr.name == var:
        found.add(expr.entity_type)
    if isinstance(expr, tuple):
        for x in expr:
            found |= _is_tests(x, var)
    elif hasattr(expr, "__dataclass_fields__"):
        for name in expr.__dataclass_fields__:
            if name != "span":
                found |= _is_tests(getattr(expr, name), var)
    return found


# --------------------------------------------------------------------------
# Typing one policy's conditions in one environment

Guards = frozenset  # of (expression, attribute) pairs known present


class _Walker:
    """Types one policy's conditions in one environment.  Like Cedar's
    typechecker, it skips what the environment makes unreachable: the right
    of ``a && b`` when `a` is false there (``principal is User`` for another
    principal type, ``e has x`` where the data shows e's type has no x)."""

    def __init__(self, inference: _Inference, variables: dict[str, TypeVar]):
        self.inf = inference
        self.vars = variables
        self.false: set[int] = set()  # ids of expressions false in this environment
        self.true: set[int] = set()

    def expr(self, e: ast.Expr, guards: Guards) -> TypeVar:
        method = getattr(self, "_" + type(e).__name__.lower(), None)
        if method is None:
            return TypeVar()
        return method(e, guards)

    def prim(self, kind: str) -> TypeVar:
        return TypeVar(kind)

    def _lit(self, e: ast.Lit, g: Guards) -> TypeVar:
        return self.prim("Bool" if isinstance(e.value, bool) else "Long" if isinstance(e.value, int) else "String")

    def _entitylit(self, e: ast.EntityLit, g: Guards) -> TypeVar:
        self.inf.declare_uid(e.uid)
        return TypeVar("entity", entity=e.uid.type) if is_action_type(e.uid.type) else self.inf.entity_var(e.uid.type)

    def _var(self, e: ast.Var, g: Guards) -> TypeVar:
        return self.vars[e.name]

    def _slot(self, e: ast.Slot, g: Guards) -> TypeVar:
        return TypeVar("entity")

    def _not(self, e: ast.Not, g: Guards) -> TypeVar:
        result = self._not_typed(e, g)
        if id(e.arg) in self.false:
            self.true.add(id(e))
        elif id(e.arg) in self.true:
            self.false.add(id(e))
        return result

    def _not_typed(self, e: ast.Not, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.arg, g), self.prim("Bool"))
        return self.prim("Bool")

    def _neg(self, e: ast.Neg, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.arg, g), self.prim("Long"))
        return self.prim("Long")

    def _binaryop(self, e: ast.BinaryOp, g: Guards) -> TypeVar:
        left, right = self.expr(e.left, g), self.expr(e.right, g)
        if e.op in ("==", "!="):
            self.inf.unify(left, right)
            return self.prim("Bool")
        if e.op == "in":
            self.inf.unify(left, TypeVar("entity"))
            target = _element(right)
            if target is not None:  # an entity, or a set of them; unknown stays open for later uses
                t = find(target)
                if t.kind == "entity" or t.kind is None:
                    if t.entity is None and t.default_like is None:
                        t.default_like = left
            self.inf.note_in(left, right)
            return self.prim("Bool")
        if e.op in ("<", "<=", ">", ">="):
            self.inf.unify(left, right)
            self.inf.unify(left, TypeVar("comparable"))  # a Long, datetime or duration; Long unless shown
            return self.prim("Bool")
        for side in (left, right):  # + - *
            self.inf.unify(side, self.prim("Long"))
        return self.prim("Long")

    def _and(self, e: ast.And, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.left, g), self.prim("Bool"))
        if id(e.left) in self.false:
            self.false.add(id(e))
        else:
            self.inf.unify(self.expr(e.right, g | _facts(e.left)), self.prim("Bool"))
        return self.prim("Bool")

    def _or(self, e: ast.Or, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.left, g), self.prim("Bool"))
        if id(e.left) in self.true:
            self.true.add(id(e))
        else:
            self.inf.unify(self.expr(e.right, g | _facts(ast.Not(e.left))), self.prim("Bool"))
        return self.prim("Bool")

    def _if(self, e: ast.If, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.cond, g), self.prim("Bool"))
        if id(e.cond) in self.false:
            return self.expr(e.else_, g)
        then = self.expr(e.then_, g | _facts(e.cond))
        if id(e.cond) not in self.true:
            self.inf.unify(then, self.expr(e.else_, g | _facts(ast.Not(e.cond))))
        return then

    def _getattr(self, e: ast.GetAttr, g: Guards) -> TypeVar:
        f = self.inf.field(self.expr(e.expr, g), e.attr)
        if (e.expr, e.attr) not in g:
            f.read_unguarded = True
        return f.var

    def _has(self, e: ast.Has, g: Guards) -> TypeVar:
        target, known = e.expr, g
        for attr in e.attrs:  # `e has a.b` reads `e.a` once `e has a` holds
            record = self.inf.record_of(self.expr(target, known))
            if record is not None and record.instances and attr not in record.fields:
                self.false.add(id(e))  # the data shows this type has no such attribute
                break
            self.inf.field(self.expr(target, known), attr)
            known = known | {(target, attr)}
            target = ast.GetAttr(target, attr)
        return self.prim("Bool")

    def _like(self, e: ast.Like, g: Guards) -> TypeVar:
        self.inf.unify(self.expr(e.expr, g), self.prim("String"))
        return self.prim("Bool")

    def _is(self, e: ast.Is, g: Guards) -> TypeVar:
        self.inf.declare_type(e.entity_type)
        subject = self.expr(e.expr, g)
        self.inf.unify(subject, TypeVar("entity"))
        known = self.inf.resolved_entity(subject)
        if known is not None and known != e.entity_type:
            self.false.add(id(e))
        if e.in_expr is not None:
            self.inf.note_in(self.inf.entity_var(e.entity_type), self.expr(e.in_expr, g))
        return self.prim("Bool")

    def _setlit(self, e: ast.SetLit, g: Guards) -> TypeVar:
        s = TypeVar("set")
        s.elem = TypeVar()
        for x in e.elems:
            self.inf.unify(s.elem, self.expr(x, g))
        return s

    def _recordlit(self, e: ast.RecordLit, g: Guards) -> TypeVar:
        r = TypeVar("record")
        for name, x in e.fields:
            r.fields[name] = Field(self.expr(x, g), read_unguarded=True)
        return r

    def _methodcall(self, e: ast.MethodCall, g: Guards) -> TypeVar:
        receiver = self.expr(e.receiver, g)
        args = [self.expr(a, g) for a in e.args]
        if e.name in ("contains", "containsAll", "containsAny", "isEmpty"):
            s = TypeVar("set")
            s.elem = TypeVar()
            self.inf.unify(receiver, s)
            if e.name == "contains" and args:
                self.inf.unify(find(receiver).elem or s.elem, args[0])
            elif args:
                self.inf.unify(receiver, args[0])
            return self.prim("Bool")
        if e.name in ("hasTag", "getTag"):
            self.inf.unify(receiver, TypeVar("entity"))
            if args:
                self.inf.unify(args[0], self.prim("String"))
            name = self.inf.resolved_entity(receiver)
            if e.name == "hasTag" or name is None:
                return self.prim("Bool") if e.name == "hasTag" else TypeVar()
            return self.inf.tag_var(name)
        signature = _EXTENSION_METHODS.get(e.name)
        if signature is None:
            return TypeVar()
        recv, arg_types, result = signature
        self.inf.unify(receiver, TypeVar("ext", ext=recv))
        for a, t in zip(args, arg_types, strict=False):
            self.inf.unify(a, TypeVar("ext", ext=t))
        return self.prim({"bool": "Bool", "long": "Long"}[result]) if result in ("bool", "long") else \
            TypeVar("ext", ext=result)

    def _extfun(self, e: ast.ExtFun, g: Guards) -> TypeVar:
        for a in e.args:
            self.inf.unify(self.expr(a, g), self.prim("String"))
        return TypeVar("ext", ext=_EXTENSION_OF_FUNCTION[e.name])


def _facts(e: ast.Expr) -> Guards:
    """The (expression, attribute) pairs known present when `e` is true."""
    if isinstance(e, ast.Has):
        out, target = set(), e.expr
        for attr in e.attrs:
            out.add((target, attr))
            target = ast.GetAttr(target, attr)
        return frozenset(out)
    if isinstance(e, ast.And):
        return _facts(e.left) | _facts(e.right)
    if isinstance(e, ast.Not) and isinstance(e.arg, ast.Or):
        return _facts(ast.Not(e.arg.left)) | _facts(ast.Not(e.arg.right))
    if isinstance(e, ast.Not) and isinstance(e.arg, ast.Not):
        return _facts(e.arg.arg)
    return frozenset()


def inferred_json(schema: Schema) -> str:
    """The inferred schema in Cedar's JSON schema format."""
    from cedarscope.lang.schema import schema_to_json

    return json.dumps(schema_to_json(schema), indent=2, sort_keys=True) + "\n"
