"""The primitive verification queries.

Every query is asked per request environment of the schema (principal type,
action, resource type) and has one of three answers (`Verdict`):

* ``holds``: the solver proved, in every environment asked, that no request
  violates the property;
* ``violated``: a concrete request and entity store violate it; the example
  was decoded from the solver's model and replayed through `lang.authorizer`
  (our concrete semantics) before it is returned;
* ``unknown``: the solver gave up (timeout, ``unknown``), the encoder does not
  support a construct, or an example failed to replay.  Never read as holds.

A query is phrased as a *goal*: a formula whose models are the violations.
The property holds iff ``well_formed ∧ goal`` is unsatisfiable.  Solving
itself (budgets, unknowns, examples) is `analyzer.solving`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import z3

from cedarscope.analyzer.slicing import PolicyIndex, may_match
from cedarscope.analyzer.solving import (
    Answer,
    Distinct,
    EnvSolver,
    Options,
    Replay,
    environments,
    in_environment,
    per_environment,
)
from cedarscope.analyzer.spread import spread
from cedarscope.analyzer.templates import every_link_instances, with_example_links
from cedarscope.encoder import Encoding, Unsupported
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY, Decision, Response, is_authorized
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError
from cedarscope.lang.evaluator import satisfied as concrete_satisfied
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.reports.findings import Verdict

# --------------------------------------------------------------------------
# Per-environment slices of a policy set


def slice_in(instances: Sequence[PolicyInstance], env: RequestEnv, schema: Schema) -> list[PolicyInstance]:
    """The policies whose scope can match in `env` (see analyzer.slicing);
    the others are false there and need no encoding."""
    return [i for i in instances if may_match(i.policy, env, schema)]


def evaluable_in(ps: PolicySet, index: PolicyIndex, env: RequestEnv) -> list[PolicyInstance]:
    """The slice in `env` of `index` (over `instantiate(ps)`), and the
    templates of `ps` analysed for every link there (analyzer.templates)."""
    return index.slice(env) + every_link_instances(ps, env, index.schema)


def allows(enc: Encoding, instances: Sequence[PolicyInstance]) -> z3.BoolRef:
    """Cedar's decision over these policies: some permit and no forbid."""
    return enc.allows([i.policy for i in instances])


# --------------------------------------------------------------------------
# Concrete replays


def decision(policyset: PolicySet, request: Request, entities: Entities) -> Decision:
    return is_authorized(request, entities, policyset).decision


def response(policyset: PolicySet, request: Request, entities: Entities) -> Response:
    return is_authorized(request, entities, policyset)


def policy_outcome(policy: Policy, request: Request, entities: Entities) -> str:
    """"match", "no-match" or "error" for one policy under concrete inputs."""
    try:
        return "match" if concrete_satisfied(policy, request, entities) else "no-match"
    except EvalError:
        return "error"


def error_of(policy: Policy, request: Request, entities: Entities) -> str | None:
    """What the evaluator says when the policy errors on these inputs."""
    try:
        concrete_satisfied(policy, request, entities)
    except EvalError as err:
        return err.message
    return None


# --------------------------------------------------------------------------
# Asking a goal in every environment


Goal = Callable[[Encoding], z3.BoolRef]


@dataclass(frozen=True)
class Question:
    """A goal whose models are the violations, how an example of it is
    replayed, and (for more than one example) what the next must differ in."""

    goal: Goal
    replay: Replay
    distinct: Callable[[Encoding], Distinct] | None = None


def ask(schema: Schema, options: Options, goal: Goal, replay: Replay,
        distinct: Callable[[Encoding], Distinct] | None = None,
        where: Callable[[RequestEnv], bool] | None = None) -> list[Answer]:
    """Look for up to `options.max_examples` examples of `goal` in every
    selected environment (those `where` keeps)."""
    return ask_each(schema, options, [Question(goal, replay, distinct)], where)[0]


