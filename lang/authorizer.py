"""Cedar's authorization decision over a policy set.

Allow iff some permit is satisfied and no forbid is (default deny).  A policy
whose evaluation errors is skipped and reported; it never decides.  The
reasons are the policies that determined the decision: the satisfied forbids
on a deny by forbid, the satisfied permits on an allow, none on default deny.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError, satisfied
from cedarscope.lang.request import Request
from cedarscope.lang.values import EntityUID

ALLOW = "allow"
DENY = "deny"


@dataclass(frozen=True)
class Response:
    decision: str  # "allow" | "deny"
    reasons: tuple[str, ...]  # policy ids, in policy-set order
    errors: tuple[tuple[str, str], ...]  # (policy id, message), in policy-set order


def _link_error(message: str) -> CedarError:
    return CedarError(Diagnostic(message, file="<links>"))


def _link_slots(policyset: PolicySet, link) -> tuple[Policy, dict[str, EntityUID]]:
    """The template a link instantiates and its slot values, checked."""
    template = policyset.get(link.template_id)
    if template is None:
        raise _link_error(f"link `{link.link_id}` names template `{link.template_id}`, which does not exist")
    if not template.is_template:
        raise _link_error(f"link `{link.link_id}` names `{link.template_id}`, which is a static policy, not a template")
    slots = dict(link.values)
    if set(slots) != set(template.slots):
        raise _link_error(
            f"link `{link.link_id}` gives values for {sorted(slots)} but template "
            f"`{link.template_id}` has slots {sorted(template.slots)}")
    return template, slots


def instantiate(policyset: PolicySet) -> list[tuple[str, Policy, dict[str, EntityUID]]]:
    """The evaluable policies: each static policy (no slots) in order, then
    one per template link, keyed by the link id.  Templates themselves are
    never evaluated.  A link to a missing template, to a static policy, or
    with the wrong slots, or a link id that repeats a policy id, is bad input."""
    out: list[tuple[str, Policy, dict[str, EntityUID]]] = [
        (pid, p, {}) for pid, p in policyset.policies if not p.is_template]
    seen = set(policyset.ids)
    for link in policyset.links:
        if link.link_id in seen:
            raise _link_error(f"link id `{link.link_id}` is already the id of a policy or link")
        seen.add(link.link_id)
        template, slots = _link_slots(policyset, link)
        out.append((link.link_id, template, slots))
    return out


def authorize_instances(request: Request, entities: Entities,
                        instances: list[tuple[str, Policy, dict[str, EntityUID]]]) -> Response:
    """The decision over already-instantiated policies (see `instantiate`);
    lets a caller authorize many requests without re-instantiating."""
    permits: list[str] = []
    forbids: list[str] = []
    errors: list[tuple[str, str]] = []
    for pid, policy, slots in instances:
        try:
            applies = satisfied(policy, request, entities, slots)
        except EvalError as err:
            errors.append((pid, err.message))
            continue
        if applies:
            (permits if policy.effect == "permit" else forbids).append(pid)
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


def _instances(policyset: PolicySet) -> list[tuple[str, Policy, dict[str, EntityUID]]]:
    global _last_instantiated
    ref, instances = _last_instantiated
    if ref() is not policyset:
        instances = instantiate(policyset)
        _last_instantiated = (weakref.ref(policyset), instances)
    return instances


def is_authorized(request: Request, entities: Entities, policyset: PolicySet) -> Response:
    """Cedar's decision for one request."""
    return authorize_instances(request, entities, _instances(policyset))
