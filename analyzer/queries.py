"""The primitive verification queries.

Every query is asked per request environment of the schema (principal type,
action, resource type) and has one of three answers:

* ``holds``: the solver proved, in every environment asked, that no request
  violates the property;
* ``violated``: a concrete request and entity store violate it; the example
  was decoded from the solver's model and replayed through `lang.authorizer`
  (our concrete semantics) before it is returned;
* ``unknown``: the solver gave up (timeout, ``unknown``), the encoder does not
  support a construct, or an example failed to replay.  Never read as holds.

A query is phrased as a *goal*: a formula whose models are the violations.
The property holds iff ``well_formed ∧ goal`` is unsatisfiable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import z3

from cedarscope.analyzer import budget
from cedarscope.analyzer.slicing import may_match
from cedarscope.encoder import Encoding, Unsupported
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.authorizer import Response, instantiate, is_authorized
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError
from cedarscope.lang.evaluator import satisfied as concrete_satisfied
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema

HOLDS, VIOLATED, UNKNOWN = "holds", "violated", "unknown"

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Example:
    """A concrete request and the entities it needs, replayed and confirmed."""

    request: Request
    entities: Entities

    def fingerprint(self) -> str:
        """Equal for examples that read the same (request and entity data)."""
        import json

        from cedarscope.lang.entities import entities_to_json
        from cedarscope.lang.request import request_to_json

        return json.dumps([request_to_json(self.request), entities_to_json(self.entities)],
                          sort_keys=True)


@dataclass
class Answer:
    """The answer to one query in one environment."""

    verdict: str
    env: RequestEnv
    examples: list[Example] = field(default_factory=list)
    reason: str = ""
    solver_seconds: float = 0.0
    queries: int = 0


@dataclass
class Options:
    """How queries are asked: the solver's budget and the environments."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    principal_type: str | None = None
    action: str | None = None  # as written: `Action::"view"` or `view`
    resource_type: str | None = None
    max_examples: int = 1
    deadline: float | None = None  # time.monotonic() when the whole run must stop (see analyzer.budget)


# --------------------------------------------------------------------------
# Environments


def environments(schema: Schema, options: Options) -> list[RequestEnv]:
    """The schema's request environments, narrowed by the options."""
    return [env for env in schema.environments() if _selected(env, options)]


def _selected(env: RequestEnv, options: Options) -> bool:
    if options.principal_type and env.principal_type != options.principal_type:
        return False
    if options.resource_type and env.resource_type != options.resource_type:
        return False
    if options.action:
        wanted = options.action
        if wanted not in (str(env.action), env.action.id):
            return False
    return True


# --------------------------------------------------------------------------
# Per-environment slices of a policy set


Rule = tuple  # (policy id, Policy, slot values): one evaluable policy


def rules_in(ps: PolicySet, env: RequestEnv, schema: Schema) -> list[Rule]:
    """The evaluable policies whose scope can match in `env` (see
    analyzer.slicing); the others are false there and need no encoding."""
    return [(pid, p, slots) for pid, p, slots in instantiate(ps)
            if may_match(p, env, schema, slots)]


def allows_rules(enc: Encoding, rules: Sequence[Rule]) -> z3.BoolRef:
    """Cedar's decision over these rules: some permit and no forbid."""
    permits = [enc.satisfied(p, slots) for _, p, slots in rules if p.effect == "permit"]
    forbids = [enc.satisfied(p, slots) for _, p, slots in rules if p.effect == "forbid"]
    return z3.And(z3.Or(permits) if permits else z3.BoolVal(False),
                  z3.Not(z3.Or(forbids)) if forbids else z3.BoolVal(True))


def allows_in(enc: Encoding, ps: PolicySet) -> z3.BoolRef:
    """`allows(ps)` in the encoding's environment, encoding only its slice."""
    return allows_rules(enc, rules_in(ps, enc.env, enc.schema))


# --------------------------------------------------------------------------
# Solving one goal


Replay = Callable[[Request, Entities], bool]


