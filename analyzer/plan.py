"""The change plan: what an edit to the policies gains and loses, change by
change.

A *change* is one direction (gained or lost) in one request environment:

* its *subjects*, the added, removed or edited policies (or templates and
  their links) that cause it.  For a gain: the changed permits of the new
  version that newly hold on some gained request, and the changed forbids
  of the old version that held there and no longer do.  For a loss the
  reverse.  Each is a solver check in the environment;
* its exact *description*, one Cedar policy (`analyzer.describe`);
* its *examples*: one by default; more differ in what the policies read
  (`analyzer.observations`), never only in values nobody reads.  Each is
  replayed through the concrete evaluator on both versions, and its store
  keeps `Action` entities only when a policy reads the action hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import z3

from cedarscope.analyzer.changes import ADDED, EDITED, NEW, OLD, REMOVED, Versions
from cedarscope.analyzer.describe import Describer, Description
from cedarscope.analyzer.observations import distinct_outcomes, observations, reads
from cedarscope.analyzer.queries import allows
from cedarscope.analyzer.solving import Answer, Budget, EnvSolver, Example, Options, Replay, Status
from cedarscope.encoder import Unsupported
from cedarscope.lang import ast
from cedarscope.lang.authorizer import ALLOW, DENY, is_authorized
from cedarscope.lang.entities import Entities
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance
from cedarscope.reports.findings import Verdict

if TYPE_CHECKING:
    from cedarscope.lang.ast import PolicySet
    from cedarscope.lang.request import Request

GAINED, LOST = "gained", "lost"


@dataclass(frozen=True)
class Subject:
    """A policy whose edit causes a change: its id, what happened to it
    (added, removed, edited), and, for a link whose template was edited,
    added or removed, the template and what happened to it."""

    id: str
    status: str
    template: str | None = None
    template_status: str | None = None


@dataclass
class Change:
    direction: str
    env: RequestEnv
    subjects: list[Subject]
    description: Description | None
    examples: list[Example]


@dataclass
class EnvPlan:
    """One environment: both directions' answers, and the changes found."""

    env: RequestEnv
    gained: Answer
    lost: Answer
    changes: list[Change] = field(default_factory=list)
    access: tuple[str, str] | None = None  # (old, new): always | sometimes | never | unknown


def replay(after: PolicySet, before: PolicySet) -> Replay:
    """Concretely: `after` allows and `before` denies."""
    def check(request: Request, entities: Entities) -> bool:
        return (is_authorized(request, entities, after).decision == ALLOW
                and is_authorized(request, entities, before).decision == DENY)
    return check


# --------------------------------------------------------------------------
# Blame


def blame(solver: EnvSolver, goal: z3.BoolRef, direction: str, versions: Versions,
          old_slice: Sequence[PolicyInstance], new_slice: Sequence[PolicyInstance], options: Options
          ) -> list[Subject]:
    """The changed policies that cause the change, in source order.  A
    permit causes it where the side that allows has it holding and the
    other side has no such version holding; a forbid where the side that
    denies has it holding and the other has no such version holding."""
    enc = solver.enc
    budget = Budget(options)
    by_id = {OLD: {i.id: i for i in old_slice}, NEW: {i.id: i for i in new_slice}}
    allowing, denying = (NEW, OLD) if direction == GAINED else (OLD, NEW)
    candidates = [(allowing, i) for i in (new_slice if allowing == NEW else old_slice) if i.effect == "permit"]
    candidates += [(denying, i) for i in (old_slice if denying == OLD else new_slice) if i.effect == "forbid"]
    subjects: list[Subject] = []
    for side, instance in candidates:
        status = versions.status(side, instance)
        if status not in (ADDED, REMOVED, EDITED):
            continue
        other = by_id[NEW if side == OLD else OLD].get(instance.id) if status == EDITED else None
        holds = enc.satisfied(instance.policy)
        if other is not None and other.effect == instance.effect:  # a permit made a forbid no longer permits
            holds = z3.And(holds, z3.Not(enc.satisfied(other.policy)))
        found, _ = solver.check(z3.And(goal, holds), budget, reuse=True)
        if found is not Status.UNSAT:  # unknown keeps the policy: blame is never withheld on a timeout
            template_status = versions.template_change(instance)
            template = instance.template_id if template_status else None
            subjects.append(Subject(instance.id, status, template, template_status))
    return subjects


