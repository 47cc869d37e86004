"""Analysis is sound for every request and entity store Cedar accepts under
the schema, including stores that lack entities the request, a policy, an
attribute or a tag names (issue 11).

The three false answers of the issue are asked again through the command
line, and every counterexample is decided by the official engine (cedarpy,
given the schema, so the example must also be a store and request Cedar
accepts).  The stronger assumptions are options whose reports say so; the
encoder's model of a missing entity is checked construct by construct.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.confirm import cedarpy_decision
from cedarscope.encoder import Encoding
from cedarscope.encoder.assumptions import ENTITIES_EXIST, REQUEST_ENTITIES_EXIST, STRONGER, describe
from cedarscope.lang.entities import Entities, Entity, parse_entities
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.request import parse_request
from cedarscope.lang.schema import RequestEnv, parse_schema
from cedarscope.lang.values import CedarRecord, EntityUID

pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")

SCHEMA = "entity User { name: String };\naction view appliesTo { principal: [User], resource: [User] };\n"
TAGGED = "entity User { name: String } tags User;\naction view appliesTo { principal: [User], resource: [User] };\n"
GROUPS = ("entity Group in [Group];\nentity User in [Group] { name: String };\n"
          "action view appliesTo { principal: [User], resource: [User] };\n")
GHOST = 'permit(principal, action, resource) when { User::"ghost" has name };'
ALL = "permit(principal, action, resource);"
UNLESS_GHOST = 'permit(principal, action, resource) unless { User::"ghost" has name };'
TAG_READ = 'permit(principal, action, resource) when { principal.hasTag("k") && principal.getTag("k") has name };'
TAG_ONLY = 'permit(principal, action, resource) when { principal.hasTag("k") };'
VIEW = RequestEnv("User", EntityUID("Action", "view"), "User")


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def run_json(*args) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, [str(a) for a in args] + ["--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def cedar_decides(schema_text: str, policies_text: str, cx: dict) -> str:
    """The official engine's decision on a JSON counterexample."""
    schema = parse_schema(schema_text)
    request = parse_request(cx["request"], "<cx>", schema)
    entities = parse_entities(cx["entities"], schema=schema)
    return cedarpy_decision(parse_policies(policies_text), request, entities, schema)


def only_counterexample(report: dict) -> dict:
    assert report["result"] == "violated", report
    [finding] = report["findings"]
    return finding["counterexample"]


# --------------------------------------------------------------------------
# The three examples


def test_a_literal_that_may_be_missing_is_not_equivalent_to_allow_all(files):
    schema, ghost, allow = files("s.cedarschema", SCHEMA), files("g.cedar", GHOST), files("a.cedar", ALL)
    code, report = run_json("equivalent", ghost, allow, "--schema", schema)
    assert code == 1
    cx = only_counterexample(report)
    assert cx["decisions"] == {"first": "deny", "second": "allow"}
    assert cedar_decides(SCHEMA, GHOST, cx) == "deny"
    assert cedar_decides(SCHEMA, ALL, cx) == "allow"
    assert {"type": "User", "id": "ghost"} not in [e["uid"] for e in cx["entities"]]


def test_always_allows_is_violated_when_the_literal_is_missing(files):
    schema, ghost = files("s.cedarschema", SCHEMA), files("g.cedar", GHOST)
    code, report = run_json("check", ghost, "-P", "always-allows", "--schema", schema)
    assert code == 1
    cx = only_counterexample(report)
    assert cx["decisions"] == {"policies": "deny"}
    assert cedar_decides(SCHEMA, GHOST, cx) == "deny"


def test_unless_a_missing_literal_has_an_attribute_is_not_dead(files):
    schema, policy = files("s.cedarschema", SCHEMA), files("u.cedar", UNLESS_GHOST)
    _, audit = run_json("audit", policy, "--schema", schema)
    assert "dead" not in {f["kind"] for f in audit["findings"]}
    code, report = run_json("check", policy, "--policy", "policy0", "-P", "never-matches", "--schema", schema)
    assert code == 1
    cx = only_counterexample(report)
    assert cedar_decides(SCHEMA, UNLESS_GHOST, cx) == "allow"


