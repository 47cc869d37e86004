"""Facts the user states about their world: `--assume FILE`.

An assumption file holds Cedar policies annotated ``@assume`` (optionally
``@assume("why it holds")``).  Each states what every request and entity store
in the user's world satisfies:

* ``@assume permit (S) when { C };`` — every request matching the scope S
  satisfies the conditions C (without error).  Requests outside S are not
  constrained: the hypothesis is ``S -> C``.  So
  ``permit (principal, action == Action::"create", resource) when { resource has request }``
  says every create request's resource has a `request` attribute, and
  ``permit (principal, action, resource) when { principal in Org::"acme" }``
  that every principal is in the acme organisation.
* ``@assume forbid (S) when { C };`` — no request matching S satisfies C.

In every environment the solver adds the hypotheses of the assumptions whose
scope can match there (`hypotheses`, added with the well-formedness
assumptions by `analyzer.solving.EnvSolver`), so every answer holds for the
requests and stores of that world, and every example satisfies them
(`holds_for`, checked concretely before an example is shown).

An assumption that no request in its scope can satisfy (together with the
others; for `forbid`, one whose conditions every request in its scope meets)
would make every answer about those requests hold vacuously, and so would
assumptions that leave no request in any environment asked about: that is
bad input (`check_world`), never a "holds".  Environments asked about that
the assumptions leave empty are named in the report.  A policy with no
conditions states nothing (``S -> true``) and is bad input too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import z3

from cedarscope.analyzer.slicing import may_match
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError, satisfied, scope_matches
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema

if TYPE_CHECKING:
    from cedarscope.analyzer.solving import EnvSolver, Options
    from cedarscope.encoder.encoding import Encoding

ANNOTATION = "assume"


@dataclass(frozen=True)
class StatedAssumption:
    """One ``@assume`` policy: `policy` as written, `id` its policy id."""

    id: str
    policy: Policy

    @property
    def scope(self) -> Policy:
        """The policy with its scope only: which requests the assumption is about."""
        p = self.policy
        return Policy("permit", p.principal, p.action, p.resource)

    @property
    def is_forbid(self) -> bool:
        return self.policy.effect == "forbid"

    def sentence(self) -> str:
        """What the report says is assumed: where it is written and what it states."""
        from cedarscope.lang.explain import scope_text
        from cedarscope.lang.printer import print_expr

        p = self.policy
        scope = ", ".join(scope_text(part, getattr(p, part)) for part in ("principal", "action", "resource"))
        conditions = " && ".join(
            f"({print_expr(c.body)})" if c.kind == "when" else f"!({print_expr(c.body)})"
            for c in p.conditions)
        conditions = " ".join(conditions.split())
        where = f" at {p.span.file}:{p.span.line}" if p.span else ""
        why = p.annotation(ANNOTATION)
        reason = f" ({why.value})" if why is not None and why.value else ""
        verb = "no request" if self.is_forbid else "every request"
        return f"stated assumption {self.id}{where}{reason}: {verb} in ({scope}) satisfies {conditions}"


def _error(policy: Policy, message: str) -> CedarError:
    span = policy.span
    return CedarError(Diagnostic(message, file=span.file if span else "<assumptions>",
                                 line=span.line if span else None, column=span.column if span else None))


def stated_assumptions(policyset: PolicySet) -> tuple[StatedAssumption, ...]:
    """The assumptions of an assumption file, checked for form: every policy
    is annotated ``@assume``, is not a template, and has conditions."""
    out = []
    for pid, policy in policyset.policies:
        if policy.annotation(ANNOTATION) is None:
            raise _error(policy, f"policy {pid} in an assumption file is not annotated @assume")
        if policy.is_template:
            raise _error(policy, f"assumption {pid} is a template (it has slots)")
        if not policy.conditions:
            raise _error(policy, f"assumption {pid} has no `when` or `unless` condition, so it states "
                                 "nothing (its scope only says which requests it is about)")
        out.append(StatedAssumption(pid, policy))
    if policyset.links:
        raise CedarError(Diagnostic("an assumption file cannot link templates", file="<assumptions>"))
    return tuple(out)


# --------------------------------------------------------------------------
# Symbolic and concrete meaning


def relevant(stated: Sequence[StatedAssumption], env: RequestEnv, schema: Schema) -> list[StatedAssumption]:
    """The assumptions whose scope can match in `env` (the others say nothing there)."""
    return [s for s in stated if may_match(s.policy, env, schema)]


def hypothesis(enc: Encoding, s: StatedAssumption) -> z3.BoolRef:
    """The assumption as a formula of the encoding `enc`: ``scope -> conditions
    hold without error`` for `permit`, ``not (scope and conditions hold)`` for `forbid`."""
    if s.is_forbid:
        return z3.Not(enc.satisfied(s.policy))
    return z3.Implies(enc.satisfied(s.scope), enc.satisfied(s.policy))


def hypotheses(enc: Encoding, stated: Sequence[StatedAssumption]) -> list[z3.BoolRef]:
    """The hypotheses to add in `enc`'s environment."""
    return [hypothesis(enc, s) for s in relevant(stated, enc.env, enc.schema)]


