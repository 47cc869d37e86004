"""diff OLD NEW: the requests a policy change lets in (gained) and shuts out (lost).

For every request environment two goals are solved:

* gained: ``allows(NEW) ∧ ¬allows(OLD)``
* lost:   ``allows(OLD) ∧ ¬allows(NEW)``

Only the policies whose scope can match the environment are encoded
(`analyzer.slicing`), and an environment where both versions have the same
such policies is settled without the solver: its two formulas are one.
Each direction that is satisfiable is one change (`analyzer.plan`): the
policies whose edit caused it, its exact description in Cedar, and
examples, each replayed through `lang.authorizer` on both versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cedarscope.analyzer.changes import Versions
from cedarscope.analyzer.plan import GAINED, LOST, EnvPlan, plan_environment, unchanged_access
from cedarscope.analyzer.queries import same_policies
from cedarscope.analyzer.slicing import PolicyIndex
from cedarscope.analyzer.solving import Answer, EnvSolver, Options, environments, in_environment, overall
from cedarscope.analyzer.spread import spread
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance
from cedarscope.reports.findings import Verdict

__all__ = ["GAINED", "LOST", "DiffResult", "EnvPlan", "diff"]


@dataclass
class DiffResult:
    versions: Versions
    envs: list[EnvPlan] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """holds = the versions are equivalent (proved), violated = a
        difference exists, unknown = some environment was not settled."""
        return overall(a.verdict for a in self.answers)

    @property
    def answers(self) -> list[Answer]:
        return [a for d in self.envs for a in (d.gained, d.lost)]


def diff(schema: Schema, old: PolicySet, new: PolicySet, options: Options) -> DiffResult:
    """Both directions in every selected environment, on one encoding each.
    An environment where both versions have the same slice is settled
    without the solver: the two decisions are one formula.  The others
    (and, for the access matrix, every environment) are spread over
    `options.jobs` processes (analyzer.spread), and merged in the
    environments' order."""
    versions = Versions.of(old, new)
    old_index, new_index = PolicyIndex(versions.old, schema), PolicyIndex(versions.new, schema)
    tasks = [(env, old_index.slice(env), new_index.slice(env)) for env in environments(schema, options)]
    asked = [t for t in tasks if options.matrix or not same_policies(t[1], t[2])]
    solved = spread(_plan_task, (schema, versions, options), asked, options, [len(o) + len(n) for _, o, n in asked])
    by_env = {plan.env: plan for plan in solved}
    result = DiffResult(versions)
    for env, _, _ in tasks:
        result.envs.append(by_env.get(env) or EnvPlan(env, Answer(Verdict.HOLDS, env), Answer(Verdict.HOLDS, env)))
    return result


def _plan_task(shared: tuple[Schema, Versions, Options],
               task: tuple[RequestEnv, list[PolicyInstance], list[PolicyInstance]]) -> EnvPlan:
    """One environment: its changes, or (same slices, for the matrix only)
    its access level, which is the same on both sides."""
    schema, versions, options = shared
    env, old_slice, new_slice = task
    if same_policies(old_slice, new_slice):
        plan = EnvPlan(env, Answer(Verdict.HOLDS, env), Answer(Verdict.HOLDS, env))

        def level_of(solver: EnvSolver) -> str:
            return unchanged_access(solver, old_slice, options)

        def unsettled(unknown: Answer) -> str:
            return "unknown"

        level = in_environment(schema, env, options, level_of, unsettled)
        plan.access = (level, level)
        return plan

    def ask(solver: EnvSolver) -> EnvPlan:
        return plan_environment(solver, schema, versions, old_slice, new_slice, options)

    def unsupported(unknown: Answer) -> EnvPlan:
        return EnvPlan(unknown.env, unknown, unknown, access=("unknown", "unknown"))

    return in_environment(schema, env, options, ask, unsupported)
