"""The inference's state and steps: request environments, types by
unification, and the schema they make (see `lang.infer`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.infer.scan import is_tests, uid_of, uids_in, unguarded_reads
from cedarscope.lang.infer.types import (
    EXTENSION_METHODS,
    EXTENSION_OF_FUNCTION,
    Field,
    TypeVar,
    describe,
    element,
    find,
    required,
    settles,
)
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
from cedarscope.lang.values import EntityUID, is_action_type


class Environments:
    """Which principal and resource types each action applies to."""

    def __init__(self) -> None:
        self.principals: dict[EntityUID, set[str]] = {}
        self.resources: dict[EntityUID, set[str]] = {}

    def add_action(self, uid: EntityUID) -> None:
        self.principals.setdefault(uid, set())
        self.resources.setdefault(uid, set())


class Inference:
    def __init__(self) -> None:
        self.entity_types: dict[str, TypeVar] = {}  # type name -> its attribute record
        self.tags: dict[str, TypeVar] = {}  # type name -> its tag type
        self.member_of: dict[str, set[str]] = {}
        self.action_groups: dict[EntityUID, set[EntityUID]] = {}
        self.envs = Environments()
        self.contexts: dict[EntityUID, TypeVar] = {}
        self.notes: list[str] = []
        self._in_pairs: list[tuple[TypeVar, TypeVar]] = []
        self._scope_in: list[tuple[str, str]] = []  # (var, type it must be able to be in)
        self._forbid_only: set[tuple[EntityUID, str, str]] = set()  # (action, var, type) added for a forbid
        self._open: set[tuple[EntityUID, str]] = set()  # (action, var) some permit leaves open

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
        uid = uid_of(entity.get("uid"))
        if uid is None:
            return
        self.declare_uid(uid)
        parents = entity.get("parents")
        for parent in parents if isinstance(parents, list) else []:
            p = uid_of(parent)
            if p is None:
                continue
            if is_action_type(uid.type) and is_action_type(p.type):
                self.declare_action(p)
                self.action_groups[uid].add(p)
            else:
                self.add_member_of(uid.type, p.type)

    def read_request(self, request: Any) -> None:
        if not isinstance(request, dict):  # not a request (a folder's other JSON): no evidence
            return
        uids = {k: uid_of(request.get(k)) for k in ("principal", "action", "resource")}
        action = uids["action"]
        if action is None or not is_action_type(action.type):  # `User::"read"` as the action: not a request
            return
        self.declare_action(action)
        for role, table in (("principal", self.envs.principals), ("resource", self.envs.resources)):
            uid = uids[role]
            if uid is not None and not is_action_type(uid.type):
                self.declare_type(uid.type)
                table[action].add(uid.type)

    def read_scope(self, policy: ast.Policy) -> None:
        for uid in uids_in(policy):
            self.declare_uid(uid)
        for var, scope in (("principal", policy.principal), ("resource", policy.resource)):
            target = getattr(scope, "target", None) if isinstance(scope, ast.ScopeIn) else None
            if isinstance(scope, ast.ScopeIs) and isinstance(scope.in_target, EntityUID):
                self.add_member_of(scope.entity_type, scope.in_target.type)
            if isinstance(target, EntityUID):
                self._scope_in.append((var, target.type))

    def scope_types(self, policy: ast.Policy, var: str) -> set[str] | None:
        """The types the policy's scope allows for `var`; None when the scope
        leaves it open (``principal``, or a template slot), so the policy
        concerns every type that can be there.  Only the scope counts: an
        ``is`` test in a condition does not limit which requests reach it."""
        scope = getattr(policy, var)
        if isinstance(scope, ast.ScopeIs):
            return {scope.entity_type}
        target = getattr(scope, "target", None)
        if not isinstance(target, EntityUID):
            return None
        if isinstance(scope, ast.ScopeEq):
            return set() if is_action_type(target.type) else {target.type}
        return {t for t in self.members_of(target.type) if not is_action_type(t)}

    def seen_in_position(self, policies: Sequence[ast.Policy], var: str) -> set[str]:
        """The types the evidence shows as a `var`: permit scopes, ``is``
        tests in any permit's conditions, and (already in the tables) the
        requests.  Forbid scopes are not evidence of who makes requests: a
        forbid only takes requests away, and taking its types as the whole
        range of an open position would let it hide every permit there."""
        table = self.envs.principals if var == "principal" else self.envs.resources
        seen: set[str] = set().union(*table.values())
        for p in policies:
            if p.effect != "permit":
                continue
            seen |= self.scope_types(p, var) or set()
            for c in p.conditions:
                seen |= is_tests(c.body, var)
        return {t for t in seen if not is_action_type(t)}

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
        at least one environment its scope can match.

        A permit's scope adds the types it names to each of its actions; a
        permit whose scope leaves a position open makes its actions apply
        there to every type seen in that position, so inference never
        narrows what a permit allows.  A forbid adds types only where it
        would otherwise have no environment (`_ensure_an_environment`)."""
        if not self.action_groups:
            self.declare_action(EntityUID("Action", "action"))  # policies that name no action at all
        seen = {var: self.seen_in_position(policies, var) for var, _ in self._positions()}
        for var, table in self._positions():
            for p in policies:
                if p.effect != "permit":
                    continue
                named = self.scope_types(p, var)
                for action in self._actions_of(p):
                    if named is None:
                        self._open.add((action, var))
                    else:
                        table[action] |= named
        self._fill_open_positions(policies, seen)
        for p in policies:
            self._ensure_an_environment(p)
        for p in policies:
            self._members_for_in_scope(p)

    def _positions(self) -> tuple[tuple[str, dict[EntityUID, set[str]]], ...]:
        return ("principal", self.envs.principals), ("resource", self.envs.resources)

    def _actions_of(self, policy: ast.Policy) -> set[EntityUID]:
        actions = self.policy_actions(policy)
        return set(self.action_groups) if actions is None else actions

    def _fill_open_positions(self, policies: Sequence[ast.Policy], seen: dict[str, set[str]]) -> None:
        """An action a permit leaves open in a position, or that no evidence
        gives types there, gets every type seen in that position, less those
        whose entity data lacks an attribute the action's policies read
        unguarded (they would error on every such request, so the policies
        cannot be meant for them: strict validation would reject them)."""
        for var, table in self._positions():
            known = seen[var] | set().union(*table.values())
            # nothing names a type: one shared type, so principal and resource compare
            fallback = known or {g for v, g in self._scope_in if v == var} or {"Entity"}
            for action in sorted(self.action_groups):
                if table[action] and (action, var) not in self._open:
                    continue
                reads = set().union(*(unguarded_reads(p, var) for p in policies
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
        actions = self._actions_of(policy)
        if not actions:
            return
        for var, table in self._positions():
            scope = getattr(policy, var)
            if any(self._scope_allows(scope, t) for a in actions for t in table[a]):
                continue
            named = self.scope_types(policy, var) or set()
            target = getattr(scope, "target", None)
            if isinstance(scope, ast.ScopeIn) and isinstance(target, EntityUID):
                if policy.effect == "forbid":  # the group's own type: `in` holds for the group itself
                    named = {target.type}
                else:  # a type that can be in the target: the action's types get a memberOf edge
                    for a in actions:
                        for t in table[a]:
                            self.add_member_of(t, target.type)
                    continue
            if policy.effect == "forbid":  # where a permit already admits any type, else every action
                actions = {a for a in actions if (a, var) in self._open} or actions
            for a in actions:
                added = named - table[a]
                table[a] |= added
                if policy.effect == "forbid":
                    self._forbid_only |= {(a, var, t) for t in added}

    def _members_for_in_scope(self, policy: ast.Policy) -> None:
        """A scope's ``principal in Team::"t"`` is about entities that can be
        in a Team.  When no evidence shows a type that can (entity data, an
        ``is ... in`` scope, an ``in`` test between attributes), each type
        the position holds for the policy's actions gets a memberOf edge to
        Team, Team itself included: otherwise ``in`` would hold only of
        Team::"t" itself, as ``==`` does, and the schema would narrow what a
        permit allows or a forbid denies (``in`` and ``==`` would then prove
        equivalent)."""
        for var, table in self._positions():
            scope = getattr(policy, var)
            target = scope.target if isinstance(scope, ast.ScopeIn) else None
            if not isinstance(target, EntityUID) or is_action_type(target.type) or self.members_of(target.type):
                continue
            for action in self._actions_of(policy):
                for name in sorted(table[action]):
                    self.add_member_of(name, target.type)

    def _for_a_forbid_only(self, principal: str, action: EntityUID, resource: str) -> bool:
        """Is this environment there only to give a forbid one?"""
        return bool({(action, "principal", principal), (action, "resource", resource)} & self._forbid_only)

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
        actions = self._actions_of(policy)
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
        from cedarscope.lang.infer.walker import Walker

        for p, a, r in self.environments_of(policy):
            walker = Walker(self, {"principal": self.entity_var(p), "resource": self.entity_var(r),
                                    "action": TypeVar("entity", entity=a.type), "context": self.contexts[a]})
            # a forbid's types are no evidence that a permit's `in` tests relate them
            walker.hierarchy_evidence = policy.effect == "forbid" or not self._for_a_forbid_only(p, a, r)
            for c in policy.conditions:
                self.unify(walker.expr(c.body, frozenset()), TypeVar("Bool"))

    def type_entity(self, entity: dict) -> None:
        uid = uid_of(entity.get("uid"))
        if uid is None or is_action_type(uid.type):
            return
        attrs = entity.get("attrs") or {}
        if isinstance(attrs, dict):
            self.read_record(self.entity_types[uid.type], attrs)
        tags = entity.get("tags") or {}
        if isinstance(tags, dict):
            for value in tags.values():
                self.unify(self.tag_var(uid.type), self.value_type(value))

    def type_request(self, request: Any) -> None:
        if not isinstance(request, dict):
            return
        action = uid_of(request.get("action"))
        context = request.get("context")
        if action is not None and is_action_type(action.type) and isinstance(context, dict):
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
            fn = extn["fn"] if isinstance(extn["fn"], str) else None
            if fn in EXTENSION_OF_FUNCTION:  # a constructor: ip("..")
                return TypeVar("ext", ext=EXTENSION_OF_FUNCTION[fn])
            if fn in EXTENSION_METHODS:  # a call's value: offset(datetime, duration)
                result = EXTENSION_METHODS[fn][2]
                return TypeVar({"bool": "Bool", "long": "Long"}[result]) if result in ("bool", "long") else \
                    TypeVar("ext", ext=result)
        uid = uid_of(value) if isinstance(value, dict) and (
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
            self.notes.append(f"attribute `{name}` read from a {describe(find(v))}")
            return Field(TypeVar())
        return record.fields.setdefault(name, Field(TypeVar()))

    def unify(self, a: TypeVar, b: TypeVar) -> None:
        a, b = find(a), find(b)
        if a is b:
            return
        for weak, strong in ((a, b), (b, a)):
            if settles(weak, strong):
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
                    self.notes.append(f"attribute `{name}` read from a {describe(a)}")
                    continue
                self._merge_field(target, name, f)
            return
        if a.kind != b.kind or (a.kind == "ext" and a.ext != b.ext) or (
                a.kind == "entity" and a.entity != b.entity):
            if not (a.kind == "entity" == b.kind):  # distinct entity types just compare unequal
                self.notes.append(f"conflicting uses: {describe(a)} and {describe(b)}")
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
            left, right = self.resolved_entity(lhs), self.resolved_entity(element(rhs))
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
