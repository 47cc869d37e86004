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
   solver, and every model found is profiled against every rule
   (`analyzer.matching`), so most questions are answered by models already
   found; "is p implied by q?" is asked only of candidates no model refutes,
   and not of a permit a forbid overrides wherever it is sliced (no finding
   reads it).
4. *Fail open*: a forbid may error is reported only where its error lets a
   request through (some permit holds, no other forbid does).

Each finding that has a witness or counterexample carries one that was
replayed through the concrete evaluator.  An environment the solver could
not settle makes every verdict that depends on it absent (reported under
`stats.unknown`), never a finding of "redundant" or "dead".
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import z3

from cedarscope.analyzer.matching import ConcreteScopes, Focus, Implication, PolicyMatcher, Profile
from cedarscope.analyzer.queries import error_of
from cedarscope.analyzer.shown import Shown, decode_examples
from cedarscope.analyzer.slicing import PolicyIndex
from cedarscope.analyzer.solving import (
    TIME_LIMIT_REACHED,
    Budget,
    EnvSolver,
    Example,
    Model,
    Options,
    Stats,
    Status,
    environments,
    one_environment,
    out_of_time,
)
from cedarscope.analyzer.spread import spread
from cedarscope.analyzer.templates import TemplateRule, policies_in, template_rules
from cedarscope.analyzer.templates import notes as template_notes
from cedarscope.encoder import Encoding, Unsupported
from cedarscope.encoder.terms import or_of
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.reports.findings import Counterexample, Finding, Location, PolicyRef, Report, Verdict

if TYPE_CHECKING:
    from cedarscope.analyzer.permissive import Exceeded

SAT, UNSAT, UNKNOWN = Status.SAT, Status.UNSAT, Status.UNKNOWN
Rule = PolicyInstance | TemplateRule  # a static policy, a template link, or a template for every link
EnvFacts: TypeAlias = tuple[RequestEnv, "Facts"]  # what is known of a rule in one environment


def _in(part: str, i: int) -> Callable[[Profile], bool]:
    """Does a model's profile list rule i among `part` (satisfied, errors,
    scope_only)?  What a model found for a goal about rule i must show."""
    return lambda profile: i in getattr(profile, part)


def _any(terms: Sequence[z3.BoolRef]) -> z3.BoolRef:
    return z3.Or(list(terms)) if len(terms) != 1 else terms[0]


# --------------------------------------------------------------------------
# One environment: an encoding, a solver, and the questions asked of it


