"""analyzer.slicing.may_match: which request environments a policy's scope
can match.  The slice must never drop an environment where some request
satisfies the scope (soundness), and should drop the ones where none can."""

from __future__ import annotations

import pytest

from cedarscope.analyzer.slicing import may_match
from cedarscope.lang.authorizer import ALLOW, is_authorized
from cedarscope.lang.entities import Entities
from cedarscope.lang.entity import Entity
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, parse_schema
from cedarscope.lang.values import EntityUID

SCHEMA = parse_schema("""
entity Org;
entity Team in [Org];
entity User in [Team];
entity Doc, Photo;
action read;
action write in [read];
action view appliesTo { principal: [User, Team], resource: [Doc, Photo] };
action edit in [write] appliesTo { principal: [User], resource: [Doc] };
action share appliesTo { principal: [User], resource: [Photo] };
""")


def env(principal: str, action: str, resource: str) -> RequestEnv:
    return RequestEnv(principal, EntityUID("Action", action), resource)


def matching(policy_text: str) -> set[tuple[str, str, str]]:
    policy = parse_policy(policy_text)
    return {(e.principal_type, e.action.id, e.resource_type)
            for e in SCHEMA.environments() if may_match(policy, e, SCHEMA)}


ALL = {(e.principal_type, e.action.id, e.resource_type) for e in SCHEMA.environments()}


def test_an_unconstrained_scope_matches_every_environment():
    assert matching("permit(principal, action, resource);") == ALL


def test_conditions_are_ignored_the_slice_is_the_scope_only():
    assert matching("permit(principal, action, resource) when { false };") == ALL


@pytest.mark.parametrize("scope, expected", [
    ('principal == User::"a"', {e for e in ALL if e[0] == "User"}),
    ("principal is Team", {e for e in ALL if e[0] == "Team"}),
    # a User may be in a Team (memberOf) and a Team in itself (`in` is reflexive)
    ('principal in Team::"t"', ALL),
    ('principal in Org::"o"', ALL),
    ('principal in User::"u"', {e for e in ALL if e[0] == "User"}),
    ('principal is User in Org::"o"', {e for e in ALL if e[0] == "User"}),
    ('principal is Team in User::"u"', set()),
])
def test_principal_scopes(scope, expected):
    assert matching(f"permit({scope}, action, resource);") == expected


@pytest.mark.parametrize("scope, expected_actions", [
    ('action == Action::"view"', {"view"}),
    ('action in Action::"write"', {"edit"}),          # edit is in write
    ('action in Action::"read"', {"edit"}),           # transitively: edit in write in read
    ('action in [Action::"view", Action::"share"]', {"view", "share"}),
    ('action == Action::"read"', set()),              # a group no request uses
])
def test_action_scopes_follow_the_action_groups(scope, expected_actions):
    assert {a for _, a, _ in matching(f"permit(principal, {scope}, resource);")} == expected_actions


def test_resource_scope_of_another_type_matches_nowhere_in_that_environment():
    assert matching('permit(principal, action, resource == Photo::"p");') == {e for e in ALL if e[2] == "Photo"}


def test_a_dropped_environment_has_no_request_the_policy_allows():
    """Soundness on concrete requests: wherever the slice says no, the
    authorizer denies every request of that environment we can build."""
    policies = [
        'permit(principal in Team::"t", action in Action::"write", resource);',
        'permit(principal is User, action == Action::"share", resource is Photo);',
        'permit(principal == Team::"t", action, resource == Doc::"d");',
    ]
    store = Entities([Entity(EntityUID("User", "u"), parents=frozenset({EntityUID("Team", "t")})),
                      Entity(EntityUID("Team", "t"), parents=frozenset({EntityUID("Org", "o")}))])
    ids = {"User": "u", "Team": "t", "Doc": "d", "Photo": "p"}
    allowed_somewhere = 0
    for text in policies:
        ps = parse_policies(text)
        policy = ps.policies[0][1]
        for e in SCHEMA.environments():
            request = Request(EntityUID(e.principal_type, ids[e.principal_type]), e.action,
                              EntityUID(e.resource_type, ids[e.resource_type]))
            allowed = is_authorized(request, store.with_entities(SCHEMA.action_entities()), ps).decision == ALLOW
            if allowed:
                allowed_somewhere += 1
                assert may_match(policy, e, SCHEMA), (text, e)
    assert allowed_somewhere >= 3  # each policy allows some request built here


def test_a_template_slot_matches_any_environment_its_variable_allows():
    assert matching("permit(principal in ?principal, action, resource);") == ALL
    assert matching("permit(principal == ?principal, action, resource is Doc);") == {e for e in ALL if e[2] == "Doc"}
