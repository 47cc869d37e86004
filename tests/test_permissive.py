"""The over-permissive judgement (analyzer/permissive.py through the audit):
every principal, conditions always true, and @must bounds exceeded, one
finding per policy naming each reason; group grants over all resources only
when strict.  (The tautologies read only the context: an attribute of an
entity that may be missing from the store can error, so a condition on it
is not always true.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from cedarscope.analyzer.audit import audit
from cedarscope.analyzer.permissive import grants_every
from cedarscope.analyzer.solving import Options
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.schema import load_schema

SCHEMA = Path(__file__).parent / "fixtures" / "audit" / "schema.cedarschema"

POLICIES = '''
@id("anyone-views-public")
permit(principal, action in [Action::"view", Action::"share"], resource is Doc)
when { resource.classification == "public" };

@id("tautology")
permit(principal in Group::"admins", action == Action::"delete", resource)
when { context.hour > 3 || context.hour <= 3 };

@id("anyone-and-tautology")
permit(principal is User, action == Action::"edit", resource)
when { context.mfa || !context.mfa };

@id("admins-manage-everything")
permit(principal in Group::"admins", action == Action::"manage", resource);

@id("interns-delete")
permit(principal in Group::"interns", action == Action::"delete", resource)
when { context.mfa };

@id("owner-edits")
permit(principal, action == Action::"edit", resource) when { resource.owner == principal };

@id("forbid-always")
forbid(principal, action == Action::"share", resource) when { context.hour > 3 || context.hour <= 3 };
'''

PROPERTIES = '''
@id("interns-never-delete") @must("never")
permit(principal in Group::"interns", action == Action::"delete", resource);
'''


@pytest.fixture(scope="module")
def findings():
    schema = load_schema(SCHEMA)
    ps = parse_policies(POLICIES, "p.cedar")
    props = parse_policies(PROPERTIES, "props.cedar")
    plain = audit(schema, ps, Options(timeout_seconds=30.0), props)
    strict = audit(schema, ps, Options(timeout_seconds=30.0), props, strict=True)
    return ({f.policies[0]: f for f in plain.findings if f.kind == "over-permissive"},
            {f.policies[0]: f for f in strict.findings if f.kind == "over-permissive"})


def test_one_finding_per_policy_naming_every_reason(findings):
    plain, _ = findings
    assert set(plain) == {"anyone-views-public", "tautology", "anyone-and-tautology", "interns-delete"}
    both = plain["anyone-and-tautology"].message
    assert "to every principal of type User" in both and "conditions are always true" in both


def test_every_principal_names_each_action_and_shows_a_replayed_example(findings):
    plain, _ = findings
    f = plain["anyone-views-public"]
    assert 'Action::"share", Action::"view" to every principal of type User' in f.message or \
        'Action::"view", Action::"share" to every principal of type User' in f.message
    assert f.counterexample is not None and f.counterexample.decisions


def test_exceeding_a_must_bound_names_the_property(findings):
    plain, _ = findings
    f = plain["interns-delete"]
    assert "@must(\"never\") property interns-never-delete" in f.message
    assert f.related == ("interns-never-delete",)


def test_group_grants_over_all_resources_only_when_strict(findings):
    plain, strict = findings
    assert "admins-manage-everything" not in plain
    assert "on every resource of type Folder" in strict["admins-manage-everything"].message
    assert strict["admins-manage-everything"].severity == "note"  # listed, not failing
    assert strict["anyone-views-public"].severity == "error"
    assert "owner-edits" not in strict  # it reads both principal and resource


def test_forbids_are_never_over_permissive(findings):
    plain, strict = findings
    assert "forbid-always" not in plain and "forbid-always" not in strict


@pytest.mark.parametrize("text, every_principal", [
    ("permit(principal, action, resource);", True),
    ("permit(principal is User, action, resource) when { resource.public };", True),
    ("permit(principal is User in Group::\"g\", action, resource);", False),
    ("permit(principal == User::\"a\", action, resource);", False),
    ("permit(principal, action, resource) when { principal.level > 1 };", False),
    ("forbid(principal, action, resource);", False),
])
def test_grants_every_principal(text, every_principal):
    assert grants_every(parse_policy(text), "principal") is every_principal


def test_an_exceeded_bound_is_shown_where_the_property_holds():
    # The permit's witness may come from another environment (Staff); the
    # finding must show one where it allows what the property rules out.
    from cedarscope.analyzer.properties import describes
    from cedarscope.lang.authorizer import ALLOW, is_authorized
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema('entity Staff; entity Visitor; entity Doc { title: String };\n'
                          'action read appliesTo { principal: [Staff, Visitor], resource: Doc, '
                          'context: { pub: Bool } };', "s.cedarschema")
    ps = parse_policies('@id("read-rule") permit(principal, action == Action::"read", resource) '
                        'when { principal is Staff || context.pub };', "p.cedar")
    props = parse_policies('@id("guests-never-read-secret") @must("never") permit(principal is Visitor, '
                           'action == Action::"read", resource) when { resource.title == "secret" };',
                           "props.cedar")
    report = audit(schema, ps, Options(timeout_seconds=30.0), props)
    [f] = [f for f in report.findings if f.kind == "over-permissive"]
    assert f.environment is not None and f.environment.principal_type == "Visitor"
    cx = f.counterexample
    assert cx is not None
    prop = props.get("guests-never-read-secret")
    assert describes(prop, cx.request, cx.entities)
    assert is_authorized(cx.request, cx.entities, ps).decision == ALLOW


def test_the_example_is_a_request_the_permit_grants():
    """A forbid that often matches (here: every tool but one) must not make
    the example a denied request: an over-permissive finding shows access
    the permit grants (found by a new user on a public agent store)."""
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema('''
        entity User; entity Tool;
        action run appliesTo { principal: User, resource: Tool, context: { tool: String } };
    ''', "s.cedarschema")
    ps = parse_policies('''
        @id("anyone-runs")
        permit(principal, action == Action::"run", resource);
        @id("unknown-tools")
        forbid(principal, action == Action::"run", resource) unless { context.tool == "ls" };
    ''', "p.cedar")
    report = audit(schema, ps, Options())
    [finding] = [f for f in report.findings if f.kind == "over-permissive"]
    example = finding.counterexample
    assert example is not None
    assert example.decisions == {"policies": "allow"}
    assert str(example.request.context["tool"]) == "ls"
