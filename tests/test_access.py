"""`cedarscope access`: for every request environment, always, sometimes or
never, and for "sometimes" exactly which requests, as one Cedar policy.

Checked independently with cedarpy (the official engine): in every
environment, on each example the report shows and on perturbations of it
(`tests.exactness.Perturber`), and on a corpus application's own requests,
an "always" environment allows, a "never" one denies, and a "sometimes"
description allows exactly the requests the policies allow.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.lang.entities import Entities, parse_entities
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.request import parse_request, request_to_json
from cedarscope.lang.schema import Schema, load_schema
from tests.support.corpus import corpus_path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

SCHEMA = """
entity Team;
entity User in [Team] { level: Long };
entity Doc { owner: User, public: Bool };
action view, edit, delete, archive appliesTo { principal: User, resource: Doc };
"""

# view: always; edit: sometimes; delete: never (a permit, always overridden);
# archive: never (no permit at all)
POLICIES = """
@id("anyone-views")
permit (principal, action == Action::"view", resource);
@id("owner-edits")
permit (principal, action == Action::"edit", resource) when { resource.owner == principal };
@id("seniors-edit-public")
permit (principal in Team::"seniors", action == Action::"edit", resource)
when { resource.public && principal.level > 3 };
@id("delete")
permit (principal, action == Action::"delete", resource);
@id("no-deletes")
forbid (principal, action == Action::"delete", resource);
"""


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def store(tmp_path):
    (tmp_path / "s.cedarschema").write_text(SCHEMA)
    (tmp_path / "p.cedar").write_text(POLICIES)
    return tmp_path


def by_action(report: dict) -> dict[str, dict]:
    return {row["environment"]["action"]: row for row in report["environments"]}


# --------------------------------------------------------------------------
# Checked against cedarpy


def _cedarpy():
    return pytest.importorskip("cedarpy")


def check_with_cedarpy(report: dict, schema: Schema, schema_text: str, policies_text: str,
                       requests: list[tuple[dict, list]] = (), perturbations: int = 50) -> tuple[int, list[str]]:
    """Every row's level (and description) against cedarpy, on each example,
    its perturbations and the given (request, entities) pairs: the number
    of requests decided, and the disagreements."""
    from tests.exactness import Perturber

    cedarpy = _cedarpy()
    policies = cedarpy.PolicySet.from_str(policies_text)
    cedar_schema = cedarpy.Schema.from_str(schema_text)
    rows = {(r["environment"]["principal_type"], r["environment"]["action"], r["environment"]["resource_type"]): r
            for r in report["environments"]}
    described = {key: cedarpy.PolicySet.from_str(r["description"]) for key, r in rows.items() if r["description"]}
    perturber = Perturber(schema, [parse_policies(policies_text)], random.Random(0))
    pairs = list(requests)
    for r in rows.values():
        for cx in r["examples"].values():
            request = parse_request(cx["request"], "<example>", schema)
            entities = parse_entities(cx["entities"], "<example>", schema)
            pairs.append((cx["request"], cx["entities"]))
            pairs += [(request_to_json(rq), _entities_json(es))
                      for rq, es in perturber.variants(request, entities, perturbations)]
    decided, wrong = 0, []
    for request, entities in pairs:
        key = (_type(request["principal"]), request["action"] if isinstance(request["action"], str)
               else f'{request["action"]["type"]}::"{request["action"]["id"]}"', _type(request["resource"]))
        row = rows.get(key)
        if row is None:
            continue
        ents = json.dumps(entities)
        truth = cedarpy.is_authorized(request, policies, ents, cedar_schema)
        if truth.diagnostics.errors and not truth.diagnostics.reasons:
            if any("entity" in str(e).lower() and "evaluating" not in str(e).lower()
                   for e in truth.diagnostics.errors):
                continue  # cedarpy rejects the input: not counted
        allowed = truth.decision == cedarpy.Decision.Allow
        decided += 1
        if row["access"] == "always":
            expected = True
        elif row["access"] == "never":
            expected = False
        elif row["access"] == "sometimes" and key in described:
            said = cedarpy.is_authorized(request, described[key], ents, cedar_schema)
            expected = said.decision == cedarpy.Decision.Allow
        else:
            continue
        if expected != allowed:
            wrong.append(f"{key} {row['access']}: cedarpy {'allows' if allowed else 'denies'} "
                         f"{json.dumps(request)} with {ents}")
    return decided, wrong


def _entities_json(entities: Entities):
    from cedarscope.lang.entities import entities_to_json

    return entities_to_json(entities)


def _type(uid) -> str:
    if isinstance(uid, dict):
        return uid["type"]
    return uid.rsplit("::", 1)[0]


# --------------------------------------------------------------------------
# The levels, on a planted store


def test_levels_are_always_sometimes_and_never(store):
    code, out = run("access", store / "p.cedar", "-s", store / "s.cedarschema", "-f", "json")
    assert code == 0, out
    report = json.loads(out)
    rows = by_action(report)
    assert {a: r["access"] for a, r in rows.items()} == {
        'Action::"view"': "always", 'Action::"edit"': "sometimes",
        'Action::"delete"': "never", 'Action::"archive"': "never"}
    assert report["result"] == "holds" and report["summary"] == {"always": 1, "sometimes": 1, "never": 2,
                                                                 "unknown": 0}
    edit = rows['Action::"edit"']
    assert set(edit["policies"]) == {"owner-edits", "seniors-edit-public"}
    from cedarscope.reports.render_text import one_line

    assert one_line(edit["description"]) == (
        'permit (principal, action == Action::"edit", resource) when { resource.owner == principal || '
        '(principal in Team::"seniors" && resource.public && principal.level > 3) };')
    # a sometimes shows an allowed and a denied request; always only allowed ones; never only denied ones
    assert set(edit["examples"]) == {"allowed", "denied"}
    assert edit["examples"]["allowed"]["decisions"] == {"policies": "allow"}
    assert edit["examples"]["denied"]["decisions"] == {"policies": "deny"}
    assert set(rows['Action::"view"']["examples"]) == {"allowed"}
    assert set(rows['Action::"delete"']["examples"]) == {"denied"}
    assert rows['Action::"archive"']["examples"] == {} and rows['Action::"archive"']["policies"] == []
    decided, wrong = check_with_cedarpy(report, load_schema(store / "s.cedarschema"), SCHEMA, POLICIES)
    assert not wrong, wrong[:3]
    assert decided > 100


def test_text_markdown_and_html(store):
    base = ("access", store / "p.cedar", "-s", store / "s.cedarschema")
    code, text = run(*base)
    assert code == 0
    assert text.startswith("cedarscope access: 4 environments: 1 always, 1 sometimes, 2 never\n")
    lines = text.splitlines()
    edit = next(i for i, line in enumerate(lines) if line.startswith("sometimes") and 'Action::"edit"' in line)
    assert lines[edit + 1].strip().startswith('permit (principal, action == Action::"edit", resource) when {')
    code, md = run(*base, "-f", "markdown")
    assert code == 0 and "| environment | access | exactly these requests |" in md
    assert '| User, Action::"view", Doc | always |' in md
    code, html = run(*base, "-f", "html")
    assert code == 0 and '<table class="matrix">' in html and "Who can do what" in html
    assert '<td class="sometimes">sometimes</td>' in html and "resource.owner == principal" in html


def test_text_says_when_a_description_is_the_structural_form():
    from cedarscope.lang.schema import RequestEnv
    from cedarscope.lang.values import EntityUID
    from cedarscope.reports.access import AccessReport, AccessRow, render_access_text
    from cedarscope.reports.findings import Verdict

    env = RequestEnv("User", EntityUID("Action", "view"), "Doc")
    text = 'permit (principal, action == Action::"view", resource) when { resource has owner };'
    for form, noted in (("structural", True), ("readable", False)):
        row = AccessRow(env, "sometimes", description=text, description_form=form)
        out = render_access_text(AccessReport((row,), Verdict.HOLDS))
        assert ("(exact, in structural form: not simplified" in out) is noted, form


def test_filters_narrow_the_environments(store):
    code, out = run("access", store / "p.cedar", "-s", store / "s.cedarschema", "--action", "edit", "-f", "json")
    assert code == 0
    assert [r["environment"]["action"] for r in json.loads(out)["environments"]] == ['Action::"edit"']
    code, out = run("access", store / "p.cedar", "-s", store / "s.cedarschema", "--action", "fly")
    assert code == 2 and "selects no request environment" in out


def test_without_a_schema_access_and_count_infer_one_and_say_so(store, tmp_path):
    # like every other analysis command: no --schema infers one (from the
    # policies, and the store when one is given) and the report states it
    code, out = run("access", store / "p.cedar", "-f", "json", "--save-schema", tmp_path / "kept.cedarschema")
    assert code == 0, out
    report = json.loads(out[out.index("{"):])
    assert any("schema inferred" in a for a in report["assumptions"])
    assert by_action(report)['Action::"delete"']["access"] == "never"
    assert "action edit" in (tmp_path / "kept.cedarschema").read_text()
    entities = [{"uid": {"type": "User", "id": "ann"}, "attrs": {"level": 5}, "parents": []},
                {"uid": {"type": "Doc", "id": "d"}, "attrs": {"owner": {"__entity": {"type": "User", "id": "ann"}},
                                                          "public": True}, "parents": []}]
    (tmp_path / "e.json").write_text(json.dumps(entities))
    code, out = run("count", store / "p.cedar", "--entities", tmp_path / "e.json")
    assert code == 0, out
    assert "assuming: schema inferred from the policies" in out
    code, out = run("access", store / "p.cedar", "-s", store / "s.cedarschema", "--save-schema", tmp_path / "x")
    assert code == 2 and "--save-schema keeps an inferred schema" in out


def test_an_environment_not_answered_exits_3(store):
    # the run's time limit is spent before any environment is asked
    code, out = run("access", store / "p.cedar", "-s", store / "s.cedarschema", "--time-limit", "0.000001",
                    "-f", "json")
    report = json.loads(out)
    assert code == 3 and report["result"] == "unknown"
    assert {r["access"] for r in report["environments"] if r["policies"]} == {"unknown"}


def test_an_assumption_narrows_access(store):
    (store / "a.cedar").write_text('@assume("every document is public")\n'
                                   "permit (principal, action, resource) when { resource.public };")
    code, out = run("access", store / "p.cedar", "-s", store / "s.cedarschema", "--assume", store / "a.cedar",
                    "--action", "edit", "-f", "json")
    assert code == 0
    report = json.loads(out)
    assert any("every document is public" in a for a in report["assumptions"])
    assert report["environments"][0]["access"] == "sometimes"


def test_bundled_example_agrees_with_cedarpy():
    schema_text = (EXAMPLES / "schema.cedarschema").read_text()
    policies_text = (EXAMPLES / "policies.cedar").read_text()
    code, out = run("access", EXAMPLES / "policies.cedar", "-s", EXAMPLES / "schema.cedarschema", "-f", "json")
    assert code == 0
    report = json.loads(out)
    assert [r["access"] for r in report["environments"]] == ["sometimes"] * 3
    assert all(r["description"] and r["description_form"] == "readable" for r in report["environments"])
    decided, wrong = check_with_cedarpy(report, load_schema(EXAMPLES / "schema.cedarschema"), schema_text,
                                        policies_text)
    assert not wrong, wrong[:3]
    assert decided >= 3 * 2 * 40


@pytest.mark.parametrize("app", ["github_example", "document_cloud"])
def test_corpus_app_agrees_with_cedarpy_on_its_own_requests(app):
    from bench.bench_queries import APPS, app_files

    folder = corpus_path(*Path(APPS[app]).parts)
    policies, schema_file = app_files(folder)
    code, out = run("access", policies, "-s", schema_file, "-f", "json")
    assert code == 0, out
    report = json.loads(out)
    entities = json.loads(next(folder.glob("*entities.json")).read_text())
    own = [(json.loads(p.read_text()), entities)
           for d in ("ALLOW", "DENY") for p in sorted((folder / d).glob("*.json"))]
    assert own, f"{app} has no requests"
    decided, wrong = check_with_cedarpy(report, load_schema(schema_file), schema_file.read_text(),
                                        policies.read_text(), own, perturbations=20)
    assert not wrong, wrong[:3]
    assert decided >= len(own)


def test_python_api(store):
    from cedarscope.analyzer.api import access
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    report = access(parse_policies(POLICIES, "p.cedar"), parse_schema(SCHEMA, "s.cedarschema"), action="edit")
    assert report.exit_code == 0 and [r.level for r in report.rows] == ["sometimes"]
    assert report.rows[0].description is not None and report.rows[0].description_form == "readable"
    assert report.to_json()["environments"][0]["access"] == "sometimes"


# --------------------------------------------------------------------------
# One principal's (or resource's) access over a store


def check_focus_with_cedarpy(report: dict, policies_text: str, schema_text: str, entities: list,
                             contexts: list[dict], exhaustive: bool) -> int:
    """Every entity a focused report lists, decided by cedarpy under each of
    `contexts`: allowed lists are allowed under all, denied under none;
    with `exhaustive` contexts, "depending on the context" ones are allowed
    under some and denied under others.  The lists cover the store."""
    cedarpy = _cedarpy()
    policies = cedarpy.PolicySet.from_str(policies_text)
    cedar_schema = cedarpy.Schema.from_str(schema_text)
    focus = report["focus"].split(" over ")[0]
    ents = json.dumps(entities)
    decided = 0
    for row in report["environments"]:
        env = row["environment"]
        by_principal = _type(focus) == env["principal_type"]
        other_type = env["resource_type"] if by_principal else env["principal_type"]
        listed = row["granted"] + row["conditional"] + row["refused"]
        in_store = sorted(f'{e["uid"]["type"]}::"{e["uid"]["id"]}"' for e in entities
                          if e["uid"]["type"] == other_type)
        assert sorted(listed) == in_store, (env, listed, in_store)
        for other in listed:
            outcomes = set()
            for context in contexts:
                request = {"principal": focus if by_principal else other, "action": env["action"],
                           "resource": other if by_principal else focus, "context": context}
                result = cedarpy.is_authorized(request, policies, ents, cedar_schema)
                outcomes.add(result.decision == cedarpy.Decision.Allow)
                decided += 1
            if other in row["granted"]:
                assert outcomes == {True}, (env, other)
            elif other in row["refused"]:
                assert outcomes == {False}, (env, other)
            elif exhaustive:
                assert outcomes == {True, False}, (env, other)
    return decided


@pytest.mark.parametrize("focus", [("--principal", 'User::"alice"'), ("--principal", 'User::"bob"'),
                                   ("--resource", 'Document::"roadmap"')])
def test_one_entitys_access_over_the_bundled_store(focus):
    code, out = run("access", EXAMPLES / "policies.cedar", "-s", EXAMPLES / "schema.cedarschema", *focus,
                    "-e", EXAMPLES / "entities.json", "-f", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["focus"] == f"{focus[1]} over {EXAMPLES / 'entities.json'}"
    contexts = [{"mfa": True}, {"mfa": False}]  # every context the schema allows
    decided = check_focus_with_cedarpy(report, (EXAMPLES / "policies.cedar").read_text(),
                                       (EXAMPLES / "schema.cedarschema").read_text(),
                                       json.loads((EXAMPLES / "entities.json").read_text()), contexts, True)
    assert decided >= 6
    if focus[1] == 'Document::"roadmap"':  # its owner may delete it, with mfa only
        delete = by_action(report)['Action::"delete"']
        assert delete["access"] == "sometimes" and delete["conditional"] == ['User::"bob"']


def test_focus_on_a_corpus_app_agrees_with_cedarpy():
    from bench.bench_queries import APPS, app_files

    folder = corpus_path(*Path(APPS["hotel_chains"]).parts)
    policies, schema_file = app_files(folder)
    entities_file = next(folder.glob("*entities.json"))
    entities = json.loads(entities_file.read_text())
    schema = load_schema(schema_file)
    checked = 0
    for user in sorted({e["uid"]["id"] for e in entities if e["uid"]["type"] == "User"}):
        code, out = run("access", policies, "-s", schema_file, "--principal", f'User::"{user}"', "-e",
                        entities_file, "-f", "json")
        assert code == 0, out
        report = json.loads(out)
        # the actions without a context: one context, so the lists are exactly cedarpy's decisions
        report["environments"] = [r for r in report["environments"]
                                  if not schema.actions[_action(schema, r)].context.attrs]
        assert all(not r["conditional"] for r in report["environments"])
        checked += check_focus_with_cedarpy(report, policies.read_text(), schema_file.read_text(), entities,
                                            [{}], True)
    assert checked >= 20


def _action(schema: Schema, row: dict):
    return next(a for a in schema.actions if str(a) == row["environment"]["action"])


def test_focus_usage_errors(store):
    base = ("access", store / "p.cedar", "-s", store / "s.cedarschema")
    (store / "e.json").write_text(json.dumps([{"uid": {"type": "User", "id": "alice"}, "attrs": {"level": 1},
                                               "parents": []}]))
    code, out = run(*base, "--principal", 'User::"alice"')
    assert code == 2 and "needs --entities" in out
    code, out = run(*base, "--principal", 'User::"zoe"', "-e", store / "e.json")
    assert code == 2 and "is not in" in out
    code, out = run(*base, "--principal", "alice", "-e", store / "e.json")
    assert code == 2 and "--principal" in out
    code, out = run(*base, "-e", store / "e.json")
    assert code == 2
    code, out = run(*base, "--principal", 'User::"alice"', "-e", store / "e.json")
    assert code == 0 and "(no entity of the other side is in the store)" in out  # no documents in it
