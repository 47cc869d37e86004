"""`--assume FILE` (analyzer.stated): facts the user states about their world.

The issue's bar: a property that fails without an assumption and holds with
it is reported so (and the report names the assumption); an unsatisfiable
assumption file exits 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import cedarscope
from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.stated import holds_for, stated_assumptions
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import parse_policies

SCHEMA = """
entity Org;
entity Group in [Org];
entity User in [Group, Org] { age: Long };
entity Request { approved: Bool };
entity Doc { owner: User, request?: Request };
action view, delete appliesTo { principal: User, resource: Doc };
action create appliesTo { principal: User, resource: Doc };
"""

POLICIES = """
@id("owner-deletes")
permit(principal, action == Action::"delete", resource) when { resource.owner == principal };
@id("approved-create")
permit(principal, action == Action::"create", resource) when { resource.request.approved };
@id("view")
permit(principal, action == Action::"view", resource);
"""

NO_OUTSIDER_DELETES = """
@must("never")
permit(principal, action == Action::"delete", resource) unless { principal in Org::"acme" };
"""

ACME = """
@assume("every user belongs to acme")
permit(principal, action, resource) when { principal in Org::"acme" };
"""

CREATE_HAS_REQUEST = """
@assume("create requests carry a request, which is in the store")
permit(principal, action == Action::"create", resource) when { resource has request && resource.request has approved };
"""


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    write("schema.cedarschema", SCHEMA)
    write("policies.cedar", POLICIES)
    write("props.cedar", NO_OUTSIDER_DELETES)
    write("acme.cedar", ACME)
    write("create.cedar", CREATE_HAS_REQUEST)
    write.dir = tmp_path
    return write


# approved-create reads an optional attribute unguarded, which strict
# validation rejects; the assumptions are about such policies, so the
# analyses here run with --no-validate.
ANALYSES = {"check", "ask", "audit", "diff", "whatif", "equivalent", "implies", "disjoint", "count"}


def run(*args):
    extra = ["--no-validate"] if args and args[0] in ANALYSES else []
    result = CliRunner().invoke(cli, [str(a) for a in args] + extra)
    return result.exit_code, result.output


def run_json(*args):
    code, out = run(*args, "--format", "json")
    return code, json.loads(out)


def test_a_property_that_fails_without_the_assumption_holds_with_it(files):
    d = files.dir
    base = ("check", d / "policies.cedar", "-s", d / "schema.cedarschema", "--properties", d / "props.cedar")
    code, report = run_json(*base)
    assert (code, report["result"]) == (1, "violated")
    assert report["findings"][0]["kind"] == "property-violated"
    code, report = run_json(*base, "--assume", d / "acme.cedar")
    assert (code, report["result"], report["findings"]) == (0, "holds", [])
    assert any("every user belongs to acme" in a and "acme.cedar:2" in a for a in report["assumptions"])
    code, text = run(*base, "--assume", d / "acme.cedar")
    assert code == 0 and "assuming: stated assumption policy0 at" in text


def test_a_scoped_assumption_constrains_only_its_scope(files):
    d = files.dir
    # (the request's own entities exist: owner-deletes reads the resource's owner)
    base = ("check", d / "policies.cedar", "-s", d / "schema.cedarschema", "--entities-exist", "request")
    code, report = run_json(*base)  # approved-create reads resource.request, which may be absent
    assert code == 1 and {f["policies"][0] for f in report["findings"]} == {"approved-create"}
    code, report = run_json(*base, "--assume", d / "create.cedar")
    assert (code, report["result"]) == (0, "holds")
    # the same fact about `create` says nothing about `view`: a view property is still violated
    files("view-request.cedar", '@must("never")\npermit(principal, action == Action::"view", resource) '
                                "unless { resource has request };")
    code, report = run_json(*base, "--assume", d / "create.cedar", "--properties", d / "view-request.cedar")
    assert code == 1 and report["findings"][0]["environment"]["action"] == 'Action::"view"'


def test_every_example_satisfies_the_assumptions(files):
    d = files.dir
    files("adults.cedar", '@assume\npermit(principal, action, resource) when { principal.age >= 18 };')
    code, report = run_json("ask", d / "policies.cedar", "-s", d / "schema.cedarschema", "--assume",
                            d / "adults.cedar", "-q", 'permit(principal, action == Action::"delete", resource);',
                            "--enumerate", "3")
    assert code == 1 and report["findings"]
    for f in report["findings"]:
        users = [e for e in f["counterexample"]["entities"] if e["uid"]["type"] == "User"]
        principal = f["counterexample"]["request"]["principal"]
        ages = [e["attrs"]["age"] for e in users if e["uid"] == principal]
        assert ages and ages[0] >= 18


def test_forbid_states_what_never_happens(files):
    d = files.dir
    files("no-deletes-by-minors.cedar",
          '@assume\nforbid(principal, action == Action::"delete", resource) when { principal.age < 18 };')
    files("minors.cedar", '@must("never")\npermit(principal, action == Action::"delete", resource) '
                          "when { principal.age < 18 };")
    base = ("check", d / "policies.cedar", "-s", d / "schema.cedarschema", "--properties", d / "minors.cedar")
    assert run_json(*base)[0] == 1
    code, report = run_json(*base, "--assume", d / "no-deletes-by-minors.cedar")
    assert (code, report["result"]) == (0, "holds")
    assert any("no request in" in a for a in report["assumptions"])


@pytest.mark.parametrize("text, message", [
    ('@assume\npermit(principal, action, resource) when { principal.age > 5 && principal.age < 3 };',
     "no request in its scope satisfies it"),
    ('@assume\npermit(principal in Org::"acme", action, resource);', "states nothing"),
    ('permit(principal, action, resource) when { principal.age > 5 };', "not annotated @assume"),
    ('@assume\npermit(principal, action, resource) when { principal.agee > 5 };', "agee"),
    ('@assume\npermit(principal == ?principal, action, resource) when { true };', "template"),
    ('@assume\npermit(principal, action, resource) when { principal.age > 5 };\n'
     '@assume\nforbid(principal, action, resource) when { principal.age > 3 };', "no request in its scope"),
    # witnessed by requests of other actions, but none is left for the one asked about
    ('@assume\npermit(principal, action, resource) when { action != Action::"view" };',
     "leave no request in any environment asked about"),
    # a forbid that every request in its scope meets leaves its scope empty
    ('@assume\nforbid(principal, action == Action::"view", resource) when { true };',
     "no request in its scope satisfies it"),
])
def test_vacuous_or_malformed_assumptions_exit_2(files, text, message):
    d = files.dir
    files("bad.cedar", text)
    args = ["check", d / "policies.cedar", "-s", d / "schema.cedarschema", "--assume", d / "bad.cedar"]
    if "Action::\"view\"" in text:
        args += ["--action", "view"]
    code, out = run(*args)
    assert code == 2 and message in out, out
    assert "Traceback" not in out


def test_environments_the_assumptions_empty_are_named(files):
    d = files.dir
    files("no-views.cedar", '@assume\npermit(principal, action, resource) when { action != Action::"view" };')
    code, report = run_json("check", d / "policies.cedar", "-s", d / "schema.cedarschema", "-P", "always-denies",
                            "--assume", d / "no-views.cedar")
    assert any('environment (User, Action::"view", Doc)' in a and "vacuously" in a for a in report["assumptions"])


def test_api_assume(files):
    d = files.dir
    schema = cedarscope.load_schema(d / "schema.cedarschema")
    policies = cedarscope.load_policies(d / "policies.cedar")
    must = cedarscope.parse_policies(NO_OUTSIDER_DELETES)
    # approved-create fails strict validation on purpose (see ANALYSES)
    with pytest.raises(CedarError, match="strict validation"):
        cedarscope.check(policies, schema, (), must=must)
    assert cedarscope.check(policies, schema, (), must=must, validate=False).verdict == "violated"
    report = cedarscope.check(policies, schema, (), must=must, validate=False,
                              assume=cedarscope.parse_policies(ACME, "acme.cedar"))
    assert report.verdict == "holds" and any("acme" in a for a in report.assumptions)
    with pytest.raises(CedarError, match="no request in its scope satisfies it"):
        cedarscope.check(policies, schema, validate=False, assume=cedarscope.parse_policies(
            "@assume permit(principal, action, resource) when { false };"))


def test_holds_for_is_the_concrete_meaning():
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.request import parse_request

    [s] = stated_assumptions(parse_policies(CREATE_HAS_REQUEST))
    entities = parse_entities(json.dumps([
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {"owner": {"__entity": {"type": "User", "id": "a"}}},
         "parents": []}]))

    def request(action: str):
        return parse_request({"principal": 'User::"a"', "action": f'Action::"{action}"', "resource": 'Doc::"d"',
                              "context": {}})
    assert not holds_for(s, request("create"), entities)  # in scope, and `resource has request` is false
    assert holds_for(s, request("view"), entities)  # out of scope: not constrained