class EnvSession:
    """All the audit's questions about one environment, on one solver.

    Rules are numbered by their position in the environment's slice.  Every
    model the solver finds is profiled once (`analyzer.matching`): the rules
    it satisfies, those whose scope holds but conditions do not, the forbids
    it makes error.  The profiles are kept as bit sets over the models found
    (bit j: the j-th model), so a question that some earlier model answers
    (a witness, a counter-model to "p is implied by q") costs no solver
    call.  Only the models an example may be decoded from are kept."""

    def __init__(self, schema: Schema, env: RequestEnv, rules: Sequence[Rule], options: Options):
        self.env = env
        self.rules = list(rules)
        self.options = options
        self.solver = EnvSolver(Encoding(schema, env, options.assumptions), options)
        enc, local = self.solver.enc, self.solver.local
        # A template for every link is one rule: satisfied when some typing
        # of its slots is (its slots' scopes are unknown to the scope index
        # and to the implication read off the text, `analyzer.matching`).
        policies = [policies_in(r, env) for r in self.rules]
        self.sat = [local(_any([enc.satisfied(p) for p in ps])) for ps in policies]
        self.err = [local(_any([enc.errors(p) for p in ps])) if r.effect == "forbid" else None
                    for r, ps in zip(self.rules, policies, strict=True)]
        # the scope alone, for "are the conditions always true?"
        self.scope = [local(_any([enc.satisfied(_scope_only(p)) for p in ps])) if r.policy.conditions else None
                      for r, ps in zip(self.rules, policies, strict=True)]
        self.matcher = PolicyMatcher(enc, [r.policy for r in self.rules], self.sat, self.err, self.scope,
                                     local)
        self.implication = Implication([r.policy for r in self.rules])
        self.scopes = ConcreteScopes(self.rules)
        self.forbids = [i for i, r in enumerate(self.rules) if r.effect == "forbid"]
        self.permits = [i for i, r in enumerate(self.rules) if r.effect == "permit"]
        n = len(self.rules)
        self.models_sat = [0] * n  # bit j: the j-th model satisfies rule i
        self.models_scope_only = [0] * n
        self.models_err = [0] * n
        self.models_undetermined = [0] * n  # bit j: Z3 could not evaluate rule i in the j-th model
        self.models_forbidden = 0  # bit j: some forbid holds in the j-th model
        self.found = 0  # models found so far
        self.last_model: Model | None = None  # the one `solve` found last
        self.first_sat: dict[int, int] = {}  # rule -> the first model satisfying it
        self.first_err: dict[int, int] = {}
        self.first_granted: dict[int, int] = {}
        self.kept: dict[int, Model] = {}  # the models a witness or error example may come from
        self.profiles: list[Profile] = []
        self.not_dead: set[int] = set()  # set once every rule's witness was looked for
        self.not_dead_forbids: set[int] = set()

    # Solving ----------------------------------------------------------------

    def solve(self, goal: z3.BoolRef, expect: Callable[[Profile], bool] | None = None
              ) -> tuple[Status, int | None]:
        """sat with the number of its (profiled) model, unsat, or unknown,
        within one query's budget.  `goal` is in the solver's context;
        `expect` checks the model's profile against the goal (an index that
        missed a rule would otherwise go unnoticed)."""
        status, model = self.solver.check(goal, Budget(self.options), translated=True)
        if status is not SAT:
            return status, None
        assert model is not None
        j, profile = self._record(model)
        if expect is not None and not expect(profile):
            if not profile.undetermined:
                raise AssertionError(f"{self.env}: a model's profile contradicts the goal it was found for")
            # Z3's evaluator left a policy's value open in this model
            self.solver.unknown_reasons.append("a model could not be evaluated on every policy")
            return UNKNOWN, None
        return SAT, j

    def decide(self, goal: z3.BoolRef) -> Status:
        """sat, unsat or unknown, for a question whose model is not kept:
        profiling it would cost an evaluation of every candidate rule, and
        the models of such questions (a rule's scope without its
        conditions) refute few implications later."""
        return self.solver.check(goal, Budget(self.options), translated=True)[0]

    def _record(self, model: Model) -> tuple[int, Profile]:
        self.last_model = model
        j, bit = self.found, 1 << self.found
        self.found += 1
        profile = self.matcher.profile(model)
        granted = not any(self.err[q] is not None for q in (*profile.satisfied, *profile.undetermined))
        for i in profile.satisfied:
            if granted and self.err[i] is None and i not in self.first_granted:
                self.first_granted[i] = j  # a request permit i grants: no forbid holds
                self.kept[j] = model
            self.models_sat[i] |= bit
            if i not in self.first_sat:
                self.first_sat[i] = j
                self.kept[j] = model
            if self.err[i] is not None:  # a forbid
                self.models_forbidden |= bit
        for i in profile.undetermined:  # may hold: never a witness, never a counter-model
            self.models_undetermined[i] |= bit
            if self.err[i] is not None:  # a forbid
                self.models_forbidden |= bit
        for i in profile.scope_only:
            self.models_scope_only[i] |= bit
        for i in profile.errors:
            self.models_err[i] |= bit
            if i not in self.first_err:
                self.first_err[i] = j
                self.kept[j] = model
        self.profiles.append(profile)
        return j, profile

    def refuted(self, i: int, q: int) -> bool:
        """Does some model found so far satisfy rule i and not rule q (so q
        does not hold wherever i does)?"""
        return bool(self.models_sat[i] & ~(self.models_sat[q] | self.models_undetermined[q]))

    def example(self, model: Model | None, replay: Callable[..., bool], focus: Focus | None = None) -> Example | None:
        """The decoded example of a sat answer's model (see EnvSolver.example)."""
        assert model is not None, "only sat answers have examples"
        return self.solver.example(model, replay, focus)

    def any_sat(self, rules: Sequence[int]) -> z3.BoolRef:
        return or_of([self.sat[i] for i in rules]) if rules else z3.BoolVal(False, self.solver.ctx)

    def avoiding(self, base: z3.BoolRef, models: int, avoid: Collection[int], implied: Collection[int] = (),
                 skip: int | None = None) -> tuple[Status, int | None, list[int]]:
        """Is ``base ∧ no rule of `avoid` is satisfied`` sat?  `models` are
        the models found so far that satisfy base (at least one); `implied`
        are rules known to hold wherever base does.  Rather than negating
        every rule at once, only the rules some model found so far satisfies
        are negated, growing that set until a model satisfies none of `avoid`
        (sat, with that model) or the negated subset is unsat (or holds an
        implied rule), which makes the whole question unsat.  Returns the
        negated rules too: with unsat, base implies that one of them holds,
        and every rule of `avoid` not among them is false in some model of
        base."""
        negated: list[int] = []
        done: set[int] = set()
        free = models
        if free:
            j = _lowest(free)
        else:  # (only when a model's value of the base's rule was left open)
            status, found = self.solve(base)
            if status is not SAT:
                return status, None, negated
            assert found is not None
            j = found
        while True:
            profile = self.profiles[j]
            hits = [q for q in (*profile.satisfied, *profile.undetermined)
                    if q in avoid and q not in done and q != skip]  # `skip`: a rule of avoid left out
            if not hits:
                return SAT, j, negated
            negated += hits
            done.update(hits)
            if done.intersection(implied):
                return UNSAT, None, negated
            for q in hits:
                free &= ~(self.models_sat[q] | self.models_undetermined[q])
            if free:
                j = _lowest(free)
                continue
            status, found = self.solve(z3.And(base, z3.Not(self.any_sat(negated))),
                                       lambda p: not done.intersection(p.satisfied))
            if status is not SAT:
                return status, None, negated
            assert found is not None
            j = found


