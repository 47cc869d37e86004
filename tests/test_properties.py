"""analyzer.properties directly: @must("never"/"always") properties and
`ask` questions, written in Cedar, answered over every request."""

from __future__ import annotations

import pytest

from cedarscope.analyzer.properties import ask, check_properties, describes, mentions_var, must_of
from cedarscope.analyzer.solving import Options
from cedarscope.lang.authorizer import ALLOW, DENY, is_authorized
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import parse_expr, parse_policies, parse_policy
from cedarscope.lang.schema import parse_schema
from cedarscope.reports.findings import Verdict

SCHEMA = parse_schema("""
entity Team;
entity User in [Team] { level: Long };
entity Doc { owner: User };
action view, edit appliesTo { principal: [User], resource: [Doc], context: { mfa: Bool } };
""")
POLICIES = parse_policies("""
@id("owner") permit(principal, action, resource) when { resource.owner == principal };
@id("eng-view") permit(principal in Team::"eng", action == Action::"view", resource);
@id("no-mfa") forbid(principal, action == Action::"edit", resource) unless { context.mfa };
""")


def opts(**kw) -> Options:
    return Options(timeout_seconds=20.0, **kw)


def test_mentions_var_looks_through_the_whole_expression():
    e = parse_expr('if context.mfa then principal.level > 1 else resource has owner')
    assert mentions_var(e, "context") and mentions_var(e, "principal") and mentions_var(e, "resource")
    assert not mentions_var(e, "action")


def test_must_of_reads_the_annotation_and_rejects_anything_else():
    assert must_of(parse_policy('@must("never") permit(principal, action, resource);')) == "never"
    assert must_of(parse_policy('@must("always") permit(principal, action, resource);')) == "always"
    for text in ('@must("sometimes") permit(principal, action, resource);',
                 "permit(principal, action, resource);"):
        with pytest.raises(CedarError, match='@must\\("never"\\) or @must\\("always"\\)'):
            must_of(parse_policy(text))


def test_a_never_property_that_holds():
    props = parse_policies('@id("no-edit-without-mfa") @must("never")\n'
                           'permit(principal, action == Action::"edit", resource) unless { context.mfa };')
    report = check_properties(SCHEMA, POLICIES, props, opts())
    assert (report.result, report.findings) == (Verdict.HOLDS, ())


def test_a_violated_never_property_comes_with_a_replayed_example():
    props = parse_policies('@id("outsiders-never-view") @must("never")\n'
                           'permit(principal, action == Action::"view", resource) '
                           'unless { resource.owner == principal };')
    report = check_properties(SCHEMA, POLICIES, props, opts())
    assert report.result == Verdict.VIOLATED
    (finding,) = report.findings
    assert finding.kind == "property-violated" and finding.related == ("outsiders-never-view",)
    assert finding.policies == ("eng-view",)  # the policy that explains the violation
    cx = finding.counterexample
    assert describes(props.policies[0][1], cx.request, cx.entities)
    assert is_authorized(cx.request, cx.entities, POLICIES).decision == ALLOW


def test_a_violated_always_property_shows_a_denied_request():
    props = parse_policies('@id("owners-edit") @must("always")\n'
                           'permit(principal, action == Action::"edit", resource) '
                           'when { resource.owner == principal };')
    report = check_properties(SCHEMA, POLICIES, props, opts())
    assert report.result == Verdict.VIOLATED
    (finding,) = report.findings
    cx = finding.counterexample
    assert is_authorized(cx.request, cx.entities, POLICIES).decision == DENY
    assert cx.request.context["mfa"] is False  # the forbid is why


def test_ask_answers_yes_with_examples_or_a_proof_of_never():
    yes = ask(SCHEMA, POLICIES, parse_policy(
        'permit(principal, action == Action::"view", resource) unless { resource.owner == principal };'), opts())
    assert yes.command == "ask" and yes.result == Verdict.VIOLATED
    assert all(f.kind == "reachable" for f in yes.findings) and yes.findings
    never = ask(SCHEMA, POLICIES, parse_policy(
        'permit(principal, action == Action::"edit", resource) when { !context.mfa };'), opts())
    assert (never.result, never.findings) == (Verdict.HOLDS, ())


def test_ask_enumerates_distinct_principals():
    """Principals that differ in what the policies read of them: an
    engineer who owns the document, one who does not, one whose document is
    not in the store (reading its owner errors).  Another principal that
    differs only in its id would be the same answer."""
    from cedarscope.lang.evaluator import EvalError, evaluate

    report = ask(SCHEMA, POLICIES, parse_policy(
        'permit(principal in Team::"eng", action == Action::"view", resource);'),
        opts(max_examples=5), enumerate_by="principal")
    principals = {f.counterexample.request.principal for f in report.findings}
    assert len(principals) == len(report.findings) in (2, 3)

    def owns(cx) -> bool | str:
        try:
            return evaluate(parse_expr("resource.owner == principal"), cx.request, cx.entities)
        except EvalError:
            return "error"

    outcomes = [owns(f.counterexample) for f in report.findings]
    assert len(set(outcomes)) == len(outcomes) and True in outcomes


def test_ask_only_in_environments_the_question_can_match():
    report = ask(SCHEMA, POLICIES, parse_policy(
        'permit(principal, action == Action::"view", resource);'), opts())
    assert {f.environment.action.id for f in report.findings} == {"view"}
    assert report.stats["environments"] == 1


def test_ask_enumerate_n_caps_the_answers_in_all_not_per_environment():
    # view and edit each have several distinct principals; N=3 is the total
    report = ask(SCHEMA, POLICIES, parse_policy('permit(principal, action, resource);'),
                 opts(max_examples=3), enumerate_by="principal")
    assert report.result == Verdict.VIOLATED
    assert len(report.findings) == 3
    assert {f.environment.action.id for f in report.findings} == {"view", "edit"}  # taken in turn


def test_ask_enumerate_ignores_what_only_other_environments_policies_read():
    """`level` is read only by a policy for another action: for `view`,
    principals that differ in it alone are one answer."""
    schema = parse_schema("""
    entity User { level: Long };
    entity Doc;
    action view appliesTo { principal: [User], resource: [Doc] };
    entity Admin { level: Long };
    action audit appliesTo { principal: [Admin], resource: [Doc] };
    """)
    ps = parse_policies("""
    @id("view") permit(principal, action == Action::"view", resource);
    @id("audit") permit(principal, action == Action::"audit", resource) when { principal.level > 3 };
    """)
    report = ask(schema, ps, parse_policy('permit(principal, action == Action::"view", resource);'),
                 opts(max_examples=10), enumerate_by="principal")
    assert len(report.findings) == 1
