"""A schema's declarations (entity types and actions) and the queries the
validator and the encoder ask of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from cedarscope.lang.ast import ActionInSet, Scope, ScopeAny, ScopeEq, ScopeIn
from cedarscope.lang.entity import Entity
from cedarscope.lang.graphs import Digraph
from cedarscope.lang.schema.types import CedarType, RecordType
from cedarscope.lang.values import EntityUID


@dataclass(frozen=True)
class EntityTypeDef:
    name: str
    member_of: tuple[str, ...] = ()  # entity types its parents may have
    shape: RecordType = RecordType()
    tags: CedarType | None = None
    enum: tuple[str, ...] | None = None  # the only ids an enum type allows


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

    # ----------------------------------------------------------------------
    # Queries over the schema

    def environments(self) -> list[RequestEnv]:
        """Every (principal type, action, resource type) the schema allows,
        ordered by action, then principal type, then resource type."""
        envs = []
        for uid in sorted(self.actions):
            action = self.actions[uid]
            for p in sorted(action.principal_types):
                for r in sorted(action.resource_types):
                    envs.append(RequestEnv(p, uid, r))
        return envs

    def action_ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        """The action groups `uid` is transitively in (not itself)."""
        def closure():
            graph = self.action_graph()
            return {n: graph.reachable(n) - {n} for n in graph.nodes}

        return self._cached("_action_closure", self.actions, closure).get(uid, frozenset())

    def action_scope_holds(self, scope: Scope, action: EntityUID) -> bool:
        """Whether `action` satisfies a policy's action scope (`action`,
        `== A`, `in A`, `in [A, ...]`), by the schema's action groups."""
        if isinstance(scope, ScopeAny):
            return True
        if isinstance(scope, ScopeEq):
            return scope.target == action
        if isinstance(scope, ScopeIn):
            targets: tuple[object, ...] = (scope.target,)
        elif isinstance(scope, ActionInSet):
            targets = scope.targets
        else:
            raise TypeError(f"not an action scope: {scope!r}")
        ancestors = self.action_ancestors(action)
        return any(t == action or t in ancestors for t in targets)

    def _cached(self, key: str, source: dict, compute):
        """`compute()`, remembered until an entry of `source` (a dict of
        frozen declarations) is added, removed or replaced."""
        snapshot = tuple(source.items())
        hit = self.__dict__.get(key)
        if hit is not None and len(hit[0]) == len(snapshot) and all(
            a is c and b is d for (a, b), (c, d) in zip(hit[0], snapshot, strict=False)
        ):
            return hit[1]
        value = compute()
        self.__dict__[key] = (snapshot, value)
        return value

    def action_entities(self) -> list[Entity]:
        """The schema's actions as entities (no attributes, their direct
        groups as parents), as Cedar adds them to an entity store."""
        return [
            Entity(uid, parents=frozenset(self.actions[uid].member_of))
            for uid in sorted(self.actions)
        ]

    def action_graph(self) -> Digraph[EntityUID]:
        """Action group edges, action -> group it is directly in."""
        return Digraph.of((uid, action.member_of) for uid, action in self.actions.items())

    def type_graph(self) -> Digraph[str]:
        """The memberOf relation on entity types, child type -> parent type."""
        return Digraph.of((name, et.member_of) for name, et in self.entity_types.items())

    def descendant_types(self, name: str) -> frozenset[str]:
        """Entity types whose entities may be transitively `in` an entity of
        type `name` through at least one memberOf step (`name` itself only
        when the memberOf relation has a cycle through it)."""
        return self._type_closure("_descendant_types", True).get(name, frozenset())

    def ancestor_types(self, name: str) -> frozenset[str]:
        """Entity types an entity of type `name` may be transitively `in`
        through at least one memberOf step.  Cedar lets an entity's direct
        parent have any of these types."""
        return self._type_closure("_ancestor_types", False).get(name, frozenset())

    def _type_closure(self, key: str, reverse: bool) -> dict[str, frozenset[str]]:
        def closure():
            graph = self.type_graph()
            if reverse:
                graph = graph.reversed()
            return {n: graph.reachable(n) for n in graph.nodes}

        return self._cached(key, self.entity_types, closure)

    def is_enum(self, name: str) -> bool:
        et = self.entity_types.get(name)
        return et is not None and et.enum is not None

