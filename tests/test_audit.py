"""audit finds every planted problem, nothing in a clean store, and every
finding's example replays under our evaluator and under cedarpy."""

from __future__ import annotations

from pathlib import Path

import pytest

from cedarscope.analyzer.audit import audit
from cedarscope.analyzer.solving import Options
from cedarscope.encoder.assumptions import REQUEST_ENTITIES_EXIST
from cedarscope.lang.parser import load_policies
from cedarscope.lang.printer import print_policyset
from cedarscope.lang.schema import load_schema
from tests.support.engine import replay_with_cedarpy

FIXTURES = Path(__file__).parent / "fixtures" / "audit"

# (policy id, finding kind) every planted problem must produce; nothing else.
EXPECTED = {
    ("dead-contradiction", "dead"),
    ("dead-wrong-type", "dead"),
    ("dead-string", "dead"),
    ("shadowed-owner-view-public", "shadowed"),
    ("shadowed-eng-edit-late", "shadowed"),
    ("shadowed-admin-alice", "shadowed"),
    ("redundant-share-own-internal", "redundant"),
    ("redundant-delete-morning", "redundant"),
    ("redundant-view-own-or-internal", "redundant"),
    ("overridden-interns-edit", "overridden"),
    ("overridden-interns-share", "overridden"),
    ("overridden-secret-without-mfa", "overridden"),
    ("forbid-may-error-label", "forbid-may-error"),
    ("forbid-may-error-manager", "forbid-may-error"),
    ("forbid-may-error-overflow", "forbid-may-error"),
    ("over-permissive-anyone-view", "over-permissive"),
    ("over-permissive-tautology", "over-permissive"),
}
# A named principal granted every resource of a type is an ordinary grant;
# strict audits list it too.
STRICT_ONLY = {("over-permissive-any-doc", "over-permissive")}

# Without the assumption that the request's entities are in the store (the
# default: Cedar does not require it), two answers change, both rightly: a
# forbid reading `resource.classification` errors, and so fails open, on a
# resource missing from the store; and a principal missing from the store
# but named as a document's owner is granted share by
# redundant-share-own-internal alone (the two permits that otherwise cover
# it read `principal.level`, which then errors).
EXPECTED_EXACT = (EXPECTED - {("redundant-share-own-internal", "redundant")}) | {
    ("ok-forbid-secret-without-mfa", "forbid-may-error")}
PRINCIPAL_AND_RESOURCE_EXIST = frozenset({REQUEST_ENTITIES_EXIST})

RELATED = {
    "shadowed-owner-view-public": {"ok-owner-view"},
    "shadowed-eng-edit-late": {"ok-eng-edit"},
    "shadowed-admin-alice": {"ok-admins-manage"},
    "overridden-interns-edit": {"ok-forbid-interns"},
}


@pytest.fixture(scope="module")
def schema():
    return load_schema(FIXTURES / "schema.cedarschema")


@pytest.fixture(scope="module")
def planted(schema):
    ps = load_policies([FIXTURES / "planted.cedar"])
    props = load_policies([FIXTURES / "properties.cedar"])
    return ps, audit(schema, ps, Options(timeout_seconds=30.0, assumptions=PRINCIPAL_AND_RESOURCE_EXIST), props)


def test_every_planted_problem_is_found_and_nothing_else(planted):
    _, report = planted
    found = {(f.policies[0], f.kind) for f in report.findings if f.kind != "property-violated"}
    assert found == EXPECTED
    assert report.result.value == "violated"
    assert "unknown" not in report.stats


def test_strict_also_reports_grants_over_every_resource(schema):
    ps = load_policies([FIXTURES / "planted.cedar"])
    report = audit(schema, ps, Options(timeout_seconds=30.0, assumptions=PRINCIPAL_AND_RESOURCE_EXIST), strict=True)
    found = {(f.policies[0], f.kind) for f in report.findings}
    assert found == EXPECTED | STRICT_ONLY
    (any_doc,) = [f for f in report.findings if f.policies[0] == "over-permissive-any-doc"]
    assert "on every resource of type Doc" in any_doc.message and any_doc.counterexample is not None


def test_planted_problems_where_entities_may_be_missing(schema):
    ps = load_policies([FIXTURES / "planted.cedar"])
    report = audit(schema, ps, Options(timeout_seconds=30.0))
    found = {(f.policies[0], f.kind) for f in report.findings}
    assert found == EXPECTED_EXACT
    [fails_open] = [f for f in report.findings if f.policies[0] == "ok-forbid-secret-without-mfa"]
    cx = fails_open.counterexample
    assert cx.request.resource not in cx.entities


def test_findings_name_the_policies_that_explain_them(planted):
    _, report = planted
    for f in report.findings:
        if f.policies and f.policies[0] in RELATED:
            assert RELATED[f.policies[0]] <= set(f.related), f.message
        if f.kind != "property-violated":
            assert f.locations and f.locations[0].file.endswith("planted.cedar")


def test_property_violations(planted):
    _, report = planted
    violated = {f.related[0] for f in report.findings if f.kind == "property-violated"}
    # interns are forbidden everything, so owners who are interns cannot view
    assert violated == {"owners-always-view"}


