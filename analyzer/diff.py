"""diff OLD NEW: the requests a policy change lets in (gained) and shuts out (lost).

For every request environment two goals are solved:

* gained: ``allows(NEW) ∧ ¬allows(OLD)``
* lost:   ``allows(OLD) ∧ ¬allows(NEW)``

Only the policies whose scope can match the environment are encoded
(`analyzer.slicing`), and an environment where both versions have the same
such policies is settled without the solver: its two formulas are one.

Up to `max_examples` distinct examples are drawn per environment and direction;
each later example must differ from the earlier ones in its principal, its
resource or its context, so the same request is never shown twice.  Every
example is replayed through `lang.authorizer` on both versions before it is
kept, and carries the determining policies of each side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from cedarscope.analyzer.queries import allows, same_policies
from cedarscope.analyzer.slicing import PolicyIndex
from cedarscope.analyzer.solving import (
    Answer,
    EnvSolver,
    Options,
    Replay,
    environments,
    in_environment,
    overall,
)
from cedarscope.analyzer.spread import spread
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY, is_authorized
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.reports.findings import Verdict

GAINED, LOST = "gained", "lost"


@dataclass
class EnvDiff:
    env: RequestEnv
    gained: Answer
    lost: Answer


@dataclass
class DiffResult:
    envs: list[EnvDiff] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """holds = the versions are equivalent (proved), violated = a
        difference exists, unknown = some environment was not settled."""
        return overall(a.verdict for d in self.envs for a in (d.gained, d.lost))

    @property
    def answers(self) -> list[Answer]:
        return [a for d in self.envs for a in (d.gained, d.lost)]


def _replay(after: PolicySet, before: PolicySet) -> Replay:
    """Concretely: `after` allows and `before` denies."""
    def replay(request, entities) -> bool:
        return (is_authorized(request, entities, after).decision == ALLOW
                and is_authorized(request, entities, before).decision == DENY)
    return replay


def _env_diff(schema: Schema, env: RequestEnv, old: PolicySet, new: PolicySet,
              old_slice: list[PolicyInstance], new_slice: list[PolicyInstance], options: Options) -> EnvDiff:
    def both_directions(solver: EnvSolver) -> EnvDiff:
        allows_old, allows_new = allows(solver.enc, old_slice), allows(solver.enc, new_slice)
        return EnvDiff(env,
                       solver.examples(z3.And(allows_new, z3.Not(allows_old)), _replay(new, old),
                                       options.max_examples, solver.enc.different_from),
                       solver.examples(z3.And(allows_old, z3.Not(allows_new)), _replay(old, new),
                                       options.max_examples, solver.enc.different_from))

    return in_environment(schema, env, options, both_directions, lambda unknown: EnvDiff(env, unknown, unknown))


def diff(schema: Schema, old: PolicySet, new: PolicySet, options: Options) -> DiffResult:
    """Both directions in every selected environment, on one encoding each.
    An environment where both versions have the same slice is settled
    without the solver: the two decisions are one formula.  The others are
    spread over `options.jobs` processes (analyzer.spread), and merged in
    the environments' order."""
    old_index, new_index = PolicyIndex(instantiate(old), schema), PolicyIndex(instantiate(new), schema)
    envs = environments(schema, options)
    changed = []
    for env in envs:
        old_slice, new_slice = old_index.slice(env), new_index.slice(env)
        if not same_policies(old_slice, new_slice):
            changed.append((env, old_slice, new_slice))
    solved = spread(_diff_task, (schema, old, new, options), changed, options,
                    [len(o) + len(n) for _, o, n in changed])
    by_env = {d.env: d for d in solved}
    result = DiffResult()
    for env in envs:
        result.envs.append(by_env.get(env) or EnvDiff(env, Answer(Verdict.HOLDS, env), Answer(Verdict.HOLDS, env)))
    return result


def _diff_task(shared: tuple[Schema, PolicySet, PolicySet, Options],
               task: tuple[RequestEnv, list[PolicyInstance], list[PolicyInstance]]) -> EnvDiff:
    schema, old, new, options = shared
    env, old_slice, new_slice = task
    return _env_diff(schema, env, old, new, old_slice, new_slice, options)
