"""When is a permit over-permissive?  The audit's judgement, as functions.

A permit is over-permissive when

- it grants an action to *every principal* of a type: its principal scope
  admits the whole type (``principal`` or ``principal is User``) and no
  condition reads ``principal``.  Nothing in the policy can then tell two
  principals apart, so if one principal of the type gets a request, every
  other principal gets the same request (with the same resource, context
  and entities): a sound, syntactic test, like an access analyzer's
  "public access";
- its conditions are always true (the solver proved that every request its
  scope matches satisfies them), so they restrict nothing;
- it exceeds a bound the user declared: it decides a request a
  ``@must("never")`` property says no one may get.

A grant over every resource of a type to a named principal or group
(``permit(principal in Group::"admins", action == Action::"delete",
resource)``) is an ordinary grant, not a finding; `strict` lists it too.
One finding per policy names every way it is over-permissive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import z3

from cedarscope.analyzer.queries import slice_in
from cedarscope.analyzer.slicing import may_match
from cedarscope.analyzer.solving import Answer, EnvSolver, Options, environments, in_environment
from cedarscope.lang.ast import Policy, PolicySet, Scope, ScopeAny, ScopeIs
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.reports.findings import Counterexample, Finding, Location, Verdict

if TYPE_CHECKING:
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.request import Request


def admits_whole_type(scope: Scope) -> bool:
    """``principal``, or ``principal is T`` with no ``in``: every entity of
    the environment's type passes the scope."""
    return isinstance(scope, ScopeAny) or (isinstance(scope, ScopeIs) and scope.in_target is None)


def reads(policy: Policy, var: str) -> bool:
    """Does any condition of the policy read the request variable?"""
    from cedarscope.analyzer.properties import mentions_var

    return any(mentions_var(c.body, var) for c in policy.conditions)


def grants_every(policy: Policy, var: str) -> bool:
    """Does the permit treat every `var` ("principal" or "resource") of a
    type alike (see the module docstring)?"""
    return policy.effect == "permit" and admits_whole_type(getattr(policy, var)) and not reads(policy, var)


def _grants(var: str, envs: Sequence[RequestEnv]) -> str:
    """"Action::"view" to every principal of type User" for the environments
    the permit matches in, grouped by type."""
    by_type: dict[str, list[str]] = {}
    for env in envs:
        typ = env.principal_type if var == "principal" else env.resource_type
        action = str(env.action)
        if action not in by_type.setdefault(typ, []):
            by_type[typ].append(action)
    who = "to every principal of type" if var == "principal" else "on every resource of type"
    return "; ".join(f"it grants {', '.join(actions)} {who} {typ}" for typ, actions in by_type.items())


def reasons(policy: Policy, alive: Sequence[RequestEnv], *, always_true: bool,
            exceeds: Sequence[str] = (), strict: bool = False, witnessed: bool = True) -> list[str]:
    """Every way the permit is over-permissive, as clauses of one sentence.
    The grants to every principal (resource) are claimed only `witnessed`:
    with an example request that replayed."""
    if policy.effect != "permit":
        return []
    out = []
    if witnessed and grants_every(policy, "principal"):
        out.append(_grants("principal", alive) + " (nothing in it constrains the principal)")
    if always_true:
        out.append("its conditions are always true, so they restrict nothing")
    for prop in exceeds:
        out.append(f'it allows requests that @must("never") property {prop} rules out')
    if witnessed and strict and grants_every(policy, "resource"):
        out.append(_grants("resource", alive) + " (nothing in it constrains the resource)")
    return out


