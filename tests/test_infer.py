"""Schema inference (lang/infer.py): the inferred schema parses, the policies
validate under it, and each kind of evidence shapes it as documented."""

from __future__ import annotations

import json

import pytest

from cedarscope.lang.infer import infer_schema
from cedarscope.lang.links import with_links
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import (
    BoolType,
    EntityType,
    ExtensionType,
    LongType,
    SetType,
    StringType,
    parse_schema,
)
from cedarscope.lang.validator import validate
from cedarscope.lang.values import EntityUID


def inferred(text: str, entities=None, requests=()):
    ps = parse_policies(text)
    result = infer_schema(ps, entities, requests)
    schema = parse_schema(result.text, "inferred.cedarschema")  # the printed text is the schema
    assert validate(ps, schema) == [], result.text
    return schema


def attr(schema, type_name: str, name: str):
    return schema.entity_types[type_name].shape.get(name)


def test_types_from_scopes_and_conditions():
    s = inferred('''
        permit(principal is User, action == Action::"view", resource is Doc)
        when { resource.owner == principal && principal.level > 3 && resource.title like "a*"
               && context.ip.isInRange(ip("10.0.0.0/8")) && resource.tags.contains("x") };''')
    view = s.actions[EntityUID("Action", "view")]
    assert (view.principal_types, view.resource_types) == (("User",), ("Doc",))
    assert attr(s, "Doc", "owner").type == EntityType("User")
    assert attr(s, "User", "level").type == LongType()
    assert attr(s, "Doc", "title").type == StringType()
    assert attr(s, "Doc", "tags").type == SetType(StringType())
    assert view.context.get("ip").type == ExtensionType("ipaddr")


def test_guarded_reads_are_optional_and_unguarded_ones_required():
    s = inferred('''
        permit(principal is User, action == Action::"a", resource is Doc)
        when { resource has note && resource.note == "x" && resource.public };''')
    assert not attr(s, "Doc", "note").required
    assert attr(s, "Doc", "public").required and attr(s, "Doc", "public").type == BoolType()


def test_hierarchy_from_in():
    s = inferred('''
        permit(principal in Team::"eng", action == Action::"a", resource in Folder::"f")
        when { principal is User };''')
    assert "Team" in s.entity_types["User"].member_of


def test_an_in_scope_alone_lets_its_group_type_hold_members():
    """`principal in Role::"c"` with nothing else: the only principal type
    is Role, and it must be able to be in a Role, or `in` would hold only of
    Role::"c" itself (as `==` does) and the permit would look narrower than
    it is."""
    s = inferred('permit(principal in Role::"c", action == Action::"a", resource in Folder::"f");')
    assert "Role" in s.entity_types["Role"].member_of
    assert "Folder" in s.entity_types["Folder"].member_of


def test_in_and_equality_scopes_differ_under_the_schema_inferred_from_both():
    """In a permit and in a forbid."""
    from cedarscope.analyzer.checks import relation
    from cedarscope.analyzer.solving import Options
    from cedarscope.analyzer.workflow import infer
    from cedarscope.reports.findings import Verdict

    for effect in ("permit", "forbid"):
        allow = "" if effect == "permit" else 'permit(principal, action == Action::"a", resource);\n'
        within = parse_policies(f'{allow}{effect}(principal in Role::"c", action == Action::"a", resource);')
        equal = parse_policies(f'{allow}{effect}(principal == Role::"c", action == Action::"a", resource);')
        schema = infer([equal, within]).schema
        report = relation("equivalent", schema, within, equal, Options(jobs=1))
        assert report.result is Verdict.VIOLATED, effect  # they decide a member of Role::"c" differently


def test_a_broad_forbid_does_not_widen_named_actions():
    s = inferred('''
        permit(principal is User, action == Action::"view", resource is Doc);
        permit(principal is User, action == Action::"edit", resource);
        forbid(principal, action, resource is Folder);''')
    assert s.actions[EntityUID("Action", "view")].resource_types == ("Doc",)
    # edit's permit admits any resource: every resource type seen, and the forbid's environment
    assert s.actions[EntityUID("Action", "edit")].resource_types == ("Doc", "Folder")


