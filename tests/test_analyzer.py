"""Verification queries and diff on small hand-written stores.

Every violated answer's examples must replay (the analyzer already replays
them; these tests replay them again, independently, and with cedarpy).
"""

from __future__ import annotations

import json

import pytest

from cedarscope.analyzer import queries
from cedarscope.analyzer.checks import diff_report, relation
from cedarscope.analyzer.solving import Options, overall
from cedarscope.encoder.assumptions import REQUEST_ENTITIES_EXIST
from cedarscope.lang.authorizer import is_authorized
from cedarscope.lang.entities import entities_to_json
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema
from cedarscope.reports.findings import Verdict
from tests.support.engine import replay_with_cedarpy


def queries_overall(answers):
    return overall(a.verdict for a in answers)

SCHEMA = """
entity Group;
entity User in [Group] = { level: Long, email: String, nick?: String };
entity Doc = { owner: User, public: Bool };
action view, edit appliesTo { principal: [User], resource: [Doc], context: { mfa: Bool } };
"""


@pytest.fixture(scope="module")
def schema():
    return parse_schema(SCHEMA, "t.cedarschema")


def ps(text: str):
    return parse_policies(text, "t.cedar")


PRINCIPAL_EXISTS = frozenset({REQUEST_ENTITIES_EXIST})


def opts(**kw) -> Options:
    return Options(timeout_seconds=kw.pop("timeout", 20.0), **kw)


def cedarpy_decision(text, ex):
    return replay_with_cedarpy(ex.request, ex.entities, text)


def test_always_denies_holds_for_empty_set(schema):
    answers = queries.always_denies(schema, ps(""), opts())
    assert answers and all(a.verdict == Verdict.HOLDS for a in answers)


def test_always_denies_violated_with_replaying_example(schema):
    text = 'permit(principal, action == Action::"view", resource) when { resource.public };'
    answers = queries.always_denies(schema, ps(text), opts())
    assert queries_overall(answers) == Verdict.VIOLATED
    view = [a for a in answers if a.env.action.id == "view"]
    assert view[0].verdict == Verdict.VIOLATED
    ex = view[0].examples[0]
    assert is_authorized(ex.request, ex.entities, ps(text)).decision == "allow"
    assert cedarpy_decision(text, ex) == "allow"
    edit = [a for a in answers if a.env.action.id == "edit"]
    assert edit[0].verdict == Verdict.HOLDS


def test_always_allows(schema):
    assert queries_overall(queries.always_allows(schema, ps("permit(principal, action, resource);"),
                                                 opts())) == Verdict.HOLDS
    text = "permit(principal, action, resource) unless { context.mfa };"
    answers = queries.always_allows(schema, ps(text), opts())
    assert queries_overall(answers) == Verdict.VIOLATED
    ex = answers[0].examples[0]
    assert ex.request.context["mfa"] is True


def test_never_errors_finds_missing_optional_attribute(schema):
    text = 'permit(principal, action, resource) when { principal.nick == "x" };'
    answers = queries.never_errors(schema, ps(text), opts())
    assert queries_overall(answers) == Verdict.VIOLATED
    ex = answers[0].examples[0]
    assert is_authorized(ex.request, ex.entities, ps(text)).errors
    guarded = 'permit(principal, action, resource) when { principal has nick && principal.nick == "x" };'
    assert queries_overall(queries.never_errors(schema, ps(guarded), opts())) == Verdict.HOLDS


def test_overflow_is_an_error(schema):
    text = "permit(principal, action, resource) when { principal.level + 1 > 0 };"
    # with the principal in the store, the only error left is the overflow
    answers = queries.never_errors(schema, ps(text), opts(assumptions=PRINCIPAL_EXISTS))
    assert queries_overall(answers) == Verdict.VIOLATED
    assert answers[0].examples[0].entities.get(answers[0].examples[0].request.principal).attrs["level"] \
        == 2**63 - 1


def test_never_matches_and_always_matches(schema):
    dead = ps("permit(principal, action, resource) when { principal.level > 5 && principal.level < 3 };")
    policy = dead.policies[0][1]
    assert queries_overall(queries.never_matches(schema, policy, opts())) == Verdict.HOLDS
    live = ps("permit(principal, action, resource) when { principal.level > 5 || principal.level <= 5 };")
    assert queries_overall(queries.always_matches(schema, live.policies[0][1],
                                                  opts(assumptions=PRINCIPAL_EXISTS))) == Verdict.HOLDS
    # ... but not when the principal may be missing from the store: then it errors
    answers = queries.always_matches(schema, live.policies[0][1], opts())
    assert queries_overall(answers) == Verdict.VIOLATED
    ex = answers[0].examples[0]
    assert ex.request.principal not in ex.entities