# --------------------------------------------------------------------------
# Examples


def reads_action_hierarchy(schema: Schema, env: RequestEnv, policies: Sequence[ast.Policy]) -> bool:
    """Does a policy need the action's groups: an action scope `in` a group
    of the environment's action, or a condition on the action."""
    groups = set(schema.action_ancestors(env.action))
    for p in policies:
        scope = p.action
        targets = scope.targets if isinstance(scope, ast.ActionInSet) else (
            (scope.target,) if isinstance(scope, ast.ScopeIn) else ())
        if any(t in groups for t in targets):
            return True
        if any(reads(c.body, "action") for c in p.conditions):
            return True
    return False


def without_actions(example: Example, check: Replay) -> Example:
    """The example without `Action` entities, when it replays without them."""
    kept = [e for e in example.entities if e.uid.type != example.request.action.type]
    if len(kept) == len(list(example.entities)):
        return example
    smaller = Example(example.request, Entities(kept), example.unread)
    return smaller if check(smaller.request, smaller.entities) else example


# --------------------------------------------------------------------------
# One environment


def plan_environment(solver: EnvSolver, schema: Schema, versions: Versions, old_slice: Sequence[PolicyInstance],
                     new_slice: Sequence[PolicyInstance], options: Options) -> EnvPlan:
    env, enc = solver.env, solver.enc
    allows_old, allows_new = allows(enc, old_slice), allows(enc, new_slice)
    policies = [i.policy for i in (*old_slice, *new_slice)]
    distinct = distinct_outcomes(enc, observations(policies))
    keep_actions = reads_action_hierarchy(schema, env, policies)
    directions = {
        GAINED: (z3.And(allows_new, z3.Not(allows_old)), replay(versions.new_set, versions.old_set),
                 new_slice, old_slice),
        LOST: (z3.And(allows_old, z3.Not(allows_new)), replay(versions.old_set, versions.new_set),
               old_slice, new_slice),
    }
    answers = {d: solver.examples(goal, check, options.max_examples, distinct)
               for d, (goal, check, _, _) in directions.items()}
    result = EnvPlan(env, answers[GAINED], answers[LOST])
    for direction, (goal, check, side_a, side_b) in directions.items():
        answer = answers[direction]
        if answer.verdict is not Verdict.VIOLATED:
            continue
        examples = answer.examples if keep_actions else [without_actions(x, check) for x in answer.examples]
        subjects = blame(solver, goal, direction, versions, old_slice, new_slice, options)
        description = None
        if options.describe:
            side = NEW if direction == GAINED else OLD
            other = OLD if side == NEW else NEW
            status = {id(i): versions.changed(side, i) for i in side_a}
            status |= {id(i): versions.changed(other, i) for i in side_b}

            def changed(i: PolicyInstance, status: dict[int, bool] = status) -> bool:
                return status.get(id(i), True)

            try:
                description = Describer(solver, schema, goal, side_a, side_b, changed, options).describe()
            except Unsupported as err:
                description = Description(None, None, None, reason=f"unsupported: {err}")
        result.changes.append(Change(direction, env, subjects, description, examples))
    if options.matrix:
        result.access = (access(solver, allows_old, options), access(solver, allows_new, options))
    return result


def access(solver: EnvSolver, allowed: z3.BoolRef, options: Options) -> str:
    """always, sometimes or never: how much of the environment is allowed."""
    budget = Budget(options)
    some, _ = solver.check(allowed, budget, reuse=True)
    if some is Status.UNSAT:
        return "never"
    not_all, _ = solver.check(z3.Not(allowed), budget, reuse=True)
    if Status.UNKNOWN in (some, not_all):
        return "unknown"
    return "always" if not_all is Status.UNSAT else "sometimes"


def unchanged_access(solver: EnvSolver, instances: Sequence[PolicyInstance], options: Options) -> str:
    return access(solver, allows(solver.enc, instances), options)