def solve(
    enc: Encoding,
    goal: z3.BoolRef,
    replay: Replay,
    options: Options,
    env: RequestEnv,
    max_examples: int = 1,
    distinct: Callable[[z3.ModelRef], z3.BoolRef] | None = None,
) -> Answer:
    """Look for up to `max_examples` models of `well_formed ∧ goal`.

    Each model is decoded and replayed with `replay`; an example that does not
    replay makes the answer unknown (an encoder disagreement is never shown as
    a result).  `distinct` gives, for a found example, a formula that the next
    one must satisfy so the same example is not returned twice.
    """

    solver = z3.Solver()
    solver.add(goal)
    solver.add(*enc.well_formed())
    readable = z3.Bool("cedarscope.readable")
    solver.add(z3.Implies(readable, z3.And(enc.readable())))
    answer = Answer(HOLDS, env)
    seen: set[str] = set()
    started = time.perf_counter()
    try:
        attempts = 0
        while len(answer.examples) < max_examples and attempts < 3 * max_examples:
            attempts += 1
            if budget.out_of_time(options):
                if not answer.examples:
                    answer.verdict, answer.reason = UNKNOWN, budget.TIME_LIMIT_REACHED
                break
            solver.set("timeout", budget.solver_timeout_ms(options))
            status = _check(solver, readable)
            answer.queries += 1
            if status == z3.unsat:
                break
            if status == z3.unknown:
                budget.raise_if_interrupted(solver)
                if not answer.examples:
                    answer.verdict = UNKNOWN
                    answer.reason = f"solver: {solver.reason_unknown() or 'unknown'}"
                break
            model = solver.model()
            request, entities = enc.decode(model)
            example = Example(request, entities)
            if not replay(request, entities):
                answer.verdict = UNKNOWN
                answer.reason = (
                    "a counterexample failed to replay under the concrete evaluator "
                    "(encoder disagreement); not shown"
                )
                answer.examples.clear()
                break
            answer.verdict = VIOLATED
            if example.fingerprint() not in seen:  # decoded alike: not shown twice
                seen.add(example.fingerprint())
                answer.examples.append(example)
            if distinct is None:
                break
            solver.add(distinct(model))
    finally:
        answer.solver_seconds = time.perf_counter() - started
    return answer


def _check(solver: z3.Solver, readable: z3.BoolRef):
    """Check, preferring a readable model; without the preference when it
    cannot be had.  Only the answer without preferences decides unsat."""
    status = solver.check(readable)
    if status == z3.sat:
        return status
    return solver.check()


def ask(
    schema: Schema,
    options: Options,
    build: Callable[[Encoding], tuple[z3.BoolRef, Replay]],
    max_examples: int = 1,
    distinct: Callable[[Encoding], Callable[[z3.ModelRef], z3.BoolRef]] | None = None,
    where: Callable[[RequestEnv], bool] | None = None,
) -> list[Answer]:
    """Ask one query in every selected environment (those `where` keeps).
    `build` makes the goal and the replay check from a fresh encoding of the
    environment."""
    answers = []
    for env in environments(schema, options):
        if where is not None and not where(env):
            continue
        if budget.out_of_time(options):
            answers.append(Answer(UNKNOWN, env, reason=budget.TIME_LIMIT_REACHED))
            continue
        try:
            enc = Encoding(schema, env)
            goal, replay = build(enc)
        except Unsupported as exc:
            answers.append(Answer(UNKNOWN, env, reason=f"unsupported: {exc}"))
            continue
        answers.append(
            solve(enc, goal, replay, options, env, max_examples,
                  distinct(enc) if distinct else None)
        )
    return answers


def worst(verdicts: Iterable[str]) -> str:
    """violated if any is; else unknown if any is; else holds."""
    verdicts = set(verdicts)
    if VIOLATED in verdicts:
        return VIOLATED
    if UNKNOWN in verdicts:
        return UNKNOWN
    return HOLDS


def overall(answers: Sequence[Answer]) -> str:
    """The verdict over environments: holds only if it holds in every one."""
    return worst(a.verdict for a in answers)


