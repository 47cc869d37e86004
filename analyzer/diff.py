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

from cedarscope.analyzer.queries import allows, same_policies, slice_in
from cedarscope.analyzer.solving import (
    Answer,
    EnvSolver,
    Options,
    Replay,
    environments,
    in_environment,
    overall,
)
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
    without the solver: the two decisions are one formula."""
    old_instances, new_instances = instantiate(old), instantiate(new)
    result = DiffResult()
    for env in environments(schema, options):
        old_slice, new_slice = slice_in(old_instances, env, schema), slice_in(new_instances, env, schema)
        if same_policies(old_slice, new_slice):
            result.envs.append(EnvDiff(env, Answer(Verdict.HOLDS, env), Answer(Verdict.HOLDS, env)))
        else:
            result.envs.append(_env_diff(schema, env, old, new, old_slice, new_slice, options))
    return result