def test_examples_replay_under_cedarpy(planted):
    pytest.importorskip("cedarpy")
    ps, report = planted
    text = print_policyset(ps)
    checked = 0
    for f in report.findings:
        cx = f.counterexample
        if cx is None:
            continue
        decision = replay_with_cedarpy(cx.request, cx.entities, text)
        assert decision == cx.decisions["policies"], f.message
        checked += 1
    assert checked >= 6


def test_clean_store_has_no_findings(schema):
    ps = load_policies([FIXTURES / "clean.cedar"])
    report = audit(schema, ps, Options(timeout_seconds=30.0, assumptions=PRINCIPAL_AND_RESOURCE_EXIST))
    assert [f.message for f in report.findings] == []
    assert report.result.value == "holds"
    # Where the resource may be missing from the store, the forbid that reads
    # its classification errors, but every permit errors there too: its
    # error lets no request through, so it does not fail open.
    report = audit(schema, ps, Options(timeout_seconds=30.0))
    assert report.findings == () and report.result.value == "holds"


def test_a_shadowed_finding_says_where_the_shadowing_policy_is(schema, tmp_path):
    """Two files of the same policy: positional ids alone do not say which
    file `policy0` is in."""
    text = 'permit(principal, action == Action::"view", resource);\n'
    (tmp_path / "a.cedar").write_text(text)
    (tmp_path / "b.cedar").write_text(text)
    ps = load_policies([tmp_path / "a.cedar", tmp_path / "b.cedar"])
    [shadowed] = [f for f in audit(schema, ps, Options(timeout_seconds=30.0)).findings if f.kind == "shadowed"]
    assert shadowed.policies == ("policy1",) and shadowed.related == ("policy0",)
    assert f"by policy0 ({tmp_path / 'a.cedar'}:1:1)" in shadowed.message


def test_a_fail_open_hint_fits_its_error():
    """A forbid that reads a named entity fails open when that entity is
    missing: the hint says so, not "guard an optional attribute"."""
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema("entity User; entity Group { manager: User }; "
                          "action view appliesTo { principal: User, resource: User };", "s.cedarschema")
    ps = parse_policies('permit(principal, action, resource);\n'
                        'forbid(principal, action, resource) when { Group::"g".manager == principal };')
    [f] = [f for f in audit(schema, ps, Options(timeout_seconds=30.0)).findings if f.kind == "forbid-may-error"]
    assert "does not exist" in f.message and "--entities-exist all" in f.message
    assert "resource has a" not in f.message


def test_a_forbid_fails_open_only_where_its_error_lets_a_request_through():
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema("entity User; entity Doc { label: String };\n"
                          "action view appliesTo { principal: User, resource: Doc };")
    guarded = 'permit (principal, action, resource) when { resource.label != "" };\n'
    forbid = 'forbid (principal, action, resource) when { resource.label == "secret" };\n'
    # the permit errors wherever the forbid does (a missing document): no finding
    report = audit(schema, parse_policies(guarded + forbid), Options(timeout_seconds=30.0))
    assert "forbid-may-error" not in [f.kind for f in report.findings]
    # an open permit allows the request the forbid errors on: it fails open there
    report = audit(schema, parse_policies("permit (principal, action, resource);\n" + forbid),
                   Options(timeout_seconds=30.0))
    [finding] = [f for f in report.findings if f.kind == "forbid-may-error"]
    assert finding.counterexample.decisions["policies"] == "allow"
    assert finding.counterexample.request.resource not in finding.counterexample.entities


def test_a_failing_open_example_keeps_what_lets_it_through():
    """The example of a forbid that fails open is allowed, also where the
    permit that allows it holds through a group the forbid never names."""
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema("entity Group; entity User in [Group]; entity Doc { secret: Bool };\n"
                          "action view appliesTo { principal: User, resource: Doc };")
    ps = parse_policies('permit (principal in Group::"staff", action, resource);\n'
                        'forbid (principal == User::"alice", action, resource) when { resource.secret };\n')
    report = audit(schema, ps, Options(timeout_seconds=30.0))
    [finding] = [f for f in report.findings if f.kind == "forbid-may-error"]
    assert finding.counterexample.decisions["policies"] == "allow"


def test_generated_store_planted_problems_are_found():
    """A generated store (bench/storegen.py) with every kind planted: each
    planted instance shows up as a finding of its kind."""
    from bench.storegen import PLANTED_KINDS, generate
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    store = generate(120, seed=3, planted_fraction=0.1)
    schema = parse_schema(store.schema, "store.cedarschema")
    report = audit(schema, parse_policies(store.policies, "store.cedar"), Options(timeout_seconds=30.0))
    found = {(f.policies[0], f.kind) for f in report.findings}
    assert all(store.planted[k] > 0 for k in PLANTED_KINDS)
    for kind, ids in store.planted_ids.items():
        for pid in ids:
            assert (pid, kind) in found, (pid, kind)
    assert "unknown" not in report.stats
