"""Per-environment slicing: which request environments a policy can match.

A policy's scope fixes, for each of principal, action and resource, the
entity types it can match at all.  An environment whose types the scope rules
out makes the policy's `satisfied` false without asking the solver, so each
environment is encoded with only the policies that can match there.  The
slice over-approximates (conditions are ignored), so it never drops a policy
that could match: it is a sound filter, not an answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from cedarscope.lang.ast import Policy, Scope, ScopeAny, ScopeEq, ScopeIn, ScopeIs, Slot
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance
from cedarscope.lang.values import EntityUID


def _target(target: EntityUID | Slot) -> EntityUID | None:
    """The scope's entity; None for an unlinked slot, which may be any
    entity (so the scope may match)."""
    return None if isinstance(target, Slot) else target


def _entity_scope_may_match(scope: Scope, var_type: str, schema: Schema) -> bool:
    """Can an entity of `var_type` satisfy this principal/resource scope?"""
    if isinstance(scope, ScopeAny):
        return True
    if isinstance(scope, ScopeEq):
        uid = _target(scope.target)
        return uid is None or uid.type == var_type
    if isinstance(scope, ScopeIn):
        uid = _target(scope.target)
        return uid is None or _may_be_in(var_type, uid.type, schema)
    if isinstance(scope, ScopeIs):
        if scope.entity_type != var_type:
            return False
        if scope.in_target is None:
            return True
        uid = _target(scope.in_target)
        return uid is None or _may_be_in(var_type, uid.type, schema)
    raise TypeError(f"not a principal/resource scope: {scope!r}")


def _may_be_in(child_type: str, ancestor_type: str, schema: Schema) -> bool:
    """`in` is reflexive, and otherwise follows the schema's memberOf."""
    return child_type == ancestor_type or ancestor_type in schema.ancestor_types(child_type)


def may_match(policy: Policy, env: RequestEnv, schema: Schema) -> bool:
    """False only if no request of `env` can satisfy the policy's scope."""
    return (
        schema.action_scope_holds(policy.action, env.action)
        and _entity_scope_may_match(policy.principal, env.principal_type, schema)
        and _entity_scope_may_match(policy.resource, env.resource_type, schema)
    )


class PolicyIndex:
    """Policies indexed by action, then filtered by principal and resource
    type, so that an environment's slice is a lookup rather than a scan of
    every policy: the policies a given action may match are found once per
    action, and a scope's verdict on a type is found once per (scope, type).
    `slice(env)` is exactly the policies `may_match` keeps, in order."""

    def __init__(self, instances: Sequence[PolicyInstance], schema: Schema):
        self.instances, self.schema = list(instances), schema
        self._by_action: dict[EntityUID, list[int]] = {}
        self._by_action_resource: dict[tuple[EntityUID, str], list[int]] = {}
        self._entity: dict[tuple[Scope, str], bool] = {}

    def positions(self, env: RequestEnv) -> list[int]:
        """The positions (in `instances`) of the policies that may match in env."""
        return [i for i in self._for_action_resource(env.action, env.resource_type)
                if self._may_match(self.instances[i].policy.principal, env.principal_type)]

    def _for_action(self, action: EntityUID) -> list[int]:
        found = self._by_action.get(action)
        if found is None:
            found = self._by_action[action] = [
                i for i, inst in enumerate(self.instances)
                if self.schema.action_scope_holds(inst.policy.action, action)]
        return found

    def _for_action_resource(self, action: EntityUID, resource_type: str) -> list[int]:
        """Found once per (action, resource type): schemas with many
        environments repeat each pair for every principal type."""
        key = (action, resource_type)
        found = self._by_action_resource.get(key)
        if found is None:
            found = self._by_action_resource[key] = [
                i for i in self._for_action(action)
                if self._may_match(self.instances[i].policy.resource, resource_type)]
        return found

    def slice(self, env: RequestEnv) -> list[PolicyInstance]:
        return [self.instances[i] for i in self.positions(env)]

    def _may_match(self, scope: Scope, var_type: str) -> bool:
        key = (scope, var_type)
        found = self._entity.get(key)
        if found is None:
            found = self._entity[key] = _entity_scope_may_match(scope, var_type, self.schema)
        return found