def _lowest(bits: int) -> int:
    """The number of the first model in a bit set (which must not be empty)."""
    return (bits & -bits).bit_length() - 1


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
    granted: Model | None = None  # a request it matches and no forbid does (permits)
    errs: str = UNSAT  # sat: some request makes it error here
    error_model: Model | None = None
    overridden: str = UNKNOWN  # sat when "matches and no forbid does" is unsat
    needed: str = UNKNOWN  # sat of "the only permit that matches, and no forbid"
    # the same-effect rules q with "it ⇒ q" here; not asked (left empty) of a
    # permit overridden everywhere it is sliced into (`_overridden_everywhere`)
    implied_by: set[str] = field(default_factory=set)
    always_true: str = UNKNOWN  # unsat of "scope matches but conditions do not"


def _gather(session: EnvSession, spans: Mapping[str, frozenset[int]] | None = None) -> dict[str, Facts]:
    """The facts of every rule of the environment (`spans`: the environments,
    by number, of each rule sliced into more than this one).  The order of
    the questions is fixed, and so is every answer and model: the same
    environment gives the same facts however the work is spread."""
    s = session
    facts = [Facts() for _ in s.rules]
    _alive(s, facts)
    alive = [i for i, f in enumerate(facts) if f.alive == SAT]
    # the models found so far where some permit and no forbid holds
    allowed = functools.reduce(operator.or_, (s.models_sat[p] for p in s.permits), 0) & ~s.models_forbidden
    for i in s.forbids:
        if facts[i].alive != UNSAT:
            facts[i].errs, facts[i].error_model = _fails_open(s, i, allowed)
    for i in alive:
        if s.rules[i].effect == "permit" and s.scope[i] is not None:
            facts[i].always_true = SAT if s.models_scope_only[i] else s.decide(z3.And(s.scope[i], z3.Not(s.sat[i])))
    s.not_dead = {q for q, f in enumerate(facts) if f.alive != UNSAT}  # what may match here
    s.not_dead_forbids = {q for q in s.not_dead if s.rules[q].effect == "forbid"}
    sole = {i: _sole(s, i, facts) for i in alive}
    permits = [i for i in alive if s.rules[i].effect == "permit"]
    for i in permits:
        _overridden(s, i, facts[i], sole[i])
    for i in alive:
        if not _overridden_everywhere(s, i, facts[i], spans or {}):
            facts[i].implied_by = _implied_by(s, i, alive, sole[i])
    later = {s.rules[i].id: i for i in range(len(s.rules))}
    by_id = {r.id: i for i, r in enumerate(s.rules)}
    for i in permits:
        if facts[i].overridden == UNSAT:
            _needed(s, i, facts, sole[i], later, by_id)
    for i, f in enumerate(facts):
        if i in s.first_sat:
            f.witness = s.kept[s.first_sat[i]]
        if i in s.first_granted:
            f.granted = s.kept[s.first_granted[i]]
    return {r.id: f for r, f in zip(s.rules, facts, strict=True)}