def test_an_open_scope_is_not_narrowed_by_is_tests_in_conditions():
    # `principal is Professor` in a condition does not limit who reaches the
    # policy: a Student with isPublic reads, so ReadArticle applies to both.
    s = inferred('''
        permit(principal == Student::"s", action == Action::"Subscribe", resource == Course::"c");
        permit(principal, action == Action::"ReadArticle", resource)
        when { if context has isPublic then context.isPublic else principal is Professor };''')
    read = s.actions[EntityUID("Action", "ReadArticle")]
    assert read.principal_types == ("Professor", "Student")


def test_a_forbid_neither_narrows_an_open_permit_nor_relates_its_types():
    # The forbid's types are not the whole range of the permit's open scope,
    # and the permit's `principal in resource` does not make Admin in Student.
    s = inferred('''
        permit(principal, action == P::Action::"view", resource)
        when { principal has isTeacher && principal.isTeacher && principal in resource };
        forbid(principal is P::Admin, action, resource is P::Student);''')
    view = s.actions[EntityUID("P::Action", "view")]
    assert view.principal_types == ("Entity", "P::Admin")
    assert view.resource_types == ("Entity", "P::Student")
    assert s.entity_types["P::Admin"].member_of == ()


def test_entity_data_gives_types_optionality_and_parents():
    entities = [
        {"uid": {"type": "User", "id": "a"}, "attrs": {"age": 3, "nick": "x", "boss": {"__entity": {
            "type": "User", "id": "b"}}}, "parents": [{"type": "Team", "id": "t"}]},
        {"uid": {"type": "User", "id": "b"}, "attrs": {"age": 4}, "parents": []},
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {"when": {"__extn": {"fn": "datetime", "arg": "2024-01-01"}}},
         "parents": []},
    ]
    s = inferred('permit(principal in Team::"t", action == Action::"view", resource);', entities)
    assert attr(s, "User", "age").required and attr(s, "User", "age").type == LongType()
    assert not attr(s, "User", "nick").required
    assert attr(s, "User", "boss").type == EntityType("User")
    assert attr(s, "Doc", "when").type == ExtensionType("datetime")
    assert s.entity_types["User"].member_of == ("Team",)


def test_is_false_in_an_environment_skips_what_it_guards():
    # In the Robot environment, `principal is User` is false: like Cedar's
    # typechecker, inference does not type what it guards there.
    s = inferred('''
        permit(principal is User, action == Action::"a", resource is Doc);
        permit(principal is Robot, action == Action::"a", resource is Doc);
        permit(principal, action == Action::"a", resource is Doc) when { principal is User && principal.age > 3 };''')
    assert attr(s, "User", "age") is not None and attr(s, "Robot", "age") is None


def test_requests_give_context_and_environments():
    requests = [{"principal": 'User::"a"', "action": 'Action::"view"', "resource": 'Doc::"d"',
                 "context": {"mfa": True, "when": {"fn": "duration", "arg": "1h"}}}]
    s = inferred('permit(principal, action == Action::"view", resource) when { context.mfa };', None, requests)
    view = s.actions[EntityUID("Action", "view")]
    assert (view.principal_types, view.resource_types) == (("User",), ("Doc",))
    assert view.context.get("when").type == ExtensionType("duration")


def test_comparisons_take_the_extension_type_they_are_shown():
    s = inferred('''
        permit(principal is U, action == Action::"a", resource is R)
        when { context.now < resource.due && context.now > datetime("2024-01-01") };''')
    assert attr(s, "R", "due").type == ExtensionType("datetime")


def test_templates_links_and_namespaces():
    ps = parse_policies('''
        @id("t") permit(principal == ?principal, action == NS::Action::"read", resource in ?resource);
        permit(principal is NS::User, action == NS::Action::"read", resource is NS::Doc);''')
    ps = with_links(ps, [{"template_id": "t", "link_id": "l",
                          "args": {"?principal": 'NS::User::"a"', "?resource": 'NS::Folder::"f"'}}])
    result = infer_schema(ps)
    schema = parse_schema(result.text)
    assert validate(ps, schema) == []
    assert "namespace NS {" in result.text
    assert "NS::Folder" in schema.entity_types["NS::Doc"].member_of