def ask_each(schema: Schema, options: Options, questions: Sequence[Question],
             where: Callable[[RequestEnv], bool] | None = None) -> list[list[Answer]]:
    """Each question's answers in every selected environment, in the
    environments' order.  An environment's questions are asked in turn on
    one encoding and one solver: its policies are compiled, and its solver
    set up, once rather than once per question.  So an answer depends on
    its environment and on the questions asked before it there, never on
    other environments."""
    def in_env(solver: EnvSolver) -> list[Answer]:
        return [_examples(solver, question, options) for question in questions]

    per_env = per_environment(schema, options, in_env, where, lambda unknown: [unknown] * len(questions))
    return [list(answers) for answers in zip(*per_env, strict=True)] if per_env else [[] for _ in questions]


def _examples(solver: EnvSolver, question: Question, options: Options) -> Answer:
    """One question's examples; a construct the encoder does not support
    makes this answer unknown, not the environment's other answers."""
    try:
        return solver.examples(question.goal(solver.enc), question.replay, options.max_examples,
                               question.distinct(solver.enc) if question.distinct else None)
    except Unsupported as exc:
        return Answer(Verdict.UNKNOWN, solver.env, reason=f"unsupported: {exc}")


# --------------------------------------------------------------------------
# Policy-set queries


# Templates without links are analysed for every possible link
# (analyzer.templates): an example then carries the links it needs, and its
# replay takes them.


def always_allows_question(ps: PolicySet, index: PolicyIndex) -> Question:
    """Every request is allowed: the violations are the denied requests."""
    return Question(lambda enc: z3.Not(allows(enc, evaluable_in(ps, index, enc.env))),
                    lambda r, e, links=(): decision(with_example_links(ps, links), r, e) == DENY)


def always_denies_question(ps: PolicySet, index: PolicyIndex) -> Question:
    """No request is allowed: the violations are the allowed requests (none
    where no permit can match)."""
    def goal(enc: Encoding) -> z3.BoolRef:
        evaluable = evaluable_in(ps, index, enc.env)
        if not any(i.policy.effect == "permit" for i in evaluable):
            return z3.BoolVal(False)
        return allows(enc, evaluable)

    return Question(goal, lambda r, e, links=(): decision(with_example_links(ps, links), r, e) == ALLOW)


def never_errors_question(ps: PolicySet, index: PolicyIndex) -> Question:
    """No policy of the set errors: the violations are requests on which
    one does (none where no policy's error term can hold)."""
    def goal(enc: Encoding) -> z3.BoolRef:
        errors = [enc.errors(i.policy) for i in evaluable_in(ps, index, enc.env)]
        return z3.BoolVal(False) if all(z3.is_false(e) for e in errors) else z3.Or(errors)

    return Question(goal, lambda r, e, links=(): bool(response(with_example_links(ps, links), r, e).errors))


SET_QUESTIONS: dict[str, Callable[[PolicySet, PolicyIndex], Question]] = {
    "always-allows": always_allows_question,
    "always-denies": always_denies_question,
    "never-errors": never_errors_question,
}


def set_properties(schema: Schema, ps: PolicySet, names: Sequence[str], options: Options) -> list[list[Answer]]:
    """The answers to each named set property (`SET_QUESTIONS`), all of an
    environment's asked on one encoding (see `ask_each`)."""
    index = PolicyIndex(instantiate(ps), schema)
    return ask_each(schema, options, [SET_QUESTIONS[name](ps, index) for name in names])


def always_allows(schema: Schema, ps: PolicySet, options: Options) -> list[Answer]:
    """Every request of the selected environments is allowed."""
    return set_properties(schema, ps, ["always-allows"], options)[0]


def always_denies(schema: Schema, ps: PolicySet, options: Options) -> list[Answer]:
    """No request of the selected environments is allowed."""
    return set_properties(schema, ps, ["always-denies"], options)[0]


def never_errors(schema: Schema, ps: PolicySet, options: Options) -> list[Answer]:
    """No policy of the set errors on any request."""
    return set_properties(schema, ps, ["never-errors"], options)[0]


