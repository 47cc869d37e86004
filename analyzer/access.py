"""access: who can do what.  For every request environment (principal
type, action, resource type), whether the policies allow every request of
it (always), some (sometimes) or none (never), and for "sometimes" exactly
which, written as one Cedar policy.

Each level is proved in the environment, on one solver:

* never: no request is allowed (``allows`` is unsatisfiable), or no permit
  can match there at all (slicing, no solver call);
* always: no request is denied (``¬allows`` is unsatisfiable);
* sometimes: both an allowed and a denied request exist; each is shown as
  an example, decoded and replayed through the concrete evaluator.

A "sometimes" set is described by the change plan's machinery
(`analyzer.describe`): the requests ``allows(slice)`` holds on, as a
difference with an empty second side, simplified step by step and proved
equal to the set once more after printing.  When no exact description is
verified in the budget, none is shown (never an inexact one).

With a *focus* (`Focus`: one principal, or one resource, and a concrete
entity store), the question is that entity's effective access: the store
is fixed (its attributes, tags and hierarchy, as `count` fixes it) and the
other side of the request ranges over the store's entities of its type.
Each of those is listed as allowed (for every context), allowed depending
on the context, or denied, found by enumerating the solver's models with
blocking clauses until none is left, each replayed through the concrete
evaluator over the store.  The lists are then exactly the store's answer.

Only the static policies and the given template links grant access here:
a template without links grants nothing until it is linked, and the report
says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import z3

from cedarscope.analyzer.describe import Describer, Description
from cedarscope.analyzer.queries import allows, decision
from cedarscope.analyzer.slicing import PolicyIndex
from cedarscope.analyzer.solving import (
    Answer,
    Budget,
    EnvSolver,
    Example,
    Model,
    Options,
    Status,
    environments,
    in_environment,
)
from cedarscope.analyzer.spread import spread
from cedarscope.encoder import Unsupported
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY, is_authorized
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.lang.values import CedarRecord, EntityUID
from cedarscope.reports.findings import Verdict

if TYPE_CHECKING:
    from cedarscope.reports.access import AccessReport
    from cedarscope.reports.findings import Counterexample

ALWAYS, SOMETIMES, NEVER, UNKNOWN = "always", "sometimes", "never", "unknown"
LEVELS = (ALWAYS, SOMETIMES, NEVER, UNKNOWN)


@dataclass
class EnvAccess:
    """One environment's access: its level, the policies that may match
    there (its slice), the exact description of a "sometimes", and an
    allowed and a denied example where they exist (each replayed)."""

    env: RequestEnv
    level: str
    policies: tuple[str, ...] = ()
    description: Description | None = None
    allowed: Example | None = None
    denied: Example | None = None
    reason: str = ""  # why the level is unknown
    queries: int = 0
    solver_seconds: float = 0.0
    # with a focus: the store's entities on the other side of the request
    granted: tuple[EntityUID, ...] = ()  # allowed for every context
    conditional: tuple[EntityUID, ...] = ()  # allowed for some contexts, denied for others
    refused: tuple[EntityUID, ...] = ()  # denied for every context


@dataclass(frozen=True)
class Focus:
    """One principal's (`var` "principal") or one resource's effective
    access over a concrete entity store."""

    var: str
    uid: EntityUID
    store: Entities
    name: str = "the entity store"

    @property
    def other(self) -> str:
        return "resource" if self.var == "principal" else "principal"

    def applies(self, env: RequestEnv) -> bool:
        return (env.principal_type if self.var == "principal" else env.resource_type) == self.uid.type

    def others(self, env: RequestEnv) -> list[EntityUID]:
        """The store's entities the other side of a request may name here."""
        etype = env.resource_type if self.var == "principal" else env.principal_type
        return sorted(e.uid for e in self.store if e.uid.type == etype)

    def request(self, env: RequestEnv, other: EntityUID, context: CedarRecord) -> Request:
        pair = (self.uid, other) if self.var == "principal" else (other, self.uid)
        return Request(pair[0], env.action, pair[1], context)


