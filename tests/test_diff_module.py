"""analyzer.diff.diff directly: per environment, the requests a change
gains and loses, each example replayed, and environments whose slices are
the same settled without the solver."""

from __future__ import annotations

import pytest

from cedarscope.analyzer.diff import diff
from cedarscope.analyzer.solving import Options
from cedarscope.encoder.assumptions import REQUEST_ENTITIES_EXIST
from cedarscope.lang.authorizer import ALLOW, DENY, is_authorized
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema
from cedarscope.reports.findings import Verdict

SCHEMA = parse_schema("""
entity User { level: Long };
entity Doc { public: Bool };
action view, edit appliesTo { principal: [User], resource: [Doc], context: {} };
""")

OLD = parse_policies("""
permit(principal, action == Action::"view", resource) when { resource.public };
permit(principal, action == Action::"edit", resource) when { principal.level > 5 };
""")


def opts(**kw) -> Options:
    return Options(timeout_seconds=20.0, **kw)


def by_action(result):
    return {d.env.action.id: d for d in result.envs}


def test_the_same_policies_are_equivalent_without_a_solver_call():
    result = diff(SCHEMA, OLD, parse_policies(
        'permit(principal, action == Action::"view", resource) when { resource.public };\n'
        'permit(principal, action == Action::"edit", resource) when { principal.level > 5 };'), opts())
    assert result.verdict == Verdict.HOLDS
    assert all(a.verdict == Verdict.HOLDS and a.queries == 0 for a in result.answers)


def test_a_widened_condition_gains_requests_in_its_environment_only():
    new = parse_policies("""
permit(principal, action == Action::"view", resource) when { resource.public };
permit(principal, action == Action::"edit", resource) when { principal.level > 3 };
""")
    result = diff(SCHEMA, OLD, new, opts())
    assert result.verdict == Verdict.VIOLATED
    envs = by_action(result)
    assert envs["view"].gained.verdict == envs["view"].lost.verdict == Verdict.HOLDS
    assert envs["view"].gained.queries == 0  # same slice in `view`: settled without the solver
    assert envs["edit"].gained.verdict == Verdict.VIOLATED
    assert envs["edit"].lost.verdict == Verdict.HOLDS
    for example in envs["edit"].gained.examples:
        # replayed: the new version allows it, the old one denies it
        assert is_authorized(example.request, example.entities, new).decision == ALLOW
        assert is_authorized(example.request, example.entities, OLD).decision == DENY
        level = example.entities.get(example.request.principal).attrs["level"]
        assert 3 < level <= 5


def test_removing_a_policy_loses_what_only_it_allowed():
    new = parse_policies('permit(principal, action == Action::"view", resource) when { resource.public };')
    result = diff(SCHEMA, OLD, new, opts())
    edit = by_action(result)["edit"]
    assert (edit.gained.verdict, edit.lost.verdict) == (Verdict.HOLDS, Verdict.VIOLATED)
    (example,) = edit.lost.examples
    assert is_authorized(example.request, example.entities, OLD).decision == ALLOW
    assert is_authorized(example.request, example.entities, new).decision == DENY


def test_max_examples_draws_requests_that_differ_in_what_the_policies_read():
    """Each further example changes the outcome of some condition the
    policies test; another level that passes the same test is no new example."""
    new = parse_policies("""
permit(principal, action == Action::"view", resource) when { resource.public || principal.level > 0 };
permit(principal, action == Action::"view", resource) when { principal.level > 7 };
permit(principal, action == Action::"edit", resource) when { principal.level > 5 };
""")
    result = diff(SCHEMA, OLD, new, opts(max_examples=3))
    examples = by_action(result)["view"].gained.examples
    levels = [e.entities.get(e.request.principal).attrs["level"] for e in examples]
    assert len(examples) in (2, 3) and min(levels) > 0
    assert {level > 7 for level in levels} == {True, False}  # the other side of `level > 7`
    for e in examples:  # a resource that is not public, or not in the store at all
        resource = e.entities.get(e.request.resource)
        assert resource is None or not resource.attrs["public"]


def test_examples_differ_only_in_what_the_policies_read():
    """Here the policies read nothing but `resource.public`, which must be
    false for every gained request when the resource is in the store: one
    example is all there is.  A resource missing from the store (then
    `resource.public` errors and the old permit does not apply) is the one
    other case the policies can tell apart."""
    new = parse_policies("""
permit(principal, action == Action::"view", resource);
permit(principal, action == Action::"edit", resource) when { principal.level > 5 };
""")
    present = opts(max_examples=3, assumptions=frozenset({REQUEST_ENTITIES_EXIST}))
    assert len(by_action(diff(SCHEMA, OLD, new, present))["view"].gained.examples) == 1
    examples = by_action(diff(SCHEMA, OLD, new, opts(max_examples=3)))["view"].gained.examples
    assert len(examples) == 2
    assert sorted(e.request.resource in e.entities for e in examples) == [False, True]


@pytest.mark.parametrize("narrowing, actions", [
    ({"action": "edit"}, {"edit"}),
    ({"action": 'Action::"view"'}, {"view"}),
    ({"principal_type": "User"}, {"view", "edit"}),
])
def test_options_narrow_the_environments(narrowing, actions):
    result = diff(SCHEMA, OLD, parse_policies(""), opts(**narrowing))
    assert {d.env.action.id for d in result.envs} == actions