# --------------------------------------------------------------------------
# Single-policy queries (a static policy or a linked template)


def policy_never_errors(schema: Schema, policy: Policy, options: Options) -> list[Answer]:
    return ask(schema, options, lambda enc: enc.errors(policy),
               lambda r, e: policy_outcome(policy, r, e) == "error")


def never_matches(schema: Schema, policy: Policy, options: Options) -> list[Answer]:
    """The policy is satisfied by no request (it is dead)."""
    return ask(schema, options, lambda enc: enc.satisfied(policy),
               lambda r, e: policy_outcome(policy, r, e) == "match")


def always_matches(schema: Schema, policy: Policy, options: Options) -> list[Answer]:
    """The policy is satisfied by every request of the environments."""
    return ask(schema, options, lambda enc: z3.Not(enc.satisfied(policy)),
               lambda r, e: policy_outcome(policy, r, e) != "match")


# --------------------------------------------------------------------------
# Relations between two policy sets


def _relation(schema: Schema, a: PolicySet, b: PolicySet, options: Options,
              goal: Callable[[z3.BoolRef, z3.BoolRef], z3.BoolRef],
              concrete: Callable[[Decision, Decision], bool]) -> list[Answer]:
    """Ask `goal(allows(a), allows(b))` in every environment.  Where the two
    slices are the same policies, both decisions are one formula x, and when
    `goal(x, x)` is false outright the environment is settled without
    encoding it."""
    first, second = PolicyIndex(instantiate(a), schema), PolicyIndex(instantiate(b), schema)
    x = z3.Bool("cedarscope.same")
    trivial = z3.is_false(z3.simplify(goal(x, x)))
    envs = environments(schema, options)
    asked = []
    for env in envs:
        sa, sb = first.slice(env), second.slice(env)
        if not (trivial and same_policies(sa, sb)):
            asked.append((env, sa, sb))
    solved = spread(_relation_task, (schema, a, b, options, goal, concrete), asked, options,
                    [len(sa) + len(sb) for _, sa, sb in asked])
    by_env = {answer.env: answer for answer in solved}
    return [by_env.get(env) or Answer(Verdict.HOLDS, env) for env in envs]


def _relation_task(shared: tuple[Schema, PolicySet, PolicySet, Options, Callable[[z3.BoolRef, z3.BoolRef], z3.BoolRef],
                                 Callable[[Decision, Decision], bool]],
                   task: tuple[RequestEnv, list[PolicyInstance], list[PolicyInstance]]) -> Answer:
    schema, a, b, options, goal, concrete = shared
    env, sa, sb = task
    return in_environment(schema, env, options, lambda solver: solver.examples(
        goal(allows(solver.enc, sa), allows(solver.enc, sb)),
        lambda r, e: concrete(decision(a, r, e), decision(b, r, e)),
        options.max_examples, solver.enc.different_from))


def same_policies(a: Sequence[PolicyInstance], b: Sequence[PolicyInstance]) -> bool:
    """The same policies as a multiset (policy equality ignores source spans
    and ids): their decisions are one formula."""
    from collections import Counter

    return Counter(i.policy for i in a) == Counter(i.policy for i in b)


def equivalent(schema: Schema, a: PolicySet, b: PolicySet, options: Options) -> list[Answer]:
    """a and b decide every request alike."""
    return _relation(schema, a, b, options, lambda x, y: x != y, lambda x, y: x != y)


def implies(schema: Schema, a: PolicySet, b: PolicySet, options: Options) -> list[Answer]:
    """Every request a allows, b allows too."""
    return _relation(schema, a, b, options, lambda x, y: z3.And(x, z3.Not(y)),
                     lambda x, y: x == ALLOW and y == DENY)


def disjoint(schema: Schema, a: PolicySet, b: PolicySet, options: Options) -> list[Answer]:
    """No request is allowed by both a and b."""
    return _relation(schema, a, b, options, lambda x, y: z3.And(x, y),
                     lambda x, y: x == ALLOW and y == ALLOW)
