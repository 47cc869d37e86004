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
from typing import Any

from cedarscope.lang.ast import PolicySet
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError, satisfied
from cedarscope.lang.request import Request
from cedarscope.lang.template import PolicyInstance, instantiate

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


# The instances of the policy set last authorized against: callers ask many
# requests of one policy set, and instantiating is a fair share of the cost.
# A weak reference, so a new policy set that reuses an old one's id is not
# mistaken for it.
_last_instantiated: tuple[Callable[[], object], list[Any]] = (lambda: None, [])


def _instances(policyset: PolicySet) -> list[PolicyInstance]:
    global _last_instantiated
    ref, instances = _last_instantiated
    if ref() is not policyset:
        instances = instantiate(policyset)
        _last_instantiated = (weakref.ref(policyset), instances)
    return instances


def is_authorized(request: Request, entities: Entities, policyset: PolicySet) -> Response:
    """Cedar's decision for one request."""
    return authorize_instances(request, entities, _instances(policyset))