def test_equivalent_refactorings(schema):
    a = ps('permit(principal, action, resource) when { principal.level > 2 && resource.public };\n'
           'forbid(principal, action, resource) unless { context.mfa };')
    b = ps('forbid(principal, action, resource) when { !context.mfa };\n'
           'permit(principal, action, resource) when { principal.level > 2 } when { resource.public };')
    assert queries_overall(queries.equivalent(schema, a, b, opts())) == Verdict.HOLDS
    c = ps('permit(principal, action, resource) when { principal.level > 3 && resource.public };')
    report = relation("equivalent", schema, a, c, opts())
    assert report.result.value == Verdict.VIOLATED


def test_implies_and_disjoint(schema):
    narrow = ps('permit(principal, action == Action::"view", resource) when { principal.level > 5 };')
    wide = ps('permit(principal, action == Action::"view", resource) when { principal.level > 1 };')
    assert queries_overall(queries.implies(schema, narrow, wide, opts())) == Verdict.HOLDS
    assert queries_overall(queries.implies(schema, wide, narrow, opts())) == Verdict.VIOLATED
    other = ps('permit(principal, action == Action::"edit", resource);')
    assert queries_overall(queries.disjoint(schema, narrow, other, opts())) == Verdict.HOLDS
    assert queries_overall(queries.disjoint(schema, narrow, wide, opts())) == Verdict.VIOLATED


def test_diff_examples_are_distinct_and_replay(schema):
    """One change per environment and direction; its examples replay and
    differ in what the policies read (here: in the group, or senior)."""
    old_text = 'permit(principal, action == Action::"view", resource) when { resource.public };'
    new_text = old_text + ('\npermit(principal in Group::"staff", action, resource);'
                           '\npermit(principal, action, resource) when { principal.level > 5 };')
    old, new = ps(old_text), ps(new_text)
    report = diff_report(schema, old, new, opts(max_examples=3))
    assert report.result.value == Verdict.VIOLATED
    gained = [f for f in report.findings if f.kind == "gained"]
    assert gained and not [f for f in report.findings if f.kind == "lost"]
    assert len({f.environment for f in gained}) == len(gained), "one change per environment"
    for f in gained:
        keys = set()
        for cx in f.examples:
            assert cx.decisions == {"old": "deny", "new": "allow"}
            assert cedarpy_decision(old_text, cx) == "deny"
            assert cedarpy_decision(new_text, cx) == "allow"
            keys.add((cx.request, json.dumps(entities_to_json(cx.entities), sort_keys=True)))
        assert len(keys) == len(f.examples), "the same example twice"
    assert any(len(f.examples) > 1 for f in gained)


def test_diff_of_identical_sets_holds(schema):
    text = 'permit(principal, action, resource) when { principal.email like "*@example.com" };'
    report = diff_report(schema, ps(text), ps(text), opts())
    assert report.result.value == Verdict.HOLDS and not report.findings


def test_tiny_timeout_is_never_holds(schema):
    """A solver that gives up must give 'unknown', never 'holds'."""
    text = ("permit(principal, action, resource) when { "
            + " && ".join(f"principal.level * {i + 3} != {i * 7919 + 1}" for i in range(40))
            + ' && principal.email like "*a*b*c*d*e*f*" };')
    answers = queries.always_denies(schema, ps(text), opts(timeout=0.001))
    assert all(a.verdict in (Verdict.UNKNOWN, Verdict.VIOLATED) for a in answers)
    assert any(a.verdict == Verdict.UNKNOWN for a in answers)
    for a in answers:
        if a.verdict == Verdict.UNKNOWN:
            assert a.reason


def test_diff_tells_true_from_one(schema):
    """Policies are compared structurally to skip unchanged environments;
    `true` and `1` are different literals (Python's True == 1 is not Cedar's)."""
    old = ps('permit(principal, action, resource) when { context.mfa == true };')
    new = ps('permit(principal, action, resource) when { context.mfa == 1 };')
    report = diff_report(schema, old, new, opts())
    assert report.result.value == Verdict.VIOLATED
    assert {f.kind for f in report.findings} == {"lost"}
