"""Cedar's JSON policy format as input (lang/json_policies.py and
lang/policy_files.py): every construct reads back to the policy its text
parses to, errors name the file, line and JSON path, and a `.json` file
among the policy paths is read as a JSON policy set while folders still
contribute only `.cedar` files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.est import policy_to_est, policyset_to_est
from cedarscope.lang.json_policies import parse_policy_json
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.policy_files import load_policy_files

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

FORMS = """
@id("t") @note permit(principal == ?principal, action in [Action::"a", Action::"b"], resource is NS::T in ?resource)
when { true } unless { false };
forbid(principal is U, action == Action::"a", resource in R::"r")
when { principal.level * -3 > 2 && !(principal has x) || principal has "a b" };
permit(principal in ?principal, action in Action::"only", resource == ?resource);
permit(principal is U in G::"g", action in Action::"g", resource)
when { if principal is User in Group::"g" then {a: 1, "b c": [true, "s"]}.a == 1 else -(3) == -3 };
permit(principal, action, resource)
when { principal.x like "a\\*b*c\\\\" && [1].isEmpty() && [1].contains(1) && [1].containsAll([2])
       && [1].containsAny([3]) && principal.hasTag("t") && principal.getTag("t") == 1 }
when { ip("1.2.3.4").isInRange(ip("1.0.0.0/8")) && decimal("1.5").lessThan(decimal("2.0"))
       && datetime("2024-01-01").offset(duration("1h")) == datetime("2024-01-01") && context.n in [1, 2] };
