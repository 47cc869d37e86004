"""Strict validation (lang.validator), rule by rule, against the official
engine: every case is validated by us and by `cedarpy.validate_policies` on
the same policy and schema text, and both must report the same kinds of
error (and the kinds this test expects, so neither side can drift).
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings

cedarpy = pytest.importorskip("cedarpy")

from cedarscope.lang import ast as A  # noqa: E402
from cedarscope.lang.parser import parse_expr, parse_policies  # noqa: E402
from cedarscope.lang.schema import (  # noqa: E402
    BoolType,
    EntityType,
    LongType,
    RecordType,
    RequestEnv,
    SetType,
    StringType,
    parse_schema,
)
from cedarscope.lang.validator import type_of, validate  # noqa: E402
from cedarscope.lang.values import EntityUID  # noqa: E402
from tests.generators import RandomChooser, gen_entities, gen_policyset, gen_schema, schemas  # noqa: E402

SCHEMA = """
entity Group { name: String };
entity User in [Group] {
  name: String,
  age?: Long,
  manager?: User,
  friends: Set<User>,
  nicknames: Set<String>,
  info: { level: Long, note?: String },
} tags String;
entity Photo in [Group] { owner: User, size: Long, addr: ipaddr, taken?: datetime, price: decimal };
entity Color enum ["red", "green"];
action view appliesTo {
  principal: [User], resource: [Photo],
  context: { n: Long, budget?: decimal, ttl: duration }
};
action edit in [view] appliesTo { principal: [User], resource: [Photo, Group] };
action admin;
"""

# Error kinds, recognised by the wording both Cedar and we use.
KINDS = [
    ("unrecognized entity type", "unknown-type"),
    ("unrecognized action", "unknown-action"),
    ("applicable action", "no-applicable-action"),
    ("unexpected type", "unexpected-type"),
    ("are not compatible", "incompatible-types"),
    ("not found", "no-attribute"),
    ("optional attribute", "unsafe-optional-attribute"),
    ("safety of access to tag", "unsafe-tag"),
    ("no `tags`", "no-tags"),
    ("empty set", "empty-set"),
    ("non-literal", "non-literal-constructor"),
    ("argument validation", "bad-extension-argument"),
    ("wrong number", "arity"),
    ("undefined extension", "unknown-function"),
    ("enumerated", "bad-enum-id"),
]


def kinds(messages) -> set[str]:
    found = set()
    for m in messages:
        found.add(next((k for pat, k in KINDS if pat in m), "other: " + m))
    return found


def ours(policies: str, schema: str = SCHEMA):
    return validate(parse_policies(policies, "test.cedar"), parse_schema(schema, "test.cedarschema"))


def cedars(policies: str, schema: str = SCHEMA) -> set[str]:
    return kinds(e.error for e in cedarpy.validate_policies(policies, schema).errors)


def check(policies: str, expected: set[str], schema: str = SCHEMA):
    diags = ours(policies, schema)
    assert kinds(d.message for d in diags) == expected, [d.one_line() for d in diags]
    assert cedars(policies, schema) == expected
    return diags


def when(body: str, scope: str = 'principal, action == Action::"view", resource') -> str:
    return f"permit({scope}) when {{ {body} }};"


CASES = {
    # well-typed policies
    "plain": (when("principal.name == resource.owner.name && context.n > 3"), set()),
    "guarded optional": (when("principal has age && principal.age > 18"), set()),
    "guard through if": (when("if principal has age then principal.age > 1 else false"), set()),
    "guard through || false": (when("(principal has age || false) && principal.age > 1"), set()),
    "extended has": (when('principal has info.note && principal.info.note == "x"'), set()),
    "record has decided": (when("{a: 1} has b"), set()),
    "hierarchy": ('permit(principal in Group::"g", action == Action::"edit", resource in Group::"x");', set()),
    "tags guarded": (when('principal.hasTag("k") && principal.getTag("k") like "a*"'), set()),
    "tags on tagless type": (when('resource.hasTag("k") && resource.getTag("k") == "x"'), set()),
    "extension methods": (
        when('resource.addr.isInRange(ip("10.0.0.0/8")) && resource.price.lessThan(decimal("1.5"))'), set()),
    "datetime comparison": (when('resource has taken && resource.taken < datetime("2024-01-01")'), set()),
    "duration comparison": (when('context.ttl <= duration("1h")'), set()),
    "literal equality": (when('1 == "a"'), set()),
    "disjoint entities": (when("principal == resource"), set()),
    "entity sets": (when("principal.friends.contains(principal) && [principal] == principal.friends"), set()),
    "is": (when("principal is User && !(resource is User)"), set()),
    "action in group": (when('action in Action::"view"', 'principal, action, resource'), set()),
    "enum id": (when('Color::"red" != Color::"green"'), set()),
    "impossible is only a warning": (when("false"), set()),
    "template": ('permit(principal == ?principal, action == Action::"view", resource in ?resource) '
                 "when { principal has age };", set()),
    # optional attributes and capabilities
    "unguarded optional": (when("principal.age > 18"), {"unsafe-optional-attribute"}),
    "guard on other side of ||": (when("principal has age || principal.age > 1"), {"unsafe-optional-attribute"}),
    "optional context": (when('context.budget.lessThan(decimal("1.0"))'), {"unsafe-optional-attribute"}),
    "nested optional": (when('principal.info.note == "x"'), {"unsafe-optional-attribute"}),
    "missing attribute": (when("principal.foo"), {"no-attribute"}),
    "missing context attribute": (when("context.x == 1", "principal, action, resource"), {"no-attribute"}),
    # operators
    "== incompatible": (when('context.n == "a"'), {"incompatible-types"}),
    "== record width": (when("principal.info == {level: 1}"), {"incompatible-types"}),
    "== record optionality": (when('principal.info == {level: 1, note: "x"}'), {"incompatible-types"}),
    "heterogeneous set": (when('[1, "a"].contains(1)'), {"incompatible-types"}),
    "heterogeneous entity set": (when('[principal, resource].contains(principal)'), {"incompatible-types"}),
    "contains element type": (when("principal.nicknames.contains(1)"), {"incompatible-types"}),
    "containsAll element types": (when("principal.nicknames.containsAll([1])"), {"incompatible-types"}),
    "empty set": (when("principal.nicknames.containsAny([])"), {"empty-set"}),
    "empty action set": ('permit(principal, action in [], resource);', {"empty-set", "no-applicable-action"}),
    "arithmetic on string": (when('principal.name + 1 > 0'), {"unexpected-type"}),
    "decimal has no <": (when('decimal("1.0") < decimal("2.0")'), {"unexpected-type"}),
    "like on entity": (when('principal like "a*"'), {"unexpected-type"}),
    "in on long": (when("1 in principal"), {"unexpected-type"}),
    "in on string set": (when("principal in principal.nicknames"), {"unexpected-type"}),
    "has on set": (when("principal.nicknames has x"), {"unexpected-type"}),
    "is on long": (when("1 is User"), {"unexpected-type"}),
    "if branches": (when("(if context.n > 1 then 1 else \"a\") == 1"), {"incompatible-types"}),
    "if condition": (when("if 1 then true else false"), {"unexpected-type"}),
    "not on long": (when("!1"), {"unexpected-type"}),
    "isEmpty on string": (when('"".isEmpty()'), {"unexpected-type"}),
    # tags
    "unguarded tag": (when('principal.getTag("k") == "x"'), {"unsafe-tag"}),
    "tag on wrong type": (when('principal.hasTag(1)'), {"unexpected-type"}),
    # extension functions
    "bad ip literal": (when('ip("bad") == ip("1.2.3.4")'), {"bad-extension-argument"}),
    "bad decimal literal": (when('decimal("1.23456") == decimal("1.0")'), {"bad-extension-argument"}),
    "bad datetime literal": (when('datetime("2024-13-01") == datetime("2024-01-01")'), {"bad-extension-argument"}),
    "bad duration literal": (when('duration("1x") == duration("1h")'), {"bad-extension-argument"}),
    "non-literal constructor": (when('decimal(principal.name) == decimal("1.0")'), {"non-literal-constructor"}),
    "constructor of long": (when('decimal(1) == decimal("1.0")'), {"unexpected-type"}),
    "method receiver": (when('principal.name.isIpv4()'), {"unexpected-type"}),
    # names and scopes
    "unknown entity type": (when("principal is Foo"), {"unknown-type"}),
    "unknown literal type": (when('principal in Foo::"x"'), {"unknown-type"}),
    "unknown action": ('permit(principal, action == Action::"nope", resource);',
                       {"unknown-action", "no-applicable-action"}),
    "bad enum id": (when('Color::"blue" == Color::"red"'), {"bad-enum-id"}),
    "scope cannot apply": ('permit(principal == Photo::"x", action == Action::"view", resource);',
                           {"no-applicable-action"}),
    "action applies to nothing": ('permit(principal, action == Action::"admin", resource);',
                                  {"no-applicable-action"}),
    "is Action scope": ('permit(principal is Action, action, resource);', {"no-applicable-action"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_matches_cedar(name):
    text, expected = CASES[name]
    check(text, expected)


def test_diagnostics_are_located():
    text = 'permit(principal, action == Action::"view", resource)\nwhen {\n  principal.age > 18\n};'
    (d,) = check(text, {"unsafe-optional-attribute"})
    assert (d.file, d.line, d.column) == ("test.cedar", 3, 3)
    assert d.severity == "error"
    assert "policy0" in d.message and "`age` on entity type `User`" in d.message
    assert d.one_line().startswith("test.cedar:3:3: error: for policy `policy0`, unable to guarantee")


def test_diagnostics_show_the_source_line_when_given_sources():
    text = ('permit(principal == Photo::"x", action == Action::"view", resource);\n'
            'permit(\n  principal,\n  action == Action::"view",\n  resource\n) when { resource.nope };')
    diags = validate(parse_policies(text, "p.cedar"), parse_schema(SCHEMA), sources={"p.cedar": text})
    assert kinds(d.message for d in diags) == {"no-applicable-action", "no-attribute"}
    scope, nope = diags  # in policy order
    assert (scope.file, scope.line, scope.column) == ("p.cedar", 1, 1) and "policy0" in scope.message
    assert (nope.line, nope.column) == (6, 10) and "policy1" in nope.message
    assert nope.format().endswith("  ) when { resource.nope };\n           ^")


def test_errors_are_reported_once_per_place_and_deterministic():
    text = when("principal.age > 1", "principal, action, resource")  # two environments
    first = [d.one_line() for d in ours(text)]
    assert len(first) == 1
    assert first == [d.one_line() for d in ours(text)]


def test_policy_ids_in_messages():
    text = '@id("mine")\npermit(principal, action, resource) when { principal.nope };'
    (d,) = ours(text)
    assert "`mine`" in d.message


def test_impossible_policy_warning():
    ps = parse_policies(when("false") + "\n" + when("true"))
    schema = parse_schema(SCHEMA)
    assert validate(ps, schema) == []
    (w,) = validate(ps, schema, warnings=True)
    assert w.severity == "warning" and "policy0" in w.message and "impossible" in w.message


def test_condition_order_keeps_earlier_capabilities():
    # A failing middle condition must not hide the first condition's guard
    # from the last one (Cedar nests conditions to the right).
    text = ('permit(principal, action == Action::"view", resource) '
            'when { principal has age } when { principal.name + 1 > 0 } when { principal.age > 1 };')
    check(text, {"unexpected-type"})


def test_templates_typecheck_per_slot_type():
    # Each slot is checked with every entity type it could be linked to.
    check('permit(principal in ?principal, action == Action::"view", resource in ?resource);', set())
    check('permit(principal == ?principal, action, resource) when { principal.age > 1 };',
          {"unsafe-optional-attribute"})
    check('permit(principal is Photo in ?principal, action, resource);', {"no-applicable-action"})
    schema = parse_schema(SCHEMA)
    ps = parse_policies('permit(principal is User in ?principal, action == Action::"view", resource);')
    assert validate(ps, schema, warnings=True) == []


def test_links_are_checked():
    template = ('@id("t")\npermit(principal == ?principal, action == Action::"view", resource);')
    schema = parse_schema(SCHEMA)
    ps = parse_policies(template)
    good = A.PolicySet(ps.policies, (A.TemplateLink("t", "ok", (("?principal", EntityUID("User", "a")),)),))
    assert validate(good, schema) == []
    wrong = A.PolicySet(ps.policies, (A.TemplateLink("t", "l1", (("?principal", EntityUID("Photo", "a")),)),))
    (d,) = validate(wrong, schema)
    assert "l1" in d.message and "applicable action" in d.message
    assert d.message.endswith('the link fills template `t` with ?principal = Photo::"a"')  # what to look at
    unknown = A.PolicySet(ps.policies, (A.TemplateLink("t", "l2", (("?principal", EntityUID("Nope", "a")),)),))
    assert {"unknown-type", "no-applicable-action"} == kinds(d.message for d in validate(unknown, schema))


def test_type_of_infers_schema_types():
    schema = parse_schema(SCHEMA)
    env = RequestEnv("User", EntityUID("Action", "view"), "Photo")
    assert type_of(parse_expr("principal.manager"), schema, env) == EntityType("User")
    assert type_of(parse_expr("resource.owner.friends"), schema, env) == SetType(EntityType("User"))
    assert type_of(parse_expr("context.n + 1"), schema, env) == LongType()
    assert type_of(parse_expr("principal in resource"), schema, env) == BoolType()
    assert type_of(parse_expr('principal.getTag("x")'), schema, env) is None  # unguarded: an error
    assert type_of(parse_expr("principal.nope"), schema, env) is None
    info = type_of(parse_expr("principal.info"), schema, env)
    assert isinstance(info, RecordType) and info.get("note").required is False
    assert type_of(parse_expr('"a"'), schema, env) == StringType()


def _differential(seed: int) -> None:
    ch = RandomChooser(random.Random(seed))
    gs = gen_schema(ch)
    gp = gen_policyset(ch, gs, gen_entities(ch, gs))
    mine = kinds(d.message for d in validate(A.PolicySet(gp.model.policies), gs.model))
    theirs = kinds(e.error for e in cedarpy.validate_policies(gp.text, json.dumps(gs.json)).errors)
    assert mine == theirs, (seed, gp.text)


@pytest.mark.parametrize("seed", range(150))
def test_generated_policies_match_cedar(seed):
    _differential(seed)


@pytest.mark.slow
def test_generated_policies_match_cedar_long():
    for seed in range(1000, 6000):
        _differential(seed)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(schemas())
def test_generated_schemas_validate_like_cedar(gs):
    # Every action scope over a generated schema: the applicability check and
    # the typing of scope constraints agree with Cedar's.
    actions = sorted(gs.model.actions)
    for uid in actions[:4]:
        text = f"permit(principal, action == {uid}, resource);"
        mine = kinds(d.message for d in validate(parse_policies(text), gs.model))
        assert mine == kinds(e.error for e in cedarpy.validate_policies(text, json.dumps(gs.json)).errors)
