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
from cedarscope.analyzer.queries import same_policies, slice_in
from cedarscope.analyzer.solving import Answer, EnvSolver, Options, environments, in_environment, overall
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.schema import Schema
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
    without the solver: the two decisions are one formula."""
    versions = Versions.of(old, new)
    result = DiffResult(versions)
    for env in environments(schema, options):
        old_slice, new_slice = slice_in(versions.old, env, schema), slice_in(versions.new, env, schema)
        if same_policies(old_slice, new_slice):
            plan = EnvPlan(env, Answer(Verdict.HOLDS, env), Answer(Verdict.HOLDS, env))
            if options.matrix:
                def level_of(solver: EnvSolver, s: list = old_slice) -> str:
                    return unchanged_access(solver, s, options)

                def unsettled(unknown: Answer) -> str:
                    return "unknown"

                level = in_environment(schema, env, options, level_of, unsettled)
                plan.access = (level, level)
        else:
            def ask(solver: EnvSolver, o: list = old_slice, n: list = new_slice) -> EnvPlan:
                return plan_environment(solver, schema, versions, o, n, options)

            def unsupported(unknown: Answer) -> EnvPlan:
                return EnvPlan(unknown.env, unknown, unknown, access=("unknown", "unknown"))

            plan = in_environment(schema, env, options, ask, unsupported)
        result.envs.append(plan)
    return result