def level_of(allowed: Answer, denied: Answer) -> str:
    """The level from the two answers ("is some request allowed?", "is
    some request denied?"); each proved, or unknown."""
    if allowed.verdict is Verdict.HOLDS:
        return NEVER
    if denied.verdict is Verdict.HOLDS:
        return ALWAYS
    if allowed.verdict is Verdict.VIOLATED and denied.verdict is Verdict.VIOLATED:
        return SOMETIMES
    return UNKNOWN


def access(schema: Schema, ps: PolicySet, options: Options, focus: Focus | None = None) -> list[EnvAccess]:
    """Every selected environment's access (with a focus, those its entity
    can take part in), in the schema's order, spread over `options.jobs`
    processes (analyzer.spread)."""
    index = PolicyIndex(instantiate(ps), schema)
    tasks = [(env, index.slice(env)) for env in environments(schema, options) if focus is None or focus.applies(env)]
    return list(spread(_access_task, (schema, ps, options, focus), tasks, options, [1 + len(s) for _, s in tasks]))


def _access_task(shared: tuple[Schema, PolicySet, Options, Focus | None],
                 task: tuple[RequestEnv, list[PolicyInstance]]) -> EnvAccess:
    schema, ps, options, focus = shared
    env, sliced = task
    ids = tuple(i.id for i in sliced)
    if not any(i.effect == "permit" for i in sliced):  # Cedar denies when no permit is satisfied
        return EnvAccess(env, NEVER, ids, refused=tuple(focus.others(env)) if focus else ())

    def ask(solver: EnvSolver) -> EnvAccess:
        if focus is not None:
            return focused_access(solver, ps, sliced, focus)
        return environment_access(solver, schema, ps, sliced, options)

    def unsupported(unknown: Answer) -> EnvAccess:
        return EnvAccess(env, UNKNOWN, ids, reason=unknown.reason)

    return in_environment(schema, env, options, ask, unsupported)


def environment_access(solver: EnvSolver, schema: Schema, ps: PolicySet, sliced: Sequence[PolicyInstance],
                       options: Options) -> EnvAccess:
    """The level of one environment, with its examples and, for
    "sometimes", its exact description."""
    allowed = allows(solver.enc, sliced)
    queries, seconds = solver.queries, solver.seconds
    yes = solver.examples(allowed, lambda r, e: decision(ps, r, e) == ALLOW)
    no = solver.examples(z3.Not(allowed), lambda r, e: decision(ps, r, e) == DENY)
    level = level_of(yes, no)
    result = EnvAccess(solver.env, level, tuple(i.id for i in sliced),
                       allowed=yes.examples[0] if yes.examples else None,
                       denied=no.examples[0] if no.examples else None,
                       reason="; ".join(a.reason for a in (yes, no) if a.verdict is Verdict.UNKNOWN and a.reason))
    if level == SOMETIMES and options.describe:
        try:
            result.description = Describer(solver, schema, allowed, sliced, (), lambda _: True, options).describe()
        except Unsupported as err:
            result.description = Description(None, None, None, reason=f"unsupported: {err}")
    result.queries, result.solver_seconds = solver.queries - queries, solver.seconds - seconds
    return result


