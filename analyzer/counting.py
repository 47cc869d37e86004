"""Quantitative permissiveness: how many requests of a bounded universe a
policy set allows, or a change gains and loses.

The universe bounds the principals and resources a request can name:

* a concrete entity store (`Universe.of_store`): requests range over its
  entities of each environment's types, and the store is fixed, so the
  policies read exactly its attributes, tags and hierarchy;
* a number per entity type (`Universe.generic`): that many ids of each type,
  the store itself unknown, so a request counts when *some* store Cedar
  accepts allows it.

A request is counted as its (principal, action, resource): where the
action's context has attributes, one counts when it is allowed for *some*
context (and then each count says so).  Counting is enumeration: every model
of ``goal ∧ universe`` (goal: allowed, gained or lost) yields one request,
which is replayed through the concrete evaluator before it is counted, and a
blocking clause excludes it, until the solver proves there are no more (the
count is exact), the cap is reached or the budget runs out (then the count
is "at least" what was found).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import z3

from cedarscope.analyzer.queries import allows, slice_in
from cedarscope.analyzer.solving import (
    Answer,
    Budget,
    EnvSolver,
    Model,
    Options,
    Stats,
    Status,
    environments,
    in_environment,
)
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY, Decision, is_authorized
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.lang.values import CedarRecord, EntityUID
from cedarscope.reports.counts import CAPPED, EXACT, UNKNOWN, CountReport, CountRow, Tally
from cedarscope.reports.findings import Verdict

if TYPE_CHECKING:
    from cedarscope.encoder.encoding import Encoding
    from cedarscope.encoder.symenv import SymEnv

DEFAULT_CAP = 1000
ALLOWED, GAINED, LOST = "allowed", "gained", "lost"


@dataclass(frozen=True)
class Universe:
    """The entities requests may name: a store's, or `per_type` of each type."""

    store: Entities | None = None
    per_type: int | None = None
    description: str = ""

    @classmethod
    def of_store(cls, store: Entities, name: str = "the entity store") -> Universe:
        return cls(store=store, description=name)

    @classmethod
    def generic(cls, n: int) -> Universe:
        return cls(per_type=n, description=f"{n} entities of each type, in any store")

    def members(self, etype: str, schema: Schema) -> list[EntityUID]:
        """The universe's entities of one type, in a fixed order."""
        if self.store is not None:
            return sorted(e.uid for e in self.store if e.uid.type == etype)
        declared = schema.entity_types.get(etype)
        if declared is not None and declared.enum is not None:  # an enum type has exactly its values
            return [EntityUID(etype, x) for x in sorted(declared.enum)][: self.per_type]
        stem = etype.split("::")[-1].lower()
        return [EntityUID(etype, f"{stem}{i}") for i in range(1, (self.per_type or 0) + 1)]


# --------------------------------------------------------------------------
# One environment, one direction


@dataclass
class _Found:
    requests: int = 0
    principals: set[EntityUID] = field(default_factory=set)
    resources: set[EntityUID] = field(default_factory=set)


def _within(solver: EnvSolver, universe: Universe) -> list[z3.BoolRef] | None:
    """The universe as constraints of the environment: its principals and
    resources, and (for a store) the store fixed for everything compiled so
    far; None when it has no request in the environment."""
    enc, schema = solver.enc, solver.enc.schema
    sym = enc.sym
    ps = universe.members(solver.env.principal_type, schema)
    rs = universe.members(solver.env.resource_type, schema)
    if not ps or not rs:
        return None
    within = [z3.Or([sym.principal.val == sym.ids.val(u) for u in ps]),
              z3.Or([sym.resource.val == sym.ids.val(u) for u in rs])]
    if universe.store is not None:
        within += _pinned_store(enc, universe.store)
    return within


def _count(solver: EnvSolver, goal: z3.BoolRef, within: list[z3.BoolRef], universe: Universe, cap: int,
           replay: Callable[[Request, Entities], bool]) -> tuple[_Found, Status]:
    """Enumerate the universe's requests satisfying `goal` (see the module
    docstring); the status is UNSAT when the count is exact."""
    sym = solver.enc.sym
    principal, resource = sym.principal.val, sym.resource.val
    found = _Found()

    def keep(model: Model) -> bool:
        p, r = model.value(principal), model.value(resource)
        if not _replays(solver, model, universe, p, r, replay):
            return False
        found.requests += 1
        found.principals.add(_uid(sym, solver.env.principal_type, p))
        found.resources.add(_uid(sym, solver.env.resource_type, r))
        return True

    def block(model: Model) -> z3.BoolRef:
        return z3.Or(model.changes(principal), model.changes(resource))

    status = solver.enumerate(z3.And(goal, *within), block, cap, Budget(solver.options), keep)
    return found, status


def _uid(sym: SymEnv, etype: str, value: z3.ExprRef) -> EntityUID:
    """The universe's entity a model's id numbers (the universe's entities
    are all numbered, so it always names one)."""
    return EntityUID(etype, sym.ids.id_of(etype, value))  # type: ignore[arg-type]  # see the docstring: never None


def _pinned_store(enc: Encoding, store: Entities) -> list[z3.BoolRef]:
    """The store fixed for everything compiled so far (the goal), and for
    what the well-formedness constraints add to the footprint (computed
    until it stops growing, so no application is left free)."""
    while True:
        before = enc.footprint()
        enc.well_formed()
        if enc.footprint() == before:
            return enc.pin_store(store)