permit(principal == User::"a\\"b", action == Action::"x", resource) when { resource.owner == User::"o" };
"""


def test_every_construct_reads_back_as_its_text():
    ps = parse_policies(FORMS)
    back = parse_policy_json(json.dumps(policyset_to_est(ps)))
    for template in (False, True):  # the JSON lists templates apart from static policies
        assert ([p for _, p in back.policies if p.is_template == template]
                == [p for _, p in ps.policies if p.is_template == template])


def test_has_path_is_read_as_cedar_desugars_it():
    ps = parse_policies('permit(principal, action, resource) when { principal has a.b };')
    (_, policy), = parse_policy_json(json.dumps(policyset_to_est(ps))).policies
    assert policy_to_est(policy) == policy_to_est(ps.policies[0][1])


def test_ids_links_and_spans_come_from_the_json():
    text = json.dumps({
        "staticPolicies": {"static-one": {"effect": "forbid", "principal": {"op": "All"},
                                          "action": {"op": "All"}, "resource": {"op": "All"}}},
        "templates": {"tpl": {"effect": "permit", "principal": {"op": "==", "slot": "?principal"},
                              "action": {"op": "All"}, "resource": {"op": "All"}}},
        "templateLinks": [{"templateId": "tpl", "newId": "for-alice",
                           "values": {"?principal": {"__entity": {"type": "User", "id": "alice"}}}}],
    }, indent=2)
    ps = parse_policy_json(text, "store.json")
    assert ps.ids == ("static-one", "tpl")
    assert [(link.template_id, link.link_id, link.values[0][1].id) for link in ps.links] == [
        ("tpl", "for-alice", "alice")]
    span = ps.get("static-one").span
    assert (span.file, span.line) == ("store.json", 3)


def test_one_policy_object_is_a_set_of_one():
    est = policy_to_est(parse_policies('permit(principal, action, resource);').policies[0][1])
    assert parse_policy_json(json.dumps(est)).ids == ("policy0",)


def _error(text: str) -> str:
    with pytest.raises(CedarError) as err:
        parse_policy_json(text, "p.json")
    return err.value.diagnostics[0].one_line()


ALL = '"principal": {"op": "All"}, "action": {"op": "All"}, "resource": {"op": "All"}'


def policy_p(head: str, rest: str = "") -> str:
    """A JSON policy set with one static policy `p`."""
    return '{"staticPolicies": {"p": {' + head + rest + '}}}'


@pytest.mark.parametrize("text, expected", [
    (policy_p('"effect": "allow", ' + ALL),
     'p.json:1:26: staticPolicies.p.effect: error: expected "permit" or "forbid"'),
    (policy_p('"effect": "permit", ' + ALL, ',\n "conditions": [{"kind": "when", "body": '
              '{"==": {"left": {"Var": "principal"}, "rigth": {"Value": 1}}}}]'),
     "p.json:2:49: staticPolicies.p.conditions[0].body.\"==\": error: missing 'right'"),
    (policy_p('"effect": "permit", ' + ALL, ', "conditions": [{"kind": "when", "body": {"Var": "subject"}}]'),
     "staticPolicies.p.conditions[0].body.Var: error: expected one of principal, action, resource, context"),
    (policy_p('"effect": "permit", ' + ALL, ', "conditions": [{"kind": "when", "body": '
              '{"Value": 9223372036854775808}}]'), "does not fit in a Long"),
    ('{"staticPolicies": {"p": {"effect": "permit", "principal": {"op": "==", "slot": "?principal"}, '
     '"action": {"op": "All"}, "resource": {"op": "All"}}}}',
     "staticPolicies.p: error: a static policy cannot have slots; put it under templates"),
    ('{"templates": {}, "templateLinks": [{"templateId": "t", "newId": "l", "values": {}}]}',
     "p.json:1:37: templateLinks[0].templateId: error: no template with id 't'"),
    ('{"staticPolicies": {"p": {"effect": "permit", "principal": {"op": "==", "entity": '
     '{"type": "User!", "id": "a"}}, "action": {"op": "All"}, "resource": {"op": "All"}}}}',
     "staticPolicies.p.principal.entity.type: error: not an entity type name: 'User!'"),
    ('[1]', "p.json: (top level): error: expected a Cedar JSON policy set"),
    ('{"staticPolicies": ', "p.json:1:20: error: invalid JSON"),
    ('{"staticPolicy": {}}', "p.json:1:1: (top level): error: unexpected key 'staticPolicy'"),
])
def test_errors_name_the_json_path(text, expected):
    assert expected in _error(text)


def test_json_files_among_the_paths_are_policy_sets_and_folders_only_give_cedar(tmp_path):
    (tmp_path / "a.cedar").write_text('permit(principal, action, resource);\n'
                                      '@id("named") forbid(principal, action, resource);')
    (tmp_path / "entities.json").write_text("[]")  # a folder's JSON is not read as policies
    store = tmp_path / "store" / "set.json"
    store.parent.mkdir()
    store.write_text(json.dumps(policyset_to_est(parse_policies(
        '@id("x") permit(principal == ?principal, action, resource);'))).replace('"x"', '"tpl"'))
    (tmp_path / "b.cedar").write_text('permit(principal, action == Action::"v", resource);')
    ps = load_policy_files([tmp_path / "a.cedar", store, tmp_path / "b.cedar"])
    assert ps.ids == ("policy0", "named", "tpl", "policy2")
    assert load_policy_files([tmp_path]).ids == ("policy0", "named", "policy2")


def test_a_duplicate_id_across_files_is_an_error(tmp_path):
    (tmp_path / "a.cedar").write_text('@id("p") permit(principal, action, resource);')
    (tmp_path / "b.json").write_text(json.dumps({"staticPolicies": {"p": {
        "effect": "permit", "principal": {"op": "All"}, "action": {"op": "All"}, "resource": {"op": "All"}}}}))
    with pytest.raises(CedarError, match="duplicate policy id `p`"):
        load_policy_files([tmp_path / "a.cedar", tmp_path / "b.json"])


def test_the_bundled_example_reads_the_same_from_json(tmp_path):
    ps = load_policy_files([EXAMPLES / "policies.cedar"])
    (tmp_path / "policies.json").write_text(json.dumps(policyset_to_est(ps), indent=2))
    back = load_policy_files([tmp_path / "policies.json"])
    assert back.ids == ps.ids and [p for _, p in back.policies] == [p for _, p in ps.policies]


def test_the_python_api_loads_json_policy_sets_and_links(tmp_path):
    import cedarscope

    text = '@id("t") permit(principal == ?principal, action, resource);\npermit(principal, action, resource);'
    (tmp_path / "set.json").write_text(json.dumps(policyset_to_est(parse_policies(text))))
    (tmp_path / "links.json").write_text(json.dumps(
        [{"template_id": "t", "link_id": "for-alice", "args": {"?principal": 'User::"alice"'}}]))
    ps = cedarscope.load_policies(tmp_path / "set.json", links=tmp_path / "links.json")
    assert sorted(ps.ids) == ["policy1", "t"] and [link.link_id for link in ps.links] == ["for-alice"]