def focused_access(solver: EnvSolver, ps: PolicySet, sliced: Sequence[PolicyInstance], focus: Focus) -> EnvAccess:
    """The focus entity's access in one environment, over its store: every
    entity on the other side found allowed and found denied (see the
    module docstring)."""
    from cedarscope.analyzer.counting import _pinned_store, _uid

    enc, env = solver.enc, solver.env
    sym = enc.sym
    others = focus.others(env)
    allowed = allows(enc, sliced)
    goals = {ALLOW: allowed, DENY: z3.Not(allowed)}  # compiled before the store is fixed
    queries, seconds = solver.queries, solver.seconds
    mine, theirs = getattr(sym, focus.var).val, getattr(sym, focus.other).val
    found: dict[str, set[EntityUID]] = {ALLOW: set(), DENY: set()}
    unsettled = False
    if others:
        within = [mine == sym.ids.val(focus.uid), z3.Or([theirs == sym.ids.val(u) for u in others]),
                  *_pinned_store(enc, focus.store)]
        known = set(others)
        other_type = others[0].type
        for wanted, goal in goals.items():
            def keep(model: Model, wanted: str = wanted) -> bool:
                other = _uid(sym, other_type, model.value(theirs))
                if other not in known:
                    return False
                context = (enc.decode(model.solved, local=model.local)[0].context if sym.context_type.attrs
                           else CedarRecord())
                request = focus.request(env, other, context)
                if is_authorized(request, focus.store, ps).decision != wanted:
                    solver.unknown_reasons.append(f"a request ({request.principal}, {request.resource}) failed "
                                                  "to replay under the concrete evaluator (encoder disagreement)")
                    return False
                found[wanted].add(other)
                return True

            def block(model: Model) -> z3.BoolRef:
                return model.changes(theirs)

            status = solver.enumerate(z3.And(goal, *within), block, len(others) + 1, Budget(solver.options), keep)
            unsettled = unsettled or status is not Status.UNSAT
    result = EnvAccess(env, UNKNOWN, tuple(i.id for i in sliced), queries=solver.queries - queries,
                       solver_seconds=solver.seconds - seconds)
    if unsettled:
        result.reason = "; ".join(solver.unknown_reasons) or "the solver gave up"
        return result
    result.granted = tuple(u for u in others if u in found[ALLOW] and u not in found[DENY])
    result.conditional = tuple(u for u in others if u in found[ALLOW] and u in found[DENY])
    result.refused = tuple(u for u in others if u not in found[ALLOW])
    result.level = (NEVER if not found[ALLOW] else ALWAYS if len(result.granted) == len(others) else SOMETIMES)
    return result


def access_report(ps: PolicySet, found: Sequence[EnvAccess], assumptions: Sequence[str] = (),
                  focus: Focus | None = None) -> AccessReport:
    """The report of `access`'s answers: each example with
    the set's decision and the policies that determined it."""
    from cedarscope.analyzer.checks import counterexample
    from cedarscope.reports.access import AccessReport, AccessRow

    def shown(example: Example | None) -> Counterexample | None:
        return counterexample(example, {"policies": ps}) if example is not None else None

    rows = []
    for a in found:
        d = a.description
        rows.append(AccessRow(a.env, a.level, a.policies,
                              description=d.text if d is not None else None,
                              description_form=d.form if d is not None else None,
                              description_reason=d.reason if d is not None and d.text is None else "",
                              allowed=shown(a.allowed), denied=shown(a.denied), reason=a.reason,
                              granted=a.granted, conditional=a.conditional, refused=a.refused))
    unlinked = [pid for pid, p in ps.policies if p.is_template and not any(x.template_id == pid for x in ps.links)]
    if unlinked:
        assumptions = (*assumptions, "templates without links grant nothing until they are linked, and are not "
                                     f"part of this answer: {', '.join(unlinked)}")
    stats = {"environments": len(found), "queries": sum(a.queries for a in found),
             "solver_seconds": round(sum(a.solver_seconds for a in found), 3),
             "descriptions": sum(1 for r in rows if r.description is not None)}
    result = Verdict.UNKNOWN if any(a.level == UNKNOWN for a in found) else Verdict.HOLDS
    if focus is not None:
        assumptions = (*assumptions, f"the entity store is {focus.name}, as it is; requests name its entities")
    return AccessReport(tuple(rows), result, stats, tuple(dict.fromkeys(assumptions)),
                        focus=f"{focus.uid} over {focus.name}" if focus is not None else None)