def _overridden_everywhere(s: EnvSession, i: int, f: Facts, spans: Mapping[str, frozenset[int]]) -> bool:
    """Is rule i a permit a forbid overrides here and in every environment it
    is sliced into: here alone, or by a forbid that holds wherever it does by
    their text (`Implication`, the same in each environment both are sliced
    into) and is sliced into all of them?  It is then reported as overridden
    and nothing more, and what implies it is asked by no finding (whatever
    implies it is overridden too), so that question is not asked."""
    if s.rules[i].effect != "permit" or f.overridden != SAT:
        return False
    mine = spans.get(s.rules[i].id)
    return mine is None or any(s.rules[q].effect == "forbid" and spans.get(s.rules[q].id, frozenset()) >= mine
                               for q in s.implication.implied_by(i))


def _fails_open(s: EnvSession, i: int, allowed: int) -> tuple[Status, Model | None]:
    """Can forbid i error on a request the rest of the slice allows?  Its
    error then lets that request through (it fails open); an error where no
    permit holds, or another forbid denies anyway, changes no decision."""
    for j in sorted(s.kept):
        if (s.models_err[i] & allowed) >> j & 1:
            return SAT, s.kept[j]
    if not s.models_err[i]:
        # Most forbids cannot error at all, and "can it error?" is a small
        # question where the one below holds every rule of the slice.
        status, found = s.solve(s.err[i], _in("errors", i))
        if status is not SAT:
            return status, None
        assert found is not None
        if any(s.models_sat[p] >> found & 1 for p in s.permits) and not s.models_forbidden >> found & 1:
            return SAT, s.last_model  # it errors where the rest allows
    fails_open = z3.And(s.err[i], s.any_sat(s.permits), z3.Not(s.any_sat(s.forbids)))
    status, _ = s.solve(fails_open, _in("errors", i))
    return status, (s.last_model if status is SAT else None)


def _alive(s: EnvSession, facts: list[Facts]) -> None:
    """A witness for every rule that has one: each model found also
    witnesses every other rule it satisfies."""
    status = {}
    for i in range(len(s.rules)):
        if not s.models_sat[i]:
            status[i], _ = s.solve(s.sat[i], _in("satisfied", i))
    for i, f in enumerate(facts):
        f.alive = SAT if s.models_sat[i] else status[i]


def _sole(s: EnvSession, i: int, facts: list[Facts]) -> tuple[Status, list[int]]:
    """Can rule i match with no other rule of its effect matching (and, for a
    permit, no forbid)?  With sat, nothing implies i and no forbid overrides
    it; with unsat, the negated rules returned are the only candidates."""
    avoid = s.not_dead if s.rules[i].effect == "permit" else s.not_dead_forbids
    status, _, negated = s.avoiding(s.sat[i], s.models_sat[i], avoid, s.implication.implied_by(i), skip=i)
    return status, negated


def _implied_by(s: EnvSession, i: int, alive: Sequence[int], sole: tuple[Status, list[int]]) -> set[str]:
    """The same-effect rules q with i ⇒ q in this environment.  A model where
    i holds and q does not proves q does not imply i; the models found so far
    rule out most candidates, and `_sole` the rest unless it was unsat."""
    status, negated = sole
    if status is SAT:
        return set()
    effect = s.rules[i].effect
    candidates = negated if status is UNSAT else alive
    alive_set = set(alive)
    by_text = s.implication.implied_by(i)
    implied = {s.rules[q].id for q in candidates if q in by_text and q in alive_set and s.rules[q].effect == effect}
    # the rest that no model found so far rules out, first all at once
    rest = [q for q in sorted(candidates) if q != i and q in alive_set and s.rules[q].effect == effect
            and q not in by_text and not s.refuted(i, q)]
    if not rest:
        return implied
    status, _, negated = s.avoiding(s.sat[i], s.models_sat[i], set(rest))
    if status is SAT:
        return implied
    # Then the other way round: is every candidate left implied?  A model
    # where i holds and some candidate does not rules out every candidate
    # false in it; unsat proves all that are left.
    left = [q for q in (sorted(negated) if status is UNSAT else rest) if not s.refuted(i, q)]
    while left:
        found, _ = s.solve(z3.And(s.sat[i], z3.Not(z3.And([s.sat[q] for q in left]))),
                           _in("satisfied", i))
        if found == UNSAT:
            implied.update(s.rules[q].id for q in left)
        if found != SAT:
            break
        before, left = len(left), [q for q in left if not s.refuted(i, q)]
        if len(left) == before:  # the model's values were left open: claim nothing more
            break
    return implied