def _replays(solver: EnvSolver, model: Model, universe: Universe, p: z3.ExprRef, r: z3.ExprRef,
             replay: Callable[[Request, Entities], bool]) -> bool:
    """Replay the request a model counts: over the fixed store, the
    universe's principal and resource with the model's context; otherwise
    the model's whole example (request and store)."""
    if universe.store is None:
        return solver.example(model, replay) is not None
    enc, env = solver.enc, solver.env
    # the context, from the model (decoding it is most of a step's cost: only when there is one)
    context = enc.decode(model.solved, local=model.local)[0].context if enc.sym.context_type.attrs else CedarRecord()
    request = Request(_uid(enc.sym, env.principal_type, p), env.action, _uid(enc.sym, env.resource_type, r),
                      context)
    if replay(request, universe.store):
        return True
    solver.unknown_reasons.append(f"a counted request ({request.principal}, {request.resource}) failed to "
                                  "replay under the concrete evaluator (encoder disagreement)")
    return False


# --------------------------------------------------------------------------
# Every environment


def _tally(kind: str, found: _Found, status: Status, reasons: Sequence[str]) -> Tally:
    """Exact when the solver proved there are no more; "at least" otherwise."""
    outcome = {Status.UNSAT: EXACT, Status.SAT: CAPPED, Status.UNKNOWN: UNKNOWN}[status]
    return Tally(kind, found.requests, frozenset(found.principals), frozenset(found.resources), outcome,
                 "; ".join(reasons) if outcome == UNKNOWN else "")


def _decides(policyset: PolicySet, wanted: Decision) -> Callable[[Request, Entities], bool]:
    return lambda request, entities: is_authorized(request, entities, policyset).decision == wanted


def count(schema: Schema, policies: PolicySet, universe: Universe, options: Options,
          old: PolicySet | None = None, cap: int = DEFAULT_CAP) -> CountReport:
    """Per environment: how many requests of the universe `policies` allows,
    and with `old`, how many the change from `old` to `policies` gains and
    loses."""
    new_rules = instantiate(policies)
    old_rules = instantiate(old) if old is not None else None
    rows: list[CountRow] = []
    stats = Stats()

    def counted(solver: EnvSolver) -> CountRow:
        return _row(solver, schema, universe, policies, new_rules, old, old_rules, cap, stats)

    for env in environments(schema, options):
        def unsupported(unknown: Answer, env: RequestEnv = env) -> CountRow:
            return _unknown_row(env, schema, universe, old, unknown)

        rows.append(in_environment(schema, env, options, counted, unsupported))
    verdict = Verdict.UNKNOWN if any(t.outcome == UNKNOWN for row in rows for t in row.tallies) else Verdict.HOLDS
    return CountReport(universe.description, tuple(rows), verdict, cap,
                       stats.as_dict(environments=len(rows)))


def _sizes(env: RequestEnv, schema: Schema, universe: Universe) -> tuple[int, int, bool]:
    context = bool(schema.actions[env.action].context.attrs)
    return (len(universe.members(env.principal_type, schema)), len(universe.members(env.resource_type, schema)),
            context)


def _row(solver: EnvSolver, schema: Schema, universe: Universe, policies: PolicySet,
         new_rules: Sequence[PolicyInstance], old: PolicySet | None,
         old_rules: Sequence[PolicyInstance] | None, cap: int, stats: Stats) -> CountRow:
    enc, env = solver.enc, solver.env
    allowed_new = allows(enc, slice_in(new_rules, env, schema))
    goals = [(ALLOWED, allowed_new, _decides(policies, ALLOW))]
    if old is not None and old_rules is not None:
        allowed_old = allows(enc, slice_in(old_rules, env, schema))

        def changed(gain: bool) -> Callable[[Request, Entities], bool]:
            def replay(request: Request, entities: Entities) -> bool:
                before = is_authorized(request, entities, old).decision
                after = is_authorized(request, entities, policies).decision
                return (before, after) == ((DENY, ALLOW) if gain else (ALLOW, DENY))
            return replay

        goals += [(GAINED, z3.And(allowed_new, z3.Not(allowed_old)), changed(True)),
                  (LOST, z3.And(allowed_old, z3.Not(allowed_new)), changed(False))]
    within = _within(solver, universe)  # after every goal is compiled: the store is fixed once for all
    tallies = []
    for kind, goal, replay in goals:
        if within is None:
            tallies.append(_tally(kind, _Found(), Status.UNSAT, []))
            continue
        noted = len(solver.unknown_reasons)
        found, status = _count(solver, goal, within, universe, cap, replay)
        tallies.append(_tally(kind, found, status, solver.unknown_reasons[noted:] or ["the solver gave up"]))
    stats.add_solver(solver)
    return CountRow(env, *_sizes(env, schema, universe), tuple(tallies))


def _unknown_row(env: RequestEnv, schema: Schema, universe: Universe, old: PolicySet | None,
                 unknown: Answer) -> CountRow:
    kinds = (ALLOWED, GAINED, LOST) if old is not None else (ALLOWED,)
    return CountRow(env, *_sizes(env, schema, universe),
                    tuple(Tally(k, 0, outcome=UNKNOWN, reason=unknown.reason) for k in kinds))