def over_permissive(rule_id: str, policy: Policy, alive: Sequence[RequestEnv], loc: tuple[Location, ...], *,
                    always_true: bool, exceeded: Exceeded | None = None, strict: bool = False,
                    example: Counterexample | None = None) -> Finding | None:
    """The one over-permissive finding for a permit, or None.  `example` is
    a replayed request the permit grants (None: none replayed).  A permit
    that exceeds a @must("never") bound is shown where it does: the
    environment and example of `exceeded`, never another one's witness."""
    exceeds = exceeded.properties if exceeded is not None else []
    if exceeded is not None:
        example = exceeded.example
    found = reasons(policy, alive, always_true=always_true, exceeds=exceeds, strict=strict,
                    witnessed=example is not None)
    if not found or not alive:
        return None
    # a grant over every resource, and nothing else, is listed as a note
    strict_only = not reasons(policy, alive, always_true=always_true, exceeds=exceeds,
                              witnessed=example is not None)
    env = exceeded.env if exceeded is not None else alive[0]
    return Finding("over-permissive", f"permit {rule_id} is over-permissive: {'; '.join(found)}",
                   (rule_id,), tuple(exceeds), loc, env, example, severity="note" if strict_only else "error")


# --------------------------------------------------------------------------
# @must bounds


@dataclass
class Exceeded:
    """The @must("never") properties a permit exceeds, and where the first
    one is exceeded: an environment and an example there (replayed) that the
    property describes, the permit matches and the policies allow."""

    properties: list[str]
    env: RequestEnv
    example: Counterexample


def exceeding(schema: Schema, ps: PolicySet, properties: PolicySet, options: Options
              ) -> tuple[dict[str, Exceeded], list[Answer]]:
    """Permit id -> the @must("never") properties it exceeds: the permit
    matches some request the property describes and the policies allow it
    (shown by a replayed example).  Asked per permit, so every permit that
    exceeds a bound is named, not only the one an example happened to show.
    Also the answers, for the audit's stats."""
    from cedarscope.analyzer.checks import counterexample
    from cedarscope.analyzer.properties import NEVER, must_of

    instances = instantiate(ps)
    out: dict[str, Exceeded] = {}
    answers: list[Answer] = []
    for prop_id, prop in properties.policies:
        if must_of(prop) != NEVER:
            continue
        for env in environments(schema, options):
            if not may_match(prop, env, schema):
                continue
            sliced = slice_in(instances, env, schema)
            permits = [i for i in sliced if i.effect == "permit"]
            if not permits:
                continue
            found = in_environment(schema, env, options, _exceeding_in(ps, prop, sliced, permits),
                                   unsupported=lambda answer: [("", answer)])
            for permit_id, answer in found:
                answers.append(answer)
                if answer.verdict is not Verdict.VIOLATED or not answer.examples:
                    continue
                if permit_id not in out:
                    out[permit_id] = Exceeded([], answer.env, counterexample(answer.examples[0], {"policies": ps}))
                if prop_id not in out[permit_id].properties:
                    out[permit_id].properties.append(prop_id)
    return out, answers


def _exceeding_in(ps: PolicySet, prop: Policy, sliced: Sequence[PolicyInstance], permits: list[PolicyInstance]
                  ) -> Callable[[EnvSolver], list[tuple[str, Answer]]]:
    """In one environment: for each permit, an allowed request of the
    property that the permit matches."""
    from cedarscope.analyzer.properties import describes
    from cedarscope.analyzer.queries import allows, policy_outcome
    from cedarscope.lang.authorizer import ALLOW, is_authorized

    def ask(solver: EnvSolver) -> list[tuple[str, Answer]]:
        allowed = allows(solver.enc, sliced)
        found = []
        for permit in permits:
            def replay(request: Request, entities: Entities, permit: PolicyInstance = permit) -> bool:
                return (describes(prop, request, entities)
                        and policy_outcome(permit.policy, request, entities) == "match"
                        and is_authorized(request, entities, ps).decision == ALLOW)

            goal = z3.And(solver.enc.satisfied(prop), allowed, solver.enc.satisfied(permit.policy))
            found.append((permit.id, solver.examples(goal, replay, 1)))
        return found

    return ask