def test_a_tag_value_may_name_a_missing_entity(files):
    schema, first, second = files("t.cedarschema", TAGGED), files("1.cedar", TAG_READ), files("2.cedar", TAG_ONLY)
    code, report = run_json("equivalent", first, second, "--schema", schema)
    assert code == 1
    cx = only_counterexample(report)
    assert cx["decisions"] == {"first": "deny", "second": "allow"}
    assert cedar_decides(TAGGED, TAG_READ, cx) == "deny"
    assert cedar_decides(TAGGED, TAG_ONLY, cx) == "allow"
    [principal] = [e for e in cx["entities"] if e["uid"] == cx["request"]["principal"]]
    target = principal["tags"]["k"]["__entity"]
    assert target not in [e["uid"] for e in cx["entities"]]  # the tag names a missing entity


# --------------------------------------------------------------------------
# Stronger assumptions: explicit, and listed in every report


def test_every_report_lists_the_assumptions_in_force(files):
    schema, ghost, allow = files("s.cedarschema", SCHEMA), files("g.cedar", GHOST), files("a.cedar", ALL)
    _, report = run_json("equivalent", ghost, allow, "--schema", schema)
    assert report["assumptions"] == [("requests and entity stores are ones Cedar accepts under the schema; "
                                      "entities they name need not be in the store")]
    code, report = run_json("equivalent", ghost, allow, "--schema", schema, "--entities-exist", "all")
    assert code == 0  # what Cedar's symbolic compiler would answer, under its hypothesis
    assert report["assumptions"] == list(describe([ENTITIES_EXIST]))
    text = CliRunner().invoke(cli, ["equivalent", str(ghost), str(allow), "--schema", str(schema),
                                    "--entities-exist", "all"]).output
    header = text.splitlines()[:3]
    assert header == ["cedarscope equivalent: yes, the sets decide every request alike (0 findings)",
                      "assuming: requests and entity stores are ones Cedar accepts under the schema",
                      f"assuming: {STRONGER[ENTITIES_EXIST]}"]


def test_the_assumptions_listed_never_contradict_each_other():
    """With every entity assumed present, no line says entities may be missing."""
    assert not any("need not" in line for line in describe([ENTITIES_EXIST]))
    assert describe([REQUEST_ENTITIES_EXIST])[0].endswith("other entities they name need not be in the store")


def test_the_tag_example_holds_only_when_entities_are_assumed_to_exist(files):
    schema, first, second = files("t.cedarschema", TAGGED), files("1.cedar", TAG_READ), files("2.cedar", TAG_ONLY)
    assert run_json("equivalent", first, second, "--schema", schema, "--entities-exist", "all")[0] == 0
    assert run_json("equivalent", first, second, "--schema", schema,
                    "--entities-exist", "request")[0] == 1


def test_request_entities_exist_covers_the_principal_only(files):
    """`principal.name` errors only on a missing principal; a literal may
    still be missing."""
    schema = files("s.cedarschema", SCHEMA)
    reads = files("r.cedar", 'forbid(principal, action, resource) when { principal.name == "x" };')
    code, report = run_json("check", reads, "-P", "never-errors", "--schema", schema)
    assert code == 1
    cx = only_counterexample(report)
    assert cx["request"]["principal"] not in [e["uid"] for e in cx["entities"]]
    assert run_json("check", reads, "-P", "never-errors", "--schema", schema,
                    "--entities-exist", "request")[0] == 0
    literal = files("l.cedar", 'forbid(principal, action, resource) when { User::"ghost".name == "x" };')
    _, report = run_json("check", literal, "-P", "never-errors", "--schema", schema,
                         "--entities-exist", "request")
    assert report["result"] == "violated"
    assert report["assumptions"] == list(describe([REQUEST_ENTITIES_EXIST]))


def test_an_unknown_assumption_is_a_usage_error(files):
    schema, allow = files("s.cedarschema", SCHEMA), files("a.cedar", ALL)
    result = CliRunner().invoke(cli, ["check", str(allow), "--schema", str(schema), "--entities-exist", "acyclic"])
    assert result.exit_code == 2 and "Traceback" not in result.output


