"""Cedar's authorization decision over a policy set.

Allow iff some permit is satisfied and no forbid is (default deny).  A policy
whose evaluation errors is skipped and reported; it never decides.  The
reasons are the policies that determined the decision: the satisfied forbids
on a deny by forbid, the satisfied permits on an allow, none on default deny.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cedarscope.lang.ast import ActionInSet, PolicySet, Scope, ScopeEq, ScopeIn, ScopeIs
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError, satisfied
from cedarscope.lang.request import Request
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.lang.values import EntityUID

__all__ = ["ALLOW", "DENY", "Decision", "Response", "authorize_instances", "instantiate", "is_authorized"]


class Decision(enum.StrEnum):
    """Cedar's answer to a request; reads and compares as "allow" / "deny"."""

    ALLOW = "allow"
    DENY = "deny"


ALLOW, DENY = Decision.ALLOW, Decision.DENY


@dataclass(frozen=True)
class Response:
    decision: Decision
    reasons: tuple[str, ...]  # policy ids, in policy-set order
    errors: tuple[tuple[str, str], ...]  # (policy id, message), in policy-set order


def authorize_instances(request: Request, entities: Entities, instances: Sequence[PolicyInstance]) -> Response:
    """The decision over already-instantiated policies (see
    `lang.template.instantiate`); lets a caller authorize many requests
    without re-linking."""
    permits: list[str] = []
    forbids: list[str] = []
    errors: list[tuple[str, str]] = []
    for instance in instances:
        try:
            applies = satisfied(instance.policy, request, entities)
        except EvalError as err:
            errors.append((instance.id, err.message))
            continue
        if applies:
            (permits if instance.effect == "permit" else forbids).append(instance.id)
    if forbids:
        return Response(DENY, tuple(forbids), tuple(errors))
    if permits:
        return Response(ALLOW, tuple(permits), tuple(errors))
    return Response(DENY, (), tuple(errors))


# Authorizing many requests of a few policy sets (an audit replays every
# example; a diff asks both versions in turn) would instantiate each set again
# and test every policy's scope.  So the instances of the last few sets are
# kept, with an index by action.  Weak references, so a new policy set that
# reuses an old one's id is not mistaken for it.
_RECENT = 4
_recent: list[tuple[Callable[[], object], Instances]] = []


class Instances:
    """A policy set's instances, indexed by the actions their scopes name.
    A policy whose scope cannot match the request (its action scope names
    neither the request's action nor an ancestor of it, or its principal or
    resource scope is `==` or `is` of another type) is false without
    evaluation: neither satisfied nor erroring, so skipping it changes no
    response.  The candidates are found once per kind of request."""

    _KINDS = 4096  # candidate lists kept; a run asks far fewer kinds

    def __init__(self, instances: list[PolicyInstance]):
        self.all = instances
        any_action: list[int] = []
        by_action: dict[EntityUID, list[int]] = {}
        for position, instance in enumerate(instances):
            named = _named_actions(instance.policy.action)
            if named is None:
                any_action.append(position)
            for uid in named or ():
                by_action.setdefault(uid, []).append(position)
        self.any_action = tuple(any_action)
        self.by_action = {k: tuple(v) for k, v in by_action.items()}
        self._kinds: dict[tuple[object, ...], list[PolicyInstance]] = {}

    def candidates(self, request: Request, entities: Entities) -> list[PolicyInstance]:
        """The instances whose scope may match the request, in order."""
        ancestors = entities.ancestors(request.action)
        kind = (request.action, ancestors, request.principal.type, request.resource.type)
        found = self._kinds.get(kind)
        if found is None:
            positions = set(self.any_action)
            for uid in (request.action, *ancestors):
                positions.update(self.by_action.get(uid, ()))
            found = [self.all[i] for i in sorted(positions)
                     if _of_type(self.all[i].policy.principal, request.principal.type)
                     and _of_type(self.all[i].policy.resource, request.resource.type)]
            if len(self._kinds) >= self._KINDS:
                self._kinds.clear()
            self._kinds[kind] = found
        return found


def _of_type(scope: Scope, entity_type: str) -> bool:
    """False when a principal/resource scope (`==` or `is`) rules out every
    entity of `entity_type`; `in` may hold for an entity of any type."""
    if type(scope) is ScopeEq:
        return not isinstance(scope.target, EntityUID) or scope.target.type == entity_type
    if type(scope) is ScopeIs:
        return scope.entity_type == entity_type
    return True


def _named_actions(scope: Scope) -> tuple[EntityUID, ...] | None:
    """The actions an action scope names (`==`, `in`, `in [...]`); None for
    any other scope (`action` alone), which is tested for every request."""
    if type(scope) is ScopeEq or type(scope) is ScopeIn:
        return (scope.target,) if isinstance(scope.target, EntityUID) else None
    if type(scope) is ActionInSet:
        return tuple(scope.targets)
    return None


def _instances(policyset: PolicySet) -> Instances:
    for ref, indexed in _recent:
        if ref() is policyset:
            return indexed
    indexed = Instances(instantiate(policyset))
    _recent.insert(0, (weakref.ref(policyset), indexed))
    del _recent[_RECENT:]
    return indexed


def is_authorized(request: Request, entities: Entities, policyset: PolicySet) -> Response:
    """Cedar's decision for one request."""
    return authorize_instances(request, entities, _instances(policyset).candidates(request, entities))
