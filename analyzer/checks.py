"""User-level checks: queries turned into Reports of Findings.

`check` asks properties of one policy set (or one policy), `equivalent`,
`implies` and `disjoint` relate two sets, `diff_report` lists what a change
gains and loses.  Every finding's counterexample was replayed (see
`solving.EnvSolver.examples`); this module only names what was found and
who decided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from cedarscope.analyzer import queries
from cedarscope.analyzer.changes import Versions
from cedarscope.analyzer.diff import GAINED, LOST, DiffResult, diff
from cedarscope.analyzer.plan import Change
from cedarscope.analyzer.solving import Answer, Example, Options, overall, stats_of
from cedarscope.analyzer.templates import notes as template_notes
from cedarscope.analyzer.templates import with_example_links
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY, Response, is_authorized
from cedarscope.lang.schema import Schema
from cedarscope.lang.template import instantiate, source_of
from cedarscope.reports.findings import AccessCell, Counterexample, Finding, Location, PolicyRef, Report, Verdict

# The set-level properties `check` knows (each decided by its question in
# queries.SET_QUESTIONS), with the finding kind a violation is reported as,
# and how to say it.
SET_PROPERTIES = {
    "always-allows": ("always-allows", "is denied, so not every request is allowed"),
    "always-denies": ("always-denies", "is allowed, so the policies do not deny everything"),
    "never-errors": ("may-error", "makes a policy error (an erroring policy is skipped)"),
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


def counterexample(example: Example, sides: dict[str, PolicySet],
                   known: dict[str, Response] | None = None) -> Counterexample:
    """An example with each side's decision and determining policies
    (`known`: a side's response to the example, when already computed)."""
    decisions, determining = {}, {}
    for side, ps in sides.items():
        linked = with_example_links(ps, example.links)
        response: Response = (known or {}).get(side) or is_authorized(example.request, example.entities, linked)
        decisions[side] = response.decision
        determining[side] = refs(linked, response.reasons)
    return Counterexample(example.request, example.entities, decisions, determining, example.unread,
                          links=example.links)


def describe_request(example: Example) -> str:
    r = example.request
    return f"principal {r.principal}, action {r.action}, resource {r.resource}"


def _verdict(answers: Sequence[Answer]) -> Verdict:
    return overall(a.verdict for a in answers)


# --------------------------------------------------------------------------
# check


def check_set(schema: Schema, ps: PolicySet, properties: Sequence[str], options: Options) -> Report:
    findings, answers = [], []
    # every property asked on one encoding per environment
    results = queries.set_properties(schema, ps, properties, options)
    for name, result in zip(properties, results, strict=True):
        kind, says = SET_PROPERTIES[name]
        answers.extend(result)
        for answer in result:
            for ex in answer.examples:
                linked = with_example_links(ps, ex.links)
                response = is_authorized(ex.request, ex.entities, linked)
                subjects = [pid for pid, _ in response.errors] if kind == "may-error" else []
                # the kind is shown beside the message: the property is named when it differs
                said = f"{describe_request(ex)} {says}" if name == kind else f"{name}: {describe_request(ex)} {says}"
                why = "".join(f"; {pid}: {message}" for pid, message in response.errors) if subjects else ""
                findings.append(Finding(
                    kind=kind,
                    message=said + why,
                    policies=tuple(subjects),
                    locations=_locations(linked, subjects),
                    environment=answer.env,
                    counterexample=counterexample(ex, {"policies": ps}, {"policies": response}),
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


RELATIONS = {"equivalent": queries.equivalent, "implies": queries.implies, "disjoint": queries.disjoint}

# A relation's counterexample, by which of the two sets allow it: its kind
# in the JSON contract (gained / lost as if the second set were a new
# version of the first, reachable when both allow), and how to say it.  The
# text labels it in the relation's own terms (reports.render_text).
RELATION_KINDS: dict[tuple[str, str], tuple[str, str]] = {
    (ALLOW, DENY): ("lost", "is allowed by the first set and denied by the second"),
    (DENY, ALLOW): ("gained", "is denied by the first set and allowed by the second"),
    (ALLOW, ALLOW): ("reachable", "is allowed by both sets"),
}


def relation(command: str, schema: Schema, a: PolicySet, b: PolicySet, options: Options) -> Report:
    answers = RELATIONS[command](schema, a, b, options)
    findings = []
    for answer in answers:
        for ex in answer.examples:
            cx = counterexample(ex, {"first": a, "second": b})
            kind, says = RELATION_KINDS[cx.decisions["first"], cx.decisions["second"]]
            deciders = (r.id for side in cx.determining.values() for r in side)
            findings.append(Finding(
                kind=kind,
                message=f"{describe_request(ex)} {says}",
                policies=tuple(dict.fromkeys(deciders)),  # a policy both sets hold is named once
                environment=answer.env,
                counterexample=cx,
            ))
    return Report(command, _verdict(answers), tuple(findings), stats_of(answers))


# --------------------------------------------------------------------------
# diff: one finding per change


def diff_report(schema: Schema, old: PolicySet, new: PolicySet, options: Options,
                command: str = "diff", fail_on: Iterable[str] | None = None) -> Report:
    """The change plan as a report: one finding per change; `summary`
    counts the changes of each changed (or unsettled) environment."""
    result: DiffResult = diff(schema, old, new, options)
    findings, table = [], []
    for env_plan in result.envs:
        findings += [change_finding(change, result.versions) for change in env_plan.changes]
        counts = {d: _count(a) for d, a in ((GAINED, env_plan.gained), (LOST, env_plan.lost))}
        if any(c != 0 for c in counts.values()):
            table.append({"environment": str(env_plan.env), **counts})
    unchanged = len(result.envs) - len(table)
    matrix = tuple(AccessCell(p.env, *p.access, changes=len(p.changes)) for p in result.envs
                   if p.access is not None)
    described = [c.description for p in result.envs for c in p.changes if c.description is not None]
    extra = {"changes": len(findings), "unchanged_environments": unchanged, "summary": table}
    if described:
        extra["description_checks"] = sum(d.checks for d in described)
        extra["description_seconds"] = round(sum(d.seconds for d in described), 4)
        # Exact, but the search for redundant parts ran out of its work
        # budget (the same in every run), or met the wall-clock safety net
        # (which a different load may not have met).
        cut = sum(1 for d in described if not d.complete and not d.timed_out)
        if cut:
            extra["descriptions_cut_by_budget"] = cut
        timed_out = sum(1 for d in described if d.timed_out)
        if timed_out:
            extra["descriptions_cut_by_time"] = timed_out
    return Report(command, result.verdict, tuple(findings), stats_of(result.answers, **extra),
                  fail_on=frozenset(fail_on) if fail_on is not None else None, matrix=matrix)


def change_finding(change: Change, versions: Versions) -> Finding:
    sides = {"old": versions.old_set, "new": versions.new_set}
    examples = tuple(counterexample(ex, sides) for ex in change.examples)
    ids: list[str] = []
    edits: dict[str, str] = {}
    for s in change.subjects:
        for pid, status in ((s.template, s.template_status), (s.id, s.status)):
            if pid is not None and status is not None and pid not in ids:
                ids.append(pid)
                edits[pid] = status
    found = [Location.of(versions.source(pid, edits[pid])) for pid in ids]
    locations = [loc for loc in found if loc is not None]  # one per subject, when each has one
    related = []
    for cx in examples:
        for refs_ in cx.determining.values():
            related += [r.id for r in refs_ if r.id not in ids and r.id not in related]
    d = change.description
    causes = ", ".join(f"{pid} ({edits[pid]})" for pid in ids) or "no single policy"
    verb = "gained" if change.direction == GAINED else "lost"
    message = f"access {verb} in {change.env}, caused by {causes}"
    if d is not None and d.one_line:
        message += f"; exactly the requests of: {d.one_line}"
    return Finding(
        kind=change.direction,
        message=message,
        policies=tuple(ids),
        related=tuple(related),
        locations=tuple(locations),
        environment=change.env,
        description=d.text if d is not None else None,
        description_form=d.form if d is not None else None,
        examples=examples,
        edits=edits,
        texts=_texts(edits, versions),
    )


def _texts(edits: Mapping[str, str], versions: Versions) -> dict[str, str]:
    """Each subject's text in each version it is in (a link shows its
    template): not a removed policy's id in the new version, where it may
    name another policy."""
    from cedarscope.lang.printer import print_policy

    out = {}
    sets = {"old": versions.old_set, "new": versions.new_set}
    for pid, status in edits.items():
        for side in versions.sides(status):
            policy = source_of(sets[side], pid)
            if policy is not None:
                out[f"{pid} ({side})"] = print_policy(policy)
    return out


def _count(answer: Answer) -> int | str:
    """1 when the direction is a change, 0 when not, or 'unknown'."""
    if answer.verdict is Verdict.UNKNOWN:
        return "unknown"
    return 1 if answer.examples else 0