def holds_for(s: StatedAssumption, request: Request, entities: Entities) -> bool:
    """Does a concrete request and store satisfy the assumption?"""
    p = s.policy
    if not all(scope_matches(getattr(p, part), getattr(request, part), entities)
               for part in ("principal", "action", "resource")):
        return True
    try:
        conditions_hold = satisfied(p, request, entities)
    except EvalError:
        conditions_hold = False
    return not conditions_hold if s.is_forbid else conditions_hold


def all_hold(stated: Sequence[StatedAssumption], request: Request, entities: Entities) -> bool:
    return all(holds_for(s, request, entities) for s in stated)


# --------------------------------------------------------------------------
# The world must not be empty


def apply(schema: Schema, policyset: PolicySet, options: Options, sources: dict[str, str] | None = None) -> None:
    """Put an assumption file's policies in force in `options` (`stated`, and
    the report's sentences in `stated_notes`): checked for form, validated
    against the schema like any policy, and proved not vacuous."""
    from cedarscope.lang.validator import validate

    stated = stated_assumptions(policyset)
    diagnostics = validate(policyset, schema, sources=sources or {})
    if diagnostics:
        raise CedarError(diagnostics)
    options.stated = stated
    options.stated_notes = check_world(schema, stated, options)


def check_world(schema: Schema, stated: Sequence[StatedAssumption], options: Options) -> tuple[str, ...]:
    """Prove the stated world is not vacuous, or raise CedarError (bad input).

    Every assumption must be satisfied by some request in its scope, in some
    environment of the schema, together with all the other assumptions; and
    some environment asked about must keep a request.  Returns the report's
    sentences: each assumption, then the environments asked about that the
    assumptions leave empty, and what could not be settled."""
    from cedarscope.analyzer.solving import Budget, Status, environments, in_environment

    if not stated:
        return ()
    asked = set(environments(schema, options))
    witnessed: set[str] = set()
    empty: list[RequestEnv] = []
    unsettled: list[str] = []
    unsettled_ids: set[str] = set()

    for env in schema.environments():
        pending = [s for s in relevant(stated, env, schema) if s.id not in witnessed]
        if env not in asked and not pending:
            continue

        def ask(solver: EnvSolver, env: RequestEnv = env, pending: list[StatedAssumption] = pending) -> None:
            status, _ = solver.check(z3.BoolVal(True), Budget(options))
            if status is Status.UNSAT:
                empty.append(env)
                return
            for s in pending:
                found, _ = solver.check(solver.enc.satisfied(s.scope), Budget(options))
                if found is Status.SAT:
                    witnessed.add(s.id)
                elif found is Status.UNKNOWN:
                    unsettled.append(f"{env}: whether some request satisfies {s.id}")
                    unsettled_ids.add(s.id)
            if status is Status.UNKNOWN:
                unsettled.append(f"{env}: whether any request satisfies the assumptions")

        result = in_environment(schema, env, options, ask)
        if result is not None:  # the encoder does not support a construct: nothing proved
            unsettled.append(f"{env}: {result.reason}")
            unsettled_ids.update(s.id for s in pending)

    for s in stated:
        if s.id not in witnessed and s.id not in unsettled_ids:
            raise _error(s.policy, f"assumption {s.id}: no request in its scope satisfies it (together with "
                                   "the other assumptions), so every answer about those requests would hold "
                                   "vacuously")
    if asked and set(empty) >= asked:
        first = stated[0].policy
        raise _error(first, "the stated assumptions leave no request in any environment asked about, so "
                            "every answer would hold vacuously")
    notes = [s.sentence() for s in stated]
    notes += [f"no request of environment ({env}) satisfies the stated assumptions: answers there hold "
              "vacuously" for env in empty if env in asked]
    notes += [f"not settled by the solver: {u}" for u in unsettled]
    return tuple(notes)
