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

from collections import Counter
from dataclasses import dataclass, field

import z3

from cedarscope.analyzer import budget
from cedarscope.analyzer.queries import (
    HOLDS,
    UNKNOWN,
    Answer,
    Options,
    allows_rules,
    environments,
    overall,
    rules_in,
    solve,
)
from cedarscope.encoder import Encoding, Unsupported
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import is_authorized
from cedarscope.lang.schema import RequestEnv, Schema

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
    def verdict(self) -> str:
        """holds = the versions are equivalent (proved), violated = a
        difference exists, unknown = some environment was not settled."""
        return overall([a for d in self.envs for a in (d.gained, d.lost)])

    @property
    def solver_seconds(self) -> float:
        return sum(a.solver_seconds for d in self.envs for a in (d.gained, d.lost))

    @property
    def queries(self) -> int:
        return sum(a.queries for d in self.envs for a in (d.gained, d.lost))


def _keys(rules) -> Counter:
    """Rules as a multiset of (policy, slot values): equal multisets encode
    to the same formula (policy equality ignores source spans)."""
    return Counter((p, tuple(sorted(slots.items()))) for _, p, slots in rules)


def _replay(after: PolicySet, before: PolicySet):
    """Concretely: `after` allows and `before` denies."""
    def replay(request, entities) -> bool:
        return (is_authorized(request, entities, after).decision == "allow"
                and is_authorized(request, entities, before).decision == "deny")
    return replay


def _env_diff(schema: Schema, env: RequestEnv, old: PolicySet, new: PolicySet,
              options: Options) -> EnvDiff:
    old_rules, new_rules = rules_in(old, env, schema), rules_in(new, env, schema)
    if _keys(old_rules) == _keys(new_rules):
        # The same policies can match here in both versions: the two
        # decisions are one formula, so no request differs (no solver call).
        return EnvDiff(env, Answer(HOLDS, env), Answer(HOLDS, env))
    if budget.out_of_time(options):
        unknown = Answer(UNKNOWN, env, reason=budget.TIME_LIMIT_REACHED)
        return EnvDiff(env, unknown, unknown)
    try:
        enc = Encoding(schema, env)
        allows_old, allows_new = allows_rules(enc, old_rules), allows_rules(enc, new_rules)
    except Unsupported as exc:
        unknown = Answer(UNKNOWN, env, reason=f"unsupported: {exc}")
        return EnvDiff(env, unknown, unknown)
    gained = solve(enc, z3.And(allows_new, z3.Not(allows_old)), _replay(new, old), options, env,
                   options.max_examples, enc.different_from)
    lost = solve(enc, z3.And(allows_old, z3.Not(allows_new)), _replay(old, new), options, env,
                 options.max_examples, enc.different_from)
    return EnvDiff(env, gained, lost)


def diff(schema: Schema, old: PolicySet, new: PolicySet, options: Options) -> DiffResult:
    """Both directions in every selected environment, on one encoding each."""
    return DiffResult([_env_diff(schema, env, old, new, options)
                       for env in environments(schema, options)])