# --------------------------------------------------------------------------
# The encoder's model of a missing entity, construct by construct


def outcomes(schema_text: str, policy_text: str, assumptions=frozenset()) -> set[str]:
    """Which of match / no-match / error the solver finds possible for the
    policy, under well_formed()."""
    enc = Encoding(parse_schema(schema_text), VIEW, assumptions)
    policy = parse_policy(policy_text)
    sat, err = enc.satisfied(policy), enc.errors(policy)
    cases = {"match": sat, "error": err, "no-match": z3.And(z3.Not(sat), z3.Not(err))}
    wf = enc.well_formed()
    out = set()
    for name, goal in cases.items():
        s = z3.Solver()
        s.add(goal, *wf)
        if s.check() == z3.sat:
            out.add(name)
    return out


def test_has_on_a_missing_entity_is_false_and_access_errors():
    assert outcomes(SCHEMA, GHOST) == {"match", "no-match"}
    assert outcomes(SCHEMA, GHOST, frozenset({ENTITIES_EXIST})) == {"match"}
    assert outcomes(SCHEMA, 'permit(principal, action, resource) when { User::"ghost".name == "a" };') \
        == {"match", "no-match", "error"}
    assert outcomes(SCHEMA, 'permit(principal, action, resource) when { principal has name };') \
        == {"match", "no-match"}
    assert outcomes(SCHEMA, 'permit(principal, action, resource) when { principal has name };',
                    frozenset({REQUEST_ENTITIES_EXIST})) == {"match"}


def test_a_missing_entity_has_no_ancestors():
    """`principal in Group::"g"` needs the principal in the store; a parent
    need not be (Cedar keeps the edge)."""
    policy = 'permit(principal, action, resource) when { principal in Group::"g" && !(principal has name) };'
    assert outcomes(GROUPS, policy) == {"no-match"}
    enc = Encoding(parse_schema(GROUPS), VIEW)
    p = parse_policy('permit(principal in Group::"g", action, resource);')
    s = z3.Solver()
    s.add(enc.satisfied(p), *enc.well_formed())
    assert s.check() == z3.sat
    request, entities = enc.decode(s.model())
    principal = entities.get(request.principal)
    assert principal is not None and EntityUID("Group", "g") in principal.parents
    assert entities.get(EntityUID("Group", "g")) is None  # a parent that is not in the store
    assert cedarpy_decision(parse_policies('permit(principal in Group::"g", action, resource);'),
                            request, entities, parse_schema(GROUPS)) == "allow"


def test_well_formed_admits_stores_without_the_entities_read():
    """Pinned to a store Cedar accepts that lacks the principal and the
    entities a policy and a tag name, well_formed() stays satisfiable (the
    assumptions admit the store) and the policy's answer is Cedar's."""
    schema = parse_schema(TAGGED)
    enc = Encoding(schema, VIEW)
    policy = parse_policy('permit(principal, action, resource) when { resource.hasTag("k") && '
                          'resource.getTag("k") has name } unless { User::"ghost" has name || principal has name };')
    sat = enc.satisfied(policy)
    store = Entities([Entity(EntityUID("User", "res"), CedarRecord({"name": "r"}),
                             tags=CedarRecord({"k": EntityUID("User", "away")})),
                      *schema.action_entities()])
    request = parse_request({"principal": {"type": "User", "id": "nobody"}, "action": {"type": "Action", "id": "view"},
                             "resource": {"type": "User", "id": "res"}, "context": {}}, "<r>", schema)
    s = z3.Solver()
    s.add(*enc.pin(request, store), *enc.well_formed())
    assert s.check() == z3.sat
    assert z3.is_false(s.model().eval(sat, model_completion=True))  # `away` has no name
    assert cedarpy_decision(parse_policies(f"{ALL}\n"), request, store, schema) == "allow"  # Cedar accepts it
    strict = Encoding(schema, VIEW, frozenset({ENTITIES_EXIST}))
    strict.satisfied(policy)
    s2 = z3.Solver()
    s2.add(*strict.pin(request, store), *strict.well_formed())
    assert s2.check() == z3.unsat  # the stronger assumption excludes this store, as it says