# --------------------------------------------------------------------------
# Concrete replays


def decision(policyset: PolicySet, request: Request, entities: Entities) -> str:
    return is_authorized(request, entities, policyset).decision


def response(policyset: PolicySet, request: Request, entities: Entities) -> Response:
    return is_authorized(request, entities, policyset)


def policy_outcome(policy: Policy, slots, request, entities) -> str:
    """"match", "no-match" or "error" for one policy under concrete inputs."""
    try:
        return "match" if concrete_satisfied(policy, request, entities, slots) else "no-match"
    except EvalError:
        return "error"


# --------------------------------------------------------------------------
# Policy-set queries


def always_allows(schema: Schema, ps: PolicySet, options: Options) -> list[Answer]:
    """Every request of the selected environments is allowed."""
    return ask(schema, options, lambda enc: (
        z3.Not(allows_in(enc, ps)),
        lambda r, e: decision(ps, r, e) == "deny",
    ), options.max_examples)


def always_denies(schema: Schema, ps: PolicySet, options: Options) -> list[Answer]:
    """No request of the selected environments is allowed."""
    return ask(schema, options, lambda enc: (
        allows_in(enc, ps),
        lambda r, e: decision(ps, r, e) == "allow",
    ), options.max_examples)


def never_errors(schema: Schema, ps: PolicySet, options: Options) -> list[Answer]:
    """No policy of the set errors on any request."""

    def build(enc: Encoding):
        rules = rules_in(ps, enc.env, enc.schema)
        goal = z3.Or([enc.errors(p, slots) for _, p, slots in rules] or [z3.BoolVal(False)])
        return goal, lambda r, e: bool(response(ps, r, e).errors)

    return ask(schema, options, build, options.max_examples)


# --------------------------------------------------------------------------
# Single-policy queries (a policy with its slot values, for template links)


def policy_never_errors(schema, policy: Policy, options: Options, slots=None) -> list[Answer]:
    return ask(schema, options, lambda enc: (
        enc.errors(policy, slots),
        lambda r, e: policy_outcome(policy, slots, r, e) == "error",
    ), options.max_examples)


def never_matches(schema, policy: Policy, options: Options, slots=None) -> list[Answer]:
    """The policy is satisfied by no request (it is dead)."""
    return ask(schema, options, lambda enc: (
        enc.satisfied(policy, slots),
        lambda r, e: policy_outcome(policy, slots, r, e) == "match",
    ), options.max_examples)


def always_matches(schema, policy: Policy, options: Options, slots=None) -> list[Answer]:
    """The policy is satisfied by every request of the environments."""
    return ask(schema, options, lambda enc: (
        z3.Not(enc.satisfied(policy, slots)),
        lambda r, e: policy_outcome(policy, slots, r, e) != "match",
    ), options.max_examples)


# --------------------------------------------------------------------------
# Relations between two policy sets


def equivalent(schema, a: PolicySet, b: PolicySet, options: Options) -> list[Answer]:
    """a and b decide every request alike."""
    return ask(schema, options, lambda enc: (
        allows_in(enc, a) != allows_in(enc, b),
        lambda r, e: decision(a, r, e) != decision(b, r, e),
    ), options.max_examples)


def implies(schema, a: PolicySet, b: PolicySet, options: Options) -> list[Answer]:
    """Every request a allows, b allows too."""
    return ask(schema, options, lambda enc: (
        z3.And(allows_in(enc, a), z3.Not(allows_in(enc, b))),
        lambda r, e: decision(a, r, e) == "allow" and decision(b, r, e) == "deny",
    ), options.max_examples)


def disjoint(schema, a: PolicySet, b: PolicySet, options: Options) -> list[Answer]:
    """No request is allowed by both a and b."""
    return ask(schema, options, lambda enc: (
        z3.And(allows_in(enc, a), allows_in(enc, b)),
        lambda r, e: decision(a, r, e) == "allow" and decision(b, r, e) == "allow",
    ), options.max_examples)