def _overridden(s: EnvSession, i: int, f: Facts, sole: tuple[Status, list[int]]) -> None:
    """Does a forbid match whenever permit i does?"""
    if sole[0] is SAT:
        f.overridden, f.needed = UNSAT, SAT  # i can match alone
    elif s.models_sat[i] & ~s.models_forbidden:
        f.overridden = UNSAT
    else:
        found, _, _ = s.avoiding(s.sat[i], s.models_sat[i], s.not_dead_forbids, s.implication.implied_by(i))
        f.overridden = {UNSAT: SAT, SAT: UNSAT}.get(found, UNKNOWN)


def _needed(s: EnvSession, i: int, facts: list[Facts], sole: tuple[Status, list[int]],
            later: dict[str, int], by_id: dict[str, int]) -> None:
    """Is there a request permit i, not overridden, alone allows (no other
    permit, no forbid)?"""
    f, r = facts[i], s.rules[i]
    status, negated = sole
    if status is SAT:
        return  # (set with `overridden`)
    # Of equivalent permits the first is kept: its redundancy is judged
    # without the later ones, which are reported as shadowed by it.
    equivalents = {q for q in f.implied_by if r.id in facts[by_id[q]].implied_by and later[q] > later[r.id]}
    if f.implied_by - equivalents:
        f.needed = UNSAT  # another permit matches whenever r does
        return
    eq_rules = {by_id[q] for q in equivalents}
    if status is UNSAT and not eq_rules.intersection(negated):
        f.needed = UNSAT  # i implies one of the negated forbids or permits, none an equivalent
        return
    others = {q for q in s.permits if q != i and q not in eq_rules and facts[q].alive != UNSAT}
    no_forbid = z3.Not(s.any_sat(s.forbids))
    f.needed, _, _ = s.avoiding(z3.And(s.sat[i], no_forbid), s.models_sat[i] & ~s.models_forbidden, others,
                                s.implication.implied_by(i))


# --------------------------------------------------------------------------
# The audit


def audit(schema: Schema, ps: PolicySet, options: Options,
          properties: PolicySet | None = None,
          progress: Callable[[int, int], None] | None = None, strict: bool = False) -> Report:
    """Every finding about the policies (see the module docstring); with
    `properties`, their @must properties too; with `strict`, permits that
    grant every resource of a type are also over-permissive."""
    instances, templates = instantiate(ps), template_rules(ps, schema)
    rules: list[Rule] = [*instances, *templates]
    envs = environments(schema, options)
    index = PolicyIndex(instances, schema)
    # a template for every link is in an environment's slice when some typing of its slots may match there
    slices: list[tuple[RequestEnv, list[Rule]]] = [
        (env, [*index.slice(env), *(t for t in templates if t.policies_in(env))]) for env in envs]
    sliced: dict[str, list[RequestEnv]] = {r.id: [] for r in rules}
    for env, env_rules in slices:
        for r in env_rules:
            sliced[r.id].append(env)
    number = {env: k for k, env in enumerate(envs)}
    spans = {rid: frozenset(number[e] for e in where) for rid, where in sliced.items() if len(where) > 1}
    tasks = [(env, env_rules, {r.id: spans[r.id] for r in env_rules if r.id in spans}) for env, env_rules in slices]
    stats = Stats()
    per_env: dict[RequestEnv, dict[str, Facts]] = {}
    examples: dict[tuple[str, str], Shown | None] = {}
    weights = [len(env_rules) for _, env_rules, _ in tasks]
    done = 0
    # Merged in the environments' order, so the first environment where a
    # rule matches gives its example however the work was spread.
    for result in spread(_audit_environment, (schema, options), tasks, options, weights):
        done += 1
        if result is not None:
            per_env[result.env] = result.facts
            for key, shown in result.examples.items():
                examples.setdefault(key, shown)
            stats.environments.add(result.env)
            stats.queries += result.queries
            stats.solver_seconds += result.solver_seconds
            stats.unknown += result.unknown
        if progress:
            progress(done, len(envs))
    property_findings: list[Finding] = []
    if properties is not None:
        from cedarscope.analyzer.properties import check_properties

        prop = check_properties(schema, ps, properties, options)
        property_findings = list(prop.findings)
        stats.absorb(prop.stats)

    judge = _Judge(ps, {r.id: r for r in rules}, per_env, examples)
    judge.strict = strict
    if properties is not None:
        from cedarscope.analyzer.permissive import exceeding

        judge.exceeds, answers = exceeding(schema, ps, properties, options)
        for answer in answers:
            stats.add(answer)
    findings = [f for r in rules for f in judge.findings_for(r, sliced[r.id])]
    findings.extend(property_findings)
    failing = any(f.severity == "error" for f in findings)  # a strict audit's notes do not fail it
    verdict = Verdict.VIOLATED if failing else (Verdict.UNKNOWN if stats.unknown else Verdict.HOLDS)
    return Report("audit", verdict, tuple(findings), stats.as_dict(environments=len(envs), policies=len(rules)),
                  assumptions=template_notes(ps))


