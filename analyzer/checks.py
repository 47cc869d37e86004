"""User-level checks: queries turned into Reports of Findings.

`check` asks properties of one policy set (or one policy), `equivalent`,
`implies` and `disjoint` relate two sets, `diff_report` lists what a change
gains and loses.  Every finding's counterexample was replayed (see
`solving.EnvSolver.examples`); this module only names what was found and
who decided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cedarscope.analyzer import queries
from cedarscope.analyzer.diff import GAINED, LOST, DiffResult, diff
from cedarscope.analyzer.solving import Answer, Example, Options, overall, stats_of
from cedarscope.analyzer.templates import notes as template_notes
from cedarscope.analyzer.templates import with_example_links
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY, Response, is_authorized
from cedarscope.lang.schema import Schema
from cedarscope.lang.template import instantiate, source_of
from cedarscope.reports.findings import Counterexample, Finding, Location, PolicyRef, Report, Verdict

# The set-level properties `check` knows, with the query that decides each,
# the finding kind a violation is reported as, and how to say it.
SET_PROPERTIES = {
    "always-allows": (queries.always_allows, "always-allows", "is denied, so not every request is allowed"),
    "always-denies": (queries.always_denies, "always-denies", "is allowed, so the policies do not deny everything"),
    "never-errors": (queries.never_errors, "may-error", "makes a policy error (an erroring policy is skipped)"),
}

# Per-policy properties.
POLICY_PROPERTIES = {
    "never-errors": (queries.policy_never_errors, "may-error", "makes the policy error"),
    "never-matches": (queries.never_matches, "reachable", "matches the policy"),
    "always-matches": (queries.always_matches, "always-matches", "does not match the policy"),
}


# --------------------------------------------------------------------------
# Naming who decided an example


def refs(policyset: PolicySet, ids: Iterable[str]) -> tuple[PolicyRef, ...]:
    """References to policies by id (a link points at its template's text)."""
    return tuple(PolicyRef.of(pid, source_of(policyset, pid)) for pid in ids)


def counterexample(example: Example, sides: dict[str, PolicySet]) -> Counterexample:
    """An example with each side's decision and determining policies."""
    decisions, determining = {}, {}
    for side, ps in sides.items():
        linked = with_example_links(ps, example.links)
        response: Response = is_authorized(example.request, example.entities, linked)
        decisions[side] = response.decision
        determining[side] = refs(linked, response.reasons)
    return Counterexample(example.request, example.entities, decisions, determining, example.links)


def describe_request(example: Example) -> str:
    r = example.request
    return f"principal {r.principal}, action {r.action}, resource {r.resource}"


def _verdict(answers: Sequence[Answer]) -> Verdict:
    return overall(a.verdict for a in answers)


# --------------------------------------------------------------------------
# check


def check_set(schema: Schema, ps: PolicySet, properties: Sequence[str], options: Options) -> Report:
    findings, answers = [], []
    for name in properties:
        query, kind, says = SET_PROPERTIES[name]
        result = query(schema, ps, options)
        answers.extend(result)
        for answer in result:
            for ex in answer.examples:
                linked = with_example_links(ps, ex.links)
                response = is_authorized(ex.request, ex.entities, linked)
                subjects = [pid for pid, _ in response.errors] if kind == "may-error" else []
                findings.append(Finding(
                    kind=kind,
                    message=f"{name}: {describe_request(ex)} {says}",
                    policies=tuple(subjects),
                    locations=_locations(linked, subjects),
                    environment=answer.env,
                    counterexample=counterexample(ex, {"policies": ps}),
                ))
    return Report("check", _verdict(answers), tuple(findings), stats_of(answers), assumptions=template_notes(ps))


def check_policy(schema: Schema, ps: PolicySet, policy_id: str, properties: Sequence[str],
                 options: Options) -> Report:
    matches = [i for i in instantiate(ps) if i.id == policy_id]
    if not matches:
        raise KeyError(policy_id)
    policy = matches[0].policy
    findings, answers = [], []
    for name in properties:
        query, kind, says = POLICY_PROPERTIES[name]
        result = query(schema, policy, options)
        answers.extend(result)
        for answer in result:
            for ex in answer.examples:
                findings.append(Finding(
                    kind=kind,
                    message=f"{policy_id} {name}: {describe_request(ex)} {says}",
                    policies=(policy_id,),
                    locations=_locations(ps, [policy_id]),
                    environment=answer.env,
                    counterexample=counterexample(ex, {"policies": ps}),
                ))
    return Report("check", _verdict(answers), tuple(findings), stats_of(answers))


def _locations(ps: PolicySet, ids: Iterable[str]) -> tuple[Location, ...]:
    found = (Location.of(source_of(ps, pid)) for pid in ids)
    return tuple(loc for loc in found if loc is not None)


# --------------------------------------------------------------------------
# Relations between two sets


RELATIONS = {
    "equivalent": (queries.equivalent, "decides differently in the two sets"),
    "implies": (queries.implies, "is allowed by the first set and denied by the second"),
    "disjoint": (queries.disjoint, "is allowed by both sets"),
}


def relation(command: str, schema: Schema, a: PolicySet, b: PolicySet, options: Options) -> Report:
    query, says = RELATIONS[command]
    answers = query(schema, a, b, options)
    findings = []
    for answer in answers:
        for ex in answer.examples:
            cx = counterexample(ex, {"first": a, "second": b})
            kind = "gained" if cx.decisions["second"] == ALLOW and cx.decisions["first"] == DENY else "lost"
            if command == "disjoint":
                kind = "reachable"
            findings.append(Finding(
                kind=kind,
                message=f"{describe_request(ex)} {says}",
                policies=tuple(r.id for side in cx.determining.values() for r in side),
                environment=answer.env,
                counterexample=cx,
            ))
    return Report(command, _verdict(answers), tuple(findings), stats_of(answers))


# --------------------------------------------------------------------------
# diff


def diff_report(schema: Schema, old: PolicySet, new: PolicySet, options: Options,
                command: str = "diff") -> Report:
    result: DiffResult = diff(schema, old, new, options)
    findings, answers, table = [], [], []
    for env_diff in result.envs:
        answers.extend([env_diff.gained, env_diff.lost])
        table.append({
            "environment": str(env_diff.env),
            "gained": _count(env_diff.gained),
            "lost": _count(env_diff.lost),
        })
        for direction, answer in ((GAINED, env_diff.gained), (LOST, env_diff.lost)):
            for ex in answer.examples:
                cx = counterexample(ex, {"old": old, "new": new})
                deciding = cx.determining["new" if direction == GAINED else "old"]
                verb = "now allowed" if direction == GAINED else "no longer allowed"
                why = ", ".join(str(r) for r in deciding) or "default deny"
                findings.append(Finding(
                    kind=direction,
                    message=f"{describe_request(ex)} is {verb} (decided by {why})",
                    policies=tuple(r.id for r in deciding),
                    related=tuple(r.id for r in cx.determining["old" if direction == GAINED else "new"]),
                    locations=tuple(r.location for r in deciding if r.location),
                    environment=env_diff.env,
                    counterexample=cx,
                ))
    return Report(command, result.verdict, tuple(findings), stats_of(answers, summary=table))


def _count(answer: Answer):
    """Examples found in one direction, or 'unknown'."""
    if answer.verdict is Verdict.UNKNOWN:
        return "unknown"
    return len(answer.examples)
