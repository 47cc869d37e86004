"""Templates analysed for every possible link (analyzer.templates).

The issue's bar: on stores with templates and no links, `ask` and @must
properties find the access templates make, each example replayed with its
link in cedarpy; audit finds a planted dead template and a planted shadowed
template."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli

SCHEMA = """
entity Org;
entity Team in [Org];
entity User in [Team, Org] { level: Long };
entity Doc in [Team] { owner: User, secret: Bool };
action view, edit, delete appliesTo { principal: User, resource: Doc };
"""

# No static policy lets anyone delete: only links of `delegate-delete` can.
POLICIES = """
@id("view-all")
permit(principal, action == Action::"view", resource);

@id("delegate-delete")
permit(principal in ?principal, action == Action::"delete", resource in ?resource)
when { principal.level > 2 };

@id("no-secret-deletes")
forbid(principal, action == Action::"delete", resource) when { resource.secret };
"""

NEVER_DELETE = """
@must("never")
permit(principal, action == Action::"delete", resource);
"""

cedarpy = pytest.importorskip("cedarpy")


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "schema.cedarschema").write_text(SCHEMA)
    (tmp_path / "policies.cedar").write_text(POLICIES)
    (tmp_path / "never-delete.cedar").write_text(NEVER_DELETE)
    return tmp_path


def run_json(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args] + ["--format", "json"])
    return result.exit_code, json.loads(result.output)


def cedarpy_replay(policies_text: str, schema_text: str, cx: dict) -> str:
    """The official engine's decision on the example, with its template links."""
    ps = cedarpy.PolicySet.from_str(policies_text)
    ps = ps.with_linked_batch([{"template_id": link["template_id"], "new_id": link["link_id"],
                                "values": link["args"]} for link in cx["links"]])
    from cedarscope.lang.schema import parse_schema, schema_to_json

    request = dict(cx["request"], context=json.dumps(cx["request"]["context"]))
    result = cedarpy.is_authorized(request, ps, cx["entities"], json.dumps(schema_to_json(parse_schema(schema_text))))
    return result.decision.value.lower() if hasattr(result.decision, "value") else str(result.decision).lower()


def test_ask_finds_the_access_a_template_could_grant(paths):
    code, report = run_json("ask", paths / "policies.cedar", "-s", paths / "schema.cedarschema",
                            "-q", 'permit(principal, action == Action::"delete", resource);', "--enumerate", "3")
    assert code == 1 and report["result"] == "violated" and report["findings"]
    assert any("for every possible link" in a for a in report["assumptions"])
    for finding in report["findings"]:
        cx = finding["counterexample"]
        [link] = cx["links"]
        assert link["template_id"] == "delegate-delete" and set(link["args"]) == {"?principal", "?resource"}
        assert finding["policies"] == [link["link_id"]]
        assert cedarpy_replay(POLICIES, SCHEMA, cx) == "allow"


def test_a_never_property_is_violated_only_through_a_link(paths):
    code, report = run_json("check", paths / "policies.cedar", "-s", paths / "schema.cedarschema",
                            "--properties", paths / "never-delete.cedar", "--confirm")
    assert code == 1 and report["findings"][0]["kind"] == "property-violated"
    cx = report["findings"][0]["counterexample"]
    assert cx["links"] and cedarpy_replay(POLICIES, SCHEMA, cx) == "allow"
    assert "1 decision confirmed by cedarpy" in report["stats"]["confirmed"]
    # With links given, those links are analysed, as they are.
    (paths / "links.json").write_text(json.dumps([{"template_id": "delegate-delete", "link_id": "ops",
                                                   "args": {"?principal": 'Team::"ops"',
                                                            "?resource": 'Team::"ops"'}}]))
    code, report = run_json("check", paths / "policies.cedar", "-s", paths / "schema.cedarschema",
                            "--properties", paths / "never-delete.cedar", "--links", paths / "links.json")
    assert code == 1 and report["findings"][0]["policies"] == ["ops"]
    assert "links" not in report["findings"][0]["counterexample"]
    assert not any("every possible link" in a for a in report["assumptions"])


def test_no_link_can_make_a_template_grant_what_its_condition_rules_out(paths):
    (paths / "low.cedar").write_text('@must("never")\npermit(principal, action == Action::"delete", resource) '
                                     "when { principal.level <= 2 };")
    code, report = run_json("check", paths / "policies.cedar", "-s", paths / "schema.cedarschema",
                            "--properties", paths / "low.cedar")
    assert (code, report["result"]) == (0, "holds")


FIXTURE = __import__("pathlib").Path(__file__).resolve().parent / "fixtures" / "templates"


def test_audit_finds_the_planted_dead_and_shadowed_templates():
    code, report = run_json("audit", FIXTURE / "planted.cedar", "-s", FIXTURE / "schema.cedarschema")
    assert code == 1
    by_policy = {}
    for f in report["findings"]:
        by_policy.setdefault(f["policies"][0], set()).add(f["kind"])
    assert "dead" in by_policy["never-linked-usefully"]
    assert "shadowed" in by_policy["share-view"]
    shadow = next(f for f in report["findings"] if f["kind"] == "shadowed" and f["policies"] == ["share-view"])
    assert shadow["related"] == ["view-all"] and "every link of template share-view" in shadow["message"]
    # the live template is neither dead nor shadowed
    assert not {"dead", "shadowed"} & by_policy.get("delegate-delete", set())
    assert any("for every possible link" in a and "share-view" in a for a in report["assumptions"])


def test_audit_says_which_templates_the_links_leave_out(tmp_path):
    (tmp_path / "links.json").write_text(json.dumps([{"template_id": "share-view", "link_id": "l1",
                                                      "args": {"?principal": 'User::"a"', "?resource": 'Team::"t"'}}]))
    code, report = run_json("audit", FIXTURE / "planted.cedar", "-s", FIXTURE / "schema.cedarschema",
                            "--links", tmp_path / "links.json")
    assert any("not analysed: delegate-delete, never-linked-usefully" in a for a in report["assumptions"])
    assert {f["policies"][0] for f in report["findings"] if f["kind"] == "shadowed"} == {"l1"}


def test_check_never_errors_covers_every_link(paths):
    # delegate-delete reads principal.level: a link matching a principal missing from the store
    # errors; no static policy can error (the forbid that could is left out)
    (paths / "only-template.cedar").write_text(POLICIES.split('@id("no-secret-deletes")')[0])
    code, report = run_json("check", paths / "only-template.cedar", "-s", paths / "schema.cedarschema",
                            "-P", "never-errors", "--confirm")
    assert code == 1
    via_link = [f for f in report["findings"] if f["counterexample"].get("links")]
    assert via_link and via_link[0]["policies"] == [via_link[0]["counterexample"]["links"][0]["link_id"]]
    assert via_link[0]["locations"][0]["line"] == 5  # the template's text
    assert "confirm_disagreements" not in report["stats"]