def test_entity_data_rules_out_types_the_policies_cannot_mean():
    entities = [{"uid": {"type": "Repo", "id": "r"}, "attrs": {"readers": {"__entity": {
        "type": "Group", "id": "g"}}}, "parents": []}]
    s = inferred('''
        permit(principal, action == Action::"pull", resource is Repo) when { principal in resource.readers };
        permit(principal, action == Action::"close", resource) when { principal == resource.reporter };''',
                 entities)
    close = s.actions[EntityUID("Action", "close")]
    assert close.resource_types == ("Resource",)  # Repo has no `reporter`, so another type is meant


@pytest.mark.parametrize("text", [
    'permit(principal, action, resource);',
    'forbid(principal, action, resource) when { context.x.y == 1 || context has z };',
    'permit(principal, action in [Action::"a", Action::"b"], resource) when { [1, 2].containsAll(context.s) };',
    'permit(principal, action, resource) when { principal.t.hasTag("k") && principal.t.getTag("k") == 1 };',
])
def test_corner_cases_validate(text):
    inferred(text)


def test_the_text_round_trips(tmp_path):
    result = infer_schema(parse_policies(
        'permit(principal is User, action == Action::"a b", resource is Doc) when { resource["x y"] == 1 };'))
    again = parse_schema(result.text)
    from cedarscope.lang.schema_text import schema_to_text

    assert schema_to_text(again) == result.text
    json.loads(__import__("cedarscope.lang.infer", fromlist=["inferred_json"]).inferred_json(again))


@pytest.mark.parametrize("entities, requests", [
    ([{"uid": {"type": "User", "id": "a"}, "parents": 5}], []),
    ([{"uid": {"type": "User", "id": "a"}, "attrs": {"ip": {"fn": ["ip"], "arg": "1.2.3.4"}}}], []),
    ([], [[{"uid": {"type": "User", "id": "a"}}]]),  # a folder's entities file read as a request
    ([], ["User::\"a\"", 3, None]),
])
def test_malformed_evidence_is_no_evidence(entities, requests):
    """Data that is not Cedar's entities or request JSON shapes nothing (it
    was an internal error, found by the fuzzer)."""
    s = inferred('permit(principal is User, action == Action::"view", resource is Doc);', entities, requests)
    assert s.entity_types["User"].member_of == ()
    assert attr(s, "User", "ip") is None or not isinstance(attr(s, "User", "ip").type, ExtensionType)


def test_schema_infer_reads_a_folder_that_holds_other_json(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cedarscope.analyzer.cli import cli

    (tmp_path / "p.cedar").write_text('permit(principal, action == Action::"view", resource) when { context.mfa };')
    (tmp_path / "request.json").write_text(json.dumps({"principal": 'User::"a"', "action": 'Action::"view"',
                                                       "resource": 'Doc::"d"', "context": {"mfa": True}}))
    (tmp_path / "entities.json").write_text('[{"uid": {"type": "User", "id": "a"}, "attrs": {}, "parents": []}]')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["schema", "infer", "p.cedar", "--requests", "."])
    assert result.exit_code == 0, result.output
    assert "entity User" in result.stdout and "entity Doc" in result.stdout


@pytest.mark.parametrize("entities, requests", [
    ([{"uid": {"type": "2024-01-01", "id": "a"}, "attrs": {}, "parents": []}], []),
    ([{"uid": {"type": 'User::"alice"', "id": "a"}, "attrs": {}, "parents": []}], []),
    ([{"uid": {"type": "User", "id": "a"}, "attrs": {"boss": {"__entity": {"type": "é", "id": "b"}}}}], []),
    ([], [{"principal": 'User::"a"', "action": {"type": "User", "id": "view"}, "resource": 'Doc::"d"',
           "context": {"mfa": True}}]),
])
def test_data_naming_no_cedar_type_or_action_is_no_evidence(entities, requests):
    """The printed schema parses (`inferred` parses it): a type name that is
    not Cedar's, or a request whose action is not an action, once made a
    schema that did not (found while fuzzing `schema infer`)."""
    s = inferred('permit(principal is User, action == Action::"view", resource is Doc);', entities, requests)
    assert set(s.entity_types) == {"User", "Doc"} and set(s.actions) == {EntityUID("Action", "view")}
