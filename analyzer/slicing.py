"""Per-environment slicing: which request environments a policy can match.

A policy's scope fixes, for each of principal, action and resource, the
entity types it can match at all.  An environment whose types the scope rules
out makes the policy's `satisfied` false without asking the solver, so each
environment is encoded with only the policies that can match there.  The
slice over-approximates (conditions are ignored), so it never drops a policy
that could match: it is a sound filter, not an answer.
"""

from __future__ import annotations

from cedarscope.lang.ast import ActionInSet, Policy, Scope, ScopeAny, ScopeEq, ScopeIn, ScopeIs, Slot
from cedarscope.lang.schema import RequestEnv, Schema
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


def _action_scope_may_match(scope: Scope, action: EntityUID, schema: Schema) -> bool:
    if isinstance(scope, ScopeAny):
        return True
    if isinstance(scope, ScopeEq):
        return scope.target == action
    if isinstance(scope, ScopeIn):
        return scope.target == action or scope.target in schema.action_ancestors(action)
    if isinstance(scope, ActionInSet):
        ancestors = schema.action_ancestors(action)
        return any(t == action or t in ancestors for t in scope.targets)
    raise TypeError(f"not an action scope: {scope!r}")


def may_match(policy: Policy, env: RequestEnv, schema: Schema) -> bool:
    """False only if no request of `env` can satisfy the policy's scope."""
    return (
        _action_scope_may_match(policy.action, env.action, schema)
        and _entity_scope_may_match(policy.principal, env.principal_type, schema)
        and _entity_scope_may_match(policy.resource, env.resource_type, schema)
    )