@dataclass
class EnvAudit:
    """One environment's part of an audit, as plain data (it may come from
    another process)."""

    env: RequestEnv
    facts: dict[str, Facts]
    examples: dict[tuple[str, str], Shown | None]
    queries: int = 0
    solver_seconds: float = 0.0
    unknown: list[str] = field(default_factory=list)


def _audit_environment(shared: tuple[Schema, Options],
                       task: tuple[RequestEnv, list[Rule], dict[str, frozenset[int]]]) -> EnvAudit | None:
    """Gather one environment's facts and decode the examples its findings
    may show.  Depends on nothing but the environment, its slice, and the
    other environments its rules are sliced into."""
    schema, options = shared
    env, env_rules, spans = task
    if not env_rules:
        return None
    if out_of_time(options):
        return EnvAudit(env, {r.id: Facts(alive=UNKNOWN) for r in env_rules}, {},
                        unknown=[f"{env}: {TIME_LIMIT_REACHED}"])
    with one_environment():
        try:
            session = EnvSession(schema, env, env_rules, options)
        except Unsupported as exc:
            return EnvAudit(env, {r.id: Facts(alive=UNKNOWN) for r in env_rules}, {},
                            unknown=[f"{env}: unsupported: {exc}"])
        facts = _gather(session, spans)
        examples = decode_examples(session, facts)
        solver = session.solver
        return EnvAudit(env, facts, examples, solver.queries, solver.seconds,
                        [f"{env}: {why}" for why in solver.unknown_reasons])


def _fail_closed_hint(why: str | None) -> str:
    """How to make the forbid deny when its data is missing, for the error it met."""
    if why is not None and "does not exist" in why:
        return ("an entity it reads may be missing from the store: keep it in every store (and say so with "
                "--entities-exist all), or make a missing one deny, e.g. `when { !(E has a) || E.a == ... }`")
    return "make missing data deny, e.g. `when { !(resource has a) || resource.a == ... }`"


