"""The schema as the validator reads it: one request environment, and the
entity-type and action hierarchies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cedarscope.lang import schema as S
from cedarscope.lang.validator.subtyping import record_lub
from cedarscope.lang.validator.types import (
    ANY_RECORD,
    AnyEntityT,
    AttrT,
    EntityT,
    NeverT,
    RecordT,
    Ty,
    from_schema_record,
    from_schema_type,
)
from cedarscope.lang.values import EntityUID, is_action_type


@dataclass(frozen=True)
class Env:
    """A request environment with its types: context record and, for a
    template, the entity types its slots are linked to in this check."""

    principal: str
    action: EntityUID
    resource: str
    context: RecordT
    principal_slot: str | None = None
    resource_slot: str | None = None


class SchemaView:
    """Precomputed facts about a Schema: the types entities of each type
    may be `in`, action groups, request environments."""

    def __init__(self, schema: S.Schema):
        self.schema = schema
        self.entity_types = schema.entity_types
        self.actions = schema.actions
        # descendants[T]: types whose entities may be transitively in a T.
        types = schema.type_graph().reversed()
        self.descendants = {n: types.reachable(n) - {n} for n in schema.entity_types}
        groups = schema.action_graph().reversed()
        self.action_descendants = {uid: groups.reachable(uid) - {uid} for uid in schema.actions}
        self.envs = [
            Env(e.principal_type, e.action, e.resource_type,
                from_schema_record(schema.actions[e.action].context))
            for e in schema.environments()
        ]
        self._attrs: dict[str, RecordT] = {}
        self._action_in_type: dict[tuple[str, str], bool] = {}

    def is_known_entity_type(self, name: str) -> bool:
        return name in self.entity_types or is_action_type(name)

    def types_in(self, name: str) -> frozenset[str]:
        """Entity types whose entities may be `in` an entity of type `name`
        (Cedar's `get_entity_types_in`: its descendants and itself)."""
        return self.descendants.get(name, frozenset()) | {name}

    def actions_in(self, uids: Iterable[EntityUID]) -> frozenset[EntityUID] | None:
        """The actions `action in uids` holds for; None if one is undeclared."""
        found: set[EntityUID] = set()
        for uid in uids:
            if uid not in self.actions:
                return None
            found |= self.action_descendants[uid] | {uid}
        return frozenset(found)

    def action_in_type(self, lhs: str, rhs: str) -> bool:
        """Whether an action of type `lhs` may be in an entity of type `rhs`."""
        if (lhs, rhs) not in self._action_in_type:
            self._action_in_type[lhs, rhs] = lhs == rhs or any(
                uid.type == rhs and any(d.type == lhs for d in self.action_descendants[uid])
                for uid in self.actions
            )
        return self._action_in_type[lhs, rhs]

    def entity_attrs(self, name: str) -> RecordT:
        """The attributes of an entity type; unknown types are open."""
        if name not in self._attrs:
            if name in self.entity_types:
                self._attrs[name] = from_schema_record(self.entity_types[name].shape)
            elif any(uid.type == name for uid in self.actions):
                self._attrs[name] = RecordT()  # actions have no attributes
            else:
                self._attrs[name] = ANY_RECORD
        return self._attrs[name]

    def tag_types(self, t: Ty) -> list[Ty]:
        """The declared tag types of the entity types `t` may be."""
        names = t.names if isinstance(t, EntityT) else self.entity_types.keys()
        found: list[Ty] = []
        for n in sorted(names):
            et = self.entity_types.get(n)
            if et is not None and et.tags is not None:
                tt = from_schema_type(et.tags)
                if tt not in found:
                    found.append(tt)
        return found

    def attr_of(self, t: Ty, attr: str) -> AttrT | None:
        """Cedar's `lookup_attribute_type`: the attribute when its type is
        known (required or optional), else None."""
        if isinstance(t, RecordT):
            return t.get(attr)
        if isinstance(t, EntityT):
            return self._entity_lub_attrs(t).get(attr)
        return None

    def _entity_lub_attrs(self, t: EntityT) -> RecordT:
        records = [self.entity_attrs(n) for n in sorted(t.names)]
        result = records[0]
        for r in records[1:]:
            result = record_lub(result, r, strict=False)
        return RecordT(result.attrs)

    def known_attrs(self, t: Ty) -> list[str]:
        if isinstance(t, RecordT):
            return sorted(t.keys())
        if isinstance(t, EntityT):
            return sorted(self._entity_lub_attrs(t).keys())
        return []

    def may_have_attr(self, t: Ty, attr: str) -> bool:
        if isinstance(t, NeverT):
            return True
        if isinstance(t, AnyEntityT):
            return True
        if isinstance(t, RecordT):
            return t.open or t.get(attr) is not None
        if isinstance(t, EntityT):
            return any(self.entity_attrs(n).open or self.entity_attrs(n).get(attr) is not None
                       for n in t.names)
        return False
