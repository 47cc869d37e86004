"""audit: rules that are dead, redundant, shadowed, overridden, may error
open, or grant more than they should.

The algorithm, per request environment (see README "How audit scales"):

1. *Slice*: only the policies whose scope can match the environment's types
   and action are encoded there (`analyzer.slicing`); a policy whose slice is
   empty everywhere is dead without a solver call.
2. *Encode once*: every sliced policy's `satisfied` and `errors` terms are
   compiled into one `Encoding`, and the well-formedness assumptions for their
   joint footprint are added to one solver.
3. *Solve incrementally*: each question is a `push`/`check`/`pop` on that
   solver, so Z3 keeps what it learned about the shared assumptions.
4. *Prune pairs*: the pairwise question "is p implied by q?" is asked only
   for pairs of the same effect that share the environment and that overlap
   (some request satisfies both), which the per-policy witnesses already
   answer for most pairs: if p's witness does not satisfy q, p is not
   implied by q and no solver call is made.

Each finding that has a witness or counterexample carries one that was
replayed through the concrete evaluator.  An environment the solver could
not settle makes every verdict that depends on it absent (reported under
`stats.unknown`), never a finding of "redundant" or "dead".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import z3

from cedarscope.analyzer.checks import counterexample
from cedarscope.analyzer.queries import policy_outcome
from cedarscope.analyzer.slicing import may_match
from cedarscope.analyzer.solving import (
    Budget,
    EnvSolver,
    Example,
    Model,
    Options,
    Stats,
    Status,
    environments,
    one_environment,
)
from cedarscope.analyzer.templates import TemplateRule, template_rules
from cedarscope.analyzer.templates import notes as template_notes
from cedarscope.encoder import Encoding, Unsupported
from cedarscope.lang.ast import Policy, PolicySet, ScopeAny, ScopeIs, TemplateLink
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.reports.findings import Finding, Location, Report, Verdict

SAT, UNSAT, UNKNOWN = Status.SAT, Status.UNSAT, Status.UNKNOWN
Rule = PolicyInstance | TemplateRule  # a static policy, a template link, or a template for every link


def _outcome_is(rule: Rule, wanted: str, request: Request, entities: Entities,
                links: Sequence[TemplateLink] = ()) -> bool:
    return outcome(rule, request, entities, links) == wanted


def outcome(rule: Rule, request: Request, entities: Entities, links: Sequence[TemplateLink] = ()) -> str:
    """"match", "no-match" or "error" for the rule under concrete inputs (a
    template analysed for every link: through the example's links)."""
    if isinstance(rule, TemplateRule):
        return rule.outcome(request, entities, links)
    return policy_outcome(rule.policy, request, entities)


def _policies(rule: Rule, env: RequestEnv) -> tuple[Policy, ...]:
    """The policies a rule stands for in an environment (a template: one
    per typing of its slots)."""
    return rule.policies_in(env) if isinstance(rule, TemplateRule) else (rule.policy,)


def _any(terms: Sequence[z3.BoolRef]) -> z3.BoolRef:
    return z3.Or(list(terms)) if len(terms) != 1 else terms[0]


# --------------------------------------------------------------------------
# One environment: an encoding, a solver, and the questions asked of it


class EnvSession:
    """All the audit's questions about one environment, on one solver."""

    def __init__(self, schema: Schema, env: RequestEnv, rules: Sequence[Rule], options: Options):
        self.env = env
        self.rules = list(rules)
        self.options = options
        self.solver = EnvSolver(Encoding(schema, env, options.assumptions), options)
        enc = self.solver.enc
        self.sat = {r.id: _any([enc.satisfied(p) for p in _policies(r, env)]) for r in self.rules}
        self.err = {r.id: _any([enc.errors(p) for p in _policies(r, env)]) for r in self.rules}
        # the scope alone, for "are the conditions always true?"
        self.scope = {r.id: _any([enc.satisfied(_scope_only(p)) for p in _policies(r, env)])
                      for r in self.rules if r.policy.conditions}

    def permits(self, exclude: str | None = None) -> list[Rule]:
        return [r for r in self.rules if r.effect == "permit" and r.id != exclude]

    def forbids(self, exclude: str | None = None) -> list[Rule]:
        return [r for r in self.rules if r.effect == "forbid" and r.id != exclude]

    def any_sat(self, rules: Sequence[Rule]) -> z3.BoolRef:
        return z3.Or([self.sat[r.id] for r in rules]) if rules else z3.BoolVal(False)

    def solve(self, goal: z3.BoolRef) -> tuple[Status, Model | None]:
        """sat with its model, unsat, or unknown, within one query's budget;
        a model found earlier that satisfies the goal answers without a
        call.  Models are decoded only for the examples a finding shows."""
        return self.solver.check(goal, Budget(self.options), reuse=True)

    def avoiding(self, base: z3.BoolRef, model: Model | None, avoid: Sequence[Rule]
                 ) -> tuple[Status, Model | None]:
        """Is ``base ∧ no rule of `avoid` is satisfied`` sat?  `model` must
        satisfy base (a sat answer's model).  Rather than negating every rule at once, only the
        rules a model found so far satisfies are negated, growing that set
        until a model satisfies none of `avoid` (sat) or the negated subset
        is already unsat, which makes the whole question unsat."""
        negated: list[Rule] = []
        found: Model | None = model
        while True:
            assert found is not None
            hit = [q for q in avoid if q not in negated and self.holds_in(found, q.id)]
            if not hit:
                return SAT, found
            negated += hit
            status, found = self.solve(z3.And(base, z3.Not(self.any_sat(negated))))
            if status is not SAT:
                return status, None

    def holds_in(self, model: Model, rule_id: str) -> bool:
        """Is the rule satisfied in a model (without decoding it)?"""
        return model.holds(self.sat[rule_id])

    def example(self, model: Model | None, replay: Callable[[Request, Entities], bool]) -> Example | None:
        """The decoded example of a sat answer's model (see EnvSolver.example)."""
        assert model is not None, "only sat answers have examples"
        return self.solver.example(model, replay)


def _scope_only(policy: Policy) -> Policy:
    return Policy(policy.effect, policy.principal, policy.action, policy.resource)


# --------------------------------------------------------------------------
# Per-environment facts, gathered before the findings are decided


@dataclass
class Facts:
    """What the audit learned about one rule in one environment.  Models
    are kept undecoded; `EnvSession.example` decodes the few shown."""

    alive: str = UNSAT  # sat: some request matches it here
    witness: Model | None = None
    errs: str = UNSAT  # sat: some request makes it error here
    error_model: Model | None = None
    overridden: str = UNKNOWN  # sat when "matches and no forbid does" is unsat
    needed: str = UNKNOWN  # sat of "the only permit that matches, and no forbid"
    implied_by: set = field(default_factory=set)  # same-effect rules implying it here
    always_true: str = UNKNOWN  # unsat of "scope matches but conditions do not"


def _gather(session: EnvSession) -> dict[str, Facts]:
    facts = {r.id: Facts() for r in session.rules}
    for r in session.rules:
        f = facts[r.id]
        f.alive, f.witness = session.solve(session.sat[r.id])
        if r.effect == "forbid":
            f.errs, f.error_model = session.solve(session.err[r.id])
    alive = [r for r in session.rules if facts[r.id].alive == SAT]
    for r in alive:
        facts[r.id].implied_by = _implied_by(session, r, alive)
    later = {r.id: i for i, r in enumerate(session.rules)}
    no_forbid = z3.Not(session.any_sat(session.forbids()))
    for r in alive:
        f = facts[r.id]
        if r.effect == "permit":
            status, free = session.avoiding(session.sat[r.id], f.witness, session.forbids())
            f.overridden = {UNSAT: SAT, SAT: UNSAT}.get(status, UNKNOWN)
            # Of equivalent permits the first is kept: its redundancy is judged
            # without the later ones, which are reported as shadowed by it.
            equivalents = {q for q in f.implied_by
                           if r.id in facts[q].implied_by and later[q] > later[r.id]}
            covering = f.implied_by - equivalents
            if f.overridden == UNSAT and covering:
                f.needed = UNSAT  # another permit matches whenever r does
            elif f.overridden == UNSAT:
                others = [q for q in session.permits(r.id) if q.id not in equivalents]
                f.needed, _ = session.avoiding(z3.And(session.sat[r.id], no_forbid), free, others)
        if r.policy.conditions:
            f.always_true, _ = session.solve(z3.And(session.scope[r.id], z3.Not(session.sat[r.id])))
    return facts


def _implied_by(session: EnvSession, r: Rule, alive: Sequence[Rule]) -> set[str]:
    """The same-effect rules q with r ⇒ q in this environment.  A model
    where r holds and q does not proves q does not imply r, so every such
    model found is kept and tried on the next candidates first."""
    implied: set[str] = set()
    witnesses: list[z3.ModelRef] = []
    for q in alive:
        if q.id == r.id or q.effect != r.effect:
            continue
        if not all(session.holds_in(m, q.id) for m in witnesses):
            continue
        status, model = session.solve(z3.And(session.sat[r.id], z3.Not(session.sat[q.id])))
        if status == UNSAT:
            implied.add(q.id)
        elif status == SAT:
            witnesses.append(model)
    return implied


# --------------------------------------------------------------------------
# The audit


def audit(schema: Schema, ps: PolicySet, options: Options,
          properties: PolicySet | None = None,
          progress: Callable[[int, int], None] | None = None) -> Report:
    rules: list[Rule] = [*instantiate(ps), *template_rules(ps, schema)]
    envs = environments(schema, options)
    per_env: dict[RequestEnv, dict[str, Facts]] = {}
    sliced: dict[str, list[RequestEnv]] = {r.id: [] for r in rules}
    stats = Stats()
    examples: dict[tuple[str, str], Example | None] = {}
    for i, env in enumerate(envs):
        env_rules = [r for r in rules if _may_match(r, env, schema)]
        for r in env_rules:
            sliced[r.id].append(env)
        if env_rules:
            with one_environment():
                try:
                    session = EnvSession(schema, env, env_rules, options)
                except Unsupported as exc:
                    stats.unknown.append(f"{env}: unsupported: {exc}")
                    per_env[env] = {r.id: Facts(alive=UNKNOWN) for r in env_rules}
                else:
                    per_env[env] = _gather(session)
                    _decode_examples(session, per_env[env], examples)
                    stats.add_solver(session.solver)
                    del session  # its encoding and models: memory stays one environment's worth
        if progress:
            progress(i + 1, len(envs))
    property_findings: list[Finding] = []
    if properties is not None:
        from cedarscope.analyzer.properties import check_properties

        prop = check_properties(schema, ps, properties, options)
        property_findings = list(prop.findings)
        stats.absorb(prop.stats)

    judge = _Judge(ps, {r.id: r for r in rules}, per_env, examples)
    findings = [f for r in rules for f in judge.findings_for(r, sliced[r.id])]
    findings.extend(property_findings)
    verdict = Verdict.VIOLATED if findings else (Verdict.UNKNOWN if stats.unknown else Verdict.HOLDS)
    return Report("audit", verdict, tuple(findings), stats.as_dict(environments=len(envs), policies=len(rules)),
                  assumptions=template_notes(ps))


def _may_match(rule: Rule, env: RequestEnv, schema: Schema) -> bool:
    """Can the rule match in `env` (a static slice; a template: some typing of its slots)?"""
    if isinstance(rule, TemplateRule):
        return bool(rule.policies_in(env))
    return may_match(rule.policy, env, schema)


def _may_show_witness(r: Rule, f: Facts) -> bool:
    """Could a finding about permit r show its witness?  (overridden, or
    over-permissive for an unconstrained principal or resource.)"""
    if r.effect != "permit":
        return False
    if f.overridden == SAT:
        return True
    return any(isinstance(s, ScopeAny) or (isinstance(s, ScopeIs) and s.in_target is None)
               for s in (r.policy.principal, r.policy.resource))


def _decode_examples(session: EnvSession, facts: dict[str, Facts],
                     examples: dict[tuple[str, str], Example | None]) -> None:
    """Decode and replay, while this environment's encoding exists, the
    examples a finding may show: a rule's first witness (from the first
    environment where it matches) and a forbid's first erroring request.
    The models are dropped afterwards, so an audit holds one environment's
    encoding at a time.  A None entry is an example that did not replay."""
    for r in session.rules:
        f = facts[r.id]
        if f.alive == SAT and ("witness", r.id) not in examples and _may_show_witness(r, f):
            examples[("witness", r.id)] = session.example(f.witness, functools.partial(_outcome_is, r, "match"))
        if f.errs == SAT and ("error", r.id) not in examples:
            examples[("error", r.id)] = session.example(f.error_model, functools.partial(_outcome_is, r, "error"))
        f.witness = f.error_model = None


class _Judge:
    """Turns the per-environment facts into findings.  A claim is made only
    when every environment the rule can match in was settled; the examples
    were decoded and replayed per environment (`_decode_examples`)."""

    def __init__(self, ps: PolicySet, by_id: dict[str, Rule], per_env, examples):
        self.ps, self.by_id, self.per_env, self.examples = ps, by_id, per_env, examples

    def counterexample(self, example: Example | None):
        return counterexample(example, {"policies": self.ps}) if example else None

    def findings_for(self, r: Rule, envs: list[RequestEnv]) -> list[Finding]:
        facts = [(env, self.per_env[env][r.id]) for env in envs if r.id in self.per_env.get(env, {})]
        if any(f.alive == UNKNOWN for _, f in facts):
            return []  # nothing is claimed about a rule the solver did not settle
        at = Location.of(r.policy)
        loc = (at,) if at else ()
        alive = [(env, f) for env, f in facts if f.alive == SAT]
        if not alive:
            where = "no environment of the schema" if not envs else "no valid request"
            if isinstance(r, TemplateRule):
                return [Finding("dead", f"template {r.id} can never match, whatever it is linked to: {where} "
                                        "satisfies any link of it", (r.id,), (), loc)]
            return [Finding("dead", f"{r.id} can never match: {where} satisfies it", (r.id,), (), loc)]
        if r.effect == "forbid":
            return [*self.forbid_may_error(r, facts, loc), *self.shadowed(r, alive, loc),
                    *self.over_permissive(r, alive, loc)]
        overridden = self.overridden(r, alive, loc)
        if overridden:
            return overridden
        shadowed = self.shadowed(r, alive, loc)
        redundant = [] if shadowed else self.redundant(r, alive, loc)
        return [*shadowed, *redundant, *self.over_permissive(r, alive, loc)]

    def forbid_may_error(self, r: Rule, facts, loc) -> list[Finding]:
        for env, f in facts:
            if f.errs == SAT:
                example = self.examples.get(("error", r.id))
                if example is None:
                    return []
                return [Finding("forbid-may-error",
                                f"forbid {r.id} errors on this request and then does not deny "
                                "(it fails open); guard the attributes it reads with `has`",
                                (r.id,), (), loc, env, self.counterexample(example))]
        return []

    def overridden(self, r: Rule, alive, loc) -> list[Finding]:
        if not all(f.overridden == SAT for _, f in alive):
            return []
        env, f = alive[0]
        example = self.examples.get(("witness", r.id))
        if example is None:
            return []
        # the forbids that defeat it on the example
        related = sorted(q.id for q in self.by_id.values() if q.effect == "forbid"
                         and outcome(q, example.request, example.entities, example.links) == "match")
        return [Finding("overridden",
                        f"permit {r.id} never grants anything: a forbid always matches when it does",
                        (r.id,), tuple(related), loc, env, self.counterexample(example))]

    def shadowed(self, r: Rule, alive, loc) -> list[Finding]:
        """r is implied by one same-effect rule in every environment where it
        matches.  Of two equivalent rules only the later is reported."""
        common = None
        for _, f in alive:
            common = set(f.implied_by) if common is None else common & f.implied_by
        if not common:
            return []
        order = {pid: i for i, pid in enumerate(self.ps.ids)}
        def position(pid):
            return order.get(pid, len(order))
        def equivalent(a: str, b: str) -> bool:
            return all(b in self.per_env[env][a].implied_by and a in self.per_env[env][b].implied_by
                       for env, _ in alive)

        shadows: list[str] = []
        for q in sorted(common, key=position):
            if equivalent(r.id, q) and position(q) > position(r.id):
                continue  # equivalent rules: the earlier one stays, the later is reported
            if any(equivalent(q, earlier) for earlier in shadows):
                continue  # name one of a group of equivalent shadowing rules
            shadows.append(q)
        if not shadows:
            return []
        subject = (f"every link of template {r.id} ({r.effect}) is shadowed" if isinstance(r, TemplateRule)
                   else f"{r.effect} {r.id} is shadowed")
        return [Finding("shadowed",
                        f"{subject} by {', '.join(shadows)}: every request it matches, "
                        f"{'that policy' if len(shadows) == 1 else 'each of those'} matches too",
                        (r.id,), tuple(shadows), loc)]

    def redundant(self, r: Rule, alive, loc) -> list[Finding]:
        if not all(f.overridden == SAT or f.needed == UNSAT for _, f in alive):
            return []
        # the other permits that can match where r matches: together they cover it
        covering = sorted({pid for env, _ in alive for pid, other in self.per_env[env].items()
                           if pid != r.id and self.by_id[pid].effect == "permit" and other.alive == SAT})
        return [Finding("redundant",
                        f"permit {r.id} is redundant: removing it changes no decision, because the "
                        "other permits (with the forbids) already decide every request it matches",
                        (r.id,), tuple(covering), loc)]

    def over_permissive(self, r: Rule, alive, loc) -> list[Finding]:
        from cedarscope.analyzer.properties import mentions_var

        out = []
        if r.policy.conditions and all(f.always_true == UNSAT for _, f in alive):
            out.append(Finding("over-permissive",
                               f"{r.id}'s conditions are always true: it applies to every request "
                               "its scope matches", (r.id,), (), loc))
        if r.effect != "permit":
            return out
        for var in ("principal", "resource"):
            scope = getattr(r.policy, var)
            unconstrained = isinstance(scope, ScopeAny) or (isinstance(scope, ScopeIs)
                                                            and scope.in_target is None)
            if not unconstrained or any(mentions_var(c.body, var) for c in r.policy.conditions):
                continue
            env, f = alive[0]
            example = self.examples.get(("witness", r.id))
            if example is None:
                continue
            typ = env.principal_type if var == "principal" else env.resource_type
            who = "to every principal" if var == "principal" else "on every resource"
            out.append(Finding("over-permissive",
                               f"permit {r.id} grants {env.action} {who} of type {typ} "
                               f"(its {var} is unconstrained)",
                               (r.id,), (), loc, env, self.counterexample(example)))
        return out