class _Judge:
    """Turns the per-environment facts into findings.  A claim is made only
    when every environment the rule can match in was settled; the examples
    were decoded and replayed per environment (`_decode_examples`)."""

    def __init__(self, ps: PolicySet, by_id: dict[str, Rule], per_env: dict[RequestEnv, dict[str, Facts]],
                 examples: dict[tuple[str, str], Shown | None]):
        self.ps, self.by_id, self.per_env, self.examples = ps, by_id, per_env, examples
        self.order = {pid: i for i, pid in enumerate(ps.ids)}
        self.exceeds: dict[str, Exceeded] = {}  # permit -> @must("never") properties it violates, and where
        self.strict = False

    def counterexample(self, shown: Shown | None) -> Counterexample | None:
        if shown is None:
            return None
        templates = {x.link_id: x.template_id for x in shown.example.links}  # a link is written where its template is
        refs = tuple(PolicyRef.of(pid, self.by_id[templates.get(pid, pid)].policy) for pid in shown.reasons)
        return Counterexample(shown.example.request, shown.example.entities,
                              {"policies": shown.decision}, {"policies": refs}, shown.example.unread,
                              links=shown.example.links)

    def written(self, pid: str) -> str:
        """A policy's id and where it is written: a positional id
        (``policy0``) alone does not say which file it came from."""
        at = Location.of(self.by_id[pid].policy) if pid in self.by_id else None
        return f"{pid} ({at})" if at else pid

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
            return [*self.forbid_may_error(r, facts, loc), *self.shadowed(r, alive, loc)]
        overridden = self.overridden(r, alive, loc)
        if overridden:
            return overridden
        shadowed = self.shadowed(r, alive, loc)
        redundant = [] if shadowed else self.redundant(r, alive, loc)
        return [*shadowed, *redundant, *self.over_permissive(r, alive, loc)]

    def forbid_may_error(self, r: Rule, facts: list[EnvFacts], loc: tuple[Location, ...]) -> list[Finding]:
        for env, f in facts:
            if f.errs == SAT:
                example = self.examples.get(("error", r.id))
                if example is None:
                    return []
                cx = example.example
                why = error_of(r.policy, cx.request, cx.entities) if isinstance(r, PolicyInstance) else None
                return [Finding("forbid-may-error",
                                f"forbid {r.id} errors on this request{f' ({why})' if why else ''} and then does "
                                f"not deny (it fails open); {_fail_closed_hint(why)}",
                                (r.id,), (), loc, env, self.counterexample(example))]
        return []

    def overridden(self, r: Rule, alive: list[EnvFacts], loc: tuple[Location, ...]) -> list[Finding]:
        if not all(f.overridden == SAT for _, f in alive):
            return []
        env, f = alive[0]
        example = self.examples.get(("witness", r.id))
        if example is None:
            return []
        return [Finding("overridden",  # related: the forbids that defeat it on the example
                        f"permit {r.id} never grants anything: a forbid always matches when it does",
                        (r.id,), example.overriders, loc, env, self.counterexample(example))]

    def shadowed(self, r: Rule, alive: list[EnvFacts], loc: tuple[Location, ...]) -> list[Finding]:
        """r is implied by one same-effect rule in every environment where it
        matches.  Of two equivalent rules only the later is reported."""
        common = None
        for _, f in alive:
            common = set(f.implied_by) if common is None else common & f.implied_by
        if not common:
            return []
        order = self.order
        def position(pid: str) -> int:
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
                        f"{subject} by {', '.join(self.written(q) for q in shadows)}: every request it matches, "
                        f"{'that policy' if len(shadows) == 1 else 'each of those'} matches too",
                        (r.id,), tuple(shadows), loc)]

    def redundant(self, r: Rule, alive: list[EnvFacts], loc: tuple[Location, ...]) -> list[Finding]:
        if not all(f.overridden == SAT or f.needed == UNSAT for _, f in alive):
            return []
        # the other permits that can match where r matches: together they cover it
        covering = sorted({pid for env, _ in alive for pid, other in self.per_env[env].items()
                           if pid != r.id and self.by_id[pid].effect == "permit" and other.alive == SAT})
        return [Finding("redundant",
                        f"permit {r.id} is redundant: removing it changes no decision, because the "
                        "other permits (with the forbids) already decide every request it matches",
                        (r.id,), tuple(covering), loc)]

    def over_permissive(self, r: Rule, alive: list[EnvFacts], loc: tuple[Location, ...]) -> list[Finding]:
        """One finding naming every way permit r is over-permissive
        (`analyzer.permissive`).  Granting every principal (or, strict,
        every resource) is shown with a replayed witness, and withheld
        when none replayed."""
        from cedarscope.analyzer.permissive import over_permissive

        example = self.counterexample(self.examples.get(("granted", r.id)))
        always_true = bool(r.policy.conditions) and all(f.always_true == UNSAT for _, f in alive)
        finding = over_permissive(r.id, r.policy, [env for env, _ in alive], loc, always_true=always_true,
                                  exceeded=self.exceeds.get(r.id), strict=self.strict, example=example)
        return [finding] if finding is not None else []
